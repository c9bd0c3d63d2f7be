"""eqns_to_jaxpr / eqns_to_closed_jaxpr (inference and validation) and inline_jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _ir_corpus import CORPUS, assert_same_outputs, evaluate, traced
from brainstate_ir.compat import ClosedJaxpr, Jaxpr, check_jaxpr, jaxpr_as_fun, new_var
from brainstate_ir.processing import JaxprValidationError, eqns_to_closed_jaxpr, eqns_to_jaxpr, inline_jit

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False


def _jaxpr(fn, *args) -> Jaxpr:  # type: ignore[no-untyped-def]
    return jax.make_jaxpr(fn)(*args).jaxpr


def test_infers_invars_and_leaf_outvars() -> None:
    jaxpr = _jaxpr(lambda x, y: (jnp.sin(x) * y, jnp.cos(y)), 1.0, 2.0)
    rebuilt = eqns_to_jaxpr(jaxpr.eqns)
    assert rebuilt.invars == jaxpr.invars
    assert rebuilt.outvars == jaxpr.outvars  # mul and cos results are read by no equation
    check_jaxpr(rebuilt)


def test_infers_from_a_slice_of_equations() -> None:
    jaxpr = _jaxpr(lambda x: jnp.exp(jnp.sin(x) + 1.0), 1.0)
    middle = eqns_to_jaxpr(jaxpr.eqns[1:2])  # add: reads the sin result, which becomes an input
    assert middle.invars == [jaxpr.eqns[0].outvars[0]]
    assert middle.outvars == [jaxpr.eqns[1].outvars[0]]
    assert float(jaxpr_as_fun(ClosedJaxpr(middle, []))(2.0)[0]) == 3.0


def test_explicit_binders_and_effects() -> None:
    closed = jax.make_jaxpr(lambda x: (jax.debug.print("{x}", x=x), x * 2.0)[1])(1.0)
    jaxpr = closed.jaxpr
    rebuilt = eqns_to_jaxpr(jaxpr.eqns, invars=jaxpr.invars, outvars=jaxpr.outvars)
    assert rebuilt.effects == jaxpr.effects and rebuilt.effects


def test_undefined_variable() -> None:
    jaxpr = _jaxpr(lambda x: jnp.sin(jnp.cos(x)), 1.0)
    with pytest.raises(JaxprValidationError, match=r"equation 0 \(sin\) reads .* neither an input"):
        eqns_to_jaxpr(jaxpr.eqns[1:], invars=jaxpr.invars)


def test_read_before_defined() -> None:
    jaxpr = _jaxpr(lambda x: jnp.sin(jnp.cos(x)), 1.0)
    with pytest.raises(
        JaxprValidationError, match=r"equation 0 reads .* before equation 1 \(cos\) defines it"
    ):
        eqns_to_jaxpr(list(reversed(jaxpr.eqns)))


def test_defined_twice() -> None:
    jaxpr = _jaxpr(lambda x: jnp.sin(x), 1.0)
    with pytest.raises(JaxprValidationError, match="defined twice: by equation 0 and by equation 1"):
        eqns_to_jaxpr([jaxpr.eqns[0], jaxpr.eqns[0]])
    with pytest.raises(JaxprValidationError, match="defined twice: by an input"):
        eqns_to_jaxpr(jaxpr.eqns, invars=[*jaxpr.invars, jaxpr.eqns[0].outvars[0]])


def test_bad_binders() -> None:
    jaxpr = _jaxpr(lambda x: jnp.sin(x), 1.0)
    with pytest.raises(JaxprValidationError, match="output .* is not defined"):
        eqns_to_jaxpr(jaxpr.eqns, outvars=[new_var(jaxpr.invars[0].aval)])
    with pytest.raises(JaxprValidationError, match=r"invars\[0\] must be a jaxpr Var"):
        eqns_to_jaxpr(jaxpr.eqns, invars=["x"])  # type: ignore[list-item]
    with pytest.raises(JaxprValidationError, match=r"eqns\[0\] must be a JaxprEqn"):
        eqns_to_jaxpr(["sin"])  # type: ignore[list-item]


def test_closed_jaxpr_with_consts() -> None:
    jaxpr = _jaxpr(lambda x, w: x * w, 2.0, 3.0)
    x, w = jaxpr.invars
    closed = eqns_to_closed_jaxpr(jaxpr.eqns, invars=[x], constvars=[w], consts=[np.float32(5.0)])
    assert float(jaxpr_as_fun(closed)(2.0)[0]) == 10.0
    with pytest.raises(JaxprValidationError, match="got 0 consts for 1 constvars"):
        eqns_to_closed_jaxpr(jaxpr.eqns, invars=[x], constvars=[w])
    with pytest.raises(JaxprValidationError, match="got 1 consts for 0 constvars"):
        eqns_to_closed_jaxpr(jaxpr.eqns, consts=[1.0])


# ---------------------------------------------------------------- inline_jit


def _prims(jaxpr: Jaxpr) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


def test_inline_nested_and_shared_bodies() -> None:
    inner = jax.jit(lambda a: jnp.tanh(a) * 2.0)
    outer = jax.jit(lambda a: inner(a) + inner(a + 1.0))
    closed = jax.make_jaxpr(lambda x: outer(x) - 1.0)(jnp.ones(3))
    flat = inline_jit(closed)
    assert isinstance(flat, ClosedJaxpr)
    assert _prims(flat.jaxpr) == ["tanh", "mul", "add", "tanh", "mul", "add", "sub"]
    check_jaxpr(flat.jaxpr)  # the shared body got fresh variables at each site
    assert_same_outputs(jaxpr_as_fun(closed)(jnp.ones(3)), jaxpr_as_fun(flat)(jnp.ones(3)))


def test_inline_predicate_and_open_jaxpr() -> None:
    keep = jax.jit(jnp.sin)
    closed = jax.make_jaxpr(lambda x: keep(x) + jax.jit(jnp.cos)(x))(1.0)
    partial = inline_jit(closed.jaxpr, should_expand=lambda eqn: eqn.params["name"] != "sin")
    assert isinstance(partial, Jaxpr)
    assert _prims(partial)[0] in ("jit", "pjit") and "cos" in _prims(partial)


def test_inline_inside_control_flow() -> None:
    closed = jax.make_jaxpr(lambda p, x: jax.lax.cond(p, lambda a: jax.jit(jnp.sin)(a), jnp.cos, x))(
        True, 1.0
    )
    flat = inline_jit(closed)
    branches = flat.jaxpr.eqns[-1].params["branches"]
    assert ["sin"] in [_prims(b.jaxpr) for b in branches]


@pytest.mark.parametrize("program", sorted(CORPUS))
def test_inline_keeps_values(program: str) -> None:
    closed, args = traced(program)
    flat = inline_jit(closed)
    check_jaxpr(flat.jaxpr)
    assert list(flat.jaxpr.invars) == list(closed.jaxpr.invars)
    assert_same_outputs(evaluate(closed, args), evaluate(flat, args))


def test_inline_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="inline_jit expects"):
        inline_jit(42)  # type: ignore[type-var]
