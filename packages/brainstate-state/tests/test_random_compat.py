"""Draws that must equal the reference implementation's (brainstate 0.5.4) bit for bit, its parameter
order and defaults, and the ``check_valid=`` argument of the distributions that validate their parameters.

The pinned numbers were produced by the reference implementation after ``seed(0)`` with the same calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_state import random

PINNED: dict[str, tuple[Callable[[], Any], Any, str]] = {
    "chisquare": (lambda: random.chisquare(3.0, 3), [6.347753047943115, 0.2348489910364151, 0.5988819003105164], "float32"),
    "chisquare_int_df": (lambda: random.chisquare(2, 3), [4.717990398406982, 0.03335854783654213, 0.18513281643390656], "float32"),
    "f": (lambda: random.f(3.0, 4.0, 3), [1.6445869207382202, 0.05437218025326729, 1.9667032957077026], "float32"),
    "pareto": (lambda: random.pareto(2.0, 3), [1.0036669969558716, 1.0106121301651, 1.5456606149673462], "float32"),
    "truncated_normal": (lambda: random.truncated_normal(-1.0, 1.0, 3), [-0.9796288013458252, -0.9426987171173096, 0.1397949755191803], "float32"),
    "truncated_normal_loc_scale": (lambda: random.truncated_normal(-1.0, 1.0, 3, 0.5, 2.0), [-0.9820361137390137, -0.9488624334335327, 0.21308255195617676], "float32"),
    "truncated_normal_unchecked": (lambda: random.truncated_normal(1.0, -1.0, 3, check_valid=False), [-1.0000001192092896] * 3, "float32"),
    "geometric": (lambda: random.geometric(0.3, 5), [1, 1, 3, 2, 1], "int32"),
    "multinomial": (lambda: random.multinomial(10, [0.2, 0.3, 0.5]), [5, 2, 3], "int32"),
    "multinomial_size": (lambda: random.multinomial(10, [0.2, 0.3, 0.5], 2), [[6, 3, 1], [3, 3, 4]], "int32"),
    "multinomial_2d_pvals": (lambda: random.multinomial(5, [[0.2, 0.8], [0.5, 0.5]]), [[3, 2], [3, 2]], "int32"),
    "multinomial_pvals_below_one": (lambda: random.multinomial(5, [0.2, 0.3], 3), [[3, 1], [1, 3], [2, 1]], "int32"),
    "triangular_defaults": (lambda: random.triangular(size=3), [0.06038965284824371, 0.10220368951559067, 0.5425212979316711], "float32"),
    "triangular_scalar": (lambda: random.triangular(), 0.06038965284824371, "float32"),
    "randint_like_float_input": (lambda: random.randint_like(jnp.zeros(3), 0, 5), [2.0, 2.0, 1.0], "float32"),
    "power": (lambda: random.power(2.0, 3), [0.08540386706590652, 0.14453785121440887, 0.762513279914856], "float32"),
    "bernoulli": (lambda: random.bernoulli(0.3, 4), [True, True, False, False], "bool"),
    "binomial": (lambda: random.binomial(5, 0.3, 4), [1, 1, 0, 1], "int32"),
    "binomial_unchecked": (lambda: random.binomial(-1, 0.3, 3, check_valid=False), [0, 0, 0], "int32"),
    "bernoulli_unchecked": (lambda: random.bernoulli(1.5, 3, check_valid=False), [True, True, True], "bool"),
}  # fmt: skip

KEY_AFTER_ONE_DRAW = [1797259609, 2579123966]


def assert_reference(actual: Any, expected: Any) -> None:
    """Bit-exact on CPU, where the pinned numbers were produced; within a few ulp on GPU and TPU.

    Their kernels of log, exp and erf round differently in the last bits; the uniform bits underneath the
    draws are the same on every backend, so integer and boolean draws stay exact everywhere.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    if jax.default_backend() == "cpu" or not np.issubdtype(actual.dtype, np.floating):
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=0)


def key_data() -> list[int]:
    return np.asarray(random.get_key_data()).tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_draw_is_bit_exact_with_the_reference(name: str) -> None:
    draw, expected, dtype = PINNED[name]
    random.seed(0)
    out = np.asarray(draw())
    assert str(out.dtype) == dtype
    assert_reference(out, np.asarray(expected, dtype))
    assert key_data() == KEY_AFTER_ONE_DRAW


def test_draws_match_inside_jit_too() -> None:
    key = jax.random.split(jax.random.key(0))[1]
    for name in ("chisquare", "truncated_normal_loc_scale", "geometric", "multinomial_size", "pareto"):
        draw, expected, dtype = PINNED[name]
        random.seed(0)
        eager = np.asarray(draw())
        random.seed(0)
        assert_reference(eager, np.asarray(expected, dtype))
    out = jax.jit(lambda k: random.multinomial(10, jnp.array([0.2, 0.3, 0.5]), 2, key=k))(key)
    np.testing.assert_array_equal(out, [[6, 3, 1], [3, 3, 4]])
    out = jax.jit(lambda k, df: random.chisquare(df, 3, key=k))(key, 3.0)
    assert_reference(out, np.asarray(PINNED["chisquare"][1], np.float32))


# ------------------------------------------------------------------------------------- parameter order
def test_random_state_methods_take_dtype_before_key() -> None:
    rng = random.RandomState(0)
    key = jax.random.key(5)
    assert rng.randint(0, 10, 4, jnp.int16, key).dtype == jnp.int16
    np.testing.assert_array_equal(
        rng.randint(0, 10, 4, jnp.int16, key), jax.random.randint(key, (4,), 0, 10, jnp.int16)
    )
    assert rng.rand_like(jnp.zeros(3), jnp.float16, key).dtype == jnp.float16
    np.testing.assert_array_equal(rng.randn_like(jnp.zeros(3), None, key), jax.random.normal(key, (3,)))
    assert rng.randint_like(jnp.zeros(3), 0, 5, jnp.int16, key).dtype == jnp.int16
    # The module-level randint keeps the reference order (key before dtype).
    np.testing.assert_array_equal(
        random.randint(0, 10, 4, key, jnp.int16), jax.random.randint(key, (4,), 0, 10, jnp.int16)
    )
    np.testing.assert_array_equal(random.rand_like(jnp.zeros(2), key=key), jax.random.uniform(key, (2,)))


def test_set_key_accepts_a_seed_and_the_reference_keyword() -> None:
    random.set_key(3)
    assert key_data() == [0, 3]
    random.set_key(seed_or_key=jax.random.PRNGKey(4))
    assert key_data() == [0, 4]
    rng = random.RandomState(0)
    rng.set_key(seed_or_key=7)
    assert np.asarray(jax.random.key_data(rng.value)).tolist() == [0, 7]


# ------------------------------------------------------------------------------------- check_valid
INVALID: list[tuple[str, Callable[..., Any], str]] = [
    ("bernoulli", lambda p, **kw: random.bernoulli(p, 3, **kw), "probability in \\[0, 1\\]"),
    ("binomial", lambda p, **kw: random.binomial(5, p, 3, **kw), "probability in \\[0, 1\\]"),
    ("chisquare", lambda p, **kw: random.chisquare(1.0 - p, 3, **kw), "'df' must be positive"),
    ("power", lambda p, **kw: random.power(1.0 - p, 3, **kw), "'a' must be positive"),
    ("multinomial", lambda p, **kw: random.multinomial(5, jnp.stack([p, 0.2]), **kw), "sum of pvals"),
    (
        "truncated_normal",
        lambda p, **kw: random.truncated_normal(-1.0, 1.0, 3, loc=p * 4.0, scale=2.0, **kw),
        "more than 2 standard deviations",
    ),
]


@pytest.mark.parametrize(("name", "draw", "match"), INVALID, ids=[case[0] for case in INVALID])
def test_check_valid_rejects_bad_parameters_eagerly_and_keeps_the_key(
    name: str, draw: Callable[..., Any], match: str
) -> None:
    random.seed(0)
    with pytest.raises(ValueError, match=match) as info:
        draw(jnp.float32(1.5))
    assert "check_valid=False" in str(info.value)
    assert key_data() == [0, 0]  # nothing drawn
    draw(jnp.float32(1.5), check_valid=False)  # the reference computes without checking
    assert key_data() == KEY_AFTER_ONE_DRAW
    random.seed(0)
    draw(jnp.float32(0.75))  # valid: no error


@pytest.mark.parametrize(("name", "draw", "match"), INVALID, ids=[case[0] for case in INVALID])
def test_check_valid_raises_at_run_time_for_traced_parameters(
    name: str, draw: Callable[..., Any], match: str
) -> None:
    key = jax.random.key(1)
    fn = jax.jit(lambda p: draw(p, key=key))
    jax.block_until_ready(fn(jnp.float32(0.75)))
    for _ in range(2):  # the same compiled program, called again with a bad value
        with pytest.raises(Exception, match=match):  # noqa: PT011 - JaxRuntimeError wraps the ValueError
            jax.block_until_ready(fn(jnp.float32(1.5)))
    unchecked = jax.jit(lambda p: draw(p, key=key, check_valid=False))
    jax.block_until_ready(unchecked(jnp.float32(1.5)))
    batched = jax.vmap(lambda p: draw(p, key=key))
    jax.block_until_ready(batched(jnp.array([0.75, 0.5], jnp.float32)))
    with pytest.raises(Exception, match=match):  # noqa: PT011
        jax.block_until_ready(batched(jnp.array([0.75, 1.5], jnp.float32)))


def test_check_valid_accepts_python_numbers_and_numpy_arrays() -> None:
    random.seed(0)
    with pytest.raises(ValueError, match="probability"):
        random.bernoulli(np.array([0.2, 1.2]))
    with pytest.raises(ValueError, match="probability"):
        random.binomial(3, 1.5)
    assert key_data() == [0, 0]
    assert random.bernoulli(np.array([0.2, 1.0])).shape == (2,)
