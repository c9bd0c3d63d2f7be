"""Converting pytrees that contain graph nodes into pure pytrees and back (used by ``eval_shape``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._state import State
from ..containers import NestedDict
from ._flatten import RefMap, flatten, unflatten
from ._graphdef import GraphDef
from ._registry import is_graph_node

__all__ = ["NodeStates", "graph_to_tree", "tree_to_graph"]

_MISSING: Any = object()
KeyPath = tuple[Any, ...]


@jax.tree_util.register_pytree_node_class
class NodeStates:
    """A pure pytree standing for one graph node (or State) inside a converted tree.

    ``graphdef`` is static (pytree aux data); ``states`` (the node's state tree) holds the children.

    Examples
    --------
    >>> from brainstate_state.graph import graph_to_tree
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> tree, _ = graph_to_tree([bss.State(jnp.ones(2))])
    >>> type(tree[0]).__name__, jax.tree.leaves(tree)
    ('NodeStates', [Array([1., 1.], dtype=float32)])
    """

    __slots__ = ("graphdef", "states")

    def __init__(self, graphdef: GraphDef, states: Any) -> None:
        self.graphdef = graphdef
        self.states = states

    @classmethod
    def from_split(cls, graphdef: GraphDef, state: Any, /, *states: Any) -> NodeStates:
        """A NodeStates from the parts of a split (several state trees are merged into one)."""
        return cls(graphdef, NestedDict.merge(state, *states) if states else state)

    def tree_flatten(self) -> tuple[tuple[Any], GraphDef]:
        return (self.states,), self.graphdef

    @classmethod
    def tree_unflatten(cls, graphdef: GraphDef, children: tuple[Any]) -> NodeStates:
        return cls(graphdef, children[0])

    def __repr__(self) -> str:
        return f"NodeStates({self.graphdef!r}, {self.states!r})"


def _is_node_or_state(x: Any) -> bool:
    return isinstance(x, State) or is_graph_node(x)


class _Box:
    """Holds one prefix value while it is broadcast over the leaves below it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _leaf_prefixes(prefix: Any, tree: Any, n: int, is_leaf: Callable[[Any], bool]) -> list[Any]:
    """The prefix value of each leaf of ``tree`` (``prefix`` is a pytree prefix of ``tree``)."""
    if prefix is _MISSING:
        return [None] * n
    try:
        boxed = jax.tree.map(
            lambda p, sub: jax.tree.map(lambda _: _Box(p), sub, is_leaf=is_leaf),
            prefix,
            tree,
            is_leaf=lambda x: x is None,
        )
    except ValueError as exc:
        raise ValueError(f"prefix must be a pytree prefix of the tree: {exc}") from None
    return [b.value for b in jax.tree.leaves(boxed, is_leaf=lambda x: isinstance(x, _Box))]


def _check_aliasing(leaves: list[Any], prefixes: list[Any], paths: list[KeyPath]) -> None:
    """Raise if one node or State is reached under two different prefixes."""
    from ._query import iter_leaf, iter_node

    seen: dict[int, tuple[Any, Any, str]] = {}
    for leaf, prefix, path in zip(leaves, prefixes, paths, strict=True):
        if not _is_node_or_state(leaf):
            continue
        objects = [(leaf, "")] if isinstance(leaf, State) else []
        if not isinstance(leaf, State):
            objects += [(o, ".".join(map(str, p))) for p, o in iter_node(leaf)]
            objects += [(o, ".".join(map(str, p))) for p, o in iter_leaf(leaf)]
        for obj, inner in objects:
            where = jax.tree_util.keystr(path) + (f" -> {inner}" if inner else "")
            first = seen.setdefault(id(obj), (obj, prefix, where))
            if first[1] is not prefix and first[1] != prefix:
                raise ValueError(
                    f"Inconsistent aliasing: the {type(obj).__name__} at {first[2] or '<root>'} is also "
                    f"reached at {where or '<root>'}, with the prefixes {first[1]!r} and {prefix!r}. "
                    "How to fix: give every occurrence of a shared object the same prefix."
                )


class SplitContext:
    """Handed to a custom ``split_fn``: ``ctx.split(node, *filters)`` splits sharing one :class:`RefMap`."""

    def __init__(self, refs: RefMap, treefy_state: bool) -> None:
        self.ref_index = refs
        self.treefy_state = treefy_state

    def split(self, node: Any, *filters: Any) -> tuple[Any, ...]:
        """``(graphdef, states)`` or, with filters, ``(graphdef, states_1, ..., states_n)``."""
        gdef, states = flatten(node, ref_index=self.ref_index, treefy_state=self.treefy_state)
        if not filters:
            return gdef, states
        parts = states.split(*filters) if isinstance(states, NestedDict) else (states,)
        return (gdef, *(parts if isinstance(parts, tuple) else (parts,)))


def _default_split_fn(ctx: SplitContext, path: KeyPath, prefix: Any, leaf: Any) -> Any:
    if not _is_node_or_state(leaf):
        return leaf
    return NodeStates.from_split(*ctx.split(leaf))


def graph_to_tree(
    tree: Any,
    /,
    *,
    prefix: Any = _MISSING,
    split_fn: Callable[[SplitContext, KeyPath, Any, Any], Any] = _default_split_fn,
    map_non_graph_nodes: bool = False,
    check_aliasing: bool = True,
    treefy_state: bool = True,
) -> tuple[Any, RefMap]:
    """Replace every graph node and State in ``tree`` by a :class:`NodeStates` pytree.

    Objects shared between several nodes of the tree are described once (one :class:`RefMap` is shared),
    so :func:`tree_to_graph` restores the sharing.

    Parameters
    ----------
    tree
        Any pytree; its leaves may be graph nodes (e.g. Modules) or States.
    prefix
        A pytree prefix of ``tree`` (e.g. the ``in_axes`` of a transform): each leaf gets the prefix value
        above it, handed to ``split_fn`` and checked by ``check_aliasing``.
    split_fn
        ``split_fn(ctx, key_path, prefix, leaf) -> NodeStates`` converts one graph-node leaf;
        ``ctx.split(node, *filters)`` returns ``(graphdef, states...)``. The default splits the whole node.
    map_non_graph_nodes
        Call ``split_fn`` on the other leaves too (the default one returns them unchanged).
    check_aliasing
        Raise ``ValueError`` when one object (a node, a sub-node or a State) is reached under two
        different prefixes.
    treefy_state
        If true (default) the states are TreefyState snapshots, so the result is a pure pytree of arrays.

    Returns
    -------
    tuple
        ``(pure_tree, ref_index)``.

    Examples
    --------
    >>> from brainstate_state.graph import graph_to_tree
    >>> from brainstate_state.graph import tree_to_graph
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(2))
    >>> m = M()
    >>> pure, _ = graph_to_tree({'a': m, 'b': m, 'x': 1.0})
    >>> back = tree_to_graph(pure)
    >>> back['a'] is back['b'], back['a'] is m, back['x']
    (True, False, 1.0)
    """
    refs = RefMap()
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_node_or_state)
    paths = [p for p, _ in with_paths]
    leaves = [leaf for _, leaf in with_paths]
    prefixes = _leaf_prefixes(prefix, tree, len(leaves), _is_node_or_state)
    if check_aliasing and prefix is not _MISSING:
        _check_aliasing(leaves, prefixes, paths)
    ctx = SplitContext(refs, treefy_state)
    out = [
        split_fn(ctx, path, p, leaf) if map_non_graph_nodes or _is_node_or_state(leaf) else leaf
        for path, p, leaf in zip(paths, prefixes, leaves, strict=True)
    ]
    return jax.tree.unflatten(treedef, out), refs


class MergeContext:
    """Handed to a custom ``merge_fn``: ``ctx.merge(graphdef, *states)`` rebuilds sharing one index."""

    def __init__(self, index_ref: dict[int, Any]) -> None:
        self.index_ref = index_ref

    def merge(self, graphdef: GraphDef, state: Any, /, *states: Any) -> Any:
        """The node described by ``graphdef`` and its state trees (several are merged into one)."""
        mapping = NestedDict.merge(state, *states) if states else state
        return unflatten(graphdef, mapping, index_ref=self.index_ref)


def _default_merge_fn(ctx: MergeContext, path: KeyPath, prefix: Any, leaf: Any) -> Any:
    if not isinstance(leaf, NodeStates):
        return leaf
    return ctx.merge(leaf.graphdef, leaf.states)


def tree_to_graph(
    tree: Any,
    /,
    *,
    prefix: Any = _MISSING,
    merge_fn: Callable[[MergeContext, KeyPath, Any, Any], Any] = _default_merge_fn,
    is_node_leaf: Callable[[Any], bool] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
    map_non_graph_nodes: bool = False,
    index_ref: dict[int, Any] | None = None,
) -> Any:
    """Rebuild the nodes and States of a tree made by :func:`graph_to_tree` (new objects).

    Parameters
    ----------
    tree
        The pure tree.
    prefix
        A pytree prefix of ``tree``; each leaf's prefix value is handed to ``merge_fn``.
    merge_fn
        ``merge_fn(ctx, key_path, prefix, leaf) -> object`` rebuilds one node leaf;
        ``ctx.merge(graphdef, *states)`` does the work. The default rebuilds every :class:`NodeStates`.
    is_node_leaf
        Which leaves are node descriptions (default: :class:`NodeStates` instances).
    is_leaf
        Where to stop flattening ``tree`` (default: at node descriptions).
    map_non_graph_nodes
        Call ``merge_fn`` on the other leaves too.
    index_ref
        A dict that receives the graph index -> rebuilt object mapping (shared between calls to keep
        sharing across trees).

    Returns
    -------
    The tree with every node description replaced by the rebuilt node (as brainstate 0.5.4).

    Examples
    --------
    >>> from brainstate_state.graph import graph_to_tree
    >>> from brainstate_state.graph import tree_to_graph
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> s = bss.State(jnp.ones(2))
    >>> pure, _ = graph_to_tree((s, s))
    >>> a, b = tree_to_graph(pure)
    >>> a is b, a is s
    (True, False)
    """
    node_leaf = is_node_leaf if is_node_leaf is not None else (lambda x: isinstance(x, NodeStates))
    stop = is_leaf if is_leaf is not None else node_leaf
    ctx = MergeContext({} if index_ref is None else index_ref)
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=stop)
    leaves = [leaf for _, leaf in with_paths]
    prefixes = _leaf_prefixes(prefix, tree, len(leaves), stop)
    out = [
        merge_fn(ctx, path, p, leaf) if map_non_graph_nodes or node_leaf(leaf) else leaf
        for (path, leaf), p in zip(with_paths, prefixes, strict=True)
    ]
    return jax.tree.unflatten(treedef, out)
