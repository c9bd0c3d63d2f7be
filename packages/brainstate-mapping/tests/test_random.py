"""Random numbers under the mappings: per-lane keys, discarded lane writes, one global advance per call."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_jit import jit
from brainstate_mapping import vmap, vmap2
from brainstate_state import State
from brainstate_state import random as br
from brainstate_state.random import RandomState


def test_lanes_differ_and_match_split_key_by_hand() -> None:
    rng = RandomState(42)
    start = rng.value

    out = vmap2(lambda x: x + rng.normal())(jnp.zeros(4))

    keys = jax.random.split(start, 5)  # split_key(4): state keeps keys[0], lanes get keys[1:]
    # Inside a lane, rng.normal() itself splits the lane key once.
    expected = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1]))(keys[1:])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert len(set(np.asarray(out).tolist())) == 4
    # The stream advanced exactly once (the lanes' own key writes were discarded).
    np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(keys[0]))


def test_reference_lane_values_and_reseeding_reproduces_them() -> None:
    # SPEC 3.5 [ran]: after seed(0) the 4 lanes draw [-1.34, 0.66, 1.03, 0.28].
    br.seed(0)
    f = vmap2(lambda x: x + br.randn())
    first = f(jnp.zeros(4))
    np.testing.assert_allclose(first, [-1.34, 0.66, 1.03, 0.28], atol=0.01)
    second = f(jnp.zeros(4))
    assert not np.allclose(first, second)
    br.seed(0)
    np.testing.assert_array_equal(f(jnp.zeros(4)), first)


def test_legacy_vmap_gives_per_lane_keys_too() -> None:
    rng = RandomState(7)
    out = vmap(lambda x: x + rng.uniform())(jnp.zeros(3))
    assert len(set(np.asarray(out).tolist())) == 3


def test_random_lanes_inside_jit_advance_every_call() -> None:
    rng = RandomState(1)
    f = jit(lambda x: vmap2(lambda y: y + rng.normal())(x))
    a, b = f(jnp.zeros(3)), f(jnp.zeros(3))
    assert not np.allclose(a, b)


def test_failure_restores_the_key() -> None:
    rng = RandomState(3)
    before = jax.random.key_data(rng.value)
    bad = State(jnp.ones(()), name="bad")

    def f(x: jax.Array) -> jax.Array:
        bad.value = x + rng.normal()
        return x

    with pytest.raises(Exception, match="bad"):
        vmap(f)(jnp.zeros(3))  # undeclared per-lane write: raised before anything runs
    np.testing.assert_array_equal(jax.random.key_data(rng.value), before)

    fail = [False]

    def check(_: jax.Array) -> None:
        if fail[0]:
            raise RuntimeError("runtime failure")

    def g(x: jax.Array) -> jax.Array:
        jax.debug.callback(check, x)
        return x + rng.normal()

    m = vmap2(g)
    m(jnp.zeros(3))  # compiled and run once
    before = jax.random.key_data(rng.value)
    fail[0] = True
    with pytest.raises(Exception, match="runtime failure"):
        m(jnp.zeros(3))
    np.testing.assert_array_equal(jax.random.key_data(rng.value), before)


def test_declared_random_state_is_an_ordinary_batched_state() -> None:
    rng = RandomState(5)
    rng.value = jax.random.split(rng.value, 3)  # an ensemble of 3 streams, declared explicitly
    start = rng.value
    out = vmap2(lambda: rng.normal(), in_axes=None, state_in_axes={0: RandomState})()
    expected = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1]))(start)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert rng.value.shape == (3,)
