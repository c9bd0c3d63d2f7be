"""Algebraic simplification: rewrite ``x + 0``, ``x * 1``, ``-(-x)`` and friends to ``x``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..compat import Jaxpr, JaxprEqn, Literal, Var
from ._utils import Atom, J, aval_of, forward_substitution, literal_value, run_pass, same_type

__all__ = ["algebraic_simplification"]

_Rule = Callable[[JaxprEqn, list[Atom], dict[Var, JaxprEqn]], "Atom | None"]


def _is_const(atom: Atom, value: float) -> bool:
    """Whether ``atom`` is a literal all of whose elements equal ``value``."""
    array = literal_value(atom)
    return array is not None and array.size > 0 and bool(np.all(array == value))


def _is_integral(atom: Atom) -> bool:
    dtype = np.dtype(aval_of(atom).dtype)
    return dtype == np.bool_ or np.issubdtype(dtype, np.integer)


def _identity_operand(identity: float, commutative: bool) -> _Rule:
    """Rule for ``x op identity -> x`` (and ``identity op x -> x`` when ``commutative``)."""

    def rule(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
        x, y = invars
        if _is_const(y, identity):
            return x
        if commutative and _is_const(x, identity):
            return y
        return None

    return rule


def _zero_product(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    # x * 1 -> x always; x * 0 -> 0 only for integers and booleans (0 * inf and 0 * nan are nan).
    x, y = invars
    if _is_const(y, 1):
        return x
    if _is_const(x, 1):
        return y
    out = eqn.outvars[0]
    if _is_integral(out) and (_is_const(x, 0) or _is_const(y, 0)) and np.prod(aval_of(out).shape) <= 1024:
        aval = aval_of(out)
        return Literal(np.zeros(aval.shape, aval.dtype)[()], aval)
    return None


def _idempotent(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    # max(x, x) = min(x, x) = x; for integers/booleans also and(x, x) = or(x, x) = x.
    x, y = invars
    if isinstance(x, Var) and x is y and (eqn.primitive.name in ("max", "min") or _is_integral(x)):
        return x
    return None


def _extremum(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    # max(x, x) = x; max(x, -inf) = x and min(x, +inf) = x (NaN still propagates: max(nan, -inf) is nan).
    same = _idempotent(eqn, invars, defs)
    if same is not None:
        return same
    dtype = np.dtype(aval_of(eqn.outvars[0]).dtype)
    is_max = eqn.primitive.name == "max"
    if np.issubdtype(dtype, np.floating):
        identity: Any = -np.inf if is_max else np.inf
    elif np.issubdtype(dtype, np.integer):
        identity = np.iinfo(dtype).min if is_max else np.iinfo(dtype).max
    elif dtype == np.bool_:
        identity = not is_max
    else:
        return None
    x, y = invars
    if _is_const(y, identity):
        return x
    if _is_const(x, identity):
        return y
    return None


def _logical_identity(identity: bool) -> _Rule:
    def rule(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
        if np.dtype(aval_of(eqn.outvars[0]).dtype) != np.bool_:
            return _idempotent(eqn, invars, defs)
        x, y = invars
        if _is_const(y, identity):
            return x
        if _is_const(x, identity):
            return y
        return _idempotent(eqn, invars, defs)

    return rule


def _involution(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    # -(-x) -> x, not(not(x)) -> x
    (x,) = invars
    inner = defs.get(x) if isinstance(x, Var) else None
    if inner is not None and inner.primitive is eqn.primitive and not inner.effects:
        return inner.invars[0]
    return None


def _power_one(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    if eqn.primitive.name == "integer_pow":
        return invars[0] if eqn.params["y"] == 1 else None
    return invars[0] if _is_const(invars[1], 1) else None


def _select(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> Atom | None:
    which, *cases = invars
    first = cases[0]
    if all(c is first for c in cases[1:]) and isinstance(first, Var):
        return first
    index = literal_value(which)
    if index is not None and index.ndim == 0:
        return cases[int(np.clip(int(index), 0, len(cases) - 1))]
    return None


_RULES: dict[str, _Rule] = {
    "add": _identity_operand(0, commutative=True),
    "add_any": _identity_operand(0, commutative=True),
    "sub": _identity_operand(0, commutative=False),
    "mul": _zero_product,
    "div": _identity_operand(1, commutative=False),
    "max": _extremum,
    "min": _extremum,
    "and": _logical_identity(True),
    "or": _logical_identity(False),
    "neg": _involution,
    "not": _involution,
    "integer_pow": _power_one,
    "pow": _power_one,
    "select_n": _select,
}


def _rewrite(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> list[Atom] | None:
    rule = _RULES.get(eqn.primitive.name)
    if rule is None or eqn.effects or len(eqn.outvars) != 1:
        return None
    result = rule(eqn, invars, defs)
    # Only substitute a value of exactly the same type (shape, dtype, weak type).
    if result is not None and same_type(result.aval, eqn.outvars[0].aval):
        return [result]
    return None


def _simplify(jaxpr: Jaxpr, memo: dict[int, Any]) -> Jaxpr:
    return forward_substitution(jaxpr, memo, _rewrite, lambda j: _simplify(j, memo))


def algebraic_simplification(jaxpr: J) -> J:
    """Rewrite arithmetic identities so that their results are read from the operand directly.

    Rules: ``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x``, ``x / 1``, ``x ** 1`` -> ``x``;
    ``-(-x)`` and ``not(not x)`` -> ``x``; ``max(x, x)``, ``min(x, x)``, ``max(x, -inf)``,
    ``min(x, +inf)`` -> ``x`` (the dtype's lowest/highest value for integers); for booleans
    ``x & True``, ``x | False`` -> ``x``; ``select_n`` with identical cases or a literal selector -> that
    case; for integers and booleans only, ``x * 0`` -> ``0`` (for floats it is not an identity: ``0 * inf``
    is ``nan``). A rewrite applies only when the operand has exactly the result's type (no implicit
    broadcast or weak-type change). ``x + 0.0`` turns a ``-0.0`` into ``-0.0`` instead of ``+0.0``; the two
    compare equal. Sub-jaxprs are processed too.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program to rewrite. It is not modified.

    Returns
    -------
    Jaxpr or ClosedJaxpr
        A program of the same kind, with the same inputs and output types.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.optimize import algebraic_simplification
    >>> jaxpr = jax.make_jaxpr(lambda x: jnp.sin(x * 1.0 + 0.0))(jnp.ones(3)).jaxpr
    >>> [e.primitive.name for e in algebraic_simplification(jaxpr).eqns]
    ['sin']
    """
    return run_pass(_simplify, jaxpr, "algebraic_simplification")
