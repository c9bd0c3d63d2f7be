"""The data path: cached-call overhead, invalidation cost, State re-creation, fresh transform objects.

Measured in one run (ratios against plain JAX with the state threaded by hand):

(a) cached ``jit`` call of a tiny step and of a 64-layer step vs raw ``jax.jit``;
(b) the same cached calls, each made right after constructing an unrelated module;
(c) 1000 trials re-creating a model's States: XLA compiles after the first trial, RSS growth, old States
    collected;
(d) an eager training loop with a fresh ``grad(...)`` object per step vs eager ``jax.value_and_grad``;
(e) repeated eager ``for_loop`` / ``cond`` / ``while_loop`` calls vs their first call;
(f) Python traces per cache miss with a Python scalar, a NumPy array and a jnp array argument;
(g) trace + lower (no XLA compile) of a 64-layer stateful step vs ``jax.jit(pure).lower``.

Run: ``python benchmarks/bench_data_path.py [--out FILE]`` (about two minutes).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
import types
import weakref
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_state as bss
from brainstate_autodiff import grad
from brainstate_jit import jit

_COMPILES: list[str] = []


def _listener(event: str, duration: float, **kwargs: Any) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES.append(event)


jax.monitoring.register_event_duration_secs_listener(_listener)


class Layer(bss.nn.Module):
    def __init__(self, key: jax.Array, n: int = 4) -> None:
        super().__init__()
        self.w = bss.ParamState(jax.random.normal(key, (n, n)) * 0.1)
        self.h = bss.HiddenState(jnp.zeros(n))

    def __call__(self, x: jax.Array) -> jax.Array:
        self.h.value = jnp.tanh(x @ self.w.value + self.h.value)
        return self.h.value


class Unrelated(bss.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = bss.State(np.zeros(3))
        self.b = bss.ParamState(np.ones(3))


class Net(bss.nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
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


def per_call_us(fn: Callable[[], Any], calls: int, before: Callable[[], Any] | None = None) -> float:
    """Median over 5 rounds of the time of ``fn`` (``before`` runs untimed before each call)."""
    rounds = []
    for _ in range(5):
        total = 0.0
        for _ in range(calls):
            if before is not None:
                before()
            t = time.perf_counter()
            fn()
            total += time.perf_counter() - t
        rounds.append(total / calls * 1e6)
    return statistics.median(rounds)


def cached_calls(depth: int, calls: int) -> dict[str, float]:
    net = Net(depth)
    x = jnp.ones(4)
    step = jit(net)
    raw = jax.jit(pure_step)
    params = [layer.w.value for layer in net.layers]
    box = {"hidden": [layer.h.value for layer in net.layers], "count": net.count.value}

    def raw_call() -> None:
        _, box["hidden"], box["count"] = raw(params, box["hidden"], box["count"], x)

    def ours_call() -> None:
        step(x)

    def unrelated() -> None:
        Unrelated()  # host-side only: no device work queued before the timed call

    for fn in (raw_call, ours_call):
        fn()
    r, o, r2, o2 = [], [], [], []
    for _ in range(3):  # interleaved: the machine is shared
        r.append(per_call_us(raw_call, calls))
        o.append(per_call_us(ours_call, calls))
        r2.append(per_call_us(raw_call, calls // 4, unrelated))
        o2.append(per_call_us(ours_call, calls // 4, unrelated))
    raw_us, ours_us = statistics.median(r), statistics.median(o)
    raw2, ours2 = statistics.median(r2), statistics.median(o2)
    return {"raw": raw_us, "ours": ours_us, "raw_after": raw2, "ours_after": ours2}


def rss_mb() -> float:
    """The current resident set size (Linux ``/proc``; the peak from ``getrusage`` elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recreation(trials: int) -> dict[str, float]:
    net = Net(1)
    big = bss.HiddenState(jnp.zeros(1000))
    net.big = big

    def step(x: jax.Array) -> jax.Array:
        net.big.value = net.big.value + x
        return net(jnp.ones(4)).sum()

    fast = jit(step)
    refs = []
    rss0 = 0.0
    compiles_after_first = 0
    for trial in range(trials):
        for layer in net.layers:  # what re-initialising the model's States per trial does
            layer.w = bss.ParamState(jnp.full((4, 4), 0.01 * trial))
            layer.h = bss.HiddenState(jnp.zeros(4))
        net.big = bss.HiddenState(jnp.zeros(1000))
        refs.append(weakref.ref(net.big))
        before = len(_COMPILES)
        fast(1.0)
        if trial == 0:
            gc.collect()
            rss0 = rss_mb()
        else:
            compiles_after_first += len(_COMPILES) - before
    gc.collect()
    alive = sum(r() is not None for r in refs[:-1])
    return {"compiles": compiles_after_first, "rss_mb": rss_mb() - rss0, "alive": alive}


def fresh_grad_loop(steps: int) -> dict[str, float]:
    key = jax.random.key(0)
    x = jax.random.normal(key, (32, 8))
    y = jnp.ones((32, 2))
    w = bss.ParamState(jnp.asarray(np.full((8, 2), 0.1, np.float32)))
    b = bss.ParamState(jnp.zeros(2))

    def pure_loss(wv: jax.Array, bv: jax.Array) -> jax.Array:
        return jnp.mean((jnp.tanh(x @ wv + bv) - y) ** 2)

    def loss_fn() -> jax.Array:
        return pure_loss(w.value, b.value)

    def ours() -> None:
        grads, _ = grad(loss_fn, {"w": w, "b": b}, return_value=True)()
        w.value = w.value - 0.1 * grads["w"]
        b.value = b.value - 0.1 * grads["b"]

    box = {"w": w.value, "b": b.value}

    def raw() -> None:
        _, (gw, gb) = jax.value_and_grad(pure_loss, argnums=(0, 1))(box["w"], box["b"])
        box["w"] = box["w"] - 0.1 * gw
        box["b"] = box["b"] - 0.1 * gb

    ours()
    raw()
    o = per_call_us(ours, steps // 5) / 1e3
    r = per_call_us(raw, steps // 5) / 1e3
    return {"ours_ms": o, "raw_ms": r}


def eager_control() -> dict[str, tuple[float, float]]:
    from brainstate_control import cond, for_loop, while_loop

    v = bss.State(jnp.array(0.0))

    def body(x: jax.Array) -> jax.Array:
        v.value = v.value + x
        return v.value

    cases: dict[str, Callable[[], Any]] = {
        "for_loop": lambda: for_loop(body, jnp.ones(10)),
        "cond": lambda: cond(v.value > 0, lambda: body(1.0), lambda: body(2.0)),
        "while_loop": lambda: while_loop(lambda c: c < 10.0, lambda c: c + body(0.0) * 0 + 1.0, 0.0),
    }
    out = {}
    for name, fn in cases.items():
        t = time.perf_counter()
        jax.block_until_ready(fn())
        first = time.perf_counter() - t
        repeat = per_call_us(lambda fn=fn: jax.block_until_ready(fn()), 20) / 1e6
        out[name] = (first * 1e3, repeat * 1e3)
    return out


def traces_per_miss() -> dict[str, int]:
    out = {}
    for label, arg in (("Python float", 1.0), ("NumPy array", np.ones(3)), ("jnp array", jnp.ones(3))):
        count = [0]
        s = bss.State(jnp.array(0.0))

        def f(a: Any, count: list[int] = count, s: bss.State[Any] = s) -> Any:
            count[0] += 1
            s.value = s.value + 1
            return a * 2

        jit(f)(arg)
        out[label] = count[0]
    return out


def lower_64(depth: int = 64) -> dict[str, float]:
    x = jnp.ones(4)

    def ours() -> None:
        jit(Net(depth)).lower(x)

    def raw() -> None:
        fresh = types.FunctionType(pure_step.__code__, pure_step.__globals__, "pure_step")
        n = Net(depth)
        jax.jit(fresh).lower(
            [layer.w.value for layer in n.layers], [layer.h.value for layer in n.layers], n.count.value, x
        )

    o, r = [], []
    for _ in range(5):
        t = time.perf_counter()
        raw()
        r.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours()
        o.append(time.perf_counter() - t)
    return {"ours_ms": statistics.median(o) * 1e3, "raw_ms": statistics.median(r) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    tiny = cached_calls(1, args.calls)
    deep = cached_calls(64, max(args.calls // 5, 100))
    rec = recreation(args.trials)
    gl = fresh_grad_loop(100)
    ctl = eager_control()
    tr = traces_per_miss()
    low = lower_64()
    elapsed = time.perf_counter() - start
    lines = [
        f"jax {jax.__version__}, {jax.devices()[0].device_kind} ({jax.default_backend()}); "
        f"one run of `python benchmarks/bench_data_path.py` ({elapsed:.0f} s).",
        "",
        "| criterion | measured | ratio | target |",
        "|---|---|---|---|",
        f"| (a) cached jit, tiny step | {tiny['ours']:.1f} us vs raw jax.jit {tiny['raw']:.1f} us "
        f"| {tiny['ours'] / tiny['raw']:.2f}x | <= 1.15x |",
        f"| (a) cached jit, 64 layers | {deep['ours']:.1f} us vs {deep['raw']:.1f} us "
        f"| {deep['ours'] / deep['raw']:.2f}x | <= 1.05x |",
        f"| (b) after constructing an unrelated module, tiny | {tiny['ours_after']:.1f} us vs "
        f"{tiny['raw_after']:.1f} us | {tiny['ours_after'] / tiny['raw_after']:.2f}x | as (a) |",
        f"| (b) after constructing an unrelated module, 64 layers | {deep['ours_after']:.1f} us vs "
        f"{deep['raw_after']:.1f} us | {deep['ours_after'] / deep['raw_after']:.2f}x | as (a) |",
        f"| (c) {args.trials} State re-creations | {rec['compiles']} XLA compiles after the first trial, "
        f"RSS +{rec['rss_mb']:.1f} MB, {int(rec['alive'])} old States alive | - | 0, < 20 MB, 0 |",
        f"| (d) eager loop, fresh grad(...) per step | {gl['ours_ms']:.2f} ms/step vs eager "
        f"jax.value_and_grad {gl['raw_ms']:.2f} ms/step | {gl['ours_ms'] / gl['raw_ms']:.2f}x | <= 1.5x |",
    ]
    for name, (first, repeat) in ctl.items():
        lines.append(
            f"| (e) eager {name}, repeated call | {repeat:.2f} ms vs first {first:.1f} ms "
            f"| 1/{first / repeat:.0f} | < 1/20 |"
        )
    lines.append(
        "| (f) traces per miss | " + ", ".join(f"{k}: {v}" for k, v in tr.items()) + " | - | exactly 1 |"
    )
    lines.append(
        f"| (g) trace + lower, 64-layer stateful step | {low['ours_ms']:.1f} ms vs "
        f"jax.jit(pure).lower {low['raw_ms']:.1f} ms | {low['ours_ms'] / low['raw_ms']:.2f}x | <= 1.1x |"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
