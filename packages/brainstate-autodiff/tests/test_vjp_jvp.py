"""vjp / jvp checked against jax.vjp / jax.jvp with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_autodiff import jvp, vjp
from brainstate_jit import jit


def close(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


W0 = jnp.array([[1.0, -2.0], [0.5, 3.0]])
X = jnp.array([0.3, -0.7])
CT = jnp.array([1.0, 2.0])


def pure(w, x, y):
    return jnp.tanh(w @ x) * y


def test_vjp_states_args_and_both():
    w = bss.ParamState(W0)
    f = lambda x, y: pure(w.value, x, y)  # noqa: E731
    out, ref_fn = jax.vjp(pure, W0, X, 2.0)
    rw, rx, ry = ref_fn(CT)

    o, fn = vjp(f, X, 2.0)  # default argnums=0, no states
    close(o, out)
    close(fn(CT), rx)
    o, fn = vjp(f, X, 2.0, argnums=(0, 1))
    close(fn(CT), (rx, ry))
    o, fn = vjp(f, X, 2.0, argnums=-1)
    close(fn(CT), ry)
    o, fn = vjp(f, X, 2.0, grad_states={"w": w}, argnums=None)
    close(fn(CT), {"w": rw})
    o, fn = vjp(f, X, 2.0, grad_states=[w])
    close(fn(CT), ([rw], rx))


def test_vjp_has_aux_commits_writes_and_under_jit():
    w = bss.ParamState(W0)
    count = bss.State(jnp.array(0))

    def f(x):
        count.value = count.value + 1
        return pure(w.value, x, 1.0), jnp.sum(x)

    out, fn, aux = vjp(f, X, grad_states=w, argnums=None, has_aux=True)
    assert int(count.value) == 1
    close(aux, jnp.sum(X))
    close(fn(CT), jax.vjp(lambda wv: pure(wv, X, 1.0), W0)[1](CT)[0])

    @jit
    def step(x):
        _, pull = vjp(lambda x: f(x)[0], x, grad_states=w, argnums=None)
        return pull(CT)

    close(step(X), jax.vjp(lambda wv: pure(wv, X, 1.0), W0)[1](CT)[0])
    assert int(count.value) == 2


def test_vjp_rejects_nothing_to_differentiate_and_bad_argnums():
    w = bss.ParamState(W0)
    with pytest.raises(ValueError, match="nothing to differentiate"):
        vjp(lambda x: w.value @ x, X, argnums=None)
    with pytest.raises(ValueError, match=r"argnums contains 3.*\[-1, 0\]"):
        vjp(lambda x: w.value @ x, X, argnums=3)
    with pytest.raises(TypeError, match=r"\(value, aux\)"):
        vjp(lambda x: w.value @ x, X, has_aux=True)


def test_jvp_matches_jax_states_constant():
    w = bss.ParamState(W0)
    count = bss.State(jnp.array(0))

    def f(x, y):
        count.value = count.value + 1
        return pure(w.value, x, y)

    out, t = jvp(f, (X, 2.0), (jnp.ones(2), 0.5))
    ref = jax.jvp(lambda x, y: pure(W0, x, y), (X, 2.0), (jnp.ones(2), 0.5))
    close((out, t), ref)
    assert int(count.value) == 1
    out, t, aux = jvp(lambda x: (f(x, 1.0), x * 2), [X], [jnp.ones(2)], has_aux=True)
    close(aux, X * 2)


def test_jvp_rejects_bad_inputs():
    with pytest.raises(TypeError, match="tuples or lists"):
        jvp(lambda x: x, X, jnp.ones(2))
    with pytest.raises(ValueError, match="one tangent per primal"):
        jvp(lambda x: x, (X,), ())


# ------------------------------------------------------------------------- argument rules
def _model():
    w = bss.ParamState(W0, name="w")
    count = bss.State(jnp.array(0), name="count")

    def f(*args):
        count.value = count.value + 1
        x = args[0] if args else X
        y = args[1] if len(args) > 1 else 1.0
        return pure(w.value, x, y)

    return w, count, f


def test_vjp_with_grad_states_and_no_positional_arguments_differentiates_the_states_only():
    for trial in range(3):  # States re-created per trial, a fresh vjp per call
        w, count, f = _model()
        ct = CT * (trial + 1)
        out_ref, pull_ref = jax.vjp(lambda wv: pure(wv, X, 1.0), W0)
        (gw_ref,) = pull_ref(ct)
        out, pull = vjp(f, grad_states=w)
        close(out, out_ref)
        close(pull(ct), gw_ref)
        # An explicit argnums has no argument to apply to either (as in brainstate 0.5.4).
        out, pull = vjp(f, grad_states={"w": w}, argnums=0)
        close(pull(ct), {"w": gw_ref})
        out, pull = vjp(f, grad_states=[w], argnums=None)
        close(pull(ct), [gw_ref])
        assert int(count.value) == 3  # the write of each call is committed


def test_vjp_negative_argnums_count_from_the_end_like_jax():
    w, _, f = _model()
    out_ref, pull_ref = jax.vjp(lambda x, y: pure(W0, x, y), X, 2.0)
    rx, ry = pull_ref(CT)
    _, pull = vjp(f, X, 2.0, argnums=-2)
    close(pull(CT), rx)
    _, pull = vjp(f, X, np.float32(2.0), argnums=(-1, 0))
    close(pull(CT), (ry, rx))
    _, pull = vjp(f, np.asarray(X), 2.0, grad_states=w, argnums=[-1])
    close(pull(CT), (jax.vjp(lambda wv: pure(wv, X, 2.0), W0)[1](CT)[0], (ry,)))


@pytest.mark.parametrize(
    ("argnums", "match"),
    [
        ((0, 0), r"argnums=\(0, 0\) names positional argument 0 twice"),
        ((1, -1), r"argnums=\(1, -1\) names positional argument 1 twice \(-1 counts from the end\)"),
        ([0, 1, 0], r"names positional argument 0 twice"),
        (
            2,
            r"argnums contains 2, but f was called with 2 positional argument\(s\), so argnums must be in "
            r"\[-2, 1\]",
        ),
        (-3, r"argnums contains -3, .* must be in \[-2, 1\]"),
        ((0, 5), r"argnums contains 5, but"),
    ],
)
def test_vjp_rejects_duplicate_and_out_of_range_argnums_without_changing_states(argnums, match):
    w, count, f = _model()
    f.__qualname__ = "f"
    with pytest.raises(ValueError, match=match):
        vjp(f, X, 2.0, grad_states=w, argnums=argnums)
    with pytest.raises(ValueError, match=match):
        vjp(f, X, 2.0, argnums=argnums)
    assert int(count.value) == 0
    np.testing.assert_array_equal(np.asarray(w.value), np.asarray(W0))


def test_vjp_with_nothing_to_differentiate_says_so():
    w, count, f = _model()
    for call in (lambda: vjp(f), lambda: vjp(f, X, argnums=None), lambda: vjp(f, argnums=None)):
        with pytest.raises(ValueError, match="nothing to differentiate") as info:
            call()
        assert "grad_states" in str(info.value) and "argnums" in str(info.value)
    assert int(count.value) == 0
    np.testing.assert_array_equal(np.asarray(w.value), np.asarray(W0))


def test_vjp_rejects_grad_states_the_function_never_reads():
    w, count, f = _model()
    stale = bss.ParamState(jnp.array(3.0), name="stale_bias")
    for call in (
        lambda: vjp(f, X, grad_states=[w, stale]),
        lambda: vjp(f, grad_states={"b": stale}),
        lambda: vjp(f, X, grad_states=stale, argnums=None),
    ):
        with pytest.raises(ValueError, match="never read") as info:
            call()
        assert "stale_bias" in str(info.value) and "How to fix" in str(info.value)
    assert int(count.value) == 0
    assert float(stale.value) == 3.0


def test_jvp_without_positional_arguments_and_with_python_scalars_matches_jax():
    for trial in range(2):
        w, count, f = _model()
        out, t = jvp(f, (), ())
        close((out, t), jax.jvp(lambda: pure(W0, X, 1.0), (), ()))
        out, t = jvp(f, [X, 2.0 + trial], [jnp.ones(2), 0.5])
        close((out, t), jax.jvp(lambda x, y: pure(W0, x, y), (X, 2.0 + trial), (jnp.ones(2), 0.5)))
        assert int(count.value) == 2


@pytest.mark.parametrize(
    ("tangents", "exc", "match"),
    [
        ((jnp.ones(3), 0.5), ValueError, r"tangent 0 has shape \(3,\) but primal 0 has shape \(2,\)"),
        (((jnp.ones(2),), 0.5), TypeError, r"tangent 0 has the structure .* but primal 0 has"),
        ((jnp.ones(2, dtype=jnp.int32), 0.5), TypeError, r"tangent 0 has dtype int32 but primal 0"),
        ((jnp.ones(2),), ValueError, r"one tangent per primal"),
    ],
)
def test_jvp_rejects_mismatched_tangents_without_changing_states(tangents, exc, match):
    w, count, f = _model()
    with pytest.raises(exc, match=match):
        jvp(f, (X, 2.0), tangents)
    assert int(count.value) == 0
    np.testing.assert_array_equal(np.asarray(w.value), np.asarray(W0))
