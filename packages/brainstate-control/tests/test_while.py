"""while_loop / bounded_while_loop against jax.lax.while_loop with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_control import bounded_while_loop, while_loop


def _collatz_model():
    total = bss.State(jnp.zeros((), jnp.int32), name="total")
    limit = bss.ParamState(jnp.array(1, jnp.int32), name="limit")  # read only (in cond)

    def cond_fun(x):
        return x > limit.value

    def body_fun(x):
        total.value = total.value + 1
        return jnp.where(x % 2 == 0, x // 2, 3 * x + 1)

    return total, limit, cond_fun, body_fun


def _collatz_ref(x0):
    def body(c):
        x, t = c
        return jnp.where(x % 2 == 0, x // 2, 3 * x + 1), t + 1

    return jax.lax.while_loop(
        lambda c: c[0] > 1, body, (jnp.asarray(x0, jnp.int32), jnp.zeros((), jnp.int32))
    )


@settings(max_examples=6, deadline=None)
@given(x0=st.integers(1, 60))
def test_while_loop_matches_lax(x0):
    total, limit, cond_fun, body_fun = _collatz_model()
    out = while_loop(cond_fun, body_fun, jnp.asarray(x0, jnp.int32))
    x_ref, t_ref = _collatz_ref(x0)
    assert int(out) == int(x_ref)
    assert int(total.value) == int(t_ref)
    assert int(limit.value) == 1


@settings(max_examples=6, deadline=None)
@given(x0=st.integers(1, 60), max_steps=st.integers(0, 40), base=st.integers(2, 5))
def test_bounded_while_loop_matches_capped_lax(x0, max_steps, base):
    total, _, cond_fun, body_fun = _collatz_model()
    out = bounded_while_loop(cond_fun, body_fun, jnp.asarray(x0, jnp.int32), max_steps=max_steps, base=base)

    def body(c):
        x, t = c
        return jnp.where(x % 2 == 0, x // 2, 3 * x + 1), t + 1

    x_ref, t_ref = jax.lax.while_loop(
        lambda c: (c[0] > 1) & (c[1] < max_steps),
        body,
        (jnp.asarray(x0, jnp.int32), jnp.zeros((), jnp.int32)),
    )
    assert int(out) == int(x_ref)
    assert int(total.value) == int(t_ref)


def test_bounded_while_loop_exact_cap_and_zero():
    assert int(bounded_while_loop(lambda i: i < 100, lambda i: i + 1, 0, max_steps=10)) == 10
    assert int(bounded_while_loop(lambda i: i < 7, lambda i: i + 1, 0, max_steps=50)) == 7
    out = bounded_while_loop(lambda i: i < 7, lambda i: i + 1, 3, max_steps=0)
    assert isinstance(out, jax.Array) and int(out) == 3


def test_bounded_while_loop_grad_matches_unrolled():
    def f(x):
        return bounded_while_loop(lambda v: v < 10.0, lambda v: v * 1.5 + 0.1, x, max_steps=30, base=3)

    def ref(x):  # the same loop, unrolled in Python with the known trip count
        v = x
        for _ in range(int(np.ceil(np.log(10.0 / 1.3) / np.log(1.5))) + 5):
            v = jnp.where(v < 10.0, v * 1.5 + 0.1, v)
        return v

    np.testing.assert_allclose(f(1.3), ref(1.3), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(f)(1.3), jax.grad(ref)(1.3), rtol=1e-5)


def test_bounded_while_loop_grad_through_states():
    def loss(w):
        acc = bss.State(jnp.zeros(()))

        def body(i):
            acc.value = acc.value * w + 1.0
            return i + 1

        bounded_while_loop(lambda i: i < 5, body, 0, max_steps=8)
        return acc.value

    def ref(w):
        a = 0.0
        for _ in range(5):
            a = a * w + 1.0
        return a

    np.testing.assert_allclose(loss(0.7), ref(0.7), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(loss)(0.7), jax.grad(ref)(0.7), rtol=1e-5)


def test_vmap_masks_each_lane():
    def pure(x0):
        steps = bss.State(jnp.zeros((), jnp.int32))

        def body(x):
            steps.value = steps.value + 1
            return x + 1

        out = bounded_while_loop(lambda x: x < 5, body, x0, max_steps=100, base=4)
        return out, steps.value

    out, steps = jax.vmap(pure)(jnp.array([0, 3, 7]))
    np.testing.assert_array_equal(out, [5, 5, 7])
    np.testing.assert_array_equal(steps, [5, 2, 0])

    def pure_while(x0):
        return while_loop(lambda x: x < 5, lambda x: x + 1, x0)

    np.testing.assert_array_equal(jax.vmap(pure_while)(jnp.array([0, 3, 7])), [5, 5, 7])


def test_cond_fun_writing_a_state_is_rejected():
    s = bss.State(jnp.zeros(()), name="sneaky")

    def cond_fun(x):
        s.value = s.value + 1
        return x < 3

    for loop in (while_loop, lambda c, b, x: bounded_while_loop(c, b, x, max_steps=5)):
        with pytest.raises(ValueError, match="cond_fun") as info:
            loop(cond_fun, lambda x: x + 1, 0)
        assert "sneaky" in str(info.value)
    assert float(s.value) == 0.0


def test_while_errors():
    with pytest.raises(TypeError, match="boolean scalar"):
        while_loop(lambda x: x, lambda x: x + 1, 0.0)
    with pytest.raises(TypeError, match="boolean scalar"):
        while_loop(lambda x: x < jnp.ones(2), lambda x: x + 1, 0.0)
    for bad in (-1, 2.5, True, None):
        with pytest.raises(ValueError, match="max_steps"):
            bounded_while_loop(lambda x: x < 1, lambda x: x + 1, 0, max_steps=bad)
    with pytest.raises(ValueError, match="base"):
        bounded_while_loop(lambda x: x < 1, lambda x: x + 1, 0, max_steps=3, base=1)
    s = bss.State(jnp.zeros(()), name="grows")

    def body(x):
        s.value = jnp.zeros(4)
        return x + 1

    with pytest.raises(TypeError, match="grows"):
        while_loop(lambda x: x < 3, body, 0)
    assert s.value.shape == ()


def test_while_loop_disable_jit_runs_python():
    seen = []
    s = bss.State(jnp.zeros(()))

    def body(x):
        seen.append(int(x))
        s.value = s.value + x
        return x + 1

    with jax.disable_jit():
        assert int(while_loop(lambda x: x < 3, body, 0)) == 3
    assert seen == [0, 1, 2]
    assert float(s.value) == 3.0


def test_while_loop_disable_jit_rejects_cond_writes():
    s = bss.State(jnp.zeros(()), name="written_in_cond")

    def cond_fun(x):
        s.value = s.value + 1
        return x < 3

    with jax.disable_jit(), pytest.raises(ValueError, match="written_in_cond"):
        while_loop(cond_fun, lambda x: x + 1, 0)
    assert float(s.value) == 0.0


@pytest.mark.parametrize("jit", [False, True])
def test_weak_typed_carry_is_promoted_like_lax(jit):
    def run_lax(x0):
        return jax.lax.while_loop(lambda t: t < 10, lambda t: t + jnp.float32(1.5), x0)

    def run(x0):
        return while_loop(lambda t: t < 10, lambda t: t + jnp.float32(1.5), x0)

    def run_bounded(x0):
        return bounded_while_loop(lambda t: t < 10, lambda t: t + jnp.float32(1.5), x0, max_steps=20)

    expected = run_lax(0)
    for fn in (run, run_bounded):
        out = jax.jit(fn)(0) if jit else fn(0)
        assert out.dtype == expected.dtype == jnp.float32
        assert float(out) == float(expected) == 10.5


def test_weak_typed_carry_with_a_state_in_the_body():
    s = bss.State(jnp.zeros((), jnp.float32))

    def body(t):
        s.value = s.value + 1.0
        return t * jnp.float32(2.0) + 1

    out = while_loop(lambda t: t < 20, body, 1)
    ref = jax.lax.while_loop(
        lambda c: c[0] < 20, lambda c: (c[0] * jnp.float32(2.0) + 1, c[1] + 1.0), (1, 0.0)
    )
    assert float(out) == float(ref[0]) and out.dtype == ref[0].dtype
    assert float(s.value) == float(ref[1])
