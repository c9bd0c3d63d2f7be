"""Compiled methods: bound per instance, holding the instance weakly, static names counted without self."""

import gc
import weakref

import jax.numpy as jnp

import brainstate_state as bss
from brainstate_jit import jit


class Counter(bss.nn.Module):
    def __init__(self):
        super().__init__()
        self.n = bss.State(jnp.array(0.0))

    @jit
    def step(self, x):
        self.n.value = self.n.value + x
        return self.n.value

    @jit(static_argnames="k")
    def scaled(self, x, k=2):
        return x * k + self.n.value


def test_jitted_method_does_not_keep_its_instance_alive():
    m = Counter()
    assert float(m.step(1.0)) == 1.0
    assert float(m.step(2.0)) == 3.0
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_jitted_method_static_argnames_count_without_self():
    m = Counter()
    assert float(m.scaled(1.0)) == 2.0
    assert float(m.scaled(1.0, 3)) == 3.0
    assert float(m.scaled(1.0, k=4)) == 4.0
    other = Counter()
    other.n.value = jnp.array(10.0)
    assert float(other.scaled(1.0)) == 12.0
    assert float(m.scaled(1.0)) == 2.0
