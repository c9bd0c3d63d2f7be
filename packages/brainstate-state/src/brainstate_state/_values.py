"""What a State's value can be, apart from user data: the tracer test and the invalidation marker.

A State whose value was a tracer of a trace that has ended holds an :class:`InvalidatedValue`; reading it
raises :class:`~brainstate_state.TraceContextError` with the recorded reason. :func:`contains_tracer` is the
one test for "this value belongs to a trace", used by every layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from ._jax_compat import Tracer

if TYPE_CHECKING:
    from ._state import State

__all__ = ["InvalidatedValue", "contains_tracer", "invalidate_state_value"]

# Types that are certainly single pytree leaves: checking them avoids a tree flatten on every write.
_LEAF_TYPES: tuple[type, ...] = (jax.Array, np.ndarray, np.generic, int, float, complex, bool)


class InvalidatedValue:
    """Placeholder stored in a State whose value was a tracer of a trace that has ended."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return "<invalidated: value was a tracer of a finished trace>"


# When a test suite tracks States (brainstate_state.testing.track_states), the registry lives here.
_live_states: list[Any] = [None]


def invalidate_state_value(state: State[Any], reason: str) -> None:
    """Make later reads of ``state`` raise :class:`TraceContextError` with ``reason`` (until it is rewritten)."""
    state.__dict__["_value"] = InvalidatedValue(reason)


def contains_tracer(value: Any) -> bool:
    """Whether ``value`` is, or any leaf of the pytree ``value`` is, a JAX tracer (a value of a trace).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_state import contains_tracer
    >>> contains_tracer({'a': jnp.ones(2)})
    False
    >>> seen = []
    >>> _ = jax.jit(lambda x: seen.append(contains_tracer([x])) or x)(1.0)
    >>> seen
    [True]
    """
    if isinstance(value, Tracer):
        return True
    if isinstance(value, _LEAF_TYPES):
        return False
    return any(isinstance(leaf, Tracer) for leaf in jax.tree.leaves(value))


def _same_structure(old: Any, new: Any) -> tuple[bool, Any, Any]:
    if old is None or type(old) is InvalidatedValue:
        return True, None, None
    if isinstance(old, _LEAF_TYPES) and isinstance(new, _LEAF_TYPES):
        return True, None, None
    old_def = jax.tree.structure(old)
    new_def = jax.tree.structure(new)
    return bool(old_def == new_def), old_def, new_def  # type: ignore[operator]


def _short_repr(x: Any) -> Any:
    if hasattr(x, "shape") and hasattr(x, "dtype") and np.size(x) > 8:
        return f"{np.dtype(x.dtype).name}{list(x.shape)}"
    return x


def _is_quantity(value: Any) -> bool:
    return hasattr(value, "mantissa") and hasattr(value, "shape") and hasattr(value, "dtype")
