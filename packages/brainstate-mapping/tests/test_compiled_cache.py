"""Eager mapped calls compile a program once, whichever mapping object or fresh lambda runs it."""

from __future__ import annotations

from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_mapping import map as bmap
from brainstate_mapping import vmap, vmap2
from brainstate_state import HiddenState, ParamState, State
from brainstate_state import random as br
from brainstate_state.testing import count_compiles

# JAX's tracer-leak checker disables JAX's own caches of eager operations (slicing, reshape, ...), which
# would then compile on every call and hide what these tests count. The State leak check still runs.
JAX_LEAK_CHECKS = False


@pytest.fixture
def compiles() -> Iterator[list[str]]:
    with count_compiles() as seen:
        yield seen


def test_fresh_vmap2_of_a_lambda_per_call_compiles_once(compiles: list[str]) -> None:
    inputs = [jnp.arange(6.0) + step for step in range(7)]  # made before counting
    outs = [vmap2(lambda x: x * 2.0 + 1.0)(x) for x in inputs[:2]]
    before = len(compiles)
    outs += [vmap2(lambda x: x * 2.0 + 1.0)(x) for x in inputs[2:]]
    assert len(compiles) == before  # the same traced program: no XLA compile
    ref = jax.vmap(lambda x: x * 2.0 + 1.0)
    for x, out in zip(inputs, outs, strict=True):
        np.testing.assert_allclose(out, ref(x))


def test_fresh_vmap_with_random_lanes_compiles_once_and_keeps_the_stream(compiles: list[str]) -> None:
    br.seed(0)
    xs = jnp.zeros(4)
    first = [vmap(lambda x: x + br.randn())(xs) for _ in range(2)]
    before = len(compiles)
    later = [vmap(lambda x: x + br.randn())(xs) for _ in range(4)]
    assert len(compiles) == before
    draws = np.asarray(first + later)
    assert len({tuple(row) for row in draws.tolist()}) == 6  # every call draws new numbers
    br.seed(0)
    again = [vmap2(lambda x: x + br.randn())(xs) for _ in range(6)]
    np.testing.assert_array_equal(np.asarray(again), draws)


def test_ensemble_with_states_recreated_per_trial_compiles_once(compiles: list[str]) -> None:
    weights = [jax.random.normal(jax.random.key(seed), (4, 3)) for seed in range(6)]
    zeros = jnp.zeros((4, 3))
    x = jnp.asarray(0.5)

    def trial(w0: jax.Array) -> tuple[jax.Array, jax.Array]:
        w = ParamState(w0)  # the States are created anew for every trial
        h = HiddenState(zeros)

        def step(x: jax.Array) -> jax.Array:
            h.value = jnp.tanh(h.value + w.value * x)
            return h.value.sum()

        out = vmap2(step, in_axes=None, state_in_axes={0: (ParamState, HiddenState)})(x)
        return out, h.value

    results = [trial(w0) for w0 in weights[:2]]
    before = len(compiles)
    results += [trial(w0) for w0 in weights[2:]]
    assert len(compiles) == before
    for w0, (out, h) in zip(weights, results, strict=True):
        ref_h = jax.vmap(lambda wi: jnp.tanh(wi * 0.5))(w0)
        np.testing.assert_allclose(h, ref_h, rtol=1e-6)
        np.testing.assert_allclose(out, ref_h.sum(axis=1), rtol=1e-6)


def test_changed_unmapped_value_gives_a_new_program_not_a_stale_one(compiles: list[str]) -> None:
    offset = State(jnp.asarray(1.0))
    xs = jnp.arange(3.0)
    f = vmap2(lambda x: x + offset.value)
    first = f(xs)
    f(xs)  # the second sighting compiles
    offset.value = jnp.asarray(5.0)  # a constant of the program: same structure, new value
    before = len(compiles)
    second = f(xs)
    assert len(compiles) == before
    np.testing.assert_allclose(first, jax.vmap(lambda x: x + 1.0)(xs))
    np.testing.assert_allclose(second, jax.vmap(lambda x: x + 5.0)(xs))
    np.testing.assert_allclose(offset.value, 5.0)


def test_map_with_batch_size_in_a_loop_compiles_once(compiles: list[str]) -> None:
    xs = jnp.arange(7.0)
    outs = [bmap(lambda x: x**2, xs, batch_size=3) for _ in range(2)]
    before = len(compiles)
    outs += [bmap(lambda x: x**2, xs, batch_size=3) for _ in range(3)]
    assert len(compiles) == before
    for out in outs:
        np.testing.assert_allclose(out, jax.lax.map(lambda x: x**2, xs))


def test_a_program_is_compiled_on_its_second_sighting() -> None:
    from brainstate_ir import COMPILED_PROGRAMS

    xs = jnp.arange(5.0)
    ref = jax.vmap(lambda x: jnp.sin(x) * 3.5 - 0.25)(xs)
    before = COMPILED_PROGRAMS.stats()["compiled"]
    first = vmap2(lambda x: jnp.sin(x) * 3.5 - 0.25)(xs)  # never seen before: runs op by op
    assert COMPILED_PROGRAMS.stats()["compiled"] == before
    second = vmap2(lambda x: jnp.sin(x) * 3.5 - 0.25)(xs)  # seen again: compiled once
    assert COMPILED_PROGRAMS.stats()["compiled"] == before + 1
    third = vmap2(lambda x: jnp.sin(x) * 3.5 - 0.25)(xs)
    assert COMPILED_PROGRAMS.stats()["compiled"] == before + 1
    for out in (first, second, third):
        np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_a_callback_in_the_mapped_function_does_not_compile_every_call(compiles: list[str]) -> None:
    seen: list[float] = []
    xs = jnp.arange(3.0)

    def body(x: jax.Array) -> jax.Array:
        jax.debug.callback(lambda v: seen.append(float(v)), x)  # a fresh callback object every trace
        return x * 2.0

    outs = [vmap2(body)(xs) for _ in range(2)]
    before = len(compiles)
    outs += [vmap2(body)(xs) for _ in range(3)]
    assert len(compiles) == before
    for out in outs:
        np.testing.assert_allclose(out, [0.0, 2.0, 4.0])
    assert sorted(seen) == sorted([0.0, 1.0, 2.0] * 5)
