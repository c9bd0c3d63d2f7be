"""Benchmark: a vmapped ensemble step inside ``brainstate_jit.jit`` vs ``jax.jit(jax.vmap(...))`` pure.

The ensemble is ``n`` copies of a small recurrent cell (weights ``ParamState`` (n, d, d), hidden state
``HiddenState`` (n, d)). The brainstate version reads and writes the States; the pure JAX version
threads the same arrays by hand. Both are measured in the same run, interleaved, as the median time of
one call (``block_until_ready``), after warm-up. Target: brainstate / pure <= 1.2.

Run from the repository root::

    python3 benchmarks/bench_mapping.py            # prints and writes benchmarks/results/mapping.md
    python3 benchmarks/bench_mapping.py --out FILE # writes FILE instead
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_jit import jit
from brainstate_mapping import vmap, vmap2
from brainstate_state import HiddenState, ParamState

RESULTS = Path(__file__).resolve().parent / "results" / "mapping.md"


def _median_call(fn: Callable[[], Any], rounds: int, calls: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            out = fn()
        jax.block_until_ready(out)
        samples.append((time.perf_counter() - start) / calls)
    return samples


def bench(n: int, d: int, rounds: int = 30, calls: int = 200) -> dict[str, float]:
    key = jax.random.key(0)
    w = ParamState(jax.random.normal(key, (n, d, d)) / d**0.5)
    h = HiddenState(jnp.zeros((n, d)))
    x = jnp.ones(d)

    def step(inp: jax.Array) -> jax.Array:
        h.value = jnp.tanh(inp @ w.value + h.value)
        return h.value.mean()

    def batched_step(inp: jax.Array) -> jax.Array:  # the same step written batched by hand, no mapping
        h.value = jnp.tanh(jnp.einsum("d,nde->ne", inp, w.value) + h.value)
        return h.value.mean(axis=1)

    ens2 = vmap2(step, in_axes=None, state_in_axes={0: (ParamState, HiddenState)})
    ens1 = vmap(step, in_axes=None, in_states={0: [w, h]})
    bs_vmap2 = jit(lambda inp: ens2(inp))
    bs_vmap = jit(lambda inp: ens1(inp))

    def pure_step(wv: jax.Array, hv: jax.Array, inp: jax.Array) -> tuple[jax.Array, jax.Array]:
        new_h = jnp.tanh(inp @ wv + hv)
        return new_h.mean(), new_h

    pure = jax.jit(jax.vmap(pure_step, in_axes=(0, 0, None)))
    hand = {"w": w.value, "h": h.value}

    def run_pure() -> jax.Array:
        out, hand["h"] = pure(hand["w"], hand["h"], x)
        return out

    bs_nomap = jit(batched_step)
    candidates = {
        "pure": run_pure,
        "vmap2": lambda: bs_vmap2(x),
        "vmap": lambda: bs_vmap(x),
        "jit_only": lambda: bs_nomap(x),
        "eager": lambda: ens2(x),
    }
    for fn in candidates.values():  # warm-up: compile
        jax.block_until_ready(fn())
    samples: dict[str, list[float]] = {k: [] for k in candidates}
    for _ in range(rounds):  # interleaved, so machine load hits every candidate alike
        for name, fn in candidates.items():
            samples[name].extend(_median_call(fn, 1, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS)
    out: Path = parser.parse_args().out
    rows = []
    for n, d in [(16, 8), (64, 32), (256, 64)]:
        result = bench(n, d)
        rows.append((n, d, result))
        print(
            f"n={n:4d} d={d:3d}  pure {result['pure'] * 1e6:8.1f} us  vmap2 {result['vmap2'] * 1e6:8.1f} us "
            f"({result['vmap2'] / result['pure']:.2f}x)  vmap {result['vmap'] * 1e6:8.1f} us "
            f"({result['vmap'] / result['pure']:.2f}x)  jit-only {result['jit_only'] / result['pure']:.2f}x  "
            f"eager vmap2 {result['eager'] / result['pure']:.2f}x"
        )
    lines = [
        "# brainstate-mapping benchmark",
        "",
        "A vmapped ensemble step (n copies of a d x d tanh cell; weights `ParamState`, hidden `HiddenState`)",
        "called inside `brainstate_jit.jit`, against `jax.jit(jax.vmap(pure_step))` with the same arrays threaded",
        "by hand. Median time per call over 30 interleaved rounds of 200 calls, one run.",
        "The last column is `brainstate_jit.jit` over the same step written batched by hand (no mapping at all):",
        "it isolates jit's own per-call overhead, which the mapping does not add to (a warm jitted call does not",
        "enter the mapping engine). The last column calls the `vmap2` object directly, outside any `jit` (a",
        "warm eager call: the user function is traced again, so the result is never stale, and the compiled",
        "program is found by the traced program's structure).",
        f"Machine: {platform.machine()}, {jax.devices()[0].platform} (JAX {jax.__version__}, Python "
        f"{platform.python_version()}). Target: brainstate / pure <= 1.2 (the reference: ~7x on a small model).",
        "",
        "| n | d | pure jax (us) | `jit(vmap2)` (us) | ratio | `jit(vmap)` (us) | ratio | `jit`, no mapping: ratio | eager `vmap2`: ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, d, r in rows:
        lines.append(
            f"| {n} | {d} | {r['pure'] * 1e6:.1f} | {r['vmap2'] * 1e6:.1f} | {r['vmap2'] / r['pure']:.2f}x | "
            f"{r['vmap'] * 1e6:.1f} | {r['vmap'] / r['pure']:.2f}x | {r['jit_only'] / r['pure']:.2f}x | "
            f"{r['eager'] / r['pure']:.2f}x |"
        )
    lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
