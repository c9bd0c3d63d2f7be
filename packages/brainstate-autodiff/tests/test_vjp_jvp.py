"""vjp / jvp checked against jax.vjp / jax.jvp with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import jvp, vjp
from brainstate_jit import jit


def close(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


W0 = jnp.array([[1.0, -2.0], [0.5, 3.0]])
X = jnp.array([0.3, -0.7])
CT = jnp.array([1.0, 2.0])


def pure(w, x, y):
    return jnp.tanh(w @ x) * y


def test_vjp_states_args_and_both():
    w = bss.ParamState(W0)
    f = lambda x, y: pure(w.value, x, y)  # noqa: E731
    out, ref_fn = jax.vjp(pure, W0, X, 2.0)
    rw, rx, ry = ref_fn(CT)

    o, fn = vjp(f, X, 2.0)  # default argnums=0, no states
    close(o, out)
    close(fn(CT), rx)
    o, fn = vjp(f, X, 2.0, argnums=(0, 1))
    close(fn(CT), (rx, ry))
    o, fn = vjp(f, X, 2.0, argnums=-1)
    close(fn(CT), ry)
    o, fn = vjp(f, X, 2.0, grad_states={"w": w}, argnums=None)
    close(fn(CT), {"w": rw})
    o, fn = vjp(f, X, 2.0, grad_states=[w])
    close(fn(CT), ([rw], rx))


def test_vjp_has_aux_commits_writes_and_under_jit():
    w = bss.ParamState(W0)
    count = bss.State(jnp.array(0))

    def f(x):
        count.value = count.value + 1
        return pure(w.value, x, 1.0), jnp.sum(x)

    out, fn, aux = vjp(f, X, grad_states=w, argnums=None, has_aux=True)
    assert int(count.value) == 1
    close(aux, jnp.sum(X))
    close(fn(CT), jax.vjp(lambda wv: pure(wv, X, 1.0), W0)[1](CT)[0])

    @jit
    def step(x):
        _, pull = vjp(lambda x: f(x)[0], x, grad_states=w, argnums=None)
        return pull(CT)

    close(step(X), jax.vjp(lambda wv: pure(wv, X, 1.0), W0)[1](CT)[0])
    assert int(count.value) == 2


def test_vjp_rejects_nothing_to_differentiate_and_bad_argnums():
    w = bss.ParamState(W0)
    with pytest.raises(ValueError, match="needs something to differentiate"):
        vjp(lambda x: w.value @ x, X, argnums=None)
    with pytest.raises(ValueError, match="argnums contains 3"):
        vjp(lambda x: w.value @ x, X, argnums=3)
    with pytest.raises(TypeError, match=r"\(value, aux\)"):
        vjp(lambda x: w.value @ x, X, has_aux=True)


def test_jvp_matches_jax_states_constant():
    w = bss.ParamState(W0)
    count = bss.State(jnp.array(0))

    def f(x, y):
        count.value = count.value + 1
        return pure(w.value, x, y)

    out, t = jvp(f, (X, 2.0), (jnp.ones(2), 0.5))
    ref = jax.jvp(lambda x, y: pure(W0, x, y), (X, 2.0), (jnp.ones(2), 0.5))
    close((out, t), ref)
    assert int(count.value) == 1
    out, t, aux = jvp(lambda x: (f(x, 1.0), x * 2), [X], [jnp.ones(2)], has_aux=True)
    close(aux, X * 2)


def test_jvp_rejects_bad_inputs():
    with pytest.raises(TypeError, match="tuples or lists"):
        jvp(lambda x: x, X, jnp.ones(2))
    with pytest.raises(ValueError, match="one tangent per primal"):
        jvp(lambda x: x, (X,), ())
