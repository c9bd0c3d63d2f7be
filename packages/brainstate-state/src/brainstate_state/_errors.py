"""Error types of brainstate and the one helper that formats every state-related message.

Every user-facing error about a State says three things: what happened, which State (its type, name and
the file:line where it was created) and how to fix it. :func:`state_error_message` builds that text so all
packages phrase it the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import State

__all__ = [
    "BatchAxisError",
    "BrainStateError",
    "TraceContextError",
    "describe_state",
    "state_error_message",
]


class BrainStateError(Exception):
    """Base class of every error raised by brainstate itself."""


class TraceContextError(BrainStateError):
    """A State was used in a trace context it does not belong to.

    Typical causes: a raw JAX transform (``jax.jit``, ``jax.vmap``...) wrote a tracer into a State, or a
    State created inside a traced function was read after the trace ended.
    """


class BatchAxisError(BrainStateError):
    """A State was written with a batched value without a declared batch axis (vmap family)."""


def describe_state(state: State[Any]) -> str:
    """One-line description of a state: ``ParamState 'w' (created at model.py:12 in __init__)``."""
    name = state.name
    label = type(state).__name__ + (f" {name!r}" if name is not None else " (unnamed)")
    site = state.source_info
    if site is not None:
        label += f" (created at {site})"
    return label


def state_error_message(what: str, state: State[Any] | None = None, fix: str | None = None) -> str:
    """Format ``what`` happened, to which ``state``, and how to ``fix`` it, as one message."""
    parts = [what.rstrip()]
    if state is not None:
        parts.append(f"State: {describe_state(state)}")
    if fix:
        parts.append(f"How to fix: {fix.strip()}")
    return "\n".join(parts)
