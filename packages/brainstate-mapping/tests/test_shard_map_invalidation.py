"""``shard_map`` keeps its compiled program until a graph node its trace reached changes (8 virtual devices).

Constructing or changing an unrelated module must cost nothing (no retrace, no compile); replacing a State
attribute the function uses must be seen at the next call (new value used, nothing written to the old,
detached State). Numbers are compared with plain ``jax.shard_map`` with the State values threaded by hand.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from brainstate_jit import jit
from brainstate_mapping import shard_map
from brainstate_state import State, nn
from brainstate_state.testing import count_compiles

pytestmark = pytest.mark.skipif(
    jax.device_count() < 4,
    reason="needs >= 4 devices: run with XLA_FLAGS=--xla_force_host_platform_device_count=8",
)


def _mesh(axis_type: AxisType) -> jax.sharding.Mesh:
    return jax.make_mesh((4,), ("x",), axis_types=(axis_type,), devices=jax.devices()[:4])


class Accumulator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.total = State(jnp.zeros(()), name="total")
        self.scale = 2.0


def _reference(mesh: Any, total: jax.Array, x: jax.Array, scale: float) -> tuple[jax.Array, jax.Array]:
    def pure(total: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return x * scale, total + jax.lax.psum(x.sum(), "x") * scale

    ref = jax.shard_map(pure, mesh=mesh, in_specs=(P(), P("x")), out_specs=(P("x"), P()))
    laid = (jax.device_put(total, NamedSharding(mesh, P())), jax.device_put(x, NamedSharding(mesh, P("x"))))
    out: tuple[jax.Array, jax.Array] = ref(*laid)
    return out


@pytest.mark.parametrize("axis_type", [AxisType.Explicit, AxisType.Auto])
def test_unrelated_modules_do_not_retrace_and_a_replaced_state_is_seen(axis_type: AxisType) -> None:
    mesh = _mesh(axis_type)
    acc = Accumulator()
    traces: list[int] = []

    def step(x: jax.Array) -> jax.Array:
        traces.append(1)
        acc.total.value = acc.total.value + jax.lax.psum(x.sum(), "x") * acc.scale
        return x * acc.scale

    f = shard_map(step, mesh, in_specs=(P("x"),), out_specs=P("x"))
    xs = jnp.arange(8.0)
    total = jnp.zeros(())
    for _ in range(2):
        out = f(xs)
        ref_out, total = _reference(mesh, total, xs, 2.0)
        np.testing.assert_allclose(out, ref_out)
    np.testing.assert_allclose(acc.total.value, total)
    warm = len(traces)

    outs = []
    for _ in range(3):
        other = Accumulator()  # an unrelated module: constructing it changes graph nodes
        other.total = State(jnp.ones(()))  # and replacing its State too
        with count_compiles() as compiles:
            outs.append(f(xs))
        assert compiles == []
    assert len(traces) == warm, "an unrelated module made shard_map retrace"
    for out in outs:
        ref_out, total = _reference(mesh, total, xs, 2.0)
        np.testing.assert_allclose(out, ref_out)
    np.testing.assert_allclose(acc.total.value, total)

    old = acc.total
    old_value = old.value
    acc.total = State(jnp.array(100.0), name="replaced")
    out = f(xs)
    ref_out, expected = _reference(mesh, jnp.array(100.0), xs, 2.0)
    np.testing.assert_allclose(out, ref_out)
    np.testing.assert_allclose(acc.total.value, expected)
    np.testing.assert_array_equal(old.value, old_value)  # the detached State was not written
    assert len(traces) > warm


def test_jit_around_a_warm_shard_map_sees_a_replaced_state() -> None:
    mesh = _mesh(AxisType.Explicit)
    acc = Accumulator()

    def step(x: jax.Array) -> jax.Array:
        acc.total.value = acc.total.value + jax.lax.psum(x.sum(), "x") * acc.scale
        return x * acc.scale

    f = shard_map(step, mesh, in_specs=(P("x"),), out_specs=P("x"))
    xs = jnp.arange(8.0)
    f(xs)
    f(xs)  # warm: the jit trace below reuses the cached shard_map program
    g = jit(lambda x: f(x) + 1.0)
    g(xs)
    old = acc.total
    old_value = old.value
    acc.total = State(jnp.array(-5.0))
    out = g(xs)
    ref_out, expected = _reference(mesh, jnp.array(-5.0), xs, 2.0)
    np.testing.assert_allclose(out, ref_out + 1.0)
    np.testing.assert_allclose(acc.total.value, expected)
    np.testing.assert_array_equal(old.value, old_value)
