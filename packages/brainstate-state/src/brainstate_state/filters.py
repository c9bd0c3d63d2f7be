"""Filters: small, hashable predicates that select States (or their snapshots) by type, tag or path.

Every function in brainstate that selects states (``graph.states``, ``treefy_split``, ``NestedDict.split``,
``catch_new_states(state_to_exclude=...)``, the mapping transforms) accepts a *filter*, which may be

* a ``type``: matches States that are instances of it, and :class:`~brainstate_state.TreefyState`
  snapshots whose ``type`` is a subclass of it;
* a ``str``: a tag (see ``State(tag=...)``);
* a predicate ``(path: tuple, x) -> bool``;
* ``True`` or ``...`` (everything), ``False`` or ``None`` (nothing);
* a ``tuple`` or ``list`` of filters: matches what any of them matches;
* one of the filter objects below (:class:`OfType`, :class:`WithTag`, :class:`PathContains`, :class:`Any`,
  :class:`All`, :class:`Not`, :class:`Nothing`, :class:`Everything`).

:func:`to_predicate` turns any of them into a predicate. The filter objects compare and hash by value, so
they can be part of cache keys.

Examples
--------
>>> import jax.numpy as jnp
>>> import brainstate_state as bss
>>> from brainstate_state.filters import to_predicate, All, Not
>>> w = bss.ParamState(jnp.ones(2), tag='fast')
>>> to_predicate(bss.ParamState)(('w',), w), to_predicate('fast')(('w',), w)
(True, True)
>>> to_predicate(All(bss.LongTermState, Not('slow')))(('w',), w)
True
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Hashable
from types import EllipsisType
from typing import Any as _Anything
from typing import Union

from ._state import State
from ._treefy import TreefyState

__all__ = [
    "All",
    "Any",
    "Everything",
    "Filter",
    "Not",
    "Nothing",
    "OfType",
    "PathContains",
    "Predicate",
    "WithTag",
    "to_predicate",
]

#: A predicate on ``(path, x)``, where ``path`` is a tuple of keys and ``x`` a State, snapshot or node.
Predicate = Callable[[tuple[_Anything, ...], _Anything], bool]

#: Anything :func:`to_predicate` accepts.
Filter = Union[type, str, Predicate, bool, EllipsisType, None, "tuple[Filter, ...]", "list[Filter]"]


class _FilterBase:
    """Common base of the filter objects: value equality, hashing and ``&``, ``|``, ``~``."""

    def _key(self) -> tuple[Hashable, ...]:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __and__(self, other: Filter) -> All:
        return All(self, other)

    def __or__(self, other: Filter) -> Any:
        return Any(self, other)

    def __invert__(self) -> Not:
        return Not(self)


class OfType(_FilterBase):
    """Matches States that are instances of ``type`` and snapshots (TreefyState) of such States.

    Examples
    --------
    >>> from brainstate_state.filters import OfType
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> f = OfType(bss.LongTermState)
    >>> f((), bss.ParamState(jnp.zeros(1))), f((), bss.ShortTermState(jnp.zeros(1)))
    (True, False)
    >>> f((), bss.ParamState(jnp.zeros(1)).to_state_ref())
    True
    """

    def __init__(self, type: type) -> None:  # noqa: A002 - the natural name
        if not isinstance(type, builtins.type):
            raise TypeError(
                f"OfType expects a class, but got {type!r} of type {builtins.type(type).__name__}."
            )
        self.type = type

    def _key(self) -> tuple[Hashable, ...]:
        return (self.type,)

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        if isinstance(x, self.type):
            return True
        return isinstance(x, TreefyState) and issubclass(x.type, self.type)

    def __repr__(self) -> str:
        return f"OfType({self.type.__name__})"


def _has_tag(tags: _Anything, tag: str) -> bool:
    if tags is None:
        return False
    if isinstance(tags, str):
        return tags == tag
    try:
        return tag in tags
    except TypeError:
        return False


class WithTag(_FilterBase):
    """Matches States (and snapshots) that carry the tag ``tag``.

    Examples
    --------
    >>> from brainstate_state.filters import WithTag
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> f = WithTag('fast')
    >>> f((), bss.State(jnp.zeros(1), tag='fast')), f((), bss.State(jnp.zeros(1), tag={'fast', 'x'}))
    (True, True)
    >>> f((), bss.State(jnp.zeros(1)))
    False
    """

    def __init__(self, tag: str) -> None:
        if not isinstance(tag, str):
            raise TypeError(f"WithTag expects a string tag, but got {tag!r} of type {type(tag).__name__}.")
        self.tag = tag

    def _key(self) -> tuple[Hashable, ...]:
        return (self.tag,)

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        if isinstance(x, State):
            return x.has_tag(self.tag)
        return _has_tag(getattr(x, "tag", None), self.tag)

    def __repr__(self) -> str:
        return f"WithTag({self.tag!r})"


class PathContains(_FilterBase):
    """Matches everything whose path contains the key ``key`` (an attribute name, dict key or index).

    Examples
    --------
    >>> from brainstate_state.filters import PathContains
    >>> f = PathContains('encoder')
    >>> f(('encoder', 'w'), None), f(('decoder', 'w'), None)
    (True, False)
    """

    def __init__(self, key: Hashable) -> None:
        self.key = key

    def _key(self) -> tuple[Hashable, ...]:
        return (self.key,)

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return self.key in path

    def __repr__(self) -> str:
        return f"PathContains({self.key!r})"


class Any(_FilterBase):
    """Matches what at least one of ``filters`` matches (``Any()`` matches nothing).

    Examples
    --------
    >>> from brainstate_state.filters import Any
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> f = Any(bss.ParamState, 'fast')
    >>> f((), bss.ParamState(jnp.zeros(1))), f((), bss.State(jnp.zeros(1), tag='fast'))
    (True, True)
    """

    def __init__(self, *filters: Filter) -> None:
        self.predicates = tuple(to_predicate(f) for f in filters)

    def _key(self) -> tuple[Hashable, ...]:
        return self.predicates

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return any(p(path, x) for p in self.predicates)

    def __repr__(self) -> str:
        return f"Any({', '.join(map(repr, self.predicates))})"


class All(_FilterBase):
    """Matches what every one of ``filters`` matches (``All()`` matches everything).

    Examples
    --------
    >>> from brainstate_state.filters import All
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> f = All(bss.ParamState, 'fast')
    >>> f((), bss.ParamState(jnp.zeros(1), tag='fast')), f((), bss.ParamState(jnp.zeros(1)))
    (True, False)
    """

    def __init__(self, *filters: Filter) -> None:
        self.predicates = tuple(to_predicate(f) for f in filters)

    def _key(self) -> tuple[Hashable, ...]:
        return self.predicates

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return all(p(path, x) for p in self.predicates)

    def __repr__(self) -> str:
        return f"All({', '.join(map(repr, self.predicates))})"


class Not(_FilterBase):
    """Matches what ``filter`` does not match.

    Examples
    --------
    >>> from brainstate_state.filters import Not
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> Not(bss.ParamState)((), bss.State(jnp.zeros(1)))
    True
    """

    def __init__(self, filter: Filter) -> None:  # noqa: A002 - the natural name
        self.predicate = to_predicate(filter)

    def _key(self) -> tuple[Hashable, ...]:
        return (self.predicate,)

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return not self.predicate(path, x)

    def __repr__(self) -> str:
        return f"Not({self.predicate!r})"


class Everything(_FilterBase):
    """Matches everything (what ``...`` and ``True`` mean as filters).

    Examples
    --------
    >>> from brainstate_state.filters import Everything
    >>> Everything()(('a',), 1)
    True
    """

    def _key(self) -> tuple[Hashable, ...]:
        return ()

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return True

    def __repr__(self) -> str:
        return "Everything()"


class Nothing(_FilterBase):
    """Matches nothing (what ``None`` and ``False`` mean as filters).

    Examples
    --------
    >>> from brainstate_state.filters import Nothing
    >>> Nothing()(('a',), 1)
    False
    """

    def _key(self) -> tuple[Hashable, ...]:
        return ()

    def __call__(self, path: tuple[_Anything, ...], x: _Anything) -> bool:
        return False

    def __repr__(self) -> str:
        return "Nothing()"


def to_predicate(filter: Filter) -> Predicate:  # noqa: A002 - the natural name
    """Turn any :data:`Filter` into a predicate ``(path, x) -> bool``.

    Parameters
    ----------
    filter
        A type, tag string, predicate, bool, ``...``, ``None``, filter object, or a tuple/list of those.

    Returns
    -------
    Predicate
        A filter object (types become :class:`OfType`, strings :class:`WithTag`, tuples :class:`Any`,
        ``...``/``True`` :class:`Everything`, ``None``/``False`` :class:`Nothing`); a user predicate is
        returned unchanged.

    Raises
    ------
    TypeError
        If ``filter`` is none of the accepted kinds.

    Examples
    --------
    >>> from brainstate_state.filters import to_predicate
    >>> import brainstate_state as bss
    >>> to_predicate(bss.ParamState), to_predicate('fast'), to_predicate(...), to_predicate(None)
    (OfType(ParamState), WithTag('fast'), Everything(), Nothing())
    >>> to_predicate((bss.ParamState, 'fast'))
    Any(OfType(ParamState), WithTag('fast'))
    """
    if isinstance(filter, _FilterBase):
        return filter
    if isinstance(filter, type):
        return OfType(filter)
    if isinstance(filter, str):
        return WithTag(filter)
    if filter is Ellipsis or filter is True:
        return Everything()
    if filter is None or filter is False:
        return Nothing()
    if isinstance(filter, (tuple, list)):
        return Any(*filter)
    if isinstance(filter, State):
        raise TypeError(
            f"A State ({type(filter).__name__} {filter.name!r}) is not a filter. "
            "How to fix: filter by its type (e.g. ParamState), a tag string, or a predicate (path, x) -> bool."
        )
    if callable(filter):
        return filter
    raise TypeError(
        f"Invalid filter {filter!r} of type {type(filter).__name__}. A filter is a type, a tag string, a "
        "predicate (path, x) -> bool, a bool, ..., None, a filter object (OfType, WithTag, ...) or a "
        "tuple/list of filters."
    )
