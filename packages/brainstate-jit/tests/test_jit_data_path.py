"""jit's data path: one trace per miss for every argument kind, static arguments by name or position,
exact invalidation of cached plans, and compiled programs shared across re-created States."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_jit import jit
from brainstate_state.testing import count_compiles


@pytest.mark.parametrize(
    "arg",
    [1.0, 3, True, np.float64(2.0), np.ones(3), np.arange(3), jnp.ones(2), 1j],
    ids=["float", "int", "bool", "np-scalar", "np-float-array", "np-int-array", "jnp-array", "complex"],
)
def test_one_trace_per_miss_for_every_argument_kind(arg) -> None:
    traces = []
    s = bss.State(jnp.array(0.0))

    def f(x):
        traces.append(1)
        s.value = s.value + 1.0
        return x * 2

    fast = jit(f)
    np.testing.assert_allclose(np.asarray(fast(arg)), np.asarray(arg) * 2)
    assert len(traces) == 1
    np.testing.assert_allclose(np.asarray(fast(arg)), np.asarray(arg) * 2)
    assert len(traces) == 1
    assert float(s.value) == 2.0


def test_static_argnames_used_positionally_is_static() -> None:
    seen = []

    def f(x, n):
        seen.append(n)
        return x * len(range(n))  # needs a concrete n

    fast = jit(f, static_argnames="n")
    assert float(fast(1.0, 3)) == float(jax.jit(f, static_argnames="n")(1.0, 3)) == 3.0
    assert float(fast(1.0, n=4)) == 4.0
    assert float(fast(2.0, 3)) == 6.0
    assert seen and all(isinstance(v, int) for v in seen)


def test_static_argnums_passed_by_keyword_is_static() -> None:
    def f(x, n):
        return x * len(range(n))

    fast = jit(f, static_argnums=1)
    assert float(fast(1.0, n=3)) == 3.0
    assert float(fast(1.0, 2)) == 2.0


def test_static_argnames_on_a_method_used_positionally() -> None:
    class Model(bss.graph.Node):
        def __init__(self) -> None:
            self.v = bss.State(jnp.array(0.0))

        @jit(static_argnames="n")
        def step(self, x, n):
            for _ in range(n):
                self.v.value = self.v.value + x
            return self.v.value

    m = Model()
    assert float(m.step(1.0, 3)) == 3.0
    assert float(m.step(1.0, n=2)) == 5.0


@pytest.fixture
def compiles() -> Iterator[list[str]]:
    with count_compiles() as seen:
        yield seen


class Cell(bss.nn.Module):
    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.v = bss.HiddenState(jnp.zeros(n))
        self.w = bss.ParamState(jnp.ones(n))

    def step(self, x):
        self.v.value = self.v.value * 0.5 + self.w.value * x
        return self.v.value.sum()


def test_unrelated_modules_and_attributes_do_not_retrace() -> None:
    cell = Cell()
    traces = []

    @jit
    def step(x):
        traces.append(1)
        return cell.step(x)

    step(1.0)
    for _ in range(5):
        other = Cell()  # constructing an unrelated module
        other.w = bss.ParamState(jnp.zeros(3))  # replacing a State of an unrelated module
        step(1.0)
    assert len(traces) == 1
    np.testing.assert_allclose(cell.v.value, np.full(3, 2 - 0.5**5))


def test_replaced_state_attribute_is_seen_and_the_detached_state_is_left_alone() -> None:
    cell = Cell()
    step = jit(cell.step)
    step(1.0)
    old_v = cell.v
    cell.v = bss.HiddenState(jnp.full(3, 10.0))  # replace the State the function uses
    out = step(1.0)
    assert float(out) == pytest.approx(3 * (5.0 + 1.0))
    np.testing.assert_allclose(cell.v.value, np.full(3, 6.0))
    np.testing.assert_allclose(old_v.value, np.ones(3))  # never written again


def test_replaced_sub_module_is_seen() -> None:
    class Net(bss.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = Cell()

        def __call__(self, x):
            return self.cell.step(x)

    net = Net()
    step = jit(net)
    assert float(step(1.0)) == 3.0
    net.cell = Cell()
    net.cell.w.value = jnp.full(3, 2.0)
    assert float(step(1.0)) == 6.0


def test_replaced_state_seen_by_an_outer_jit_whose_inner_jit_hit_its_cache() -> None:
    cell = Cell()
    inner = jit(cell.step)
    inner(1.0)  # the inner program is cached before the outer trace

    @jit
    def outer(x):
        return inner(x) * 2

    outer(1.0)
    cell.v = bss.HiddenState(jnp.full(3, 4.0))
    assert float(outer(0.0)) == pytest.approx(2 * 3 * 2.0)
    np.testing.assert_allclose(cell.v.value, np.full(3, 2.0))


def test_recreated_states_do_not_recompile_and_old_states_are_collected(compiles) -> None:
    cell = Cell(1000)
    step = jit(cell.step)
    refs = []
    per_trial = []
    for trial in range(30):
        cell.v = bss.HiddenState(jnp.zeros(1000))  # what re-initialising a model per trial does
        cell.w = bss.ParamState(jnp.full(1000, float(trial)))
        refs.append(weakref.ref(cell.v))
        before = len(compiles)
        out = step(1.0)
        per_trial.append(len(compiles) - before)
        assert float(out) == pytest.approx(1000.0 * trial)
    assert per_trial[0] >= 1 and per_trial[1:] == [0] * 29, per_trial
    gc.collect()
    assert all(r() is None for r in refs[:-1])
    assert refs[-1]() is cell.v


def test_static_argument_selecting_a_state_keeps_separate_programs_after_recreation() -> None:
    class Two(bss.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = bss.State(jnp.array(0.0))
            self.b = bss.State(jnp.array(100.0))

    two = Two()

    @jit(static_argnums=0)
    def f(which):
        s = two.a if which == "a" else two.b
        s.value = s.value + 1
        return s.value

    assert float(f("a")) == 1.0 and float(f("b")) == 101.0
    two.a = bss.State(jnp.array(10.0))
    two.b = bss.State(jnp.array(1000.0))
    assert float(f("b")) == 1001.0  # re-created: the new plan is made for "b"
    assert float(f("a")) == 11.0
    assert float(f("b")) == 1002.0
    assert float(two.a.value) == 11.0 and float(two.b.value) == 1002.0


def test_captured_typed_prng_key_constant() -> None:
    key = jax.random.key(3)
    s = bss.State(jnp.zeros(2))

    @jit
    def f(x):
        s.value = s.value + jax.random.normal(key, (2,)) * x
        return s.value

    expected = jax.random.normal(key, (2,))
    np.testing.assert_allclose(f(1.0), expected, rtol=1e-6)
    np.testing.assert_allclose(f(1.0), 2 * expected, rtol=1e-6)
