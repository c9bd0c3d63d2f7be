"""``shard_map`` with States on explicit and auto meshes (8 virtual CPU devices, see conftest.py).

Every numeric result is compared with plain ``jax.shard_map`` with the State values threaded by hand.
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
from brainstate_state import ParamState, State

pytestmark = pytest.mark.skipif(
    jax.device_count() < 4,
    reason="needs >= 4 devices: run with XLA_FLAGS=--xla_force_host_platform_device_count=8",
)

TYPES = [AxisType.Explicit, AxisType.Auto]


def mesh1(axis_type: AxisType) -> jax.sharding.Mesh:
    return jax.make_mesh((4,), ("x",), axis_types=(axis_type,), devices=jax.devices()[:4])


def mesh2(axis_type: AxisType) -> jax.sharding.Mesh:
    return jax.make_mesh((2, 2), ("data", "model"), axis_types=(axis_type,) * 2, devices=jax.devices()[:4])


def spec_of(x: Any) -> P:
    sharding = x.sharding
    assert isinstance(sharding, NamedSharding), sharding
    return sharding.spec


@pytest.mark.parametrize("axis_type", TYPES)
def test_scaled_write_on_default_mesh(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    w = State(jnp.array(3.0), name="w")
    out = State(jnp.zeros(8), name="out")

    def fun(d: jax.Array) -> jax.Array:
        out.value = d * w.value
        return out.value

    f = shard_map(fun, mesh, in_specs=(P("x"),), out_specs=P("x"), state_out_specs=P("x"))
    for _ in range(2):
        r = f(jnp.arange(8.0))
    np.testing.assert_array_equal(r, np.arange(8.0) * 3)
    np.testing.assert_array_equal(out.value, np.arange(8.0) * 3)
    assert spec_of(out.value) == P("x")
    assert float(w.value) == 3.0


def test_repro_on_make_mesh_default_axis_types() -> None:
    mesh = jax.make_mesh((4,), ("x",), devices=jax.devices()[:4])  # Explicit axes on this JAX
    w = State(jnp.array(3.0))
    out = State(jnp.zeros(8))

    def fun(d: jax.Array) -> jax.Array:
        out.value = d * w.value
        return out.value

    f = shard_map(fun, mesh, in_specs=(P("x"),), out_specs=P("x"), state_out_specs=P("x"))
    np.testing.assert_array_equal(f(jnp.arange(8.0)), [0, 3, 6, 9, 12, 15, 18, 21])
    np.testing.assert_array_equal(out.value, [0, 3, 6, 9, 12, 15, 18, 21])


def _accumulate_reference(mesh: Any, a: Any, t: Any, x: Any) -> tuple[Any, Any, Any]:
    def pure(a: jax.Array, t: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return x * 2, a + x, t + jax.lax.psum(x.sum(), "x")

    ref = jax.shard_map(pure, mesh=mesh, in_specs=(P("x"), P(), P("x")), out_specs=(P("x"), P("x"), P()))

    def lay(v: Any, s: P) -> Any:
        return jax.device_put(v, NamedSharding(mesh, s))

    out: tuple[Any, Any, Any] = ref(lay(a, P("x")), lay(t, P()), lay(x, P("x")))
    return out


@pytest.mark.parametrize("axis_type", TYPES)
@pytest.mark.parametrize(
    "form", ["dict", "pairs", "tuple_spec", "single"], ids=["dict", "pairs", "tuple", "single"]
)
def test_state_spec_forms_match_jax(axis_type: AxisType, form: str) -> None:
    mesh = mesh1(axis_type)
    acc = State(jnp.zeros(8), name="acc")
    total = State(jnp.zeros(8 if form in ("tuple_spec", "single") else ()), name="total")

    def step(x: jax.Array) -> jax.Array:
        acc.value = acc.value + x
        total.value = total.value + jax.lax.psum(x.sum(), "x")
        return x * 2

    specs: Any = {
        "dict": {acc: P("x")},  # total is missing: replicated
        "pairs": ((acc, P("x")),),
        "tuple_spec": ("x",),  # every State
        "single": P("x"),
    }[form]
    f = shard_map(step, mesh, in_specs=P("x"), out_specs=P("x"), state_in_specs=specs)
    x = np.arange(8.0, dtype=np.float32)  # a NumPy argument
    a, t = jnp.zeros(8), jnp.zeros(())
    for _ in range(3):
        out = f(x)
        r_out, a, t_new = _accumulate_reference(mesh, a, t, jnp.asarray(x))
        t = t_new
    np.testing.assert_allclose(out, r_out)
    np.testing.assert_allclose(acc.value, a)
    np.testing.assert_allclose(total.value, np.broadcast_to(t, total.value.shape))
    assert spec_of(acc.value) == P("x")


@pytest.mark.parametrize("axis_type", TYPES)
def test_inputs_laid_out_otherwise_are_resharded(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    # the State is sharded over x but declared replicated; the argument is replicated but declared sharded
    bias = State(jax.device_put(jnp.arange(4.0), NamedSharding(mesh, P("x"))), name="bias")
    x = jax.device_put(jnp.ones((8, 4)), NamedSharding(mesh, P()))

    def fun(x: jax.Array, scale: float) -> Any:
        return x * scale + bias.value

    f = shard_map(fun, mesh, in_specs=(P("x"), P()), out_specs=P("x"))
    expected = np.ones((8, 4)) * 2.0 + np.arange(4.0)
    np.testing.assert_allclose(f(x, 2.0), expected)  # a Python float argument
    np.testing.assert_allclose(f(np.ones((8, 4), np.float32), 2.0), expected)
    assert spec_of(bias.value) == P("x")


@pytest.mark.parametrize("axis_type", TYPES)
def test_written_state_keeps_its_sharding(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    # declared replicated (P()) inside the function, but laid out over x outside it
    a = State(jax.device_put(jnp.zeros(8), NamedSharding(mesh, P("x"))), name="a")

    def fun(d: jax.Array) -> jax.Array:
        a.value = a.value + jax.lax.psum(d.sum(), "x")
        return d

    f = shard_map(fun, mesh, in_specs=(P("x"),), out_specs=P("x"))
    f(jnp.arange(8.0))
    f(jnp.arange(8.0))
    np.testing.assert_allclose(a.value, np.full(8, 56.0))
    assert spec_of(a.value) == P("x")
    jit(f)(jnp.arange(8.0))  # traced into an outer jit: explicit layouts are part of the type
    np.testing.assert_allclose(a.value, np.full(8, 84.0))
    if axis_type == AxisType.Explicit:
        assert spec_of(a.value) == P("x")
    # a State moved to another layout between calls keeps its new one
    a.value = jax.device_put(a.value, NamedSharding(mesh, P()))
    f(jnp.arange(8.0))
    np.testing.assert_allclose(a.value, np.full(8, 112.0))
    assert a.value.sharding.is_equivalent_to(NamedSharding(mesh, P()), 1)


@pytest.mark.parametrize("axis_type", TYPES)
def test_jit_keeps_sharding_of_written_states(axis_type: AxisType) -> None:
    mesh = mesh2(axis_type)
    c = ParamState(jax.device_put(jnp.zeros((4, 4)), NamedSharding(mesh, P("data", "model"))), name="c")
    total = State(jnp.zeros(()), name="total")

    @jit
    def g(d: jax.Array) -> jax.Array:
        c.value = c.value * 2 + d
        total.value = c.value.sum()
        return d.sum()

    expected = np.zeros((4, 4))
    for _ in range(3):
        g(jnp.ones((4, 4)))
        expected = expected * 2 + 1
    np.testing.assert_allclose(c.value, expected)
    np.testing.assert_allclose(total.value, expected.sum())
    assert spec_of(c.value) == P("data", "model")


@pytest.mark.parametrize("axis_type", TYPES)
def test_two_dimensional_mesh_matches_jax(axis_type: AxisType) -> None:
    mesh = mesh2(axis_type)
    key = jax.random.key(0)
    w0 = jax.random.normal(key, (3, 4))
    w = ParamState(w0, name="w")
    seen = State(jnp.zeros(()), name="seen")

    def layer(x: jax.Array) -> jax.Array:
        # x: (batch/data, 3); w: (3, model shard)
        seen.value = seen.value + jax.lax.psum(x.shape[0], "data")
        w.value = w.value * 0.5
        return jnp.tanh(x @ w.value)

    f = shard_map(
        layer,
        mesh,
        in_specs=P("data"),
        out_specs=P("data", "model"),
        state_in_specs={w: P(None, "model")},
    )

    def pure(wv: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        wv = wv * 0.5
        return jnp.tanh(x @ wv), wv

    ref = jax.jit(
        jax.shard_map(
            pure,
            mesh=mesh,
            in_specs=(P(None, "model"), P("data")),
            out_specs=(P("data", "model"), P(None, "model")),
        )
    )
    x = jax.random.normal(jax.random.key(1), (8, 3))
    wv = jax.device_put(w0, NamedSharding(mesh, P(None, "model")))
    for _ in range(2):
        out = f(x)
        r_out, wv = ref(wv, jax.device_put(x, NamedSharding(mesh, P("data"))))
    np.testing.assert_allclose(out, r_out, rtol=1e-6)
    np.testing.assert_allclose(w.value, wv, rtol=1e-6)
    assert spec_of(w.value) == P(None, "model")
    assert float(seen.value) == 16.0


@pytest.mark.parametrize("axis_type", TYPES)
def test_under_outer_jit_repeatedly(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    acc = State(jnp.zeros(8), name="acc")
    count = State(jnp.zeros(()), name="count")

    def step(x: jax.Array) -> Any:
        acc.value = acc.value + x
        count.value = count.value + 1
        return jax.lax.psum(x.sum(), "x")

    @jit
    def outer(x: jax.Array) -> Any:
        # a fresh shard_map object every trace
        f = shard_map(step, mesh, in_specs=P("x"), out_specs=P(), state_in_specs={acc: P("x")})
        return f(x) + f(x)

    for i in range(3):
        out = outer(jnp.arange(8.0) + i)
        assert float(out) == 2 * float((np.arange(8.0) + i).sum())
    np.testing.assert_allclose(acc.value, 2 * (3 * np.arange(8.0) + 3))
    assert float(count.value) == 6.0


def test_fresh_transform_and_states_per_trial() -> None:
    mesh = mesh1(AxisType.Explicit)
    for trial in range(3):
        s = State(jnp.full(8, float(trial)), name="s")

        def scale(x: jax.Array, s: State[Any] = s) -> jax.Array:
            s.value = s.value * x
            return x

        f = shard_map(scale, mesh, in_specs=P("x"), out_specs=P("x"), state_in_specs={s: P("x")})
        f(jnp.arange(8.0))
        np.testing.assert_allclose(s.value, trial * np.arange(8.0))


def test_random_state_gives_every_shard_its_own_key_on_explicit_mesh() -> None:
    from brainstate_state.random import RandomState

    mesh = mesh1(AxisType.Explicit)
    rng = RandomState(4)
    start = rng.value
    out = shard_map(lambda x: x + rng.normal(size=x.shape), mesh, in_specs=P("x"), out_specs=P("x"))(
        jnp.zeros(8)
    )
    keys = jax.random.split(start, 5)
    expected = jnp.concatenate([jax.random.normal(jax.random.split(k)[1], (2,)) for k in keys[1:]])
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_vmap_of_stateful_shard_map_with_batched_state() -> None:
    from brainstate_mapping import vmap

    mesh = mesh1(AxisType.Explicit)
    h = State(jnp.zeros((3, 8)), name="h")  # one row per vmap lane, each row split over x

    def add(d: jax.Array) -> Any:
        h.value = h.value + d
        return jax.lax.psum(d.sum(), "x")

    sm = shard_map(add, mesh, in_specs=P("x"), out_specs=P(), state_in_specs={h: P("x")})
    x = jnp.ones((3, 8)) * jnp.arange(3.0)[:, None]
    totals = vmap(sm, in_states={0: h})(x)
    totals = vmap(sm, in_states={0: h})(x)
    np.testing.assert_allclose(totals, [0.0, 8.0, 16.0])
    np.testing.assert_allclose(h.value, 2 * np.asarray(x))


@pytest.mark.parametrize("axis_type", TYPES)
def test_loops_and_vmap_inside_shard_map_without_vma_check(axis_type: AxisType) -> None:
    from brainstate_control import for_loop
    from brainstate_mapping import vmap

    mesh = mesh1(axis_type)
    v = State(jnp.zeros(8), name="v")
    gain = State(jnp.array(0.5), name="gain")

    def simulate(drive: jax.Array) -> jax.Array:
        def one(d: jax.Array) -> jax.Array:
            everyone = jax.lax.all_gather(v.value, "x", tiled=True)
            v.value = vmap(lambda a, b: a * gain.value + b)(v.value, d) + everyone.mean()
            return v.value

        return for_loop(one, drive)  # type: ignore[no-any-return]

    f = shard_map(
        simulate,
        mesh,
        in_specs=P(None, "x"),
        out_specs=P(None, "x"),
        state_in_specs={v: P("x")},
        check_vma=False,
    )
    drive = jnp.arange(24.0).reshape(3, 8) / 8

    def ref_step(vv: jax.Array, d: jax.Array) -> tuple[jax.Array, jax.Array]:
        vv = vv * 0.5 + d + vv.mean()
        return vv, vv

    ref_v, ref_trace = jax.lax.scan(ref_step, jnp.zeros(8), drive)
    np.testing.assert_allclose(f(drive), ref_trace, rtol=1e-6)
    np.testing.assert_allclose(v.value, ref_v, rtol=1e-6)


@pytest.mark.parametrize("axis_type", TYPES)
def test_one_shard_map_object_called_inside_jit_and_eagerly(axis_type: AxisType) -> None:
    mesh = mesh1(axis_type)
    acc = State(jnp.zeros(8), name="acc")

    def step(x: jax.Array) -> Any:
        acc.value = acc.value + x
        return jax.lax.psum(x.sum(), "x")

    f = shard_map(step, mesh, in_specs=P("x"), out_specs=P(), state_in_specs={acc: P("x")})
    jitted = jit(lambda x: f(x * 2))
    for _ in range(2):
        assert float(jitted(jnp.ones(8))) == 16.0
        assert float(f(jnp.ones(8))) == 8.0
    np.testing.assert_allclose(acc.value, np.full(8, 6.0))
