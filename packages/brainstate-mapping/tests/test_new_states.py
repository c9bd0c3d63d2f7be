"""Vectorised State creation: ``vmap_new_states``, ``vmap2_new_states``, ``in_new_state_probe``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_jit import jit
from brainstate_mapping import in_new_state_probe, vmap2, vmap2_new_states, vmap_new_states
from brainstate_state import (
    BatchAxisError,
    HiddenState,
    NonBatchState,
    ParamState,
    State,
    TraceContextError,
    nn,
)
from brainstate_state.random import RandomState


class Net:
    def __init__(self, rng: RandomState) -> None:
        self.rng = rng
        self.calls = 0
        self.probes: list[bool] = []

    def init_state(self) -> None:
        self.calls += 1
        self.probes.append(in_new_state_probe())
        self.v = HiddenState(jnp.zeros(2), name="v")
        self.noise = HiddenState(self.rng.normal(size=(2,)), name="noise")
        self.shared = NonBatchState(jnp.ones(3), name="shared")


def test_vmap_new_states_batches_new_states_once_with_per_lane_keys() -> None:
    rng = RandomState(11)
    start = rng.value
    net = Net(rng)
    vmap_new_states(lambda: net.init_state(), axis_size=5, state_tag="init")()
    assert net.calls == 1 and net.probes == [False]
    assert net.v.value.shape == (5, 2)
    assert net.shared.value.shape == (3,)
    assert net.v.has_tag("init")
    keys = jax.random.split(start, 6)
    expected = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1], (2,)))(keys[1:])
    np.testing.assert_allclose(net.noise.value, expected, rtol=1e-6)
    after = jax.random.split(keys[0])[1]  # the stream then moves on as brainstate 0.5.4 moves it
    np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(after))
    # The new States are ordinary top-level States now: usable by later transforms.
    out = vmap2(lambda: net.v.value + 1.0, in_axes=None, state_in_axes={0: HiddenState})()
    np.testing.assert_allclose(out, jnp.ones((5, 2)))


def test_vmap_new_states_with_mapped_argument_and_output() -> None:
    holder: dict[str, State[jax.Array]] = {}

    def create(x: jax.Array) -> jax.Array:
        holder["s"] = State(x * 2, name="made")
        return x + 1

    out = vmap_new_states(create)(jnp.arange(4.0))
    np.testing.assert_allclose(out, jnp.arange(4.0) + 1)
    np.testing.assert_allclose(holder["s"].value, jnp.arange(4.0) * 2)
    holder["s"].value = holder["s"].value + 1  # writable at top level
    np.testing.assert_allclose(holder["s"].value, jnp.arange(4.0) * 2 + 1)


def test_vmap_new_states_under_jit() -> None:
    holder: dict[str, State[jax.Array]] = {}

    @jit
    def run(x: jax.Array) -> jax.Array:
        vmap_new_states(lambda: holder.__setitem__("s", State(jnp.zeros(2))), axis_size=3)()
        return x + holder["s"].value.sum()

    np.testing.assert_allclose(run(jnp.ones(())), 1.0)
    with pytest.raises(TraceContextError):
        _ = holder["s"].value  # created inside jit's trace: its value was a tracer of that trace


def test_vmap_new_states_rejects_in_out_states_and_unknown_size() -> None:
    s = State(jnp.zeros(3))
    with pytest.raises(ValueError, match="in_states"):
        vmap_new_states(lambda: None, in_states=s)
    with pytest.raises(ValueError, match="axis_size"):
        vmap_new_states(lambda: None)()


def test_per_lane_nonbatch_state_raises_and_poisons_the_new_states() -> None:
    holder: list[State[jax.Array]] = []

    def create(x: jax.Array) -> None:
        holder.append(NonBatchState(x, name="wrongly_shared"))

    with pytest.raises(BatchAxisError, match="wrongly_shared"):
        vmap_new_states(create)(jnp.arange(3.0))
    with pytest.raises(TraceContextError):
        _ = holder[0].value


def test_per_lane_write_into_existing_state_raises() -> None:
    existing = State(jnp.zeros(()), name="existing")

    def create(x: jax.Array) -> None:
        existing.value = x

    with pytest.raises(BatchAxisError, match="existing"):
        vmap_new_states(create)(jnp.arange(3.0))
    np.testing.assert_array_equal(existing.value, 0.0)
    same = State(jnp.zeros(()))
    vmap_new_states(lambda x: setattr(same, "value", jnp.asarray(7.0)))(jnp.arange(3.0))
    np.testing.assert_array_equal(same.value, 7.0)


class Cell(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = ParamState(jnp.ones(2))

    def init_state(self, width: int = 2) -> None:
        self.h = HiddenState(jnp.zeros(width))
        self.tag_only = State(jnp.zeros(()), tag="INIT_NO_BATCHING")


def test_vmap2_new_states_groups_by_axis() -> None:
    cell = Cell()
    groups = vmap2_new_states(cell, {"width": 4}, axis_size=3, state_tag="hidden")
    assert set(groups) == {0, None}
    assert [s.value.shape for s in groups[0]] == [(3, 4)]
    assert groups[None][0] is cell.tag_only and cell.tag_only.value.shape == ()
    assert cell.h.has_tag("hidden")
    cell2 = Cell()
    groups2 = vmap2_new_states(cell2, {}, axis_size=3, state_out_axes={1: HiddenState})
    assert cell2.h.value.shape == (2, 3) and groups2[1] == [cell2.h]


def test_vmap2_new_states_errors() -> None:
    with pytest.raises(ValueError, match="axis_size"):
        vmap2_new_states(Cell(), {})
    with pytest.raises(TypeError, match="nn.Module"):
        vmap2_new_states(object(), {}, axis_size=2)


def test_state_created_inside_vmap2_is_poisoned_with_a_pointer_to_vmap_new_states() -> None:
    holder: list[State[jax.Array]] = []

    def f(x: jax.Array) -> jax.Array:
        holder.append(State(x * 2, name="made_in_lane"))
        return x

    vmap2(f)(jnp.arange(3.0))
    with pytest.raises(TraceContextError, match="vmap_new_states") as info:
        _ = holder[0].value
    assert "made_in_lane" in str(info.value)


def test_new_states_belong_to_the_callers_trace_level() -> None:
    holder: list[State[jax.Array]] = []
    vmap_new_states(lambda: holder.append(State(jnp.zeros(2), name="created")), axis_size=3)()
    state = holder[0]
    assert state.stack_level == 0

    @jax.jit
    def raw(x: jax.Array) -> jax.Array:
        state.value = x  # a raw JAX transform writing a tracer: must not be silently lost
        return x

    with pytest.raises(TraceContextError, match="created"):
        raw(jnp.ones((3, 2)))
    np.testing.assert_array_equal(state.value, jnp.zeros((3, 2)))
