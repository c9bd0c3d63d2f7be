"""``StateFinder``: which States does a function touch (read, write, or both)?"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Literal

from brainstate_state import State

from ._stateful import StatefulFunction

__all__ = ["StateFinder"]

Usage = Literal["all", "read", "write", "both"]
ReturnType = Literal["dict", "list", "tuple"]


class StateFinder:
    """Find the States a callable reads and writes, by tracing it (nothing is executed or changed).

    Parameters
    ----------
    fn
        The callable to inspect.
    filter
        Keep only States matching this filter (a type, a tag, a predicate ``(path, state) -> bool``, ...;
        see ``brainstate_state.filters``). ``None`` keeps all.
    usage
        ``'all'`` (every touched State), ``'read'`` (read but never written), ``'write'`` (written), or
        ``'both'`` (a dict ``{'read': ..., 'write': ...}``).
    return_type
        ``'dict'`` (keyed by ``key_fn``), ``'list'`` or ``'tuple'``, in first-access order.
    key_fn
        ``key_fn(index, state) -> key`` for ``return_type='dict'``; default: the index (in the selected
        States). An unhashable key becomes its ``str``; a key of ``None``, or one another State already
        has, falls back to the State's name (``state_<index>`` when it has none), suffixed ``_1``, ``_2``,
        ... when that is taken too.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_ir import StateFinder
    >>> w = bss.ParamState(jnp.ones(2)); h = bss.State(jnp.zeros(2), name='h')
    >>> def step(x):
    ...     h.value = w.value * x
    ...     return h.value
    >>> StateFinder(step, usage='both', return_type='list')(1.0) == {'read': [w], 'write': [h]}
    True
    >>> StateFinder(step, filter=bss.ParamState)(1.0) == {0: w}
    True
    >>> StateFinder(step, key_fn=lambda i, s: s.name)(1.0) == {'h': h, 'state_0': w}
    True
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        filter: Any = None,  # noqa: A002 - the documented parameter name
        *,
        usage: Usage = "all",
        return_type: ReturnType = "dict",
        key_fn: Callable[[int, State[Any]], Hashable] | None = None,
    ) -> None:
        if usage not in ("all", "read", "write", "both"):
            raise ValueError(f"StateFinder: usage must be 'all', 'read', 'write' or 'both'; got {usage!r}.")
        if return_type not in ("dict", "list", "tuple"):
            raise ValueError(
                f"StateFinder: return_type must be 'dict', 'list' or 'tuple'; got {return_type!r}."
            )
        self.fn = fn
        self.usage = usage
        self.return_type = return_type
        self.key_fn = key_fn if key_fn is not None else (lambda index, state: index)
        self._predicate: Callable[[tuple[Any, ...], Any], bool] | None = None
        if filter is not None:
            from brainstate_state.filters import to_predicate

            self._predicate = to_predicate(filter)
        self._stateful = StatefulFunction(fn, return_only_write=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Same as :meth:`find`."""
        return self.find(*args, **kwargs)

    def find(self, *args: Any, **kwargs: Any) -> Any:
        """The States ``fn`` touches when called with these arguments."""
        program = self._stateful.get_program(*args, **kwargs)
        if self.usage == "both":
            return {
                "read": self._package(program.read_states),
                "write": self._package(program.write_states),
            }
        selected = {
            "all": program.states,
            "read": program.read_states,
            "write": program.write_states,
        }[self.usage]
        return self._package(selected)

    def _package(self, states: tuple[State[Any], ...]) -> Any:
        predicate = self._predicate
        kept = [s for s in states if predicate is None or predicate((), s)]
        if self.return_type == "list":
            return kept
        if self.return_type == "tuple":
            return tuple(kept)
        result: dict[Hashable, State[Any]] = {}
        for index, state in enumerate(kept):
            result[_unique_key(result, self.key_fn(index, state), index, state)] = state
        return result


def _unique_key(taken: dict[Hashable, Any], key: Any, index: int, state: State[Any]) -> Hashable:
    """``key`` made hashable (unhashable keys become their ``str``) and unique among ``taken``.

    A ``None`` key, or one already taken, falls back to the State's name (``state_<index>`` for an
    unnamed State), suffixed ``_1``, ``_2``, ... while that is taken too.
    """
    if key is not None:
        try:
            hash(key)
        except TypeError:
            key = str(key)
        if key not in taken:
            return key  # type: ignore[no-any-return]
    base = state.name if state.name is not None else f"state_{index}"
    candidate, suffix = base, 0
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    return candidate
