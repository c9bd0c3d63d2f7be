"""nn.Module: calling, state and sub-module queries, parameters, init/reset of all states, repr."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state import nn


class Linear(nn.Module):
    """Seed 002's model (attributes w then b)."""

    def __init__(self, din: int, dout: int) -> None:
        super().__init__()
        self.w = bss.ParamState(jnp.full((din, dout), 0.1))
        self.b = bss.ParamState(jnp.zeros(dout))

    def __call__(self, x: jax.Array) -> jax.Array:
        return x @ self.w.value + self.b.value


class Cell(nn.Module):
    def __init__(self, size: int, name: str | None = None) -> None:
        super().__init__(name)
        self.size = size
        self.w = bss.ParamState(jnp.ones(size))
        self.calls: list[str] = []

    def init_state(self, batch_size: int = 1) -> None:
        self.calls.append("init")
        self.v = bss.HiddenState(jnp.zeros((batch_size, self.size)))

    def reset_state(self, batch_size: int = 1) -> None:
        self.calls.append("reset")
        self.v.value = jnp.zeros((batch_size, self.size))

    def update(self, x: jax.Array) -> jax.Array:
        self.v.value = self.v.value + x * self.w.value
        return self.v.value


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__(name="net")
        self.cell = Cell(2, name="cell")
        self.layers = [Cell(3), Cell(4)]
        self.tied = self.cell  # shared sub-module (after "cell" in sorted order)
        self.out = Linear(2, 1)


def test_seed002_states_keys_sorted() -> None:
    model = Linear(3, 1)
    params = model.states(bss.ParamState)
    assert isinstance(params, bss.FlattedDict)
    assert list(params) == [("b",), ("w",)]
    assert params[("w",)] is model.w
    assert {k: v.value.shape for k, v in params.items()} == {("b",): (1,), ("w",): (3, 1)}


def test_seed002_update_loop_matches_hand_threaded_jax() -> None:
    model = Linear(3, 1)
    x = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    y = jnp.arange(4.0).reshape(4, 1)
    params = model.states(bss.ParamState)

    def loss_of(values: dict) -> jax.Array:
        return jnp.mean((x @ values[("w",)] + values[("b",)] - y) ** 2)

    grad_of = jax.jit(jax.grad(loss_of))
    grad_ref = jax.jit(jax.grad(lambda w, b: jnp.mean((x @ w + b - y) ** 2), argnums=(0, 1)))
    w_ref, b_ref = model.w.value, model.b.value
    for _ in range(3):
        grads = grad_of(params.to_dict_values())
        for key in params:
            params[key].value -= 0.1 * grads[key]
        gw, gb = grad_ref(w_ref, b_ref)
        w_ref, b_ref = w_ref - 0.1 * gw, b_ref - 0.1 * gb
    np.testing.assert_allclose(model.w.value, w_ref, rtol=1e-6)
    np.testing.assert_allclose(model.b.value, b_ref, rtol=1e-6)


def test_call_goes_to_update() -> None:
    cell = Cell(2)
    cell.init_state()
    out = cell(jnp.ones(2))
    np.testing.assert_array_equal(out, [[1.0, 1.0]])


def test_default_update_raises_clear_error() -> None:
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty.update\(\) is not implemented.*define `def update"):
        Empty()(1)


def test_name() -> None:
    assert Cell(1, name="c").name == "c" and Cell(1).name is None
    m = nn.Module()
    m.name = "renamed"
    assert m.name == "renamed"
    with pytest.raises(TypeError, match="Module name must be a string or None, but got 3 of type int"):
        nn.Module(3)  # type: ignore[arg-type]


def test_state_trees_and_nodes() -> None:
    net = Net()
    trees = net.state_trees()
    assert isinstance(trees, bss.NestedDict)
    assert trees["cell"]["w"] is net.cell.w
    params, _ = net.state_trees(bss.ParamState, ...)
    assert set(params) == {"cell", "layers", "out"}
    assert list(net.nodes()) == [(), ("cell",), ("layers", 0), ("layers", 1), ("out",)]
    assert list(net.nodes(Linear)) == [("out",)]
    assert list(net.states(allowed_hierarchy=(1, 1))) == []


def test_children_and_modules_each_once() -> None:
    net = Net()
    assert [n for n, _ in net.named_children()] == ["cell", "layers.0", "layers.1", "out"]
    assert list(net.children()) == [net.cell, net.layers[0], net.layers[1], net.out]
    assert [n for n, _ in net.named_modules()] == ["", "cell", "layers.0", "layers.1", "out"]
    assert list(net.modules())[0] is net and len(list(net.modules())) == 5


def test_parameters() -> None:
    net = Net()
    net.init_all_states()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["cell.w", "layers.0.w", "layers.1.w", "out.b", "out.w"]
    assert all(type(p) is bss.ParamState for p in net.parameters())
    assert len(list(net.parameters())) == 5


def test_init_state_and_reset_state_default_to_noop() -> None:
    m = nn.Module()
    assert m.init_state(1, a=2) is None and m.reset_state() is None
    assert list(m.states()) == []


def test_init_all_states_calls_every_module_once_and_catches_states() -> None:
    net = Net()
    catcher = net.init_all_states(2, state_tag="hidden")
    assert isinstance(catcher, bss.NewStateCatcher)
    assert len(catcher) == 3  # cell (shared, once), layers[0], layers[1]
    assert net.cell.calls == ["init"]
    assert net.cell.v.value.shape == (2, 2) and net.layers[1].v.value.shape == (2, 4)
    assert all(s.has_tag("hidden") for s in catcher.get_states())
    assert [id(s) for s in catcher.get_states()] == [id(net.cell.v), id(net.layers[0].v), id(net.layers[1].v)]


def test_free_init_and_reset_all_states() -> None:
    net = Net()
    assert nn.init_all_states(net, batch_size=3) is net  # returns its target, as brainstate 0.5.4
    assert net.cell.v.value.shape == (3, 2)
    net.cell.v.value = jnp.ones((3, 2))
    nn.reset_all_states(net, batch_size=3)
    np.testing.assert_array_equal(net.cell.v.value, jnp.zeros((3, 2)))
    assert net.cell.calls == ["init", "reset"]
    net.reset_all_states(batch_size=3)
    assert net.layers[0].calls == ["init", "reset", "reset"]


def test_free_functions_reject_non_modules() -> None:
    with pytest.raises(TypeError, match="init_all_states expects an nn.Module .* but got int"):
        nn.init_all_states(3)
    with pytest.raises(TypeError, match="reset_all_states expects an nn.Module .* but got list"):
        nn.reset_all_states([])


def test_repr_lists_name_children_and_states() -> None:
    text = repr(Net())
    assert text.startswith("Net(\n  name='net',\n")
    assert "  cell=Cell(\n    name='cell',\n    w=ParamState(" in text
    assert "layers=[Cell(" in text
    assert "out=Linear(\n    b=ParamState(value=[0.]),\n    w=ParamState(" in text
    assert "size=" not in text


def test_module_is_a_graph_node_and_splits() -> None:
    net = Net()
    net.init_all_states()
    gdef, params, rest = bss.graph.treefy_split(net, bss.ParamState, ...)
    new = bss.graph.treefy_merge(gdef, params, rest)
    assert isinstance(new, Net) and new.tied is new.cell and new.name == "net"
    np.testing.assert_array_equal(new.cell(jnp.ones(2)), [[1.0, 1.0]])


def test_module_exports() -> None:
    assert bss.nn.Module is nn.Module and issubclass(nn.Module, bss.Node)
    assert set(nn.__all__) == {"Module", "init_all_states", "reset_all_states"}


# ---------------------------------------------------------------------------------------------- 0.5.4 options
class _Leaf(nn.Module):
    def __init__(self, log: list[str], tag: str) -> None:
        super().__init__()
        self.log, self.tag_name = log, tag
        self.w = bss.ParamState(jnp.ones(1))

    def init_state(self, n: int, scale: float = 1.0) -> None:
        self.log.append(f"init {self.tag_name} {n} {scale}")
        self.v = bss.HiddenState(jnp.zeros(n) * scale)

    def reset_state(self, *args: Any, **kwargs: Any) -> None:
        self.log.append(f"reset {self.tag_name}")


class _Other(_Leaf):
    pass


class _Top(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.z = _Leaf(self.log, "z")
        self.a = _Leaf(self.log, "a")
        self.m = _Other(self.log, "m")
        self.b = bss.ParamState(jnp.zeros(2))

    def init_state(self, n: int, scale: float = 1.0) -> None:
        # children are initialised first, so the parent can use their states
        self.log.append(f"init top {self.a.v.value.shape}")


def test_init_all_states_runs_children_before_parents_and_excludes_nodes() -> None:
    top = _Top()
    assert nn.init_all_states(top, 2, scale=3.0) is top
    assert top.log == ["init a 2 3.0", "init m 2 3.0", "init z 2 3.0", "init top (2,)"]
    top.log.clear()
    nn.init_all_states(top, 1, node_to_exclude=_Other)
    assert top.log == ["init a 1 1.0", "init z 1 1.0", "init top (1,)"]
    top.log.clear()
    nn.init_all_states(top, 1, node_to_exclude=bss.filters.PathContains("z"))
    assert top.log == ["init a 1 1.0", "init m 1 1.0", "init top (1,)"]
    top.log.clear()
    nn.reset_all_states(top, node_to_exclude=_Other)
    assert top.log == ["reset a", "reset z"]
    catcher = top.init_all_states(4, node_to_exclude=(_Other, bss.filters.PathContains("z")))
    assert [s.value.shape for s in catcher.get_states()] == [(4,)]


def test_module_iteration_options() -> None:
    top = _Top()
    assert [name for name, _ in top.named_modules()] == ["", "a", "m", "z"]
    assert [name for name, _ in top.named_modules(prefix="net", include_self=False)] == [
        "net.a",
        "net.m",
        "net.z",
    ]
    assert [name for name, _ in top.named_modules("net")] == ["net", "net.a", "net.m", "net.z"]
    assert list(top.modules(include_self=False)) == [top.a, top.m, top.z]
    assert list(top.modules())[0] is top
    assert [name for name, _ in top.named_parameters()] == ["a.w", "b", "m.w", "z.w"]
    assert [name for name, _ in top.named_parameters(prefix="net", recurse=False)] == ["net.b"]
    assert list(top.parameters(recurse=False)) == [top.b]
    assert len(list(top.parameters())) == 4
