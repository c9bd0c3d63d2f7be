"""jacrev / jacobian / jacfwd / hessian checked against jax with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_autodiff import hessian, jacfwd, jacobian, jacrev
from brainstate_jit import jit


def close(a, b):
    # Forward- and reverse-mode derivatives accumulate float32 rounding in different orders; near-cancelling
    # entries (~1e-4) can differ by ~1e-6 absolutely, hence atol=1e-5.
    assert jax.tree.structure(a) == jax.tree.structure(b), (jax.tree.structure(a), jax.tree.structure(b))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-5)


def pure_out(w, b, x):
    return jnp.tanh(x @ w + b)


def make(seed=0, n_in=3, n_out=2):
    k1, k2 = jax.random.split(jax.random.key(seed))
    w = bss.ParamState(jax.random.normal(k1, (n_in, n_out)), name="w")
    b = bss.ParamState(jax.random.normal(k2, (n_out,)), name="b")
    return w, b, (lambda x: pure_out(w.value, b.value, x))


X = jnp.array([0.5, -1.0, 2.0])


@pytest.mark.parametrize("ours, theirs", [(jacrev, jax.jacrev), (jacfwd, jax.jacfwd)])
def test_jacobian_states_list_dict_single(ours, theirs):
    w, b, f = make()
    jw, jb = theirs(pure_out, (0, 1))(w.value, b.value, X)
    close(ours(f, w)(X), jw)
    close(ours(f, [w, b])(X), [jw, jb])
    close(ours(f, {"w": w, "b": b})(X), {"w": jw, "b": jb})


@pytest.mark.parametrize("ours, theirs", [(jacrev, jax.jacrev), (jacfwd, jax.jacfwd)])
def test_jacobian_argnums_and_both(ours, theirs):
    w, b, f = make()
    jw, jx = theirs(pure_out, (0, 2))(w.value, b.value, X)
    close(ours(f, argnums=0)(X), jx)
    close(ours(f, argnums=(0,))(X), (jx,))
    states, arg = ours(f, [w], argnums=0)(X)
    close(states, [jw])
    close(arg, jx)
    (states, args), value = ours(f, {"w": w}, argnums=(0,), return_value=True)(X)
    close(states, {"w": jw})
    close(args, (jx,))
    close(value, f(X))


def test_jacobian_is_jacrev_and_pytree_output():
    assert jacobian is jacrev
    w, b, _ = make()

    def f(x):
        y = pure_out(w.value, b.value, x)
        return {"y": y, "s": jnp.sum(y)}

    def ref(wv, bv, x):
        y = pure_out(wv, bv, x)
        return {"y": y, "s": jnp.sum(y)}

    jac = jax.jacrev(ref, (0, 1))(w.value, b.value, X)  # {"y": (dw, db), "s": (dw, db)}
    got = jacrev(f, {"w": w, "b": b})(X)
    close(got, {k: {"w": jac[k][0], "b": jac[k][1]} for k in ("y", "s")})


def test_jacobian_has_aux_and_under_jit():
    w, b, f = make()

    def g(x):
        return f(x), {"n": jnp.sum(x)}

    jw = jax.jacrev(pure_out)(w.value, b.value, X)
    jac, aux = jacfwd(g, w, has_aux=True)(X)
    close(jac, jw)
    close(aux, {"n": jnp.sum(X)})

    @jit
    def step(x):
        return jacrev(f, [w, b])(x)

    close(step(X), list(jax.jacrev(pure_out, (0, 1))(w.value, b.value, X)))


def scalar(w, b, x):
    return jnp.sum(jnp.sin(x @ w + b) ** 2)


def test_hessian_nested_block_structures():
    w, b, _ = make()

    def f(x):
        return scalar(w.value, b.value, x)

    h = jax.hessian(scalar, (0, 1))(w.value, b.value, X)
    close(hessian(f, w)(X), h[0][0])
    close(hessian(f, [w, b])(X), [[h[0][0], h[0][1]], [h[1][0], h[1][1]]])
    got = hessian(f, {"a": w, "b": b})(X)
    close(got, {"a": {"a": h[0][0], "b": h[0][1]}, "b": {"a": h[1][0], "b": h[1][1]}})


def test_hessian_argnums_and_value_aux():
    w, b, _ = make()

    def f(x, y):
        return scalar(w.value, b.value, x * y), jnp.sum(x)

    def ref(x, y):
        return scalar(w.value, b.value, x * y)

    close(hessian(lambda x, y: f(x, y)[0], argnums=0)(X, 2.0), jax.hessian(ref)(X, 2.0))
    h, value, aux = hessian(f, argnums=(0, 1), has_aux=True, return_value=True)(X, 2.0)
    close(h, jax.hessian(ref, (0, 1))(X, 2.0))
    close(value, ref(X, 2.0))
    close(aux, jnp.sum(X))


def test_hessian_states_and_argnums_not_implemented():
    w, _, f = make()
    with pytest.raises(NotImplementedError, match="grad_states and argnums"):
        hessian(lambda x: jnp.sum(f(x)), w, argnums=0)


@settings(max_examples=3, deadline=None)
@given(n_in=st.integers(1, 3), n_out=st.integers(1, 3), seed=st.integers(0, 50))
def test_hypothesis_jacfwd_matches_jacrev_and_jax(n_in, n_out, seed):
    w, b, f = make(seed, n_in, n_out)
    x = jax.random.normal(jax.random.key(seed + 7), (n_in,))
    expected = jax.jacfwd(pure_out, (0, 1))(w.value, b.value, x)
    close(jacfwd(f, (w, b))(x), expected)
    close(jacrev(f, (w, b))(x), expected)
