"""jit and checkpoint reject bad argument numbers with the exception types plain JAX raises."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import ArgnumsError
from brainstate_jit import checkpoint, jit


def _jax_error(thunk: Any) -> type[BaseException]:
    try:
        thunk()
    except Exception as err:  # noqa: BLE001 - whatever plain JAX raises
        return type(err)
    raise AssertionError("plain JAX accepted the input")


def _plain(x, n):
    return x * n


def _model():
    s = bss.State(jnp.array(1.0), name="s")

    def step(x, n):
        s.value = s.value + x * n
        return s.value

    return s, step


BAD_STATIC = [
    # (static_argnums, error, message, plain JAX's equivalent call)
    (
        1.5,
        TypeError,
        r"static_argnums must be an int or a sequence of ints, got 1\.5 of type float",
        lambda a: jax.jit(_plain, static_argnums=a)(1.0, 2),
    ),
    (
        "a",
        TypeError,
        r"static_argnums must be an int or a sequence of ints, got 'a' of type str",
        lambda a: jax.jit(_plain, static_argnums=a)(1.0, 2),
    ),
    (
        (1, 0.5),
        TypeError,
        r"static_argnums must be an int or a sequence of ints, got 0\.5 of type float \(in static_argnums=\(1, 0\.5\)\)",
        lambda a: jax.jit(_plain, static_argnums=a)(1.0, 2),
    ),
    (True, TypeError, r"static_argnums must be an int or a sequence of ints, got True of type bool", None),
    (
        -1,
        ValueError,
        r"static_argnums must be non-negative, got -1\. brainstate passes State values .* hidden "
        r"leading arguments",
        None,
    ),
    (
        (1, -3),
        ValueError,
        r"static_argnums must be non-negative, got -3",
        lambda a: jax.jit(_plain, static_argnums=a)(1.0, 2),
    ),
]


@pytest.mark.parametrize(("static_argnums", "error", "match", "jax_call"), BAD_STATIC)
def test_jit_rejects_bad_static_argnums_without_changing_states(static_argnums, error, match, jax_call):
    s, step = _model()
    with pytest.raises(error, match=r"jit of \S*step: " + match):
        jit(step, static_argnums=static_argnums)
    with pytest.raises(error, match=r"jit of \S*step: " + match):
        jit(static_argnums=static_argnums)(step)
    if jax_call is not None:
        with pytest.raises(_jax_error(lambda: jax_call(static_argnums))):
            jit(step, static_argnums=static_argnums)
    assert float(s.value) == 1.0


@pytest.mark.parametrize(("donate_argnums", "error", "match", "jax_call"), BAD_STATIC)
def test_jit_rejects_bad_donate_argnums_without_changing_states(donate_argnums, error, match, jax_call):
    s, step = _model()
    match = match.replace("static_argnums", "donate_argnums")
    with pytest.raises(error, match=r"jit\S*: " + match):
        jit(step, donate_argnums=donate_argnums)
    assert float(s.value) == 1.0


def test_jit_static_argnums_beyond_the_call_is_a_value_error_as_in_jax():
    s, step = _model()
    jitted = jit(step, static_argnums=2)
    expected = _jax_error(lambda: jax.jit(_plain, static_argnums=2)(1.0, 2))
    assert issubclass(expected, ValueError)
    for _ in range(2):
        with pytest.raises(
            ArgnumsError, match=r"static_argnums contains 2, but \S*step was called with only 2"
        ):
            jitted(jnp.array(1.0), 3)
        assert float(s.value) == 1.0
    with pytest.raises(expected):
        jitted(jnp.array(1.0), 3)


def test_jit_accepts_what_jax_accepts():
    s, step = _model()
    for nums in (np.int64(1), (1, 1), [1]):
        f = jit(step, static_argnums=nums)
        for n in (2, 3):
            f(jnp.array(1.0), n)
    assert float(s.value) == 1.0 + 3 * 5


@pytest.mark.parametrize(
    ("static_argnums", "error", "match", "jax_call"),
    [
        (
            1.5,
            TypeError,
            r"static_argnums must be an int or a sequence of ints, got 1\.5 of type float",
            lambda a: jax.checkpoint(_plain, static_argnums=a)(1.0, 2),
        ),
        (
            "0",
            TypeError,
            r"static_argnums must be an int or a sequence of ints, got '0' of type str",
            lambda a: jax.jit(_plain, static_argnums=a)(1.0, 2),
        ),
        (
            True,
            TypeError,
            r"static_argnums must be an int or a sequence of ints, got True of type bool",
            lambda a: jax.checkpoint(_plain, static_argnums=a)(1.0, 2),
        ),
        (
            -1,
            ValueError,
            r"static_argnums must be non-negative, got -1\. brainstate passes State values",
            None,
        ),
        ((0, -2), ValueError, r"static_argnums must be non-negative, got -2", None),
    ],
)
def test_checkpoint_rejects_bad_static_argnums_without_changing_states(
    static_argnums, error, match, jax_call
):
    s, step = _model()
    with pytest.raises(error, match=r"checkpoint of \S*step: " + match):
        checkpoint(step, static_argnums=static_argnums)
    with pytest.raises(error, match=r"checkpoint: " + match):
        checkpoint(static_argnums=static_argnums)
    if jax_call is not None:
        with pytest.raises(_jax_error(lambda: jax_call(static_argnums))):
            checkpoint(step, static_argnums=static_argnums)
    assert float(s.value) == 1.0


def test_checkpoint_static_argnums_beyond_the_call_is_a_value_error_as_in_jax():
    s, step = _model()
    block = checkpoint(step, static_argnums=2)
    expected = _jax_error(lambda: jax.checkpoint(_plain, static_argnums=2)(1.0, 2))
    for _ in range(2):
        with pytest.raises(expected, match=r"static_argnums contains 2, but \S*step was called with only 2"):
            block(jnp.array(1.0), 3)
    assert float(s.value) == 1.0
    good = checkpoint(step, static_argnums=np.int64(1))
    for n in (2, 3):
        good(jnp.array(1.0), n)
    assert float(s.value) == 6.0
