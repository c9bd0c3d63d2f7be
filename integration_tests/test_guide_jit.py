"""The "JIT Compilation" guide, run as documented, with its printed numbers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import brainstate


@brainstate.transform.jit
def softplus(x: jax.Array) -> jax.Array:
    return jnp.log1p(jnp.exp(-jnp.abs(x))) + jnp.maximum(x, 0)


class RunningMean(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.sum = brainstate.HiddenState(jnp.array(0.0))
        self.count = brainstate.HiddenState(jnp.array(0))

    def __call__(self, batch: jax.Array) -> jax.Array:
        self.sum.value += jnp.sum(batch)
        self.count.value += batch.size
        return self.sum.value / self.count.value


class TinyLinear(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = brainstate.ParamState(jnp.array([[1.0]]))
        self.bias = brainstate.ParamState(jnp.array([0.0]))

    def __call__(self, x: jax.Array) -> jax.Array:
        return x @ self.weight.value + self.bias.value


def test_softplus_values_compile_and_clear_cache() -> None:
    xs = jnp.linspace(-5.0, 5.0, 7)
    np.testing.assert_allclose(
        softplus(xs),
        [0.00671535, 0.03505242, 0.17300805, 0.69314724, 1.839675, 3.368386, 5.0067153],
        rtol=1e-6,
    )
    with jax.disable_jit():
        softplus(xs * 2.0)
    assert isinstance(softplus, brainstate.transform.JittedFunction)
    softplus.compile(jnp.ones((4,)))
    np.testing.assert_allclose(softplus(jnp.ones((4,))), [1.3132617] * 4, rtol=1e-6)
    softplus.clear_cache()
    np.testing.assert_allclose(
        softplus(jnp.linspace(-1.0, 1.0, 5)), [0.3132617, 0.474077, 0.6931472, 0.974077, 1.3132617], rtol=1e-6
    )


def test_running_mean_with_brainstate_jit() -> None:
    tracker = RunningMean()

    @brainstate.transform.jit
    def update_running_mean(batch):
        return tracker(batch)

    means = [f"{float(update_running_mean(jnp.arange(4.0) + step)):.2f}" for step in range(3)]
    assert means == ["1.50", "2.00", "2.50"]
    assert (float(tracker.sum.value), int(tracker.count.value)) == (30.0, 12)


def test_running_mean_with_raw_jax_and_treefy() -> None:
    model = RunningMean()
    graph_def, hidden_state_tree = brainstate.graph.treefy_split(model, brainstate.HiddenState)

    def running_mean_stateless(state_tree, batch):
        module = brainstate.graph.treefy_merge(graph_def, state_tree)
        out = module(batch)
        new_state_tree = brainstate.graph.treefy_states(module, brainstate.HiddenState)
        return out, new_state_tree

    jax_jitted = jax.jit(running_mean_stateless)
    state_tree = hidden_state_tree
    means = []
    for step in range(3):
        mean, state_tree = jax_jitted(state_tree, jnp.arange(4.0) + step)
        means.append(f"{float(mean):.2f}")
    assert means == ["1.50", "2.00", "2.50"]
    assert (int(state_tree["count"].value), float(state_tree["sum"].value)) == (12, 30.0)


def test_treefy_split_states_and_grads() -> None:
    lin = TinyLinear()
    lin_graph, param_tree, other_states = brainstate.graph.treefy_split(lin, brainstate.ParamState, ...)
    assert list(param_tree.to_flat().keys()) == [("bias",), ("weight",)]
    params_only = brainstate.graph.treefy_states(lin, brainstate.ParamState)
    assert list(params_only.to_flat().keys()) == [("bias",), ("weight",)]

    def mse_loss(params, others, x):
        lin_recovered = brainstate.graph.treefy_merge(lin_graph, params, others)
        pred = lin_recovered(x)
        target = 2.0 * x + 1.0
        return jnp.mean((pred - target) ** 2)

    loss_value, grads = jax.value_and_grad(mse_loss)(param_tree, other_states, jnp.array([[0.0], [1.0]]))
    assert float(loss_value) == 2.5
    assert isinstance(grads["bias"], brainstate.TreefyState)
    assert grads["bias"].type is brainstate.ParamState
    np.testing.assert_allclose(grads["bias"].value, [-3.0])
    np.testing.assert_allclose(grads["weight"].value, [[-2.0]])


def test_static_polynomial() -> None:
    @brainstate.transform.jit(static_argnums=1)
    def polynomial_series(x: jax.Array, degree: int) -> jax.Array:
        powers = [x ** (i + 1) for i in range(degree)]
        coeffs = jnp.arange(1, degree + 1, dtype=x.dtype)
        return jnp.tensordot(coeffs, jnp.stack(powers, axis=0), axes=1)

    x = jnp.array([1.0, 2.0])
    np.testing.assert_allclose(polynomial_series(x, 3), [6.0, 34.0])
    np.testing.assert_allclose(polynomial_series(x, 3), [6.0, 34.0])
    np.testing.assert_allclose(polynomial_series(x, 4), [10.0, 98.0])
