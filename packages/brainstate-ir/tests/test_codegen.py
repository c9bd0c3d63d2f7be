"""Generated Python code executes and reproduces the original outputs; errors name the primitive."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _ir_corpus import CORPUS, assert_same_outputs, evaluate, traced
from brainstate_ir.codegen import (
    UnsupportedPrimitiveError,
    fn_to_python_code,
    jaxpr_to_python_code,
    register_prim_handler,
)
from brainstate_ir.compat import ClosedJaxpr, Primitive, jaxpr_and_consts, jaxpr_as_fun
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


def assert_trees_equal(expected: Any, actual: Any) -> None:
    assert jax.tree_util.tree_structure(expected) == jax.tree_util.tree_structure(actual)
    for e, a in zip(jax.tree_util.tree_leaves(expected), jax.tree_util.tree_leaves(actual), strict=True):
        assert jnp.asarray(e).dtype == jnp.asarray(a).dtype
        np.testing.assert_array_equal(e, a)


def test_fn_to_python_code_keeps_the_signature_of_pytree_arguments() -> None:
    def lif(state: dict[str, jax.Array], current: jax.Array) -> Any:
        v = state["v"] + 0.1 * (-state["v"] + current)
        return {"v": jnp.where(v > 1.0, 0.0, v), "spike": v > 1.0}

    state = {"v": jnp.array([0.5, 1.2])}
    source = fn_to_python_code(lif, state, jnp.array([2.0, 2.0]))
    assert "def lif(state, current):" in source
    generated = compile_source(source, "lif")
    # Called as the original is, several times, with NumPy and jax arrays: same pytree, same numbers.
    for v, i in [([0.5, 1.2], [2.0, 2.0]), ([0.0, 3.0], [-1.0, 0.5]), ([1.0, 1.0], [9.0, 0.0])]:
        args = ({"v": np.asarray(v, np.float32)}, jnp.asarray(i, jnp.float32))
        assert_trees_equal(lif(*args), generated(*args))
    assert "generated_function" in fn_to_python_code(lambda x: x + 1.0, 1.0)


class Params(NamedTuple):
    w: jax.Array
    b: jax.Array


def test_fn_to_python_code_with_tuples_named_tuples_keywords_and_varargs() -> None:
    def layer(params, xs, *extra, scale, **options):  # type: ignore[no-untyped-def]
        first, (second,) = xs
        y = jnp.tanh(first @ params.w + params.b) * scale + second
        return (y, [y.sum(), options["shift"] + extra[0]], None)

    params = Params(jnp.ones((3, 2)), jnp.zeros(2))
    args = (params, (jnp.arange(3.0), (jnp.ones(2),)), 1.5)
    kwargs = {"scale": 2.0, "shift": jnp.float32(0.25)}
    source = fn_to_python_code(layer, *args, **kwargs)
    assert "def layer(params, xs, *extra, scale, **options):" in source
    assert "params.w" in source and "xs[1][0]" in source and "options['shift']" in source
    generated = compile_source(source, "layer")
    for trial in range(3):
        params = Params(jnp.full((3, 2), 0.1 * trial), jnp.arange(2.0))
        args = (params, (jnp.arange(3.0) - trial, (np.ones(2, np.float32),)), 1.5 + trial)
        kwargs = {"scale": 2.0 - trial, "shift": jnp.float32(trial)}
        assert_trees_equal(layer(*args, **kwargs), generated(*args, **kwargs))


def test_fn_to_python_code_parameter_names_never_clash_with_generated_names() -> None:
    def f(b, a, *, c):  # type: ignore[no-untyped-def]
        return (a - b) * c, a + 1.0

    source = fn_to_python_code(f, 1.0, 2.0, c=3.0)
    generated = compile_source(source, "f")
    assert_trees_equal(f(4.0, 10.0, c=0.5), generated(4.0, 10.0, c=0.5))
    assert_trees_equal(f(b=4.0, a=10.0, c=0.5), generated(b=4.0, a=10.0, c=0.5))

    def positional_only(x, /, y):  # type: ignore[no-untyped-def]
        return x * y

    source = fn_to_python_code(positional_only, 2.0, 3.0)
    assert "def positional_only(x, /, y):" in source
    assert float(compile_source(source, "positional_only")(4.0, y=5.0)) == 20.0


def test_fn_to_python_code_bakes_in_parameters_left_at_their_default() -> None:
    def f(x, scale=2.0, *, shift=None):  # type: ignore[no-untyped-def]
        return x * scale if shift is None else x * scale + shift

    source = fn_to_python_code(f, jnp.arange(3.0))
    assert "def f(x):" in source
    np.testing.assert_array_equal(compile_source(source, "f")(jnp.ones(3)), f(jnp.ones(3)))
    source = fn_to_python_code(f, jnp.arange(3.0), shift=1.0)
    assert "def f(x, *, shift):" in source
    np.testing.assert_array_equal(
        compile_source(source, "f")(jnp.ones(3), shift=5.0), f(jnp.ones(3), shift=5.0)
    )


def test_fn_to_python_code_custom_pytree_nodes_are_read_by_flattening() -> None:
    # A custom node whose keys are no attributes: its leaves are read with jax.tree_util.
    point = jax.tree_util.Partial(jnp.add, jnp.float32(1.0))

    def f(p, x):  # type: ignore[no-untyped-def]
        return {"y": p(x)}, Params(x, x * 2.0)

    source = fn_to_python_code(f, point, jnp.float32(2.0))
    assert "jax.tree_util.tree_leaves(p)" in source
    out = compile_source(source, "f")(jax.tree_util.Partial(jnp.add, jnp.float32(5.0)), jnp.float32(2.0))
    assert out == ({"y": 7.0}, (2.0, 4.0))  # the named tuple comes back as a plain tuple


def test_fn_to_python_code_rejects_parameters_shadowing_modules() -> None:
    def f(np, x):  # type: ignore[no-untyped-def]
        return x * np

    with pytest.raises(
        ValueError, match="parameter 'np' of 'f' has the name of a module.*rename the parameter"
    ):
        fn_to_python_code(f, 1.0, 2.0)


def test_dynamic_slices_are_lax_calls_with_their_index_operands() -> None:
    def window(x, i):  # type: ignore[no-untyped-def]
        piece = jax.lax.dynamic_slice(x, (i,), (2,)) * 2.0
        return jax.lax.dynamic_update_slice(x, piece, (i + 1,)), x[i], x.at[i].set(-1.0)

    x = jnp.arange(6.0)
    source = fn_to_python_code(window, x, 1)
    assert "lax.dynamic_slice(a, (" in source.replace("x, (", "a, (") and ", (2,))" in source
    assert "lax.dynamic_update_slice(" in source
    generated = compile_source(source, "window")
    for i in [0, 1, 3, 4, -2, np.int32(2)]:  # Python and NumPy ints, negative and clamped indices
        assert_trees_equal(window(x, i), generated(x, i))
        assert_trees_equal(jax.jit(window)(x, i), jax.jit(generated)(x, i))


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
    body, consts = jaxpr_and_consts(closed)
    if body.constvars:  # older JAX versions hoist the array into a constvar
        # The same program with its constvars left unbound: they become the leading parameters.
        opened = eqns_to_jaxpr(body.eqns, body.invars, body.outvars, body.constvars)
        open_source = jaxpr_to_python_code(opened, "g")
        assert float(compile_source(open_source, "g")(*consts, 3)) == float(table[3] * 2.0)


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
