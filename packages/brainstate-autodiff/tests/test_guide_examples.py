"""The documented GradientTransform examples, and the numbers of the essentials tutorial (grad over module params)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import GradientTransform, grad
from brainstate_jit import jit
from brainstate_state import nn, random


def test_gradient_transform_basic_gradient_with_states():
    weight = bss.State(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    bias = bss.State(jnp.array([0.5, -0.5]))

    def loss_fn(x):
        y = x @ weight.value + bias.value
        return jnp.sum(y**2)

    grad_transform = GradientTransform(target=loss_fn, transform=jax.grad, grad_states=[weight, bias])
    x = jnp.array([1.0, 2.0])
    grads = grad_transform(x)
    gw, gb = jax.grad(lambda w, b: jnp.sum((x @ w + b) ** 2), (0, 1))(weight.value, bias.value)
    assert isinstance(grads, list) and len(grads) == 2
    np.testing.assert_allclose(np.asarray(grads[0]), np.asarray(gw))
    np.testing.assert_allclose(np.asarray(grads[1]), np.asarray(gb))


def test_gradient_transform_arguments_and_auxiliary_data():
    weight = bss.State(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    bias = bss.State(jnp.array([0.5, -0.5]))
    x = jnp.array([1.0, 2.0])

    def loss_fn_with_aux(x, scale):
        y = x @ weight.value + bias.value
        loss = jnp.sum((y * scale) ** 2)
        return loss, {"predictions": y, "scale": scale}

    grad_transform = GradientTransform(
        target=loss_fn_with_aux,
        transform=jax.grad,
        grad_states=[weight, bias],
        argnums=[0, 1],
        has_aux=True,
        return_value=True,
    )
    grads, loss_value, aux_data = grad_transform(x, 2.0)

    def ref(w, b, x, scale):
        return jnp.sum(((x @ w + b) * scale) ** 2)

    gw, gb, gx, gs = jax.grad(ref, (0, 1, 2, 3))(weight.value, bias.value, x, 2.0)
    state_grads, arg_grads = grads
    np.testing.assert_allclose(np.asarray(state_grads[0]), np.asarray(gw))
    np.testing.assert_allclose(np.asarray(state_grads[1]), np.asarray(gb))
    np.testing.assert_allclose(np.asarray(arg_grads[0]), np.asarray(gx))
    np.testing.assert_allclose(float(arg_grads[1]), float(gs))
    np.testing.assert_allclose(float(loss_value), float(ref(weight.value, bias.value, x, 2.0)))
    np.testing.assert_allclose(np.asarray(aux_data["predictions"]), np.asarray(x @ weight.value + bias.value))
    assert float(aux_data["scale"]) == 2.0


def _essentials_model():
    class Linear(nn.Module):
        def __init__(self, din, dout):
            super().__init__()
            self.w = bss.ParamState(random.randn(din, dout) * 0.1)
            self.b = bss.ParamState(jnp.zeros(dout))

        def __call__(self, x):
            return x @ self.w.value + self.b.value

    random.seed(0)
    model = Linear(3, 1)
    x = random.randn(64, 3)
    y = random.randn(64, 1)
    return model, x, y


def test_essentials_grad_numbers_and_one_step():
    model, x, y = _essentials_model()
    params = model.states(bss.ParamState)

    def loss_fn():
        return jnp.mean((model(x) - y) ** 2)

    grads = grad(loss_fn, params)()
    assert {key: g.shape for key, g in grads.items()} == {("b",): (1,), ("w",): (3, 1)}
    grads, loss = grad(loss_fn, params, return_value=True)()
    assert float(loss) == 1.0843076705932617
    for key in params:
        params[key].value -= 0.1 * grads[key]
    # GPU matmul kernels sum in another order than CPU ones: the last bit may differ there.
    on_cpu = jax.default_backend() == "cpu"
    assert float(loss_fn()) == pytest.approx(1.023072600364685, rel=0 if on_cpu else 1e-6)


def test_essentials_jit_training_trajectory():
    model, x, y = _essentials_model()
    params = model.states(bss.ParamState)

    def loss_fn():
        return jnp.mean((model(x) - y) ** 2)

    grads, _ = grad(loss_fn, params, return_value=True)()
    for key in params:
        params[key].value -= 0.1 * grads[key]

    @jit
    def train_step():
        grads, loss = grad(loss_fn, params, return_value=True)()
        for key in params:
            params[key].value -= 0.1 * grads[key]
        return loss

    losses = [round(float(train_step()), 4) for _ in range(5)]
    assert losses == [1.0231, 0.9841, 0.9592, 0.9431, 0.9327]


def test_module_states_nested_modules():
    class Layer(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.w = bss.ParamState(jax.random.normal(k, (2, 2)))
            self.h = bss.HiddenState(jnp.zeros(2))

        def __call__(self, x):
            self.h.value = jnp.tanh(x @ self.w.value)
            return self.h.value

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            k1, k2 = jax.random.split(jax.random.key(0))
            self.l1, self.l2 = Layer(k1), Layer(k2)

        def __call__(self, x):
            return jnp.sum(self.l2(self.l1(x)) ** 2)

    net = Net()
    params = net.states(bss.ParamState)
    x = jnp.array([0.3, -0.4])
    got = grad(net, params)(x)
    assert type(got) is dict and set(got) == {("l1", "w"), ("l2", "w")}

    def ref(w1, w2):
        return jnp.sum(jnp.tanh(jnp.tanh(x @ w1) @ w2) ** 2)

    g1, g2 = jax.grad(ref, (0, 1))(net.l1.w.value, net.l2.w.value)
    np.testing.assert_allclose(np.asarray(got[("l1", "w")]), np.asarray(g1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(got[("l2", "w")]), np.asarray(g2), rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(net.l1.h.value), np.asarray(jnp.tanh(x @ net.l1.w.value)), rtol=1e-6
    )
