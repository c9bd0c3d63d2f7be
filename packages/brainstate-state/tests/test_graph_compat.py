"""The graph API brainstate 0.5.4 code calls: ``graph_to_tree(prefix=, split_fn=, map_non_graph_nodes=,
check_aliasing=)``, ``tree_to_graph`` options, ``register_graph_node_type`` with ``(type, flatten, set_key,
pop_key, create_empty, clear)``, and ``Node.check_valid_context``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state import graph
from brainstate_state._state import invalidate_state_value


class Cell(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = bss.ParamState(jnp.ones(2))
        self.h = bss.HiddenState(jnp.zeros(1))


def test_prefix_and_aliasing_check() -> None:
    cell = Cell()
    pure, _ = graph.graph_to_tree({"a": cell, "b": cell, "x": 1.0}, prefix={"a": 0, "b": 0, "x": None})
    back = graph.tree_to_graph(pure)
    assert back["a"] is back["b"] and back["x"] == 1.0
    with pytest.raises(ValueError, match="Inconsistent aliasing.*prefixes 0 and 1"):
        graph.graph_to_tree([cell, cell], prefix=[0, 1])
    other = Cell()
    other.w = cell.w  # a State shared by two different nodes
    with pytest.raises(ValueError, match="ParamState"):
        graph.graph_to_tree([cell, other], prefix=[0, 1])
    graph.graph_to_tree([cell, other], prefix=[0, 1], check_aliasing=False)
    graph.graph_to_tree([cell, cell], prefix=0)  # one prefix for everything
    with pytest.raises(ValueError, match="pytree prefix"):
        graph.graph_to_tree([cell], prefix=[0, 1])


def test_custom_split_and_merge_functions() -> None:
    cell = Cell()
    calls: list[tuple[str, Any]] = []

    def split_fn(ctx: Any, path: Any, prefix: Any, leaf: Any) -> Any:
        calls.append((jax.tree_util.keystr(path), prefix))
        if not graph.is_graph_node(leaf):
            return leaf
        gdef, params, rest = ctx.split(leaf, bss.ParamState, ...)
        return graph.NodeStates.from_split(gdef, params, rest)

    pure, _ = graph.graph_to_tree(
        {"m": cell, "y": 2.0}, prefix={"m": "p", "y": "q"}, split_fn=split_fn, map_non_graph_nodes=True
    )
    assert calls == [("['m']", "p"), ("['y']", "q")]
    assert sorted(pure["m"].states) == ["h", "w"]

    def merge_fn(ctx: Any, path: Any, prefix: Any, leaf: Any) -> Any:
        if isinstance(leaf, graph.NodeStates):
            return ctx.merge(leaf.graphdef, leaf.states)
        return leaf * 10

    back = graph.tree_to_graph(pure, merge_fn=merge_fn, map_non_graph_nodes=True)
    assert isinstance(back["m"], Cell) and back["y"] == 20.0
    np.testing.assert_array_equal(back["m"].w.value, jnp.ones(2))


class Bag:
    def __init__(self) -> None:
        self.items: dict[str, Any] = {}


def test_register_graph_node_type_with_the_reference_protocol() -> None:
    graph.register_graph_node_type(
        Bag,
        lambda bag: (sorted(bag.items.items()), None),
        lambda bag, key, value: bag.items.__setitem__(key, value),
        lambda bag, key: bag.items.pop(key),
        lambda meta: Bag(),
        lambda bag: bag.items.clear(),
    )
    bag = Bag()
    bag.items["s"] = bss.State(jnp.ones(3))
    gdef, tree = graph.treefy_split(bag)
    rebuilt = graph.treefy_merge(gdef, tree)
    assert type(rebuilt) is Bag and rebuilt is not bag
    np.testing.assert_array_equal(rebuilt.items["s"].value, jnp.ones(3))
    with pytest.raises(TypeError, match="create_empty"):
        graph.register_graph_node_type(Bag, lambda b: ([], None), None, None, 3, None)  # type: ignore[arg-type]


def test_check_valid_context() -> None:
    cell = Cell()
    cell.check_valid_context(lambda: "unused")
    invalidate_state_value(cell.h, "the transformation that wrote it failed")
    with pytest.raises(bss.TraceContextError, match="cell is stale"):
        cell.check_valid_context(lambda: "cell is stale")
    leaked = Cell()
    jax.jit(lambda x: leaked.w.__dict__.__setitem__("_value", x) or x)(jnp.ones(2))  # simulate a leak
    with pytest.raises(bss.TraceContextError, match="leaked"):
        leaked.check_valid_context(lambda: "leaked")
    leaked.w.__dict__["_value"] = jnp.ones(2)
    leaked.check_valid_context(lambda: "fine again")


def test_unflatten_reuses_objects_from_index_ref_cache() -> None:
    cell = Cell()
    gdef, tree = graph.flatten(cell)
    index_ref: dict[int, Any] = {}
    first = graph.unflatten(gdef, tree, index_ref=index_ref)
    tree["w"] = tree["w"].replace(jnp.full(2, 5.0))
    again = graph.unflatten(gdef, tree, index_ref_cache=index_ref)
    assert again is first and again.w is first.w  # updated in place
    np.testing.assert_array_equal(first.w.value, jnp.full(2, 5.0))
    fresh = graph.unflatten(gdef, tree)
    assert fresh is not first
    other_type = graph.unflatten(gdef, tree, index_ref_cache={0: bss.nn.Module()})
    assert type(other_type) is Cell  # a cached object of another type is not reused
