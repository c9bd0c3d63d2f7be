"""unvmap under vmap, nested vmap, jit, and grad; bad op."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_ir import unvmap


@pytest.mark.parametrize(
    ("op", "x", "expected"),
    [
        ("all", jnp.array([True, False]), False),
        ("all", np.array([[True, True], [True, True]]), True),
        ("any", jnp.array([True, False]), True),
        ("any", [False, False], False),
        ("max", jnp.array([[1.0, 3.0], [2.0, 0.0]]), 3.0),
        ("max", np.array([1, 5, 3]), 5),
        ("max", 3, 3),
        ("all", True, True),
    ],
)
def test_outside_vmap_reduces_the_whole_array(op: str, x: object, expected: object) -> None:
    out = unvmap(x, op)  # type: ignore[arg-type]
    assert out.shape == ()
    assert out == expected
    # A decision outside vmap is usable in Python control flow, as in a plain loop.
    assert bool(unvmap(x, op)) == bool(expected)  # type: ignore[arg-type]
    # The same value under jit.
    assert jax.jit(lambda v: unvmap(v, op))(jnp.asarray(x)) == expected  # type: ignore[arg-type]


def test_outside_vmap_none_is_identity() -> None:
    x = jnp.array([[1.0, 3.0], [2.0, 0.0]])
    np.testing.assert_array_equal(unvmap(x, "none"), x)
    np.testing.assert_array_equal(unvmap(np.array([True, False]), "none"), [True, False])


@pytest.mark.parametrize(
    ("op", "x", "expected"),
    [
        ("max", [[1.0, 5.0], [3.0, 2.0]], [5.0, 5.0]),
        ("all", [[True, True], [True, False]], [False, False]),
        ("any", [[False, False], [True, False]], [True, True]),
    ],
)
def test_per_lane_arrays_reduce_to_one_scalar_under_vmap(
    op: str, x: list[object], expected: list[object]
) -> None:
    # Each lane sees one scalar summarising every element of every lane.
    out = jax.vmap(lambda v: unvmap(v, op))(jnp.asarray(x))  # type: ignore[arg-type]
    assert out.shape == (len(expected),)
    np.testing.assert_array_equal(out, expected)
    out = jax.vmap(jax.vmap(lambda v: unvmap(v, op)))(jnp.asarray(x)[None])  # type: ignore[arg-type]
    np.testing.assert_array_equal(out, [expected])


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
