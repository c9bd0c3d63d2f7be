"""Eager gradients share compiled programs: a fresh grad object per step, re-created States and fresh
lambdas compile once; values match jax.value_and_grad with the state threaded by hand."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import grad
from brainstate_state.testing import count_compiles


@pytest.fixture
def compiles() -> Iterator[list[str]]:
    with count_compiles() as seen:
        yield seen


def _pure_loss(w, b, x, y):
    return jnp.mean((jnp.tanh(x @ w + b) - y) ** 2)


def test_fresh_grad_object_per_step_compiles_once(compiles) -> None:
    key = jax.random.key(0)
    x = jax.random.normal(key, (8, 3))
    y = jnp.ones((8, 2))
    w = bss.ParamState(jnp.asarray(np.full((3, 2), 0.1, np.float32)), name="w")
    b = bss.ParamState(jnp.zeros(2), name="b")
    w_ref, b_ref = w.value, b.value

    def loss_fn():
        return _pure_loss(w.value, b.value, x, y)

    counts = []
    for _ in range(6):
        before = len(compiles)
        grads, loss = grad(loss_fn, {"w": w, "b": b}, return_value=True)()
        counts.append(len(compiles) - before)
        (ref_loss, (gw, gb)) = jax.value_and_grad(_pure_loss, argnums=(0, 1))(w_ref, b_ref, x, y)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
        np.testing.assert_allclose(grads["w"], gw, rtol=1e-5)
        np.testing.assert_allclose(grads["b"], gb, rtol=1e-5)
        w.value = w.value - 0.1 * grads["w"]
        b.value = b.value - 0.1 * grads["b"]
        w_ref, b_ref = w_ref - 0.1 * gw, b_ref - 0.1 * gb
    assert counts[0] >= 1 and counts[1:] == [0] * 5, counts  # compiled on the first step only


def test_recreated_states_share_the_compiled_gradient_and_are_collected(compiles) -> None:
    x = jnp.arange(4.0)
    refs = []
    counts = []
    for trial in range(5):
        w = bss.ParamState(jnp.asarray(np.full(4, trial, np.float32)), name="w")
        refs.append(weakref.ref(w))
        before = len(compiles)
        g = grad(lambda w=w: jnp.sum(w.value * x) ** 2, w)()
        counts.append(len(compiles) - before)
        np.testing.assert_allclose(g, 2 * jnp.sum(w.value * x) * x, rtol=1e-6)
        del w, g
    gc.collect()
    assert counts[1:] == [0] * 4, counts
    assert all(r() is None for r in refs[:-1])


def test_same_structure_different_captured_constants_give_their_own_values() -> None:
    s = bss.ParamState(jnp.ones(3), name="s")
    results = []
    for scale in (1.0, 2.0, 3.0):
        c = jnp.full(3, scale)  # captured array constant: an argument of the shared executable
        results.append(grad(lambda c=c: jnp.sum(s.value * c), s)())
    for scale, g in zip((1.0, 2.0, 3.0), results, strict=True):
        np.testing.assert_allclose(g, jnp.full(3, scale))


def test_written_states_committed_through_the_shared_executable() -> None:
    w = bss.ParamState(jnp.array(2.0), name="w")
    count = bss.State(jnp.array(0), name="count")

    def loss():
        count.value = count.value + 1
        return w.value**2

    for step in range(3):
        g = grad(loss, w)()
        assert float(g) == pytest.approx(4.0)
        assert int(count.value) == step + 1


class _Scaled(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = bss.ParamState(jnp.array(1.5))
        self.scale = 1.0

    def loss(self, x):
        return self.scale * (self.w.value * x) ** 2


def test_eager_grad_sees_changed_attributes_and_closures(compiles) -> None:
    # An eager gradient is what jax.grad gives on the current Python values: a plain attribute or a
    # closure value changed between calls is seen (the body is traced again on every eager call), and a
    # program seen before reuses its compiled executable.
    m = _Scaled()
    g = grad(m.loss, {"w": m.w})
    cell = {"a": 1.0}
    h = grad(lambda x: cell["a"] * x**2)
    scales = [1.0, 3.0, 3.0, 1.0, 3.0, 1.0]
    expected_w = [float(jax.grad(lambda w, s=s: s * (w * 2.0) ** 2)(1.5)) for s in scales]
    expected_x = [float(jax.grad(lambda x, s=s: s * x**2)(2.0)) for s in scales]
    for step, scale in enumerate(scales):
        m.scale = scale
        cell["a"] = scale
        np.testing.assert_allclose(g(2.0)["w"], expected_w[step], rtol=1e-6)
        np.testing.assert_allclose(h(2.0), expected_x[step], rtol=1e-6)
        if step == 3:
            warm = len(compiles)
    assert len(compiles) == warm  # both programs of each function were compiled by their second sighting
