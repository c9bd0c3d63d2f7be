"""One process of a multi-process brainstate run on JAX's distributed runtime (CPU, gloo collectives).

Run one copy per process, all on the same coordinator address::

    python integration_tests/_distributed_worker.py --port 12355 --num-processes 2 --process-id 0 --out r0.npz &
    python integration_tests/_distributed_worker.py --port 12355 --num-processes 2 --process-id 1 --out r1.npz

Every process holds one CPU device. Two workloads run on a mesh over all processes' devices:

* ``mlp``: a data-parallel MLP. Parameters and Adam moments are States, replicated on every device;
  each process feeds its own rows of the batch (``jax.make_array_from_process_local_data``); one train
  step is ``jit(shard_map(step))`` whose gradients are averaged with ``jax.lax.pmean``.
* ``lif``: a recurrent network of leaky integrate-and-fire neurons, sharded by neuron; ``for_loop``
  runs the simulation inside ``shard_map`` and gathers every step's spikes with ``all_gather``.

``--num-processes 1`` runs the same code in one process without ``jax.distributed``. The results (on
process 0 and on every other process alike) are written to ``--out`` as an ``.npz`` file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

N_SAMPLES, N_IN, N_HIDDEN = 64, 8, 16
N_NEURONS, N_STEPS = 64, 60
LEARNING_RATE, BETA1, BETA2, EPS = 0.05, 0.9, 0.999, 1e-8
TAU, V_TH, V_RESET = 8.0, 1.0, 0.0


def mlp_data() -> tuple[np.ndarray, np.ndarray]:
    """The whole training set (every process builds it; each feeds only its own rows)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_SAMPLES, N_IN)).astype(np.float32)
    y = np.sin(x @ rng.normal(size=(N_IN, 1))).astype(np.float32)
    return x, y


def mlp_init() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "w1": (rng.normal(size=(N_IN, N_HIDDEN)) / np.sqrt(N_IN)).astype(np.float32),
        "b1": np.zeros(N_HIDDEN, np.float32),
        "w2": (rng.normal(size=(N_HIDDEN, 1)) / np.sqrt(N_HIDDEN)).astype(np.float32),
        "b2": np.zeros(1, np.float32),
    }


def mlp_loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    import jax.numpy as jnp

    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return jnp.mean((h @ params["w2"] + params["b2"] - y) ** 2)


def adam(params: Any, grads: Any, m: Any, v: Any, t: Any) -> tuple[Any, Any, Any]:
    """One Adam update of pytrees (``t`` is the 1-based step number)."""
    import jax
    import jax.numpy as jnp

    m = jax.tree.map(lambda a, g: BETA1 * a + (1 - BETA1) * g, m, grads)
    v = jax.tree.map(lambda a, g: BETA2 * a + (1 - BETA2) * g * g, v, grads)
    scale = LEARNING_RATE * jnp.sqrt(1 - BETA2**t) / (1 - BETA1**t)
    params = jax.tree.map(lambda p, a, b: p - scale * a / (jnp.sqrt(b) + EPS), params, m, v)
    return params, m, v


def lif_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recurrent weights, external drive (N_STEPS, N_NEURONS) and initial potentials.

    The values are multiples of powers of two and ``TAU`` is one, so every sum is exact in float32 and
    spike times do not depend on the order in which a device adds them up.
    """
    rng = np.random.default_rng(2)
    w = (rng.integers(-8, 9, size=(N_NEURONS, N_NEURONS)) / 64.0).astype(np.float32)
    drive = (rng.integers(96, 224, size=(N_STEPS, N_NEURONS)) / 128.0).astype(np.float32)
    v0 = (rng.integers(0, 64, size=N_NEURONS) / 64.0).astype(np.float32)
    return w, drive, v0


def lif_step(v: Any, spikes_all: Any, w_rows: Any, drive: Any) -> tuple[Any, Any]:
    """One LIF step for a block of neurons: ``(new potentials, new spikes of the block)``."""
    import jax.numpy as jnp

    current = w_rows @ spikes_all + drive
    v = v + (current - v) / TAU
    spiked = v >= V_TH
    return jnp.where(spiked, V_RESET, v), spiked.astype(jnp.float32)


def global_array(mesh: Any, spec: Any, value: np.ndarray) -> Any:
    """``value`` (the same on every process) as a global array laid out per ``spec``."""
    import jax
    from jax.sharding import NamedSharding

    return jax.make_array_from_callback(value.shape, NamedSharding(mesh, spec), lambda index: value[index])


def run_mlp(mesh: Any, steps: int) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import brainstate as bs

    replicated = P()
    params = {k: bs.ParamState(global_array(mesh, replicated, p), name=k) for k, p in mlp_init().items()}
    zeros = {k: np.zeros_like(p) for k, p in mlp_init().items()}
    m = {k: bs.ShortTermState(global_array(mesh, replicated, z), name=f"m_{k}") for k, z in zeros.items()}
    v = {k: bs.ShortTermState(global_array(mesh, replicated, z), name=f"v_{k}") for k, z in zeros.items()}
    t = bs.ShortTermState(global_array(mesh, replicated, np.zeros((), np.float32)), name="t")

    def step(x: Any, y: Any) -> Any:
        values = {k: s.value for k, s in params.items()}
        loss, grads = jax.value_and_grad(mlp_loss)(values, x, y)
        grads = jax.lax.pmean(grads, "data")  # average the per-process gradients
        t.value = t.value + 1
        new, new_m, new_v = adam(
            values, grads, {k: s.value for k, s in m.items()}, {k: s.value for k, s in v.items()}, t.value
        )
        for k in params:
            params[k].value, m[k].value, v[k].value = new[k], new_m[k], new_v[k]
        return jax.lax.pmean(loss, "data")

    train = bs.transform.jit(
        bs.transform.shard_map(step, mesh, in_specs=(P("data"), P("data")), out_specs=P(), check_vma=False)
    )
    x, y = mlp_data()
    rows = N_SAMPLES // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)
    data = NamedSharding(mesh, P("data"))
    gx = jax.make_array_from_process_local_data(data, x[mine], x.shape)
    gy = jax.make_array_from_process_local_data(data, y[mine], y.shape)
    losses = [float(train(gx, gy)) for _ in range(steps)]
    result = {f"mlp_{k}": np.asarray(jax.device_get(jnp.asarray(s.value))) for k, s in params.items()}
    result["mlp_m_w1"] = np.asarray(m["w1"].value)
    result["mlp_steps"] = np.asarray(t.value)
    result["mlp_losses"] = np.asarray(losses, np.float32)
    return result


def run_lif(mesh: Any) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp
    from jax.sharding import PartitionSpec as P

    import brainstate as bs

    w, drive, v0 = lif_inputs()
    by_neuron = P("neuron")
    weights = bs.ParamState(global_array(mesh, P("neuron", None), w), name="weights")
    potential = bs.HiddenState(global_array(mesh, by_neuron, v0), name="potential")
    spikes = bs.HiddenState(global_array(mesh, by_neuron, np.zeros(N_NEURONS, np.float32)), name="spikes")
    counts = bs.ShortTermState(global_array(mesh, by_neuron, np.zeros(N_NEURONS, np.float32)), name="counts")

    def simulate(drive: Any) -> Any:
        def one_step(drive_t: Any) -> Any:
            spikes_all = jax.lax.all_gather(spikes.value, "neuron", tiled=True)
            potential.value, spikes.value = lif_step(potential.value, spikes_all, weights.value, drive_t)
            counts.value = counts.value + spikes.value
            return spikes.value

        return bs.transform.for_loop(one_step, drive)

    sharded: dict[bs.State[Any], Any] = {s: by_neuron for s in (potential, spikes, counts)}
    sharded[weights] = P("neuron", None)
    run = bs.transform.jit(
        bs.transform.shard_map(
            simulate,
            mesh,
            in_specs=(P(None, "neuron"),),
            out_specs=P(None, "neuron"),
            state_in_specs=sharded,
            state_out_specs=sharded,
            # for_loop replays its traced body inside the shard_map trace, which JAX's varying-axes
            # check does not follow yet; the all_gather above makes the spikes the same on every shard.
            check_vma=False,
        )
    )
    raster = run(global_array(mesh, P(None, "neuron"), drive))
    gather = jax.jit(lambda a: a, out_shardings=jax.sharding.NamedSharding(mesh, P()))
    return {
        "lif_raster": np.asarray(gather(jnp.asarray(raster))),
        "lif_potential": np.asarray(gather(potential.value)),
        "lif_counts": np.asarray(gather(counts.value)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="coordinator port on 127.0.0.1")
    parser.add_argument("--num-processes", type=int, default=1)
    parser.add_argument("--process-id", type=int, default=0)
    parser.add_argument("--steps", type=int, default=20, help="MLP training steps")
    parser.add_argument("--out", required=True, help="where to write the results (.npz)")
    args = parser.parse_args(argv)

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    start = time.monotonic()

    def stage(what: str) -> None:  # timings in the process's log
        print(f"[process {args.process_id}] {time.monotonic() - start:6.1f}s {what}", flush=True)

    import jax

    stage("jax imported")
    if args.num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            f"127.0.0.1:{args.port}",
            num_processes=args.num_processes,
            process_id=args.process_id,
            coordinator_bind_address=f"127.0.0.1:{args.port}",  # loopback only
            initialization_timeout=60,
            heartbeat_timeout_seconds=30,
            shutdown_timeout_seconds=30,
        )
    stage("jax.distributed initialised")
    try:
        n = jax.device_count()
        from jax.sharding import AxisType

        data_mesh = jax.make_mesh((n,), ("data",))  # explicit axes (the default on current JAX)
        neuron_mesh = jax.make_mesh((n,), ("neuron",), axis_types=(AxisType.Auto,))
        import brainstate  # noqa: F401

        stage("brainstate imported")
        result = run_mlp(data_mesh, args.steps)
        stage("MLP trained")
        result.update(run_lif(neuron_mesh))
        stage("LIF simulated")
        result["process_count"] = np.asarray(jax.process_count())
        result["device_count"] = np.asarray(n)
        np.savez(args.out, **result)  # type: ignore[arg-type]
    finally:
        if args.num_processes > 1:
            jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
