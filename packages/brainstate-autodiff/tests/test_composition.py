"""Gradients composed with the other brainstate transforms: checkpoint/remat, jit, nested grads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_state as bss
from brainstate_autodiff import grad, hessian, jacfwd, vjp
from brainstate_jit import checkpoint, jit


def test_grad_through_checkpoint_writes_once():
    w = bss.ParamState(jnp.array([0.5, -1.0]))
    count = bss.State(jnp.array(0))

    @checkpoint
    def block(x):
        count.value = count.value + 1
        return jnp.sin(w.value * x)

    g = grad(lambda x: jnp.sum(block(x)), w)(jnp.array([1.0, 2.0]))
    expected = jax.grad(lambda wv: jnp.sum(jnp.sin(wv * jnp.array([1.0, 2.0]))))(w.value)
    np.testing.assert_allclose(np.asarray(g), np.asarray(expected), rtol=1e-6)
    assert int(count.value) == 1


def test_jit_of_hessian_and_jacfwd_of_grad():
    a = bss.State(jnp.array([1.0, 2.0]))

    def f():
        return jnp.sum(a.value**3)

    step = jit(lambda: hessian(f, a)())
    np.testing.assert_allclose(np.asarray(step()), np.diag([6.0, 12.0]))
    # forward-over-reverse: the Jacobian of a gradient object is the Hessian
    jac = jacfwd(lambda: grad(f, a)(), a)()
    np.testing.assert_allclose(np.asarray(jac), np.diag([6.0, 12.0]))


def test_vjp_of_grad_object_inside_jit():
    a = bss.State(jnp.array([1.0, 2.0]))

    @jit
    def step(v):
        _, pull = vjp(lambda: grad(lambda: jnp.sum(a.value**3), a)(), grad_states=a, argnums=None)
        return pull(v)

    np.testing.assert_allclose(np.asarray(step(jnp.ones(2))), [6.0, 12.0])
