"""forward_substitution: the sweep shared by the passes that replace equations by atoms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir.compat import ClosedJaxpr, Jaxpr, JaxprEqn, Var, jaxpr_as_fun
from brainstate_ir.optimize._utils import Atom, forward_substitution

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False


def _drop_sin(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Sequence[Atom] | None:
    return invars[:1] if eqn.primitive.name == "sin" else None


def _pass(jaxpr: Jaxpr, memo: dict[int, Any]) -> Jaxpr:
    return forward_substitution(jaxpr, memo, _drop_sin, lambda j: _pass(j, memo))


def _names(jaxpr: Jaxpr) -> list[str]:
    return [eqn.primitive.name for eqn in jaxpr.eqns]


def test_replaced_results_are_read_from_the_replacement_including_outputs() -> None:
    closed = jax.make_jaxpr(lambda x: (jnp.sin(x) * 2.0, jnp.sin(jnp.cos(x))))(1.0)
    new = _pass(closed.jaxpr, {})
    assert "sin" not in _names(new) and "cos" in _names(new)
    out = jaxpr_as_fun(ClosedJaxpr(new, closed.consts))(np.float32(0.5))
    np.testing.assert_allclose(out[0], 1.0)
    np.testing.assert_allclose(out[1], np.cos(np.float32(0.5)), rtol=1e-6)
    assert "sin" in _names(closed.jaxpr)  # the original is not modified


def test_sub_jaxprs_are_rewritten_once_and_stay_shared() -> None:
    def body(x: jax.Array) -> jax.Array:
        return jnp.sin(x) + 1.0

    closed = jax.make_jaxpr(lambda x: jax.jit(body)(x) + jax.jit(body)(x))(1.0)
    outer = closed.jaxpr
    inner = [eqn.params["jaxpr"] for eqn in outer.eqns if "jaxpr" in eqn.params]
    assert len(inner) == 2 and inner[0] is inner[1]
    memo: dict[int, Any] = {}
    new = _pass(outer, memo)
    rewritten = [eqn.params["jaxpr"] for eqn in new.eqns if "jaxpr" in eqn.params]
    assert rewritten[0] is rewritten[1]
    assert "sin" not in _names(rewritten[0].jaxpr)
    np.testing.assert_allclose(jaxpr_as_fun(ClosedJaxpr(new, closed.consts))(np.float32(2.0))[0], 6.0)


def test_definitions_seen_by_the_rewrite_are_the_kept_equations() -> None:
    seen: list[list[str]] = []

    def record(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Sequence[Atom] | None:
        seen.append(sorted({d.primitive.name for d in defs.values()}))
        return None

    closed = jax.make_jaxpr(lambda x: jnp.exp(jnp.cos(x)))(1.0)
    new = forward_substitution(closed.jaxpr, {}, record, lambda j: j)
    assert seen == [[], ["cos"]]
    assert _names(new) == ["cos", "exp"]
