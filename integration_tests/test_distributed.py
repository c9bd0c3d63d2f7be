"""Multi-process runs on JAX's distributed runtime: 2 and 4 local processes (one CPU device each, gloo
collectives, a coordinator on a free loopback port) train a data-parallel MLP and simulate a LIF network
sharded by neuron (see ``_distributed_worker.py``). Every process must end with the same results, equal
to the same computation done in this process by plain JAX on whole arrays.

Each launch is bounded in time (``BRAINSTATE_DISTRIBUTED_TIMEOUT`` seconds, default 180); when one
process fails or the time is up, every process of the launch is killed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import _distributed_worker as worker

WORKER = Path(__file__).with_name("_distributed_worker.py")
TIMEOUT = float(os.environ.get("BRAINSTATE_DISTRIBUTED_TIMEOUT", "180"))
STEPS = 20

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gloo CPU collectives need Linux or macOS")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def launch(n: int, folder: Path) -> list[dict[str, np.ndarray]]:
    """Run ``n`` worker processes to the end and return their results (fail the test otherwise)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}  # one CPU device per process
    env.update(JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    for attempt in range(2):
        port = free_port()
        logs = [folder / f"attempt{attempt}_process{i}.log" for i in range(n)]
        outs = [folder / f"attempt{attempt}_process{i}.npz" for i in range(n)]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for i in range(n):
                with logs[i].open("wb") as log:
                    cmd = [sys.executable, str(WORKER), "--port", str(port), "--num-processes", str(n)]
                    cmd += ["--process-id", str(i), "--steps", str(STEPS), "--out", str(outs[i])]
                    procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
            deadline = time.monotonic() + TIMEOUT
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                if any(p.returncode not in (None, 0) for p in procs):
                    break  # one failed: the others would wait for it until their own timeouts
                time.sleep(0.2)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
        codes = [p.returncode for p in procs]
        if all(c == 0 for c in codes):
            return [dict(np.load(out)) for out in outs]
        report = "\n".join(f"--- process {i} (exit {c}):\n{_tail(logs[i])}" for i, c in enumerate(codes))
        if attempt == 0 and "address already in use" in report.lower():
            continue  # another program took the port between picking and binding it: pick again
        pytest.fail(f"{n}-process run failed or ran past {TIMEOUT:.0f}s:\n{report}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """The same training and simulation in this process: plain JAX on whole arrays, state by hand."""
    x, y = (jnp.asarray(a) for a in worker.mlp_data())
    params: Any = {k: jnp.asarray(v) for k, v in worker.mlp_init().items()}
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)

    @jax.jit
    def train_step(params: Any, m: Any, v: Any, t: Any) -> Any:
        loss, grads = jax.value_and_grad(worker.mlp_loss)(params, x, y)
        return (*worker.adam(params, grads, m, v, t), loss)

    losses = []
    for t in range(1, STEPS + 1):
        params, m, v, loss = train_step(params, m, v, jnp.float32(t))
        losses.append(float(loss))
    result = {f"mlp_{k}": np.asarray(p) for k, p in params.items()}
    result["mlp_m_w1"] = np.asarray(m["w1"])
    result["mlp_losses"] = np.asarray(losses, np.float32)

    w, drive, v0 = (jnp.asarray(a) for a in worker.lif_inputs())

    def lif(carry: Any, drive_t: Any) -> Any:
        potential, spikes, counts = carry
        potential, spikes = worker.lif_step(potential, spikes, w, drive_t)
        return (potential, spikes, counts + spikes), spikes

    zeros = jnp.zeros(worker.N_NEURONS, jnp.float32)
    (potential, _, counts), raster = jax.jit(lambda d: jax.lax.scan(lif, (v0, zeros, zeros), d))(drive)
    result.update(
        lif_raster=np.asarray(raster), lif_potential=np.asarray(potential), lif_counts=np.asarray(counts)
    )
    return result


@pytest.mark.parametrize("n", [2, 4])
def test_processes_agree_with_each_other_and_with_one_process(
    n: int, tmp_path: Path, reference: dict[str, np.ndarray]
) -> None:
    results = launch(n, tmp_path)
    first = results[0]
    assert int(first["process_count"]) == n and int(first["device_count"]) == n
    for i, other in enumerate(results[1:], start=1):
        for key in first:
            np.testing.assert_array_equal(other[key], first[key], err_msg=f"process {i} differs on {key}")

    # data-parallel MLP: parameters and optimiser state after STEPS Adam steps
    assert int(first["mlp_steps"]) == STEPS
    for key in ("mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2", "mlp_m_w1", "mlp_losses"):
        np.testing.assert_allclose(first[key], reference[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert first["mlp_losses"][-1] < 0.5 * first["mlp_losses"][0]  # it did learn

    # LIF network sharded by neuron: every spike at the same step
    assert reference["lif_counts"].sum() > 100
    np.testing.assert_array_equal(first["lif_raster"], reference["lif_raster"])
    np.testing.assert_array_equal(first["lif_counts"], reference["lif_counts"])
    np.testing.assert_allclose(first["lif_potential"], reference["lif_potential"], rtol=0, atol=1e-6)
