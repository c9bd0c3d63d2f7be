"""jit's data path: one trace per miss for every argument kind, static arguments by name or position,
exact invalidation of cached plans, and compiled programs shared across re-created States."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_jit import jit


@pytest.mark.parametrize(
    "arg",
    [1.0, 3, True, np.float64(2.0), np.ones(3), np.arange(3), jnp.ones(2), 1j],
    ids=["float", "int", "bool", "np-scalar", "np-float-array", "np-int-array", "jnp-array", "complex"],
)
def test_one_trace_per_miss_for_every_argument_kind(arg) -> None:
    traces = []
    s = bss.State(jnp.array(0.0))

    def f(x):
        traces.append(1)
        s.value = s.value + 1.0
        return x * 2

    fast = jit(f)
    np.testing.assert_allclose(np.asarray(fast(arg)), np.asarray(arg) * 2)
    assert len(traces) == 1
    np.testing.assert_allclose(np.asarray(fast(arg)), np.asarray(arg) * 2)
    assert len(traces) == 1
    assert float(s.value) == 2.0


def test_static_argnames_used_positionally_is_static() -> None:
    seen = []

    def f(x, n):
        seen.append(n)
        return x * len(range(n))  # needs a concrete n

    fast = jit(f, static_argnames="n")
    assert float(fast(1.0, 3)) == float(jax.jit(f, static_argnames="n")(1.0, 3)) == 3.0
    assert float(fast(1.0, n=4)) == 4.0
    assert float(fast(2.0, 3)) == 6.0
    assert seen and all(isinstance(v, int) for v in seen)


def test_static_argnums_passed_by_keyword_is_static() -> None:
    def f(x, n):
        return x * len(range(n))

    fast = jit(f, static_argnums=1)
    assert float(fast(1.0, n=3)) == 3.0
    assert float(fast(1.0, 2)) == 2.0


def test_static_argnames_on_a_method_used_positionally() -> None:
    class Model(bss.graph.Node):
        def __init__(self) -> None:
            self.v = bss.State(jnp.array(0.0))

        @jit(static_argnames="n")
        def step(self, x, n):
            for _ in range(n):
                self.v.value = self.v.value + x
            return self.v.value

    m = Model()
    assert float(m.step(1.0, 3)) == 3.0
    assert float(m.step(1.0, n=2)) == 5.0
