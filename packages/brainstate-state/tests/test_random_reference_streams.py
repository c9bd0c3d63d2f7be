"""Draws whose algorithm and key use follow the reference implementation (brainstate 0.5.4) bit for bit:
``negative_binomial``, ``noncentral_chisquare``, ``f``, ``uniform`` and ``wald``.

The pinned numbers were produced by the reference implementation with the same calls (after ``seed(0)``
or with the same ``key=``); they are compared bit-exactly on CPU, where they were produced.
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
    "negative_binomial": (lambda: random.negative_binomial(3, 0.3, size=6), [14, 1, 2, 3, 7, 8], "int32"),
    "negative_binomial_array_p": (lambda: random.negative_binomial(2.5, np.array([0.2, 0.6, 0.9])), [19, 0, 0], "int32"),
    "negative_binomial_array_n": (lambda: random.negative_binomial(np.array([1, 4, 10]), 0.4), [5, 1, 9], "int32"),
    "negative_binomial_scalar": (lambda: random.negative_binomial(5, 0.7), 5, "int32"),
    "noncentral_chisquare": (lambda: random.noncentral_chisquare(3.0, 1.0, size=4), [6.462708950042725, 5.806269645690918, 1.7693923711776733, 2.3983170986175537], "float32"),
    "noncentral_chisquare_small_df": (lambda: random.noncentral_chisquare(0.5, 1.0, size=4), [1.372281789779663, 0.03826406970620155, 3.980396270751953, 0.5064512491226196], "float32"),
    "noncentral_chisquare_arrays": (lambda: random.noncentral_chisquare(np.array([0.5, 1.0, 2.0, 7.0]), np.array([0.0, 2.0, 0.0, 3.5])), [1.372281789779663, 0.2084372490644455, 0.26048606634140015, 1.700692057609558], "float32"),
    "noncentral_chisquare_int_args": (lambda: random.noncentral_chisquare(4, 0, size=3), [3.824370861053467, 2.57796573638916, 2.61625337600708], "float32"),
    "f_int_args": (lambda: random.f(3, 4, size=4), [1.6445869207382202, 0.05437218025326729, 1.9667032957077026, 0.5294610857963562], "float32"),
    "f_array_dfnum": (lambda: random.f(np.array([1.5, 2.0, 7.0]), 4.0), [1.6477079391479492, 0.017385656014084816, 1.707621455192566], "float32"),
    "f_scalar": (lambda: random.f(0.7, 11.0), 1.232455849647522, "float32"),
    "uniform": (lambda: random.uniform(-1.0, 2.0, size=4), [-0.9781185388565063, -0.9373264312744141, 0.7442795038223267, 0.08551394939422607], "float32"),
    "uniform_array_low": (lambda: random.uniform(np.array([0.3, -2.0]), 7.1), [0.3495979905128479, -1.8098901510238647], "float32"),
    "uniform_int_bounds": (lambda: random.uniform(1, 5, size=3), [1.0291752815246582, 1.0835647583007812, 3.3257060050964355], "float32"),
    "wald": (lambda: random.wald(1.0, 1.0, size=4), [0.819893479347229, 0.4712766110897064, 0.30492618680000305, 0.6651420593261719], "float32"),
    "wald_mean_scale": (lambda: random.wald(2.0, 3.0, size=4), [1.7004926204681396, 1.0770503282546997, 0.745255172252655, 1.4325499534606934], "float32"),
    "wald_arrays": (lambda: random.wald(np.array([0.5, 2.0, 10.0]), np.array([1.0, 0.01, 100.0])), [0.43444737792015076, 0.016580136492848396, 14.850735664367676], "float32"),
}  # fmt: skip

# The reference's key after one draw from seed(0): every draw above splits the state once.
KEY_AFTER_ONE_DRAW = [1797259609, 2579123966]


def assert_reference(actual: Any, expected: Any) -> None:
    """Bit-exact on CPU; within a few ulp of float draws on GPU and TPU (other log/exp kernels)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if jax.default_backend() == "cpu" or not np.issubdtype(actual.dtype, np.floating):
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=0)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_draw_is_bit_exact_with_the_reference(name: str) -> None:
    draw, expected, dtype = PINNED[name]
    for _ in range(2):  # a second seed(0) gives the same numbers again
        random.seed(0)
        out = np.asarray(draw())
        assert str(out.dtype) == dtype
        assert_reference(out, np.asarray(expected, dtype))
        assert np.asarray(random.get_key_data()).tolist() == KEY_AFTER_ONE_DRAW


def test_key_argument_draws_match_the_reference_and_leave_the_state() -> None:
    random.seed(3)
    before = np.asarray(random.get_key_data()).tolist()
    nb = random.negative_binomial(3, 0.3, size=6, key=jax.random.key(9))
    nc = random.noncentral_chisquare(3.0, 1.0, size=4, key=jax.random.key(9))
    np.testing.assert_array_equal(np.asarray(nb), [6, 13, 2, 5, 0, 10])
    assert_reference(
        nc,
        np.asarray(
            [3.086699962615967, 2.8798484802246094, 3.3874399662017822, 0.30147746205329895], "float32"
        ),
    )
    assert np.asarray(random.get_key_data()).tolist() == before


def test_negative_binomial_is_a_gamma_poisson_mixture_with_two_split_keys() -> None:
    # By hand: the state key is split into three; the state keeps the first, the gamma draw uses the
    # second and the Poisson draw the third.
    for seed in (0, 5, 11):
        rng = random.RandomState(seed)
        got = [rng.negative_binomial(4, 0.25, size=5) for _ in range(3)]
        key = jax.random.key(seed)
        for draw in got:
            key, k_gamma, k_poisson = jax.random.split(key, 3)
            rate = jax.random.gamma(k_gamma, 4.0, (5,)) * (1 - 0.25) / 0.25
            np.testing.assert_array_equal(
                np.asarray(draw), np.asarray(jax.random.poisson(k_poisson, rate, (5,)))
            )
        np.testing.assert_array_equal(
            np.asarray(jax.random.key_data(rng.value)), np.asarray(jax.random.key_data(key))
        )


def test_noncentral_chisquare_by_hand_for_small_and_large_df() -> None:
    key = jax.random.key(4)
    df = jnp.array([0.5, 3.0])
    nonc = jnp.array([2.0, 2.0])
    got = random.noncentral_chisquare(df, nonc, key=key)
    k_poisson, k_normal, k_gamma = jax.random.split(key, 3)
    i = jax.random.poisson(k_poisson, nonc / 2, (2,))
    small = 2 * jax.random.gamma(k_gamma, df / 2 + i, (2,))
    shifted = jax.random.normal(k_normal, (2,)) + jnp.sqrt(nonc)
    large = 2 * jax.random.gamma(k_gamma, (df - 1) / 2, (2,)) + shifted * shifted
    np.testing.assert_array_equal(np.asarray(got), np.asarray([small[0], large[1]]))


def test_draws_inside_jit_use_the_same_keys() -> None:
    nb = jax.jit(lambda k: random.negative_binomial(3, 0.3, size=6, key=k))(jax.random.key(9))
    np.testing.assert_array_equal(np.asarray(nb), [6, 13, 2, 5, 0, 10])
    nc = jax.jit(lambda k: random.noncentral_chisquare(3.0, 1.0, size=4, key=k))(jax.random.key(9))
    expected = [3.086699962615967, 2.8798484802246094, 3.3874399662017822, 0.30147746205329895]
    np.testing.assert_allclose(np.asarray(nc), expected, rtol=1e-6)


def test_uniform_equals_jax_uniform_with_bounds() -> None:
    key = jax.random.key(9)
    got = random.uniform(0.3, 7.1, size=64, key=key)
    np.testing.assert_array_equal(
        np.asarray(got), np.asarray(jax.random.uniform(key, (64,), minval=0.3, maxval=7.1))
    )
