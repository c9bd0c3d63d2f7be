"""optimize_jaxpr: argument handling, fixpoint iteration, interface checking, verbose output."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_ir
from _ir_corpus import traced
from brainstate_ir.compat import ClosedJaxpr, Jaxpr, jaxpr_and_consts, jaxpr_as_fun
from brainstate_ir.optimize import JaxprInterfaceError, optimize_jaxpr
from brainstate_ir.optimize import _driver as driver
from brainstate_ir.optimize._utils import count_eqns
from brainstate_ir.processing import inline_jit

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False


def test_returns_same_kind() -> None:
    closed, _ = traced("redundant")
    assert isinstance(optimize_jaxpr(closed), ClosedJaxpr)
    assert optimize_jaxpr(closed).consts == closed.consts
    assert isinstance(optimize_jaxpr(closed.jaxpr), Jaxpr)


def test_consts_of_a_closed_program_are_kept_by_every_tool() -> None:
    table = np.linspace(-1.0, 1.0, 40, dtype=np.float32)  # large enough to stay a const, not a literal

    def f(x: Any) -> Any:
        row = jnp.asarray(table) * x
        jnp.cos(row)  # dead
        return jax.jit(jnp.sin)(row * 1.0 + 0.0) + jnp.sin(row)

    closed = jax.make_jaxpr(f)(np.float32(0.5))
    consts = jaxpr_and_consts(closed)[1]
    assert len(consts) == 1
    tools = {"optimize_jaxpr": optimize_jaxpr, "inline_jit": inline_jit, **driver.PASSES}
    for name, tool in tools.items():
        new = tool(closed)
        new_consts = jaxpr_and_consts(new)[1]
        assert len(new_consts) == 1 and new_consts[0] is consts[0], name
        for x in (np.float32(0.5), 2.0, np.float32(-3.0)):
            np.testing.assert_allclose(jaxpr_as_fun(new)(x)[0], f(x), rtol=1e-6, err_msg=name)
    assert count_eqns(optimize_jaxpr(closed)) < count_eqns(closed)


def test_exported_from_package_root() -> None:
    assert brainstate_ir.optimize_jaxpr is optimize_jaxpr
    assert "optimize_jaxpr" in brainstate_ir.__all__ and "draw" in brainstate_ir.__all__


def test_unknown_optimization_lists_valid_names() -> None:
    closed, _ = traced("redundant")
    with pytest.raises(ValueError, match=r"unknown optimization\(s\) \['inline'\].*'constant_fold'.*'dce'"):
        optimize_jaxpr(closed, optimizations=["dce", "inline"])


def test_bad_arguments() -> None:
    closed, _ = traced("redundant")
    with pytest.raises(ValueError, match="max_iterations must be >= 1, got 0"):
        optimize_jaxpr(closed, max_iterations=0)
    with pytest.raises(TypeError, match="expects a jax Jaxpr or ClosedJaxpr, got str"):
        optimize_jaxpr("not a jaxpr")  # type: ignore[type-var]


def test_selected_passes_only() -> None:
    closed = jax.make_jaxpr(lambda x: (jnp.sin(x) + jnp.sin(x), jnp.cos(x) * 1.0))(1.0)
    only_dce = optimize_jaxpr(closed, optimizations=["dce"])
    assert len(only_dce.jaxpr.eqns) == len(closed.jaxpr.eqns)
    cse = optimize_jaxpr(closed, optimizations=("cse", "dce"))
    assert [e.primitive.name for e in cse.jaxpr.eqns] == ["sin", "add", "cos", "mul"]
    single = optimize_jaxpr(closed, optimizations="algebraic_simplification")  # type: ignore[arg-type]
    assert "mul" not in [e.primitive.name for e in single.jaxpr.eqns]


def test_iterates_to_fixpoint() -> None:
    # cse runs before algebra turns sin(x * 1) into a duplicate of sin(x): a second round merges them.
    def f(x: jax.Array) -> jax.Array:
        return jnp.sin(x * 1.0) - jnp.sin(x)

    closed = jax.make_jaxpr(f)(1.0)
    one = optimize_jaxpr(closed, max_iterations=1, optimizations=["cse", "algebraic_simplification", "dce"])
    full = optimize_jaxpr(closed, max_iterations=3, optimizations=["cse", "algebraic_simplification", "dce"])
    assert len(full.jaxpr.eqns) < len(one.jaxpr.eqns)
    assert [e.primitive.name for e in full.jaxpr.eqns] == ["sin", "sub"]


def test_verbose_prints_counts(capsys: pytest.CaptureFixture[str]) -> None:
    closed, _ = traced("redundant")
    optimize_jaxpr(closed, verbose=True)
    out = capsys.readouterr().out
    assert "equations" in out and "constant_fold" in out and "dce" in out


def test_interface_change_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = jax.make_jaxpr(lambda x: (x + 1.0, x * 2.0))(1.0)

    def broken(jaxpr: Jaxpr) -> Jaxpr:
        return jaxpr.replace(outvars=jaxpr.outvars[:1])

    monkeypatch.setitem(driver.PASSES, "dce", broken)
    with pytest.raises(
        JaxprInterfaceError, match="pass 'dce' changed the jaxpr's interface: it has 1 outputs instead of 2"
    ):
        optimize_jaxpr(closed)
