"""A canonical, hashable key of a traced program: equal keys mean the same computation.

Two traces of the same Python code (the same function called again, or a fresh lambda with the same body)
give distinct ``ClosedJaxpr`` objects whose variables and parameter objects differ but whose computation is
the same. ``program_key`` names that computation: variables by position, avals, literals by value,
parameters by value (nested programs recursively), and functions held by parameters (host callbacks) by
their code, defaults and captured values. The top-level constants are *not* part of the key, only their
types: an executable compiled for one program runs any program with the same key, its constants passed as
arguments. The differentiation and batching rules of ``custom_jvp``/``custom_vjp``/``custom_vmap`` calls are
ignored (an eager program is only ever evaluated, never differentiated or batched). Anything the key cannot describe by value is compared by
identity, which can only cost a cache miss, never a wrong result.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

import jax
import numpy as np

from brainstate_ir import _compat

__all__ = ["program_key"]

_MAX_DEPTH = 12
_MAX_VALUE_BYTES = 1 << 16
# Primitives whose function-valued parameters are differentiation or batching rules, unused when the
# program only runs.
_RULE_PRIMITIVES = frozenset(
    {"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr", "custom_vmap_call"}
)


class _Identity:
    """Compares (and hashes) by the identity of the object it holds, which it keeps alive."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


def program_key(closed: _compat.ClosedJaxpr) -> Hashable:
    """The canonical key of ``closed``, with its constants described by type only."""
    consts = tuple(_aval_key(c) for c in closed.consts)
    return ("program", _jaxpr_key(closed.jaxpr, 0), consts)


def _aval_key(x: Any) -> Hashable:
    aval = _compat.shaped_abstractify(x)
    return (tuple(aval.shape), aval.dtype, bool(getattr(aval, "weak_type", False)))


def _jaxpr_key(jaxpr: _compat.Jaxpr, depth: int) -> Hashable:
    names: dict[Any, int] = {}

    def define(v: Any) -> Hashable:
        if isinstance(v, _compat.DropVar):
            return ("_", v.aval)
        names[v] = len(names)
        return v.aval  # type: ignore[no-any-return]

    def use(v: Any) -> Hashable:
        if isinstance(v, _compat.Literal):
            return ("lit", _value_key(v.val, depth), v.aval)
        return names[v]

    header = (tuple(define(v) for v in jaxpr.constvars), tuple(define(v) for v in jaxpr.invars))
    eqns = []
    for eqn in jaxpr.eqns:
        ins = tuple(use(v) for v in eqn.invars)
        params = _params_key(eqn.primitive.name, eqn.params, depth)
        eqns.append((eqn.primitive, ins, params, tuple(define(v) for v in eqn.outvars)))
    return (header, tuple(eqns), tuple(use(v) for v in jaxpr.outvars))


def _params_key(primitive: str, params: dict[str, Any], depth: int) -> Hashable:
    ignore_functions = primitive in _RULE_PRIMITIVES
    items: list[Hashable] = []
    for name in sorted(params):
        value = params[name]
        if ignore_functions and callable(value) and not isinstance(value, _compat.ClosedJaxpr):
            items.append((name, "rule"))
        else:
            items.append((name, _value_key(value, depth + 1)))
    return tuple(items)


def _array_key(x: Any) -> Hashable:
    array = np.asarray(x)
    if array.nbytes > _MAX_VALUE_BYTES:
        return ("array-id", _Identity(x))
    return ("array", array.shape, array.dtype.str, array.tobytes())


def _value_key(value: Any, depth: int) -> Hashable:
    if depth > _MAX_DEPTH:
        return ("id", _Identity(value))
    if isinstance(value, _compat.ClosedJaxpr):
        return ("closed", _jaxpr_key(value.jaxpr, depth), tuple(_array_key(c) for c in value.consts))
    if isinstance(value, _compat.Jaxpr):
        return ("jaxpr", _jaxpr_key(value, depth))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_value_key(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), _value_key(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        return _array_key(value)
    if isinstance(value, (float, complex)):  # by bits: 0.0 == -0.0 in Python, not in a program
        return ("number", type(value), repr(value))
    if callable(value) and not isinstance(value, type):
        return _function_key(value, depth + 1)
    try:
        hash(value)
    except TypeError:
        return ("id", _Identity(value))
    return ("value", type(value), value)


def _function_key(fun: Any, depth: int) -> Hashable:
    """A function by what it runs: code, defaults and captured values (bound objects by identity)."""
    if isinstance(fun, functools.partial):
        return (
            "partial",
            _value_key(fun.func, depth),
            _value_key(fun.args, depth),
            _value_key(fun.keywords, depth),
        )
    self_obj = getattr(fun, "__self__", None)
    func = getattr(fun, "__func__", None)
    if self_obj is not None and func is not None:
        return ("method", _function_key(func, depth + 1), _Identity(self_obj))
    code = getattr(fun, "__code__", None)
    if code is None:
        return ("id", _Identity(fun))
    cells = getattr(fun, "__closure__", None) or ()
    captured: list[Hashable] = []
    for cell in cells:
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            captured.append(("empty",))
            continue
        captured.append(_captured_key(contents, depth + 1))
    return (
        "function",
        code,
        _value_key(getattr(fun, "__defaults__", None), depth),
        _value_key(getattr(fun, "__kwdefaults__", None), depth),
        tuple(captured),
        id(getattr(fun, "__globals__", None)),
    )


def _captured_key(value: Any, depth: int) -> Hashable:
    # Immutable values and functions are compared by value; anything else (a mutable object the function
    # may read when it runs) by identity.
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return ("value", type(value), value)
    if (
        isinstance(value, (float, complex, tuple))
        or callable(value)
        or isinstance(value, jax.tree_util.PyTreeDef)
    ):
        return _value_key(value, depth)
    if isinstance(value, (np.ndarray, jax.Array)):
        return _array_key(value) if not isinstance(value, np.ndarray) else ("id", _Identity(value))
    return ("id", _Identity(value))
