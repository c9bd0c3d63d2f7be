"""Faults: an error in the middle of a call leaves every State as it was, no tracer behind, and the next call works.

Injected: a Python exception in the middle of a ``for_loop`` body (after it wrote a State), an error
callback that fires inside ``jit`` (``jit_error_if`` and a raising ``jax.pure_callback``), an
allocation far beyond any machine's memory inside ``jit`` and an eager loop, and a ``KeyboardInterrupt``
from a timer signal during a long compiled loop with a progress bar (in a subprocess).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate
from brainstate_state.testing import leak_checks


class Net(brainstate.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.h = brainstate.ShortTermState(jnp.arange(3.0))
        self.w = brainstate.ParamState(jnp.full(3, 0.5))
        self.fail = False  # raise between the two writes of `step`

    def step(self, x: jax.Array) -> jax.Array:
        self.h.value = jnp.tanh(self.h.value * self.w.value + x)
        if self.fail:
            raise ValueError("user error in the middle of the body")
        self.w.value = self.w.value * 0.9
        return self.h.value.sum()


def snapshot(net: Net) -> list[np.ndarray]:
    return [np.asarray(net.h.value), np.asarray(net.w.value)]


def expect_fault_then_recovery(
    net: Net, fault: Callable[[], Any], error: type[BaseException] | tuple[type[BaseException], ...]
) -> None:
    """``fault`` raises ``error``; States keep their values, nothing leaks, and a normal call then works."""
    before = snapshot(net)
    with leak_checks():
        with pytest.raises(error):
            fault()
        for got, want in zip(snapshot(net), before, strict=True):
            np.testing.assert_array_equal(got, want)
        ys = brainstate.transform.for_loop(net.step, jnp.ones((2, 3)))  # the next call works
    h, w = before
    ref = []
    for _ in range(2):
        h = np.tanh(h * w + 1.0)
        w = w * 0.9
        ref.append(h.sum())
    np.testing.assert_allclose(ys, ref, rtol=1e-5)
    np.testing.assert_allclose(net.h.value, h, rtol=1e-5)


def test_exception_in_the_middle_of_a_for_loop_body() -> None:
    net = Net()
    net.fail = True

    def fault() -> Any:
        try:
            return brainstate.transform.for_loop(net.step, jnp.ones((4, 3)))
        finally:
            net.fail = False

    expect_fault_then_recovery(net, fault, ValueError)


def test_exception_in_a_jitted_body_after_a_write() -> None:
    net = Net()

    def body(x: jax.Array) -> jax.Array:
        net.h.value = net.h.value + x
        raise RuntimeError("raised after writing a State")

    expect_fault_then_recovery(net, lambda: brainstate.transform.jit(body)(jnp.ones(3)), RuntimeError)


def test_error_callback_inside_jit() -> None:
    net = Net()

    @brainstate.transform.jit
    def checked(x: jax.Array) -> jax.Array:
        out = net.step(x)
        brainstate.transform.jit_error_if(out > 0, "positive output {}", out)
        return out

    expect_fault_then_recovery(net, lambda: checked(jnp.ones(3)), Exception)
    checked(-10 * jnp.ones(3))  # the same compiled program, no error this time: it commits
    assert float(net.h.value.sum()) < 0


def test_raising_pure_callback_inside_jit() -> None:
    net = Net()

    def host(x: np.ndarray) -> np.ndarray:
        raise OSError("the host side failed")

    @brainstate.transform.jit
    def with_callback(x: jax.Array) -> jax.Array:
        out = net.step(x)
        return out + jax.pure_callback(host, jax.ShapeDtypeStruct((), jnp.float32), out)

    expect_fault_then_recovery(net, lambda: with_callback(jnp.ones(3)), Exception)


OUT_OF_MEMORY_RUN = textwrap.dedent(
    """
    import json, resource, sys
    import jax, jax.numpy as jnp
    import numpy as np
    import brainstate
    from brainstate_state.testing import states_holding_tracers, track_states

    # A cap on the address space makes the allocation fail the same way on every machine.
    resource.setrlimit(resource.RLIMIT_AS, (64 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    track_states()
    h = brainstate.ShortTermState(jnp.arange(3.0))
    huge = 2**38  # 1 TiB of float32

    def body(x):
        h.value = h.value + x
        return jnp.full(huge, x.sum())  # an output that must exist in memory

    report = {}
    for where in ("jit", "for_loop"):
        before = np.asarray(h.value)
        try:
            if where == "jit":
                brainstate.transform.jit(body)(jnp.ones(3))
            else:
                brainstate.transform.for_loop(body, jnp.ones((2, 3)))
            report[where] = {"raised": None}
        except Exception as error:
            report[where] = {"raised": type(error).__name__, "message": str(error)[:200]}
        report[where]["unchanged"] = bool(np.array_equal(np.asarray(h.value), before))
        report[where]["leaking"] = len(states_holding_tracers())
        out = brainstate.transform.jit(lambda x: (h.value + x).sum())(jnp.ones(3))  # the next call works
        report[where]["next"] = float(out)
    print(json.dumps(report))
    """
)


def test_out_of_memory_allocation() -> None:
    done = subprocess.run(
        [sys.executable, "-c", OUT_OF_MEMORY_RUN], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for where in ("jit", "for_loop"):
        result = report[where]
        assert result["raised"] is not None, f"{where}: a 1 TiB allocation did not fail"
        assert result["unchanged"], f"{where}: the State changed although the call failed"
        assert result["leaking"] == 0, f"{where}: a State holds a tracer"
        assert result["next"] == 6.0, f"{where}: the next call gave {result['next']}"


INTERRUPTED_RUN = textwrap.dedent(
    """
    import json, signal
    import jax.numpy as jnp
    import numpy as np
    import tqdm
    import brainstate
    from brainstate_state.testing import states_holding_tracers, track_states

    track_states()
    h = brainstate.ShortTermState(jnp.zeros(64))
    w = brainstate.ParamState(jnp.full(64, 0.5))

    def step(x):
        h.value = jnp.tanh(h.value * w.value + x)
        return h.value.sum()

    xs = jnp.ones((200_000, 1))
    def run():
        return brainstate.transform.for_loop(step, xs, pbar=brainstate.transform.ProgressBar(freq=1000))

    run()  # compiled once; the interrupted calls run the cached program
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, interrupt)
    report = {"interrupted": False}
    for attempt in range(20):
        before = np.asarray(h.value)
        signal.setitimer(signal.ITIMER_REAL, 0.02 * (attempt + 1))
        try:
            run()
        except KeyboardInterrupt:
            after = np.asarray(h.value)
            report = {
                "interrupted": True,
                "unchanged": bool(np.array_equal(after, before)),
                "finite": bool(np.isfinite(after).all()),
            }
            break
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    report["open_bars"] = len(tqdm.tqdm._instances)
    report["leaking"] = len(states_holding_tracers())
    h.value = jnp.zeros(64)
    ys = run()
    report["next_call_ok"] = bool(np.isfinite(np.asarray(ys)).all() and ys.shape == (200_000,))
    report["open_bars_after"] = len(tqdm.tqdm._instances)
    print(json.dumps(report))
    """
)


def test_keyboard_interrupt_during_a_long_compiled_loop_with_a_progress_bar() -> None:
    pytest.importorskip("tqdm")
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_RUN], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["interrupted"], "the timer never interrupted a call"
    # The interrupt lands wherever Python next runs: the State keeps its old value (never a partial write).
    assert report["unchanged"] and report["finite"], report
    assert report["open_bars"] == 0, "the progress bar was left open"
    assert report["leaking"] == 0, "a State holds a tracer after the interrupt"
    assert report["next_call_ok"] and report["open_bars_after"] == 0, report
