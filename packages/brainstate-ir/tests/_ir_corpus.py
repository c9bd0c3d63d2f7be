"""Real programs shared by the IR-tool tests: an MLP training step, a LIF neuron, control flow, random."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from brainstate_ir.compat import ClosedJaxpr, Literal, scan_num_consts_carry


def mlp_step(params: dict[str, jax.Array], x: jax.Array, labels: jax.Array) -> Any:
    def loss_fn(p: dict[str, jax.Array]) -> jax.Array:
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        logits = h @ p["w2"] + p["b2"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.sum(jax.nn.one_hot(labels, logits.shape[-1]) * logp, axis=-1))

    loss, grads = jax.value_and_grad(loss_fn)(params)
    new_params = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    return loss, new_params


def lif_step(v: jax.Array, current: jax.Array) -> Any:
    dt, tau, v_th, v_reset = 0.1, 10.0, 1.0, 0.0
    v = v + dt * (-v + current) / tau
    spike = v > v_th
    return jnp.where(spike, v_reset, v), spike


def lif_scan(v0: jax.Array, currents: jax.Array) -> Any:
    def body(v: jax.Array, i: jax.Array) -> Any:
        v, spike = lif_step(v, i * 20.0)
        return v, spike.astype(jnp.float32)

    return lax.scan(body, v0, currents)


def cond_fn(x: jax.Array, y: jax.Array) -> Any:
    return lax.cond(x.sum() > 0, lambda a, b: a * b + 1.0, lambda a, b: a - b * 1.0, x, y)


def while_fn(x: jax.Array) -> Any:
    def body(c: Any) -> Any:
        i, v = c
        return i + 1, v * 0.5 + jnp.sin(v) + 0.0

    return lax.while_loop(lambda c: c[0] < 5, body, (0, x))


def jit_nested(x: jax.Array) -> Any:
    inner = jax.jit(lambda a: jnp.tanh(a) * 2.0)
    return inner(x) + inner(x + 1.0) + jax.jit(lambda a: a * 1.0)(x)


def custom_jvp_fn(x: jax.Array) -> Any:
    return jax.nn.relu(x) + jax.nn.softplus(x), jax.grad(lambda a: jax.nn.softplus(a).sum())(x)


def random_fn(key: jax.Array, x: jax.Array) -> Any:
    k1, k2 = jax.random.split(key)
    noise = jax.random.normal(k1, x.shape)
    drop = jax.random.bernoulli(k2, 0.5, x.shape)
    return jnp.where(drop, x + noise, 0.0), jax.random.uniform(key, (2,))


def redundant_fn(x: jax.Array, y: jax.Array) -> Any:
    a = x * 1.0 + 0.0
    b = jnp.sin(a) + jnp.sin(a)
    jnp.cos(y) * 3.0  # dead code
    c = jnp.exp(2.0) * 3.0 - 1.0
    d = (y.astype(jnp.float32) / 1.0) ** 1
    return b * c + d, jnp.negative(-a)


def remat_fn(x: jax.Array) -> Any:
    return jax.checkpoint(lambda a: jnp.sin(a) * 2.0 + 0.0)(x)


_RNG = np.random.RandomState(0)
_PARAMS = {
    "w1": jnp.asarray(_RNG.randn(4, 8), jnp.float32),
    "b1": jnp.zeros(8, jnp.float32),
    "w2": jnp.asarray(_RNG.randn(8, 3), jnp.float32),
    "b2": jnp.zeros(3, jnp.float32),
}
_X = jnp.asarray(_RNG.randn(5, 4), jnp.float32)
_V = jnp.asarray(_RNG.rand(6) * 1.5, jnp.float32)

CORPUS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "mlp_step": (mlp_step, (_PARAMS, _X, jnp.array([0, 1, 2, 1, 0]))),
    "lif_step": (lif_step, (_V, jnp.full(6, 12.0, jnp.float32))),
    "lif_scan": (lif_scan, (_V, jnp.asarray(_RNG.rand(20, 6), jnp.float32))),
    "cond": (cond_fn, (_X[0], _X[1])),
    "while": (while_fn, (_X[0],)),
    "jit_nested": (jit_nested, (_X,)),
    "custom_jvp": (custom_jvp_fn, (_X[0],)),
    "random": (random_fn, (jax.random.key(3), _X[0])),
    "redundant": (redundant_fn, (_X[0], jnp.arange(4))),
    "remat": (remat_fn, (_X[0],)),
}


@functools.cache
def traced(name: str) -> tuple[ClosedJaxpr, list[Any]]:
    """The ClosedJaxpr of corpus entry ``name`` and its flat arguments."""
    fn, args = CORPUS[name]
    return jax.make_jaxpr(fn)(*args), jax.tree_util.tree_leaves(args)


def as_numpy(value: Any) -> np.ndarray:
    if jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
        value = jax.random.key_data(value)
    return np.asarray(value)


def assert_same_outputs(expected: list[Any], actual: list[Any]) -> None:
    """Exact equality (NaNs equal, -0.0 == 0.0), dtype and shape included."""
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual, strict=True):
        e, a = as_numpy(e), as_numpy(a)
        assert e.dtype == a.dtype and e.shape == a.shape
        np.testing.assert_array_equal(e, a)


def _eval(jaxpr: Any, consts: list[Any], args: list[Any]) -> list[Any]:
    """A small reference interpreter: control flow and calls run in Python, primitives one by one.

    Every optimised program has new sub-jaxprs; evaluating a jit/cond/scan equation through JAX would
    compile each new body (seconds per test). Op by op is also exact (no XLA fusion differences).
    """
    env: dict[Any, Any] = {}

    def read(a: Any) -> Any:
        return a.val if isinstance(a, Literal) else env[a]

    env.update(zip(jaxpr.constvars, consts, strict=False))
    env.update(zip(jaxpr.invars, args, strict=False))
    for eqn in jaxpr.eqns:
        vals, p, name = [read(a) for a in eqn.invars], eqn.params, eqn.primitive.name
        if name in ("jit", "pjit", "closed_call", "custom_jvp_call", "custom_vjp_call"):
            body = p["jaxpr"] if "jaxpr" in p else p["call_jaxpr"]
            outs = _eval(body.jaxpr, body.consts, vals[len(vals) - len(body.jaxpr.invars) :])
        elif name in ("checkpoint", "remat", "remat2"):
            outs = _eval(p["jaxpr"], [], vals)
        elif name == "cond":
            branches = p["branches"]
            b = branches[int(np.clip(int(vals[0]), 0, len(branches) - 1))]
            outs = _eval(b.jaxpr, b.consts, vals[1:])
        elif name == "while":
            nc, nb = p["cond_nconsts"], p["body_nconsts"]
            cc, bc, carry = vals[:nc], vals[nc : nc + nb], vals[nc + nb :]
            cj, bj = p["cond_jaxpr"], p["body_jaxpr"]
            while bool(_eval(cj.jaxpr, cj.consts, [*cc, *carry])[0]):
                carry = _eval(bj.jaxpr, bj.consts, [*bc, *carry])
            outs = carry
        elif name == "scan":
            (nc, ncar), body = scan_num_consts_carry(p), p["jaxpr"]
            consts_, carry, xs = vals[:nc], vals[nc : nc + ncar], vals[nc + ncar :]
            ys = []
            steps = range(p["length"] - 1, -1, -1) if p["reverse"] else range(p["length"])
            for t in steps:
                out = _eval(body.jaxpr, body.consts, [*consts_, *carry, *(x[t] for x in xs)])
                carry, y = out[:ncar], out[ncar:]
                ys.append((t, y))
            ys.sort(key=lambda ty: ty[0])
            n_ys = len(body.jaxpr.outvars) - ncar
            outs = [*carry, *(jnp.stack([y[k] for _, y in ys]) for k in range(n_ys))]
        else:
            with jax.disable_jit(False):
                out = eqn.primitive.bind(*vals, **p)
            outs = out if eqn.primitive.multiple_results else [out]
        for v, o in zip(eqn.outvars, outs, strict=False):
            env[v] = o
    return [read(a) for a in jaxpr.outvars]


def evaluate(closed: ClosedJaxpr, args: list[Any]) -> list[Any]:
    """Evaluate ``closed`` on flat ``args`` with the reference interpreter ``_eval``."""
    return _eval(closed.jaxpr, list(closed.consts), list(args))
