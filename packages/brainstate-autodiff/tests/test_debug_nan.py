"""grad(debug_nan=True): reports the primitive that made a gradient NaN, eagerly and under jit."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import grad
from brainstate_jit import jit


def make():
    s = bss.State(jnp.array([-1.0, 4.0]), name="x")
    n = bss.State(jnp.array(0), name="calls")

    def f():
        n.value = n.value + 1
        return jnp.sum(jnp.sqrt(s.value))

    return s, n, f


def test_eager_nan_gradient_names_the_primitive_and_changes_nothing():
    s, n, f = make()
    with pytest.raises(RuntimeError, match=r"(?s)NaN/Inf detected \[grad\].*`sqrt`"):
        grad(f, s, debug_nan=True)()
    assert int(n.value) == 0


def test_under_jit_nan_is_reported():
    s, n, f = make()

    @jit
    def step():
        return grad(f, s, debug_nan=True)()

    with pytest.raises(Exception, match="sqrt"):
        step()
    assert int(n.value) == 0


def test_finite_gradients_pass_through():
    s, n, f = make()
    s.value = jnp.array([1.0, 4.0])
    g = grad(f, s, debug_nan=True)
    np.testing.assert_allclose(np.asarray(g()), [0.5, 0.25])

    @jit
    def step():
        return grad(f, s, debug_nan=True)()

    np.testing.assert_allclose(np.asarray(step()), [0.5, 0.25])
    assert int(n.value) == 2
