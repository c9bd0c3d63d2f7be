"""The catalogue of bad inputs: for each public function, what it rejects, with which error and message.

Every entry is run by ``test_bad_inputs.py`` (error type, message regex, and the watched State left
unchanged) and by ``docs/errors.md``, which renders the catalogue as a table by running each entry, so the
documentation cannot drift from the behaviour.

An entry is a :class:`BadInput`: the public function, a short description of the rejected input, a
zero-argument callable making the bad call, the expected exception type, a regular expression the message
must match (``re.search``), and optionally a State whose value must be the same after the failed call
(failure atomicity: a rejected call never leaves a State changed or holding a tracer).

The entries use the public names of the ``brainstate`` metapackage (``brainstate.transform.jit``, ...).
"""

# mypy: disable-error-code="arg-type, assignment, call-overload, operator, return-value"
# (the calls below pass wrongly typed arguments on purpose: that is what they test)

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

import brainstate

T = brainstate.transform


@dataclass(frozen=True)
class BadInput:
    """One rejected call."""

    function: str
    rejected: str
    call: Callable[[], Any]
    error: type[BaseException]
    match: str
    state: brainstate.State[Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.function}: {self.rejected}"


def run_entry(entry: BadInput) -> BaseException:
    """Run ``entry.call()``; return the exception it raised after checking type, message and State.

    Raises ``AssertionError`` when the call succeeds, raises another type, the message does not match or
    the watched State changed.
    """
    before = (
        None if entry.state is None else jax.tree.map(lambda v: jnp.array(v, copy=True), entry.state.value)
    )
    try:
        entry.call()
    except BaseException as err:  # noqa: BLE001 - every exception type is checked below
        caught = err
    else:
        raise AssertionError(f"{entry.id}: no error was raised (expected {entry.error.__name__})")
    if not isinstance(caught, entry.error):
        raise AssertionError(
            f"{entry.id}: expected {entry.error.__name__}, got {type(caught).__name__}: {caught}"
        ) from caught
    if not re.search(entry.match, str(caught), re.S):
        raise AssertionError(
            f"{entry.id}: message {str(caught)!r} does not match {entry.match!r}"
        ) from caught
    if entry.state is not None:
        after = entry.state.value
        same = jax.tree.structure(after) == jax.tree.structure(before) and all(
            isinstance(a, jax.Array) and not isinstance(a, jax.core.Tracer) and bool(jnp.array_equal(a, b))
            for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(before), strict=True)
        )
        if not same:
            raise AssertionError(f"{entry.id}: the State changed from {before} to {after}")
    return caught


def first_line(err: BaseException) -> str:
    """The headline of an error message (the part before the State description / fix).

    For an error raised in a host callback inside compiled code, JAX's ``JaxRuntimeError`` carries the
    callback's traceback; the headline is then the original error's last line (``RuntimeCheckError: ...``).
    """
    text = str(err)
    if isinstance(err, KeyError) and err.args:
        text = str(err.args[0])
    if "Traceback (most recent call last)" in text:
        raised = [
            ln.strip() for ln in text.splitlines() if re.match(r"[\w.]+(Error|Exception): ", ln.strip())
        ]
        if raised:
            return raised[-1]
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("File ", "Traceback")):
            return line
    return text.strip()


CATALOGUE: list[BadInput] = []


def entry(
    function: str,
    rejected: str,
    error: type[BaseException],
    match: str,
    state: brainstate.State[Any] | None = None,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Decorator adding the decorated zero-argument function to the catalogue."""

    def add(call: Callable[[], Any]) -> Callable[[], Any]:
        CATALOGUE.append(BadInput(function, rejected, call, error, match, state))
        return call

    return add


class _Unhashable:
    __hash__ = None


# ---------------------------------------------------------------------------------------------- State
_w = brainstate.State(jnp.zeros(3), name="catalogue_w")


@entry(
    "State.value",
    "a value with another pytree structure",
    ValueError,
    r"pytree structure .*State 'catalogue_w'.*How to fix",
    state=_w,
)
def _state_structure() -> None:
    _w.value = (jnp.zeros(3), jnp.zeros(3))


@entry("State", "another State as the value", TypeError, r"cannot hold another State")
def _state_of_state() -> None:
    brainstate.State(_w)


@entry("HiddenState", "a non-array value (dict)", TypeError, r"HiddenState holds a single array.*dict")
def _hidden_dict() -> None:
    brainstate.HiddenState({"a": 1.0})


_h = brainstate.HiddenState(jnp.zeros(2), name="catalogue_h")


@entry("HiddenState.value", "a dict written into an array State", ValueError, r"pytree structure", state=_h)
def _hidden_write_dict() -> None:
    _h.value = {"a": jnp.zeros(2)}


_raw = brainstate.State(jnp.array(0.0), name="catalogue_raw")


@entry(
    "State.value",
    "a tracer written from a raw jax.jit",
    brainstate.TraceContextError,
    r"tracer was written into a State.*use the brainstate transform",
    state=_raw,
)
def _raw_jax_jit() -> None:
    def step() -> Any:
        _raw.value = _raw.value + 1.0
        return _raw.value

    jax.jit(step)()


# ------------------------------------------------------------------------------------- filters, graph
@entry("util.filters.to_predicate", "a float as a filter", TypeError, r"Invalid filter 3.5")
def _bad_filter() -> None:
    brainstate.util.filters.to_predicate(3.5)


@entry("util.OfType", "an instance instead of a class", TypeError, r"OfType expects a class")
def _bad_oftype() -> None:
    brainstate.util.OfType(3)


class _Cell(brainstate.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = brainstate.ParamState(jnp.ones(2))
        self.h = brainstate.HiddenState(jnp.zeros(2))


@entry("graph.treefy_split", "an object that is not a graph node", TypeError, r"Expected a graph node")
def _split_non_node() -> None:
    brainstate.graph.treefy_split(3)


@entry(
    "graph.treefy_split",
    "filters that leave a State unmatched",
    ValueError,
    r"match none of the filters.*end the filters with `\.\.\.`",
)
def _split_non_exhaustive() -> None:
    brainstate.graph.treefy_split(_Cell(), brainstate.ParamState)


@entry("graph.treefy_merge", "something other than a GraphDef", TypeError, r"expects a GraphDef")
def _merge_non_graphdef() -> None:
    brainstate.graph.treefy_merge(3, {})


# ---------------------------------------------------------------------------------------------- IR
@entry("transform.StatefulFunction", "a non-callable", TypeError, r"needs a callable, got int")
def _sf_noncallable() -> None:
    T.StatefulFunction(3)


@entry(
    "transform.StatefulFunction",
    "a State passed as an argument",
    ValueError,
    r"Inputs of brainstate transformations cannot be States",
)
def _sf_state_arg() -> None:
    T.StatefulFunction(lambda x: x).get_program(_w)


@entry(
    "transform.StatefulFunction",
    "a State returned as output",
    ValueError,
    r"Outputs of brainstate transformations cannot be States",
)
def _sf_state_out() -> None:
    T.StatefulFunction(lambda: _w).get_program()


@entry(
    "transform.StatefulFunction",
    "an unhashable static argument",
    TypeError,
    r"static argument at position 1 has an unhashable value",
)
def _sf_unhashable() -> None:
    T.StatefulFunction(lambda x, n: x, static_argnums=1).get_program(1.0, _Unhashable())


@entry(
    "transform.StatefulFunction",
    "static_argnums beyond the positional arguments",
    ValueError,
    r"static_argnums contains 3",
)
def _sf_static_range() -> None:
    T.StatefulFunction(lambda x: x, static_argnums=3).get_program(1.0)


@entry(
    "transform.make_jaxpr",
    "a State passed as an argument",
    ValueError,
    r"Inputs of brainstate transformations cannot be States",
)
def _make_jaxpr_state() -> None:
    T.make_jaxpr(lambda x: x)(_w)


@entry("transform.StateFinder", "an unknown usage", ValueError, r"usage must be .*got 'bogus'")
def _finder_usage() -> None:
    T.StateFinder(lambda: None, usage="bogus")


@entry("transform.StateFinder", "an unknown return_type", ValueError, r"return_type must be .*got 'bogus'")
def _finder_return_type() -> None:
    T.StateFinder(lambda: None, return_type="bogus")


@entry("transform.unvmap", "an unknown reduction", ValueError, r"op must be one of .*got 'sum'")
def _unvmap_op() -> None:
    T.unvmap(jnp.ones(3), op="sum")


# ---------------------------------------------------------------------------------------------- jit
@entry("transform.jit", "a non-callable", TypeError, r"expected a callable")
def _jit_noncallable() -> None:
    T.jit(3)


@entry("transform.jit", "negative static_argnums", ValueError, r"static_argnums must be non-negative")
def _jit_negative_static() -> None:
    T.jit(lambda x: x, static_argnums=-1)


@entry(
    "transform.jit",
    "a single in_shardings for all arguments",
    NotImplementedError,
    r"in_shardings must be a tuple or list",
)
def _jit_in_shardings() -> None:
    T.jit(lambda x: x, in_shardings=object())


@entry(
    "transform.jit",
    "a State passed as an argument",
    ValueError,
    r"Inputs of brainstate transformations cannot be States",
)
def _jit_state_arg() -> None:
    T.jit(lambda x: x)(_w)


@entry("transform.jit", "an unhashable static argument", TypeError, r"unhashable value")
def _jit_unhashable() -> None:
    T.jit(lambda x, n: x, static_argnums=1)(1.0, _Unhashable())


_jit_s = brainstate.State(jnp.array(1.0), name="catalogue_jit")


@entry("transform.jit", "a function that raises after writing a State", RuntimeError, r"boom", state=_jit_s)
def _jit_failing_body() -> None:
    def fail() -> None:
        _jit_s.value = _jit_s.value + 1.0
        raise RuntimeError("boom")

    T.jit(fail)()


@entry("transform.named_scope", "a name that is not a str", TypeError, r"name must be a str")
def _named_scope_name() -> None:
    T.named_scope(3)


@entry("transform.remat", "a non-callable", TypeError, r"checkpoint needs a callable")
def _remat_noncallable() -> None:
    T.remat(3)


@entry("transform.remat", "negative static_argnums", ValueError, r"static_argnums must be non-negative")
def _remat_negative_static() -> None:
    T.remat(lambda x: x, static_argnums=-1)


@entry("transform.jit_error_if", "a true predicate (eager)", brainstate.BrainStateError, r"bad value 3")
def _error_if_eager() -> None:
    T.jit_error_if(jnp.array(True), "bad value {}", 3)


_err_s = brainstate.State(jnp.array(0.0), name="catalogue_error_if")


@entry(
    "transform.jit_error_if",
    "a true predicate inside jit (after a State write)",
    jax.errors.JaxRuntimeError,
    r"negative found: \[-1\.\]",
    state=_err_s,
)
def _error_if_jit() -> None:
    def step(x: jax.Array) -> jax.Array:
        _err_s.value = _err_s.value + 1.0
        T.jit_error_if(jnp.any(x < 0), "negative found: {}", x)
        return x

    T.jit(step)(jnp.array([-1.0]))


@entry(
    "transform.jit_error_if",
    "an error that is neither str nor callable",
    TypeError,
    r"error must be a message str or a callable",
)
def _error_if_bad_error() -> None:
    T.jit_error_if(jnp.array(True), 3)


@entry("transform.checkify", "a non-callable", TypeError, r"checkify needs a callable")
def _checkify_noncallable() -> None:
    T.checkify(3)


@entry("transform.check", "a Python float as a format argument", TypeError, r"need to be PyTrees of arrays")
def _check_float() -> None:
    T.checkify(lambda x: T.check(x > 0, "x is {x}", x=1.0))(1.0)


@entry(
    "transform.debug_nan",
    "a function producing NaN",
    RuntimeError,
    r"NaN/Inf detected.*Introduced by primitive : `log`",
)
def _debug_nan() -> None:
    T.debug_nan(lambda x: jnp.log(x), jnp.array(-1.0))


@entry("transform.debug_nan", "a non-callable", TypeError, r"fn must be callable")
def _debug_nan_noncallable() -> None:
    T.debug_nan(3)


# ------------------------------------------------------------------------------------ random, environ
@entry("random.normal", "a negative scale", ValueError, r"'scale' must be non-negative")
def _normal_scale() -> None:
    brainstate.random.normal(0.0, -1.0)


@entry("random.randint", "low >= high", ValueError, r"'low' must be smaller than high")
def _randint() -> None:
    brainstate.random.randint(5, 1)


@entry("random.binomial", "a probability above 1", ValueError, r"'p' must be a probability")
def _binomial() -> None:
    brainstate.random.binomial(3, 1.5)


@entry("random.poisson", "a negative rate", ValueError, r"'lam' must be non-negative")
def _poisson() -> None:
    brainstate.random.poisson(-1.0)


@entry("random.beta", "a negative shape", ValueError, r"must be positive")
def _beta() -> None:
    brainstate.random.beta(-1.0, 1.0)


@entry("random.gamma", "a negative shape", ValueError, r"'shape' must be positive")
def _gamma() -> None:
    brainstate.random.gamma(-1.0)


@entry("random.exponential", "a negative scale", ValueError, r"'scale' must be positive")
def _exponential() -> None:
    brainstate.random.exponential(-1.0)


@entry(
    "random.choice",
    "more samples than the population without replacement",
    ValueError,
    r"Cannot take a larger sample",
)
def _choice() -> None:
    brainstate.random.choice(3, 5, replace=False)


@entry("random.seed", "a string seed", TypeError, r"seed_or_key must be None, an int seed")
def _seed() -> None:
    brainstate.random.seed("abc")


@entry("environ.get", "a key that is not set", KeyError, r"is not set.*How to fix")
def _environ_get() -> None:
    brainstate.environ.get("catalogue_no_such_key")


@entry("environ.set_precision", "an unsupported precision", ValueError, r"precision must be one of")
def _environ_precision() -> None:
    brainstate.environ.set_precision(12)


@entry("environ.set_dt", "a non-positive time step", ValueError, r"dt must be a positive time step")
def _environ_dt() -> None:
    brainstate.environ.set_dt(0)


# ------------------------------------------------------------------------------------------ autodiff
_p = brainstate.ParamState(jnp.array(2.0), name="catalogue_p")
_grad_s = brainstate.State(jnp.array(1.0), name="catalogue_grad")


@entry("transform.grad", "a non-callable", TypeError, r"needs a callable")
def _grad_noncallable() -> None:
    T.grad(3, _p)


@entry("transform.grad", "negative argnums", ValueError, r"argnums must be non-negative")
def _grad_negative() -> None:
    T.grad(lambda x: x, argnums=-1)


@entry(
    "transform.grad",
    "a grad_states entry the function never reads",
    ValueError,
    r"never read.*check_states=False",
)
def _grad_unused() -> None:
    T.grad(lambda x: x * 2.0, _p)(1.0)


@entry(
    "transform.grad",
    "has_aux=True with a function returning one value",
    TypeError,
    r"has_aux=True requires .* to return a \(value, aux\)",
)
def _grad_has_aux() -> None:
    T.grad(lambda: _p.value * 2.0, _p, has_aux=True)()


@entry(
    "transform.grad",
    "values instead of States in grad_states",
    TypeError,
    r"grad_states must be a State or a pytree",
)
def _grad_values() -> None:
    T.grad(lambda: _p.value, 3.0)()


@entry(
    "transform.grad", "a loss that raises after writing a State", ValueError, r"inside loss", state=_grad_s
)
def _grad_failing() -> None:
    def loss() -> jax.Array:
        _grad_s.value = _grad_s.value + _p.value
        raise ValueError("inside loss")

    T.grad(loss, _p)()


# ------------------------------------------------------------------------------------------- control
_ctl = brainstate.State(jnp.array(1.0), name="catalogue_control")


@entry("transform.cond", "a list as the predicate", TypeError, r"predicate must be a scalar")
def _cond_list() -> None:
    T.cond([True, False], lambda: 1.0, lambda: 2.0)


@entry(
    "transform.cond", "a non-scalar array predicate", TypeError, r"predicate must be a scalar.*shape \(2,\)"
)
def _cond_array() -> None:
    T.cond(jnp.array([True, False]), lambda: 1.0, lambda: 2.0)


@entry(
    "transform.cond",
    "branches with different output shapes (one writes a State)",
    TypeError,
    r"output types",
    state=_ctl,
)
def _cond_mismatch() -> None:
    def writes() -> jax.Array:
        _ctl.value = _ctl.value + 1.0
        return jnp.ones(2)

    T.cond(jnp.array(True), writes, lambda: jnp.ones(3))


@entry("transform.switch", "a float index", TypeError, r"index must be a scalar integer")
def _switch_float() -> None:
    T.switch(1.5, [lambda: 1.0, lambda: 2.0])


@entry("transform.switch", "an empty branch list", ValueError, r"branches is empty")
def _switch_empty() -> None:
    T.switch(0, [])


@entry("transform.ifelse", "fewer branches than conditions", ValueError, r"2 condition\(s\) but 1 branch")
def _ifelse_len() -> None:
    T.ifelse([True, False], [lambda: 1.0])


@entry("transform.for_loop", "inputs with different lengths", ValueError, r"leading axis sizes of xs must")
def _for_loop_lengths() -> None:
    T.for_loop(lambda a, b: a + b, jnp.ones(3), jnp.ones(4))


@entry("transform.for_loop", "a non-callable body", TypeError, r"f must be callable")
def _for_loop_noncallable() -> None:
    T.for_loop(3, jnp.ones(3))


@entry(
    "transform.for_loop", "a body that fails after writing a State", TypeError, r"cannot reshape", state=_ctl
)
def _for_loop_failing() -> None:
    def body(x: jax.Array) -> jax.Array:
        _ctl.value = _ctl.value + x
        return _ctl.value.reshape(7)

    T.for_loop(body, jnp.ones(3))


@entry("transform.scan", "a body that changes the carry's shape", TypeError, r"carry")
def _scan_carry() -> None:
    T.scan(lambda c, x: (jnp.ones(2), x), 0.0, jnp.ones(3))


@entry(
    "transform.while_loop",
    "a condition that writes a State",
    ValueError,
    r"cond_fun .* writes a State.*State 'catalogue_control'",
    state=_ctl,
)
def _while_cond_writes() -> None:
    def cond_fun(i: Any) -> Any:
        _ctl.value = _ctl.value + 1.0
        return i < 3

    T.while_loop(cond_fun, lambda i: i + 1, 0)


@entry(
    "transform.bounded_while_loop",
    "a negative max_steps",
    ValueError,
    r"max_steps must be a non-negative int",
)
def _bounded_negative() -> None:
    T.bounded_while_loop(lambda i: i < 3, lambda i: i + 1, 0, max_steps=-1)


@entry("transform.checkpointed_for_loop", "base < 2", ValueError, r"base must be an int >= 2")
def _checkpointed_base() -> None:
    T.checkpointed_for_loop(lambda x: x, jnp.ones(3), base=1)


@entry("transform.ProgressBar", "freq=0", ValueError, r"freq must be a positive int")
def _pbar_freq() -> None:
    T.ProgressBar(freq=0)


@entry("transform.ProgressBar", "both freq and count", ValueError, r"either freq or count, not both")
def _pbar_both() -> None:
    T.ProgressBar(freq=1, count=2)


# ------------------------------------------------------------------------------------------- mapping
_c = brainstate.State(jnp.zeros(3), name="catalogue_counter")


def _write_batched(x: jax.Array) -> jax.Array:
    _c.value = _c.value + x
    return x


@entry(
    "transform.vmap",
    "a batched write into an undeclared State",
    brainstate.BatchAxisError,
    r"not covered by out_states.*State 'catalogue_counter'",
    state=_c,
)
def _vmap_undeclared() -> None:
    T.vmap(_write_batched)(jnp.arange(3.0))


@entry(
    "transform.vmap",
    "a State on different axes in in_states and out_states",
    brainstate.BatchAxisError,
    r"in_states on axis 0 but in out_states on axis 1",
    state=_c,
)
def _vmap_axis_conflict() -> None:
    T.vmap(_write_batched, in_states={0: _c}, out_states={1: _c})(jnp.arange(3.0))


@entry("transform.vmap", "keyword arguments", NotImplementedError, r"keyword arguments are not supported")
def _vmap_kwargs() -> None:
    T.vmap(lambda x: x)(x=jnp.ones(3))


@entry("transform.vmap", "mapped inputs of different sizes", ValueError, r"mapped axes have different sizes")
def _vmap_sizes() -> None:
    T.vmap(lambda a, b: a + b)(jnp.ones(3), jnp.ones(4))


@entry(
    "transform.vmap2",
    "a batched write into an undeclared State with policy 'raise'",
    brainstate.BatchAxisError,
    r"not covered by state_out_axes",
    state=_c,
)
def _vmap2_raise() -> None:
    T.vmap2(_write_batched, unexpected_out_state_mapping="raise")(jnp.arange(3.0))


@entry(
    "transform.vmap2",
    "an unknown unexpected_out_state_mapping",
    ValueError,
    r"unexpected_out_state_mapping must be one of",
)
def _vmap2_policy() -> None:
    T.vmap2(_write_batched, unexpected_out_state_mapping="bogus")


@entry("transform.vmap2", "axis_size that disagrees with the inputs", ValueError, r"axis_size: 4")
def _vmap2_axis_size() -> None:
    T.vmap2(lambda x: x, axis_size=4)(jnp.ones(3))


@entry("transform.map", "a 0-d input", ValueError, r"0-d \(scalar\) input")
def _map_scalar() -> None:
    T.map(lambda x: x, jnp.array(1.0))
