"""The documented make_jaxpr and GradientTransform examples, through the metapackage."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import brainstate


def f(x):
    return jnp.sin(jnp.cos(x))


def test_make_jaxpr_examples() -> None:
    jaxpr, states = brainstate.transform.make_jaxpr(f)(3.0)
    assert states == ()
    jaxpr, states = brainstate.transform.make_jaxpr(jax.grad(f))(3.0)
    np.testing.assert_allclose(jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 3.0)[0], jax.grad(f)(3.0))
    jaxpr, states, shapes = brainstate.transform.make_jaxpr(f, return_shape=True)(3.0)
    assert shapes.shape == ()
    state = brainstate.State(jnp.array([1.0, 2.0]))

    def stateful_f(x):
        state.value += x
        return state.value

    jaxpr, states = brainstate.transform.make_jaxpr(stateful_f)(jnp.array([0.5, 0.5]))
    assert states == (state,)
    np.testing.assert_array_equal(state.value, [1.0, 2.0])


def test_gradient_transform_example() -> None:
    weight = brainstate.State(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    bias = brainstate.State(jnp.array([0.5, -0.5]))

    def loss_fn(x):
        y = x @ weight.value + bias.value
        return jnp.sum(y**2)

    grad_transform = brainstate.transform.GradientTransform(
        target=loss_fn, transform=jax.grad, grad_states=[weight, bias]
    )
    x = jnp.array([1.0, 2.0])
    grads = grad_transform(x)

    def pure(w, b, x):
        return jnp.sum((x @ w + b) ** 2)

    gw, gb = jax.grad(pure, argnums=(0, 1))(weight.value, bias.value, x)
    np.testing.assert_allclose(grads[0], gw)
    np.testing.assert_allclose(grads[1], gb)

    def loss_fn_with_aux(x, scale):
        y = x @ weight.value + bias.value
        loss = jnp.sum((y * scale) ** 2)
        return loss, {"predictions": y, "scale": scale}

    grad_transform = brainstate.transform.GradientTransform(
        target=loss_fn_with_aux,
        transform=jax.grad,
        grad_states=[weight, bias],
        argnums=[0, 1],
        has_aux=True,
        return_value=True,
    )
    grads, loss_value, aux_data = grad_transform(x, 2.0)
    state_grads, arg_grads = grads

    def pure_aux(w, b, x, scale):
        return jnp.sum(((x @ w + b) * scale) ** 2)

    ref = jax.grad(pure_aux, argnums=(0, 1, 2, 3))(weight.value, bias.value, x, 2.0)
    np.testing.assert_allclose(state_grads[0], ref[0], rtol=1e-6)
    np.testing.assert_allclose(state_grads[1], ref[1], rtol=1e-6)
    np.testing.assert_allclose(arg_grads[0], ref[2], rtol=1e-6)
    np.testing.assert_allclose(arg_grads[1], ref[3], rtol=1e-6)
    np.testing.assert_allclose(loss_value, pure_aux(weight.value, bias.value, x, 2.0), rtol=1e-6)
    assert float(aux_data["scale"]) == 2.0
