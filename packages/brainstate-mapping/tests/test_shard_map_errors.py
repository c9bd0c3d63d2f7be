"""``shard_map`` rejects bad specs and per-shard writes that do not fit their specs, naming the State or
argument, and leaves every State unchanged (8 virtual CPU devices, see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

from brainstate_mapping import shard_map
from brainstate_state import BrainStateError, State
from brainstate_state.random import RandomState

pytestmark = pytest.mark.skipif(
    jax.device_count() < 4,
    reason="needs >= 4 devices: run with XLA_FLAGS=--xla_force_host_platform_device_count=8",
)

TYPES = [AxisType.Explicit, AxisType.Auto]


def mesh1(axis_type: AxisType) -> jax.sharding.Mesh:
    return jax.make_mesh((4,), ("x",), axis_types=(axis_type,), devices=jax.devices()[:4])


class Model:
    """Three States (one random) that a step reads and writes."""

    def __init__(self) -> None:
        self.w = State(jnp.arange(8.0), name="weights")
        self.odd = State(jnp.ones(6), name="odd_sized")
        self.rng = RandomState(1)
        self.before = [
            np.asarray(self.w.value),
            np.asarray(self.odd.value),
            np.asarray(jax.random.key_data(self.rng.value)),
        ]

    def step(self, x: jax.Array) -> jax.Array:
        self.w.value = self.w.value + x.sum()
        self.odd.value = self.odd.value * 2
        return x + self.rng.normal(size=x.shape)

    def assert_unchanged(self) -> None:
        np.testing.assert_array_equal(self.w.value, self.before[0])
        np.testing.assert_array_equal(self.odd.value, self.before[1])
        np.testing.assert_array_equal(jax.random.key_data(self.rng.value), self.before[2])


def _bad_calls(m: Model, mesh: Any) -> list[tuple[str, Callable[[], Any], type[Exception], str]]:
    x = jnp.arange(8.0)

    def sm(**kw: Any) -> Callable[..., Any]:
        return shard_map(m.step, mesh, **kw)

    return [
        (
            "spec_too_long",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_in_specs={m.w: P("x", None)})(x),
            ValueError,
            r"weights.*1 dimensions.*2 entries",
        ),
        (
            "missing_axis_state",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_in_specs={m.w: P("y")}),
            ValueError,
            r"state_in_specs of State 'weights'.*'y'.*\('x',\)",
        ),
        (
            "missing_axis_out_state",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_out_specs={m.w: P("batch")}),
            ValueError,
            r"state_out_specs of State 'weights'.*'batch'",
        ),
        (
            "missing_axis_in_specs",
            lambda: sm(in_specs=P("y"), out_specs=P("x")),
            ValueError,
            r"in_specs.*'y'.*mesh has the axes \('x',\)",
        ),
        (
            "missing_axis_out_specs",
            lambda: sm(in_specs=P("x"), out_specs=P("z")),
            ValueError,
            r"out_specs.*'z'",
        ),
        (
            "axis_twice",
            lambda: shard_map(lambda a: a, mesh, in_specs=P("x", "x"), out_specs=P()),
            ValueError,
            r"more than one dimension",
        ),
        (
            "state_not_divisible",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_in_specs=P("x"))(x),
            ValueError,
            r"odd_sized.*size 6.*divisible by 4",
        ),
        (
            "arg_not_divisible",
            lambda: sm(in_specs=P("x"), out_specs=P("x"))(jnp.arange(6.0)),
            ValueError,
            r"argument 0.*divisible by 4",
        ),
        (
            "wrong_in_specs_count",
            lambda: sm(in_specs=(P("x"), P()), out_specs=P("x"))(x),
            ValueError,
            r"one entry per positional argument \(1\)",
        ),
        (
            "tuple_of_specs",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_in_specs=(P("x"), P())),
            TypeError,
            r"state_in_specs.*which State",
        ),
        (
            "bad_spec_type",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_in_specs=3),
            TypeError,
            r"state_in_specs must be",
        ),
        (
            "non_state_key",
            lambda: sm(in_specs=P("x"), out_specs=P("x"), state_out_specs={"w": P("x")}),
            TypeError,
            r"state_out_specs: the keys must be States",
        ),
        (
            "bad_mesh",
            lambda: shard_map(m.step, "x", in_specs=P("x"), out_specs=P("x")),
            TypeError,
            r"mesh must be a jax.sharding.Mesh",
        ),
    ]


CASES = [c[0] for c in _bad_calls(Model(), None)]


@pytest.mark.parametrize("axis_type", TYPES)
@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_state_or_argument_and_changes_nothing(axis_type: AxisType, case: str) -> None:
    m = Model()
    _, call, error, pattern = next(c for c in _bad_calls(m, mesh1(axis_type)) if c[0] == case)
    with pytest.raises(error, match=pattern):
        call()
    m.assert_unchanged()


@pytest.mark.parametrize("axis_type", TYPES)
@pytest.mark.parametrize("check_vma", [True, False])
def test_per_shard_write_of_wrong_shape_is_rejected(axis_type: AxisType, check_vma: bool) -> None:
    mesh = mesh1(axis_type)
    out = State(jnp.zeros(8), name="out")
    keep = State(jnp.zeros(()), name="keep")

    def fun(d: jax.Array) -> jax.Array:
        keep.value = keep.value + 1
        out.value = d  # a per-shard (2,) value, but `out` is undeclared: replicated, global shape (8,)
        return d

    f = shard_map(fun, mesh, in_specs=P("x"), out_specs=P("x"), check_vma=check_vma)
    for _ in range(2):
        with pytest.raises(
            BrainStateError, match=r"(?s)per-shard value of shape \(2,\).*State 'out'"
        ) as info:
            f(jnp.arange(8.0))
        assert "state_in_specs/state_out_specs" in str(info.value)
    np.testing.assert_array_equal(out.value, np.zeros(8))
    assert float(keep.value) == 0.0
    # declaring the layout fixes it
    shard_map(fun, mesh, in_specs=P("x"), out_specs=P("x"), state_out_specs={out: P("x")})(jnp.arange(8.0))
    np.testing.assert_array_equal(out.value, np.arange(8.0))


@pytest.mark.parametrize("axis_type", TYPES)
def test_per_shard_values_written_to_a_replicated_state_are_rejected(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    last = State(jnp.zeros(2), name="last")
    total = State(jnp.zeros(()), name="total")

    def fun(x: jax.Array) -> jax.Array:
        total.value = total.value + jax.lax.psum(x.sum(), "x")  # fine: the same on every shard
        last.value = x  # differs between shards
        return x

    with pytest.raises(
        BrainStateError, match=r"(?s)differs between the shards.*\['x'\].*undeclared.*State 'last'"
    ):
        shard_map(fun, mesh, in_specs=P("x"), out_specs=P("x"))(jnp.arange(8.0))
    with pytest.raises(BrainStateError, match=r"(?s)state_out_specs is P\(\).*State 'last'"):
        shard_map(fun, mesh, in_specs=P("x"), out_specs=P("x"), state_out_specs={last: P()})(jnp.arange(8.0))
    np.testing.assert_array_equal(last.value, np.zeros(2))
    assert float(total.value) == 0.0


def test_failed_call_restores_split_random_key() -> None:
    mesh = mesh1(AxisType.Explicit)
    rng = RandomState(3)
    bad = State(jnp.zeros(8), name="bad")
    start = np.asarray(jax.random.key_data(rng.value))

    def fun(x: jax.Array) -> jax.Array:
        bad.value = x  # rejected: per-shard value for a replicated State
        return x + rng.normal(size=x.shape)

    with pytest.raises(BrainStateError, match="State 'bad'"):
        shard_map(fun, mesh, in_specs=P("x"), out_specs=P("x"))(jnp.arange(8.0))
    np.testing.assert_array_equal(jax.random.key_data(rng.value), start)
    np.testing.assert_array_equal(bad.value, np.zeros(8))
