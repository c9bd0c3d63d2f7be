"""Recognising the random-number States that the mapping transforms give per-lane keys.

``RandomState`` lives in ``brainstate_state.random``. It is looked up lazily so this package imports
even while the random module is unavailable (then no State counts as a random state).
"""

from __future__ import annotations

from typing import Any

__all__ = ["is_random_state"]

_RANDOM_STATE_CLASS: list[type] = []


def _random_state_class() -> type | None:
    if _RANDOM_STATE_CLASS:
        return _RANDOM_STATE_CLASS[0]
    try:
        from brainstate_state.random import RandomState
    except ImportError:
        return None
    _RANDOM_STATE_CLASS.append(RandomState)
    return RandomState


def is_random_state(state: Any) -> bool:
    """Whether ``state`` is a ``brainstate_state.random.RandomState`` (a stream of PRNG keys)."""
    cls = _random_state_class()
    return cls is not None and isinstance(state, cls)
