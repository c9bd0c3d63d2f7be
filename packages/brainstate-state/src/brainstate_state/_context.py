"""The thread-local trace context: the stack of active state traces and the new-state catchers.

Each thread has its own context, so two threads tracing at the same time never see each other's traces,
even when they trace functions that touch the same State objects (traced values live in the trace
stacks, never in the State itself).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._catcher import NewStateCatcher
    from ._trace import StateTraceStack

__all__ = ["TRACE_CONTEXT", "TraceContext"]


class TraceContext(threading.local):
    """Per-thread bookkeeping of brainstate traces.

    Attributes
    ----------
    stack
        The active :class:`StateTraceStack` objects, outermost first.
    catchers
        The active :class:`NewStateCatcher` objects (``catch_new_states``), outermost first.
    tree_check
        Whether writes to ``State.value`` check that the pytree structure is unchanged.
    """

    def __init__(self) -> None:
        self.stack: list[StateTraceStack] = []
        self.catchers: list[NewStateCatcher] = []
        self.tree_check: bool = True

    def depth(self) -> int:
        """The number of active state traces in this thread."""
        return len(self.stack)


TRACE_CONTEXT = TraceContext()
