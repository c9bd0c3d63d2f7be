"""``catch_new_states``: collect the States created inside a ``with`` block; and
``check_state_value_tree``, which makes State writes check that the value keeps its tree structure."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._context import TRACE_CONTEXT

if TYPE_CHECKING:
    from ._state import State

__all__ = ["NewStateCatcher", "catch_new_states", "check_state_value_tree"]


class NewStateCatcher:
    """Collects the States created while :func:`catch_new_states` is active."""

    def __init__(self, state_tag: str | None = None, state_to_exclude: Any = None) -> None:
        self.state_tag = state_tag
        self._exclude: Callable[[tuple[Any, ...], Any], bool] | None = None
        if state_to_exclude is not None:
            from .filters import to_predicate

            self._exclude = to_predicate(state_to_exclude)
        self.states: list[State[Any]] = []
        self._ids: set[int] = set()

    def catch(self, state: State[Any]) -> None:
        """Record ``state`` (called by ``State.__init__``)."""
        if self._exclude is not None and self._exclude((), state):
            return
        if id(state) in self._ids:
            return
        state.add_tag(self.state_tag)
        self._ids.add(id(state))
        self.states.append(state)

    def get_states(self) -> list[State[Any]]:
        """The caught states, in creation order."""
        return list(self.states)

    def get_state_values(self) -> list[Any]:
        """The current values of the caught states."""
        return [s.value for s in self.states]

    def get_by_tag(self, tag: str) -> list[State[Any]]:
        """The caught states that carry ``tag``."""
        return [s for s in self.states if s.has_tag(tag)]

    def remove(self, state: State[Any]) -> None:
        """Forget ``state``."""
        if id(state) in self._ids:
            self._ids.discard(id(state))
            self.states = [s for s in self.states if s is not state]

    def __len__(self) -> int:
        return len(self.states)

    def __iter__(self) -> Iterator[State[Any]]:
        return iter(self.states)

    def __contains__(self, state: object) -> bool:
        return id(state) in self._ids

    def __repr__(self) -> str:
        return f"NewStateCatcher(states={len(self.states)}, tag={self.state_tag!r})"


@contextlib.contextmanager
def catch_new_states(state_tag: str | None = None, state_to_exclude: Any = None) -> Iterator[NewStateCatcher]:
    """Collect (and optionally tag) every State created inside the ``with`` block.

    Parameters
    ----------
    state_tag
        A tag added to every caught state.
    state_to_exclude
        A filter (see :mod:`brainstate_state.filters`); matching states are not caught.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> with bss.catch_new_states('init') as catcher:
    ...     s = bss.State(jnp.zeros(3))
    >>> catcher.get_states() == [s], s.tag
    (True, 'init')
    """
    catcher = NewStateCatcher(state_tag, state_to_exclude)
    TRACE_CONTEXT.catchers.append(catcher)
    try:
        yield catcher
    finally:
        TRACE_CONTEXT.catchers.remove(catcher)


@contextlib.contextmanager
def check_state_value_tree(val: bool = True) -> Iterator[None]:
    """Enable (default) or disable the pytree-structure check on ``State.value`` writes in this thread."""
    previous = TRACE_CONTEXT.tree_check
    TRACE_CONTEXT.tree_check = val
    try:
        yield
    finally:
        TRACE_CONTEXT.tree_check = previous
