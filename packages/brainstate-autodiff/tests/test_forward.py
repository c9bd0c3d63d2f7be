"""fwd_grad: the forward-gradient estimator, checked against a hand-computed estimate and jax.grad."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import fwd_grad
from brainstate_jit import jit

W0 = jnp.array([0.5, -1.0, 2.0])


def pure(w, x):
    return jnp.sum(jnp.sin(w * x))


def test_single_tangent_equals_hand_computed_estimate():
    w = bss.ParamState(W0)
    x = jnp.array([1.0, 2.0, 3.0])
    key = jax.random.key(42)
    got, value = fwd_grad(lambda x: pure(w.value, x), w, key=key, return_value=True)(x)
    # The pure function's differentiated input is the list of grad-state values: one leaf, one key.
    tangent = jax.random.normal(jax.random.split(key, 1)[0], W0.shape)
    expected = tangent * jnp.vdot(jax.grad(pure)(W0, x), tangent)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5)
    np.testing.assert_allclose(float(value), float(pure(W0, x)), rtol=1e-6)


def test_many_tangents_approach_the_gradient_states_and_args():
    w = bss.ParamState(W0)
    x = jnp.array([1.0, 2.0, 3.0])
    g = fwd_grad(lambda x: pure(w.value, x), {"w": w}, argnums=0, tangent_size=40000, key=jax.random.key(0))
    states, gx = g(x)
    gw_true, gx_true = jax.grad(pure, (0, 1))(W0, x)
    np.testing.assert_allclose(np.asarray(states["w"]), np.asarray(gw_true), atol=0.08)
    np.testing.assert_allclose(np.asarray(gx), np.asarray(gx_true), atol=0.08)


def test_clip_and_has_aux_and_decorator():
    w = bss.ParamState(W0)
    x = jnp.array([1.0, 2.0, 3.0])
    key = jax.random.key(3)

    @fwd_grad(grad_states=w, has_aux=True, drct_der_clip=1e-3, key=key)
    def f(x):
        return pure(w.value, x) * 100.0, {"x": x}

    g, aux = f(x)
    tangent = jax.random.normal(jax.random.split(key, 1)[0], W0.shape)
    np.testing.assert_allclose(np.asarray(jnp.abs(g)), np.asarray(jnp.abs(tangent) * 1e-3), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(aux["x"]), np.asarray(x))


def test_under_jit_and_commits_writes():
    w = bss.ParamState(W0)
    n = bss.State(jnp.array(0))

    def loss(x):
        n.value = n.value + 1
        return pure(w.value, x)

    key = jax.random.key(5)

    @jit
    def step(x):
        return fwd_grad(loss, w, key=key)(x)

    eager = fwd_grad(loss, w, key=key)(jnp.ones(3))
    np.testing.assert_allclose(np.asarray(step(jnp.ones(3))), np.asarray(eager), rtol=1e-5)
    assert int(n.value) == 2


def _split_key_available() -> bool:
    try:
        return hasattr(importlib.import_module("brainstate_state.random"), "split_key")
    except ImportError:
        return False


@pytest.mark.skipif(not _split_key_available(), reason="brainstate_state.random.split_key not available yet")
def test_default_key_draws_fresh_tangents_per_call():
    w = bss.ParamState(W0)
    traces = []

    def loss():
        traces.append(1)
        return pure(w.value, 1.0)

    g = fwd_grad(loss, w)
    a, b = g(), g()
    assert not np.allclose(np.asarray(a), np.asarray(b))
    assert len(traces) == 2  # the body is traced on every eager call, as jax.grad does
