"""Data-parallel training of a small MLP over several processes with brainstate and ``jax.distributed``.

Every process runs this same script. Parameters and Adam moments are brainstate States, replicated on
every device; each process feeds its own rows of the batch; ``jax.lax.pmean`` averages the gradients.

On one machine (CPU, gloo collectives, one device per process), start 2 processes with::

    python data_parallel.py --launch 2

which runs, on a free port P, the equivalent of::

    python data_parallel.py --port P --num-processes 2 --process-id 0 &
    python data_parallel.py --port P --num-processes 2 --process-id 1

On a cluster, start one copy per host (or per GPU) with the coordinator's address instead of 127.0.0.1
(``--coordinator HOST:PORT``); on SLURM and similar managers ``jax.distributed.initialize()`` can find
all of this by itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from typing import Any

import numpy as np


def train(steps: int) -> None:
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import brainstate

    mesh = jax.make_mesh((jax.device_count(),), ("data",))  # every device of every process
    replicated = NamedSharding(mesh, P())

    def everywhere(value: np.ndarray) -> jax.Array:
        """A global array holding ``value`` (the same on every process) on every device."""
        return jax.make_array_from_callback(value.shape, replicated, lambda index: value[index])

    rng = np.random.default_rng(0)  # the same seed on every process: the same data and initial weights
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = np.sin(x @ rng.normal(size=(8, 1))).astype(np.float32)
    init = {
        "w1": rng.normal(size=(8, 16)).astype(np.float32) / np.sqrt(8),
        "b1": np.zeros(16, np.float32),
        "w2": rng.normal(size=(16, 1)).astype(np.float32) / 4,
        "b2": np.zeros(1, np.float32),
    }
    params = {k: brainstate.ParamState(everywhere(v), name=k) for k, v in init.items()}
    m = {k: brainstate.ShortTermState(everywhere(np.zeros_like(v))) for k, v in init.items()}
    v = {k: brainstate.ShortTermState(everywhere(np.zeros_like(v))) for k, v in init.items()}
    t = brainstate.ShortTermState(everywhere(np.zeros((), np.float32)))

    def loss_fn(p: dict[str, Any], x: jax.Array, y: jax.Array) -> Any:
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        return jnp.mean((h @ p["w2"] + p["b2"] - y) ** 2)

    def step(x: jax.Array, y: jax.Array) -> Any:  # runs on one shard of the batch
        p = {k: s.value for k, s in params.items()}
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        grads = jax.lax.pmean(grads, "data")  # the mean gradient over all shards
        t.value = t.value + 1
        scale = 0.05 * jnp.sqrt(1 - 0.999**t.value) / (1 - 0.9**t.value)
        for k in params:  # Adam
            m[k].value = 0.9 * m[k].value + 0.1 * grads[k]
            v[k].value = 0.999 * v[k].value + 0.001 * grads[k] ** 2
            params[k].value = p[k] - scale * m[k].value / (jnp.sqrt(v[k].value) + 1e-8)
        return jax.lax.pmean(loss, "data")

    train_step = brainstate.transform.jit(
        brainstate.transform.shard_map(
            step, mesh, in_specs=(P("data"), P("data")), out_specs=P(), check_vma=False
        )
    )

    # each process passes only its own rows; together they make the global batch
    rows = len(x) // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)
    data = NamedSharding(mesh, P("data"))
    gx = jax.make_array_from_process_local_data(data, x[mine], x.shape)
    gy = jax.make_array_from_process_local_data(data, y[mine], y.shape)

    for i in range(steps):
        loss = train_step(gx, gy)
        if i % 10 == 0 or i == steps - 1:
            print(f"process {jax.process_index()}: step {i:3d} loss {float(loss):.4f}", flush=True)
    checksum = float(sum(jnp.sum(s.value) for s in params.values()))
    print(f"process {jax.process_index()}: parameter checksum {checksum:.6f}", flush=True)


def launch(n: int, steps: int, timeout: float) -> int:
    """Start ``n`` copies of this script on this machine and wait for them (killing all on failure)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    common = [sys.executable, __file__, "--coordinator", f"127.0.0.1:{port}", "--num-processes", str(n)]
    procs = [
        subprocess.Popen([*common, "--process-id", str(i), "--steps", str(steps)], env=env) for i in range(n)
    ]
    try:
        codes = [p.wait(timeout=timeout) for p in procs]
    except subprocess.TimeoutExpired:
        codes = [1]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return 0 if all(c == 0 for c in codes) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launch", type=int, default=0, help="start this many local processes")
    parser.add_argument("--coordinator", default="", help="HOST:PORT of process 0")
    parser.add_argument("--port", type=int, default=0, help="shorthand for --coordinator 127.0.0.1:PORT")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds --launch waits")
    args = parser.parse_args()
    if args.launch:
        return launch(args.launch, args.steps, args.timeout)

    import jax

    if args.num_processes > 1:
        coordinator = args.coordinator or f"127.0.0.1:{args.port}"
        # collectives between the CPU devices of different processes (no effect on GPU devices)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(coordinator, num_processes=args.num_processes, process_id=args.process_id)
    train(args.steps)
    if args.num_processes > 1:
        jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
