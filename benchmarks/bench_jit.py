"""Dispatch overhead of ``brainstate_jit.jit`` against raw ``jax.jit`` with the state threaded by hand.

Two steps, each written twice (stateful, and pure with the state threaded through arguments):

* tiny: a counter plus a 4x4 linear layer with a hidden state (3 States);
* deep: 64 such layers chained (130 States).

Reported: median time per cached call (many calls, interleaved rounds), the ratio to raw JAX, the cost per
extra State, and the first call (trace + lower, without XLA's compile) for both.

Run: ``python benchmarks/bench_jit.py [--calls N] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import types
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import brainstate_state as bss
from brainstate_jit import jit


class Layer:
    def __init__(self, key: jax.Array, n: int = 4) -> None:
        self.w = bss.ParamState(jax.random.normal(key, (n, n)) * 0.1)
        self.h = bss.HiddenState(jnp.zeros(n))

    def __call__(self, x: jax.Array) -> jax.Array:
        self.h.value = jnp.tanh(x @ self.w.value + self.h.value)
        return self.h.value


class Net:
    def __init__(self, depth: int) -> None:
        keys = jax.random.split(jax.random.key(0), depth)
        self.layers = [Layer(k) for k in keys]
        self.count = bss.State(jnp.array(0))

    def __call__(self, x: jax.Array) -> jax.Array:
        self.count.value += 1
        for layer in self.layers:
            x = layer(x)
        return x


def pure_step(params: list[jax.Array], hidden: list[jax.Array], count: jax.Array, x: jax.Array) -> Any:
    new_hidden = []
    for w, h in zip(params, hidden, strict=True):
        x = jnp.tanh(x @ w + h)
        new_hidden.append(x)
    return x, new_hidden, count + 1


def median_call_us(fn: Callable[[], Any], calls: int, rounds: int = 7) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return samples


def measure(depth: int, calls: int) -> dict[str, float]:
    net = Net(depth)
    x = jnp.ones(4)
    step = jit(net)
    params = [layer.w.value for layer in net.layers]
    hidden = [layer.h.value for layer in net.layers]
    count = net.count.value
    raw = jax.jit(pure_step)
    box = {"hidden": hidden, "count": count}

    def raw_call() -> None:
        out, box["hidden"], box["count"] = raw(params, box["hidden"], box["count"], x)

    def ours_call() -> None:
        step(x)

    for fn in (raw_call, ours_call):  # warm up (compile)
        fn()
        jax.block_until_ready(x)
    ours_samples: list[float] = []
    raw_samples: list[float] = []
    for _ in range(3):  # interleave to share the machine's noise
        raw_samples += median_call_us(raw_call, calls)
        ours_samples += median_call_us(ours_call, calls)
    ours, raw_us = statistics.median(ours_samples), statistics.median(raw_samples)

    # First call: trace + lower (no XLA compile), fresh objects each time.
    def first_ours() -> None:
        jit(Net(depth)).lower(x)

    def first_raw() -> None:
        # A fresh function object, as a new user function would be (JAX caches lowerings per function).
        fresh = types.FunctionType(pure_step.__code__, pure_step.__globals__, "pure_step")
        n = Net(depth)
        jax.jit(fresh).lower(
            [layer.w.value for layer in n.layers], [layer.h.value for layer in n.layers], n.count.value, x
        )

    first_o, first_r = [], []
    for _ in range(5):
        t = time.perf_counter()
        first_raw()
        first_r.append(time.perf_counter() - t)
        t = time.perf_counter()
        first_ours()
        first_o.append(time.perf_counter() - t)
    return {
        "states": 2 * depth + 1,
        "ours_us": ours,
        "raw_us": raw_us,
        "ratio": ours / raw_us,
        "first_ours_ms": statistics.median(first_o) * 1e3,
        "first_raw_ms": statistics.median(first_r) * 1e3,
        "first_ratio": statistics.median(first_o) / statistics.median(first_r),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    tiny = measure(1, args.calls)
    deep = measure(64, max(args.calls // 4, 200))
    per_state = (deep["ours_us"] - deep["raw_us"] - (tiny["ours_us"] - tiny["raw_us"])) / (
        deep["states"] - tiny["states"]
    )
    lines = [
        f"jax {jax.__version__}; medians of interleaved rounds; lower is better.",
        "",
        "| step | States | raw jax.jit (us/call) | brainstate jit (us/call) | ratio | first call raw (ms) "
        "| first call ours (ms) | first-call ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in (("tiny", tiny), ("deep (64 layers)", deep)):
        lines.append(
            f"| {label} | {r['states']} | {r['raw_us']:.1f} | {r['ours_us']:.1f} | {r['ratio']:.2f}x "
            f"| {r['first_raw_ms']:.1f} | {r['first_ours_ms']:.1f} | {r['first_ratio']:.2f}x |"
        )
    lines += ["", f"Extra cost per additional State (beyond raw JAX): {per_state:.2f} us"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
