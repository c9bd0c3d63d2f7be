"""grad / vector_grad / GradientTransform checked against jax.grad with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import brainstate_state as bss
from brainstate_autodiff import GradientTransform, grad, vector_grad
from brainstate_jit import jit
from brainstate_state.containers import FlattedDict


def pure_loss(w, b, x):
    return jnp.sum(jnp.tanh(x @ w + b) ** 2)


def make_layer(n_in=3, n_out=2, seed=0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    w = bss.ParamState(jax.random.normal(k1, (n_in, n_out)), name="w")
    b = bss.ParamState(jax.random.normal(k2, (n_out,)), name="b")

    def loss(x):
        return pure_loss(w.value, b.value, x)

    return w, b, loss


def close(a, b, **kw):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6, **kw)
    assert jax.tree.structure(a) == jax.tree.structure(b)


X = jnp.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])


def test_single_state_matches_jax():
    w, b, loss = make_layer()
    expected = jax.grad(pure_loss, 0)(w.value, b.value, X)
    got = grad(loss, w)(X)
    close(got, expected)


def test_list_and_tuple_states():
    w, b, loss = make_layer()
    gw, gb = jax.grad(pure_loss, (0, 1))(w.value, b.value, X)
    got = grad(loss, [w, b])(X)
    assert isinstance(got, list)
    close(got, [gw, gb])
    got_t = grad(loss, (b, w))(X)
    assert isinstance(got_t, tuple)
    close(got_t, (gb, gw))


def test_dict_and_nested_pytree_of_states():
    w, b, loss = make_layer()
    gw, gb = jax.grad(pure_loss, (0, 1))(w.value, b.value, X)
    close(grad(loss, {"w": w, "b": b})(X), {"w": gw, "b": gb})
    nested = {"layer": {"w": w}, "extra": [b]}
    close(grad(loss, nested)(X), {"layer": {"w": gw}, "extra": [gb]})


def test_flatted_dict_becomes_plain_dict_with_path_keys():
    w, b, loss = make_layer()
    params = FlattedDict({("w",): w, ("b",): b})
    got = grad(loss, params)(X)
    assert type(got) is dict
    assert set(got) == {("w",), ("b",)}
    gw, gb = jax.grad(pure_loss, (0, 1))(w.value, b.value, X)
    close(got[("w",)], gw)
    close(got[("b",)], gb)


def test_duplicate_state_gets_same_gradient_everywhere():
    w, b, loss = make_layer()
    got = grad(loss, [w, w, b])(X)
    close(got[0], got[1])
    close(got[0], jax.grad(pure_loss)(w.value, b.value, X))


def test_argnums_only_int_and_tuple():
    w, b, loss = make_layer()

    def f(x, scale):
        return loss(x * scale)

    def ref(x, scale):
        return pure_loss(w.value, b.value, x * scale)

    close(grad(f)(X, 2.0), jax.grad(ref)(X, 2.0))
    close(grad(f, argnums=1)(X, 2.0), jax.grad(ref, 1)(X, 2.0))
    got = grad(f, argnums=(0, 1))(X, 2.0)
    assert isinstance(got, tuple) and len(got) == 2
    close(got, jax.grad(ref, (0, 1))(X, 2.0))


def test_states_and_argnums_structures():
    w, b, loss = make_layer()
    gw, gx = jax.grad(pure_loss, (0, 2))(w.value, b.value, X)
    state_grads, arg_grad = grad(loss, [w], argnums=0)(X)
    close(state_grads, [gw])
    close(arg_grad, gx)
    state_grads, arg_grads = grad(loss, [w], argnums=(0,))(X)
    assert isinstance(arg_grads, tuple) and len(arg_grads) == 1
    close(arg_grads[0], gx)


def test_return_value_and_has_aux_structures():
    w, b, _ = make_layer()

    def f(x):
        value = pure_loss(w.value, b.value, x)
        return value, {"mean": jnp.mean(x)}

    value = pure_loss(w.value, b.value, X)
    gw = jax.grad(pure_loss)(w.value, b.value, X)

    g, v = grad(lambda x: f(x)[0], w, return_value=True)(X)
    close((g, v), (gw, value))
    g, aux = grad(f, w, has_aux=True)(X)
    close(g, gw)
    assert set(aux) == {"mean"}
    g, v, aux = grad(f, w, has_aux=True, return_value=True)(X)
    close((g, v, aux["mean"]), (gw, value, jnp.mean(X)))
    (gs, gx), v, aux = grad(f, {"w": w}, argnums=0, has_aux=True, return_value=True)(X)
    assert set(gs) == {"w"}
    close(gx, jax.grad(pure_loss, 2)(w.value, b.value, X))


def test_decorator_form():
    w, b, _ = make_layer()

    @grad(grad_states=w, return_value=True)
    def step(x):
        return pure_loss(w.value, b.value, x)

    g, v = step(X)
    close(g, jax.grad(pure_loss)(w.value, b.value, X))
    assert isinstance(step, GradientTransform)

    @vector_grad(argnums=0)
    def vec(x):
        return x**2

    close(vec(jnp.arange(3.0)), 2 * jnp.arange(3.0))


def test_gradient_transform_with_custom_transform():
    w, b, loss = make_layer()
    gt = GradientTransform(loss, jax.grad, grad_states={"b": b}, argnums=0, return_value=True)
    (gs, gx), value = gt(X)
    close(gs["b"], jax.grad(pure_loss, 1)(w.value, b.value, X))
    close(gx, jax.grad(pure_loss, 2)(w.value, b.value, X))
    close(value, pure_loss(w.value, b.value, X))


def test_written_states_committed_with_primal_values():
    w, b, loss = make_layer()
    counter = bss.State(jnp.array(0), name="counter")
    hidden = bss.HiddenState(jnp.zeros(2), name="h")

    def f(x):
        counter.value = counter.value + 1
        out = jnp.tanh(x @ w.value + b.value)
        hidden.value = out[0]
        return jnp.sum(out**2)

    g = grad(f, w)
    g(X)
    g(X)
    assert int(counter.value) == 2
    close(hidden.value, jnp.tanh(X @ w.value + b.value)[0])


def test_written_grad_state_is_committed_too():
    s = bss.State(jnp.array(3.0))

    def f():
        v = s.value
        s.value = v * 2
        return v**2

    g = grad(f, s, return_value=True)
    gs, value = g()
    assert float(gs) == 6.0 and float(value) == 9.0
    assert float(s.value) == 6.0


def test_each_eager_call_traces_once():
    # Like jax.grad, an eager call traces the target (exactly once: no double trace); the compiled
    # gradient is shared through the structural cache.
    w, b, _ = make_layer()
    traces = []

    def f(x):
        traces.append(1)
        return pure_loss(w.value, b.value, x)

    g = grad(f, [w, b], return_value=True)
    first = g(X)
    assert len(traces) == 1
    second = g(X + 1.0)
    assert len(traces) == 2
    assert not np.allclose(np.asarray(first[1]), np.asarray(second[1]))
    g(jnp.ones((5, 3)))  # a new shape
    assert len(traces) == 3


def test_python_float_argument_traces_once_per_call():
    s = bss.State(jnp.array(2.0))
    traces = []

    def f(x):
        traces.append(1)
        return s.value * x**2

    g = grad(f, s, argnums=0)
    gs, gx = g(3.0)
    assert len(traces) == 1
    g(3.0)
    assert (float(gs), float(gx)) == (9.0, 12.0)
    assert len(traces) == 2


def test_under_jit_matches_eager_and_jax():
    w, b, loss = make_layer()
    expected = jax.grad(pure_loss, (0, 1))(w.value, b.value, X)

    @jit
    def step(x):
        return grad(loss, [w, b])(x)

    close(step(X), list(expected))
    close(step(X), list(expected))


def test_training_step_under_jit_updates_params():
    w, b, loss = make_layer()
    params = {"w": w, "b": b}
    ref_w, ref_b = w.value, b.value

    @jit
    def step(x):
        grads, value = grad(loss, params, return_value=True)(x)
        for k in params:
            params[k].value = params[k].value - 0.1 * grads[k]
        return value

    for _ in range(3):
        v = step(X)
        ref_v, (gw, gb) = jax.value_and_grad(pure_loss, (0, 1))(ref_w, ref_b, X)
        ref_w, ref_b = ref_w - 0.1 * gw, ref_b - 0.1 * gb
        close(v, ref_v)
    close([w.value, b.value], [ref_w, ref_b])


def test_nested_grad_second_derivative():
    a = bss.State(jnp.array(1.5))

    def f():
        return jnp.sin(a.value) * a.value**2

    inner = grad(f, a)
    outer = grad(lambda: inner(), a)
    expected = jax.grad(jax.grad(lambda v: jnp.sin(v) * v**2))(1.5)
    close(outer(), expected)


def test_grad_inside_jax_vmap_over_args():
    w, b, _ = make_layer()
    g = grad(lambda x: pure_loss(w.value, b.value, x), w)
    got = jax.vmap(g)(jnp.stack([X, 2 * X]))
    expected = jax.vmap(lambda x: jax.grad(pure_loss)(w.value, b.value, x))(jnp.stack([X, 2 * X]))
    close(got, expected)


def test_nested_modules_states():
    class Inner:
        def __init__(self, k):
            self.w = bss.ParamState(jax.random.normal(k, (3, 3)))

        def __call__(self, x):
            return jnp.tanh(x @ self.w.value)

    class Outer:
        def __init__(self):
            k1, k2 = jax.random.split(jax.random.key(1))
            self.a, self.b = Inner(k1), Inner(k2)

        def __call__(self, x):
            return jnp.sum(self.b(self.a(x)) ** 2)

    m = Outer()
    params = {("a", "w"): m.a.w, ("b", "w"): m.b.w}

    def ref(wa, wb, x):
        return jnp.sum(jnp.tanh(jnp.tanh(x @ wa) @ wb) ** 2)

    ga, gb = jax.grad(ref, (0, 1))(m.a.w.value, m.b.w.value, X)
    got = grad(m, params)(X)
    close(got, {("a", "w"): ga, ("b", "w"): gb})


def test_holomorphic_and_allow_int_forwarded():
    z = bss.State(jnp.array(1.0 + 2.0j))
    got = grad(lambda: z.value**2, z, holomorphic=True)()
    assert complex(got) == pytest.approx(2 * (1.0 + 2.0j))
    g = grad(lambda x, n: x * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert float(g[0]) == 3.0


def test_check_grads_numerically():
    w, b, loss = make_layer()

    def as_fn_of_values(wv, bv):
        w.value, b.value = wv, bv
        return grad(loss, [w, b], return_value=True)(X)[1]

    # The value computed through the grad object has correct derivatives (finite differences).
    check_grads(lambda wv, bv: pure_loss(wv, bv, X), (w.value, b.value), order=1, modes=("rev",))
    gw, gb = grad(loss, [w, b])(X)
    eps = 1e-3
    direction_w = jnp.ones_like(w.value)
    w0 = w.value
    plus = as_fn_of_values(w0 + eps * direction_w, b.value)
    minus = as_fn_of_values(w0 - eps * direction_w, b.value)
    w.value = w0
    np.testing.assert_allclose(float((plus - minus) / (2 * eps)), float(jnp.sum(gw * direction_w)), rtol=2e-2)


def test_check_grads_on_grad_object_as_function():
    s = bss.State(jnp.array([0.3, -0.2]))

    def f(x):
        return jnp.sum(jnp.sin(s.value * x))

    g = grad(f, argnums=0)
    # g is itself differentiable: check it numerically up to order 1 (a second derivative of f).
    check_grads(g, (jnp.array([1.0, 2.0]),), order=1, modes=("rev", "fwd"), atol=1e-2, rtol=1e-2)


@settings(max_examples=4, deadline=None)
@given(
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 4),
    batch=st.integers(1, 3),
    seed=st.integers(0, 100),
)
def test_hypothesis_shapes_match_jax(n_in, n_out, batch, seed):
    w, b, loss = make_layer(n_in, n_out, seed)
    x = jax.random.normal(jax.random.key(seed + 1), (batch, n_in))
    (gs, gx), value = grad(loss, {"w": w, "b": b}, argnums=0, return_value=True)(x)
    rv, (gw, gb, rgx) = jax.value_and_grad(pure_loss, (0, 1, 2))(w.value, b.value, x)
    close(gs, {"w": gw, "b": gb})
    close(gx, rgx)
    close(value, rv)


@settings(max_examples=3, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_vector_grad_matches_grad_of_sum(shape):
    s = bss.State(jnp.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape))

    def f(x):
        return jnp.sin(s.value) * x

    x = jnp.full(shape, 2.0)
    got, value = vector_grad(f, s, return_value=True)(x)
    expected = jax.grad(lambda v: jnp.sum(jnp.sin(v) * x))(s.value)
    close(got, expected)
    close(value, f(x))
    (gs, gx) = vector_grad(f, [s], argnums=0)(x)
    close(gx, jnp.sin(s.value))


def test_nested_dict_container_keeps_its_structure():
    from brainstate_state.containers import NestedDict

    w, b, loss = make_layer()
    tree = NestedDict({"layer": {"w": w, "b": b}})
    got = grad(loss, tree)(X)
    gw, gb = jax.grad(pure_loss, (0, 1))(w.value, b.value, X)
    assert isinstance(got, NestedDict)
    close(got["layer"]["w"], gw)
    close(got["layer"]["b"], gb)
