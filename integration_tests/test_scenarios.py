"""Cross-layer scenarios: the transforms of several packages used together, checked against plain JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate


class LIF(brainstate.nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.w = brainstate.ParamState(jnp.linspace(-0.2, 0.4, n * n).reshape(n, n))
        self.v = brainstate.HiddenState(jnp.zeros(n))
        self.spike = brainstate.HiddenState(jnp.zeros(n))

    def update(self, current: jax.Array) -> jax.Array:
        v = self.v.value + 0.1 * (-self.v.value + current + self.spike.value @ self.w.value)
        spike = (v >= 1.0).astype(v.dtype)
        self.v.value = jnp.where(spike > 0, 0.0, v)
        self.spike.value = spike
        return spike


def lif_reference(w: jax.Array, currents: jax.Array) -> tuple[jax.Array, jax.Array]:
    def step(
        carry: tuple[jax.Array, jax.Array], current: jax.Array
    ) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
        v, spike = carry
        v = v + 0.1 * (-v + current + spike @ w)
        new_spike = (v >= 1.0).astype(v.dtype)
        return (jnp.where(new_spike > 0, 0.0, v), new_spike), new_spike

    n = w.shape[0]
    (v, _), spikes = jax.lax.scan(step, (jnp.zeros(n), jnp.zeros(n)), currents)
    return spikes, v


def test_jit_for_loop_lif_with_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    net = LIF(8)
    currents = jnp.linspace(1.0, 3.0, 50 * 8).reshape(50, 8)

    @brainstate.transform.jit
    def run(xs: jax.Array) -> jax.Array:
        return brainstate.transform.for_loop(net, xs, pbar=brainstate.transform.ProgressBar(freq=10))

    spikes = run(currents)
    jax.effects_barrier()
    ref_spikes, ref_v = lif_reference(net.w.value, currents)
    np.testing.assert_array_equal(spikes, ref_spikes)
    np.testing.assert_allclose(net.v.value, ref_v, rtol=1e-6)
    assert float(spikes.sum()) > 0
    captured = capsys.readouterr()
    assert "50" in captured.out + captured.err  # the bar reached the last step


def test_cond_inside_scan_inside_grad() -> None:
    w = brainstate.ParamState(jnp.array([0.5, -0.3]))
    acc = brainstate.HiddenState(jnp.zeros(2))

    def loss(xs: jax.Array) -> jax.Array:
        acc.value = jnp.zeros(2)

        def body(carry: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
            def big() -> jax.Array:
                acc.value = acc.value + w.value * x
                return jnp.sum(w.value**2) * x

            def small() -> jax.Array:
                acc.value = acc.value - w.value
                return x

            y = brainstate.transform.cond(x > 0.5, big, small)
            return carry + y, y

        total, _ = brainstate.transform.scan(body, jnp.zeros(()), xs)
        return total + acc.value.sum()

    xs = jnp.array([0.2, 0.9, 0.7, 0.1])
    grads, value = brainstate.transform.grad(loss, grad_states=w, return_value=True)(xs)

    def ref(w_val: jax.Array) -> jax.Array:
        def body(c: tuple[jax.Array, jax.Array], x: jax.Array) -> tuple[tuple[jax.Array, jax.Array], None]:
            total, a = c
            y, a = jax.lax.cond(
                x > 0.5, lambda: (jnp.sum(w_val**2) * x, a + w_val * x), lambda: (x, a - w_val)
            )
            return (total + y, a), None

        (total, a), _ = jax.lax.scan(body, (jnp.zeros(()), jnp.zeros(2)), xs)
        return total + a.sum()

    np.testing.assert_allclose(value, ref(w.value), rtol=1e-6)
    np.testing.assert_allclose(grads, jax.grad(ref)(w.value), rtol=1e-6)


def test_vmap2_ensemble_training_matches_per_member_training() -> None:
    members = 4
    w = brainstate.ParamState(jnp.stack([jnp.full((3,), 0.1 * (k + 1)) for k in range(members)]))
    x = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    y = jnp.array([0.5, -0.2, 0.1, 0.3])

    def member_step() -> jax.Array:
        def loss_fn() -> jax.Array:
            return jnp.mean((x @ w.value - y) ** 2)

        grads, loss = brainstate.transform.grad(loss_fn, w, return_value=True)()
        w.value = w.value - 0.1 * grads
        return loss

    step = brainstate.transform.jit(
        brainstate.transform.vmap2(
            member_step, axis_size=members, state_in_axes={0: w}, state_out_axes={0: w}
        )
    )

    def pure_step(w_val: jax.Array) -> tuple[jax.Array, jax.Array]:
        loss, g = jax.value_and_grad(lambda v: jnp.mean((x @ v - y) ** 2))(w_val)
        return w_val - 0.1 * g, loss

    w_ref = w.value
    for _ in range(5):
        losses = step()
        w_ref, ref_losses = jax.vmap(pure_step)(w_ref)
        np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    np.testing.assert_allclose(w.value, w_ref, rtol=1e-5)


def test_make_jaxpr_optimize_and_codegen_of_a_model_step() -> None:
    net = LIF(6)
    current = jnp.linspace(0.5, 2.5, 6)
    jaxpr, states = brainstate.transform.make_jaxpr(net)(current)
    assert set(map(id, states)) == {id(net.v), id(net.w), id(net.spike)}
    optimized = brainstate.transform.optimize_jaxpr(jaxpr)
    assert len(optimized.jaxpr.eqns) <= len(jaxpr.jaxpr.eqns)
    inputs = [current, *(s.value for s in states)]
    expected = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *inputs)
    got = jax.core.eval_jaxpr(optimized.jaxpr, optimized.consts, *inputs)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    code = brainstate.transform.jaxpr_to_python_code(optimized.jaxpr, fn_name="lif_step")
    namespace: dict[str, object] = {}
    exec(code, namespace)  # noqa: S102 - the generated code is the thing under test
    generated = namespace["lif_step"](*optimized.consts, *inputs)  # type: ignore[operator]
    for a, b in zip(expected, generated, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
