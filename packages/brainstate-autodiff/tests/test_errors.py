"""Rejected inputs: error type, a message that names the problem (and the State), and no State changed."""

from __future__ import annotations

import builtins
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import GradientTransform, fwd_grad, grad, jacrev, sofo_grad, vector_grad


def make():
    w = bss.ParamState(jnp.array([1.0, 2.0]), name="weight")
    unused = bss.ParamState(jnp.array(3.0), name="never_read")
    count = bss.State(jnp.array(0), name="count")

    def loss(x):
        count.value = count.value + 1
        return jnp.sum(w.value * x)

    return w, unused, count, loss


def unchanged(*states_and_values):
    for state, value in states_and_values:
        np.testing.assert_array_equal(np.asarray(state.value), np.asarray(value))


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (-1, ValueError),
        ((0, -2), ValueError),
        (1.5, TypeError),
        ("0", TypeError),
        ((0, None), TypeError),
        (True, TypeError),
    ],
)
def test_bad_argnums_rejected(bad, error):
    w, _, count, loss = make()
    with pytest.raises(error, match="argnums"):
        grad(loss, w, argnums=bad)
    with pytest.raises(error, match="argnums"):
        GradientTransform(loss, jax.grad, argnums=bad)
    unchanged((count, 0), (w, [1.0, 2.0]))


def test_argnums_out_of_range_names_user_number():
    w, _, count, loss = make()
    with pytest.raises(ValueError, match="argnums contains 2.*1 positional"):
        grad(loss, argnums=2)(jnp.ones(2))
    unchanged((count, 0))


def test_unused_grad_state_names_the_state_and_changes_nothing():
    w, unused, count, loss = make()
    with pytest.raises(ValueError) as info:
        grad(loss, [w, unused])(jnp.ones(2))
    message = str(info.value)
    assert "never_read" in message and "check_states=False" in message and "ParamState" in message
    assert "test_errors.py" in message  # the creation site
    unchanged((count, 0), (w, [1.0, 2.0]), (unused, 3.0))


def test_unused_grad_state_gives_zeros_with_check_states_false():
    w, unused, count, loss = make()
    gw, gu = grad(loss, [w, unused], check_states=False)(jnp.ones(2))
    assert float(gu) == 0.0
    np.testing.assert_allclose(np.asarray(gw), [1.0, 1.0])
    unchanged((count, 1))


def test_has_aux_requires_pair():
    w, _, count, loss = make()
    for g in (grad(loss, w, has_aux=True), vector_grad(lambda: (w.value, w.value, w.value), w, has_aux=True)):
        with pytest.raises(TypeError, match=r"\(value, aux\)"):
            g(jnp.ones(2)) if g.target is loss else g()
    unchanged((count, 0))


def test_non_state_in_grad_states_rejected():
    w, _, _, loss = make()
    with pytest.raises(TypeError, match="pytree .* of States"):
        grad(loss, [w, w.value])
    with pytest.raises(TypeError, match="callable"):
        GradientTransform(3, jax.grad)


def test_state_as_argument_rejected_without_change():
    w, _, count, loss = make()
    with pytest.raises(ValueError, match="cannot be States"):
        grad(lambda s: jnp.sum(s.value), argnums=0)(w)
    unchanged((count, 0))


def test_non_scalar_output_of_grad_is_a_type_error_without_change():
    w, _, count, _ = make()

    def f():
        count.value = count.value + 1
        return w.value * 2

    with pytest.raises(TypeError, match="scalar"):
        grad(f, w)()
    unchanged((count, 0))
    np.testing.assert_allclose(np.asarray(jacrev(f, w)()), 2 * np.eye(2))
    unchanged((count, 1))


def test_failing_function_changes_no_state():
    w, _, count, _ = make()

    def f():
        count.value = count.value + 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        grad(f, w, check_states=False)()
    unchanged((count, 0))


def test_unit_aware_without_brainunit_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name.startswith("brainunit"):
            raise ImportError("No module named 'brainunit'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setitem(sys.modules, "brainunit", None)
    monkeypatch.setitem(sys.modules, "brainunit.autograd", None)
    monkeypatch.setattr(builtins, "__import__", blocked)
    w, _, _, loss = make()
    for factory in (grad, vector_grad, jacrev):
        with pytest.raises(ImportError, match=r"brainstate-autodiff\[units\]"):
            factory(loss, w, unit_aware=True)


def test_fwd_grad_and_sofo_option_validation():
    w, _, _, loss = make()
    with pytest.raises(ValueError, match="tangent_size"):
        fwd_grad(loss, w, tangent_size=0)
    with pytest.raises(TypeError, match="key must be"):
        fwd_grad(loss, w, key="seed")
    with pytest.raises(ValueError, match="'mse' or 'ce'"):
        sofo_grad(loss, lambda y: y, w, loss="l1")
    with pytest.raises(ValueError, match="tangent_size"):
        sofo_grad(loss, lambda y: y, w, tangent_size=0)
    with pytest.raises(ValueError, match="damping"):
        sofo_grad(loss, lambda y: y, w, damping=-1.0)
    with pytest.raises(TypeError, match="floating-point"):
        fwd_grad(lambda n: n * 1.0, argnums=0, key=jax.random.key(0))(jnp.array(3))
    with pytest.raises(TypeError, match="scalar-valued"):
        fwd_grad(lambda: w.value * 2, w, key=jax.random.key(0))()


def test_unit_aware_with_brainunit_keeps_units():
    u = pytest.importorskip("brainunit")
    w = bss.State(jnp.array([1.0, 2.0]) * u.mV)
    x = jnp.array([3.0, 4.0]) * u.mA
    g = grad(lambda x: u.math.sum(w.value * x), w, argnums=0, unit_aware=True)
    gw, gx = g(x)
    assert u.math.allclose(gw, x) and u.math.allclose(gx, w.value)
    jac = jacrev(lambda x: w.value * x, w, unit_aware=True)(x)
    assert u.math.allclose(jac, u.math.diag(x))
