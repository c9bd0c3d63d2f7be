"""jit: seeds 002/003 behaviour, caching, plans, write-back, AOT helpers and rejected inputs."""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_jit import JittedFunction, jit


class Counter:
    def __init__(self) -> None:
        self.n = bss.State(jnp.array(0))

    def __call__(self):
        self.n.value += 1
        return self.n.value


def test_seed_counter_persists() -> None:
    counter = Counter()
    fast = jit(counter)
    assert isinstance(fast, JittedFunction)
    assert [int(fast()) for _ in range(4)] == [1, 2, 3, 4]


def test_raw_jax_jit_over_stateful_code_raises_trace_context_error() -> None:
    counter = Counter()
    with pytest.raises(bss.TraceContextError, match="brainstate.transform.jit"):
        jax.jit(counter)()
    assert int(counter.n.value) == 0


def test_seed_softplus_compile_and_clear_cache() -> None:
    @jit
    def softplus(x):
        return jnp.log1p(jnp.exp(-jnp.abs(x))) + jnp.maximum(x, 0)

    xs = jnp.linspace(-5.0, 5.0, 7)
    np.testing.assert_allclose(
        softplus(xs),
        [0.00671535, 0.03505242, 0.17300805, 0.69314724, 1.839675, 3.368386, 5.0067153],
        rtol=1e-6,
    )
    with jax.disable_jit():
        softplus(xs * 2.0)
    softplus.compile(jnp.ones((4,)))
    np.testing.assert_allclose(softplus(jnp.ones((4,))), [1.3132617] * 4, rtol=1e-6)
    softplus.clear_cache()
    np.testing.assert_allclose(
        softplus(jnp.linspace(-1.0, 1.0, 5)), [0.3132617, 0.474077, 0.6931472, 0.974077, 1.3132617], rtol=1e-6
    )


def test_seed_running_mean() -> None:
    class RunningMean:
        def __init__(self) -> None:
            self.sum = bss.HiddenState(jnp.array(0.0))
            self.count = bss.HiddenState(jnp.array(0))

        def __call__(self, batch):
            self.sum.value += jnp.sum(batch)
            self.count.value += batch.size
            return self.sum.value / self.count.value

    tracker = RunningMean()

    @jit
    def update_running_mean(batch):
        return tracker(batch)

    means = [float(update_running_mean(jnp.arange(4.0) + step)) for step in range(3)]
    assert means == [1.5, 2.0, 2.5]
    assert (float(tracker.sum.value), int(tracker.count.value)) == (30.0, 12)


def test_seed_static_polynomial_degree() -> None:
    calls = []

    @jit(static_argnums=1)
    def polynomial_series(x, degree):
        calls.append(degree)
        powers = [x ** (i + 1) for i in range(degree)]
        coeffs = jnp.arange(1, degree + 1, dtype=x.dtype)
        return jnp.tensordot(coeffs, jnp.stack(powers, axis=0), axes=1)

    x = jnp.array([1.0, 2.0])
    p1, p2, p3 = polynomial_series(x, 3), polynomial_series(x, 3), polynomial_series(x, 4)
    np.testing.assert_allclose(p1, [6.0, 34.0])
    np.testing.assert_allclose(p2, [6.0, 34.0])
    np.testing.assert_allclose(p3, [10.0, 98.0])
    assert calls == [3, 4]


def test_no_retrace_on_cache_hit() -> None:
    s = bss.State(jnp.zeros(2))
    traces = []

    @jit
    def f(x):
        traces.append(1)
        s.value = s.value + x
        return s.value

    for _ in range(5):
        f(jnp.ones(2))
    assert len(traces) == 1
    np.testing.assert_array_equal(s.value, [5.0, 5.0])


def test_read_only_states_are_not_rewritten() -> None:
    w = bss.State(jnp.ones(2))
    before = w._value

    @jit
    def f(x):
        return w.value * x

    f(2.0)
    assert w._value is before


def test_kwargs_and_static_argnames() -> None:
    @jit(static_argnames="mode")
    def f(x, *, scale, mode):
        return x * scale if mode == "mul" else x + scale

    assert float(f(2.0, scale=3.0, mode="mul")) == 6.0
    assert float(f(2.0, scale=3.0, mode="add")) == 5.0


def test_state_shape_change_recompiles() -> None:
    s = bss.State(jnp.zeros(3))

    @jit
    def f():
        s.value = s.value + 1
        return s.value.shape[0]

    assert int(f()) == 3
    s.value = jnp.zeros(5)
    assert int(f()) == 5
    np.testing.assert_array_equal(s.value, np.ones(5))


def test_replaced_state_attribute_detected() -> None:
    class Holder:
        pass

    holder = Holder()
    holder.c = bss.State(jnp.array(1.0))
    f = jit(lambda: holder.c.value * 2)
    assert float(f()) == 2.0
    holder.c = bss.State(jnp.array(100.0))
    bss.bump_graph_epoch()
    assert float(f()) == 200.0


def test_states_differ_between_static_configurations() -> None:
    a = bss.State(jnp.array(1.0))
    b = bss.State(jnp.array(10.0))

    @jit(static_argnums=0)
    def f(which):
        s = a if which == "a" else b
        s.value = s.value + 1
        return s.value

    for _ in range(3):
        assert float(f("a")) == float(a.value)
        assert float(f("b")) == float(b.value)
    assert float(a.value) == 4.0 and float(b.value) == 13.0


def test_state_created_inside_is_not_tracked() -> None:
    outer = bss.State(jnp.array(1.0))
    made = []

    @jit
    def f(x):
        inner = bss.State(x)
        made.append(inner)
        inner.value = inner.value + outer.value
        return inner.value

    assert float(f(2.0)) == 3.0
    assert f.stateful_fun.get_states(2.0) == (outer,)
    with pytest.raises(bss.TraceContextError):
        made[0].value  # noqa: B018


def test_nested_jit_and_outer_write_back() -> None:
    s = bss.State(jnp.array(1.0))

    @jit
    def inner(x):
        s.value = s.value * x
        return s.value

    @jit
    def outer(x):
        return inner(x) + inner(x)

    assert float(outer(2.0)) == 2.0 + 4.0
    assert float(s.value) == 4.0


def test_jit_of_module_method_decorator() -> None:
    class Model:
        def __init__(self) -> None:
            self.total = bss.State(jnp.array(0.0))

        @jit
        def add(self, x):
            self.total.value += x
            return self.total.value

    m = Model()
    m.add(1.0)
    assert float(m.add(2.0)) == 3.0


def test_eval_shape_lower_trace_do_not_write() -> None:
    s = bss.State(jnp.zeros(2))

    @jit
    def step(x):
        s.value = s.value + x
        return s.value.sum()

    written, out = step.eval_shape(jnp.ones(2))
    assert written[0].shape == (2,) and out.shape == ()
    step.lower(jnp.ones(2))
    step.trace(jnp.ones(2))
    np.testing.assert_array_equal(s.value, [0.0, 0.0])
    assert isinstance(step.jitted_fun, object) and step.origin_fun is not None


def test_donate_and_bad_argnums() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        jit(lambda x: x, static_argnums=-1)
    with pytest.raises(ValueError, match="non-negative"):
        jit(lambda x: x, donate_argnums=-1)
    with pytest.raises(TypeError, match="expected a callable"):
        jit(42)  # type: ignore[call-overload]
    with pytest.raises(NotImplementedError, match="in_shardings"):
        jit(lambda x: x, in_shardings=object())
    f = jit(lambda x: x * 2, donate_argnums=0)
    assert float(f(jnp.array(2.0))) == 4.0


def test_state_argument_rejected_state_unchanged() -> None:
    s = bss.State(jnp.ones(2), name="param")
    with pytest.raises(ValueError, match="cannot be States"):
        jit(lambda x: x)(s)
    np.testing.assert_array_equal(s.value, [1.0, 1.0])


def test_failure_inside_leaves_states_unchanged() -> None:
    s = bss.State(jnp.array(1.0))

    @jit
    def f(x):
        s.value = s.value + x
        return jnp.dot(jnp.ones(3), jnp.ones(4))  # shape error while tracing

    with pytest.raises(TypeError):
        f(1.0)
    assert float(s.value) == 1.0


def test_random_style_state_written_every_call_without_recompile() -> None:
    key = bss.State(jax.random.key(0))
    traces = []

    @jit
    def draw():
        traces.append(1)
        k1, k2 = jax.random.split(key.value)
        key.value = k1
        return jax.random.normal(k2)

    a, b = float(draw()), float(draw())
    assert a != b and len(traces) == 1


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), steps=st.integers(1, 5), decay=st.floats(0.0, 1.0))
def test_matches_hand_threaded_jax_jit(n: int, steps: int, decay: float) -> None:
    w = bss.ParamState(jnp.linspace(-1.0, 1.0, n * n).reshape(n, n))
    h = bss.HiddenState(jnp.zeros(n))
    count = bss.State(jnp.array(0))

    @jit
    def step(x):
        count.value += 1
        h.value = decay * h.value + jnp.tanh(x @ w.value)
        return h.value.sum()

    @jax.jit
    def pure(w_val, h_val, c_val, x):
        new_h = decay * h_val + jnp.tanh(x @ w_val)
        return new_h.sum(), new_h, c_val + 1

    h_ref, c_ref = jnp.zeros(n), jnp.array(0)
    for k in range(steps):
        x = jnp.full((n,), float(k))
        out = step(x)
        ref, h_ref, c_ref = pure(w.value, h_ref, c_ref, x)
        np.testing.assert_allclose(out, ref, rtol=1e-6)
    np.testing.assert_allclose(h.value, h_ref, rtol=1e-6)
    assert int(count.value) == int(c_ref) == steps


def test_concurrent_calls_are_deterministic() -> None:
    states = [bss.State(jnp.array(0.0)) for _ in range(4)]
    fns = [jit(lambda x, s=s: s.__setattr__("value", s.value + x) or s.value) for s in states]

    def worker(k: int) -> None:
        for _ in range(50):
            fns[k](1.0)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [float(s.value) for s in states] == [50.0] * 4
