"""Random small stateful programs, written twice: with States, and as pure JAX with the state threaded by hand.

A :class:`Program` is a list of steps over ``n_states`` States of shape ``(size,)`` and one input ``x`` of
the same shape. Each step computes ``op(a, b)`` from two operands (States or ``x``) and either writes the
result into a State or adds it to the output. Optionally one step draws a normal sample from a
``RandomState`` and adds it. :meth:`Program.stateful` gives the function over live States;
:meth:`Program.pure` gives ``(state_values, key, x) -> (out, new_state_values, new_key)``, which is the
reference every transform is compared with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from hypothesis import strategies as st

import brainstate

OPS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "tanh_add": lambda a, b: jnp.tanh(a + 0.5 * b),
    "sin_mul": lambda a, b: jnp.sin(a) * b,
    "affine": lambda a, b: 0.9 * a - 0.1 * b + 0.05,
    "softplus": lambda a, b: jax.nn.softplus(a - b),
}


@dataclass(frozen=True)
class Step:
    op: str
    a: int  # operand index: -1 is x, k >= 0 is State k
    b: int
    target: int  # State index to write, or -1: accumulate into the output


@dataclass(frozen=True)
class Program:
    n_states: int
    size: int
    steps: tuple[Step, ...]
    random_step: int | None = None  # index of the step after which a normal draw is added to the output
    init: tuple[tuple[float, ...], ...] = field(default=())

    # ------------------------------------------------------------------ the two implementations
    def make_states(self) -> list[brainstate.State[Any]]:
        return [
            brainstate.ParamState(jnp.asarray(self.init[k], dtype=jnp.float32), name=f"s{k}")
            for k in range(self.n_states)
        ]

    def stateful(
        self, states: Sequence[brainstate.State[Any]], rng: Any = None
    ) -> Callable[[jax.Array], jax.Array]:
        def run(x: jax.Array) -> jax.Array:
            out = jnp.zeros(self.size)
            for i, step in enumerate(self.steps):
                a = x if step.a < 0 else states[step.a].value
                b = x if step.b < 0 else states[step.b].value
                value = OPS[step.op](a, b)
                if step.target < 0:
                    out = out + value
                else:
                    states[step.target].value = value
                if rng is not None and i == self.random_step:
                    out = out + rng.normal(size=(self.size,))
            return out.sum() + sum(s.value.sum() * 0.01 * (k + 1) for k, s in enumerate(states))

        return run

    def pure(
        self, values: Sequence[jax.Array], key: Any, x: jax.Array
    ) -> tuple[jax.Array, list[jax.Array], Any]:
        vals = list(values)
        out = jnp.zeros(self.size)
        for i, step in enumerate(self.steps):
            a = x if step.a < 0 else vals[step.a]
            b = x if step.b < 0 else vals[step.b]
            value = OPS[step.op](a, b)
            if step.target < 0:
                out = out + value
            else:
                vals[step.target] = value
            if key is not None and i == self.random_step:
                keys = jax.random.split(key, 2)  # brainstate's split order: keep [0], use [1]
                key = keys[0]
                out = out + jax.random.normal(keys[1], (self.size,))
        total = out.sum() + sum(v.sum() * 0.01 * (k + 1) for k, v in enumerate(vals))
        return total, vals, key

    def written(self) -> set[int]:
        return {s.target for s in self.steps if s.target >= 0}


@st.composite
def programs(draw: Any, max_states: int = 3, max_steps: int = 5, with_random: bool = False) -> Program:
    n_states = draw(st.integers(1, max_states))
    size = draw(st.integers(1, 3))
    operand = st.integers(-1, n_states - 1)
    steps = tuple(
        Step(
            draw(st.sampled_from(sorted(OPS))),
            draw(operand),
            draw(operand),
            draw(st.integers(-1, n_states - 1)),
        )
        for _ in range(draw(st.integers(1, max_steps)))
    )
    floats = st.floats(-1.0, 1.0, allow_nan=False, width=32)
    init = tuple(tuple(draw(floats) for _ in range(size)) for _ in range(n_states))
    random_step = draw(st.integers(0, len(steps) - 1)) if with_random and draw(st.booleans()) else None
    return Program(n_states, size, steps, random_step, init)
