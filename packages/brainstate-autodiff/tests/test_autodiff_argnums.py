"""grad, jacrev and vjp reject bad argnums with the exception types plain JAX raises."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import GradientTransform, grad, jacrev, vjp
from brainstate_ir import ArgnumsError

W0 = [1.0, 2.0]


def _jax_error(thunk: Any) -> type[BaseException]:
    try:
        thunk()
    except Exception as err:  # noqa: BLE001 - whatever plain JAX raises
        return type(err)
    raise AssertionError("plain JAX accepted the input")


def _plain(x, y):
    return jnp.sum(x * y)


def _model():
    w = bss.ParamState(jnp.array(W0), name="w")
    count = bss.State(jnp.array(0), name="count")

    def loss(x, y):
        count.value = count.value + 1
        return jnp.sum(w.value * x * y)

    return w, count, loss


def _unchanged(w, count):
    np.testing.assert_array_equal(np.asarray(w.value), W0)
    assert int(count.value) == 0


TYPE_MSG = r"argnums must be an int or a sequence of ints, got "

CONSTRUCTION = [
    # (argnums, error, message after "<transform> of <function>: ", plain JAX's equivalent)
    (1.5, TypeError, TYPE_MSG + r"1\.5 of type float", lambda a: jax.grad(_plain, argnums=a)(1.0, 2.0)),
    ("0", TypeError, TYPE_MSG + r"'0' of type str", lambda a: jax.grad(_plain, argnums=a)(1.0, 2.0)),
    (
        (0, None),
        TypeError,
        TYPE_MSG + r"None of type NoneType \(in argnums=\(0, None\)\)",
        lambda a: jax.grad(_plain, argnums=a)(1.0, 2.0),
    ),
    (True, TypeError, TYPE_MSG + r"True of type bool", None),
    (-1, ValueError, r"argnums must be non-negative, got -1\. brainstate passes State values", None),
    ((0, -2), ValueError, r"argnums must be non-negative, got -2", None),
    # Plain jax.grad has no defined error for a repeated argnum: it crashes inside JAX (TypeError on jax
    # 0.10.2, StopIteration on 0.10.0), so there is nothing to compare with.
    ((0, 0), ArgnumsError, r"argnums=\(0, 0\) names positional argument 0 twice", None),
]


@pytest.mark.parametrize(("argnums", "error", "match", "jax_call"), CONSTRUCTION)
def test_grad_rejects_bad_argnums_when_built_without_changing_states(argnums, error, match, jax_call):
    w, count, loss = _model()
    with pytest.raises(error, match=r"grad of \S*loss: " + match):
        grad(loss, w, argnums=argnums)
    with pytest.raises(error, match=r"grad of \S*loss: " + match):
        GradientTransform(loss, jax.grad, argnums=argnums)
    with pytest.raises(error, match=r"jacrev of \S*loss: " + match):
        jacrev(loss, argnums=argnums)
    if jax_call is not None:
        with pytest.raises(_jax_error(lambda: jax_call(argnums))):
            grad(loss, argnums=argnums)
    _unchanged(w, count)


@pytest.mark.parametrize(
    ("build", "jax_build"),
    [(grad, jax.grad), (jacrev, jax.jacrev)],
)
def test_argnums_beyond_the_call_raise_what_jax_raises(build, jax_build):
    w, count, loss = _model()
    expected = _jax_error(
        lambda: jax_build(_plain, argnums=2)(1.0, 2.0)
    )  # grad: TypeError, jacrev: ValueError
    f = build(loss, argnums=(0, 2))
    for _ in range(2):
        with pytest.raises(expected) as info:
            f(jnp.ones(2), 2.0)
        assert isinstance(info.value, ArgnumsError)
        assert "argnums contains 2, but" in str(info.value) and "loss was called with 2 positional" in str(
            info.value
        )
        assert "must be in [0, 1]" in str(info.value)
    _unchanged(w, count)


@pytest.mark.parametrize(
    ("argnums", "error", "match"),
    [
        (1.5, TypeError, r"vjp of \S*loss: " + TYPE_MSG + r"1\.5 of type float"),
        ((0, "1"), TypeError, TYPE_MSG + r"'1' of type str"),
        ((0, 0), ArgnumsError, r"vjp of \S*loss: argnums=\(0, 0\) names positional argument 0 twice"),
        ((1, -1), ArgnumsError, r"names positional argument 1 twice \(-1 counts from the end\)"),
        (2, ArgnumsError, r"argnums contains 2, but \S*loss was called with 2 .* must be in \[-2, 1\]"),
        (-3, ArgnumsError, r"argnums contains -3, .* must be in \[-2, 1\]"),
    ],
)
def test_vjp_rejects_bad_argnums_without_changing_states(argnums, error, match):
    w, count, loss = _model()
    for kwargs in ({}, {"grad_states": w}):
        with pytest.raises(error, match=match):
            vjp(loss, jnp.ones(2), 2.0, argnums=argnums, **kwargs)
    _unchanged(w, count)


def test_argnums_jax_accepts_still_work_over_several_calls():
    w, count, loss = _model()
    for argnums in (np.int64(1), [0, 1], (1, 0)):
        f = grad(loss, argnums=argnums)
        ref = jax.grad(lambda x, y: jnp.sum(jnp.array(W0) * x * y), argnums=argnums)
        for y in (2.0, np.float32(3.0)):
            got, want = f(jnp.ones(2), y), ref(jnp.ones(2), y)
            for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
                np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-6)
    assert int(count.value) == 6
