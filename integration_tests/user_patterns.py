"""Generated programs written the way users write them, each paired with plain JAX that threads the state by hand.

A :class:`Pattern` is a stack of transforms (outermost first, up to four deep) over the bound method
:meth:`Net.step` of a Module, plus a list of calls. The stack mixes ``jit``, ``grad``, ``vmap2``/``vmap``,
``for_loop``, ``checkpointed_for_loop``, ``while_loop`` (a weak-typed carry that starts as Python ``0``)
and ``cond`` (fresh lambdas on every call). The body reads:

* a numeric argument ``k`` given as a Python ``int``/``float``/``bool``, a NumPy scalar or a JAX scalar;
* a Python ``int`` ``n`` (a ``range`` bound) and a Python ``bool`` ``flag`` (an ``if``): unmapped
  (``in_axes=None``) under vmap, static under ``jit``;
* plain attributes of the Module (``tau``, ``mode``) and, under vmap only, a read-only ``State(True)`` in an
  ``if``;
* optional random draws from the global stream and an optional callback (``jit_error_if``, ``ifelse``,
  ``debug_nan``).

Between calls the program changes plain attributes, State values, replaces States by new ones, flips the
read-only flag State, changes the argument types, reseeds or builds an unrelated Module; the transform
objects are built either once or afresh for every call. :func:`build_pure` gives, for the same call, the
output, every State value and the global key computed in plain JAX (loops unrolled in Python, vmap lane
by lane with the key split as brainstate 0.5.4 splits it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate

try:  # the generator needs hypothesis; the programs alone run where it is missing (the 0.5.4 oracle venv)
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - exercised by the oracle session
    st = None

LAYERS = ("jit", "grad", "vmap2", "vmap", "for_loop", "checkpointed", "while", "cond")
LANES = 3  # lanes of a vmap layer
STEPS = 2  # iterations of a loop layer
MUTATIONS = ("tau", "mode", "args", "state_value", "replace_state", "flag_state", "reseed", "unrelated")


class Lanes(brainstate.State):  # type: ignore[type-arg]
    """The per-lane State that bodies under a vmap layer write (shape ``(LANES, size)``)."""


class Net(brainstate.nn.Module):
    """A Module whose step reads plain attributes, States and Python arguments (counts its Python runs)."""

    def __init__(self, size: int, tau: float, mode: bool, random: str, callback: str) -> None:
        super().__init__()
        self.v = brainstate.ParamState(jnp.linspace(-0.5, 0.5, size, dtype=jnp.float32))
        self.e = Lanes(jnp.zeros((LANES, size), jnp.float32))
        self.flag = brainstate.State(True)  # a Python bool held by a State, only read (under vmap only)
        self.tau = tau
        self.mode = mode
        self.random = random
        self.callback = callback
        self.lanes = False  # set at build time: the body runs under a vmap layer and writes `e`
        self.use_flag = False  # set at build time: the body reads `flag` in an `if`
        self.args: tuple[Any, int, bool] = (1.0, 0, False)  # what `step_x` passes on; changes per call
        self.runs = 0

    def step(self, x: Any, k: Any, n: int, flag: bool) -> jax.Array:
        self.runs += 1
        a = self.v.value * self.tau + x * k
        a = jnp.tanh(a) if self.mode else 0.5 * jnp.sin(a)
        if flag:
            a = a + 0.25
        for _ in range(n):
            a = 0.9 * a + 0.1
        if self.use_flag and self.flag.value:
            a = 1.5 * a
        if self.random == "normal":
            a = a + brainstate.random.randn(*a.shape)
        elif self.random == "uniform":
            a = a * brainstate.random.rand(*a.shape)
        if self.callback == "error_if":
            brainstate.transform.jit_error_if(a.sum() > 1e6, "sum too large: {}", a.sum())
        elif self.callback == "ifelse":
            c = a.sum()
            a = a + brainstate.transform.ifelse([c < 0, c >= 0], [lambda: -1.0, lambda: 1.0])
        elif self.callback == "debug_nan":
            brainstate.transform.debug_nan(lambda u: u * 2.0, a)
        if self.lanes:
            self.e.value = 0.5 * self.e.value + a
        else:
            self.v.value = a
        return a.sum()

    def step_x(self, x: Any) -> jax.Array:  # what a user passes to for_loop: a bound method of one argument
        return self.step(x, *self.args)


# ---------------------------------------------------------------------------------------------- the pure twin
def split1(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """brainstate's split: keep ``[0]`` as the new key, use ``[1]``."""
    keys = jax.random.split(key, 2)
    return keys[0], keys[1]


def pure_step(
    net: dict[str, Any], vals: dict[str, jax.Array], key: jax.Array, x: Any, k: Any, n: int, flag: bool
) -> tuple[jax.Array, dict[str, jax.Array], jax.Array]:
    vals = dict(vals)
    a = vals["v"] * net["tau"] + jnp.asarray(x) * k
    a = jnp.tanh(a) if net["mode"] else 0.5 * jnp.sin(a)
    if flag:
        a = a + 0.25
    for _ in range(n):
        a = 0.9 * a + 0.1
    if net["use_flag"] and net["flag"]:
        a = 1.5 * a
    if net["random"] == "normal":
        key, sub = split1(key)
        a = a + jax.random.normal(sub, a.shape)
    elif net["random"] == "uniform":
        key, sub = split1(key)
        a = a * jax.random.uniform(sub, a.shape)
    if net["callback"] == "ifelse":
        a = a + jnp.where(a.sum() < 0, -1.0, 1.0)
    if net["lanes"]:
        vals["e"] = 0.5 * vals["e"] + a
    else:
        vals["v"] = a
    return a.sum(), vals, key


PureFn = Callable[..., tuple[jax.Array, dict[str, jax.Array], jax.Array]]


def lanes_of(x: Any) -> jax.Array:
    return jnp.asarray(x)[None] * (0.5 + 0.5 * jnp.arange(LANES, dtype=jnp.float32))[:, None]


def steps_of(x: Any) -> jax.Array:
    return jnp.asarray(x)[None] * (1.0 - 0.25 * jnp.arange(STEPS, dtype=jnp.float32))[:, None]


def pure_layer(layer: str, inner: PureFn, draws: bool, pred: bool) -> PureFn:
    def run(vals: dict[str, jax.Array], key: jax.Array, x: Any, k: Any, n: int, flag: bool) -> Any:
        if layer == "jit":
            return inner(vals, key, x, k, n, flag)
        if layer == "grad":

            def loss(x: Any) -> Any:
                out, v, kk = inner(vals, key, x, k, n, flag)
                return out, (v, kk)

            (val, (new_vals, new_key)), gx = jax.value_and_grad(loss, has_aux=True)(jnp.asarray(x))
            return val + gx.sum(), new_vals, new_key
        if layer in ("vmap2", "vmap"):
            lane_keys = jax.random.split(key, LANES + 1) if draws else None
            outs, es = [], []
            for j, xj in enumerate(lanes_of(x)):
                lane_key = lane_keys[j + 1] if lane_keys is not None else key
                out, v, _ = inner({**vals, "e": vals["e"][j]}, lane_key, xj, k, n, flag)
                outs.append(out)
                es.append(v["e"])
            new_key = split1(lane_keys[0])[1] if lane_keys is not None else key
            return sum(outs), {**vals, "e": jnp.stack(es)}, new_key
        if layer in ("for_loop", "checkpointed"):
            total = jnp.zeros(())
            for xt in steps_of(x):
                out, vals, key = inner(vals, key, xt, k, n, flag)
                total = total + out
            return total, vals, key
        if layer == "while":
            total = jnp.zeros(())
            for i in range(STEPS):
                out, vals, key = inner(vals, key, jnp.asarray(x) * (1.0 + 0.5 * i), k, n, flag)
                total = total + out
            return total, vals, key
        if layer == "cond":
            if pred:
                return inner(vals, key, x, k, n, flag)
            out, vals, key = inner(vals, key, jnp.asarray(x) * 0.5, k, n, not flag)
            return 2.0 * out, vals, key
        raise ValueError(layer)

    return run


# ------------------------------------------------------------------------------------------ the stateful program
def stateful_layer(
    layer: str, inner: Callable[..., Any], net: Net, pred: bool, innermost: bool, jit_style: str = "argnums"
) -> Any:
    bt = brainstate.transform
    if layer == "jit" and jit_style == "argnums":
        return bt.jit(inner, static_argnums=(2, 3))
    if layer == "jit":  # static by name: passed by keyword, or left out when they equal the defaults

        def by_name(x: Any, k: Any, n: int = 0, flag: bool = False) -> Any:
            return inner(x, k, n, flag)

        named = bt.jit(by_name, static_argnames=("n", "flag"))
        if jit_style == "argnames":
            return lambda x, k, n, flag: named(x, k, n=n, flag=flag)
        return lambda x, k, n, flag: named(
            x, k, **({"n": n} if n else {}), **({"flag": flag} if flag else {})
        )
    if layer == "grad":
        # grad traces every positional argument (as 0.5.4 does): Python structure comes from a closure cell
        cell: dict[str, Any] = {}
        g = bt.grad(lambda x, k: inner(x, k, cell["n"], cell["flag"]), argnums=0, return_value=True)

        def graded(x: Any, k: Any, n: int, flag: bool) -> Any:
            cell["n"], cell["flag"] = n, flag
            gx, val = g(x, k)
            return val + gx.sum()

        return graded
    if layer == "vmap2":
        mapped = bt.vmap2(
            inner, in_axes=(0, None, None, None), state_in_axes={0: Lanes}, state_out_axes={0: Lanes}
        )
        return lambda x, k, n, flag: mapped(lanes_of(x), k, n, flag).sum()
    if layer == "vmap":
        old = bt.vmap(inner, in_axes=(0, None, None, None), in_states=net.e)
        return lambda x, k, n, flag: old(lanes_of(x), k, n, flag).sum()
    if layer in ("for_loop", "checkpointed"):

        def looped(x: Any, k: Any, n: int, flag: bool) -> Any:
            if innermost:  # the user's style: the bound method itself, its arguments set as attributes
                net.args = (k, n, flag)
                body = net.step_x
            else:

                def body(xt: Any) -> Any:
                    return inner(xt, k, n, flag)

            if layer == "for_loop":
                return bt.for_loop(body, steps_of(x)).sum()
            return bt.checkpointed_for_loop(body, steps_of(x), base=2).sum()

        return looped
    if layer == "while":

        def whiled(x: Any, k: Any, n: int, flag: bool) -> Any:
            def body(c: Any) -> Any:
                i, acc = c
                return i + jnp.float32(1.0), acc + inner(jnp.asarray(x) * (1.0 + 0.5 * i), k, n, flag)

            return bt.while_loop(lambda c: c[0] < STEPS, body, (0, 0))[1]

        return whiled
    if layer == "cond":

        def conded(x: Any, k: Any, n: int, flag: bool) -> Any:
            return bt.cond(
                pred,
                lambda u: inner(u, k, n, flag),
                lambda u: 2.0 * inner(u * 0.5, k, n, not flag),
                jnp.asarray(x),
            )

        return conded
    raise ValueError(layer)


# ----------------------------------------------------------------------------------------------- the generator
K_KINDS = ("int", "float", "bool", "np_float32", "np_float64", "np_int", "jnp")
X_KINDS = ("jnp", "numpy32", "numpy64")


def make_k(kind: str, value: float) -> Any:
    return {
        "int": lambda: int(round(value * 2)) or 1,
        "float": lambda: float(value),
        "bool": lambda: value > 0,
        "np_float32": lambda: np.float32(value),
        "np_float64": lambda: np.float64(value),
        "np_int": lambda: np.int32(int(round(value * 2)) or 1),
        "jnp": lambda: jnp.float32(value),
    }[kind]()


def make_x(kind: str, size: int, scale: float) -> Any:
    base = np.linspace(-1.0, 1.0, size) * scale
    return {"jnp": jnp.asarray(base, jnp.float32), "numpy32": base.astype(np.float32), "numpy64": base}[kind]


@dataclass(frozen=True)
class Call:
    k_kind: str
    k: float
    x_kind: str
    scale: float
    n: int
    flag: bool
    mutations: tuple[str, ...]  # applied before this call
    value: float  # the new attribute / State value / seed the mutations use


@dataclass(frozen=True)
class Pattern:
    stack: tuple[str, ...]  # outermost first
    fresh: bool  # build the transform objects afresh for every call
    size: int
    tau: float
    mode: bool
    random: str
    callback: str
    pred: bool
    calls: tuple[Call, ...]
    jit_style: str = "argnums"  # how `jit` layers get the static n and flag: argnums, argnames, defaults

    @property
    def in_vmap(self) -> bool:
        return any(layer in ("vmap2", "vmap") for layer in self.stack)

    @property
    def use_flag(
        self,
    ) -> bool:  # a Python value in a State stays concrete only in an eager, mapped-only stack
        return bool(self.stack) and all(layer in ("vmap2", "vmap") for layer in self.stack)

    @property
    def cached_by_identity(self) -> bool:  # a reused jit object caches by function identity, like jax.jit
        return "jit" in self.stack and not self.fresh


def valid_stack(stack: tuple[str, ...]) -> bool:
    if sum(layer in ("vmap2", "vmap") for layer in stack) > 1:
        return False
    if sum(layer in ("for_loop", "checkpointed", "while") for layer in stack) > 2:
        return False
    # reverse-mode differentiation through while_loop is rejected by design (bounded_while_loop instead)
    return not ("grad" in stack and "while" in stack[stack.index("grad") + 1 :])


def _patterns(draw: Any, first: str | None = None, max_depth: int = 4, max_calls: int = 3) -> Pattern:
    depth = draw(st.integers(1, max_depth))
    rest = st.lists(st.sampled_from(LAYERS), min_size=depth - 1, max_size=depth - 1)
    head = [first] if first is not None else [draw(st.sampled_from(LAYERS))]
    stack = tuple(head + draw(rest))
    if not valid_stack(stack):
        stack = tuple(layer for layer in stack if layer not in ("while", "vmap")) or ("jit",)
        stack = stack if valid_stack(stack) else (stack[0],)
    callback = draw(st.sampled_from(("none", "error_if", "ifelse", "debug_nan")))
    if "grad" in stack and callback in ("error_if", "debug_nan"):
        callback = "none"  # host callbacks are not differentiable (jax.pure_callback has no JVP)
    fresh = draw(st.booleans())
    cached = "jit" in stack and not fresh
    allowed = [m for m in MUTATIONS if not (cached and m in ("tau", "mode"))]
    k_value = st.sampled_from((0.5, -0.75, 1.0, 2.0))
    calls = []
    for c in range(draw(st.integers(2, max_calls))):
        mutations: tuple[str, ...] = ()
        if c > 0 and draw(st.booleans()):
            mutations = tuple(draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=2, unique=True)))
        calls.append(
            Call(
                draw(st.sampled_from(K_KINDS)),
                draw(k_value),
                draw(st.sampled_from(X_KINDS)),
                draw(st.sampled_from((1.0, -0.5, 0.3))),
                draw(st.integers(0, 2)),
                draw(st.booleans()),
                mutations,
                draw(st.sampled_from((0.3, -0.6, 1.2))),
            )
        )
        if "args" not in mutations and c > 0:  # keep the previous arguments unless they change
            calls[-1] = replace(
                calls[-1], **{f: getattr(calls[-2], f) for f in ("k_kind", "k", "x_kind", "n", "flag")}
            )
    return Pattern(
        stack,
        fresh,
        draw(st.integers(1, 3)),
        draw(st.sampled_from((1.0, 0.5, -1.5))),
        draw(st.booleans()),
        draw(st.sampled_from(("none", "normal", "uniform"))),
        callback,
        draw(st.booleans()),
        tuple(calls),
        draw(st.sampled_from(("argnums", "argnames", "defaults"))),
    )


def build(pattern: Pattern, net: Net) -> Callable[..., Any]:
    """The stateful program: the transform stack over ``net.step``."""
    fn: Callable[..., Any] = net.step
    for layer in reversed(pattern.stack):
        fn = stateful_layer(layer, fn, net, pattern.pred, fn == net.step, pattern.jit_style)
    return fn


def build_pure(pattern: Pattern, net: dict[str, Any]) -> PureFn:
    """The same program in plain JAX: ``(vals, key, x, k, n, flag) -> (out, vals, key)``."""

    def body(vals: dict[str, jax.Array], key: jax.Array, x: Any, k: Any, n: int, flag: bool) -> Any:
        return pure_step(net, vals, key, x, k, n, flag)

    fn: PureFn = body
    for layer in reversed(pattern.stack):
        fn = pure_layer(layer, fn, net["random"] != "none", pattern.pred)
    return fn


patterns = st.composite(_patterns) if st is not None else None


def apply_mutation(mutation: str, value: float, pattern: Pattern, net: Net) -> None:
    """One between-call change to the Module (what a user does between calls)."""
    size = pattern.size
    if mutation == "tau":
        net.tau = value
    elif mutation == "mode":
        net.mode = not net.mode
    elif mutation == "state_value":
        net.v.value = jnp.full(size, value, jnp.float32)
        net.e.value = net.e.value * value
    elif mutation == "replace_state":  # init per trial: new State objects of the same shapes
        net.v = brainstate.ParamState(jnp.full(size, value, jnp.float32))
        if "vmap" not in pattern.stack or pattern.fresh:  # `vmap(in_states=net.e)` names the old State
            net.e = Lanes(jnp.full((LANES, size), value, jnp.float32))
    elif mutation == "flag_state":
        net.flag.value = not net.flag.value
    elif mutation == "reseed":
        brainstate.random.seed(int(abs(value) * 10))
    elif mutation == "unrelated":  # build an unrelated Module: must not invalidate anything cached
        Net(size, value, True, "none", "none")


def new_net(pattern: Pattern) -> Net:
    net = Net(pattern.size, pattern.tau, pattern.mode, pattern.random, pattern.callback)
    net.lanes, net.use_flag = pattern.in_vmap, pattern.use_flag
    return net


def key_data(key: Any) -> np.ndarray:
    key = jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key)


def run_recorded(pattern: Pattern, seed: int = 3) -> list[dict[str, Any]]:
    """Run the stateful program; per call the output, State values and global key (or the error's type)."""
    brainstate.random.seed(seed)
    net = new_net(pattern)
    fn = None if pattern.fresh else build(pattern, net)
    records: list[dict[str, Any]] = []
    for call in pattern.calls:
        for mutation in call.mutations:
            apply_mutation(mutation, call.value, pattern, net)
        if pattern.fresh or fn is None:
            fn = build(pattern, net)
        try:
            out = fn(
                make_x(call.x_kind, pattern.size, call.scale), make_k(call.k_kind, call.k), call.n, call.flag
            )
        except Exception as error:  # noqa: BLE001 - recorded and compared, not hidden
            records.append({"error": type(error).__name__})
            break
        records.append(
            {
                "out": np.asarray(out).tolist(),
                "v": np.asarray(net.v.value).tolist(),
                "e": np.asarray(net.e.value).tolist(),
                "key": key_data(brainstate.random.DEFAULT.value).tolist(),
            }
        )
    return records


def pattern_from_json(data: dict[str, Any]) -> Pattern:
    calls = tuple(Call(**{**c, "mutations": tuple(c["mutations"])}) for c in data["calls"])
    return Pattern(**{**data, "stack": tuple(data["stack"]), "calls": calls})
