"""Eager loops with a fresh ProgressBar per call: compiled once, and every call drives its own bar."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_control import ProgressBar, _progress, for_loop, scan
from brainstate_state.testing import count_compiles

# JAX's tracer-leak checker disables JAX's own caches of eager operations, which would then compile on
# every call and hide what these tests count. The State leak check still runs.
JAX_LEAK_CHECKS = False


class RecordingBar:
    """Stands in for tqdm: records what each bar was asked to show."""

    made: list[RecordingBar] = []

    def __init__(self, total: int, desc: str | None = None, **_: Any) -> None:
        self.total, self.desc, self.n, self.closed = total, desc, 0, False
        RecordingBar.made.append(self)

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def update(self, n: int) -> None:
        self.n += n

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> list[RecordingBar]:
    RecordingBar.made = []
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: RecordingBar)
    return RecordingBar.made


def test_repeated_for_loop_with_a_fresh_bar_compiles_once_and_each_bar_finishes(
    bars: list[RecordingBar],
) -> None:
    total = bss.State(jnp.zeros(()), name="total")

    def step(x: jax.Array) -> jax.Array:
        total.value = total.value + x
        return total.value

    xs = jnp.arange(10.0)
    expected = 0.0
    for_loop(step, xs, pbar=ProgressBar(freq=3, desc="warm-up"))  # first sighting: op by op
    expected += float(xs.sum())
    with count_compiles() as compiles:
        for i in range(4):
            ys = for_loop(step, xs, pbar=ProgressBar(freq=3, desc=f"run {i}"))
            np.testing.assert_allclose(ys, expected + np.cumsum(np.arange(10.0)))
            expected += float(xs.sum())
    assert len(compiles) <= 1
    assert float(total.value) == expected
    assert [(b.desc, b.n, b.total, b.closed) for b in bars] == [
        (desc, 10, 10, True) for desc in ["warm-up", "run 0", "run 1", "run 2", "run 3"]
    ]


def test_dynamic_descriptions_come_from_each_call(bars: list[RecordingBar]) -> None:
    def body(c: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return c + x, c

    def run(tag: str) -> None:
        bar = ProgressBar(freq=2, desc=(tag + " c={c:.0f}", lambda d: {"c": d["carry"]}))
        carry, _ = scan(body, jnp.zeros(()), jnp.ones(4), pbar=bar)
        assert float(carry) == 4.0

    run("warm-up")
    with count_compiles() as compiles:
        for tag in ("a", "b", "c"):
            run(tag)
    assert len(compiles) <= 1
    assert [b.desc for b in bars] == ["warm-up c=4", "a c=4", "b c=4", "c c=4"]
    assert all(b.n == 4 and b.closed for b in bars)


def test_a_failing_call_of_the_shared_executable_writes_nothing_and_the_next_call_runs(
    bars: list[RecordingBar],
) -> None:
    from brainstate_jit import jit_error_if

    total = bss.State(jnp.zeros(()), name="total")

    def step(x: jax.Array) -> jax.Array:
        jit_error_if(x < 0.0, "negative input {x}", x=x)
        total.value = total.value + x
        return total.value

    good, bad = jnp.arange(4.0), jnp.array([1.0, -1.0, 1.0, 1.0])
    for _ in range(2):  # first sighting op by op, then compiled
        for_loop(step, good, pbar=ProgressBar(freq=2))
    assert float(total.value) == 12.0
    with pytest.raises(Exception, match="negative input"):
        for_loop(step, bad, pbar=ProgressBar(freq=2))
    assert float(total.value) == 12.0  # nothing written by the failing call
    with count_compiles() as compiles:
        for_loop(step, good, pbar=ProgressBar(freq=2, desc="after"))
    assert compiles == []
    assert float(total.value) == 18.0
    assert (bars[-1].desc, bars[-1].n, bars[-1].closed) == ("after", 4, True)
