"""Graph split/merge: the documented examples, sharing, cycles, containers, GraphDef as a jit static argument, the epoch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state import graph
from brainstate_state.graph import treefy_merge, treefy_split, treefy_states


# ----------------------------------------------------------------------------- documented examples
class RunningMean(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.sum = bss.HiddenState(jnp.array(0.0))
        self.count = bss.HiddenState(jnp.array(0))

    def __call__(self, batch: jax.Array) -> jax.Array:
        self.sum.value += jnp.sum(batch)
        self.count.value += batch.size
        return self.sum.value / self.count.value


class TinyLinear(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = bss.ParamState(jnp.array([[1.0]]))
        self.bias = bss.ParamState(jnp.array([0.0]))

    def __call__(self, x: jax.Array) -> jax.Array:
        return x @ self.weight.value + self.bias.value


def test_seed003_running_mean_under_raw_jax_jit() -> None:
    model = RunningMean()
    graph_def, state_tree = treefy_split(model, bss.HiddenState)

    def stateless(tree, batch):
        module = treefy_merge(graph_def, tree)
        out = module(batch)
        return out, treefy_states(module, bss.HiddenState)

    jitted = jax.jit(stateless)
    means = []
    for step in range(3):
        mean, state_tree = jitted(state_tree, jnp.arange(4.0) + step)
        means.append(round(float(mean), 2))
    assert means == [1.5, 2.0, 2.5]
    assert (int(state_tree["count"].value), float(state_tree["sum"].value)) == (12, 30.0)
    # the original model is untouched: the merged module is a new object with new States
    assert float(model.sum.value) == 0.0 and int(model.count.value) == 0


def test_seed003_split_and_states_paths() -> None:
    lin = TinyLinear()
    _, param_tree, other_states = treefy_split(lin, bss.ParamState, ...)
    assert list(param_tree.to_flat().keys()) == [("bias",), ("weight",)]
    assert len(other_states) == 0
    assert list(treefy_states(lin, bss.ParamState).to_flat().keys()) == [("bias",), ("weight",)]


def test_seed003_value_and_grad() -> None:
    lin = TinyLinear()
    lin_graph, param_tree, other_states = treefy_split(lin, bss.ParamState, ...)

    def mse_loss(params, others, x):
        recovered = treefy_merge(lin_graph, params, others)
        return jnp.mean((recovered(x) - (2.0 * x + 1.0)) ** 2)

    loss, grads = jax.value_and_grad(mse_loss)(param_tree, other_states, jnp.array([[0.0], [1.0]]))
    assert float(loss) == 2.5
    assert list(grads) == ["bias", "weight"]
    assert all(isinstance(g, bss.TreefyState) and g.type is bss.ParamState for g in grads.values())
    np.testing.assert_array_equal(grads["bias"].value, [-3.0])
    np.testing.assert_array_equal(grads["weight"].value, [[-2.0]])
    assert "value=Array([-3.], dtype=float32)" in repr(grads["bias"])


def test_split_merge_grad_matches_hand_threaded_jax() -> None:
    lin = TinyLinear()
    lin.weight.value = jnp.array([[0.3]])
    lin.bias.value = jnp.array([-0.7])
    x = jnp.linspace(-1.0, 1.0, 5)[:, None]
    gdef, params = treefy_split(lin)

    def via_graph(p):
        return jnp.sum(jnp.tanh(treefy_merge(gdef, p)(x)))

    def by_hand(w, b):
        return jnp.sum(jnp.tanh(x @ w + b))

    g_graph = jax.grad(via_graph)(params)
    gw, gb = jax.grad(by_hand, argnums=(0, 1))(lin.weight.value, lin.bias.value)
    np.testing.assert_allclose(g_graph["weight"].value, gw, rtol=1e-6)
    np.testing.assert_allclose(g_graph["bias"].value, gb, rtol=1e-6)


# ---------------------------------------------------------------------------------------------- sharing
class Block(bss.nn.Module):
    def __init__(self, shared: bss.State[jax.Array] | None = None) -> None:
        super().__init__()
        self.w = bss.ParamState(jnp.ones(2), name="w")
        self.scale = shared if shared is not None else bss.State(jnp.array(1.0), name="scale")


class Net(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        shared_scale = bss.State(jnp.array(2.0), name="shared_scale")
        self.encoder = Block(shared_scale)
        self.decoder = Block(shared_scale)
        self.tied = self.encoder  # the same sub-module under two names
        self.layers = [Block(), {"inner": Block(shared_scale)}]
        self.pair = (self.encoder.w, bss.HiddenState(jnp.zeros(3), name="h"))
        self.n_layers = 2
        self.label = "net"


def test_shared_states_and_modules_appear_once_at_first_path() -> None:
    net = Net()
    _, tree = treefy_split(net)
    paths = list(tree.to_flat())
    # shared_scale first reached at ('decoder', 'scale') (sorted attribute order: decoder < encoder < ...)
    assert ("decoder", "scale") in paths
    assert ("encoder", "scale") not in paths
    assert ("layers", 1, "inner", "scale") not in paths
    # the tied module is described under 'encoder' only; the tuple's first element is the encoder's w
    assert not any(p[0] == "tied" for p in paths)
    assert ("pair", 0) not in paths and ("pair", 1) in paths
    assert paths == sorted(paths, key=bss.containers.sort_key)
    assert len(paths) == len({id(s) for s in graph.states(net).values()})


def test_split_merge_round_trip_preserves_sharing_and_values() -> None:
    net = Net()
    net.encoder.w.value = jnp.array([3.0, 4.0])
    gdef, params, rest = treefy_split(net, bss.ParamState, ...)
    new = treefy_merge(gdef, params, rest)
    assert new is not net and type(new) is Net
    assert new.encoder is new.tied and new.encoder is not net.encoder
    assert new.encoder.scale is new.decoder.scale is new.layers[1]["inner"].scale
    assert new.encoder.scale is not net.encoder.scale
    assert new.pair[0] is new.encoder.w
    assert isinstance(new.layers, list) and isinstance(new.pair, tuple) and isinstance(new.layers[1], dict)
    assert new.n_layers == 2 and new.label == "net"
    np.testing.assert_array_equal(new.encoder.w.value, [3.0, 4.0])
    assert new.encoder.scale.name == "shared_scale"
    assert type(new.pair[1]) is bss.HiddenState
    # writes through one alias are seen through the others
    new.decoder.scale.value = jnp.array(5.0)
    assert float(new.layers[1]["inner"].scale.value) == 5.0
    assert float(net.decoder.scale.value) == 2.0


def test_round_trip_twice_gives_equal_graphdefs_and_trees() -> None:
    net = Net()
    gdef, tree = treefy_split(net)
    gdef2, tree2 = treefy_split(treefy_merge(gdef, tree))
    assert gdef == gdef2 and hash(gdef) == hash(gdef2)
    assert list(tree.to_flat()) == list(tree2.to_flat())
    for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(tree2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cycles_are_handled() -> None:
    parent = bss.nn.Module()
    child = bss.nn.Module()
    parent.child = child
    child.parent = parent
    child.h = bss.State(jnp.ones(1))
    gdef, tree = treefy_split(parent)
    assert list(tree.to_flat()) == [("child", "h")]
    new = treefy_merge(gdef, tree)
    assert new.child.parent is new
    assert new.child.h is not child.h
    assert "Module(...)" in repr(parent)


def test_metadata_and_tags_survive() -> None:
    m = bss.nn.Module()
    m.s = bss.State(jnp.ones(1), name="s", tag="fast", unit="mV")
    gdef, tree = treefy_split(m)
    new = treefy_merge(gdef, tree)
    assert new.s.name == "s" and new.s.has_tag("fast") and new.s.metadata["unit"] == "mV"


def test_graph_invisible_attrs_are_carried_not_searched() -> None:
    class Holder(bss.nn.Module):
        graph_invisible_attrs = ("cache",)

        def __init__(self) -> None:
            super().__init__()
            self.cache = bss.State(jnp.ones(1))
            self.w = bss.ParamState(jnp.ones(1))

    h = Holder()
    gdef, tree = treefy_split(h)
    assert list(tree.to_flat()) == [("w",)]
    new = treefy_merge(gdef, tree)
    assert new.cache is h.cache and new.w is not h.w


def test_raw_values_merge_as_states_of_the_recorded_type() -> None:
    lin = TinyLinear()
    gdef, tree = treefy_split(lin)
    new = treefy_merge(gdef, tree.to_pure_dict())
    assert type(new.weight) is bss.ParamState
    np.testing.assert_array_equal(new.weight.value, [[1.0]])


def test_split_reads_are_recorded_by_an_active_trace() -> None:
    lin = TinyLinear()
    with bss.StateTraceStack() as trace:
        treefy_split(lin)
        graph.states(lin)  # does not read values
    assert set(map(id, trace.get_read_states())) == {id(lin.weight), id(lin.bias)}


# ---------------------------------------------------------------------------------------------- errors
def test_split_unmatched_state_lists_it() -> None:
    net = Net()
    with pytest.raises(ValueError) as info:
        treefy_split(net, bss.ParamState, bss.HiddenState)
    message = str(info.value)
    assert "match none of the filters" in message
    assert "('decoder', 'scale'): State 'shared_scale' (created at" in message
    assert "test_graph.py" in message
    assert "end the filters with `...`" in message


def test_split_rejects_non_nodes() -> None:
    with pytest.raises(TypeError, match="Expected a graph node .* but got 3 of type int"):
        treefy_split(3)
    with pytest.raises(TypeError, match="but got \\[1, 2\\] of type list"):
        treefy_states([1, 2])


def test_merge_rejects_missing_and_extra_states() -> None:
    lin = TinyLinear()
    gdef, params, rest = treefy_split(lin, "nothing-has-this-tag", ...)
    with pytest.raises(ValueError, match=r"No state value was given for the ParamState at path \('bias',\)"):
        treefy_merge(gdef)
    extra = bss.NestedDict({"bogus": bss.State(jnp.ones(1)).to_state_ref()})
    with pytest.raises(ValueError, match=r"paths that the GraphDef has no State for: \[\('bogus',\)\]"):
        treefy_merge(gdef, rest, extra)


def test_merge_rejects_wrong_argument_types() -> None:
    gdef, tree = treefy_split(TinyLinear())
    with pytest.raises(
        TypeError, match="treefy_merge expects a GraphDef as its first argument, but got NestedDict"
    ):
        treefy_merge(tree, gdef)
    with pytest.raises(TypeError, match="Expected a state mapping .* but got list"):
        treefy_merge(gdef, [1, 2])
    with pytest.raises(TypeError, match="Expected a GraphDef as the first argument, but got int"):
        graph.unflatten(3, tree)


# ---------------------------------------------------------------------------------------------- GraphDef
def test_graphdef_hashable_comparable_and_repr() -> None:
    g1 = graph.graphdef(Net())
    g2 = graph.graphdef(Net())
    assert g1 == g2 and hash(g1) == hash(g2)
    assert g1 != graph.graphdef(TinyLinear())
    assert len({g1, g2}) == 1
    assert g1.type is Net
    assert repr(graph.graphdef(TinyLinear())) == "GraphDef(TinyLinear(bias=ParamState, weight=ParamState))"


def test_graphdef_differs_when_static_attributes_differ() -> None:
    a, b = TinyLinear(), TinyLinear()
    b.note = "x"
    assert graph.graphdef(a) != graph.graphdef(b)
    a.arr = np.ones(2)  # unhashable static values compare by identity
    b.note = None
    del b.note
    b.arr = np.ones(2)
    assert graph.graphdef(a) != graph.graphdef(b)
    b.arr = a.arr
    assert graph.graphdef(a) == graph.graphdef(b)


def test_graphdef_as_jit_static_argument_does_not_retrace() -> None:
    traces = []

    def run(gdef, tree, x):
        traces.append(1)
        return treefy_merge(gdef, tree)(x)

    jitted = jax.jit(run, static_argnums=0)
    x = jnp.ones((2, 1))
    for _ in range(3):
        gdef, tree = treefy_split(TinyLinear())  # a fresh but equal GraphDef every time
        out = jitted(gdef, tree, x)
    np.testing.assert_array_equal(out, jnp.ones((2, 1)))
    assert len(traces) == 1


# ---------------------------------------------------------------------------------------------- epoch
def test_epoch_bumps_on_state_and_node_attribute_changes() -> None:
    lin = TinyLinear()
    epoch = bss.GRAPH_EPOCH.value
    lin.weight = bss.ParamState(jnp.ones((1, 1)))  # replace a State
    assert bss.GRAPH_EPOCH.value == epoch + 1
    lin.child = bss.nn.Module()  # store a Node
    assert bss.GRAPH_EPOCH.value == epoch + 2
    lin.child = 3  # old value was a Node
    assert bss.GRAPH_EPOCH.value == epoch + 3
    lin.states_list = [bss.State(jnp.ones(1))]  # a list holding a State
    assert bss.GRAPH_EPOCH.value == epoch + 4
    del lin.bias
    assert bss.GRAPH_EPOCH.value == epoch + 5


def test_epoch_unchanged_for_plain_attributes_and_value_writes() -> None:
    lin = TinyLinear()
    epoch = bss.GRAPH_EPOCH.value
    lin.alpha = 0.5
    lin.alpha = 0.7
    lin.weight.value = jnp.zeros((1, 1))
    lin.table = {"a": 1}
    del lin.alpha
    assert bss.GRAPH_EPOCH.value == epoch
