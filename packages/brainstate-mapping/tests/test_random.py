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

    keys = jax.random.split(start, 5)  # lanes get keys[1:]
    # Inside a lane, rng.normal() itself splits the lane key once.
    expected = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1]))(keys[1:])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert len(set(np.asarray(out).tolist())) == 4
    # The lanes' own key writes were discarded; the stream moved to a key split off keys[0].
    after = jax.random.split(keys[0])[1]
    np.testing.assert_array_equal(jax.random.key_data(rng.value), jax.random.key_data(after))


def test_reference_lane_values_and_reseeding_reproduces_them() -> None:
    # brainstate 0.5.4: after seed(0) the 4 lanes draw [-1.34, 0.66, 1.03, 0.28].
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


# The global stream after a mapped draw, as brainstate 0.5.4 leaves it: after ``seed(2)`` the lanes get
# ``split(key, n + 1)[1:]`` and the stream becomes ``split(split(key, n + 1)[0])[1]``. The numbers below were
# produced by brainstate 0.5.4 running the same programs.
_LANES_4 = [0.353814, -0.086788, -1.137533, 0.379613]
_KEY_AFTER_ONE_CALL = [726969054, 2411990420]
_NEXT_AFTER_ONE_CALL = 0.18456626


def _key_data() -> list[int]:
    return np.asarray(jax.random.key_data(br.DEFAULT.value)).tolist()  # type: ignore[no-any-return]


def _by_hand(seed: int, n: int) -> tuple[jax.Array, list[int]]:
    """Lane draws of ``x + randn()`` and the key afterwards, with the stream threaded by hand."""
    keys = jax.random.split(jax.random.key(seed), n + 1)
    lanes = jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1]))(keys[1:])
    after = jax.random.split(keys[0])[1]
    return lanes, np.asarray(jax.random.key_data(after)).tolist()


def _check_one_call(out: jax.Array) -> None:
    np.testing.assert_allclose(out, _LANES_4, atol=1e-5)
    assert _key_data() == _KEY_AFTER_ONE_CALL
    np.testing.assert_allclose(float(br.rand()), _NEXT_AFTER_ONE_CALL, rtol=1e-6)


def test_stream_after_vmap2_matches_054_and_the_hand_threaded_stream() -> None:
    br.seed(2)
    out = vmap2(lambda x: x + br.randn())(jnp.zeros(4))
    lanes, after = _by_hand(2, 4)
    np.testing.assert_allclose(out, lanes, rtol=1e-6)
    assert _key_data() == after
    br.seed(2)
    _check_one_call(vmap2(lambda x: x + br.randn())(jnp.zeros(4)))


def test_stream_after_jit_of_vmap2_matches_054() -> None:
    br.seed(2)
    _check_one_call(jit(lambda xs: vmap2(lambda x: x + br.randn())(xs))(jnp.zeros(4)))


def test_stream_after_vmap_matches_054() -> None:
    br.seed(2)
    _check_one_call(vmap(lambda x: x + br.randn())(jnp.zeros(4)))


def test_stream_after_two_mapped_calls_and_two_draws_per_lane_matches_054() -> None:
    br.seed(2)
    f = vmap2(lambda x: x + br.randn())
    first, second = f(jnp.zeros(3)), f(jnp.zeros(3))
    np.testing.assert_allclose(first, _LANES_4[:3], atol=1e-5)
    np.testing.assert_allclose(second, [-1.033768, -0.059203, -0.828826], atol=1e-5)
    assert _key_data() == [439934986, 1172893561]
    np.testing.assert_allclose(float(br.rand()), 0.31106591, rtol=1e-6)
    br.seed(2)
    out = vmap2(lambda x: x + br.randn() + br.rand())(jnp.zeros(3))
    np.testing.assert_allclose(out, [1.216112, 0.702322, -0.201043], atol=1e-5)
    assert _key_data() == _KEY_AFTER_ONE_CALL


def test_stream_after_map_with_batch_size_matches_054() -> None:
    from brainstate_mapping import map as bmap

    br.seed(2)
    out = bmap(lambda x: x + br.randn(), jnp.zeros(5), batch_size=2)
    np.testing.assert_allclose(out, [0.353814, -0.086788, -1.033768, -0.059203, -2.058817], atol=1e-5)
    assert _key_data() == [1387481913, 470418330]
    np.testing.assert_allclose(float(br.rand()), 0.40911174, rtol=1e-6)
    br.seed(2)
    out = bmap(lambda x: x + br.randn(), jnp.zeros(4), batch_size=2)
    np.testing.assert_allclose(out, [0.353814, -0.086788, -1.033768, -0.059203], atol=1e-5)
    assert _key_data() == [439934986, 1172893561]
    np.testing.assert_allclose(float(br.rand()), 0.31106591, rtol=1e-6)


def test_stream_after_vectorised_state_creation_matches_054() -> None:
    from brainstate_mapping import vmap2_new_states, vmap_new_states
    from brainstate_state import HiddenState, nn

    class Net(nn.Module):
        def init_state(self) -> None:
            self.v = HiddenState(br.randn(2))

    expected = [[0.353814, 1.663074], [-0.086788, -0.850419], [-1.137533, 0.691108]]
    br.seed(2)
    net = Net()
    vmap_new_states(lambda: net.init_state(), axis_size=3)()
    np.testing.assert_allclose(net.v.value, expected, atol=1e-5)
    assert _key_data() == _KEY_AFTER_ONE_CALL
    np.testing.assert_allclose(float(br.rand()), _NEXT_AFTER_ONE_CALL, rtol=1e-6)
    br.seed(2)
    net = Net()
    vmap2_new_states(net, {}, axis_size=3)
    np.testing.assert_allclose(net.v.value, expected, atol=1e-5)
    assert _key_data() == _KEY_AFTER_ONE_CALL
    np.testing.assert_allclose(float(br.rand()), _NEXT_AFTER_ONE_CALL, rtol=1e-6)
