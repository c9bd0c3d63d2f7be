"""The StateTraceStack and FakeState API that brainstate 0.5.4 code calls: ``been_writen``,
``get_state_values(separate=, replace=)``, ``replace_writen``/``replace_read``, ``assign_state_vals(_v2)``,
``new_arg``, ``check_read``, ``release_original_values``, and ``FakeState(value, name, **kwargs)``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss


def _traced() -> tuple[bss.StateTraceStack, bss.State[Any], bss.State[Any], bss.State[Any]]:
    a, b, c = bss.State(jnp.ones(1)), bss.State(jnp.zeros(1)), bss.State(jnp.full(1, 2.0))
    with bss.StateTraceStack() as trace:
        x = a.value
        b.value = x * 3
        _ = c.value
    return trace, a, b, c


def test_been_writen_is_the_reference_spelling() -> None:
    trace, *_ = _traced()
    assert trace.been_writen == trace.been_written == [False, True, False]


def test_get_state_values_separate_and_replace() -> None:
    trace, a, b, c = _traced()
    values = trace.get_state_values()
    np.testing.assert_array_equal(np.concatenate(values), [1.0, 3.0, 2.0])
    written, read = trace.get_state_values(separate=True)  # writes first, as the reference does
    np.testing.assert_array_equal(np.concatenate(written), [3.0])
    np.testing.assert_array_equal(np.concatenate(read), [1.0, 2.0])
    written, read = trace.get_state_values(separate=True, replace=True)
    assert [w is None for w in written] == [True, False, True]
    assert [r is None for r in read] == [False, True, False]
    assert trace.get_read_states(replace_writen=True) == [a, None, c]
    assert trace.get_write_states(replace_read=True) == [None, b, None]
    assert [v is None for v in trace.get_read_state_values(replace_writen=True)] == [False, True, False]
    assert [v is None for v in trace.get_write_state_values(replace_read=True)] == [True, False, True]
    assert trace.get_read_states() == [a, c] and trace.get_write_states() == [b]


def test_assign_state_vals() -> None:
    trace, a, b, c = _traced()
    trace.assign_state_vals([jnp.full(1, 7.0), jnp.full(1, 8.0), jnp.full(1, 9.0)])
    assert [float(s.value[0]) for s in (a, b, c)] == [7.0, 8.0, 9.0]
    trace.assign_state_vals_v2([jnp.full(1, 70.0), None, jnp.full(1, 90.0)], [None, jnp.full(1, 80.0), None])
    assert [float(s.value[0]) for s in (a, b, c)] == [70.0, 80.0, 90.0]
    with pytest.raises(ValueError, match="3 states"):
        trace.assign_state_vals([jnp.ones(1)])
    assert float(a.value[0]) == 70.0


def test_new_arg_with_one_parameter_and_check_read() -> None:
    a = bss.State(jnp.ones(2))
    seen: list[Any] = []
    with bss.StateTraceStack(new_arg=lambda state: jnp.zeros(2), check_read=seen.append) as trace:
        inside = a.value
    np.testing.assert_array_equal(inside, jnp.zeros(2))
    assert seen == [a]
    np.testing.assert_array_equal(a.value, jnp.ones(2))  # the State itself is untouched
    other = bss.StateTraceStack(new_arg=lambda state, outside: outside + 1)
    with other:
        inside = a.value
    np.testing.assert_array_equal(inside, jnp.full(2, 2.0))
    other.new_arg(a)  # applies the callback again to a recorded state
    np.testing.assert_array_equal(other.get_state_values()[0], jnp.full(2, 2.0))
    with pytest.raises(ValueError, match="not recorded"):
        trace.new_arg(bss.State(1.0))


def test_release_original_values() -> None:
    trace, a, b, _ = _traced()
    trace.release_original_values()
    assert all(isinstance(v, jax.ShapeDtypeStruct) for v in trace.original_state_values)
    with pytest.raises(RuntimeError, match="release_original_values"):
        trace.recovery_original_values()
    np.testing.assert_array_equal(b.value, [3.0])


def test_fake_state_takes_metadata() -> None:
    fake = bss.FakeState(jnp.ones(2), "x", unit="mV")
    assert fake.name == "x" and fake.metadata == {"unit": "mV"}
    fake.value = jnp.zeros(2)
    with bss.StateTraceStack() as trace:
        fake.value = fake.value + 1
    assert len(trace) == 0  # invisible to the transforms
    np.testing.assert_array_equal(fake.value, jnp.ones(2))
