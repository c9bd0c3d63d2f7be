"""The module graph: traverse :class:`Node` objects, split them into pure pytrees and merge them back.

``treefy_split(node, *filters)`` gives a static :class:`GraphDef` and TreefyState trees that plain JAX
transforms accept; ``treefy_merge(graphdef, *trees)`` builds a new node from them. ``states(node, ...)``
returns the live States keyed by path. Shared sub-modules and shared States are described once (at their
first path in sorted attribute order) and are shared again after merging.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> import brainstate_state as bss
>>> from brainstate_state import graph
>>> class Linear(graph.Node):
...     def __init__(self):
...         self.w = bss.ParamState(jnp.array([[2.0]]))
>>> model = Linear()
>>> graphdef, params = graph.treefy_split(model, bss.ParamState)
>>> loss = lambda p, x: jnp.sum(graph.treefy_merge(graphdef, p).w.value * x)
>>> jax.grad(loss)(params, 3.0)['w'].value
Array([[3.]], dtype=float32)
"""

from __future__ import annotations

from ._convert import NodeStates, graph_to_tree, tree_to_graph
from ._flatten import RefMap, flatten, unflatten
from ._graphdef import GraphDef, NodeDef, NodeRef, PytreeEdge, StateLeaf, StateRef, Static
from ._node import Node
from ._query import iter_leaf, iter_node, nodes, states
from ._registry import is_graph_node, register_graph_node_type
from ._split import clone, graphdef, treefy_merge, treefy_split, treefy_states
from ._update import pop_states, update_states

__all__ = [
    "GraphDef",
    "Node",
    "NodeDef",
    "NodeRef",
    "NodeStates",
    "PytreeEdge",
    "RefMap",
    "StateLeaf",
    "StateRef",
    "Static",
    "clone",
    "flatten",
    "graph_to_tree",
    "graphdef",
    "is_graph_node",
    "iter_leaf",
    "iter_node",
    "nodes",
    "pop_states",
    "register_graph_node_type",
    "states",
    "tree_to_graph",
    "treefy_merge",
    "treefy_split",
    "treefy_states",
    "unflatten",
    "update_states",
]
