"""Unmapped arguments and unmapped States stay concrete in an eager mapped call, as with ``jax.vmap``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_jit import jit
from brainstate_mapping import StatefulMapping, vmap, vmap2
from brainstate_state import ParamState, State


@pytest.mark.parametrize("transform", [vmap, vmap2])
def test_unmapped_python_int_is_concrete(transform) -> None:  # type: ignore[no-untyped-def]
    f = transform(lambda x, n: x * len(range(n)), in_axes=(0, None))
    ref = jax.vmap(lambda x, n: x * len(range(n)), in_axes=(0, None))
    for n in (3, 5, 3):
        np.testing.assert_allclose(f(jnp.arange(3.0), n), ref(jnp.arange(3.0), n))


@pytest.mark.parametrize("transform", [vmap, vmap2])
def test_unmapped_python_bool_drives_an_if(transform) -> None:  # type: ignore[no-untyped-def]
    def body(x: jax.Array, negate: bool) -> jax.Array:
        return -x if negate else x * 2

    f = transform(body, in_axes=(0, None))
    ref = jax.vmap(body, in_axes=(0, None))
    x = jnp.arange(4.0)
    for negate in (True, False, True):
        np.testing.assert_allclose(f(x, negate), ref(x, negate))


def test_unmapped_numpy_argument_is_concrete() -> None:
    def body(x: jax.Array, table: np.ndarray) -> jax.Array:
        return x * int(table.sum())

    f = vmap2(body, in_axes=(0, None))
    ref = jax.vmap(body, in_axes=(0, None))
    x = jnp.arange(3.0)
    np.testing.assert_allclose(f(x, np.ones(2)), ref(x, np.ones(2)))
    np.testing.assert_allclose(f(x, np.ones(4)), ref(x, np.ones(4)))


def test_unmapped_python_int_under_outer_jit() -> None:
    def body(x: jax.Array, n: int) -> jax.Array:
        return x * len(range(n))

    f = jit(lambda xs: vmap2(body, in_axes=(0, None))(xs, 3))
    np.testing.assert_allclose(f(jnp.arange(3.0)), [0.0, 3.0, 6.0])
    g = jit(lambda xs: vmap(body, in_axes=(0, None))(xs, 4))
    np.testing.assert_allclose(g(jnp.arange(3.0)), [0.0, 4.0, 8.0])


def test_fresh_mapping_per_call_with_unmapped_int_matches_jax() -> None:
    x = jnp.arange(3.0)
    for n in range(1, 4):
        out = vmap2(lambda v, k: v * len(range(k)) + 1.0, in_axes=(0, None))(x, n)
        np.testing.assert_allclose(out, x * n + 1.0)


def test_read_only_python_state_drives_an_if_and_the_next_call_sees_its_change() -> None:
    flag = State(True, name="flag")
    on = State(jnp.zeros(()), name="on")
    off = State(jnp.zeros(()), name="off")

    def body(x: jax.Array) -> jax.Array:
        if flag.value:
            on.value = on.value + 1.0
            return x
        off.value = off.value + 1.0
        return -x

    def reference(x: jax.Array, flag_value: bool, on_v: jax.Array, off_v: jax.Array) -> tuple[jax.Array, ...]:
        out = jax.vmap(lambda v: v if flag_value else -v)(x)
        return out, on_v + (1.0 if flag_value else 0.0), off_v + (0.0 if flag_value else 1.0)

    f = vmap2(body)
    x = jnp.arange(3.0)
    on_ref, off_ref = jnp.zeros(()), jnp.zeros(())
    for value in (True, True, False, True, False):
        flag.value = value
        out = f(x)
        ref, on_ref, off_ref = reference(x, value, on_ref, off_ref)
        np.testing.assert_allclose(out, ref)
        np.testing.assert_allclose(on.value, on_ref)
        np.testing.assert_allclose(off.value, off_ref)
    assert flag.value is False  # only read: left as the user set it


def test_read_only_python_state_under_vmap() -> None:
    scale = State(2, name="scale")
    f = vmap(lambda x: x * len(range(scale.value)))
    np.testing.assert_allclose(f(jnp.arange(3.0)), [0.0, 2.0, 4.0])
    scale.value = 3
    np.testing.assert_allclose(f(jnp.arange(3.0)), [0.0, 3.0, 6.0])


def test_unmapped_array_state_is_concrete_but_mapped_state_is_traced() -> None:
    steps = State(jnp.asarray(2), name="steps")
    w = ParamState(jnp.arange(3.0), name="w")

    def body(x: jax.Array) -> jax.Array:
        total = x
        for _ in range(int(steps.value)):  # concrete: unmapped State
            total = total + w.value  # traced: mapped State
        return total

    f = vmap2(body, in_axes=None, state_in_axes={0: ParamState})
    np.testing.assert_allclose(f(jnp.asarray(1.0)), 1.0 + 2 * jnp.arange(3.0))
    steps.value = jnp.asarray(3)
    np.testing.assert_allclose(f(jnp.asarray(1.0)), 1.0 + 3 * jnp.arange(3.0))


def test_global_value_change_between_eager_calls_is_seen() -> None:
    config = {"scale": 2.0}
    s = State(jnp.zeros(3), name="acc")

    def body(x: jax.Array) -> jax.Array:
        s.value = s.value + x * config["scale"]
        return s.value

    f = StatefulMapping(body, state_in_axes={0: lambda path, st: st is s})
    x = jnp.ones(3)
    f(x)
    config["scale"] = 10.0
    out = f(x)
    np.testing.assert_allclose(out, jnp.full(3, 12.0))
    np.testing.assert_allclose(s.value, jnp.full(3, 12.0))
