"""``pmap2``, ``pmap2_new_states`` and ``shard_map`` on 8 virtual CPU devices (see conftest.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from brainstate_mapping import pmap2, pmap2_new_states, shard_map
from brainstate_state import HiddenState, ParamState, State, nn

pytestmark = pytest.mark.skipif(
    jax.device_count() < 4,
    reason="needs >= 4 devices: run with XLA_FLAGS=--xla_force_host_platform_device_count=8",
)


def test_pmap2_ensemble_matches_jax_pmap() -> None:
    n = 4
    w = ParamState(jax.random.normal(jax.random.key(0), (n, 3, 2)))
    h = HiddenState(jnp.zeros((n, 2)))
    total = State(jnp.zeros(()), name="total")
    w0 = w.value

    def step(x: jax.Array) -> jax.Array:
        h.value = jnp.tanh(x @ w.value + h.value)
        total.value = total.value + jax.lax.psum(h.value.sum(), "d")
        return h.value.sum()

    def pure(wv: jax.Array, hv: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        nh = jnp.tanh(x @ wv + hv)
        return nh.sum(), nh, jax.lax.psum(nh.sum(), "d")

    f = pmap2(step, axis_name="d", in_axes=None, axis_size=n, state_in_axes={0: (ParamState, HiddenState)})
    x = jnp.ones(3)
    out = f(x)
    ref_out, ref_h, ref_total = jax.pmap(pure, axis_name="d", in_axes=(0, 0, None))(w0, jnp.zeros((n, 2)), x)
    np.testing.assert_allclose(out, ref_out, rtol=1e-5)
    np.testing.assert_allclose(h.value, ref_h, rtol=1e-5)
    np.testing.assert_allclose(total.value, ref_total[0], rtol=1e-5)


def test_pmap2_rejects_unsupported_options() -> None:
    with pytest.raises(NotImplementedError, match="static_broadcasted_argnums"):
        pmap2(lambda x: x, static_broadcasted_argnums=(0,))
    with pytest.raises(NotImplementedError, match="donate_argnums"):
        pmap2(lambda x: x, donate_argnums=0)


def test_pmap2_decorator_and_kwargs_filtered_by_signature() -> None:
    @pmap2(axis_name="d", global_arg_shapes=None, devices=jax.devices()[:2])
    def double(x: jax.Array) -> jax.Array:
        return x * 2

    np.testing.assert_allclose(double(jnp.arange(2.0)), [0.0, 2.0])


class Cell(nn.Module):
    def init_state(self) -> None:
        self.h = HiddenState(jnp.zeros(2))


def test_pmap2_new_states_one_copy_per_device() -> None:
    cell = Cell()
    groups = pmap2_new_states(cell, {})
    assert cell.h.value.shape == (jax.local_device_count(), 2)
    assert groups[0] == [cell.h]
    cell2 = Cell()
    pmap2_new_states(cell2, {}, axis_size=2)
    assert cell2.h.value.shape == (2, 2)


def _mesh() -> Mesh:
    return Mesh(np.array(jax.devices()[:4]), ("x",))


def test_shard_map_with_sharded_state_matches_jax_shard_map() -> None:
    mesh = _mesh()
    acc = State(jnp.zeros(8), name="acc")
    total = State(jnp.zeros(()), name="total")

    def step(x: jax.Array) -> jax.Array:
        acc.value = acc.value + x
        total.value = total.value + jax.lax.psum(x.sum(), "x")
        return x * 2

    def pure(a: jax.Array, t: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return x * 2, a + x, t + jax.lax.psum(x.sum(), "x")

    f = shard_map(step, mesh, in_specs=P("x"), out_specs=P("x"), state_in_specs={acc: P("x")})
    x = jnp.arange(8.0)
    out = f(x)
    out = f(x)
    ref = jax.shard_map(pure, mesh=mesh, in_specs=(P("x"), P(), P("x")), out_specs=(P("x"), P("x"), P()))
    r_out, r_acc, r_total = ref(jnp.zeros(8), jnp.zeros(()), x)
    r_out, r_acc, r_total = ref(r_acc, r_total, x)
    np.testing.assert_allclose(out, r_out)
    np.testing.assert_allclose(acc.value, r_acc)
    np.testing.assert_allclose(total.value, r_total)


def test_shard_map_undeclared_sharded_write_gets_a_hint() -> None:
    mesh = _mesh()
    last = State(jnp.zeros(2), name="last")

    def step(x: jax.Array) -> jax.Array:
        last.value = x  # per-shard value, but `last` is undeclared (replicated)
        return x

    with pytest.raises(Exception) as info:
        shard_map(step, mesh, in_specs=P("x"), out_specs=P("x"))(jnp.arange(8.0))
    assert "undeclared" in "".join(getattr(info.value, "__notes__", [])) + str(info.value)
    np.testing.assert_array_equal(last.value, jnp.zeros(2))


def test_shard_map_spec_errors() -> None:
    mesh = _mesh()
    with pytest.raises(ValueError, match="divisible"):
        shard_map(lambda x: x, mesh, in_specs=P("x"), out_specs=P("x"))(jnp.arange(6.0))
    with pytest.raises(TypeError, match="state_in_specs"):
        shard_map(lambda x: x, mesh, in_specs=P("x"), out_specs=P("x"), state_in_specs=3)
    with pytest.raises(ValueError, match="one entry per positional"):
        shard_map(lambda x, y: x, mesh, in_specs=(P("x"),), out_specs=P("x"))(
            jnp.arange(8.0), jnp.arange(8.0)
        )


def test_pmap2_random_lanes_use_split_keys() -> None:
    from brainstate_state.random import RandomState

    rng = RandomState(9)
    start = rng.value
    out = pmap2(lambda x: x + rng.normal(), axis_name="d", devices=jax.devices()[:4])(jnp.zeros(4))
    keys = jax.random.split(start, 5)
    expected = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1]))(keys[1:])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    after = jax.random.split(keys[0])[1]  # the stream moves on as brainstate 0.5.4 moves it
    np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(after))


def test_shard_map_gives_every_shard_its_own_key() -> None:
    from brainstate_state.random import RandomState

    mesh = _mesh()
    rng = RandomState(4)
    start = rng.value

    def noisy(x: jax.Array) -> jax.Array:
        return x + rng.normal(size=x.shape)

    out = shard_map(noisy, mesh, in_specs=P("x"), out_specs=P("x"))(jnp.zeros(8))
    keys = jax.random.split(start, 5)
    expected = jnp.concatenate([jax.random.normal(jax.random.split(k)[1], (2,)) for k in keys[1:]])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(keys[0]))
