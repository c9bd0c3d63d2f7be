"""checkpoint / remat: a checkpoint equation, gradients equal to the plain function, writes applied once."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_ir import StatefulFunction, make_jaxpr
from brainstate_jit import RematFunction, checkpoint, jit, remat

_REMAT_NAMES = ("checkpoint", "remat", "remat2")


def _stateful_grad(fun, x):
    """grad of a State-using scalar function w.r.t. x, with the State writes committed once (by hand)."""
    sf = StatefulFunction(fun)
    program = sf.get_program(x)
    values = [s.value for s in program.states]

    def pure(x_, values_):
        new_values, out = sf.jaxpr_call(values_, x_)
        return out, new_values

    g, new_values = jax.grad(pure, has_aux=True)(x, values)
    for state, value in zip(program.states, new_values, strict=True):
        if value is not None:  # one entry per State; None for a State the program only reads
            state.value = value
    return g


def test_make_jaxpr_contains_a_checkpoint_equation_with_the_options():
    w = bss.ParamState(jnp.array(2.0), name="w")

    @remat(prevent_cse=False, policy=jax.checkpoint_policies.nothing_saveable)
    def block(x):
        return jnp.sin(x * w.value)

    jaxpr, states = make_jaxpr(block)(1.0)
    (eqn,) = jaxpr.jaxpr.eqns
    assert eqn.primitive.name in _REMAT_NAMES
    assert eqn.params["prevent_cse"] is False
    assert eqn.params["policy"] is jax.checkpoint_policies.nothing_saveable
    assert states == (w,)
    assert isinstance(block, RematFunction) and checkpoint is remat


def test_counter_written_once_under_grad_and_grads_equal_plain():
    calls = bss.State(jnp.array(0), name="calls")
    w = bss.ParamState(jnp.array([0.5, -1.0, 2.0]), name="w")

    def body(x):
        calls.value = calls.value + 1
        return jnp.sin(jnp.sin(x * w.value))

    blk = checkpoint(body)
    g = _stateful_grad(lambda x: jnp.sum(blk(x)), jnp.array(0.7))
    assert int(calls.value) == 1
    g_ref = jax.grad(lambda x: jnp.sum(jnp.sin(jnp.sin(x * jnp.array([0.5, -1.0, 2.0])))))(0.7)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)
    # The same through brainstate's jit: still exactly one write per call.
    step = jit(lambda x: _stateful_grad(lambda y: jnp.sum(blk(y)), x))
    np.testing.assert_allclose(step(jnp.array(0.7)), g_ref, rtol=1e-6)
    np.testing.assert_allclose(step(jnp.array(0.7)), g_ref, rtol=1e-6)
    assert int(calls.value) == 3


@settings(max_examples=8, deadline=None)
@given(st.lists(st.floats(-3, 3, width=32), min_size=3, max_size=3))
def test_remat_forward_and_grad_match_hand_threaded_jax(values):
    x = jnp.asarray(values, dtype=jnp.float32)
    h = bss.State(jnp.zeros_like(x), name="h")

    @checkpoint
    def cell(inp):
        h.value = jnp.tanh(h.value + inp)
        return h.value * inp

    def by_hand(hv, inp):
        hv = jnp.tanh(hv + inp)
        return hv * inp, hv

    out = cell(x)
    out_ref, h_ref = by_hand(jnp.zeros_like(x), x)
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.value, h_ref, rtol=1e-5, atol=1e-6)
    g = _stateful_grad(lambda v: jnp.sum(cell(v)), x)
    g_ref = jax.grad(lambda v: jnp.sum(by_hand(h_ref, v)[0]))(x)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)


def test_static_argnums_select_the_program():
    @checkpoint(static_argnums=1)
    def power(x, n):
        return x**n

    assert float(power(jnp.array(2.0), 3)) == 8.0
    assert float(jax.grad(lambda x: power(x, 3))(2.0)) == 12.0
    jaxpr, _ = make_jaxpr(lambda x: power(x, 2))(1.0)
    (eqn,) = jaxpr.jaxpr.eqns
    assert eqn.primitive.name in _REMAT_NAMES
    assert len(eqn.invars) == 1  # n is compiled in


def test_kwargs_are_passed_through():
    @checkpoint
    def f(x, *, scale):
        return x * scale

    assert float(f(jnp.array(2.0), scale=jnp.array(4.0))) == 8.0
    assert float(jax.grad(lambda s: f(jnp.array(2.0), scale=s))(1.0)) == 2.0


def test_remat_of_a_module():
    class Cell(bss.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = bss.ParamState(jnp.array(3.0))
            self.steps = bss.ShortTermState(jnp.array(0))

        def update(self, x):
            self.steps.value = self.steps.value + 1
            return jnp.sin(self.w.value * x)

    cell = Cell()
    rcell = remat(cell)
    np.testing.assert_allclose(rcell(jnp.array(0.5)), jnp.sin(1.5), rtol=1e-6)
    assert int(cell.steps.value) == 1
    g = _stateful_grad(lambda x: rcell(x), jnp.array(0.5))
    np.testing.assert_allclose(g, 3.0 * jnp.cos(1.5), rtol=1e-6)
    assert int(cell.steps.value) == 2


def test_remat_as_a_method_decorator():
    class Model:
        def __init__(self):
            self.k = bss.State(jnp.array(2.0))

        @checkpoint
        def run(self, x):
            return self.k.value * x

    # A plain object `self` is not an array: it must be declared static, and the error says so.
    with pytest.raises(TypeError, match="mark the argument static"):
        Model().run(jnp.array(3.0))

    class StaticModel(Model):
        @checkpoint(static_argnums=0)
        def run(self, x):
            return self.k.value * x

    assert float(StaticModel().run(jnp.array(3.0))) == 6.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"static_argnums": -1}, ValueError, "static_argnums must be non-negative, got -1"),
        ({"static_argnums": (0, -2)}, ValueError, "static_argnums must be non-negative, got -2"),
        ({"static_argnums": "0"}, TypeError, "static_argnums must be an int or a sequence of ints, got '0'"),
        ({"prevent_cse": 1}, TypeError, "prevent_cse must be a bool, got int"),
        ({"policy": "dots"}, TypeError, "policy must be None or a jax.checkpoint_policies policy"),
    ],
)
def test_rejected_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        checkpoint(lambda x: x, **kwargs)
    if "static_argnums" in kwargs:
        with pytest.raises(error, match=match):
            checkpoint(**kwargs)


def test_rejected_fun_and_arguments_leave_states_unchanged():
    with pytest.raises(TypeError, match="checkpoint needs a callable .*got int"):
        checkpoint(3)
    s = bss.State(jnp.array(1.0), name="s")

    @checkpoint
    def f(x):
        s.value = s.value + x
        return s.value

    with pytest.raises(ValueError, match="Inputs of brainstate transformations cannot be States"):
        f(s)
    with pytest.raises(TypeError, match="not a valid JAX type"):
        f("text")
    assert float(s.value) == 1.0
