"""``NestedDict`` and ``FlattedDict``: the two pytree containers that hold a module's states.

A :class:`NestedDict` mirrors the module tree (``{'layer': {'w': ..., 'b': ...}}``); a :class:`FlattedDict`
maps path tuples to leaves (``{('layer', 'w'): ..., ('layer', 'b'): ...}``). Both are registered pytrees
whose children are visited in sorted key order, so ``jax.tree`` functions, ``jax.grad`` and ``jax.jit``
work on them and always see the same leaf order. Leaves are usually States or TreefyState snapshots;
``split``/``filter`` select them with :mod:`brainstate_state.filters`.

Examples
--------
>>> from brainstate_state import NestedDict
>>> import jax, jax.numpy as jnp
>>> nested = NestedDict({'layer': {'w': jnp.ones(2), 'b': jnp.zeros(2)}})
>>> list(nested.to_flat())
[('layer', 'b'), ('layer', 'w')]
>>> jax.tree.map(lambda x: x + 1, nested)['layer']['b']
Array([1., 1.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax

from ._pretty_dict import Path, PrettyDict, _leaf_value, _sorted_keys, _split_flat, sort_key, sort_paths
from ._state import State
from ._treefy import TreefyState
from .filters import Filter

__all__ = [
    "EMPTY_NODE",
    "FlattedDict",
    "NestedDict",
    "Path",
    "PrettyDict",
    "flat_mapping",
    "nest_mapping",
    "sort_key",
    "sort_paths",
]


class _EmptyNode:
    """Marks an empty sub-mapping kept by ``flat_mapping(..., keep_empty_nodes=True)``."""

    def __repr__(self) -> str:
        return "_EmptyNode()"


#: The leaf ``flat_mapping(..., keep_empty_nodes=True)`` puts where a sub-mapping is empty.
EMPTY_NODE = _EmptyNode()


def _no_leaf(path: Path, value: Any) -> bool:
    return False


def flat_mapping(
    xs: Mapping[Any, Any],
    *,
    keep_empty_nodes: bool = False,
    is_leaf: Callable[[Path, Any], bool] = _no_leaf,
    sep: str | None = None,
) -> FlattedDict:
    """Flatten a nested mapping into a :class:`FlattedDict` keyed by paths (sorted).

    Parameters
    ----------
    xs
        The nested mapping.
    keep_empty_nodes
        Keep an empty sub-mapping as the leaf ``EMPTY_NODE`` (which :func:`nest_mapping` turns back into
        an empty mapping) instead of dropping it.
    is_leaf
        ``is_leaf(path, value)``: stop descending at a sub-mapping for which it returns True.
    sep
        Join each path into one string with this separator (the keys must then be strings).

    Examples
    --------
    >>> from brainstate_state.containers import flat_mapping
    >>> flat_mapping({'a': {'x': 1}, 'b': 2})
    FlattedDict({('a', 'x'): 1, ('b',): 2})
    >>> flat_mapping({'a': {'x': 1}, 'b': 2}, sep='/')
    FlattedDict({'a/x': 1, 'b': 2})
    """
    out: dict[Any, Any] = {}

    def walk(prefix: Path, mapping: Mapping[Any, Any]) -> None:
        for key in _sorted_keys(mapping):
            value, path = mapping[key], (*prefix, key)
            if isinstance(value, Mapping) and not isinstance(value, FlattedDict) and not is_leaf(path, value):
                if value or not keep_empty_nodes:
                    walk(path, value)
                    continue
                value = EMPTY_NODE
            out[path if sep is None else sep.join(str(k) for k in path)] = value

    walk((), xs)
    return FlattedDict(out)


def nest_mapping(xs: Mapping[Any, Any], *, sep: str | None = None) -> NestedDict:
    """Turn a path-keyed mapping into a :class:`NestedDict` (inverse of :func:`flat_mapping`).

    With ``sep``, the keys are strings split at ``sep`` into paths.

    Examples
    --------
    >>> from brainstate_state.containers import nest_mapping
    >>> nest_mapping({('a', 'x'): 1, ('b',): 2})
    NestedDict({'a': {'x': 1}, 'b': 2})
    >>> nest_mapping({'a/x': 1}, sep='/')
    NestedDict({'a': {'x': 1}})
    """
    root = NestedDict()
    flat = xs if sep is None else {tuple(str(k).split(sep)): v for k, v in xs.items()}
    for path in _sorted_keys(flat):
        if not isinstance(path, tuple) or not path:
            raise ValueError(
                f"FlattedDict keys must be non-empty path tuples, but got the key {path!r}. "
                "How to fix: pass sep= when the keys are joined strings."
            )
        node = root
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = NestedDict()
                node[key] = child
            elif not isinstance(child, NestedDict):
                raise ValueError(
                    f"Cannot nest the path {path}: the prefix {path[: path.index(key) + 1]} holds a leaf."
                )
            node = child
        value = flat[path]
        node[path[-1]] = NestedDict() if value is EMPTY_NODE else value
    return root


class NestedDict(PrettyDict):
    """A nested dict of states (or snapshots), mirroring a module tree; a registered pytree.

    Examples
    --------
    >>> from brainstate_state import NestedDict
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> tree = NestedDict({'w': bss.ParamState(jnp.ones(1)), 'sub': {'h': bss.HiddenState(jnp.zeros(1))}})
    >>> params, rest = tree.split(bss.ParamState, ...)
    >>> list(params.to_flat()), list(rest.to_flat())
    ([('w',)], [('sub', 'h')])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in list(self.items()):
            if type(value) is dict:
                self[key] = NestedDict(value)

    def to_flat(self) -> FlattedDict:
        """This tree as a :class:`FlattedDict` keyed by path tuples, in sorted order."""
        return flat_mapping(self)

    def _map_leaves(self, fn: Callable[[Any], Any]) -> NestedDict:
        return nest_mapping({path: fn(x) for path, x in self.to_flat().items()})

    @classmethod
    def from_flat(cls, flat: Mapping[Path, Any]) -> NestedDict:
        """Build a NestedDict from a path-keyed mapping."""
        return nest_mapping(flat)

    def split(self, first: Filter, /, *filters: Filter) -> Any:
        """Partition the leaves by filters (each leaf goes to the first filter that matches).

        Returns one NestedDict per filter (a single NestedDict for a single filter). Every leaf must match
        some filter (use ``...`` last as a catch-all), otherwise ``ValueError``.
        """
        groups = _split_flat(self.to_flat(), (first, *filters), exhaustive=True, what="NestedDict.split")
        out = tuple(nest_mapping(g) for g in groups)
        return out[0] if len(out) == 1 else out

    def filter(self, first: Filter, /, *filters: Filter) -> Any:
        """Like :meth:`split`, but leaves that match no filter are dropped instead of raising."""
        groups = _split_flat(self.to_flat(), (first, *filters), exhaustive=False, what="NestedDict.filter")
        out = tuple(nest_mapping(g) for g in groups)
        return out[0] if len(out) == 1 else out

    @staticmethod
    def merge(*dicts: Mapping[Any, Any]) -> NestedDict:
        """Merge several nested mappings into one (later ones win on equal paths).

        Examples
        --------
        >>> from brainstate_state import NestedDict
        >>> NestedDict.merge({'a': 1}, {'b': {'c': 2}})
        NestedDict({'a': 1, 'b': {'c': 2}})
        """
        flat: dict[Path, Any] = {}
        for d in dicts:
            flat.update(d.to_flat() if isinstance(d, NestedDict) else flat_mapping(d))
        return nest_mapping(flat)

    def to_pure_dict(self) -> dict[Any, Any]:
        """A plain nested ``dict`` with every State/snapshot replaced by its value."""
        return {
            k: (v.to_pure_dict() if isinstance(v, NestedDict) else _leaf_value(v))
            for k, v in ((k, self[k]) for k in _sorted_keys(self))
        }

    def replace_by_pure_dict(self, pure: Mapping[Any, Any]) -> None:
        """Replace the values in place from a plain nested dict (as produced by :meth:`to_pure_dict`).

        Snapshots get a new value (``replace``), States are written, other leaves are replaced.

        Raises
        ------
        KeyError
            If ``pure`` has a path this tree does not have.
        """
        for path, value in flat_mapping(pure).items():
            node: Any = self
            for key in path[:-1]:
                if not isinstance(node, dict) or key not in node:
                    raise KeyError(
                        f"replace_by_pure_dict: the path {path} does not exist in this NestedDict."
                    )
                node = node[key]
            if not isinstance(node, dict) or path[-1] not in node:
                raise KeyError(f"replace_by_pure_dict: the path {path} does not exist in this NestedDict.")
            old = node[path[-1]]
            if isinstance(old, TreefyState):
                node[path[-1]] = old.replace(value)
            elif isinstance(old, State):
                old.value = value
            else:
                node[path[-1]] = value

    def __or__(self, other: Mapping[Any, Any]) -> NestedDict:
        return NestedDict.merge(self, other)

    def __sub__(self, other: Mapping[Any, Any]) -> NestedDict:
        """The leaves of ``self`` whose paths are not in ``other``."""
        other_flat = other.to_flat() if isinstance(other, NestedDict) else flat_mapping(other)
        return nest_mapping({p: v for p, v in self.to_flat().items() if p not in other_flat})

    def __repr__(self) -> str:
        return f"NestedDict({_plain(self)!r})"


def _plain(d: Mapping[Any, Any]) -> dict[Any, Any]:
    return {k: (_plain(v) if isinstance(v, NestedDict) else v) for k, v in d.items()}


class FlattedDict(PrettyDict):
    """A dict of states (or snapshots) keyed by path tuples; a registered pytree.

    ``Module.states()`` and ``graph.states()`` return one, with its keys in sorted order.

    Examples
    --------
    >>> from brainstate_state import FlattedDict
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> flat = FlattedDict({('w',): bss.ParamState(jnp.ones(2)), ('b',): bss.ParamState(jnp.zeros(2))})
    >>> flat.to_dict_values()
    {('w',): Array([1., 1.], dtype=float32), ('b',): Array([0., 0.], dtype=float32)}
    >>> flat.assign_dict_values({('b',): jnp.ones(2)})
    >>> flat[('b',)].value
    Array([1., 1.], dtype=float32)
    """

    def to_nest(self) -> NestedDict:
        """This mapping as a :class:`NestedDict`."""
        return nest_mapping(self)

    def _map_leaves(self, fn: Callable[[Any], Any]) -> FlattedDict:
        return FlattedDict({path: fn(x) for path, x in self.items()})

    @classmethod
    def from_nest(cls, nested: Mapping[Any, Any]) -> FlattedDict:
        """Build a FlattedDict from a nested mapping."""
        return flat_mapping(nested)

    def split(self, first: Filter, /, *filters: Filter) -> Any:
        """Partition by filters (exhaustive; see :meth:`NestedDict.split`)."""
        groups = _split_flat(self, (first, *filters), exhaustive=True, what="FlattedDict.split")
        out = tuple(FlattedDict(g) for g in groups)
        return out[0] if len(out) == 1 else out

    def filter(self, first: Filter, /, *filters: Filter) -> Any:
        """Select by filters; unmatched entries are dropped (see :meth:`NestedDict.filter`)."""
        groups = _split_flat(self, (first, *filters), exhaustive=False, what="FlattedDict.filter")
        out = tuple(FlattedDict(g) for g in groups)
        return out[0] if len(out) == 1 else out

    @staticmethod
    def merge(*dicts: Mapping[Path, Any]) -> FlattedDict:
        """Merge several path-keyed mappings (later ones win), keys in sorted order.

        Examples
        --------
        >>> from brainstate_state import FlattedDict
        >>> FlattedDict.merge({('b',): 1}, {('a',): 2})
        FlattedDict({('a',): 2, ('b',): 1})
        """
        flat: dict[Path, Any] = {}
        for d in dicts:
            flat.update(d)
        return FlattedDict({p: flat[p] for p in _sorted_keys(flat)})

    def to_dict_values(self) -> dict[Path, Any]:
        """A plain dict from path to value (``State.value`` / ``TreefyState.value``; other leaves as is)."""
        return {path: _leaf_value(x) for path, x in self.items()}

    def assign_dict_values(self, values: Mapping[Path, Any]) -> None:
        """Write ``values`` (path -> value) into the States (snapshots are replaced by updated copies).

        Raises
        ------
        KeyError
            If ``values`` has a path this mapping does not have (nothing is written then).
        """
        missing = [p for p in values if p not in self]
        if missing:
            raise KeyError(f"assign_dict_values: the paths {missing} are not in this FlattedDict.")
        for path, value in values.items():
            old = self[path]
            if isinstance(old, State):
                old.value = value
            elif isinstance(old, TreefyState):
                self[path] = old.replace(value)
            else:
                self[path] = value

    def __or__(self, other: Mapping[Path, Any]) -> FlattedDict:  # type: ignore[override]
        return FlattedDict.merge(self, other)

    def __sub__(self, other: Mapping[Path, Any]) -> FlattedDict:
        """The entries of ``self`` whose paths are not in ``other``."""
        return FlattedDict({p: v for p, v in self.items() if p not in other})

    def __repr__(self) -> str:
        return f"FlattedDict({dict(self)!r})"


def _sorted_items(d: Mapping[Any, Any]) -> tuple[tuple[Any, ...], list[Any]]:
    keys = tuple(_sorted_keys(d))
    return keys, [d[k] for k in keys]


def _flatten_nested(d: NestedDict) -> tuple[list[Any], tuple[Any, ...]]:
    keys, values = _sorted_items(d)
    return values, keys


def _flatten_nested_with_keys(d: NestedDict) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
    keys, values = _sorted_items(d)
    return [(jax.tree_util.DictKey(k), v) for k, v in zip(keys, values, strict=True)], keys


def _unflatten_nested(keys: tuple[Any, ...], values: Iterable[Any]) -> NestedDict:
    out = NestedDict.__new__(NestedDict)
    dict.update(out, zip(keys, values, strict=True))
    return out


def _flatten_flat(d: FlattedDict) -> tuple[list[Any], tuple[Any, ...]]:
    keys, values = _sorted_items(d)
    return values, keys


def _flatten_flat_with_keys(d: FlattedDict) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
    keys, values = _sorted_items(d)
    return [(jax.tree_util.DictKey(k), v) for k, v in zip(keys, values, strict=True)], keys


def _unflatten_flat(keys: tuple[Any, ...], values: Iterable[Any]) -> FlattedDict:
    return FlattedDict(zip(keys, values, strict=True))


jax.tree_util.register_pytree_with_keys(
    NestedDict, _flatten_nested_with_keys, _unflatten_nested, flatten_func=_flatten_nested
)
jax.tree_util.register_pytree_with_keys(
    FlattedDict, _flatten_flat_with_keys, _unflatten_flat, flatten_func=_flatten_flat
)
