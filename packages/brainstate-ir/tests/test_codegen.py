"""Generated Python code executes and reproduces the original outputs; errors name the primitive."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _ir_corpus import CORPUS, assert_same_outputs, evaluate, traced
from brainstate_ir._compat import ClosedJaxpr, Primitive, jaxpr_as_fun
from brainstate_ir.codegen import (
    UnsupportedPrimitiveError,
    fn_to_python_code,
    jaxpr_to_python_code,
    register_prim_handler,
)
from brainstate_ir.optimize import optimize_jaxpr
from brainstate_ir.processing import eqns_to_closed_jaxpr, eqns_to_jaxpr

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False


def compile_source(source: str, name: str = "generated_function") -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[name]


def call_flat(fn: Any, closed: ClosedJaxpr, args: list[Any]) -> list[Any]:
    out = fn(*args)
    return [out] if len(closed.jaxpr.outvars) == 1 else list(out)


def compiled(fn: Any, closed: ClosedJaxpr, args: list[Any]) -> list[Any]:
    out = jax.jit(fn)(*args)
    return out if isinstance(out, list) else call_flat(lambda *a: out, closed, args)  # jaxpr_as_fun: a list


@pytest.mark.parametrize("program", sorted(CORPUS))
def test_round_trip_corpus(program: str) -> None:
    closed, args = traced(program)
    source = jaxpr_to_python_code(closed)
    assert source.startswith("import jax\nimport jax.numpy as jnp\nfrom jax import lax\nimport numpy as np\n")
    # Both sides compiled whole by XLA from the same primitives: the values must match bit for bit.
    expected = compiled(jaxpr_as_fun(closed), closed, args)
    assert_same_outputs(expected, compiled(compile_source(source), closed, args))


def test_round_trip_eager_matches_interpreter() -> None:
    # Run eagerly, op by op, the generated code reproduces the jaxpr's op-by-op evaluation.
    closed, args = traced("cond")
    fn = compile_source(jaxpr_to_python_code(closed))
    with jax.disable_jit():
        actual = call_flat(fn, closed, args)
    assert_same_outputs(evaluate(closed, args), actual)


@pytest.mark.parametrize("program", ["mlp_step", "lif_scan", "redundant", "cond"])
def test_round_trip_optimized(program: str) -> None:
    # Optimised jaxprs hold folded literals (some of them arrays) in place of equations.
    closed, args = traced(program)
    fn = compile_source(jaxpr_to_python_code(optimize_jaxpr(closed)))
    assert_same_outputs(compiled(jaxpr_as_fun(closed), closed, args), compiled(fn, closed, args))


def test_control_flow_becomes_helpers() -> None:
    for program, expected in [
        ("lif_scan", "lax.scan("),
        ("cond", "lax.switch("),
        ("while", "lax.while_loop("),
        ("jit_nested", "jax.jit(_jit_"),
        ("remat", "jax.checkpoint("),
    ]:
        source = jaxpr_to_python_code(traced(program)[0])
        assert expected in source, program


def test_fn_to_python_code_names_function_and_flattens_pytrees() -> None:
    def lif(state: dict[str, jax.Array], current: jax.Array) -> Any:
        v = state["v"] + 0.1 * (-state["v"] + current)
        return {"v": jnp.where(v > 1.0, 0.0, v), "spike": v > 1.0}

    state = {"v": jnp.array([0.5, 1.2])}
    source = fn_to_python_code(lif, state, jnp.array([2.0, 2.0]))
    assert "def lif(a, b):" in source
    spike, v = compile_source(source, "lif")(state["v"], jnp.array([2.0, 2.0]))  # dict leaves sorted by key
    expected = lif(state, jnp.array([2.0, 2.0]))
    np.testing.assert_array_equal(v, expected["v"])
    np.testing.assert_array_equal(spike, expected["spike"])
    assert "generated_function" in fn_to_python_code(lambda x: x + 1.0, 1.0)


def test_literals_keep_dtype_and_special_values() -> None:
    def f(x: jax.Array, i: jax.Array) -> Any:
        return jnp.maximum(x, -jnp.inf) + jnp.float16(0.5), i + jnp.int8(3), jnp.where(x > 0, jnp.nan, x)

    args = [jnp.array([1.0, -2.0], jnp.float16), jnp.array([1, 2], jnp.int8)]
    closed = jax.make_jaxpr(f)(*args)
    source = jaxpr_to_python_code(closed)
    assert "np.float16(0.5)" in source and "np.int8(3)" in source and "float('-inf')" in source
    assert_same_outputs(evaluate(closed, args), call_flat(compile_source(source), closed, args))


def test_consts_of_closed_jaxpr_are_embedded_and_open_constvars_are_parameters() -> None:
    table = np.linspace(0.0, 1.0, 40, dtype=np.float32)
    closed = jax.make_jaxpr(lambda i: jnp.asarray(table)[i] * 2.0)(3)
    source = jaxpr_to_python_code(closed)
    assert "np.frombuffer(bytes.fromhex(" in source  # 40 elements: exact bytes
    assert float(compile_source(source)(3)) == float(table[3] * 2.0)
    if closed.jaxpr.constvars:  # older JAX versions hoist the array into a constvar
        open_source = jaxpr_to_python_code(closed.jaxpr, "g")
        assert float(compile_source(open_source, "g")(*closed.consts, 3)) == float(table[3] * 2.0)


def test_open_jaxpr_constvars_become_leading_parameters() -> None:
    jaxpr = jax.make_jaxpr(lambda w, x: jnp.tanh(w * x))(2.0, 3.0).jaxpr
    w, x = jaxpr.invars
    with_const = eqns_to_jaxpr(jaxpr.eqns, invars=[x], constvars=[w])
    source = jaxpr_to_python_code(with_const, "f")
    assert "def f(a, b):" in source
    assert float(compile_source(source, "f")(2.0, 3.0)) == float(jnp.tanh(6.0))
    closed = eqns_to_closed_jaxpr(jaxpr.eqns, invars=[x], constvars=[w], consts=[np.float32(2.0)])
    closed_source = jaxpr_to_python_code(closed, "g")
    assert "def g(a):" in closed_source and "_const_" in closed_source
    assert float(compile_source(closed_source, "g")(3.0)) == float(jnp.tanh(6.0))


def test_unknown_primitive_error_names_it_and_registration_fixes_it() -> None:
    prim = Primitive("brainstate_test_double")
    prim.def_impl(lambda x: x * 2)
    prim.def_abstract_eval(lambda x: x)
    closed = jax.make_jaxpr(lambda x: prim.bind(x) + 1.0)(1.0)
    with pytest.raises(UnsupportedPrimitiveError, match="'brainstate_test_double'.*register_prim_handler"):
        jaxpr_to_python_code(closed)
    register_prim_handler(
        "brainstate_test_double", lambda ctx, eqn, args: f"lax.mul({args[0]}, np.float32(2))"
    )
    assert float(compile_source(jaxpr_to_python_code(closed))(3.0)) == 7.0


def test_bad_arguments() -> None:
    closed, _ = traced("lif_step")
    with pytest.raises(ValueError, match="fn_name must be a Python identifier, got 'not valid'"):
        jaxpr_to_python_code(closed, "not valid")
    with pytest.raises(TypeError, match="expects a Jaxpr or ClosedJaxpr, got int"):
        jaxpr_to_python_code(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be callable"):
        register_prim_handler("sin", "lax.sin")  # type: ignore[arg-type]
