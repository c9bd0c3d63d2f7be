"""Every error brainstate_ir raises for its own reasons derives from BrainStateError and keeps its built-in
base, so ``except BrainStateError`` catches them all and existing ``except ValueError`` (etc.) still do."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from brainstate_ir.codegen import UnsupportedPrimitiveError, jaxpr_to_python_code
from brainstate_ir.compat import Primitive
from brainstate_ir.optimize import JaxprInterfaceError, optimize_jaxpr
from brainstate_ir.optimize import _driver as driver
from brainstate_ir.processing import JaxprValidationError, eqns_to_jaxpr
from brainstate_state import BrainStateError

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (JaxprValidationError, ValueError),
        (JaxprInterfaceError, RuntimeError),
        (UnsupportedPrimitiveError, NotImplementedError),
    ],
)
def test_ir_errors_derive_from_brainstate_error_and_their_builtin(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, BrainStateError)
    assert issubclass(error, builtin)


def test_invalid_equations_are_caught_as_brainstate_error() -> None:
    jaxpr = jax.make_jaxpr(lambda x: jnp.sin(jnp.cos(x)))(1.0).jaxpr
    for catch in (BrainStateError, ValueError):
        with pytest.raises(catch, match=r"equation 0 \(sin\) reads .* neither an input"):
            eqns_to_jaxpr(jaxpr.eqns[1:], invars=jaxpr.invars)


def test_unsupported_primitive_is_caught_as_brainstate_error() -> None:
    prim = Primitive("brainstate_test_unknown")
    prim.def_impl(lambda x: x)
    prim.def_abstract_eval(lambda x: x)
    closed = jax.make_jaxpr(lambda x: prim.bind(x) * 2.0)(1.0)
    for catch in (BrainStateError, NotImplementedError):
        with pytest.raises(catch, match="'brainstate_test_unknown'.*register_prim_handler"):
            jaxpr_to_python_code(closed)


def test_broken_pass_is_caught_as_brainstate_error(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = jax.make_jaxpr(lambda x: (x + 1.0, x * 2.0))(1.0)
    monkeypatch.setitem(driver.PASSES, "dce", lambda jaxpr: jaxpr.replace(outvars=jaxpr.outvars[:1]))
    for catch in (BrainStateError, RuntimeError):
        with pytest.raises(catch, match="pass 'dce' changed the jaxpr's interface"):
            optimize_jaxpr(closed)
