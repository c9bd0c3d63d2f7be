"""``GraphDef``: the static, hashable description of a node graph produced by ``treefy_split``.

A GraphDef records, for every node, its type and attributes. Each attribute is an *edge*:

* :class:`NodeDef` - a node seen for the first time (its own type and attribute edges);
* :class:`NodeRef` - a node already described elsewhere in the graph (shared sub-modules, cycles);
* :class:`StateLeaf` - a State seen for the first time: its value comes from the state mappings at
  the attribute's path;
* :class:`StateRef` - a State already seen elsewhere (shared States);
* :class:`PytreeEdge` - a list/tuple/dict (any pytree) holding States or nodes;
* :class:`Static` - any other value, kept as is.

Every edge compares by value and hashes, so a GraphDef can be a static argument of ``jax.jit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jax.tree_util import PyTreeDef

from ..containers import Path

__all__ = [
    "Edge",
    "GraphDef",
    "NodeDef",
    "NodeRef",
    "PytreeEdge",
    "StateLeaf",
    "StateRef",
    "Static",
]


class Static:
    """A non-graph attribute value carried in a GraphDef.

    Hashable values compare by equality; unhashable ones (arrays, lists of numbers) by identity.

    Examples
    --------
    >>> from brainstate_state.graph import Static
    >>> Static(3) == Static(3), Static([1]) == Static([1])
    (True, False)
    """

    __slots__ = ("_by_value", "_hash", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        try:
            self._hash = hash((type(value), value))
            self._by_value = True
        except TypeError:
            self._hash = id(value)
            self._by_value = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Static):
            return False
        if self.value is other.value:
            return True
        if not (self._by_value and other._by_value) or type(self.value) is not type(other.value):
            return False
        try:
            return bool(self.value == other.value)
        except Exception:  # noqa: BLE001 - a value whose == raises is simply not equal
            return False

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Static({self.value!r})"


@dataclass(frozen=True)
class NodeRef:
    """A reference to a node already described (by its index) elsewhere in the graph.

    Examples
    --------
    >>> from brainstate_state.graph import Node, graphdef
    >>> parent, child = Node(), Node()
    >>> parent.a = parent.b = child
    >>> [type(edge).__name__ for _, edge in graphdef(parent).root.attributes]
    ['NodeDef', 'NodeRef']
    """

    index: int


@dataclass(frozen=True)
class StateLeaf:
    """The first occurrence of a State: index, and the State class (used if a raw value is merged).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, graphdef
    >>> node = Node()
    >>> node.w = bss.ParamState(jnp.ones(1))
    >>> graphdef(node).root.attributes[0][1].type.__name__
    'ParamState'
    """

    index: int
    type: type


@dataclass(frozen=True)
class StateRef:
    """A further occurrence of a State already seen (by its index).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, graphdef
    >>> node = Node()
    >>> node.a = node.b = bss.State(jnp.ones(1))
    >>> [type(edge).__name__ for _, edge in graphdef(node).root.attributes]
    ['StateLeaf', 'StateRef']
    """

    index: int


@dataclass(frozen=True)
class PytreeEdge:
    """A pytree (list, tuple, dict, ...) holding States or nodes: its treedef and one edge per leaf.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, graphdef
    >>> node = Node()
    >>> node.layers = [bss.State(jnp.ones(1)), 3]
    >>> edge = graphdef(node).root.attributes[0][1]
    >>> type(edge).__name__, [path for path, _ in edge.children]
    ('PytreeEdge', [(0,), (1,)])
    """

    treedef: PyTreeDef
    children: tuple[tuple[Path, Edge], ...]


@dataclass(frozen=True)
class NodeDef:
    """The first occurrence of a node: its type, index, attribute edges (sorted) and metadata.

    Examples
    --------
    >>> from brainstate_state.graph import Node, graphdef
    >>> node = Node()
    >>> node.size, node.label = 3, 'x'
    >>> root = graphdef(node).root
    >>> root.type.__name__, [key for key, _ in root.attributes]
    ('Node', ['label', 'size'])
    """

    type: type
    index: int
    attributes: tuple[tuple[Any, Edge], ...]
    metadata: Any = None


Edge = NodeDef | NodeRef | StateLeaf | StateRef | PytreeEdge | Static


class GraphDef:
    """The static structure of a node graph: what to rebuild, without the state values.

    Produced by ``treefy_split``/``flatten``; consumed by ``treefy_merge``/``unflatten``. Hashable and
    comparable (the hash is computed once), so it can be passed as a static argument to ``jax.jit``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, treefy_split, treefy_merge
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(2))
    >>> graphdef, params = treefy_split(M())
    >>> graphdef == treefy_split(M())[0]
    True
    >>> f = jax.jit(lambda gd, p: treefy_merge(gd, p).w.value * 2, static_argnums=0)
    >>> f(graphdef, params)
    Array([2., 2.], dtype=float32)
    """

    __slots__ = ("_hash", "root")

    def __init__(self, root: Edge) -> None:
        self.root = root
        self._hash: int | None = None

    def _get_hash(self) -> int:
        if self._hash is None:
            try:
                self._hash = hash(self.root)
            except TypeError as err:
                raise TypeError(
                    f"This GraphDef cannot be hashed (so it cannot be a static argument of jax.jit): {err}. "
                    "It contains unhashable static data: the metadata returned by a register_graph_node_type "
                    "flatten function, or the auxiliary data of a custom pytree holding States. How to fix: "
                    "make that data hashable."
                ) from None
        return self._hash

    @property
    def type(self) -> type | None:
        """The type of the root node (``None`` if the root is a reference or a bare State)."""
        return self.root.type if isinstance(self.root, NodeDef) else None

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return (
            isinstance(other, GraphDef) and self._get_hash() == other._get_hash() and self.root == other.root
        )

    def __hash__(self) -> int:
        return self._get_hash()

    def __repr__(self) -> str:
        return f"GraphDef({_describe(self.root)})"


def _describe(edge: Edge) -> str:
    if isinstance(edge, NodeDef):
        inner = ", ".join(f"{k}={_describe(e)}" for k, e in edge.attributes if not isinstance(e, Static))
        return f"{edge.type.__name__}({inner})"
    if isinstance(edge, NodeRef):
        return f"<node #{edge.index}>"
    if isinstance(edge, StateLeaf):
        return edge.type.__name__
    if isinstance(edge, StateRef):
        return f"<state #{edge.index}>"
    if isinstance(edge, PytreeEdge):
        return "[" + ", ".join(_describe(e) for _, e in edge.children) + "]"
    return repr(edge.value)
