"""Converting pytrees that contain graph nodes into pure pytrees and back (used by ``eval_shape``)."""

from __future__ import annotations

from typing import Any

import jax

from .._state import State
from ._flatten import RefMap, flatten, unflatten
from ._graphdef import GraphDef
from ._registry import is_graph_node

__all__ = ["NodeStates", "graph_to_tree", "tree_to_graph"]


@jax.tree_util.register_pytree_node_class
class NodeStates:
    """A pure pytree standing for one graph node (or State) inside a converted tree.

    ``graphdef`` is static (pytree aux data); ``states`` (the node's state tree) holds the children.

    Examples
    --------
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

    def tree_flatten(self) -> tuple[tuple[Any], GraphDef]:
        return (self.states,), self.graphdef

    @classmethod
    def tree_unflatten(cls, graphdef: GraphDef, children: tuple[Any]) -> NodeStates:
        return cls(graphdef, children[0])

    def __repr__(self) -> str:
        return f"NodeStates({self.graphdef!r}, {self.states!r})"


def _is_node_or_state(x: Any) -> bool:
    return isinstance(x, State) or is_graph_node(x)


def graph_to_tree(tree: Any, /, *, treefy_state: bool = True) -> tuple[Any, RefMap]:
    """Replace every graph node and State in ``tree`` by a :class:`NodeStates` pytree.

    Objects shared between several nodes of the tree are described once (one :class:`RefMap` is shared),
    so :func:`tree_to_graph` restores the sharing.

    Parameters
    ----------
    tree
        Any pytree; its leaves may be graph nodes (e.g. Modules) or States.
    treefy_state
        If true (default) the states are TreefyState snapshots, so the result is a pure pytree of arrays.

    Returns
    -------
    tuple
        ``(pure_tree, ref_index)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(2))
    >>> m = M()
    >>> pure, _ = graph_to_tree({'a': m, 'b': m, 'x': 1.0})
    >>> back, _ = tree_to_graph(pure)
    >>> back['a'] is back['b'], back['a'] is m, back['x']
    (True, False, 1.0)
    """
    refs = RefMap()
    leaves, treedef = jax.tree.flatten(tree, is_leaf=_is_node_or_state)
    out = []
    for leaf in leaves:
        if _is_node_or_state(leaf):
            gdef, states = flatten(leaf, ref_index=refs, treefy_state=treefy_state)
            out.append(NodeStates(gdef, states))
        else:
            out.append(leaf)
    return jax.tree.unflatten(treedef, out), refs


def tree_to_graph(tree: Any, /) -> tuple[Any, dict[int, Any]]:
    """Rebuild the nodes and States of a tree made by :func:`graph_to_tree` (new objects).

    Returns
    -------
    tuple
        ``(tree_with_nodes, index_ref)``; ``index_ref`` maps graph indices to the rebuilt objects.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> s = bss.State(jnp.ones(2))
    >>> pure, _ = graph_to_tree((s, s))
    >>> (a, b), _ = tree_to_graph(pure)
    >>> a is b, a is s
    (True, False)
    """
    index_ref: dict[int, Any] = {}
    leaves, treedef = jax.tree.flatten(tree, is_leaf=lambda x: isinstance(x, NodeStates))
    out = [
        unflatten(leaf.graphdef, leaf.states, index_ref=index_ref) if isinstance(leaf, NodeStates) else leaf
        for leaf in leaves
    ]
    return jax.tree.unflatten(treedef, out), index_ref
