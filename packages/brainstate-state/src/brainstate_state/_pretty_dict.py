"""``PrettyDict``, the base of the state containers, and the path helpers they share.

``PrettyDict`` is a ``dict`` with the methods common to :class:`~brainstate_state.containers.NestedDict`
and :class:`~brainstate_state.containers.FlattedDict`: ``to_dict``, ``subset`` and ``treefy_state``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from ._errors import describe_state
from ._state import State
from ._treefy import TreefyState
from .filters import Filter, Predicate, to_predicate

__all__ = ["Path", "PrettyDict", "sort_key", "sort_paths"]

#: A path: the keys (attribute names, dict keys, sequence indices) leading from a root to a leaf.
Path = tuple[Hashable, ...]


def _key_rank(key: Any) -> tuple[int, Any]:
    if isinstance(key, bool):
        return (0, int(key))
    if isinstance(key, (int, float)):
        return (0, key)
    if isinstance(key, str):
        return (1, key)
    if isinstance(key, tuple):
        return (2, tuple(_key_rank(k) for k in key))
    return (3, f"{type(key).__name__}:{key!r}")


def sort_key(key: Any) -> tuple[int, Any]:
    """A total order over dict keys and paths of mixed types (numbers < strings < tuples < others).

    Examples
    --------
    >>> from brainstate_state.containers import sort_key
    >>> sorted(['b', 1, 'a', 0], key=sort_key)
    [0, 1, 'a', 'b']
    """
    return _key_rank(key)


def _sorted_keys(keys: Iterable[Any]) -> list[Any]:
    out = list(keys)
    try:
        out.sort()
    except TypeError:
        out.sort(key=sort_key)
    return out


def sort_paths(paths: Iterable[Path]) -> list[Path]:
    """``paths`` sorted by :func:`sort_key` (fast path: plain tuple order when the key types allow it).

    Examples
    --------
    >>> from brainstate_state.containers import sort_paths
    >>> sort_paths([('b',), ('a', 1), ('a', 0)])
    [('a', 0), ('a', 1), ('b',)]
    """
    return _sorted_keys(paths)


def _describe(x: Any) -> str:
    if isinstance(x, State):
        return describe_state(x)
    if isinstance(x, TreefyState):
        return f"snapshot of a {x.type.__name__}" + (f" {x.name!r}" if x.name is not None else "")
    return type(x).__name__


def _leaf_value(x: Any) -> Any:
    return x.value if isinstance(x, (State, TreefyState)) else x


def _split_flat(
    flat: Mapping[Path, Any], filters: tuple[Filter, ...], *, exhaustive: bool, what: str
) -> list[dict[Path, Any]]:
    """Assign each item of ``flat`` to the first filter that matches it."""
    predicates: list[Predicate] = [to_predicate(f) for f in filters]
    groups: list[dict[Path, Any]] = [{} for _ in predicates]
    rest: list[Path] = []
    for path, value in flat.items():
        for predicate, group in zip(predicates, groups, strict=True):
            if predicate(path, value):
                group[path] = value
                break
        else:
            rest.append(path)
    if exhaustive and rest:
        listing = "; ".join(f"{p}: {_describe(flat[p])}" for p in rest[:10])
        more = f" and {len(rest) - 10} more" if len(rest) > 10 else ""
        raise ValueError(
            f"{what}: the filters {filters!r} do not match every state; unmatched: {listing}{more}. "
            "How to fix: add a filter for them, or end the filters with `...` to collect the rest."
        )
    return groups


class PrettyDict(dict[Any, Any]):
    """Base of :class:`NestedDict` and :class:`FlattedDict`: a ``dict`` of states (or snapshots).

    Subclasses define ``filter`` (select leaves by filters) and ``_map_leaves`` (the same container with
    a function applied to every leaf).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.containers import NestedDict, PrettyDict
    >>> tree = NestedDict({'w': bss.ParamState(jnp.ones(1))})
    >>> isinstance(tree, PrettyDict), type(tree.to_dict())
    (True, <class 'dict'>)
    """

    def filter(self, first: Filter, /, *filters: Filter) -> Any:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def _map_leaves(self, fn: Callable[[Any], Any]) -> PrettyDict:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def to_dict(self) -> dict[Any, Any]:
        """A plain ``dict`` (nested containers become plain dicts too) holding the same leaves."""
        return {k: (v.to_dict() if isinstance(v, PrettyDict) else v) for k, v in self.items()}

    def subset(self, first: Filter, /, *filters: Filter) -> Any:
        """The leaves matching each filter, one container per filter; unmatched leaves are dropped.

        The same as ``filter``.
        """
        return self.filter(first, *filters)

    def treefy_state(self) -> Any:
        """The same container with every State replaced by its :class:`TreefyState` snapshot."""
        return self._map_leaves(lambda x: x.to_state_ref() if isinstance(x, State) else x)
