"""Eager calls retrace their Python body and reuse one compiled executable per distinct program."""

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


def test_for_loop_repeat_calls_retrace_but_do_not_recompile():
    net = _Neurons()
    xs = jnp.ones((5, 4))
    for_loop(net.step, xs)
    compiles = eager_cache_info()["compiles"]
    for _ in range(3):
        for_loop(net.step, xs)  # a fresh bound method object each time
    assert net.traces == 4  # the Python body runs on every eager call (never a stale program)
    assert eager_cache_info()["compiles"] == compiles
    np.testing.assert_allclose(net.v.value, np.full(4, sum(0.9**k for k in range(20))), rtol=1e-5)
    for_loop(net.step, jnp.ones((6, 4)))  # new shape: one new program
    assert eager_cache_info()["compiles"] == compiles + 1


def test_cond_while_and_friends_repeat_calls_do_not_recompile():
    s = bss.State(jnp.zeros((), jnp.float32))

    def t(x):
        s.value = s.value + x
        return x

    def f(x):
        return -x

    def body(i):
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
    outs = [call() for call in calls]
    first = float(s.value)
    compiles = eager_cache_info()["compiles"]
    before = eager_cache_info()["hits"]
    s.value = jnp.zeros((), jnp.float32)
    again = [call() for call in calls]
    assert eager_cache_info()["compiles"] == compiles
    assert eager_cache_info()["hits"] - before == len(calls)
    assert float(s.value) == first
    for a, b in zip(outs, again, strict=True):
        np.testing.assert_allclose(a, b)


def test_cache_does_not_keep_functions_alive():
    import weakref

    s = bss.State(jnp.zeros(()))

    def step(x):
        s.value = s.value + x
        return x

    for_loop(step, jnp.ones(2))
    ref = weakref.ref(step)
    del step
    gc.collect()
    assert ref() is None


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


def test_callable_objects_without_weakref_work_and_compile_once():
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
    compiles = eager_cache_info()["compiles"]
    ys = for_loop(NoWeak(), jnp.ones(3))  # another object, the same program
    assert float(s.value) == 6.0
    assert eager_cache_info()["compiles"] == compiles
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
