"""Differential harness: every transform on random stateful programs equals plain JAX with threaded state.

For each generated :class:`~differential.Program`, the stateful version runs through a brainstate
transform and the pure version (state threaded by hand) through the matching JAX transform; outputs and
final State values must agree. ``BRAINSTATE_DIFF_EXAMPLES`` sets the number of programs per transform
(default 200).
"""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brainstate
from differential import Program, Step, programs

EXAMPLES = int(os.environ.get("BRAINSTATE_DIFF_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
RTOL, ATOL = 2e-5, 2e-6
xs_strategy = st.lists(st.floats(-1.0, 1.0, allow_nan=False, width=32), min_size=1, max_size=1)


def close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL)


def inputs(program: Program, scale: float, length: int | None = None) -> jax.Array:
    base = jnp.linspace(-1.0, 1.0, program.size) * scale
    if length is None:
        return base
    return jnp.stack([base * (0.5 + 0.25 * t) for t in range(length)])


@SETTINGS
@given(program=programs(with_random=True), scale=st.floats(-1.0, 1.0, allow_nan=False))
def test_jit(program: Program, scale: float) -> None:
    states = program.make_states()
    rng = brainstate.random.RandomState(7) if program.random_step is not None else None
    values = [s.value for s in states]
    key = rng.value if rng is not None else None
    x = inputs(program, scale)
    fn = brainstate.transform.jit(program.stateful(states, rng))
    pure = jax.jit(program.pure)
    for _ in range(2):  # the second call runs the cached program with the updated States
        out = fn(x)
        ref, values, key = pure(values, key, x)
        close(out, ref)
        for state, value in zip(states, values, strict=True):
            close(state.value, value)
        if rng is not None:
            np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(key))


@SETTINGS
@given(program=programs(), scale=st.floats(-1.0, 1.0, allow_nan=False), jit_outer=st.booleans())
def test_grad_and_jit_grad(program: Program, scale: float, jit_outer: bool) -> None:
    states = program.make_states()
    values = [s.value for s in states]
    x = inputs(program, scale)
    grad_fn = brainstate.transform.grad(
        program.stateful(states), grad_states=list(states), argnums=0, return_value=True, check_states=False
    )
    if jit_outer:
        grad_fn = brainstate.transform.jit(grad_fn)
    (state_grads, x_grad), value = grad_fn(x)

    def loss(vals: list[jax.Array], x: jax.Array) -> jax.Array:
        return program.pure(vals, None, x)[0]

    ref_value = loss(values, x)
    ref_state_grads, ref_x_grad = jax.grad(loss, argnums=(0, 1))(values, x)
    close(value, ref_value)
    close(x_grad, ref_x_grad)
    for g, ref_g in zip(state_grads, ref_state_grads, strict=True):
        close(g, ref_g)
    _, new_values, _ = program.pure(values, None, x)
    for state, value in zip(states, new_values, strict=True):  # writes committed with primal values
        close(state.value, value)


@SETTINGS
@given(program=programs(), scale=st.floats(-1.0, 1.0, allow_nan=False), batch=st.integers(1, 4))
def test_vmap_ensemble(program: Program, scale: float, batch: int) -> None:
    states = program.make_states()
    for k, state in enumerate(states):  # one copy of every State per lane
        state.value = jnp.stack([state.value * (1.0 + 0.1 * (lane + k)) for lane in range(batch)])
    values = [s.value for s in states]
    xs = jnp.stack([inputs(program, scale) * (1 + lane) for lane in range(batch)])
    mapped = brainstate.transform.vmap2(
        program.stateful(states),
        state_in_axes={0: brainstate.ParamState},
        state_out_axes={0: brainstate.ParamState},
    )
    out = mapped(xs)
    ref, new_values, _ = jax.vmap(program.pure, in_axes=(0, None, 0))(values, None, xs)
    close(out, ref)
    for state, value in zip(states, new_values, strict=True):
        close(state.value, value)


def scan_reference(
    program: Program, values: list[jax.Array], xs: jax.Array
) -> tuple[jax.Array, list[jax.Array]]:
    def body(vals: list[jax.Array], x: jax.Array) -> tuple[list[jax.Array], jax.Array]:
        out, new_vals, _ = program.pure(vals, None, x)
        return new_vals, out

    final, ys = jax.lax.scan(body, values, xs)
    return ys, final


@SETTINGS
@given(program=programs(), scale=st.floats(-1.0, 1.0, allow_nan=False), length=st.integers(1, 5))
def test_for_loop(program: Program, scale: float, length: int) -> None:
    states = program.make_states()
    values = [s.value for s in states]
    xs = inputs(program, scale, length)
    ys = brainstate.transform.for_loop(program.stateful(states), xs)
    ref_ys, final = scan_reference(program, values, xs)
    close(ys, ref_ys)
    for state, value in zip(states, final, strict=True):
        close(state.value, value)


@SETTINGS
@given(program=programs(), scale=st.floats(-1.0, 1.0, allow_nan=False), length=st.integers(1, 4))
def test_grad_of_for_loop(program: Program, scale: float, length: int) -> None:
    states = program.make_states()
    values = [s.value for s in states]
    xs = inputs(program, scale, length)
    step = program.stateful(states)

    def total(xs: jax.Array) -> jax.Array:
        return brainstate.transform.for_loop(step, xs).sum()

    grads = brainstate.transform.grad(total, grad_states=list(states), check_states=False)(xs)

    def ref_total(vals: list[jax.Array], xs: jax.Array) -> jax.Array:
        return scan_reference(program, vals, xs)[0].sum()

    ref_grads = jax.grad(ref_total)(values, xs)
    for g, ref_g in zip(grads, ref_grads, strict=True):
        close(g, ref_g)


@SETTINGS
@given(program=programs(max_states=2), scale=st.floats(-1.0, 1.0, allow_nan=False), length=st.integers(1, 4))
def test_vmap_of_scan(program: Program, scale: float, length: int) -> None:
    # Shared, read-only States inside a scan inside a vmap: every step only accumulates into the output.
    program = Program(
        program.n_states,
        program.size,
        tuple(Step(s.op, s.a, s.b, -1) for s in program.steps),
        None,
        program.init,
    )
    states = program.make_states()
    values = [s.value for s in states]
    xs = jnp.stack([inputs(program, scale, length) * (1 + lane) for lane in range(3)])
    step = program.stateful(states)

    def run(xs: jax.Array) -> jax.Array:
        def body(carry: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
            return carry + step(x), carry

        return brainstate.transform.scan(body, jnp.zeros(()), xs)[1]

    ys = brainstate.transform.vmap(run)(xs)

    def ref_run(xs: jax.Array) -> jax.Array:
        def body(acc: jax.Array, x: jax.Array) -> Any:
            return acc + program.pure(values, None, x)[0], acc

        return jax.lax.scan(body, jnp.zeros(()), xs)[1]

    close(ys, jax.vmap(ref_run)(xs))
    for state, value in zip(states, values, strict=True):
        close(state.value, value)


@SETTINGS
@given(
    first=programs(max_states=2),
    second_steps=st.data(),
    pred=st.booleans(),
    scale=st.floats(-1.0, 1.0, allow_nan=False),
)
def test_cond(first: Program, second_steps: st.DataObject, pred: bool, scale: float) -> None:
    second = second_steps.draw(programs(max_states=first.n_states))
    second = Program(
        first.n_states,
        first.size,
        tuple(
            Step(
                s.op,
                min(s.a, first.n_states - 1),
                min(s.b, first.n_states - 1),
                min(s.target, first.n_states - 1),
            )
            for s in second.steps
        ),
        None,
        first.init,
    )
    states = first.make_states()
    values = [s.value for s in states]
    x = inputs(first, scale)
    out = brainstate.transform.cond(pred, first.stateful(states), second.stateful(states), x)

    def branch(program: Program) -> Any:
        return lambda vals, x: program.pure(vals, None, x)[:2]

    ref, new_values = jax.lax.cond(pred, branch(first), branch(second), values, x)
    close(out, ref)
    for state, value in zip(states, new_values, strict=True):
        close(state.value, value)
