"""An eager ``cond`` whose branches call one reused gradient object, compared with plain JAX.

A gradient object traces its function on every call, as ``jax.grad`` does: a value the function reads
from a Python closure is the value of the moment. When both branches of a ``cond`` call the same object
with different closure values, each branch's program sees its own values, whichever branch is traced
first, so the program gives the same numbers as ``jax.lax.cond`` over ``jax.value_and_grad`` with the
state threaded by hand.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate as bs

V0 = np.array([0.3, -0.2], np.float32)
X = np.array([0.5, 1.0], np.float32)  # a NumPy argument, as users pass it


def _pure_loss(v: jax.Array, x: Any, k: Any, flag: bool) -> tuple[jax.Array, jax.Array]:
    a = jnp.tanh(v + x * k)
    if flag:
        a = a + 0.25
    return (a.sum() ** 2), a


def _stateful_program(pred: bool, v: bs.State[Any]) -> Any:
    """One gradient object used by both branches; each branch sets the closure value it wants."""
    cell: dict[str, bool] = {}

    def loss(x: Any, k: Any) -> jax.Array:
        value, a = _pure_loss(v.value, x, k, cell["flag"])
        v.value = a
        return value

    g = bs.transform.grad(loss, argnums=0, return_value=True)

    def branch(flag: bool, scale: float) -> Any:
        def run(u: Any) -> Any:
            cell["flag"] = flag
            gx, value = g(u * scale, np.int32(1))
            return value + gx.sum()

        return run

    return bs.transform.cond(pred, branch(False, 1.0), branch(True, 0.5), X)


def _plain_jax(pred: bool, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The same program in plain JAX: one reused ``jax.value_and_grad`` object, traced per call."""
    cell: dict[str, bool] = {}

    def loss(x: Any, v: jax.Array, k: Any) -> tuple[jax.Array, jax.Array]:
        return _pure_loss(v, x, k, cell["flag"])

    g = jax.value_and_grad(loss, has_aux=True)

    def branch(flag: bool, scale: float) -> Any:
        def run(u: Any, v: jax.Array) -> Any:
            cell["flag"] = flag
            (value, new_v), gx = g(u * scale, v, np.int32(1))
            return value + gx.sum(), new_v

        return run

    return jax.lax.cond(pred, branch(False, 1.0), branch(True, 0.5), jnp.asarray(X), v)  # type: ignore[no-any-return]


@pytest.mark.parametrize("pred", [True, False, np.bool_(True), 0])
def test_cond_over_a_reused_grad_matches_lax_cond(pred: Any) -> None:
    for trial in range(2):  # States re-created per trial, fresh transform objects per call
        v = bs.ParamState(jnp.asarray(V0) * (1.0 + trial))
        want_out, want_v = _plain_jax(bool(pred), jnp.asarray(V0) * (1.0 + trial))
        out = _stateful_program(pred, v)
        np.testing.assert_allclose(np.asarray(out), np.asarray(want_out), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(v.value), np.asarray(want_v), rtol=1e-5, atol=1e-6)


def test_true_branch_of_cond_over_grad_equals_the_retraced_reference() -> None:
    """With the true branch taken, the result is the plain-JAX one where nothing is cached at all."""
    v = bs.ParamState(jnp.asarray(V0))
    out = _stateful_program(True, v)

    def loss(x: Any) -> tuple[jax.Array, jax.Array]:
        return _pure_loss(jnp.asarray(V0), x, 1, False)

    (value, new_v), gx = jax.value_and_grad(loss, has_aux=True)(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(out), np.asarray(value + gx.sum()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(v.value), np.asarray(new_v), rtol=1e-5, atol=1e-6)


def test_random_draw_in_grad_in_cond_in_checkpointed_for_loop() -> None:
    """The loop carries the State and the global key; each step's draw uses the key as brainstate splits it."""
    bs.random.seed(7)
    key = bs.random.DEFAULT.value
    key = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    v = bs.ParamState(jnp.asarray(V0))
    cell: dict[str, bool] = {}

    def loss(x: Any) -> jax.Array:
        a = jnp.tanh(v.value + x)
        if cell["flag"]:
            a = a + 0.25
        a = a * bs.random.rand(*a.shape)
        v.value = a
        return a.sum()

    g = bs.transform.grad(loss, return_value=True)

    def branch(flag: bool) -> Any:
        def run(u: Any) -> Any:
            cell["flag"] = flag
            gx, value = g(u)
            return value + gx.sum()

        return run

    xs = np.stack([X, 0.5 * X])
    out = bs.transform.checkpointed_for_loop(
        lambda xt: bs.transform.cond(True, branch(False), branch(True), xt), xs, base=2
    )

    want_v = jnp.asarray(V0)
    for t, xt in enumerate(xs):
        keys = jax.random.split(key, 2)
        key, sub = keys[0], keys[1]
        noise = jax.random.uniform(sub, (2,))

        def pure(x: Any, v: jax.Array = want_v, noise: jax.Array = noise) -> tuple[jax.Array, jax.Array]:
            a = jnp.tanh(v + x) * noise
            return a.sum(), a

        (value, want_v), gx = jax.value_and_grad(pure, has_aux=True)(jnp.asarray(xt))
        np.testing.assert_allclose(np.asarray(out[t]), np.asarray(value + gx.sum()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(v.value), np.asarray(want_v), rtol=1e-5, atol=1e-6)
    got_key = bs.random.DEFAULT.value
    got_key = jax.random.key_data(got_key) if jnp.issubdtype(got_key.dtype, jax.dtypes.prng_key) else got_key
    np.testing.assert_array_equal(np.asarray(got_key), np.asarray(key))
