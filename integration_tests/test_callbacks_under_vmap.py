"""Host callbacks (runtime checks, NaN debugging, checked ``ifelse``) inside mapped and compiled code.

The checks are traced once for one lane and batched afterwards by ``vmap``/``vmap2``; they must compile,
stay silent when no lane fails, and raise (with the whole batch in the message) when any lane fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate as bs


def _sign(x: jax.Array) -> Any:
    return bs.transform.ifelse([x < 0, x >= 0], [lambda: -1.0, lambda: 1.0])


def _checked_identity(x: jax.Array) -> jax.Array:
    bs.transform.jit_error_if(x < 0, "neg {}", x)
    return x


MAPPERS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "vmap": lambda f: bs.transform.vmap(f),
    "vmap2": lambda f: bs.transform.vmap2(f),
    "jit(vmap2)": lambda f: bs.transform.jit(bs.transform.vmap2(f)),
    "jit(vmap)": lambda f: bs.transform.jit(bs.transform.vmap(f)),
    "jax.jit(vmap2)": lambda f: jax.jit(bs.transform.vmap2(f)),
    "vmap2(vmap2)": lambda f: bs.transform.vmap2(bs.transform.vmap2(f)),
}


@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_ifelse_under_mapping_matches_where(mapper: str) -> None:
    mapped = MAPPERS[mapper](_sign)
    for values in ([1.0, 2.0], [-1.0, 2.0], [-3.0, -0.5], [0.0, 7.0]):
        x = np.array(values, dtype=np.float32)
        if mapper == "vmap2(vmap2)":
            x = np.stack([x, -x])
        np.testing.assert_array_equal(np.asarray(mapped(jnp.asarray(x))), np.where(x < 0, -1.0, 1.0))


@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_jit_error_if_under_mapping_is_silent_when_no_lane_fails(mapper: str) -> None:
    for trial in range(3):
        x = jnp.arange(3.0) + trial
        if mapper == "vmap2(vmap2)":
            x = jnp.stack([x, x + 1])
        out = MAPPERS[mapper](_checked_identity)(x)  # a fresh transform object per call
        np.testing.assert_array_equal(np.asarray(out), np.asarray(x))


@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_jit_error_if_under_mapping_raises_when_any_lane_fails(mapper: str) -> None:
    mapped = MAPPERS[mapper](_checked_identity)
    good = jnp.ones((2, 3)) if mapper == "vmap2(vmap2)" else jnp.ones(3)
    bad = good.at[..., 1].set(-2.0)
    for _ in range(2):
        with pytest.raises(Exception, match=r"neg \[") as info:
            mapped(bad)
        # The message is formatted with the whole batch, so the failing lane's value is in it.
        assert "-2." in str(info.value)
        np.testing.assert_array_equal(np.asarray(mapped(good)), np.asarray(good))


def test_jit_error_if_with_unmapped_argument_and_state() -> None:
    limit = bs.State(jnp.asarray(10.0), name="limit")
    counter = bs.State(jnp.asarray(0.0), name="counter")

    def step(x: jax.Array, scale: float) -> jax.Array:
        y = x * scale
        bs.transform.jit_error_if(y > limit.value, "too large: {} (limit {})", y, limit.value)
        counter.value = counter.value + 1.0
        return y

    mapped = bs.transform.vmap2(step, in_axes=(0, None))
    np.testing.assert_allclose(np.asarray(mapped(jnp.arange(3.0), 2.0)), [0.0, 2.0, 4.0])
    np.testing.assert_allclose(np.asarray(mapped(np.arange(3.0, dtype=np.float32), 3)), [0.0, 3.0, 6.0])
    with pytest.raises(Exception, match=r"too large: \[ ?0\. +6\. +12\.\] \(limit 10\.0\)"):
        mapped(jnp.arange(3.0), 6.0)
    limit.value = jnp.asarray(20.0)
    np.testing.assert_allclose(np.asarray(mapped(jnp.arange(3.0), 6.0)), [0.0, 6.0, 12.0])


def test_jit_error_if_under_jax_vmap_of_a_traced_program() -> None:
    # jax.vmap over a program traced for one lane (what vmap2 does internally), nested in jax.jit.
    def one_lane(x: jax.Array) -> jax.Array:
        return _checked_identity(x) * 2.0

    jaxpr = jax.make_jaxpr(one_lane)(jnp.float32(0.0))
    batched = jax.jit(jax.vmap(lambda x: jax.core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, x)[0]))
    np.testing.assert_allclose(np.asarray(batched(jnp.arange(4.0))), [0.0, 2.0, 4.0, 6.0])
    with pytest.raises(Exception, match=r"neg \["):
        batched(jnp.array([1.0, -1.0]))


def _log_loss(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.log(x))


@pytest.mark.parametrize("mapper", ["vmap", "vmap2", "jit(vmap2)"])
def test_debug_nan_under_mapping(mapper: str) -> None:
    def checked(x: jax.Array) -> jax.Array:
        bs.transform.debug_nan(jnp.log, x)
        return jnp.log(x)

    mapped = MAPPERS[mapper](checked)
    for trial in range(2):
        x = jnp.arange(1.0, 4.0) + trial
        np.testing.assert_allclose(np.asarray(mapped(x)), np.log(np.asarray(x)), rtol=1e-6)
        with pytest.raises(Exception, match=r"NaN/Inf detected") as info:
            mapped(x.at[1].set(-1.0))
        assert "`log`" in str(info.value)
        assert "vmap lane 1" in str(info.value)


@pytest.mark.parametrize("mapper", ["vmap", "vmap2", "jit(vmap2)"])
def test_grad_with_debug_nan_under_mapping(mapper: str) -> None:
    w = bs.ParamState(jnp.asarray(2.0), name="w")

    def loss(x: jax.Array) -> jax.Array:
        return jnp.sqrt(x * w.value)

    def per_lane(x: jax.Array) -> jax.Array:
        return bs.transform.grad(loss, argnums=0, debug_nan=True)(x)

    mapped = MAPPERS[mapper](per_lane)
    for trial in range(2):
        x = jnp.array([1.0, 2.0, 4.0]) + trial
        expected = jax.vmap(jax.grad(lambda x: jnp.sqrt(x * 2.0)))(x)
        np.testing.assert_allclose(np.asarray(mapped(x)), np.asarray(expected), rtol=1e-6)
        with pytest.raises(Exception, match=r"NaN/Inf detected \[grad\]"):
            mapped(x.at[2].set(-1.0))
    assert float(w.value) == 2.0
