"""jit_error_if (eager, jit, vmap) and the state-aware checkify family."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify as jax_checkify

import brainstate_jit as bj
import brainstate_state as bss
from brainstate_ir import compat
from brainstate_jit import RuntimeCheckError, check, check_error, checkify, jit, jit_error_if


def jax_jit(fun, **options):
    """Raw ``jax.jit(fun)`` whose calls also wait for the host callbacks they dispatched.

    On GPU and TPU a raw ``jax.jit`` call returns before its callbacks ran, so a failed check surfaces at
    the next synchronisation point; brainstate's own ``jit`` (tested below) waits by itself.
    """
    compiled = jax.jit(fun, **options)

    def call(*args, **kwargs):
        out = compiled(*args, **kwargs)
        compat.wait_for_host_callbacks()
        return out

    return call


def _positive_log(x):
    jit_error_if(jnp.any(x <= 0), "non-positive input: {}", x)
    return jnp.log(x)


# ------------------------------------------------------------------------------------------- jit_error_if
def test_eager_raises_the_brainstate_error_with_the_message():
    with pytest.raises(RuntimeCheckError, match=r"non-positive input: \[ 1. -2.\]") as info:
        _positive_log(jnp.array([1.0, -2.0]))
    assert isinstance(info.value, ValueError) and isinstance(info.value, bss.BrainStateError)
    np.testing.assert_allclose(_positive_log(jnp.array([1.0, 2.0])), np.log([1.0, 2.0]), rtol=1e-6)


def test_under_jax_jit_surfaces_as_runtime_error_containing_the_message():
    f = jax_jit(_positive_log)
    np.testing.assert_allclose(f(jnp.array([1.0, 2.0])), np.log([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"RuntimeCheckError: non-positive input: \[-1.\]"):
        f(jnp.array([-1.0]))


def test_under_vmap_any_lane_raises_and_sees_the_whole_batch():
    f = jax.vmap(_positive_log)
    np.testing.assert_allclose(f(jnp.array([1.0, 3.0])), np.log([1.0, 3.0]), rtol=1e-6)
    for lanes in ([-1.0, 3.0], [1.0, -3.0]):  # the first lane, and only the last lane
        with pytest.raises(jax.errors.JaxRuntimeError, match="non-positive input"):
            f(jnp.array(lanes))
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"non-positive input: \[ 1. -3.\]"):
        jax_jit(f)(jnp.array([1.0, -3.0]))
    # nested vmap
    g = jax.vmap(jax.vmap(_positive_log))
    assert g(jnp.ones((2, 2))).shape == (2, 2)
    with pytest.raises(jax.errors.JaxRuntimeError, match="non-positive input"):
        g(jnp.array([[1.0, 1.0], [1.0, 0.0]]))


def _batched_after_tracing(fn, lane_example, n_vmaps=1):
    """``jax.vmap`` applied to a program that was traced for one lane (as state-aware vmaps do)."""
    closed = jax.make_jaxpr(fn)(lane_example)

    def replay(x):
        return jax.core.eval_jaxpr(closed.jaxpr, closed.consts, x)[0]

    for _ in range(n_vmaps):
        replay = jax.vmap(replay)
    return replay


def test_a_check_traced_for_one_lane_and_batched_later_compiles_and_raises():
    f = _batched_after_tracing(_positive_log, jnp.float32(1.0))
    for compiled in (f, jax_jit(f)):
        for trial in range(2):
            x = jnp.arange(1.0, 4.0) + trial
            np.testing.assert_allclose(compiled(x), np.log(np.asarray(x)), rtol=1e-6)
        with pytest.raises(jax.errors.JaxRuntimeError, match=r"non-positive input: \[ 1. -3.  3.\]"):
            compiled(jnp.array([1.0, -3.0, 3.0]))
    nested = jax_jit(_batched_after_tracing(_positive_log, jnp.float32(1.0), n_vmaps=2))
    np.testing.assert_allclose(nested(jnp.ones((2, 3))), np.zeros((2, 3)))
    with pytest.raises(
        jax.errors.JaxRuntimeError, match=r"non-positive input: \[\[1\. 1\.\]\n \[1\. 0\.\]\]"
    ):
        nested(jnp.array([[1.0, 1.0], [1.0, 0.0]]))


def test_a_check_in_a_scan_body_under_vmap_with_an_unmapped_message_value():
    limit = jnp.float32(5.0)

    def run(c0, lim):
        def body(c, x):
            jit_error_if(c > lim, "carry {} above {}", c, lim)
            return c + x, c

        return jax.lax.scan(body, c0, jnp.arange(3.0))[1]

    f = jax_jit(jax.vmap(run, in_axes=(0, None)))
    np.testing.assert_allclose(f(jnp.array([0.0, 1.0]), limit), [[0.0, 0.0, 1.0], [1.0, 1.0, 2.0]])
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"carry \[0. 6.\] above 5.0"):
        f(jnp.array([0.0, 6.0]), limit)
    np.testing.assert_allclose(f(jnp.array([0.0, 6.0]), jnp.float32(9.0))[1], [6.0, 6.0, 7.0])


def test_under_brainstate_jit_the_failed_call_changes_no_state():
    total = bss.State(jnp.array(0.0), name="total")

    @jit
    def add(x):
        total.value = total.value + x
        jit_error_if(total.value > 10, "total too large: {}", total.value)
        return total.value

    assert float(add(jnp.array(4.0))) == 4.0
    with pytest.raises(jax.errors.JaxRuntimeError, match="total too large: 11.0"):
        add(jnp.array(7.0))
    assert float(total.value) == 4.0


def test_composes_with_grad_and_scan():
    def f(x):
        jit_error_if(x < 0, "neg {}", x)  # x is being differentiated: the check must not break grad
        return x**2

    assert float(jax.grad(f)(3.0)) == 6.0
    np.testing.assert_allclose(jax_jit(jax.vmap(jax.grad(f)))(jnp.arange(3.0)), [0.0, 2.0, 4.0])
    with pytest.raises(jax.errors.JaxRuntimeError, match="neg -2.0"):
        jax_jit(jax.grad(f))(-2.0)

    def body(carry, x):
        jit_error_if(x < 0, "negative element {}", x)
        return carry + x, x

    assert float(jax.lax.scan(body, 0.0, jnp.arange(4.0))[0]) == 6.0
    with pytest.raises(jax.errors.JaxRuntimeError, match="negative element -1.0"):
        jax.lax.scan(body, 0.0, jnp.array([1.0, -1.0]))


@pytest.mark.parametrize(
    ("error", "args", "kwargs", "message"),
    [
        ("x was %s", (jnp.array(2),), {}, "x was 2"),
        ("x=%s y=%s", (jnp.array(1), jnp.array(3)), {}, "x=1 y=3"),
        ("x={} y={y}", (jnp.array(1),), {"y": jnp.array(5)}, "x=1 y=5"),
        ("only {name}", (), {"name": jnp.array(7)}, "only 7"),
        ("%(a)s!", (), {"a": jnp.array(8)}, "8!"),
        ("literal message", (), {}, "literal message"),
    ],
)
def test_message_formatting_eager_and_jit(error, args, kwargs, message):
    with pytest.raises(RuntimeCheckError) as info:
        jit_error_if(True, error, *args, **kwargs)
    assert str(info.value) == message

    def f(p, *a, **k):
        jit_error_if(p, error, *a, **k)
        return p

    with pytest.raises(jax.errors.JaxRuntimeError) as info:
        jax_jit(f)(jnp.array(True), *args, **kwargs)
    assert message in str(info.value)


def test_unformattable_message_still_surfaces_with_the_reason():
    with pytest.raises(RuntimeCheckError) as info:
        jit_error_if(True, "bad {} {}", jnp.array(1))
    assert str(info.value).startswith("bad {} {} (could not format the message with args=")
    assert "Replacement index 1 out of range" in str(info.value)


def test_callable_error_raises_its_own_exception_or_returns_a_message():
    def raise_key(x):
        raise KeyError(f"key {int(x)} missing")

    with pytest.raises(KeyError, match="key 3 missing"):
        jit_error_if(True, raise_key, jnp.array(3))
    with pytest.raises(jax.errors.JaxRuntimeError, match="key 4 missing"):
        jax_jit(lambda x: jit_error_if(x > 0, raise_key, x))(jnp.array(4))
    with pytest.raises(RuntimeCheckError, match="^value 5$"):
        jit_error_if(True, lambda v: f"value {int(v)}", jnp.array(5))
    with pytest.raises(RuntimeCheckError, match="returned None instead of raising"):
        jit_error_if(True, lambda: None)


def _reject_negative(v):
    jit_error_if(v < 0, "negative: {}", v)
    return v


_reject_negative_compiled = jax_jit(_reject_negative)


# Subnormal floats are excluded: XLA flushes them to zero (on CPU and GPU), so ``-1e-42 < 0`` is False in
# the compiled comparison while NumPy says True; that is XLA's arithmetic, not the check's.
@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(-2, 2, width=32, allow_subnormal=False), min_size=3, max_size=3))
def test_raises_exactly_when_any_element_is_negative(values):
    x = jnp.asarray(values, dtype=jnp.float32)
    f, compiled = _reject_negative, _reject_negative_compiled
    if any(v < 0 for v in np.asarray(x)):
        with pytest.raises(RuntimeCheckError, match="negative"):
            f(x)
        with pytest.raises(jax.errors.JaxRuntimeError, match="negative"):
            compiled(x)
    else:
        np.testing.assert_array_equal(f(x), x)
        np.testing.assert_array_equal(compiled(x), x)


@pytest.mark.parametrize(
    ("pred", "error", "exc", "match"),
    [
        (True, 3, TypeError, "error must be a message str or a callable, got int"),
        ("yes", "msg", TypeError, "pred must be a boolean array or scalar, got str"),
        (None, "msg", TypeError, "pred must be a boolean array or scalar, got NoneType"),
    ],
)
def test_jit_error_if_rejects_bad_inputs(pred, error, exc, match):
    with pytest.raises(exc, match=match):
        jit_error_if(pred, error)


# ------------------------------------------------------------------------------------------- checkify
def test_checkify_keeps_state_writes_and_reports_the_user_check():
    total = bss.State(jnp.array(0.0), name="total")

    def accumulate(x):
        check(x > 0, "x must be positive: {x}", x=x)
        total.value = total.value + x
        return total.value * 2

    checked = checkify(accumulate)
    err, out = checked(jnp.array(-1.0))
    assert err.get() == "x must be positive: -1.0 (`check` failed)"
    assert float(out) == -2.0 and float(total.value) == -1.0
    with pytest.raises(jax_checkify.JaxRuntimeError, match="x must be positive: -1.0"):
        err.throw()
    err, out = checked(jnp.array(3.0))
    assert err.get() is None
    assert float(out) == 4.0 and float(total.value) == 2.0


def test_checkify_under_brainstate_jit_matches_hand_threaded_checkify():
    h = bss.State(jnp.zeros(3), name="h")

    def step(x):
        check(jnp.all(x < 5), "too big: {x}", x=x)
        h.value = h.value * 0.5 + x
        return jnp.sum(h.value)

    run = jit(checkify(step))

    def by_hand(hv, x):
        jax_checkify.check(jnp.all(x < 5), "too big: {x}", x=x)
        hv = hv * 0.5 + x
        return jnp.sum(hv), hv

    ref = jax_jit(jax_checkify.checkify(by_hand))
    hv = jnp.zeros(3)
    for x in (jnp.ones(3), jnp.array([1.0, 9.0, 2.0]), jnp.arange(3.0)):
        err, out = run(x)
        err_ref, (out_ref, hv) = ref(hv, x)
        assert err.get() == err_ref.get()
        np.testing.assert_allclose(out, out_ref)
        np.testing.assert_allclose(h.value, hv)
    assert err.get() is None


def test_checkify_float_and_index_checks():
    scale = bss.State(jnp.array(-1.0), name="scale")

    def f(x, i):
        return jnp.log(x * scale.value), x[i]

    # (compiled with brainstate's jit: eager checkify dispatches every instrumented op separately)
    err, _ = jit(checkify(f, errors=bj.float_checks))(jnp.ones(2), 0)
    assert "nan generated by primitive: log" in err.get()
    err, _ = jit(checkify(f, errors=bj.index_checks))(jnp.ones(2), 5)
    assert "out-of-bounds" in err.get()
    err, _ = jit(checkify(f, errors=bj.user_checks))(jnp.ones(2), 5)
    assert err.get() is None
    assert bj.all_checks == bj.automatic_checks | bj.user_checks
    assert bj.float_checks == bj.nan_checks | bj.div_checks


def test_check_error_reraises_inside_a_checkified_function():
    def inner(x):
        check(x > 0, "inner failed")
        return x

    err_inner, _ = checkify(inner)(jnp.array(-1.0))

    def outer(e):
        check_error(e)
        return 0

    err, _ = jax_checkify.checkify(outer)(err_inner)
    assert "inner failed" in err.get()


def test_checkify_rejects_bad_inputs_without_changing_states():
    s = bss.State(jnp.array(1.0), name="s")
    with pytest.raises(TypeError, match="checkify needs a callable, got int"):
        checkify(1)
    with pytest.raises(TypeError, match="errors must be a set of checkify error categories"):
        checkify(lambda x: x, errors="nan")
    with pytest.raises(TypeError, match="errors must be a set"):
        checkify(lambda x: x, errors={1, 2})

    def f(x):
        s.value = s.value + x
        return s.value

    with pytest.raises(ValueError, match="Inputs of brainstate transformations cannot be States"):
        checkify(f)(s)
    assert float(s.value) == 1.0
