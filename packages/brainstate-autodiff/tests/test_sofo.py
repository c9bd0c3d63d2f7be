"""sofo_grad: equals the damped Gauss-Newton step with a full tangent basis; trains a small RNN."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import brainstate_state as bss
from brainstate_autodiff import sofo_grad
from brainstate_autodiff._sofo import gauss_newton_subspace
from brainstate_jit import jit

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (5, 3))
Y = jax.random.normal(jax.random.key(2), (5, 2))
LABELS = jax.nn.one_hot(jnp.array([0, 1, 1, 0, 1]), 2)


@pytest.fixture(autouse=True)
def _float32_matmuls():
    # The tests compare algebraic identities of float32 programs; on GPU JAX's default float32 matmul
    # uses TF32 (about 3 significant digits), which would blur them by ~1e-3.
    with jax.default_matmul_precision("float32"):
        yield


def net(w, b, x):
    return jnp.tanh(x @ w) + b


def dense_gauss_newton_step(params, loss_fn, kind, damping):
    flat, unravel = ravel_pytree(params)
    out_fn = lambda p: net(*unravel(p), X)  # noqa: E731
    out = out_fn(flat)
    jac = jax.jacfwd(out_fn)(flat).reshape(out.size, flat.size)
    g = jax.grad(lambda p: loss_fn(out_fn(p)))(flat)
    if kind == "mse":
        h = 2.0 / out.size * jnp.eye(out.size)
    else:
        p = jax.nn.softmax(out, axis=-1)
        blocks = [jnp.diag(r) - jnp.outer(r, r) for r in p]
        h = jax.scipy.linalg.block_diag(*blocks) / out.shape[0]
    gn = jac.T @ h @ jac
    step = jnp.linalg.solve(gn + damping * jnp.eye(flat.size), g)
    return unravel(step), loss_fn(out)


@pytest.mark.parametrize("kind", ["mse", "ce"])
def test_full_basis_equals_damped_gauss_newton(kind):
    w = bss.ParamState(jax.random.normal(jax.random.key(3), (3, 2)))
    b = bss.ParamState(jnp.array([0.1, -0.2]))
    if kind == "mse":
        loss_fn = lambda y: jnp.mean((y - Y) ** 2)  # noqa: E731
    else:
        loss_fn = lambda y: jnp.mean(-jnp.sum(LABELS * jax.nn.log_softmax(y), axis=-1))  # noqa: E731
    damping = 1e-2
    n_params = w.value.size + b.value.size
    step = sofo_grad(
        lambda: net(w.value, b.value, X),
        loss_fn,
        [w, b],
        return_value=True,
        loss=kind,
        tangent_size=n_params,
        damping=damping,
        key=KEY,
    )
    (uw, ub), loss = step()
    (rw, rb), rloss = dense_gauss_newton_step((w.value, b.value), loss_fn, kind, damping)
    np.testing.assert_allclose(np.asarray(uw), np.asarray(rw), rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(np.asarray(ub), np.asarray(rb), rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(float(loss), float(rloss), rtol=1e-6)


def test_subspace_gauss_newton_matches_dense_projection():
    jv = jax.random.normal(jax.random.key(4), (3, 4, 5))
    out = jax.random.normal(jax.random.key(5), (4, 5))
    p = jax.nn.softmax(out, axis=-1)
    h = jax.scipy.linalg.block_diag(*[jnp.diag(r) - jnp.outer(r, r) for r in p]) / 4
    flat = jv.reshape(3, -1)
    np.testing.assert_allclose(
        np.asarray(gauss_newton_subspace(jv, out, "ce")), np.asarray(flat @ h @ flat.T), rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(gauss_newton_subspace(jv, out, "mse")), np.asarray(flat @ flat.T * 2 / 20), rtol=1e-5
    )


def test_argnums_and_aux_structures():
    w = bss.ParamState(jnp.ones((3, 2)))

    def f(x):
        return jnp.tanh(x @ w.value), {"n": jnp.sum(x)}

    step = sofo_grad(
        f,
        lambda y: jnp.mean((y - Y) ** 2),
        {"w": w},
        argnums=0,
        has_aux=True,
        return_value=True,
        tangent_size=4,
        key=KEY,
    )
    (states, gx), loss, aux = step(X)
    assert set(states) == {"w"} and states["w"].shape == (3, 2) and gx.shape == X.shape
    np.testing.assert_allclose(float(loss), float(jnp.mean((jnp.tanh(X @ w.value) - Y) ** 2)), rtol=1e-6)
    np.testing.assert_allclose(float(aux["n"]), float(jnp.sum(X)), rtol=1e-6)


def test_trains_a_small_recurrent_network():
    """A 1-layer RNN over 6 steps learns to map input sequences to targets; SOFO steps lower the loss."""
    n_in, n_hid, n_out, steps, batch = 2, 8, 1, 6, 16
    keys = jax.random.split(jax.random.key(10), 5)
    w_in = bss.ParamState(jax.random.normal(keys[0], (n_in, n_hid)) * 0.5)
    w_rec = bss.ParamState(jax.random.normal(keys[1], (n_hid, n_hid)) * 0.3)
    w_out = bss.ParamState(jax.random.normal(keys[2], (n_hid, n_out)) * 0.3)
    hidden = bss.HiddenState(jnp.zeros((batch, n_hid)))
    xs = jax.random.normal(keys[3], (steps, batch, n_in))
    targets = jnp.sum(xs[:, :, :1], axis=0) * 0.5  # running sum of the first input channel

    def run():
        hidden.value = jnp.zeros((batch, n_hid))
        for t in range(steps):
            hidden.value = jnp.tanh(xs[t] @ w_in.value + hidden.value @ w_rec.value)
        return hidden.value @ w_out.value

    loss_fn = lambda y: jnp.mean((y - targets) ** 2)  # noqa: E731
    params = {"in": w_in, "rec": w_rec, "out": w_out}

    @jit
    def train_step(key):
        update, loss = sofo_grad(
            run, loss_fn, params, return_value=True, tangent_size=32, damping=1e-3, key=key
        )()
        for k in params:
            params[k].value = params[k].value - 0.5 * update[k]
        return loss

    losses = [float(train_step(k)) for k in jax.random.split(jax.random.key(11), 10)]
    assert losses[-1] < 0.1 * losses[0], losses
    assert all(b < a for a, b in zip(losses[2:], losses[3:], strict=False)), losses
    assert hidden.value.shape == (batch, n_hid)  # the written hidden state was committed
