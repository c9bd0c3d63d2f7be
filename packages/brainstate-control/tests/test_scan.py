"""scan / for_loop / checkpointed_* against jax.lax.scan with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_control import checkpointed_for_loop, checkpointed_scan, for_loop, scan


def _lax_reference(w, v0, init, xs, reverse=False):
    """The same computation as ``_Model.step`` with the state threaded through the carry by hand."""

    def body(carry, x):
        v, c = carry
        v = v * 0.5 + x * w
        c = c + v.sum()
        return (v, c), v * 2.0

    return jax.lax.scan(body, (v0, init), xs, reverse=reverse)


class _Model:
    def __init__(self, n: int = 3) -> None:
        self.w = bss.ParamState(jnp.linspace(0.5, 1.5, n))  # read only
        self.v = bss.State(jnp.zeros(n))  # written

    def step(self, c, x):
        self.v.value = self.v.value * 0.5 + x * self.w.value
        return c + self.v.value.sum(), self.v.value * 2.0


@pytest.mark.parametrize(("loop", "reverse"), [("scan", False), ("scan", True), ("checkpointed_scan", False)])
def test_scan_matches_lax(loop, reverse):
    m = _Model()
    xs = jnp.arange(12.0).reshape(4, 3)
    if loop == "scan":
        carry, ys = scan(m.step, jnp.float32(0.0), xs, reverse=reverse)
    else:
        carry, ys = checkpointed_scan(m.step, jnp.float32(0.0), xs, base=2)
    (v_ref, c_ref), ys_ref = _lax_reference(m.w.value, jnp.zeros(3), jnp.float32(0.0), xs, reverse)
    np.testing.assert_allclose(carry, c_ref, rtol=1e-6)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-6)
    np.testing.assert_allclose(m.v.value, v_ref, rtol=1e-6)
    np.testing.assert_allclose(m.w.value, jnp.linspace(0.5, 1.5, 3))


@settings(max_examples=5, deadline=None)
@given(n=st.integers(1, 40), base=st.integers(2, 6))
def test_checkpointed_for_loop_any_length(n, base):
    acc = bss.State(jnp.zeros(()))

    def step(x):
        acc.value = acc.value * 0.9 + x
        return acc.value

    xs = jnp.linspace(0.0, 1.0, n)
    ys = checkpointed_for_loop(step, xs, base=base)
    _, ys_ref = jax.lax.scan(lambda a, x: (a * 0.9 + x, a * 0.9 + x), jnp.zeros(()), xs)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-5)
    np.testing.assert_allclose(acc.value, ys_ref[-1], rtol=1e-5)


def test_for_loop_several_xs_and_reverse():
    s = bss.State(jnp.zeros(()))

    def step(i, x):
        s.value = s.value * 2 + x
        return s.value + i

    i = jnp.arange(4)
    x = jnp.array([1.0, 2.0, 3.0, 4.0])
    ys = for_loop(step, i, x, reverse=True)
    _, ys_ref = jax.lax.scan(lambda c, ix: (c * 2 + ix[1], c * 2 + ix[1] + ix[0]), 0.0, (i, x), reverse=True)
    np.testing.assert_allclose(ys, ys_ref)
    assert float(s.value) == float(ys_ref[0] - 0)


def test_for_loop_length_only_and_pytree_outputs():
    s = bss.State(jnp.zeros(2))

    def step():
        s.value = s.value + 1
        return {"a": s.value, "b": s.value.sum()}

    out = for_loop(step, length=3)
    np.testing.assert_allclose(out["a"], [[1, 1], [2, 2], [3, 3]])
    np.testing.assert_allclose(out["b"], [2, 4, 6])
    np.testing.assert_allclose(s.value, [3, 3])


def test_zero_length_loops():
    s = bss.State(jnp.ones(2))

    def step(x):
        s.value = s.value + x
        return s.value * 2

    for loop in (for_loop, checkpointed_for_loop):
        ys = loop(step, jnp.zeros((0, 2)))
        assert ys.shape == (0, 2)
        np.testing.assert_allclose(s.value, [1, 1])
    carry, ys = scan(lambda c, x: (c + x, x), jnp.zeros(2), jnp.zeros((0, 2)))
    np.testing.assert_allclose(carry, [0, 0])
    assert ys.shape == (0, 2)
    with jax.disable_jit():
        assert for_loop(step, jnp.zeros((0, 2))).shape == (0, 2)
    np.testing.assert_allclose(s.value, [1, 1])


@pytest.mark.parametrize("loop", [for_loop, checkpointed_for_loop])
def test_mismatched_lengths_rejected_and_state_unchanged(loop):
    s = bss.State(jnp.zeros(()), name="acc")

    def step(a, b):
        s.value = s.value + a + b
        return s.value

    with pytest.raises(ValueError, match=r"sizes \[3, 4\]"):
        loop(step, jnp.ones(3), jnp.ones(4))
    with pytest.raises(ValueError, match="length=5"):
        loop(step, jnp.ones(3), jnp.ones(3), length=5)
    with pytest.raises(ValueError, match="leading axis"):
        loop(step, jnp.ones(3), jnp.float32(1.0))
    assert float(s.value) == 0.0


def test_scan_errors():
    s = bss.State(jnp.zeros(()), name="counter")
    with pytest.raises(TypeError, match="must return a pair"):
        scan(lambda c, x: c + x, 0.0, jnp.ones(3))

    def bad_dtype(c, x):
        s.value = jnp.zeros(2)
        return c, x

    with pytest.raises(TypeError, match="'counter'") as info:
        scan(bad_dtype, 0.0, jnp.ones(3))
    assert "shape (2,)" in str(info.value)
    with pytest.raises(ValueError, match="unroll"):
        scan(lambda c, x: (c, x), 0.0, jnp.ones(3), unroll=0)
    with pytest.raises(ValueError, match="base"):
        checkpointed_scan(lambda c, x: (c, x), 0.0, jnp.ones(3), base=1)
    with pytest.raises(ValueError, match="base"):
        checkpointed_for_loop(lambda x: x, jnp.ones(3), base=True)
    with pytest.raises(ValueError, match="length must be given"):
        scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(TypeError, match="callable"):
        for_loop(3, jnp.ones(3))
    assert float(s.value) == 0.0


def test_failing_body_leaves_states_unchanged():
    s = bss.State(jnp.ones(()), name="s")

    def step(x):
        s.value = s.value + x
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        for_loop(step, jnp.ones(3))
    assert float(s.value) == 1.0


def test_disable_jit_runs_python_loop():
    s = bss.State(jnp.zeros(()))
    seen = []

    def step(x):
        seen.append(float(x))  # concrete under disable_jit
        s.value = s.value + x
        return s.value

    with jax.disable_jit():
        ys = for_loop(step, jnp.arange(4.0), reverse=True)
        ys2 = checkpointed_for_loop(step, jnp.arange(2.0))
    assert seen == [3.0, 2.0, 1.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(ys, [6.0, 6.0, 5.0, 3.0])
    np.testing.assert_allclose(ys2, [6.0, 7.0])


def test_inside_enclosing_jit_states_thread_through():
    from brainstate_jit import jit

    m = _Model()

    @jit
    def run(xs):
        return scan(m.step, jnp.float32(0.0), xs)

    xs = jnp.ones((5, 3))
    carry, ys = run(xs)
    (v_ref, c_ref), ys_ref = _lax_reference(m.w.value, jnp.zeros(3), jnp.float32(0.0), xs)
    np.testing.assert_allclose(carry, c_ref, rtol=1e-6)
    np.testing.assert_allclose(m.v.value, v_ref, rtol=1e-6)
    # read-only states enter the program as inputs, never as baked-in constants
    program = run.stateful_fun.get_program(xs)
    assert m.w in program.read_states
    assert all(np.size(c) < 3 for c in program.jaxpr.consts)


def test_checkpointed_scan_without_xs_and_unrolled_scan():
    s = bss.State(jnp.zeros(()))

    def step(c, x):
        s.value = s.value + c
        return c + 1.0, s.value

    carry, ys = checkpointed_scan(step, jnp.float32(0.0), None, length=7, base=2)
    carry_ref, ys_ref = jax.lax.scan(
        lambda cs, _: ((cs[0] + 1, cs[1] + cs[0]), cs[1] + cs[0]), (0.0, 0.0), None, 7
    )
    np.testing.assert_allclose(carry, carry_ref[0])
    np.testing.assert_allclose(ys, ys_ref)
    np.testing.assert_allclose(s.value, carry_ref[1])
    s.value = jnp.zeros(())
    carry2, ys2 = scan(step, jnp.float32(0.0), None, length=7, unroll=3)
    np.testing.assert_allclose(ys2, ys_ref)
    np.testing.assert_allclose(s.value, carry_ref[1])


def test_eager_program_takes_states_as_arguments_not_constants():
    from brainstate_control import _eager_cache

    _eager_cache.eager_cache_clear()
    w = bss.ParamState(jnp.ones((64, 64)))  # read only, 16 KiB
    h = bss.State(jnp.zeros(64))

    def step(x):
        h.value = jnp.tanh(h.value @ w.value + x)
        return h.value.sum()

    for_loop(step, jnp.ones((3, 64)))
    compiles = _eager_cache.eager_cache_info()["compiles"]
    w.value = jnp.full((64, 64), 0.5, jnp.float32)  # a new value of the same type: the same executable
    h.value = jnp.zeros(64)
    ys = for_loop(step, jnp.ones((3, 64)))
    assert _eager_cache.eager_cache_info()["compiles"] == compiles

    def body(hv, x):
        hv = jnp.tanh(hv @ jnp.full((64, 64), 0.5) + x)
        return hv, hv.sum()

    h_ref, ys_ref = jax.lax.scan(body, jnp.zeros(64), jnp.ones((3, 64)))
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-5)
    np.testing.assert_allclose(h.value, h_ref, rtol=1e-5)


@pytest.mark.parametrize("loop", ["scan", "checkpointed_scan"])
def test_weak_typed_carry_is_promoted_like_lax(loop):
    run = {"scan": scan, "checkpointed_scan": checkpointed_scan}[loop]
    xs = jnp.full(3, 1.5, jnp.float32)

    def body(c, x):
        return c + x, c

    carry_ref, ys_ref = jax.lax.scan(body, 0, xs)
    for fn in (lambda: run(body, 0, xs), jax.jit(lambda: run(body, 0, xs))):
        carry, ys = fn()
        assert carry.dtype == carry_ref.dtype == jnp.float32 and float(carry) == float(carry_ref) == 4.5
        assert ys.dtype == ys_ref.dtype
        np.testing.assert_allclose(ys, ys_ref)
