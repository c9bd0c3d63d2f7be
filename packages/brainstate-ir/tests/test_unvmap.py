"""unvmap under vmap, nested vmap, jit, and grad; bad op."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_ir import unvmap


def test_outside_vmap_is_identity() -> None:
    np.testing.assert_array_equal(unvmap(jnp.array([True, False]), "any"), [True, False])
    np.testing.assert_array_equal(unvmap(jnp.arange(3.0), "max"), [0.0, 1.0, 2.0])


@pytest.mark.parametrize(
    ("op", "x", "expected"),
    [
        ("any", jnp.array([0.0, 1.0, 2.0]) > 1, [True, True, True]),
        ("any", jnp.array([0.0, 1.0, 2.0]) > 5, [False, False, False]),
        ("all", jnp.array([0.0, 1.0, 2.0]) >= 0, [True, True, True]),
        ("all", jnp.array([0.0, 1.0, 2.0]) > 0, [False, False, False]),
        ("max", jnp.array([0.0, 3.0, 2.0]), [3.0, 3.0, 3.0]),
    ],
)
def test_reductions_under_vmap(op: str, x: jax.Array, expected: list[float]) -> None:
    out = jax.vmap(lambda v: unvmap(v, op))(x)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out, expected)
    out_jit = jax.jit(jax.vmap(lambda v: unvmap(v, op)))(x)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out_jit, expected)


def test_nested_vmap_reduces_all_lanes() -> None:
    x = jnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 4.0]])
    out = jax.vmap(jax.vmap(lambda v: unvmap(v > 4, "any")))(x)
    assert not bool(out.any())
    out = jax.vmap(jax.vmap(lambda v: unvmap(v > 3.5, "any")))(x)
    assert bool(out.all())


def test_none_gives_each_lane_the_whole_batch() -> None:
    out = jax.vmap(lambda v: unvmap(v, "none"))(jnp.arange(3.0))
    np.testing.assert_array_equal(out, np.tile(np.arange(3.0), (3, 1)))


def test_in_while_loop_under_vmap() -> None:
    def count_until(limit):
        def cond(c):
            return unvmap(c[0] < limit, "any")

        def body(c):
            i, n = c
            return i + 1, jnp.where(i < limit, n + 1, n)

        return jax.lax.while_loop(cond, body, (0, 0))[1]

    np.testing.assert_array_equal(jax.vmap(count_until)(jnp.array([1, 3, 2])), [1, 3, 2])


def test_bad_op() -> None:
    with pytest.raises(ValueError, match="op must be one of"):
        unvmap(jnp.ones(2), "sum")  # type: ignore[arg-type]
