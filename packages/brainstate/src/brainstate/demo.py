"""The brainstate demo: ``python -m brainstate.demo [--out DIR]``.

A short tour of the product, end to end:

1. simulate a network of leaky integrate-and-fire neurons with ``for_loop`` and a progress bar;
2. train a small network with ``jit(grad(...))``;
3. train an ensemble of models at once with ``vmap2``;
4. print the state-augmented jaxpr of one simulation step, before and after ``optimize_jaxpr``, and the
   Python code generated from it;
5. draw that jaxpr (when graphviz is installed) and plot the spike raster (when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate

# ---------------------------------------------------------------------------------------------- models


class LIF(brainstate.nn.Module):
    """Leaky integrate-and-fire neurons with dense recurrent weights."""

    def __init__(self, n: int, tau: float = 10.0, v_th: float = 1.0, dt: float = 0.1) -> None:
        super().__init__()
        self.n, self.tau, self.v_th, self.dt = n, tau, v_th, dt
        self.w = brainstate.ParamState(brainstate.random.normal(0.0, 0.5 / np.sqrt(n), (n, n)))
        self.v = brainstate.HiddenState(jnp.zeros(n))
        self.spike = brainstate.HiddenState(jnp.zeros(n))

    def update(self, current: jax.Array) -> jax.Array:
        recurrent = self.spike.value @ self.w.value
        v = self.v.value + self.dt / self.tau * (-self.v.value + current + recurrent)
        spike = (v >= self.v_th).astype(v.dtype)
        self.v.value = jnp.where(spike > 0, 0.0, v)
        self.spike.value = spike
        return spike


class MLP(brainstate.nn.Module):
    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.weights = [
            brainstate.ParamState(brainstate.random.randn(a, b) / np.sqrt(a))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.biases = [brainstate.ParamState(jnp.zeros(b)) for b in sizes[1:]]

    def update(self, x: jax.Array) -> jax.Array:
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w.value + b.value
            if i < len(self.weights) - 1:
                x = jnp.tanh(x)
        return x


# ---------------------------------------------------------------------------------------------- parts


def simulate(n_neurons: int, n_steps: int) -> tuple[LIF, np.ndarray, float]:
    net = LIF(n_neurons)
    currents = 1.5 + 0.5 * brainstate.random.rand(n_steps, n_neurons)

    @brainstate.transform.jit
    def run(inputs: jax.Array) -> jax.Array:
        spikes: jax.Array = brainstate.transform.for_loop(
            net, inputs, pbar=brainstate.transform.ProgressBar(count=10)
        )
        return spikes

    start = time.perf_counter()
    spikes = np.asarray(jax.block_until_ready(run(currents)))
    return net, spikes, time.perf_counter() - start


def train(steps: int) -> list[float]:
    model = MLP((2, 16, 1))
    x = brainstate.random.uniform(-1.0, 1.0, (128, 2))
    y = jnp.sin(3 * x[:, :1]) * jnp.cos(2 * x[:, 1:])
    params = model.states(brainstate.ParamState)

    def loss_fn() -> jax.Array:
        return jnp.mean((model(x) - y) ** 2)

    @brainstate.transform.jit
    def train_step() -> jax.Array:
        grads, loss = brainstate.transform.grad(loss_fn, params, return_value=True)()
        for key in params:
            params[key].value -= 0.2 * grads[key]
        return jnp.asarray(loss)

    return [float(train_step()) for _ in range(steps)]


def train_ensemble(n_members: int, steps: int) -> np.ndarray:
    # One model whose parameters carry a leading ensemble axis; vmap2 maps the States on that axis.
    model = MLP((1, 8, 1))
    for state in model.states(brainstate.ParamState).values():
        state.value = jnp.stack(
            [state.value + 0.3 * brainstate.random.randn(*state.value.shape) for _ in range(n_members)]
        )
    x = jnp.linspace(-1.0, 1.0, 64)[:, None]
    y = jnp.sin(3 * x)
    params = model.states(brainstate.ParamState)

    def member_step() -> jax.Array:
        def loss_fn() -> jax.Array:
            return jnp.mean((model(x) - y) ** 2)

        grads, loss = brainstate.transform.grad(loss_fn, params, return_value=True)()
        for key in params:
            params[key].value -= 0.1 * grads[key]
        return jnp.asarray(loss)

    ensemble_step = brainstate.transform.jit(
        brainstate.transform.vmap2(
            member_step,
            axis_size=n_members,
            state_in_axes={0: brainstate.ParamState},
            state_out_axes={0: brainstate.ParamState},
        )
    )
    losses = None
    for _ in range(steps):
        losses = ensemble_step()
    return np.asarray(losses)


def show_ir(net: LIF, out_dir: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    current = jnp.ones(net.n)
    jaxpr, states = brainstate.transform.make_jaxpr(net)(current)
    optimized = brainstate.transform.optimize_jaxpr(jaxpr)
    print(f"States of one LIF step (in jaxpr input order): {[type(s).__name__ for s in states]}")
    print(f"\nState-augmented jaxpr of one LIF step ({len(jaxpr.jaxpr.eqns)} equations):\n{jaxpr}")
    print(f"\nAfter optimize_jaxpr ({len(optimized.jaxpr.eqns)} equations):\n{optimized}")
    code = brainstate.transform.jaxpr_to_python_code(optimized.jaxpr, fn_name="lif_step")
    print(f"\nPython code generated from the optimized jaxpr:\n{code}")
    try:
        graph = brainstate.transform.draw_dot_graph(jaxpr, collapse_primitives=True, show_avals=True)
        path = os.path.join(out_dir, "lif_step.png")
        graph.write_png(path)
        outputs["jaxpr drawing"] = path
    except Exception as error:  # noqa: BLE001 - an optional extra; say why and go on
        print(f"\n(no jaxpr drawing: {type(error).__name__}: {str(error).splitlines()[0]})")
    return outputs


def plot_raster(spikes: np.ndarray, out_dir: str) -> dict[str, str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no raster plot: matplotlib is not installed)")
        return {}
    steps, neurons = np.nonzero(spikes)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(steps, neurons, s=1, color="black")
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron")
    ax.set_title("LIF network spike raster")
    path = os.path.join(out_dir, "lif_raster.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return {"spike raster": path}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="brainstate end-to-end demo")
    parser.add_argument("--out", default="brainstate-demo-output", help="directory for pictures")
    parser.add_argument("--neurons", type=int, default=400)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    brainstate.random.seed(0)
    print(f"brainstate {brainstate.__version__} on jax {jax.__version__} ({jax.default_backend()})\n")

    print(f"1. Simulating {args.neurons} LIF neurons for {args.steps} steps with for_loop:")
    net, spikes, seconds = simulate(args.neurons, args.steps)
    rate = spikes.mean() / (net.dt * 1e-3)
    print(f"   {int(spikes.sum())} spikes, mean rate {rate:.1f} Hz, {seconds:.2f} s (including compilation)")
    print(f"   final membrane potentials (State written by the loop): mean {float(net.v.value.mean()):.3f}\n")

    print("2. Training a 2-16-1 network with jit(grad):")
    losses = train(200)
    print(f"   loss {losses[0]:.4f} -> {losses[-1]:.4f} in {len(losses)} steps\n")

    print("3. Training an ensemble of 8 networks at once with vmap2:")
    ensemble = train_ensemble(8, 100)
    print(f"   final losses per member: {np.array2string(ensemble, precision=4)}\n")

    print("4. The program one LIF step compiles to:")
    outputs = show_ir(net, args.out)
    outputs.update(plot_raster(spikes, args.out))
    print("\nOutputs written:")
    if not outputs:
        print("   (none: install graphviz and matplotlib for pictures)")
    for label, path in outputs.items():
        print(f"   {label}: {os.path.abspath(path)}")
    return {"spikes": spikes, "losses": losses, "ensemble": ensemble, "outputs": outputs}


if __name__ == "__main__":
    main()
