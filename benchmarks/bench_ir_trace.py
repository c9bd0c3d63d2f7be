"""First-call tracing cost of ``StatefulFunction`` against ``jax.make_jaxpr`` with the state threaded by hand.

Both sides trace a fresh function object each time (as a new user function would be), for a model of
``depth`` layers (two States per layer plus a counter). Reports medians and the ratio.

Run: ``python benchmarks/bench_ir_trace.py [--out FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import types
from typing import Any

import jax
import jax.numpy as jnp

import brainstate_state as bss
from brainstate_ir import StatefulFunction


class Layer:
    def __init__(self, key: jax.Array, n: int = 4) -> None:
        self.w = bss.ParamState(jax.random.normal(key, (n, n)) * 0.1)
        self.h = bss.HiddenState(jnp.zeros(n))


def make_stateful(layers: list[Layer], count: bss.State[Any]) -> Any:
    def step(x: jax.Array) -> jax.Array:
        count.value += 1
        for layer in layers:
            layer.h.value = jnp.tanh(x @ layer.w.value + layer.h.value)
            x = layer.h.value
        return x

    return step


def pure_step(params: list[jax.Array], hidden: list[jax.Array], count: jax.Array, x: jax.Array) -> Any:
    new_hidden = []
    for w, h in zip(params, hidden, strict=True):
        x = jnp.tanh(x @ w + h)
        new_hidden.append(x)
    return x, new_hidden, count + 1


def measure(depth: int, repeats: int) -> dict[str, float]:
    layers = [Layer(k) for k in jax.random.split(jax.random.key(0), depth)]
    count = bss.State(jnp.array(0))
    x = jnp.ones(4)
    params = [layer.w.value for layer in layers]
    hidden = [layer.h.value for layer in layers]
    ours, raw = [], []
    for _ in range(repeats):
        fresh = types.FunctionType(pure_step.__code__, pure_step.__globals__, "pure_step")
        t = time.perf_counter()
        jax.make_jaxpr(fresh)(params, hidden, count.value, x)
        raw.append(time.perf_counter() - t)
        step = make_stateful(layers, count)
        t = time.perf_counter()
        StatefulFunction(step).get_program(x)
        ours.append(time.perf_counter() - t)
    o, r = statistics.median(ours[2:]), statistics.median(raw[2:])
    return {"states": 2 * depth + 1, "ours_ms": o * 1e3, "raw_ms": r * 1e3, "ratio": o / r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    lines = [
        f"jax {jax.__version__}; first-call tracing, medians of {args.repeats} fresh functions.",
        "",
        "| layers | States | jax.make_jaxpr, state by hand (ms) | StatefulFunction (ms) | ratio |",
        "|---|---|---|---|---|",
    ]
    for depth in (1, 16, 64):
        r = measure(depth, args.repeats)
        lines.append(
            f"| {depth} | {r['states']} | {r['raw_ms']:.2f} | {r['ours_ms']:.2f} | {r['ratio']:.2f}x |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
