"""Graph queries and in-place operations: states, nodes, iter_*, flatten, update/pop, clone, conversion."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state import graph
from brainstate_state.graph import Node


class Leaf(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = bss.ParamState(jnp.ones(2), name="w")
        self.h = bss.HiddenState(jnp.zeros(2), name="h")


class Tree(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.z = bss.ParamState(jnp.ones(1), name="z")
        self.child = Leaf()
        self.items = {"b": Leaf(), "a": bss.State(jnp.ones(1), name="a")}


# ---------------------------------------------------------------------------------------------- queries
def test_states_sorted_live_objects() -> None:
    tree = Tree()
    found = graph.states(tree)
    assert isinstance(found, bss.FlattedDict)
    assert list(found) == [
        ("child", "h"),
        ("child", "w"),
        ("items", "a"),
        ("items", "b", "h"),
        ("items", "b", "w"),
        ("z",),
    ]
    assert found[("child", "w")] is tree.child.w
    assert found[("items", "a")] is tree.items["a"]


def test_states_with_filters() -> None:
    tree = Tree()
    params = graph.states(tree, bss.ParamState)
    assert list(params) == [("child", "w"), ("items", "b", "w"), ("z",)]
    params2, hidden = graph.states(tree, bss.ParamState, bss.HiddenState)
    assert params2 == params and list(hidden) == [("child", "h"), ("items", "b", "h")]
    assert list(graph.states(tree, graph_path_contains("items"))) == [
        ("items", "a"),
        ("items", "b", "h"),
        ("items", "b", "w"),
    ]


def graph_path_contains(key: str) -> bss.filters.PathContains:
    return bss.filters.PathContains(key)


def test_allowed_hierarchy() -> None:
    tree = Tree()
    own = graph.states(tree, allowed_hierarchy=(1, 1))
    assert list(own) == [("items", "a"), ("z",)]
    deeper = graph.states(tree, allowed_hierarchy=(2, 2))
    assert list(deeper) == [("child", "h"), ("child", "w"), ("items", "b", "h"), ("items", "b", "w")]
    assert list(graph.nodes(tree, allowed_hierarchy=(0, 0))) == [()]


@pytest.mark.parametrize("bad", [(2, 1), (0,), [0, 1], (0, 1.5), "all"])
def test_bad_hierarchy_rejected(bad) -> None:
    with pytest.raises(ValueError, match="allowed_hierarchy must be a \\(low, high\\) tuple of ints"):
        graph.states(Tree(), allowed_hierarchy=bad)


def test_nodes_and_iterators() -> None:
    tree = Tree()
    found = graph.nodes(tree)
    assert list(found) == [(), ("child",), ("items", "b")]
    assert found[()] is tree and found[("items", "b")] is tree.items["b"]
    assert list(graph.nodes(tree, Leaf)) == [("child",), ("items", "b")]
    assert [p for p, _ in graph.iter_node(tree)] == [(), ("child",), ("items", "b")]
    leaves = list(graph.iter_leaf(tree))
    assert [p for p, _ in leaves] == list(graph.states(tree))
    assert all(isinstance(s, bss.State) for _, s in leaves)


def test_state_in_custom_pytree_container() -> None:
    class Pair(NamedTuple):
        first: bss.State
        second: int

    m = bss.nn.Module()
    m.pair = Pair(bss.State(jnp.ones(1)), 4)
    assert list(graph.states(m)) == [("pair", "first")]
    gdef, tree = graph.treefy_split(m)
    new = graph.treefy_merge(gdef, tree)
    assert isinstance(new.pair, Pair) and new.pair.second == 4 and new.pair.first is not m.pair.first


# ---------------------------------------------------------------------------------------------- flatten
def test_flatten_unflatten_with_live_states_keeps_identity() -> None:
    tree = Tree()
    gdef, live = graph.flatten(tree, treefy_state=False)
    assert live["child"]["w"] is tree.child.w
    new = graph.unflatten(gdef, live)
    assert new is not tree and new.child.w is tree.child.w


def test_flatten_with_shared_refmap() -> None:
    a = Leaf()
    b = bss.nn.Module()
    b.alias = a.w
    refs = graph.RefMap()
    gdef_a, tree_a = graph.flatten(a, ref_index=refs)
    gdef_b, tree_b = graph.flatten(b, ref_index=refs)
    assert len(tree_b) == 0 and isinstance(gdef_b.root, graph.NodeDef)
    index_ref: dict[int, object] = {}
    new_a = graph.unflatten(gdef_a, tree_a, index_ref=index_ref)
    new_b = graph.unflatten(gdef_b, tree_b, index_ref=index_ref)
    assert new_b.alias is new_a.w
    with pytest.raises(ValueError, match="refers to object #.* which has not been built yet"):
        graph.unflatten(gdef_b, tree_b)


def test_clone_and_graphdef() -> None:
    tree = Tree()
    copy = graph.clone(tree)
    assert copy is not tree and copy.child.w is not tree.child.w
    np.testing.assert_array_equal(copy.child.w.value, tree.child.w.value)
    assert graph.graphdef(copy) == graph.graphdef(tree)


# ---------------------------------------------------------------------------------------------- update / pop
def test_update_states_from_snapshots_and_raw_values() -> None:
    tree = Tree()
    snaps = graph.treefy_states(tree, bss.ParamState)
    new_snaps = jax.tree.map(lambda v: v * 5, snaps)
    graph.update_states(tree, new_snaps, {"child": {"h": jnp.full(2, 7.0)}})
    np.testing.assert_array_equal(tree.child.w.value, [5.0, 5.0])
    np.testing.assert_array_equal(tree.items["b"].w.value, [5.0, 5.0])
    np.testing.assert_array_equal(tree.child.h.value, [7.0, 7.0])
    graph.update_states(tree, bss.FlattedDict({("z",): bss.State(jnp.full(1, 2.0))}))
    np.testing.assert_array_equal(tree.z.value, [2.0])


def test_update_states_unknown_path_writes_nothing() -> None:
    tree = Tree()
    with pytest.raises(
        ValueError, match=r"Tree has no State at the paths \[\('nope',\)\]; nothing was written"
    ):
        graph.update_states(tree, {"z": jnp.zeros(1), "nope": 1})
    np.testing.assert_array_equal(tree.z.value, [1.0])


def test_pop_states() -> None:
    tree = Tree()
    hidden = graph.pop_states(tree, bss.HiddenState)
    assert list(hidden.to_flat()) == [("child", "h"), ("items", "b", "h")]
    assert all(isinstance(s, bss.TreefyState) for s in hidden.to_flat().values())
    assert not hasattr(tree.child, "h")
    assert list(graph.states(tree, bss.HiddenState)) == []
    a, z = graph.pop_states(tree, "no-such-tag", bss.State)
    assert len(a) == 0 and "items" in z and "a" not in tree.items and not hasattr(tree, "z")


def test_pop_shared_state_removes_every_occurrence() -> None:
    m = bss.nn.Module()
    s = bss.State(jnp.ones(1))
    m.a = s
    m.b = s
    popped = graph.pop_states(m, ...)
    assert list(popped.to_flat()) == [("a",)]
    assert not hasattr(m, "a") and not hasattr(m, "b")


def test_pop_from_list_rejected_and_nothing_removed() -> None:
    m = bss.nn.Module()
    m.w = bss.ParamState(jnp.ones(1))
    m.seq = [bss.ParamState(jnp.ones(1))]
    with pytest.raises(
        ValueError, match=r"the State at path \('seq', 0\) is held by a list.*nothing was removed"
    ):
        graph.pop_states(m, bss.ParamState)
    assert hasattr(m, "w") and len(m.seq) == 1


# ---------------------------------------------------------------------------------------------- conversion
def test_graph_to_tree_is_pure_and_round_trips_with_sharing() -> None:
    leaf = Leaf()
    other = bss.nn.Module()
    other.alias = leaf.h
    pure, refs = graph.graph_to_tree({"m": leaf, "n": other, "again": leaf, "x": jnp.ones(1)})
    assert len(refs) >= 4
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(pure))
    index_ref: dict[int, object] = {}
    back = graph.tree_to_graph(pure, index_ref=index_ref)  # the tree alone, as brainstate 0.5.4
    assert back["again"] is back["m"] and back["m"] is not leaf
    assert back["n"].alias is back["m"].h
    assert isinstance(index_ref, dict) and len(index_ref) == len(refs)


def test_graph_to_tree_through_eval_shape() -> None:
    def make():
        return graph.graph_to_tree(Leaf())[0]

    shapes = jax.eval_shape(make)
    model = graph.tree_to_graph(shapes)
    assert isinstance(model, Leaf)
    assert model.w.value.shape == (2,) and model.w.value.dtype == jnp.float32
    assert isinstance(model.w.value, jax.ShapeDtypeStruct)


def test_graph_to_tree_bare_states_and_live_mode() -> None:
    s = bss.ParamState(jnp.ones(2))
    pure, _ = graph.graph_to_tree([s, s, 3])
    a, b, three = graph.tree_to_graph(pure)
    assert a is b and a is not s and three == 3 and type(a) is bss.ParamState
    live, _ = graph.graph_to_tree([s], treefy_state=False)
    (same,) = graph.tree_to_graph(live)
    assert same is s


# ---------------------------------------------------------------------------------------------- registry
class Box:
    def __init__(self, content: object, label: str) -> None:
        self.content = content
        self.label = label


def _flatten_box(box: Box) -> tuple[list[tuple[str, object]], str]:
    return [("content", box.content)], box.label


def _unflatten_box(label: object, children: dict) -> Box:
    return Box(children["content"], str(label))


def test_registered_graph_node_type() -> None:
    graph.register_graph_node_type(Box, _flatten_box, _unflatten_box)
    assert graph.is_graph_node(Box(1, "x"))
    m = bss.nn.Module()
    m.box = Box([bss.ParamState(jnp.ones(1))], "lbl")
    assert list(graph.states(m)) == [("box", "content", 0)]
    gdef, tree = graph.treefy_split(m)
    new = graph.treefy_merge(gdef, tree)
    assert isinstance(new.box, Box) and new.box.label == "lbl"
    assert new.box.content[0] is not m.box.content[0]
    direct_gdef, direct_tree = graph.treefy_split(Box(bss.State(jnp.ones(1)), "root"))
    assert graph.treefy_merge(direct_gdef, direct_tree).label == "root"


def test_register_graph_node_type_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="expects a class, but got 3"):
        graph.register_graph_node_type(3, _flatten_box, _unflatten_box)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Leaf is a Node subclass, which the graph functions already handle"):
        graph.register_graph_node_type(Leaf, _flatten_box, _unflatten_box)
    with pytest.raises(TypeError, match="ParamState is a State subclass"):
        graph.register_graph_node_type(bss.ParamState, _flatten_box, _unflatten_box)
    with pytest.raises(TypeError, match="`flatten` and `unflatten` must be callables"):
        graph.register_graph_node_type(Box, 1, 2)  # type: ignore[arg-type]


def test_unregistered_type_in_graphdef_rejected() -> None:
    class Gone:
        def __init__(self, x: object) -> None:
            self.x = x

    graph.register_graph_node_type(Gone, lambda g: ([("x", g.x)], None), lambda meta, ch: Gone(ch["x"]))
    gdef, tree = graph.treefy_split(Gone(bss.State(jnp.ones(1))))
    from brainstate_state.graph import _registry

    del _registry._REGISTRY[Gone]
    with pytest.raises(TypeError, match="node type Gone, which is not registered as a graph node type"):
        graph.treefy_merge(gdef, tree)


def test_static_edge_equality_rules() -> None:
    assert graph.Static(1) == graph.Static(1) and graph.Static(1) != graph.Static(1.0)
    arr = np.ones(2)
    assert graph.Static(arr) == graph.Static(arr) and graph.Static(arr) != graph.Static(np.ones(2))
    assert graph.Static("a") != "a"
    assert repr(graph.Static(2)) == "Static(2)"


def test_node_repr_lists_states_and_children() -> None:
    text = repr(Tree())
    assert text.startswith("Tree(\n")
    assert "child=Leaf(\n" in text and "h=HiddenState(" in text and "z=ParamState(" in text
    assert repr(Node()) == "Node()"


def test_bare_state_is_not_a_graph_for_split() -> None:
    with pytest.raises(TypeError, match="Expected a graph node .* of type ParamState"):
        graph.treefy_split(bss.ParamState(jnp.ones(1)))
    gdef, snapshot = graph.flatten(bss.ParamState(jnp.ones(1)))
    assert isinstance(snapshot, bss.TreefyState)
    assert type(graph.unflatten(gdef, snapshot)) is bss.ParamState


def test_unhashable_static_data_gives_clear_hash_error() -> None:
    class Meta:
        def __init__(self, x: object) -> None:
            self.x = x

    graph.register_graph_node_type(Meta, lambda m: ([("x", m.x)], [1, 2]), lambda meta, ch: Meta(ch["x"]))
    gdef, tree = graph.treefy_split(Meta(bss.State(jnp.ones(1))))
    assert isinstance(graph.treefy_merge(gdef, tree), Meta)  # merging does not need the hash
    with pytest.raises(
        TypeError, match="This GraphDef cannot be hashed .* How to fix: make that data hashable"
    ):
        hash(gdef)


def test_invalid_filters_rejected_by_queries() -> None:
    tree = Tree()
    with pytest.raises(TypeError, match="Invalid filter 3 of type int"):
        graph.states(tree, 3)
    with pytest.raises(TypeError, match=r"A State \(ParamState 'z'\) is not a filter"):
        tree.states(tree.z)
    with pytest.raises(TypeError, match="Invalid filter 2.5"):
        graph.treefy_split(tree, 2.5, ...)


def test_unsortable_dict_attributes() -> None:
    m = bss.nn.Module()
    m.table = {1: "a", "b": 2}  # no States: carried as a static value
    m.w = bss.State(jnp.ones(1))
    gdef, tree = graph.treefy_split(m)
    assert graph.treefy_merge(gdef, tree).table is m.table
    m.bad = {1: bss.State(jnp.ones(1)), "b": 2}
    with pytest.raises(
        TypeError, match=r"The value at path \('bad',\) holds States or nodes but cannot be flattened"
    ):
        graph.treefy_split(m)
