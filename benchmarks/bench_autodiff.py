"""Training-step cost of ``brainstate_jit.jit(brainstate_autodiff.grad(...))`` against raw JAX.

The step of seed 002 (``jit`` of ``grad(loss, params, return_value=True)`` followed by an SGD update
loop over the parameter States) on a 784-512-512-10 MLP with batch 128, against the equivalent pure step
``jax.jit`` of ``jax.value_and_grad`` with the parameters threaded through arguments and returned.

Also reported: an eager (un-jitted) call of the same ``grad`` object, whose differentiated program is
compiled once per signature and cached (no retrace, no per-call JAX transform).

Reported: medians over interleaved rounds of many calls each (per-round mean, then the median of the
rounds), the ratio ours / raw (target <= 1.1x), written to ``benchmarks/results/autodiff.md``.

Run: ``python benchmarks/bench_autodiff.py [--calls N] [--rounds R] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import brainstate_state as bss
from brainstate_autodiff import grad
from brainstate_ir import make_jaxpr
from brainstate_jit import jit

SIZES = (784, 512, 512, 10)
BATCH = 128
LR = 0.01


class MLP:
    """Three dense layers; parameters are ParamStates."""

    def __init__(self, key: jax.Array) -> None:
        keys = jax.random.split(key, len(SIZES) - 1)
        self.params: dict[tuple[str, ...], bss.ParamState[Any]] = {}
        for i, (k, (n_in, n_out)) in enumerate(
            zip(keys, zip(SIZES[:-1], SIZES[1:], strict=True), strict=True)
        ):
            self.params[(f"l{i}", "w")] = bss.ParamState(jax.random.normal(k, (n_in, n_out)) / n_in**0.5)
            self.params[(f"l{i}", "b")] = bss.ParamState(jnp.zeros(n_out))

    def __call__(self, x: jax.Array) -> jax.Array:
        n = len(SIZES) - 1
        for i in range(n):
            x = x @ self.params[(f"l{i}", "w")].value + self.params[(f"l{i}", "b")].value
            if i < n - 1:
                x = jax.nn.relu(x)
        return x


def pure_forward(params: dict[tuple[str, ...], jax.Array], x: jax.Array) -> jax.Array:
    n = len(SIZES) - 1
    for i in range(n):
        x = x @ params[(f"l{i}", "w")] + params[(f"l{i}", "b")]
        if i < n - 1:
            x = jax.nn.relu(x)
    return x


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * labels, axis=-1))


def timed_rounds(fns: dict[str, Callable[[], Any]], calls: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per function: median and minimum over ``rounds`` of the mean wall time per call (us), and the
    median process CPU time per call (us, all threads; less sensitive to other processes on the machine).
    The functions are interleaved round by round so they share the machine's noise."""
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                out = fn()
            jax.block_until_ready(out)
            wall[name].append((time.perf_counter() - start) / calls * 1e6)
            cpu[name].append((time.process_time() - start_cpu) / calls * 1e6)
    return {
        name: {
            "median": statistics.median(wall[name]),
            "min": min(wall[name]),
            "cpu": statistics.median(cpu[name]),
        }
        for name in fns
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "autodiff.md"))
    args = parser.parse_args()

    kx, ky, kp = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (BATCH, SIZES[0]))
    y = jax.nn.one_hot(jax.random.randint(ky, (BATCH,), 0, SIZES[-1]), SIZES[-1])

    model = MLP(kp)
    params = model.params

    def loss_fn(x: jax.Array, y: jax.Array) -> jax.Array:
        return cross_entropy(model(x), y)

    @jit
    def train_step(x: jax.Array, y: jax.Array) -> jax.Array:
        grads, loss = grad(loss_fn, params, return_value=True)(x, y)
        for key in params:
            params[key].value = params[key].value - LR * grads[key]
        return loss

    def pure_loss(p: dict[tuple[str, ...], jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
        return cross_entropy(pure_forward(p, x), y)

    @jax.jit
    def pure_step(p: dict[tuple[str, ...], jax.Array], x: jax.Array, y: jax.Array) -> Any:
        loss, grads = jax.value_and_grad(pure_loss)(p, x, y)
        return jax.tree.map(lambda a, g: a - LR * g, p, grads), loss

    box = {"p": {k: s.value for k, s in params.items()}}

    def raw_call() -> jax.Array:
        box["p"], loss = pure_step(box["p"], x, y)
        return loss

    def ours_call() -> jax.Array:
        return train_step(x, y)

    eager_grad = grad(loss_fn, params, return_value=True)

    def eager_call() -> Any:
        return eager_grad(x, y)

    def raw_eager_call() -> Any:
        return pure_grad(box["p"], x, y)

    pure_grad = jax.jit(jax.value_and_grad(pure_loss))

    # Same numbers: one step each from the same parameters.
    start = {k: s.value for k, s in params.items()}
    ours_loss = float(train_step(x, y))
    box["p"] = dict(start)
    raw_loss = float(raw_call())
    assert abs(ours_loss - raw_loss) <= 1e-5 * max(1.0, abs(raw_loss)), (ours_loss, raw_loss)

    # What both steps trace to (the stateful one through brainstate's make_jaxpr).
    ours_program = make_jaxpr(train_step.origin_fun if hasattr(train_step, "origin_fun") else train_step)(
        x, y
    )[0]
    raw_program = jax.make_jaxpr(pure_step.__wrapped__)(box["p"], x, y)  # type: ignore[attr-defined]
    ours_prims = [str(e.primitive) for e in ours_program.jaxpr.eqns]
    raw_prims = [str(e.primitive) for e in raw_program.jaxpr.eqns]
    same = "the same primitive sequence" if ours_prims == raw_prims else "DIFFERENT programs"

    fns = {"raw": raw_call, "ours": ours_call, "raw_eager": raw_eager_call, "ours_eager": eager_call}
    for fn in fns.values():  # warm up: compile
        jax.block_until_ready(fn())
    result = timed_rounds(fns, args.calls, args.rounds)

    def row(label: str, raw: str, ours: str) -> str:
        r, o = result[raw], result[ours]
        return (
            f"| {label} | {r['median']:.0f} | {o['median']:.0f} | {o['median'] / r['median']:.3f}x "
            f"| {o['min'] / r['min']:.3f}x | {o['cpu'] / r['cpu']:.3f}x |"
        )

    ratio = result["ours"]["median"] / result["raw"]["median"]
    lines = [
        f"jax {jax.__version__}; MLP {'-'.join(map(str, SIZES))}, batch {BATCH}; CPU, {os.cpu_count()} cores; "
        f"{args.rounds} interleaved rounds of {args.calls} calls; load average at start "
        f"{os.getloadavg()[0]:.1f}; lower is better.",
        "",
        "| step | raw JAX median (us/call) | brainstate median (us/call) | ratio (median) | ratio (min) "
        "| ratio (CPU time) |",
        "|---|---|---|---|---|---|",
        row("`jit(grad(...))` + SGD update vs `jax.jit(jax.value_and_grad(...))` + update", "raw", "ours"),
        row(
            "eager `grad(...)` object vs `jax.jit(jax.value_and_grad(...))` (gradients only)",
            "raw_eager",
            "ours_eager",
        ),
        "",
        f"Training-step ratio (medians): {ratio:.3f}x (target <= 1.1x). The steps trace to {same} "
        f"({len(ours_prims)} vs {len(raw_prims)} equations). Loss after one step: ours {ours_loss:.6f}, raw {raw_loss:.6f}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
