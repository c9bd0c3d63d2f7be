"""``map``: sequential (``scan``) and chunked (``vmap2`` inside ``scan``) mapping over the leading axis."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainstate_mapping import map as bmap
from brainstate_mapping import unvmap
from brainstate_state import State
from brainstate_state.random import RandomState


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 9), batch_size=st.sampled_from([None, 1, 2, 4, 16]))
def test_map_matches_jax_lax_map(n: int, batch_size: int | None) -> None:
    offset = State(jnp.asarray(1.5))
    xs = jnp.arange(n * 2.0).reshape(n, 2)
    ys = jnp.arange(n * 1.0)
    out = bmap(lambda x, y: (x * y + offset.value).sum(), xs, ys, batch_size=batch_size)
    ref = jax.lax.map(lambda a: (a[0] * a[1] + 1.5).sum(), (xs, ys))
    np.testing.assert_allclose(out, ref)


def test_sequential_map_threads_written_states() -> None:
    total = State(jnp.zeros(()))

    def f(x: jax.Array) -> jax.Array:
        total.value = total.value + x
        return total.value

    out = bmap(f, jnp.arange(4.0))
    np.testing.assert_allclose(out, [0.0, 1.0, 3.0, 6.0])
    np.testing.assert_allclose(total.value, 6.0)


def test_batched_map_rejects_state_writes_but_allows_random() -> None:
    total = State(jnp.zeros(()), name="running_total")

    def f(x: jax.Array) -> jax.Array:
        total.value = total.value + x
        return x

    with pytest.raises(ValueError, match="running_total"):
        bmap(f, jnp.arange(4.0), batch_size=2)
    np.testing.assert_array_equal(total.value, 0.0)
    rng = RandomState(0)
    out = bmap(lambda x: x + rng.normal(), jnp.zeros(5), batch_size=2)
    assert len(set(np.asarray(out).tolist())) == 5


def test_map_input_errors() -> None:
    with pytest.raises(ValueError, match="0-d"):
        bmap(lambda x: x, jnp.asarray(1.0))
    with pytest.raises(ValueError, match="different leading sizes"):
        bmap(lambda x, y: x, jnp.ones(2), jnp.ones(3))
    with pytest.raises(ValueError, match="at least one"):
        bmap(lambda: 1.0)
    with pytest.raises(ValueError, match="batch_size"):
        bmap(lambda x: x, jnp.ones(2), batch_size=0)


def test_unvmap_is_reexported_and_reduces_over_lanes() -> None:
    from brainstate_mapping import vmap2

    out = vmap2(lambda x: unvmap(x, "max"))(jnp.arange(3.0))
    np.testing.assert_allclose(out, [2.0, 2.0, 2.0])
