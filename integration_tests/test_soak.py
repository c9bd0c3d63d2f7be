"""Soak: thousands of calls with States re-created every 10 calls stay correct, compile nothing and stay flat.

One run interleaves a cached ``jit`` of a Module's bound method (its States re-created every 10 calls,
as ``init`` per trial does), an eager ``for_loop`` over the same method, and a ``vmap2`` ensemble made
fresh for every call. After a warm-up of :data:`WARMUP` calls:

* no XLA compile happens (counted by a ``jax.monitoring`` listener on backend compiles);
* resident memory grows by less than :data:`RSS_BOUND_MB` MB and the number of live State objects by
  at most :data:`STATE_BOUND` (old States are collected);
* at every checkpoint the States equal plain JAX with the state threaded by hand.

``BRAINSTATE_SOAK_CALLS`` sets the number of jitted calls (default 10,000).
"""

from __future__ import annotations

import gc
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate

CALLS = int(os.environ.get("BRAINSTATE_SOAK_CALLS", "10000"))
WARMUP = 200
CHECK_EVERY = 1000
RSS_BOUND_MB = 20.0
STATE_BOUND = 16
SIZE, LANES = 8, 4


class Cell(brainstate.nn.Module):
    def __init__(self, batch: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.batch = batch
        self.reset(0)

    def reset(self, trial: int) -> None:  # new State objects of the same shapes: one trial's init
        self.w = brainstate.ParamState(jnp.full(SIZE, 0.5 + 0.01 * (trial % 7), jnp.float32))
        self.h = brainstate.ShortTermState(jnp.zeros((*self.batch, SIZE), jnp.float32))

    def step(self, x: jax.Array) -> jax.Array:
        self.h.value = jnp.tanh(self.h.value * self.w.value + x)
        return self.h.value.sum()


def pure_step(w: jax.Array, h: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.tanh(h * w + x)


COMPILES = [0]


def _count(event: str, duration: float, **kwargs: Any) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def live_states() -> int:
    gc.collect()
    return sum(isinstance(obj, brainstate.State) for obj in gc.get_objects())


def test_soak() -> None:
    cell, ensemble = Cell(), Cell(batch=(LANES,))
    step = brainstate.transform.jit(cell.step)
    ref_step = jax.jit(pure_step)
    ref_scan = jax.jit(lambda w, h, xs: jax.lax.scan(lambda h, x: (pure_step(w, h, x), None), h, xs)[0])
    xs = [jnp.full(SIZE, np.sin(i), jnp.float32) for i in range(50)]
    loop_xs = jnp.stack(xs[:5])
    lane_xs = jnp.stack(xs[:LANES])
    h_ref, e_ref = cell.h.value, ensemble.h.value
    baseline: tuple[float, int, int] | None = None
    for i in range(CALLS):
        if i % 10 == 0:
            cell.reset(i // 10)
            h_ref = cell.h.value
        step(xs[i % 50])
        h_ref = ref_step(cell.w.value, h_ref, xs[i % 50])
        if i % 100 == 50:  # an eager loop over the bound method, then a fresh vmap2 ensemble
            brainstate.transform.for_loop(cell.step, loop_xs)
            h_ref = ref_scan(cell.w.value, h_ref, loop_xs)
            brainstate.transform.vmap2(
                lambda x: ensemble.step(x),
                state_in_axes={0: brainstate.ShortTermState},
                state_out_axes={0: brainstate.ShortTermState},
            )(lane_xs)
            e_ref = jax.vmap(pure_step, in_axes=(None, 0, 0))(ensemble.w.value, e_ref, lane_xs)
        if i == WARMUP:
            baseline = (rss_mb(), live_states(), COMPILES[0])
        if i % CHECK_EVERY == CHECK_EVERY - 1 or i == CALLS - 1:
            np.testing.assert_allclose(cell.h.value, h_ref, rtol=1e-5, atol=1e-6, err_msg=f"call {i}")
            np.testing.assert_allclose(ensemble.h.value, e_ref, rtol=1e-5, atol=1e-6, err_msg=f"call {i}")
    assert baseline is not None
    rss0, states0, compiles0 = baseline
    assert COMPILES[0] == compiles0, f"{COMPILES[0] - compiles0} XLA compiles after the warm-up"
    grown = rss_mb() - rss0
    assert grown < RSS_BOUND_MB, f"resident memory grew by {grown:.1f} MB over {CALLS} calls"
    states = live_states()
    assert states <= states0 + STATE_BOUND, f"live States grew from {states0} to {states}"
