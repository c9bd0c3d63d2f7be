"""The data path under StatefulFunction: one signature for values and their tracers, exact invalidation
of cached programs, and the shared compiled-program cache keyed by structure."""

from __future__ import annotations

import gc
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import CompiledProgramCache, StatefulFunction, jaxpr_key, leaf_signature
from brainstate_state.testing import count_compiles


@pytest.mark.parametrize("value", [1.0, 2, True, 1j, np.float64(3.0), np.arange(3), jnp.ones(2)])
def test_leaf_signature_of_a_value_equals_that_of_its_tracer(value) -> None:
    seen = []

    def f(x):
        seen.append(leaf_signature(x))
        return x

    jax.jit(f)(value)
    assert seen == [leaf_signature(value)]


def test_program_found_again_inside_jax_jit_without_retracing() -> None:
    traces = []
    s = bss.State(jnp.array(1.0))

    def f(x, y):
        traces.append(1)
        return s.value * x + y

    sf = StatefulFunction(f)
    sf.get_program(1.0, np.ones(2))

    @jax.jit
    def outer(x, y):
        program = sf.get_program(x, y)
        return program.evaluate([x, y], [s.value])[0]

    np.testing.assert_allclose(outer(2.0, np.ones(2)), [3.0, 3.0])
    assert len(traces) == 1


class Cell(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.v = bss.State(jnp.array(1.0))

    def read(self, x):
        return self.v.value * x


def test_unrelated_module_changes_keep_the_program() -> None:
    cell = Cell()
    traces = []

    def f(x):
        traces.append(1)
        return cell.read(x)

    sf = StatefulFunction(f)
    sf(1.0)
    for _ in range(3):
        other = Cell()
        other.v = bss.State(jnp.array(5.0))
        assert float(sf(2.0)) == 2.0
    assert len(traces) == 1
    assert sf.get_program(1.0).valid


def test_replacing_a_state_the_program_reached_invalidates_it() -> None:
    cell = Cell()
    sf = StatefulFunction(cell.read)
    program = sf.get_program(1.0)
    assert program.states == (cell.v,)
    cell.v = bss.State(jnp.array(7.0))
    assert not program.valid
    assert float(sf(2.0)) == 14.0
    assert sf.get_states(1.0) == (cell.v,)


def test_explicit_bump_invalidates_programs_reading_plain_objects() -> None:
    class Holder:  # not a graph node: its attribute reads are not recorded
        pass

    holder = Holder()
    holder.c = bss.State(jnp.array(1.0))
    sf = StatefulFunction(lambda: holder.c.value * 2)
    assert float(sf()) == 2.0
    holder.c = bss.State(jnp.array(100.0))
    bss.bump_graph_epoch()
    assert float(sf()) == 200.0


def test_structure_key_ignores_names_identities_and_constant_values() -> None:
    a = jax.make_jaxpr(lambda x: x * jnp.arange(3.0) + 1.0)(1.0)
    b = jax.make_jaxpr(lambda y: y * jnp.arange(3.0) + 1.0)(5.0)
    c = jax.make_jaxpr(lambda y: y * jnp.arange(3.0) + 2.0)(5.0)  # another literal
    d = jax.make_jaxpr(lambda y: y * jnp.arange(4.0) + 1.0)(5.0)  # another constant shape
    assert jaxpr_key(a) == jaxpr_key(b)
    assert jaxpr_key(a) != jaxpr_key(c)
    assert jaxpr_key(a) != jaxpr_key(d)


def test_compiled_cache_passes_constants_as_arguments() -> None:
    cache = CompiledProgramCache()
    for scale in (1.0, 2.0, 3.0):
        c = jnp.full(3, scale)
        closed = jax.make_jaxpr(lambda x, c=c: x * c)(1.0)
        np.testing.assert_allclose(cache.call_jaxpr(closed, [2.0])[0], np.full(3, 2 * scale))
    stats = cache.stats()
    assert stats["size"] == 1 and stats["compiled"] == 1 and stats["hits"] == 2


def test_compiled_cache_distinguishes_callbacks() -> None:
    cache = CompiledProgramCache()
    calls: list[str] = []

    def run(tag: str) -> None:
        def f(x):
            jax.debug.callback(lambda v: calls.append(tag), x)
            return x + 1

        cache.call_jaxpr(jax.make_jaxpr(f)(1.0), [1.0])

    run("first")
    run("second")
    jax.effects_barrier()
    assert calls == ["first", "second"]


def _run_through(cache: CompiledProgramCache) -> weakref.ref[bss.State]:
    s = bss.State(jnp.ones(2))
    sf = StatefulFunction(lambda x: s.value * x)
    program = sf.get_program(1.0)
    out, _ = cache.call(program, [3.0], [s.value])
    np.testing.assert_allclose(out, [3.0, 3.0])
    traced = jax.jit(lambda x: cache.call(program, [x], [s.value])[0])(2.0)
    np.testing.assert_allclose(traced, [2.0, 2.0])
    return weakref.ref(s)


def test_compiled_cache_evaluates_tracers_directly_and_keeps_no_state() -> None:
    cache = CompiledProgramCache()
    ref = _run_through(cache)
    gc.collect()
    assert ref() is None
    assert cache.stats()["size"] == 1


def test_compile_after_runs_op_by_op_first() -> None:
    cache = CompiledProgramCache(compile_after=2)
    closed = jax.make_jaxpr(lambda x: jnp.sin(x) * 2)(1.0)
    first = cache.call_jaxpr(closed, [1.0])[0]
    assert cache.stats()["compiled"] == 0
    second = cache.call_jaxpr(closed, [1.0])[0]
    assert cache.stats()["compiled"] == 1
    assert float(first) == pytest.approx(float(second)) == pytest.approx(2 * np.sin(1.0))


def test_eager_calls_of_fresh_stateful_functions_share_one_executable() -> None:
    s = bss.State(jnp.zeros(5))
    with count_compiles() as compiles:
        per_call = []
        for step in range(5):
            before = len(compiles)
            sf = StatefulFunction(lambda x: _accumulate(s, x))
            out = sf(float(step))
            per_call.append(len(compiles) - before)
            np.testing.assert_allclose(out, np.full(5, sum(range(step + 1)) * 2.0))
    assert per_call[2:] == [0, 0, 0], per_call
    np.testing.assert_allclose(s.value, np.full(5, 10.0))


def _accumulate(s: bss.State, x: float) -> jax.Array:
    s.value = s.value + x
    return s.value * 2
