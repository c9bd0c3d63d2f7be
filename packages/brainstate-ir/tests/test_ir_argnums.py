"""Argument numbers are checked by one validator that raises the exception types plain JAX raises."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import ArgnumsError, StatefulFunction, normalize_argnums


def _jax_error(thunk: Any) -> type[BaseException]:
    try:
        thunk()
    except Exception as err:  # noqa: BLE001 - we want whatever JAX raises
        return type(err)
    raise AssertionError("plain JAX accepted the input")


@pytest.mark.parametrize(
    ("argnums", "num_args", "kwargs", "error", "match"),
    [
        (
            1.5,
            None,
            {},
            TypeError,
            r"jit of f: static_argnums must be an int or a sequence of ints, got 1\.5 of type float",
        ),
        ("0", None, {}, TypeError, r"got '0' of type str"),
        ((0, 1.5), None, {}, TypeError, r"got 1\.5 of type float \(in static_argnums=\(0, 1\.5\)\)"),
        (True, None, {}, TypeError, r"got True of type bool"),
        ((0, None), None, {}, TypeError, r"got None of type NoneType"),
        (
            -1,
            None,
            {},
            ValueError,
            r"jit of f: static_argnums must be non-negative, got -1\. .*hidden leading",
        ),
        (
            2,
            2,
            {},
            ArgnumsError,
            r"static_argnums contains 2, but f was called with 2 positional argument\(s\), so static_argnums must be in \[0, 1\]",
        ),
        (-3, 2, {"allow_negative": True}, ArgnumsError, r"contains -3, .* must be in \[-2, 1\]"),
        (0, 0, {}, ArgnumsError, r"there is no argument to select"),
        (
            (0, 0),
            2,
            {"unique": True},
            ArgnumsError,
            r"static_argnums=\(0, 0\) names positional argument 0 twice",
        ),
        (
            (1, -1),
            2,
            {"unique": True, "allow_negative": True},
            ArgnumsError,
            r"argument 1 twice \(-1 counts from the end\)",
        ),
    ],
)
def test_bad_argnums_raise_typed_errors_naming_transform_and_function(
    argnums, num_args, kwargs, error, match
):
    with pytest.raises(error, match=match):
        normalize_argnums(argnums, num_args, transform="jit", what="static_argnums", function="f", **kwargs)


def test_good_argnums_are_positions_in_given_order_each_once():
    assert normalize_argnums(None, transform="jit") == ()
    assert normalize_argnums((), 3, transform="jit") == ()
    assert normalize_argnums(np.int64(1), 2, transform="jit") == (1,)
    assert normalize_argnums(np.array(1), transform="jit") == (1,)
    assert normalize_argnums([2, 0, 2], transform="jit") == (2, 0)
    assert normalize_argnums(range(2), transform="jit") == (0, 1)
    assert normalize_argnums(np.array([1, 0]), 2, transform="jit") == (1, 0)
    assert normalize_argnums((-1, 0), 3, transform="grad", allow_negative=True) == (2, 0)
    assert normalize_argnums(-1, None, transform="grad", allow_negative=True) == (-1,)


def test_argnums_error_is_a_value_error_and_a_type_error_and_a_brainstate_error():
    assert issubclass(ArgnumsError, ValueError)
    assert issubclass(ArgnumsError, TypeError)
    assert issubclass(ArgnumsError, bss.BrainStateError)


def _f(x, y):
    return x * y


@pytest.mark.parametrize(
    ("bad", "jax_call"),
    [
        (1.5, lambda a: jax.grad(_f, argnums=a)(1.0, 2.0)),
        ("a", lambda a: jax.jit(_f, static_argnums=a)(1.0, 2.0)),
        ((0, 1.5), lambda a: jax.grad(_f, argnums=a)(1.0, 2.0)),
        (5, lambda a: jax.grad(_f, argnums=a)(1.0, 2.0)),  # TypeError
        (5, lambda a: jax.jit(_f, static_argnums=a)(1.0, 2.0)),  # ValueError
        (5, lambda a: jax.jacrev(_f, argnums=a)(1.0, 2.0)),  # ValueError
        (-3, lambda a: jax.grad(_f, argnums=a)(1.0, 2.0)),  # ValueError
        # A repeated argnum is left out: plain jax.grad crashes on it inside JAX (TypeError on jax 0.10.2,
        # StopIteration on 0.10.0); brainstate raises ArgnumsError (tested above).
    ],
)
def test_errors_are_instances_of_what_plain_jax_raises(bad, jax_call):
    expected = _jax_error(lambda: jax_call(bad))
    with pytest.raises(expected):
        normalize_argnums(bad, 2, transform="grad", allow_negative=True, unique=True)


@pytest.mark.parametrize(
    ("static_argnums", "error", "match"),
    [
        (
            1.5,
            TypeError,
            r"StatefulFunction of \S*step: static_argnums must be an int or a sequence of ints, got 1\.5",
        ),
        ("a", TypeError, r"static_argnums must be an int or a sequence of ints, got 'a' of type str"),
        ((0, True), TypeError, r"got True of type bool"),
        (-1, ValueError, r"StatefulFunction of \S*step: static_argnums must be non-negative, got -1"),
    ],
)
def test_stateful_function_rejects_bad_static_argnums_without_changing_states(static_argnums, error, match):
    s = bss.State(jnp.array(1.0), name="s")

    def step(x, n):
        s.value = s.value + x * n
        return s.value

    with pytest.raises(error, match=match):
        StatefulFunction(step, static_argnums=static_argnums)
    assert float(s.value) == 1.0
    good = StatefulFunction(step, static_argnums=np.int64(1))
    for n in (2, 3):
        good(jnp.array(1.0), n)
    assert float(s.value) == 6.0
