"""Flattening a node graph into (GraphDef, states) and building it back.

Traversal order is deterministic: a node's attributes in sorted name order, a pytree's leaves in JAX's
order (dict keys sorted, sequences by index). A node or State reachable along several paths is described
once, at the first path reached in that order (for attributes, lists and dicts: the lexicographically
smallest path), and referenced by index elsewhere; that is how shared sub-modules, shared States and
reference cycles survive a split/merge round trip.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import jax
import numpy as np

from .._epoch import node_changed
from .._state import State
from .._treefy import TreefyState
from ..containers import FlattedDict, NestedDict, Path, flat_mapping, nest_mapping, sort_key
from ._graphdef import Edge, GraphDef, NodeDef, NodeRef, PytreeEdge, StateLeaf, StateRef, Static
from ._node import Node
from ._registry import is_graph_node, lookup_graph_node_type

__all__ = ["RefMap", "flatten", "unflatten"]

# Values that are certainly not containers of States/nodes: no pytree flattening needed.
_ATOMIC: tuple[type, ...] = (str, bytes, int, float, complex, bool, type(None), jax.Array, np.ndarray)
_ATOMIC_EXACT: frozenset[type] = frozenset((str, int, float, bool, type(None)))

# Returned instead of real edges by a Traversal with build=False.
_PLACEHOLDER = Static(None)


class RefMap:
    """An identity map from objects (nodes, States) to their index in a flattened graph.

    Share one RefMap between several :func:`flatten` calls so objects shared between the flattened
    graphs are described once.

    Examples
    --------
    >>> from brainstate_state.graph import RefMap
    >>> refs = RefMap()
    >>> obj = object()
    >>> refs.add(obj), refs.get(obj), obj in refs, len(refs)
    (0, 0, True, 1)
    """

    def __init__(self) -> None:
        self._index: dict[int, tuple[int, Any]] = {}

    def get(self, obj: Any) -> int | None:
        """The index of ``obj``, or ``None``."""
        found = self._index.get(id(obj))
        return None if found is None else found[0]

    def add(self, obj: Any) -> int:
        """Give ``obj`` the next index and return it."""
        index = len(self._index)
        self._index[id(obj)] = (index, obj)  # keep obj alive so its id stays unique
        return index

    def __contains__(self, obj: object) -> bool:
        return id(obj) in self._index

    def __len__(self) -> int:
        return len(self._index)


def _key_of(entry: Any) -> Hashable:
    for attr in ("key", "idx", "name"):
        if hasattr(entry, attr):
            return getattr(entry, attr)  # type: ignore[no-any-return]
    return str(entry)  # pragma: no cover - every JAX key type has one of the attributes above


def _is_graph_leaf(x: Any) -> bool:
    return isinstance(x, State) or is_graph_node(x)


def _holds_graph_leaf(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return any(_is_graph_leaf(v) for v in items)


class Traversal:
    """One deterministic walk over a node graph, recording what it finds.

    Attributes
    ----------
    states
        First path of each State -> ``(state, hierarchy)``, in traversal order.
    state_refs
        ``(path, state)`` for each further occurrence of an already-seen State.
    nodes
        ``(path, node, hierarchy)`` for each node (the root has path ``()`` and hierarchy 0).

    With ``build=False`` the returned edges are placeholders (no GraphDef is built): a faster walk for
    queries that only need the States and nodes.
    """

    def __init__(self, ref_index: RefMap | None = None, build: bool = True) -> None:
        self.refs = RefMap() if ref_index is None else ref_index
        self.build = build
        self.states: dict[Path, tuple[State[Any], int]] = {}
        self.state_refs: list[tuple[Path, State[Any]]] = []
        self.nodes: list[tuple[Path, Any, int]] = []

    def visit_root(self, root: Any, allow_state: bool = False) -> Edge:
        """Walk the graph under ``root`` and return its edge (the GraphDef root).

        A bare State is accepted as the root only with ``allow_state`` (``flatten``/``graph_to_tree``).
        """
        if allow_state and isinstance(root, State):
            return self.value(root, (), 0)
        if not is_graph_node(root):
            raise TypeError(
                f"Expected a graph node (a brainstate_state.graph.Node such as an nn.Module, or a type "
                f"registered with register_graph_node_type), but got {root!r} of type {type(root).__name__}."
            )
        return self.node(root, (), 0)

    def node(self, obj: Any, path: Path, level: int) -> Edge:
        """The edge of a node: a NodeRef if it was seen already, else a NodeDef (visiting its attributes)."""
        index = self.refs.get(obj)
        if index is not None:
            return NodeRef(index)
        index = self.refs.add(obj)
        self.nodes.append((path, obj, level))
        if isinstance(obj, Node):
            attributes = vars(obj)
            invisible = type(obj).graph_invisible_attrs
            if not self.build:
                for key in sorted(attributes):
                    if key not in invisible:
                        self.value(attributes[key], (*path, key), level + 1)
                return _PLACEHOLDER
            edges = tuple(
                (
                    key,
                    Static(attributes[key])
                    if key in invisible
                    else self.value(attributes[key], (*path, key), level + 1),
                )
                for key in sorted(attributes)
            )
            return NodeDef(type(obj), index, edges)
        impl = lookup_graph_node_type(type(obj))
        assert impl is not None  # is_graph_node() was checked by the caller
        children, metadata = impl.flatten(obj)
        items = sorted(children, key=lambda kv: sort_key(kv[0]))
        child_edges: tuple[tuple[Any, Edge], ...] = tuple(
            (key, self.value(value, (*path, key), level + 1)) for key, value in items
        )
        return NodeDef(type(obj), index, child_edges, metadata)

    def value(self, value: Any, path: Path, level: int) -> Edge:
        """The edge of an attribute value found at ``path``."""
        if type(value) in _ATOMIC_EXACT:
            return Static(value) if self.build else _PLACEHOLDER
        if isinstance(value, State):
            index = self.refs.get(value)
            if index is not None:
                self.state_refs.append((path, value))
                return StateRef(index)
            index = self.refs.add(value)
            self.states[path] = (value, level)
            return StateLeaf(index, type(value))
        if isinstance(value, _ATOMIC):
            return Static(value) if self.build else _PLACEHOLDER
        if is_graph_node(value):
            return self.node(value, path, level)
        try:
            leaves, treedef = jax.tree_util.tree_flatten_with_path(value, is_leaf=_is_graph_leaf)
        except Exception as err:  # noqa: BLE001 - e.g. a dict whose keys cannot be sorted
            if _holds_graph_leaf(value):
                raise TypeError(
                    f"The value at path {path} holds States or nodes but cannot be flattened as a pytree "
                    f"({type(err).__name__}: {err}). How to fix: use a dict with sortable keys, a list or a "
                    "tuple to hold them."
                ) from err
            return Static(value) if self.build else _PLACEHOLDER
        if not any(_is_graph_leaf(leaf) for _, leaf in leaves):
            return Static(value) if self.build else _PLACEHOLDER
        children = []
        for key_path, leaf in leaves:
            sub = tuple(_key_of(k) for k in key_path)
            children.append((sub, self.value(leaf, (*path, *sub), level)))
        return PytreeEdge(treedef, tuple(children)) if self.build else _PLACEHOLDER


def flatten(node: Any, /, ref_index: RefMap | None = None, treefy_state: bool = True) -> tuple[GraphDef, Any]:
    """Split ``node`` into its :class:`GraphDef` and a :class:`NestedDict` of all its States.

    Parameters
    ----------
    node
        A graph node (e.g. an ``nn.Module``).
    ref_index
        A :class:`RefMap` shared between several calls (objects already in it become references).
    treefy_state
        If true (default) the NestedDict holds :class:`TreefyState` snapshots (reading each value);
        otherwise it holds the live State objects.

    Examples
    --------
    >>> from brainstate_state.graph import flatten
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    >>> graphdef, tree = flatten(M())
    >>> graphdef, type(tree['w']).__name__
    (GraphDef(M(w=ParamState)), 'TreefyState')
    """
    walk = Traversal(ref_index)
    root = walk.visit_root(node, allow_state=True)
    flat = {path: (st.to_state_ref() if treefy_state else st) for path, (st, _) in walk.states.items()}
    if () in flat:  # the root itself is a State (graph_to_tree on a bare State): no tree around it
        return GraphDef(root), flat[()]
    return GraphDef(root), nest_mapping(flat)


def _as_flat(mapping: Any) -> dict[Path, Any]:
    if isinstance(mapping, FlattedDict):
        return dict(mapping)
    if isinstance(mapping, NestedDict):
        return dict(mapping.to_flat())
    if isinstance(mapping, Mapping):
        return dict(flat_mapping(mapping))
    raise TypeError(
        f"Expected a state mapping (NestedDict, FlattedDict or dict), but got {type(mapping).__name__}. "
        "How to fix: pass the state trees returned by treefy_split / treefy_states."
    )


class Builder:
    """Rebuilds objects from GraphDef edges and a path-keyed mapping of state values."""

    def __init__(
        self,
        flat: Mapping[Path, Any],
        index_ref: dict[int, Any] | None = None,
        index_ref_cache: Mapping[int, Any] | None = None,
    ) -> None:
        self.flat = flat
        self.used: set[Path] = set()
        self.index_ref: dict[int, Any] = {} if index_ref is None else index_ref
        self.cache: Mapping[int, Any] = {} if index_ref_cache is None else index_ref_cache

    def _cached(self, index: int, kind: type) -> Any:
        obj = self.cache.get(index)
        return obj if type(obj) is kind else None

    def edge(self, edge: Edge, path: Path) -> Any:
        """The object an edge at ``path`` stands for."""
        if isinstance(edge, Static):
            return edge.value
        if isinstance(edge, StateLeaf):
            return self.state(edge, path)
        if isinstance(edge, (StateRef, NodeRef)):
            if edge.index not in self.index_ref:
                raise ValueError(
                    f"The GraphDef refers to object #{edge.index} at path {path}, which has not been built "
                    "yet: either the GraphDef came from a flatten() with a shared RefMap whose earlier graphs "
                    "were not merged first (merge them in the same order, sharing index_ref), or a reference "
                    "cycle runs through a type registered with register_graph_node_type."
                )
            return self.index_ref[edge.index]
        if isinstance(edge, PytreeEdge):
            leaves = [self.edge(child, (*path, *sub)) for sub, child in edge.children]
            return jax.tree_util.tree_unflatten(edge.treedef, leaves)
        return self.node(edge, path)

    def node(self, edge: NodeDef, path: Path) -> Any:
        """Build a node: Nodes are created empty first (so cycles work), registered types from children."""
        if issubclass(edge.type, Node):
            reused = self._cached(edge.index, edge.type)
            obj = object.__new__(edge.type) if reused is None else reused
            self.index_ref[edge.index] = obj
            attrs = {key: self.edge(child, (*path, key)) for key, child in edge.attributes}
            if reused is not None:
                vars(obj).clear()
                node_changed(obj)  # its attributes are replaced: programs that traced it are stale
            vars(obj).update(attrs)
            return obj
        impl = lookup_graph_node_type(edge.type)
        if impl is None:
            raise TypeError(
                f"The GraphDef contains the node type {edge.type.__name__}, which is not registered as a graph "
                "node type in this process. How to fix: call register_graph_node_type for it before merging."
            )
        children = {key: self.edge(child, (*path, key)) for key, child in edge.attributes}
        obj = impl.unflatten(edge.metadata, children)
        self.index_ref[edge.index] = obj
        return obj

    def state(self, edge: StateLeaf, path: Path) -> State[Any]:
        """The State at ``path``: a snapshot becomes a new State, a live State is reused."""
        if path not in self.flat:
            raise ValueError(
                f"No state value was given for the {edge.type.__name__} at path {path}. How to fix: pass "
                "every state tree that treefy_split returned for this GraphDef (use `...` as the last filter "
                "to collect the remaining states)."
            )
        self.used.add(path)
        item = self.flat[path]
        reused = self._cached(edge.index, edge.type)
        if isinstance(item, State):
            state = item
        elif reused is not None:
            state = reused
            state.value = item.value if isinstance(item, TreefyState) else item
        elif isinstance(item, TreefyState):
            state = item.to_state()
        else:
            state = TreefyState(edge.type, item).to_state()
        self.index_ref[edge.index] = state
        return state

    def check_all_used(self) -> None:
        """Raise if the mapping had paths the GraphDef has no State for."""
        unused = [p for p in self.flat if p not in self.used]
        if unused:
            raise ValueError(
                f"The state mappings contain paths that the GraphDef has no State for: {unused[:10]}. "
                "How to fix: merge with the GraphDef that was split together with these states."
            )


def unflatten(
    graphdef: GraphDef,
    state_mapping: Any,
    /,
    *,
    index_ref: dict[int, Any] | None = None,
    index_ref_cache: Mapping[int, Any] | None = None,
) -> Any:
    """Build a new object graph from ``graphdef`` and a mapping of states (inverse of :func:`flatten`).

    Snapshots (TreefyState) become new States; live States in the mapping are reused as they are; raw
    values become new States of the recorded type.

    Parameters
    ----------
    graphdef
        The :class:`GraphDef`.
    state_mapping
        A NestedDict, FlattedDict or nested dict covering every State of the graph.
    index_ref
        A dict index -> object shared between several calls (for GraphDefs made with a shared RefMap).
    index_ref_cache
        A mapping index -> existing object (e.g. the ``index_ref`` of an earlier call): a Node or State of
        the same type at that index is reused and updated in place instead of being created.

    Raises
    ------
    ValueError
        If a State of the graph has no entry, or the mapping has entries the graph does not have.

    Examples
    --------
    >>> from brainstate_state.graph import flatten
    >>> from brainstate_state.graph import unflatten
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    >>> m = M()
    >>> m2 = unflatten(*flatten(m))
    >>> m2 is m, m2.w is m.w, m2.w.value
    (False, False, Array([1.], dtype=float32))
    """
    if not isinstance(graphdef, GraphDef):
        raise TypeError(f"Expected a GraphDef as the first argument, but got {type(graphdef).__name__}.")
    if isinstance(graphdef.root, (StateLeaf, StateRef)) and not isinstance(state_mapping, Mapping):
        flat: dict[Path, Any] = {(): state_mapping} if isinstance(graphdef.root, StateLeaf) else {}
    else:
        flat = _as_flat(state_mapping)
    builder = Builder(flat, index_ref, index_ref_cache)
    out = builder.edge(graphdef.root, ())
    builder.check_all_used()
    return out
