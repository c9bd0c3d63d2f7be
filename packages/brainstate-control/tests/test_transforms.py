"""grad and vmap through the stateful loops, compared with plain jax.lax programs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_control import checkpointed_for_loop, checkpointed_scan, for_loop, scan


class _Rnn:
    """A tiny recurrent net whose States are created inside the pure function (so JAX may trace them)."""

    def __init__(self, w):
        self.w = bss.ParamState(w)  # read only inside the loop
        self.h = bss.HiddenState(jnp.zeros(w.shape[0]))

    def step(self, x):
        self.h.value = jnp.tanh(self.h.value @ self.w.value + x)
        return self.h.value.sum()


def _ref_loss(w, xs):
    def body(h, x):
        h = jnp.tanh(h @ w + x)
        return h, h.sum()

    h, ys = jax.lax.scan(body, jnp.zeros(w.shape[0]), xs)
    return ys.sum() + h.sum()


def _make_loss(loop):
    def loss(w, xs):
        net = _Rnn(w)
        ys = loop(net.step, xs)
        return ys.sum() + net.h.value.sum()

    return loss


LOOPS = {
    "for_loop": for_loop,
    "checkpointed_for_loop_padded": lambda f, xs: checkpointed_for_loop(f, xs, base=3),  # 3*2*2 > 10
    "checkpointed_for_loop_exact": lambda f, xs: checkpointed_for_loop(f, xs, base=5),  # 5*2 == 10
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_grad_through_loops_matches_lax(name):
    w = jax.random.normal(jax.random.key(0), (4, 4)) * 0.5
    xs = jax.random.normal(jax.random.key(1), (10, 4))
    loss = _make_loss(LOOPS[name])
    value, (g, gx) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(w, xs)
    value_ref, (g_ref, gx_ref) = jax.value_and_grad(_ref_loss, argnums=(0, 1))(w, xs)
    np.testing.assert_allclose(value, value_ref, rtol=1e-5)
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["for_loop", "checkpointed_for_loop_padded"])
def test_vmap_over_loops_matches_lax(name):
    w = jax.random.normal(jax.random.key(2), (3, 3)) * 0.5
    xs = jax.random.normal(jax.random.key(3), (4, 10, 3))  # 4 lanes
    loss = _make_loss(LOOPS[name])
    out = jax.vmap(loss, in_axes=(None, 0))(w, xs)
    ref = jax.vmap(_ref_loss, in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(out, ref, rtol=1e-5)


def test_grad_through_scan_carry_and_reverse():
    def loss(a, reverse):
        s = bss.State(jnp.ones(()))

        def body(c, x):
            s.value = s.value * a + x
            return c * a + s.value, c

        c, ys = scan(body, 1.0, jnp.arange(6.0), reverse=reverse)
        return c + ys.sum() + s.value

    def ref(a, reverse):
        def body(carry, x):
            c, s = carry
            s = s * a + x
            return (c * a + s, s), c

        (c, s), ys = jax.lax.scan(body, (1.0, jnp.ones(())), jnp.arange(6.0), reverse=reverse)
        return c + ys.sum() + s

    for reverse in (False, True):
        value, g = jax.jit(jax.value_and_grad(loss), static_argnums=1)(0.8, reverse)
        value_ref, g_ref = jax.value_and_grad(ref)(0.8, reverse)
        np.testing.assert_allclose(value, value_ref, rtol=1e-5)
        np.testing.assert_allclose(g, g_ref, rtol=1e-5)
    g = jax.jit(
        jax.grad(lambda a: checkpointed_scan(lambda c, x: (c * a + x, c), 1.0, jnp.ones(9), base=2)[0])
    )(0.8)
    g_ref = jax.grad(lambda a: jax.lax.scan(lambda c, x: (c * a + x, c), 1.0, jnp.ones(9))[0])(0.8)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5)


def test_checkpointed_memory_is_sublinear():
    n = 64

    def make(loop, steps):
        w = jnp.ones((n, n)) * 0.01
        xs = jnp.ones((steps, n))
        return jax.jit(jax.grad(_make_loss(loop))).lower(w, xs).compile().memory_analysis().temp_size_in_bytes

    plain = make(for_loop, 1024)
    ckpt = [make(lambda f, xs: checkpointed_for_loop(f, xs, base=16), t) for t in (256, 1024)]
    assert plain > 1024 * n * 4  # the plain loop saves (at least) one hidden vector per step
    assert ckpt[1] < 2 * ckpt[0]  # checkpoints grow with log(length)
    assert ckpt[1] < plain / 4
