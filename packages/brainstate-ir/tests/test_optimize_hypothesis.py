"""Property tests: on random programs full of redundancy, every pass and optimize_jaxpr keep the values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from _ir_corpus import assert_same_outputs, evaluate
from brainstate_ir.compat import check_jaxpr
from brainstate_ir.optimize import PASSES, optimize_jaxpr
from brainstate_ir.optimize._utils import count_eqns

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False

# Values chosen to expose unsound rewrites: signed zeros, NaN, infinities.
X = jnp.array([-1.5, -0.0, 0.0, 2.0, jnp.nan, jnp.inf], jnp.float32)
Y = jnp.array([0.5, 3.0, -0.0, -2.0, 1.0, -jnp.inf], jnp.float32)
N = jnp.array([-3, 0, 1, 2, 7, -1], jnp.int32)

Op = Callable[[list[Any], int, int], Any]
FLOAT_OPS: list[Op] = [
    lambda v, i, j: v[i] + v[j],
    lambda v, i, j: v[i] - v[j],
    lambda v, i, j: v[i] * v[j],
    lambda v, i, j: jnp.maximum(v[i], v[j]),
    lambda v, i, j: jnp.minimum(jnp.maximum(v[i], -jnp.inf), jnp.inf),
    lambda v, i, j: jnp.sin(v[i]),
    lambda v, i, j: jnp.tanh(v[i]),
    lambda v, i, j: -v[i],
    lambda v, i, j: v[i] * 1.0,
    lambda v, i, j: v[i] + 0.0,
    lambda v, i, j: v[i] / 1.0,
    lambda v, i, j: v[i] * 0.0,
    lambda v, i, j: v[i] - v[i],
    lambda v, i, j: jnp.sin(v[i]) + jnp.sin(v[i]),  # duplicate
    lambda v, i, j: v[i] + jnp.exp(jnp.float32(j % 3)) * 2.0,  # constant subexpression
    lambda v, i, j: jnp.where(v[i] > v[j], v[i], v[j]),
    lambda v, i, j: v[i].astype(jnp.float32).reshape(6),  # no-op conversions
    lambda v, i, j: jax.jit(lambda a: a * 2.0 + 0.0)(v[i]),
    lambda v, i, j: jax.lax.cond(j % 2 == 0, lambda a: a + 1.0, lambda a: a * 1.0, v[i]),
    lambda v, i, j: jnp.cos(v[j]) * 0 + v[i] ** 1,
    lambda v, i, j: jax.lax.fori_loop(0, 2, lambda k, a: a * 1.0 + jnp.sin(v[j]) + jnp.sin(v[j]), v[i]),
    lambda v, i, j: jax.lax.scan(lambda c, t: (c + t * 1.0, c - 0.0), v[i], jnp.stack([v[j], v[j]]))[1][1],
]
INT_OPS: list[Op] = [
    lambda v, i, j: v[i] + v[j],
    lambda v, i, j: v[i] * 0,
    lambda v, i, j: v[i] * 1 + 0,
    lambda v, i, j: jnp.maximum(v[i], v[i]),
    lambda v, i, j: v[i] & v[i],
    lambda v, i, j: jnp.negative(-v[i]),
    lambda v, i, j: v[i] * v[j] - 3,
    lambda v, i, j: jnp.where(True, v[i], v[j]),
]

steps = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=25
)


def build(ops: list[Op], program: list[tuple[int, int, int]], outputs: list[int]) -> Callable[..., Any]:
    def fn(x: jax.Array, y: jax.Array) -> Any:
        values = [x, y]
        for op, i, j in program:
            values.append(ops[op % len(ops)](values, i % len(values), j % len(values)))
        return tuple(values[k % len(values)] for k in outputs)

    return fn


def check_all_passes(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    closed = jax.make_jaxpr(fn)(*args)
    expected = evaluate(closed, list(args))
    variants = {name: p(closed) for name, p in PASSES.items()}
    variants["optimize_jaxpr"] = optimize_jaxpr(closed)
    for name, optimized in variants.items():
        assert list(optimized.jaxpr.invars) == list(closed.jaxpr.invars), name
        assert [v.aval for v in optimized.jaxpr.outvars] == [v.aval for v in closed.jaxpr.outvars], name
        assert count_eqns(optimized) <= count_eqns(closed), name
        check_jaxpr(optimized.jaxpr)
        assert_same_outputs(expected, evaluate(optimized, list(args)))


@settings(max_examples=50, deadline=None)
@given(program=steps, outputs=st.lists(st.integers(0, 100), min_size=1, max_size=4))
def test_float_programs(program: list[tuple[int, int, int]], outputs: list[int]) -> None:
    check_all_passes(build(FLOAT_OPS, program, outputs), (X, Y))


@settings(max_examples=25, deadline=None)
@given(program=steps, outputs=st.lists(st.integers(0, 100), min_size=1, max_size=4))
def test_int_programs(program: list[tuple[int, int, int]], outputs: list[int]) -> None:
    check_all_passes(build(INT_OPS, program, outputs), (N, N[::-1]))


@settings(max_examples=30, deadline=None)
@given(program=steps)
def test_optimize_is_idempotent_and_never_grows(program: list[tuple[int, int, int]]) -> None:
    closed = jax.make_jaxpr(build(FLOAT_OPS, program, [-1, -2]))(X, Y)
    once = optimize_jaxpr(closed, max_iterations=5)
    twice = optimize_jaxpr(once, max_iterations=5)
    assert count_eqns(twice) == count_eqns(once) <= count_eqns(closed)
    np.testing.assert_array_equal(
        np.asarray(evaluate(once, [X, Y])[0]), np.asarray(evaluate(twice, [X, Y])[0])
    )
