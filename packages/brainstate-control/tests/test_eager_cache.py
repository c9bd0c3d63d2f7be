"""Eager calls reuse their trace and compiled program (decision 8)."""

from __future__ import annotations

import gc

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_state as bss
from brainstate_control import (
    bounded_while_loop,
    checkpointed_for_loop,
    cond,
    eager_cache_info,
    for_loop,
    ifelse,
    switch,
    while_loop,
)


class _Neurons:
    def __init__(self) -> None:
        self.v = bss.State(jnp.zeros(4, jnp.float32))
        self.traces = 0

    def step(self, x):
        self.traces += 1
        self.v.value = self.v.value * 0.9 + x
        return self.v.value.sum()


def test_for_loop_repeat_calls_do_not_retrace():
    net = _Neurons()
    xs = jnp.ones((5, 4))
    for_loop(net.step, xs)
    first = net.traces
    for _ in range(3):
        for_loop(net.step, xs)  # a fresh bound method object each time
    assert net.traces == first
    np.testing.assert_allclose(net.v.value, np.full(4, sum(0.9**k for k in range(20))), rtol=1e-5)
    for_loop(net.step, jnp.ones((6, 4)))  # new shape: one new trace
    assert net.traces == first + 1


def test_cond_while_and_friends_repeat_calls_do_not_retrace():
    count = {"n": 0}
    s = bss.State(jnp.zeros((), jnp.float32))

    def t(x):
        count["n"] += 1
        s.value = s.value + x
        return x

    def f(x):
        count["n"] += 1
        return -x

    def body(i):
        count["n"] += 1
        s.value = s.value + 1.0
        return i + 1

    def c(i):
        return i < 3

    calls = [
        lambda: cond(True, t, f, 1.0),
        lambda: cond(False, t, f, 1.0),
        lambda: switch(1, [t, f], 1.0),
        lambda: ifelse([True, False], [t, f], 1.0),
        lambda: while_loop(c, body, 0),
        lambda: bounded_while_loop(c, body, 0, max_steps=5),
        lambda: checkpointed_for_loop(t, jnp.ones(3)),
    ]
    for call in calls:
        call()
    traced = count["n"]
    before = eager_cache_info()["hits"]
    for call in calls:
        call()
    assert count["n"] == traced
    assert eager_cache_info()["hits"] - before == len(calls)


def test_cache_does_not_keep_functions_alive():
    s = bss.State(jnp.zeros(()))

    def step(x):
        s.value = s.value + x
        return x

    for_loop(step, jnp.ones(2))
    size = eager_cache_info()["size"]
    del step
    gc.collect()
    assert eager_cache_info()["size"] == size - 1


def test_state_replaced_or_reshaped_is_seen():
    s = bss.State(jnp.zeros(2))

    def step(x):
        s.value = s.value + x
        return s.value

    for_loop(step, jnp.ones((2, 2)))
    s.value = jnp.zeros(3)
    out = for_loop(step, jnp.ones((2, 3)))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(s.value, [2, 2, 2])


def test_lambda_and_uncacheable_still_work():
    s = bss.State(jnp.zeros(()))

    def step(x):
        s.value = s.value + x
        return x

    class NoWeak:
        __slots__ = ()

        def __call__(self, x):
            s.value = s.value + x
            return x

    ys = for_loop(NoWeak(), jnp.ones(3))
    np.testing.assert_allclose(ys, [1, 1, 1])
    assert float(s.value) == 3.0
    assert eager_cache_info()["uncacheable"] >= 1
    jax.block_until_ready(for_loop(step, jnp.ones(3)))


def test_eager_cache_clear():
    from brainstate_control import eager_cache_clear

    for_loop(_module_step, jnp.ones(2))
    assert eager_cache_info()["size"] >= 1
    eager_cache_clear()
    assert eager_cache_info()["size"] == 0


_COUNTER = bss.State(jnp.zeros(()))


def _module_step(x):
    _COUNTER.value = _COUNTER.value + x
    return x
