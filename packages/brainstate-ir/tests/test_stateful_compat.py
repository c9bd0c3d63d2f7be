"""brainstate 0.5.4's StatefulFunction methods (make_jaxpr, get_*(compile_if_miss=), *_by_cache, get_arg_cache_key,
get_state_trace, get_cache_stats, jaxpr_call, jaxpr_call_auto, validate_states, clear_cache), checked against the
same function with its State threaded by hand."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import StatefulFunction as SF
from brainstate_ir._stateful import StatefulFunction as CoreStatefulFunction
from brainstate_ir._stateful_compat import StatefulFunctionCompat


def test_the_compat_class_puts_the_0_5_4_methods_first() -> None:
    # The 0.5.4 methods redefine some of StatefulFunction's: the mixin must come first.
    assert SF.__mro__.index(StatefulFunctionCompat) < SF.__mro__.index(CoreStatefulFunction)
    assert SF.jaxpr_call is StatefulFunctionCompat.jaxpr_call
    assert SF.get_jaxpr is StatefulFunctionCompat.get_jaxpr
    assert SF.__doc__ == CoreStatefulFunction.__doc__


def model() -> tuple[bss.State[Any], bss.ParamState[Any], Any, Any]:
    """``f`` writes ``a`` and reads ``w``; ``pure`` is the same computation with the State values threaded by hand."""
    a = bss.State(jnp.array([1.0, 2.0]), name="a")
    w = bss.ParamState(jnp.array(3.0), name="w")

    def f(x, n):
        a.value = a.value + x * w.value
        return {"y": a.value * n, "n": n}

    def pure(a_value, w_value, x, n):
        new_a = a_value + x * w_value
        return new_a, {"y": new_a * n, "n": n}

    return a, w, f, pure


def test_make_jaxpr_returns_self_and_get_accessors_match_the_cache_forms() -> None:
    a, w, f, _ = model()
    sf = SF(f, static_argnums=1)
    assert sf.make_jaxpr(jnp.ones(2), 2) is sf
    key = sf.get_arg_cache_key(jnp.ones(2), 2)
    assert sf.get_jaxpr_by_cache(key) is sf.get_jaxpr(jnp.ones(2), 2)
    assert sf.get_states_by_cache(key) == sf.get_states(jnp.ones(2), 2) == (a, w)
    assert sf.get_read_states_by_cache(key) == sf.get_read_states(jnp.ones(2), 2) == (w,)
    assert sf.get_write_states_by_cache(key) == sf.get_write_states(jnp.ones(2), 2) == (a,)
    assert sf.get_out_shapes_by_cache(key) == sf.get_out_shapes(jnp.ones(2), 2)
    assert sf.get_out_treedef_by_cache(key) == sf.get_out_treedef(jnp.ones(2), 2)
    # Keyword arguments and a NumPy argument select the same program as a jax array of that type.
    assert sf.get_arg_cache_key(np.ones(2, np.float32), 2) == key
    assert sf.get_arg_cache_key(np.ones(3, np.float32), 2) != key
    assert sf.get_arg_cache_key(jnp.ones(2), 3) != key


def test_compile_if_miss_false_raises_on_a_missing_program_and_changes_nothing() -> None:
    a, w, f, _ = model()
    sf = SF(f, static_argnums=1)
    before = np.asarray(a.value)
    for getter in ("get_jaxpr", "get_states", "get_read_states", "get_write_states", "get_out_shapes"):
        with pytest.raises(ValueError, match=r"(?s)f has no program for the requested cache key.*make_jaxpr"):
            getattr(sf, getter)(jnp.ones(2), 2, compile_if_miss=False)
    with pytest.raises(ValueError, match="no program for the requested cache key"):
        sf.get_state_trace(jnp.ones(2), 2, compile_if_miss=False)
    key = sf.get_arg_cache_key(jnp.ones(2), 2)  # compile_if_miss=False by default, as in 0.5.4
    with pytest.raises(ValueError, match="no program for the requested cache key"):
        sf.get_jaxpr_by_cache(key)
    assert sf.get_cache_stats()["compilation_cache"]["size"] == 0
    np.testing.assert_array_equal(a.value, before)
    assert sf.get_arg_cache_key(jnp.ones(2), 2, compile_if_miss=True) == key
    assert sf.get_states(jnp.ones(2), 2, compile_if_miss=False) == (a, w)
    with pytest.raises(ValueError, match="no program"):
        sf.get_jaxpr_by_cache(["unhashable"])  # type: ignore[arg-type]


def test_out_shapes_and_treedef_hold_the_output_and_one_entry_per_state() -> None:
    a, w, f, pure = model()
    sf = SF(f, static_argnums=1)
    out_shapes, state_shapes = sf.get_out_shapes(jnp.ones(2), 2)
    new_a, expected_out = jax.eval_shape(lambda x: pure(a.value, w.value, x, 2), jnp.ones(2))
    assert (
        out_shapes["y"].shape == expected_out["y"].shape and out_shapes["y"].dtype == expected_out["y"].dtype
    )
    assert out_shapes["n"].shape == () and out_shapes["n"].dtype == jnp.int32
    # Written State: its shapes; read-only State: None (return_only_write=True, the default).
    assert state_shapes[0] == jax.ShapeDtypeStruct(new_a.shape, new_a.dtype) and state_shapes[1] is None
    assert sf.get_out_treedef(jnp.ones(2), 2) == jax.tree.structure(({"n": 0, "y": 0}, (0, None)))

    every = SF(f, static_argnums=1, return_only_write=False)
    _, state_shapes = every.get_out_shapes(jnp.ones(2), 2)
    assert state_shapes[0].shape == (2,) and state_shapes[1].shape == ()
    assert every.get_out_treedef(jnp.ones(2), 2) == jax.tree.structure(({"n": 0, "y": 0}, (0, 0)))

    no_state = SF(lambda x: (x, x * 2))
    assert no_state.get_out_treedef(1.0) == jax.tree.structure(((0, 0), ()))
    assert no_state.get_out_shapes(1.0)[1] == ()


def check_pure_call(trial: int) -> None:
    a, w, f, pure = model()  # States re-created per trial, a fresh StatefulFunction each time
    sf = SF(f, static_argnums=1)
    x = np.full(2, 0.5 + trial, np.float32)
    values = [a.value, w.value]
    new_values, out = sf.jaxpr_call(values, x, 2)
    expected_a, expected_out = pure(a.value, w.value, x, 2)
    assert isinstance(new_values, tuple) and len(new_values) == 2 and new_values[1] is None
    np.testing.assert_allclose(new_values[0], expected_a)
    np.testing.assert_allclose(out["y"], expected_out["y"])
    assert int(out["n"]) == 2
    np.testing.assert_array_equal(a.value, [1.0, 2.0])  # nothing written
    # A transformable pure function: jit and grad through it.
    jitted = jax.jit(lambda v, x_: sf.jaxpr_call(v, x_, 2))(values, x)
    np.testing.assert_allclose(jitted[0][0], expected_a)
    grad = jax.grad(lambda w_: sf.jaxpr_call([a.value, w_], x, 2)[1]["y"].sum())(w.value)
    expected_grad = jax.grad(lambda w_: pure(a.value, w_, x, 2)[1]["y"].sum())(w.value)
    np.testing.assert_allclose(grad, expected_grad)


def test_jaxpr_call_is_pure_and_returns_one_value_per_state() -> None:
    for trial in range(3):
        check_pure_call(trial)

    a, w, f, pure = model()
    every = SF(f, static_argnums=1, return_only_write=False)
    new_values, _ = every.jaxpr_call([a.value, w.value], jnp.ones(2), 2)
    np.testing.assert_allclose(new_values[0], pure(a.value, w.value, jnp.ones(2), 2)[0])
    np.testing.assert_array_equal(new_values[1], w.value)


def test_jaxpr_call_with_the_wrong_number_of_state_values_changes_nothing() -> None:
    a, w, f, _ = model()
    sf = SF(f, static_argnums=1)
    with pytest.raises(ValueError, match=r"touches 2 State\(s\) but jaxpr_call received 1"):
        sf.jaxpr_call([a.value], jnp.ones(2), 2)
    np.testing.assert_array_equal(a.value, [1.0, 2.0])
    np.testing.assert_array_equal(w.value, 3.0)


def test_jaxpr_call_auto_runs_and_writes_back_like_the_function() -> None:
    a, w, f, pure = model()
    sf = SF(f, static_argnums=1)
    a_value = a.value
    for step, x in enumerate([1.0, 2, np.float32(0.5), jnp.array([1.0, -1.0])]):
        out = sf.jaxpr_call_auto(x, step)
        a_value, expected = pure(a_value, w.value, x, step)
        np.testing.assert_allclose(out["y"], expected["y"])
        np.testing.assert_allclose(a.value, a_value)


def test_get_state_trace_records_states_and_writes() -> None:
    a, w, f, _ = model()
    sf = SF(f, static_argnums=1)
    trace = sf.get_state_trace(jnp.ones(2), 2)
    assert isinstance(trace, bss.StateTraceStack) and not trace.is_active
    assert trace.states == [a, w] and trace.been_written == [True, False]
    assert trace.get_write_states() == [a] and trace.get_read_states() == [w]
    np.testing.assert_array_equal(trace.get_state_values()[0], a.value)
    by_key = sf.get_state_trace_by_cache(sf.get_arg_cache_key(jnp.ones(2), 2))
    assert by_key.states == [a, w] and by_key.been_written == [True, False]


def test_cache_stats_count_since_the_last_clear() -> None:
    _, _, f, _ = model()
    sf = SF(f, static_argnums=1)
    assert sf.get_cache_stats() == {
        "compilation_cache": {"size": 0, "maxsize": 128, "hits": 0, "misses": 0, "hit_rate": 0.0}
    }
    sf.make_jaxpr(jnp.ones(2), 2)  # miss
    sf.get_jaxpr(jnp.ones(2), 2)  # hit
    sf.get_states(jnp.ones(2), 2)  # hit
    sf.make_jaxpr(jnp.ones(2), 3)  # miss
    stats = sf.get_cache_stats()["compilation_cache"]
    assert (stats["size"], stats["hits"], stats["misses"]) == (2, 2, 2)
    assert stats["hit_rate"] == 50.0  # a percentage, as in 0.5.4
    key = sf.get_arg_cache_key(jnp.ones(2), 2)
    sf.clear_cache()
    assert sf.get_cache_stats()["compilation_cache"] == {
        "size": 0,
        "maxsize": 128,
        "hits": 0,
        "misses": 0,
        "hit_rate": 0.0,
    }
    with pytest.raises(ValueError, match="no program"):
        sf.get_states_by_cache(key)
    sf.make_jaxpr(jnp.ones(2), 2)
    assert sf.get_cache_stats()["compilation_cache"]["misses"] == 1


def test_validate_states() -> None:
    a, w, f, _ = model()
    sf = SF(f, static_argnums=1).make_jaxpr(jnp.ones(2), 2).make_jaxpr(jnp.ones(2), 4)
    key = sf.get_arg_cache_key(jnp.ones(2), 2)
    assert sf.validate_states(key) is True
    assert sf.validate_all_states() == {key: True, sf.get_arg_cache_key(jnp.ones(2), 4): True}
    with pytest.raises(ValueError, match="no program for the requested cache key 'nope'"):
        sf.validate_states("nope")
