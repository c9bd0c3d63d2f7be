"""The JAX-version shims of ``brainstate_ir.compat`` that the IR tools read jaxprs through."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from brainstate_ir.compat import (
    JAXPR_CARRIES_CONSTS,
    ClosedJaxpr,
    Jaxpr,
    is_closed_jaxpr,
    jaxpr_and_consts,
    jaxpr_as_fun,
    map_jaxpr,
    scan_num_consts_carry,
)

TABLE = np.linspace(-1.0, 1.0, 40, dtype=np.float32)


def _scan_eqn(fn: Any, *args: Any) -> Any:
    closed = jax.make_jaxpr(fn)(*args)
    return next(e for e in closed.jaxpr.eqns if e.primitive.name == "scan")


def test_scan_operand_counts() -> None:
    def f(w: Any, b: Any, c0: Any, xs1: Any, xs2: Any) -> Any:
        def body(c: Any, x: Any) -> Any:
            a, bb = x
            return c * w + a + b, a * bb

        return lax.scan(body, c0, (xs1, xs2))

    ones = jnp.ones(5)
    eqn = _scan_eqn(f, 2.0, 3.0, 0.0, ones, ones)
    num_consts, num_carry = scan_num_consts_carry(eqn.params)
    assert (num_consts, num_carry) == (2, 1)
    assert len(eqn.invars) - num_consts - num_carry == 2  # xs1, xs2
    # Several carries and no consts, and a reversed scan.
    eqn = _scan_eqn(
        lambda c, d, xs: lax.scan(lambda cd, x: ((cd[0] + x, cd[1] * x), x), (c, d), xs, reverse=True),
        1.0,
        2.0,
        ones,
    )
    assert scan_num_consts_carry(eqn.params) == (0, 2)


def test_jaxpr_and_consts_of_closed_and_open_jaxprs() -> None:
    closed = jax.make_jaxpr(lambda i: jnp.asarray(TABLE)[i] * 2.0)(3)
    assert is_closed_jaxpr(closed)
    body, consts = jaxpr_and_consts(closed)
    assert isinstance(body, Jaxpr) and len(consts) == 1 and np.array_equal(np.asarray(consts[0]), TABLE)
    assert len(body.constvars) == 1 and len(body.invars) == 1
    out = jax.core.eval_jaxpr(body, consts, 3)[0]
    assert float(out) == float(TABLE[3] * 2.0)
    # An open jaxpr has no consts; it is closed only where every jaxpr is (jax >= 0.11).
    open_body, no_consts = jaxpr_and_consts(jax.make_jaxpr(jnp.sin)(1.0).jaxpr)
    assert no_consts == [] and [e.primitive.name for e in open_body.eqns] == ["sin"]
    assert is_closed_jaxpr(open_body) == JAXPR_CARRIES_CONSTS


def test_map_jaxpr_keeps_consts_and_kind() -> None:
    closed = jax.make_jaxpr(lambda i: jnp.sin(jnp.asarray(TABLE)[i]) * 2.0)(3)
    seen: list[Jaxpr] = []

    def drop_last_mul(body: Jaxpr) -> Jaxpr:
        seen.append(body)
        sin_out = body.eqns[-2].outvars[0]
        new: Jaxpr = body.replace(eqns=body.eqns[:-1], outvars=[sin_out])
        return new

    for _ in range(2):  # the input is not modified: the same rewrite twice gives the same result
        new = map_jaxpr(closed, drop_last_mul)
        assert isinstance(new, ClosedJaxpr)
        assert jaxpr_and_consts(new)[1][0] is jaxpr_and_consts(closed)[1][0]
        for i in (3, np.int32(7), 0):
            expected = jnp.sin(jnp.asarray(TABLE)[i])
            assert float(jaxpr_as_fun(new)(i)[0]) == float(expected)
            assert float(jaxpr_as_fun(closed)(i)[0]) == float(expected * 2.0)
    assert all(b is jaxpr_and_consts(closed)[0] for b in seen)
    # An open jaxpr stays open (a plain Jaxpr).
    open_jaxpr = jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0).jaxpr
    new_open = map_jaxpr(open_jaxpr, drop_last_mul)
    assert jaxpr_and_consts(new_open)[1] == [] and len(new_open.eqns) == 1
