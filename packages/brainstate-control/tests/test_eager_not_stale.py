"""Eager calls are never stale: each call sees the current attributes, globals and States, like lax does."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_control import (
    bounded_while_loop,
    checkpointed_for_loop,
    checkpointed_scan,
    cond,
    eager_cache_info,
    for_loop,
    ifelse,
    scan,
    switch,
    while_loop,
)


class _Leaky:
    """A module-like object whose step reads a plain (non-State) attribute."""

    def __init__(self) -> None:
        self.v = bss.State(jnp.array(0.0))
        self.tau = 10.0

    def step(self, x):
        self.v.value = self.v.value + x / self.tau
        return self.v.value

    def carry_step(self, c, x):
        self.v.value = self.v.value + x / self.tau
        return c + 1.0, self.v.value

    def grow(self, i):
        self.v.value = self.v.value + 1.0 / self.tau
        return i + 1

    def inc(self, x):
        self.v.value = self.v.value + x / self.tau
        return x / self.tau

    def dec(self, x):
        return -x / self.tau


def _lax_for_loop(tau: float, xs):
    def body(v, x):
        v = v + x / tau
        return v, v

    return jax.lax.scan(body, jnp.array(0.0), xs)


@pytest.mark.parametrize("loop", ["for_loop", "checkpointed_for_loop"])
def test_for_loop_sees_changed_plain_attribute(loop):
    run = {"for_loop": for_loop, "checkpointed_for_loop": checkpointed_for_loop}[loop]
    m = _Leaky()
    xs = jnp.ones(2)
    ys_a = run(m.step, xs)
    a = float(m.v.value)
    m.tau = 1.0
    m.v.value = jnp.array(0.0)
    ys_b = run(m.step, xs)
    b = float(m.v.value)
    (va, ya), (vb, yb) = _lax_for_loop(10.0, xs), _lax_for_loop(1.0, xs)
    assert (a, b) == pytest.approx((float(va), float(vb)))
    np.testing.assert_allclose(ys_a, ya, rtol=1e-6)
    np.testing.assert_allclose(ys_b, yb, rtol=1e-6)


@pytest.mark.parametrize("loop", ["scan", "checkpointed_scan"])
def test_scan_sees_changed_plain_attribute(loop):
    run = {"scan": scan, "checkpointed_scan": checkpointed_scan}[loop]
    m = _Leaky()
    results = []
    for tau in (10.0, 2.0, 10.0):
        m.tau = tau
        m.v.value = jnp.array(0.0)
        carry, ys = run(m.carry_step, 0.0, jnp.ones(3))
        results.append((float(carry), np.asarray(ys), float(m.v.value)))
    for tau, (carry, ys, v) in zip((10.0, 2.0, 10.0), results, strict=True):
        v_ref, ys_ref = _lax_for_loop(tau, jnp.ones(3))
        assert carry == 3.0
        np.testing.assert_allclose(ys, ys_ref, rtol=1e-6)
        assert v == pytest.approx(float(v_ref))


def test_while_loops_see_changed_plain_attribute():
    m = _Leaky()
    for loop in (while_loop, lambda c, b, x: bounded_while_loop(c, b, x, max_steps=10)):
        for tau in (10.0, 4.0):
            m.tau = tau
            m.v.value = jnp.array(0.0)
            n = loop(lambda i: i < 3, m.grow, 0)
            assert int(n) == 3
            assert float(m.v.value) == pytest.approx(3.0 / tau)


def test_conditionals_see_changed_plain_attribute():
    m = _Leaky()
    calls = [
        lambda: cond(True, m.inc, m.dec, 2.0),
        lambda: switch(0, [m.inc, m.dec], 2.0),
        lambda: ifelse([True, False], [m.inc, m.dec], 2.0),
    ]
    for call in calls:
        for tau in (10.0, 4.0, 10.0):
            m.tau = tau
            m.v.value = jnp.array(0.0)
            out = call()
            assert float(out) == pytest.approx(2.0 / tau)
            assert float(m.v.value) == pytest.approx(2.0 / tau)


_GAIN = 2.0
_SHIFT = jnp.array([1.0, 2.0])


def _global_step(x):
    return x * _GAIN + _SHIFT


def test_globals_changed_between_calls_are_seen():
    global _GAIN, _SHIFT
    xs = jnp.ones((3, 2))
    try:
        first = for_loop(_global_step, xs)
        _GAIN, _SHIFT = 5.0, jnp.array([-1.0, 0.5])
        second = for_loop(_global_step, xs)
        np.testing.assert_allclose(first, np.tile([3.0, 4.0], (3, 1)))
        np.testing.assert_allclose(second, np.tile([4.0, 5.5], (3, 1)))
        _SHIFT = jnp.array([10.0, 20.0])  # same shape, new value: no recompile needed, right numbers
        third = for_loop(_global_step, xs)
        np.testing.assert_allclose(third, np.tile([15.0, 25.0], (3, 1)))
    finally:
        _GAIN, _SHIFT = 2.0, jnp.array([1.0, 2.0])


def test_states_recreated_between_calls():
    class Net:
        def __init__(self) -> None:
            self.init_state()

        def init_state(self) -> None:
            self.v = bss.State(jnp.zeros(3))

        def step(self, x):
            self.v.value = self.v.value * 0.5 + x
            return self.v.value.sum()

    net = Net()
    compiles = eager_cache_info()["compiles"]
    for trial in range(4):
        old = net.v
        net.init_state()
        ys = for_loop(net.step, jnp.full((4, 3), float(trial)))

        def body(v, x):
            v = v * 0.5 + x
            return v, v.sum()

        v_ref, ys_ref = jax.lax.scan(body, jnp.zeros(3), jnp.full((4, 3), float(trial)))
        np.testing.assert_allclose(ys, ys_ref, rtol=1e-6)
        np.testing.assert_allclose(net.v.value, v_ref, rtol=1e-6)
        np.testing.assert_allclose(old.value, np.zeros(3) if trial == 0 else old.value)
    # The same program over re-created States of the same shapes compiles once.
    assert eager_cache_info()["compiles"] - compiles <= 1


def test_fresh_lambdas_in_a_python_loop_compile_once():
    s = bss.State(jnp.zeros(()))
    compiles = eager_cache_info()["compiles"]
    expected = 0.0
    for i in range(5):

        def add(x):
            s.value = s.value + x
            return x

        out = cond(i % 2 == 0, add, lambda x: -x, jnp.float32(i))
        expected += i if i % 2 == 0 else 0.0
        assert float(out) == (i if i % 2 == 0 else -i)
        assert float(s.value) == expected
        for_loop(lambda x: x * 2.0, jnp.ones(3))
        while_loop(lambda t: t < 3, lambda t: t + 1, 0)
    # One program per transform (cond, for_loop, while_loop), however many fresh lambdas.
    assert eager_cache_info()["compiles"] - compiles <= 3


def test_closure_value_change_is_seen_by_fresh_closures():
    outs = []
    for scale in (1.0, 3.0):
        outs.append(for_loop(lambda x, scale=scale: x * scale, jnp.arange(3.0)))
    np.testing.assert_allclose(outs[0], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(outs[1], [0.0, 3.0, 6.0])
