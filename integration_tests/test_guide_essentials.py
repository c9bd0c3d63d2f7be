"""The "Transformations, the Essentials" tutorial, run as documented, with its printed numbers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate


class Counter(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.n = brainstate.State(jnp.array(0))

    def __call__(self):
        self.n.value += 1
        return self.n.value


class Linear(brainstate.nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.w = brainstate.ParamState(brainstate.random.randn(din, dout) * 0.1)
        self.b = brainstate.ParamState(jnp.zeros(dout))

    def __call__(self, x):
        return x @ self.w.value + self.b.value


@pytest.fixture
def setup():
    brainstate.random.seed(0)
    model = Linear(3, 1)
    x = brainstate.random.randn(64, 3)
    y = brainstate.random.randn(64, 1)
    params = model.states(brainstate.ParamState)

    def loss_fn():
        return jnp.mean((model(x) - y) ** 2)

    return model, x, y, params, loss_fn


def test_version_string() -> None:
    assert isinstance(brainstate.__version__, str) and brainstate.__version__.count(".") == 2


def test_raw_jax_jit_does_not_silently_lose_the_write() -> None:
    # Instead of brainstate 0.5.4's silent [1, 1, 1, 1], a clear error that names the fix.
    with pytest.raises(brainstate.TraceContextError, match="brainstate.transform.jit"):
        jax.jit(Counter())()


def test_brainstate_jit_counter() -> None:
    fast_counter = brainstate.transform.jit(Counter())
    assert [int(fast_counter()) for _ in range(4)] == [1, 2, 3, 4]


def test_forward_shape(setup) -> None:
    model, x, *_ = setup
    assert brainstate.transform.jit(model)(x).shape == (64, 1)


def test_grad_keys_and_exact_loss(setup) -> None:
    model, x, y, params, loss_fn = setup
    grads = brainstate.transform.grad(loss_fn, params)()
    assert {key: g.shape for key, g in grads.items()} == {("b",): (1,), ("w",): (3, 1)}
    grads, loss = brainstate.transform.grad(loss_fn, params, return_value=True)()
    assert float(loss) == 1.0843076705932617
    for key in params:
        params[key].value -= 0.1 * grads[key]
    # GPU matmul kernels sum in another order than CPU ones: the last bit may differ there.
    on_cpu = jax.default_backend() == "cpu"
    assert float(loss_fn()) == pytest.approx(1.023072600364685, abs=1e-7 if on_cpu else 1e-6)


def test_vmap_predict_batch(setup) -> None:
    model, x, *_ = setup

    def predict_one(x_row):
        return jnp.tanh(model(x_row[None, :]))[0]

    predict_batch = brainstate.transform.vmap(predict_one)
    out = predict_batch(x)
    assert out.shape == (64, 1)
    np.testing.assert_allclose(out, jnp.tanh(model(x)), rtol=1e-6)


def test_jit_grad_training_trajectory(setup) -> None:
    model, x, y, params, loss_fn = setup
    grads, _ = brainstate.transform.grad(loss_fn, params, return_value=True)()
    for key in params:
        params[key].value -= 0.1 * grads[key]

    @brainstate.transform.jit
    def train_step():
        grads, loss = brainstate.transform.grad(loss_fn, params, return_value=True)()
        for key in params:
            params[key].value -= 0.1 * grads[key]
        return loss

    losses = [float(train_step()) for _ in range(5)]
    assert [round(v, 4) for v in losses] == [1.0231, 0.9841, 0.9592, 0.9431, 0.9327]
