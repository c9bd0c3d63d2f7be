"""A process-wide counter that moves whenever a graph node stores, replaces or deletes a State or a node.

Transforms that cache which State objects a function touches (``jit``) compare one integer per call with
this counter; only when it moved do they re-check that the cached States are still the ones the modules
hold. ``Node.__setattr__`` bumps it.
"""

from __future__ import annotations

__all__ = ["GRAPH_EPOCH", "bump_graph_epoch"]


class _Epoch:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


GRAPH_EPOCH = _Epoch()


def bump_graph_epoch() -> None:
    """Record that some module's State or sub-module attributes changed."""
    GRAPH_EPOCH.value += 1
