"""StatefulFunction: program layout, caching, staleness, new states, rejected inputs, differential checks."""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_ir import StatefulFunction


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fn):  # decorator that counts Python executions
        def wrapped(*a, **k):
            self.calls += 1
            return fn(*a, **k)

        return wrapped


def test_layout_args_then_states_and_written_outputs() -> None:
    a = bss.State(jnp.array(1.0), name="a")
    b = bss.State(jnp.array(2.0), name="b")

    def f(x):
        a.value = a.value + x + b.value
        return x * 2

    program = StatefulFunction(f).get_program(1.0)
    assert program.states == (a, b)
    assert program.written == (True, False)
    assert len(program.jaxpr.jaxpr.invars) == 3  # x, a, b
    assert len(program.jaxpr.jaxpr.outvars) == 2  # out, a
    program_all = StatefulFunction(f, return_only_write=False).get_program(1.0)
    assert len(program_all.jaxpr.jaxpr.outvars) == 3  # out, a, b


def test_write_only_state_is_still_an_input() -> None:
    s = bss.State(jnp.zeros(2))

    def f(x):
        s.value = x
        return x

    jaxpr = StatefulFunction(f).get_jaxpr(jnp.ones(2))
    assert len(jaxpr.jaxpr.invars) == 2
    assert len(jaxpr.jaxpr.outvars) == 2


def test_jaxpr_call_is_pure_and_call_writes_back() -> None:
    s = bss.State(jnp.array(1.0))

    def f(x):
        s.value = s.value * x
        return s.value + 1

    sf = StatefulFunction(f)
    new_values, out = sf.jaxpr_call([jnp.array(3.0)], 2.0)
    assert float(new_values[0]) == 6.0 and float(out) == 7.0
    assert float(s.value) == 1.0
    assert float(sf(2.0)) == 3.0
    assert float(s.value) == 2.0


def test_jaxpr_call_checks_number_of_state_values() -> None:
    s = bss.State(jnp.array(1.0))
    sf = StatefulFunction(lambda: s.value * 2)
    with pytest.raises(ValueError, match="touches 1 State"):
        sf.jaxpr_call(
            [],
        )


def test_cache_hit_no_retrace_and_retrace_on_new_signature() -> None:
    s = bss.State(jnp.zeros(3))
    count = Counter()

    @count
    def f(x):
        s.value = s.value + x
        return s.value

    sf = StatefulFunction(f)
    sf.get_program(jnp.ones(3))
    sf.get_program(jnp.ones(3) * 2)
    assert count.calls == 1
    assert sf.cache_stats()["hits"] == 1
    sf.get_program(jnp.ones(1))  # broadcasting: new shape -> new trace
    assert count.calls == 2
    assert sf.cache_stats()["misses"] == 2


def test_static_args_select_program() -> None:
    count = Counter()

    @count
    def f(x, n):
        return x**n

    sf = StatefulFunction(f, static_argnums=1)
    assert float(sf(2.0, 3)) == 8.0
    assert float(sf(3.0, 3)) == 27.0
    assert count.calls == 1
    assert float(sf(2.0, 4)) == 16.0
    assert count.calls == 2
    sf_kw = StatefulFunction(f, static_argnames="n")
    assert float(sf_kw(2.0, n=5)) == 32.0


def test_state_shape_change_retraces() -> None:
    s = bss.State(jnp.zeros(3))
    sf = StatefulFunction(lambda: s.value.sum() + s.value.shape[0])
    assert float(sf()) == 3.0
    s.value = jnp.zeros(5)  # same structure, new shape
    assert float(sf()) == 5.0


def test_replaced_state_attribute_detected_through_epoch() -> None:
    class Holder:
        pass

    holder = Holder()
    holder.c = bss.State(jnp.array(1.0))
    sf = StatefulFunction(lambda: holder.c.value * 2)
    assert float(sf()) == 2.0
    holder.c = bss.State(jnp.array(100.0))
    bss.bump_graph_epoch()  # Node.__setattr__ does this for modules
    assert float(sf()) == 200.0


def test_state_created_inside_is_invisible_and_poisoned() -> None:
    made = []

    def f(x):
        inner = bss.State(x * 2)  # holds a tracer
        made.append(inner)
        return inner.value + 1

    sf = StatefulFunction(f)
    assert sf.get_states(1.0) == ()
    with pytest.raises(bss.TraceContextError, match="created inside the traced function"):
        made[0].value  # noqa: B018
    made[0].value = jnp.array(5.0)  # a concrete write un-poisons it
    assert float(made[0].value) == 5.0


def test_state_created_with_concrete_value_is_left_alone() -> None:
    made = []

    def f(x):
        made.append(bss.State(np.ones(2)))  # NumPy: concrete even while tracing
        return x

    StatefulFunction(f).get_program(1.0)
    np.testing.assert_array_equal(made[0].value, np.ones(2))


def test_state_argument_rejected() -> None:
    s = bss.State(jnp.ones(2), name="weights")
    sf = StatefulFunction(lambda x: x)
    with pytest.raises(ValueError, match="cannot be States") as info:
        sf(s)
    assert "weights" in str(info.value)
    with pytest.raises(ValueError, match="cannot be States"):
        sf(x={"nested": s})


def test_state_output_rejected() -> None:
    s = bss.State(jnp.ones(2), name="out_state")
    with pytest.raises(ValueError, match="Outputs of brainstate transformations cannot be States"):
        StatefulFunction(lambda: s)()


def test_unhashable_static_rejected_and_bad_argnums() -> None:
    sf = StatefulFunction(lambda x, opts: x, static_argnums=1)
    with pytest.raises(TypeError, match="unhashable"):
        sf(1.0, {1, 2} and [object.__new__(type("U", (), {"__hash__": None}))])
    with pytest.raises(ValueError, match="non-negative"):
        StatefulFunction(lambda x: x, static_argnums=-1)
    with pytest.raises(ValueError, match="only 1 positional"):
        StatefulFunction(lambda *xs: xs[0], static_argnums=1)(1.0)
    assert StatefulFunction(lambda x, n=2: x * n, static_argnums=1)(1.0) == 2.0  # the default, as jax.jit
    with pytest.raises(TypeError, match="needs a callable"):
        StatefulFunction(3)  # type: ignore[arg-type]


def test_failed_trace_leaves_states_unchanged() -> None:
    s = bss.State(jnp.array(1.0))

    def f(x):
        s.value = s.value + x
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        StatefulFunction(f)(1.0)
    assert float(s.value) == 1.0
    assert not isinstance(s._value, jax.core.Tracer)


def test_structure_change_inside_trace_rejected() -> None:
    s = bss.State(jnp.array(1.0), name="scalar")

    def f():
        s.value = (s.value, s.value)

    with pytest.raises(ValueError, match="pytree structure"):
        StatefulFunction(f)()
    assert float(s.value) == 1.0


def test_dtype_change_inside_trace_allowed_and_retraces() -> None:
    s = bss.State(jnp.array(1, dtype=jnp.int32))
    sf = StatefulFunction(lambda: s.__setattr__("value", s.value + 0.5))
    sf()
    assert s.value.dtype == jnp.float32
    sf()  # the int32 program is stale now
    assert float(s.value) == 2.0


def test_ir_optimizations_applied_and_results_equal() -> None:
    s = bss.State(jnp.array(2.0))

    def f(x):
        y = x * 1.0 + 0.0  # removed by algebraic simplification
        s.value = s.value + y * y + y * y  # the repeated product is a common subexpression
        return s.value

    plain = StatefulFunction(f)
    optimized = StatefulFunction(f, ir_optimizations=["algebraic_simplification", "cse", "dce"])
    assert len(optimized.get_jaxpr(3.0).jaxpr.eqns) < len(plain.get_jaxpr(3.0).jaxpr.eqns)
    new_plain, out_plain = plain.jaxpr_call([s.value], 3.0)
    new_opt, out_opt = optimized.jaxpr_call([s.value], 3.0)
    assert float(out_plain) == float(out_opt) == 20.0
    assert float(new_plain[0]) == float(new_opt[0])


def test_lru_cache_bounded() -> None:
    sf = StatefulFunction(lambda x: x + 1, cache_size=2)
    for n in range(1, 5):
        sf(jnp.ones(n))
    assert sf.cache_stats()["size"] == 2
    sf.clear_cache()
    assert sf.cache_stats()["size"] == 0


def test_disable_jit_runs_python() -> None:
    s = bss.State(jnp.array(0.0))
    seen = []

    def f():
        seen.append(type(s.value))
        s.value = s.value + 1

    with jax.disable_jit():
        StatefulFunction(f)()
    assert float(s.value) == 1.0
    assert not issubclass(seen[0], jax.core.Tracer)


def test_nested_stateful_functions_inside_jax_jit() -> None:
    s = bss.State(jnp.array(2.0))
    inner = StatefulFunction(lambda x: s.__setattr__("value", s.value * x) or s.value)
    outer = StatefulFunction(lambda x: inner(x) + inner(x))
    out = outer(3.0)
    assert float(out) == 6.0 + 18.0
    assert float(s.value) == 18.0


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    scale=st.floats(-3, 3, allow_nan=False),
    steps=st.integers(1, 4),
)
def test_matches_hand_threaded_jax(n: int, scale: float, steps: int) -> None:
    w = bss.ParamState(jnp.linspace(-1.0, 1.0, n))
    h = bss.HiddenState(jnp.zeros(n))

    def step(x):
        h.value = jnp.tanh(h.value * scale + w.value * x)
        return h.value.sum()

    def pure(w_val, h_val, x):
        new_h = jnp.tanh(h_val * scale + w_val * x)
        return new_h.sum(), new_h

    sf = StatefulFunction(step)
    h_ref = jnp.zeros(n)
    for k in range(steps):
        out = sf(float(k))
        ref_out, h_ref = jax.jit(pure)(w.value, h_ref, float(k))
        np.testing.assert_allclose(out, ref_out, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(h.value, h_ref, rtol=1e-6, atol=1e-6)


def test_concurrent_tracing_over_shared_states() -> None:
    shared = bss.State(jnp.arange(3.0))
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def worker(k: int) -> None:
        def f(x):
            barrier.wait(timeout=10)
            shared.value = shared.value * x
            return shared.value.sum()

        sf = StatefulFunction(f)
        results[k] = sf.jaxpr_call([shared.value], float(k + 2))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        new_values, out = results[k]
        np.testing.assert_allclose(new_values[0], np.arange(3.0) * (k + 2))
    np.testing.assert_array_equal(shared.value, np.arange(3.0))
