"""Black-box tests of the trace stack: recording, isolation, nesting, the level rule, catchers,
peek/invalidate, and thread isolation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state.filters import OfType


def isolate(state: bss.State[Any], value: Any) -> Any:
    """A ``new_arg`` that gives each state a private copy of its outside value."""
    return value


def traced_call(fn: Callable[[], Any], states: list[bss.State[Any]]) -> Any:
    """A minimal state-aware jit built on StateTraceStack: states enter as arguments, writes are returned
    and committed after the stack has exited."""

    def pure(values: list[Any]) -> tuple[Any, list[Any], list[bool]]:
        by_id = {id(s): v for s, v in zip(states, values, strict=False)}
        with bss.StateTraceStack(new_arg=lambda s, v: by_id.get(id(s), v)) as trace:
            out = fn()
        return (
            out,
            [trace.value_of(s) if s in trace else v for s, v in zip(states, values, strict=False)],
            [trace.is_written(s) for s in states],
        )

    written_flags: list[bool] = []

    def run(values: list[Any]) -> tuple[Any, list[Any]]:
        out, new_values, flags = pure(values)
        written_flags[:] = flags
        return out, new_values

    out, new_values = jax.jit(run)([s.value for s in states])
    for state, value, written in zip(states, new_values, written_flags, strict=False):
        if written:
            state.value = value
    return out


# ---------------------------------------------------------------------------------------------- recording
def test_records_reads_and_writes_in_first_access_order() -> None:
    a, b, c = bss.State(1.0, name="a"), bss.State(2.0, name="b"), bss.State(3.0, name="c")
    trace: Any = bss.StateTraceStack(name="t")
    with trace:
        assert trace.is_active
        c.value = a.value + b.value
        _ = a.value
        b.value = 5.0
    assert not trace.is_active
    assert trace.states == [a, b, c]  # a and b are read before c is written
    assert trace.been_written == [False, True, True]
    assert trace.get_read_states() == [a]
    assert trace.get_write_states() == [b, c]
    assert trace.original_state_values == [1.0, 2.0, 3.0]
    assert trace.get_state_values() == [1.0, 5.0, 3.0]
    assert trace.get_read_state_values() == [1.0]
    assert trace.get_write_state_values() == [5.0, 3.0]
    assert trace.value_of(b) == 5.0 and trace.is_written(c) and not trace.is_written(a)
    assert b in trace and len(trace) == 3
    assert trace.state_subset(bss.State) == [a, b, c]
    assert repr(trace) == "StateTraceStack(name='t', states=3, written=2)"


def test_transparent_stack_writes_through_and_can_recover() -> None:
    a = bss.State(1.0)
    with bss.StateTraceStack() as trace:
        a.value = 2.0
        assert a.value == 2.0
    assert a.value == 2.0
    trace.recovery_original_values()
    assert a.value == 1.0


def test_isolating_stack_keeps_values_inside() -> None:
    a, b = bss.State(1.0), bss.State(jnp.zeros(2))
    seen: list[tuple[Any, Any]] = []

    def new_arg(state: bss.State[Any], value: Any) -> Any:
        seen.append((state, value))
        return value

    with bss.StateTraceStack(new_arg=new_arg) as trace:
        a.value = a.value + 1
        b.value = b.value + 1
        assert a.value == 2.0
        assert bss.peek_value(a) == 2.0
    assert seen[0][0] is a and seen[0][1] == 1.0 and seen[1][0] is b
    assert a.value == 1.0
    np.testing.assert_array_equal(b.value, jnp.zeros(2))
    assert trace.get_write_state_values()[0] == 2.0


def test_failing_trace_changes_no_state() -> None:
    a = bss.State(1.0)
    with pytest.raises(RuntimeError, match="fail"), bss.StateTraceStack(new_arg=isolate):
        a.value = 10.0
        raise RuntimeError("fail")
    assert a.value == 1.0


def test_set_new_arg_and_merge() -> None:
    a, b, c = bss.State(1), bss.State(2), bss.State(3)
    with bss.StateTraceStack() as t1:
        _ = a.value
        b.value = 20
    with bss.StateTraceStack() as t2:
        _ = b.value
        c.value = 30
    merged = t1 + t2
    assert merged.states == [a, b, c]
    assert merged.been_written == [False, True, True]
    assert t1.merge(t2).get_write_states() == [b, c]
    t3 = bss.StateTraceStack()
    t3.set_new_arg(lambda s, v: v * 100)
    with t3:
        assert a.value == 100
        a.value = 7
    assert a.value == 1 and t3.value_of(a) == 7


def test_lifo_violation_and_reentry() -> None:
    outer, inner = bss.StateTraceStack(name="outer"), bss.StateTraceStack(name="inner")
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(bss.BrainStateError, match="reverse order.*innermost active stack is 'inner'"):
        outer.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    with pytest.raises(bss.BrainStateError, match="already active"):
        outer.__enter__()
    outer.__exit__(None, None, None)
    assert bss.TRACE_CONTEXT.depth() == 0


# ---------------------------------------------------------------------------------------------- nesting
def test_nested_isolating_stacks() -> None:
    a = bss.State(1.0)
    with bss.StateTraceStack(new_arg=isolate) as outer:
        a.value = 2.0
        with bss.StateTraceStack(new_arg=isolate) as inner:
            assert a.value == 2.0
            a.value = 3.0
        assert a.value == 2.0  # the inner value vanished with the inner stack
        assert inner.original_state_values == [2.0] and inner.get_state_values() == [3.0]
        a.value = inner.value_of(a)  # the "transform" commits after exit
        assert a.value == 3.0
    assert outer.get_write_state_values() == [3.0]
    assert a.value == 1.0


def test_transparent_inside_isolating_writes_to_the_outer_stack() -> None:
    a = bss.State(1.0)
    with bss.StateTraceStack(new_arg=isolate) as outer:
        with bss.StateTraceStack() as inner:
            a.value = 5.0
        assert a.value == 5.0
        assert inner.get_write_states() == [a]
    assert outer.is_written(a) and outer.value_of(a) == 5.0
    assert a.value == 1.0


def test_both_nested_stacks_record_a_read() -> None:
    a = bss.State(1.0)
    with bss.StateTraceStack() as outer, bss.StateTraceStack() as inner:
        _ = a.value
    assert outer.get_read_states() == [a] and inner.get_read_states() == [a]


# ---------------------------------------------------------------------------------------------- level rule
def test_state_created_inside_a_stack_is_invisible_to_it() -> None:
    with bss.StateTraceStack(new_arg=isolate) as outer:
        local = bss.State(0.0)
        assert local.stack_level == 1
        local.value = 1.0
        _ = local.value
        with bss.StateTraceStack(new_arg=isolate) as inner:
            deeper = bss.State(0.0)
            assert deeper.stack_level == 2
            local.value = 2.0
        assert local.value == 1.0  # inner saw it (created before inner), and isolated the write
    assert outer.states == []
    assert inner.states == [local]
    assert local.value == 1.0


# ---------------------------------------------------------------------------------------------- catchers
def test_catch_new_states() -> None:
    before = bss.State(0)
    with bss.catch_new_states("new") as catcher:
        a = bss.ParamState(jnp.zeros(1))
        with bss.catch_new_states("inner") as inner:
            b = bss.State(1)
    assert catcher.get_states() == [a, b] and inner.get_states() == [b]
    assert before not in catcher and a in catcher and len(catcher) == 2 and list(catcher) == [a, b]
    assert a.tag == "new" and b.tag == {"new", "inner"}
    assert catcher.get_by_tag("inner") == [b]
    assert catcher.get_state_values()[1] == 1
    catcher.remove(a)
    assert catcher.states == [b]
    assert "states=1" in repr(catcher)
    with bss.catch_new_states() as untagged:
        c = bss.State(2)
    assert untagged.states == [c] and c.tag is None


def test_catch_new_states_exclusion_filter() -> None:
    with bss.catch_new_states("x", state_to_exclude=OfType(bss.ParamState)) as catcher:
        p = bss.ParamState(1.0)
        s = bss.ShortTermState(2.0)
    assert catcher.states == [s]
    assert p.tag is None and s.tag == "x"


# ---------------------------------------------------------------------------------------------- tree check
def test_structure_check_inside_a_stack() -> None:
    a: Any = bss.State(jnp.zeros(2), name="a")
    with bss.StateTraceStack(new_arg=isolate) as trace:
        with pytest.raises(ValueError, match="State 'a'"):
            a.value = (jnp.zeros(2), jnp.zeros(2))
        np.testing.assert_array_equal(a.value, jnp.zeros(2))
        with bss.check_state_value_tree(False):
            a.value = (jnp.ones(2),)
        assert isinstance(bss.peek_value(a), tuple)
    assert not isinstance(bss.peek_value(a), tuple)
    assert trace.is_written(a)


# ---------------------------------------------------------------------------------------------- peek / invalidate
def test_peek_value_does_not_record() -> None:
    a = bss.State(1.0)
    with bss.StateTraceStack(new_arg=lambda s, v: v + 1) as trace:
        assert bss.peek_value(a) == 1.0
        assert trace.states == []
        _ = a.value
        assert bss.peek_value(a) == 2.0
    assert bss.peek_value(a) == 1.0


def test_invalidate_state_value() -> None:
    a = bss.State(1.0, name="poisoned")
    bss.invalidate_state_value(a, "created inside a finished trace; create it outside")
    with pytest.raises(bss.TraceContextError, match="created inside a finished trace"):
        _ = a.value
    with (
        bss.StateTraceStack(new_arg=isolate),
        pytest.raises(bss.TraceContextError, match="create it outside"),
    ):
        _ = a.value
    assert "invalidated" in repr(a)
    a.value = 3.0
    assert a.value == 3.0


# ---------------------------------------------------------------------------------------------- with jax
def test_tracers_never_leak_into_states() -> None:
    a = bss.State(jnp.ones(3), name="a")

    def f(x: jax.Array) -> jax.Array:
        with bss.StateTraceStack(new_arg=lambda s, v: x) as trace:
            a.value = a.value * 2
        return trace.value_of(a)  # type: ignore[no-any-return]

    np.testing.assert_array_equal(jax.jit(f)(jnp.full(3, 4.0)), jnp.full(3, 8.0))
    np.testing.assert_array_equal(a.value, jnp.ones(3))  # concrete, unchanged


def test_differential_against_hand_threaded_jax() -> None:
    w = bss.ParamState(jnp.array([[0.5], [-1.0]]), name="w")
    count = bss.State(jnp.array(0), name="count")
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])

    def step() -> jax.Array:
        loss = jnp.sum((x @ w.value) ** 2)
        w.value = w.value - 0.01 * 2 * x.T @ (x @ w.value)
        count.value = count.value + 1
        return loss

    @jax.jit
    def hand(w: jax.Array, count: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        loss = jnp.sum((x @ w) ** 2)
        return loss, w - 0.01 * 2 * x.T @ (x @ w), count + 1

    hw, hc = w.value, count.value
    for _ in range(3):
        loss = traced_call(step, [w, count])
        hand_loss, hw, hc = hand(hw, hc)
        np.testing.assert_array_equal(loss, hand_loss)
    np.testing.assert_array_equal(w.value, hw)
    assert int(count.value) == int(hc) == 3


# ---------------------------------------------------------------------------------------------- threads
def test_two_threads_trace_the_same_states_in_isolation() -> None:
    a, b = bss.State(jnp.array(0.0), name="a"), bss.State(jnp.array(0.0), name="b")
    barrier = threading.Barrier(2, timeout=30)
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def worker(offset: float) -> None:
        try:
            with bss.StateTraceStack(new_arg=lambda s, v: v + offset) as trace:
                barrier.wait()  # both stacks are open now
                a.value = a.value + 1
                barrier.wait()
                seen = (float(a.value), float(b.value))
                barrier.wait()
                b.value = b.value * 2
            assert bss.TRACE_CONTEXT.depth() == 0
            results[int(offset)] = (seen, float(trace.value_of(b)), trace.get_write_states() == [a, b])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(off,)) for off in (10.0, 20.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == {10: ((11.0, 10.0), 20.0, True), 20: ((21.0, 20.0), 40.0, True)}
    assert float(a.value) == 0.0 and float(b.value) == 0.0
