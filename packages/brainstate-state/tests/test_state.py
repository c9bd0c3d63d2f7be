"""Black-box tests of State and its subclasses: values, metadata, copies, TreefyState, rejected writes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss


def test_value_get_set_and_restore() -> None:
    s = bss.State(jnp.zeros(3), name="s")
    assert s.name == "s"
    s.value = jnp.ones(3)
    np.testing.assert_array_equal(s.value, jnp.ones(3))
    s.restore_value(jnp.full(3, 2.0))
    np.testing.assert_array_equal(s.value, jnp.full(3, 2.0))
    s.name = "renamed"
    assert s.name == "renamed"
    assert "name='renamed'" in repr(s)


def test_state_is_a_leaf_hashed_by_identity() -> None:
    a, b = bss.State(jnp.zeros(2)), bss.State(jnp.zeros(2))
    assert jax.tree.leaves([a, b]) == [a, b]
    assert len({a, b}) == 2 and a != b
    assert hash(a) == object.__hash__(a)


def test_tags() -> None:
    s: Any = bss.State(1.0, tag="a")
    assert s.tag == "a" and s.has_tag("a") and not s.has_tag("b")
    s.add_tag("a")
    assert s.tag == "a"
    s.add_tag("b")
    assert s.tag == {"a", "b"} and s.has_tag("b")
    s.add_tag(None)
    assert s.tag == {"a", "b"}
    untagged: Any = bss.State(1.0)
    assert not untagged.has_tag("a")
    assert bss.State(1.0).tag is None
    untagged.add_tag("x")
    assert untagged.tag == "x"
    multi: Any = bss.State(1.0, tag=["p", "q"])
    assert multi.tag == {"p", "q"}


def test_metadata_and_source_info() -> None:
    s = bss.ParamState(jnp.ones(2), name="w", tag="t", unit="mV")
    assert s.metadata == {"name": "w", "tag": "t", "unit": "mV"}
    assert s.source_info is not None and s.source_info.filename == __file__
    assert s.stack_level == 0
    assert "test_state.py" in bss.describe_state(s) and "ParamState 'w'" in bss.describe_state(s)
    with pytest.raises(RuntimeError) as info:
        s.raise_error_with_source_info(RuntimeError("bad"))
    assert any("test_state.py" in note for note in info.value.__notes__)


def test_stack_level_adjustments() -> None:
    s = bss.State(0)
    s.increase_stack_level()
    assert s.stack_level == 1
    s.decrease_stack_level()
    s.decrease_stack_level()
    assert s.stack_level == 0


def test_copy_replace_copy_from() -> None:
    s = bss.ParamState(jnp.zeros(2), name="w", tag={"x"})
    c = s.copy()
    assert type(c) is bss.ParamState and c is not s and c.name == "w"
    c.add_tag("y")
    assert s.tag == {"x"}  # tag sets are not shared
    c.value = jnp.ones(2)
    np.testing.assert_array_equal(s.value, jnp.zeros(2))
    r = s.replace(jnp.full(2, 5.0), name="w2", tag="z", extra=1)
    assert (r.name, r.tag, r.metadata["extra"]) == ("w2", "z", 1)
    np.testing.assert_array_equal(r.value, jnp.full(2, 5.0))
    assert s.name == "w" and "extra" not in s.metadata
    target = bss.State(jnp.ones(2))
    target.copy_from(r)
    assert target.name == "w2" and target.tag == "z"
    np.testing.assert_array_equal(target.value, r.value)


def test_numel_value_call_maybe_state() -> None:
    s = bss.State({"a": jnp.zeros((2, 3)), "b": jnp.zeros(4)})
    assert s.numel() == 10
    shapes = s.value_call(lambda x: x.shape)
    assert shapes == {"a": (2, 3), "b": (4,)}
    assert bss.maybe_state(s) is s.value
    assert bss.maybe_state(3) == 3


def test_treefy_state_round_trip() -> None:
    s = bss.ParamState(jnp.arange(3.0), name="w", tag="t")
    ref = s.to_state_ref()
    assert isinstance(ref, bss.TreefyState)
    assert ref.type is bss.ParamState and ref.name == "w" and ref.tag == "t"
    leaves, treedef = jax.tree.flatten(ref)
    assert len(leaves) == 1 and leaves[0] is ref.value
    doubled = jax.tree.map(lambda x: x * 2, ref)
    assert isinstance(doubled, bss.TreefyState) and doubled.name == "w"
    np.testing.assert_array_equal(doubled.value, jnp.arange(3.0) * 2)
    grads = jax.grad(lambda r: jnp.sum(r.value**2))(ref)
    np.testing.assert_array_equal(grads.value, 2 * jnp.arange(3.0))
    new = doubled.to_state()
    assert type(new) is bss.ParamState and new is not s and new.name == "w" and new.tag == "t"
    s.update_from_ref(doubled)
    np.testing.assert_array_equal(s.value, jnp.arange(3.0) * 2)
    assert ref.replace(jnp.zeros(3)).name == "w"
    assert ref.copy() == ref and ref.get_metadata() == {"name": "w", "tag": "t"}
    assert str(jax.tree.structure(ref)) == str(jax.tree.structure(ref.replace(jnp.ones(3))))


@pytest.mark.parametrize(
    "cls",
    [
        bss.ShortTermState,
        bss.LongTermState,
        bss.ParamState,
        bss.BatchState,
        bss.NonBatchState,
        bss.HiddenState,
    ],
)
def test_subclasses(cls: type[bss.State[jax.Array]]) -> None:
    s = cls(jnp.zeros(3), name="n")
    assert isinstance(s, bss.State)
    s.value = jnp.ones(3)
    assert s.to_state_ref().type is cls


def test_subclass_hierarchy() -> None:
    assert issubclass(bss.ParamState, bss.LongTermState)
    assert issubclass(bss.BatchState, bss.LongTermState)
    assert issubclass(bss.HiddenState, bss.ShortTermState)
    assert issubclass(bss.NonBatchState, bss.ShortTermState)


@pytest.mark.parametrize("bad", [1.0, [1.0, 2.0], {"a": jnp.zeros(2)}, None])
def test_hidden_state_rejects_non_arrays(bad: object) -> None:
    with pytest.raises(TypeError, match="HiddenState holds a single array.*How to fix"):
        bss.HiddenState(bad)


def test_hidden_state_shape() -> None:
    h = bss.HiddenState(np.zeros((2, 5)))
    assert h.varshape == (2, 5) and h.num_state == 1


def test_fake_state() -> None:
    f = bss.FakeState(1.0, name="f")
    f.value = 2.0
    assert f.value == 2.0 and f.name == "f" and "FakeState" in repr(f)
    with bss.StateTraceStack() as trace:
        f.value = 3.0
    assert trace.states == []


# ---------------------------------------------------------------------------------------------- rejected writes
def test_structure_change_is_rejected_and_state_unchanged() -> None:
    s: bss.State[Any] = bss.State({"a": jnp.zeros(2)}, name="tree")
    with pytest.raises(ValueError) as info:
        s.value = {"a": jnp.zeros(2), "b": jnp.zeros(1)}
    message = str(info.value)
    assert "PyTreeDef({'a': *, 'b': *})" in message and "PyTreeDef({'a': *})" in message
    assert "State 'tree'" in message and "How to fix" in message
    assert list(s.value) == ["a"]
    with pytest.raises(ValueError, match="structure"):
        s.restore_value((jnp.zeros(2),))
    assert list(s.value) == ["a"]


def test_structure_check_can_be_disabled() -> None:
    s: bss.State[Any] = bss.State(jnp.zeros(2))
    with bss.check_state_value_tree(False):
        s.value = (jnp.zeros(2), jnp.zeros(2))
    assert isinstance(s.value, tuple)
    with pytest.raises(ValueError):
        s.value = jnp.zeros(2)


@given(st.integers(0, 3), st.integers(0, 3))
@settings(max_examples=10, deadline=None)
def test_shape_and_dtype_changes_are_allowed(n: int, m: int) -> None:
    s = bss.State(jnp.zeros(n))
    s.value = jnp.ones((m, 2), jnp.int32)
    assert s.value.shape == (m, 2)


def test_state_in_state_is_rejected() -> None:
    inner = bss.State(1.0, name="inner")
    with pytest.raises(TypeError, match="cannot hold another State") as info:
        bss.State(inner)
    assert "State 'inner'" in str(info.value)
    outer: bss.State[Any] = bss.State(2.0, name="outer")
    with pytest.raises(TypeError, match="cannot be assigned another State") as info:
        outer.value = inner
    assert "State 'outer'" in str(info.value) and "assign `other.value`" in str(info.value)
    assert outer.value == 2.0
    with pytest.raises(TypeError, match="cannot hold another State") as info:
        outer.replace(inner)
    assert "State 'outer'" in str(info.value)


def test_raw_jax_jit_write_raises_trace_context_error() -> None:
    counter = bss.State(jnp.array(0), name="counter")
    other = bss.State(jnp.array(5), name="other")

    def step() -> jax.Array:
        other.value = other.value  # a concrete write before the failing one
        counter.value = counter.value + 1
        return counter.value

    with pytest.raises(bss.TraceContextError) as info:
        jax.jit(step)()
    message = str(info.value)
    assert "State 'counter'" in message and "test_state.py" in message
    assert "brainstate.transform.jit" in message
    assert int(counter.value) == 0 and int(other.value) == 5
    with pytest.raises(bss.TraceContextError):

        def write_tracer(x: jax.Array) -> jax.Array:
            counter.restore_value(x)
            return x

        jax.grad(write_tracer)(1.0)
    assert int(counter.value) == 0


def test_state_created_inside_raw_jit_may_hold_tracers() -> None:
    def f(x: jax.Array) -> jax.Array:
        local = bss.State(x)
        local.value = local.value * 2
        return local.value

    np.testing.assert_array_equal(jax.jit(f)(jnp.ones(2)), jnp.full(2, 2.0))


def test_errors_hierarchy() -> None:
    assert issubclass(bss.TraceContextError, bss.BrainStateError)
    assert issubclass(bss.BatchAxisError, bss.BrainStateError)
    msg = bss.state_error_message("What.", bss.State(0, name="z"), "Do this.")
    assert msg.splitlines()[0] == "What." and "State 'z'" in msg and msg.endswith("How to fix: Do this.")
    assert bss.state_error_message("Only what.") == "Only what."
