"""make_jaxpr: the four documented examples and the layout rules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_state as bss
from brainstate_ir import make_jaxpr


def f(x):
    return jnp.sin(jnp.cos(x))


def test_example_basic_usage() -> None:
    jaxpr, states = make_jaxpr(f)(3.0)
    assert states == ()
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["cos", "sin"]
    assert jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 3.0)[0] == jnp.sin(jnp.cos(3.0))


def test_example_with_gradient() -> None:
    jaxpr, states = make_jaxpr(jax.grad(f))(3.0)
    assert states == ()
    out = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, 3.0)[0]
    np.testing.assert_allclose(out, jax.grad(f)(3.0))


def test_example_with_shape_information() -> None:
    jaxpr, states, shapes = make_jaxpr(f, return_shape=True)(3.0)
    assert states == ()
    assert shapes.shape == () and shapes.dtype == jnp.float32


def test_example_stateful_function() -> None:
    state = bss.State(jnp.array([1.0, 2.0]))

    def stateful_f(x):
        state.value += x
        return state.value

    jaxpr, states = make_jaxpr(stateful_f)(jnp.array([0.5, 0.5]))
    assert states == (state,)
    assert len(jaxpr.jaxpr.invars) == 2 and len(jaxpr.jaxpr.outvars) == 2
    out, new_state = jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, jnp.array([0.5, 0.5]), state.value)
    np.testing.assert_allclose(out, [1.5, 2.5])
    np.testing.assert_allclose(new_state, [1.5, 2.5])
    np.testing.assert_array_equal(state.value, [1.0, 2.0])  # make_jaxpr never changes a State


def test_read_only_states_returned_by_default_and_not_with_return_only_write() -> None:
    a = bss.State(jnp.array(1.0))
    b = bss.State(jnp.array(2.0))

    def g(x):
        a.value = x + b.value
        return x

    jaxpr, states = make_jaxpr(g)(1.0)
    assert states == (b, a) and len(jaxpr.jaxpr.outvars) == 3
    jaxpr_w, _ = make_jaxpr(g, return_only_write=True)(1.0)
    assert len(jaxpr_w.jaxpr.outvars) == 2


def test_static_argnums_and_axis_env() -> None:
    jaxpr, _ = make_jaxpr(lambda x, n: x**n, static_argnums=1)(2.0, 3)
    assert len(jaxpr.jaxpr.invars) == 1
    jaxpr, _ = make_jaxpr(lambda x: jax.lax.psum(x, "i"), axis_env=[("i", 4)])(1.0)
    assert any(e.primitive.name == "psum" for e in jaxpr.jaxpr.eqns)
