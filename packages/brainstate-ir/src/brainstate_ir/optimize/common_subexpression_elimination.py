"""Common subexpression elimination: compute each distinct pure expression once."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from ..compat import Jaxpr, JaxprEqn, Literal, Var
from ._utils import Atom, J, is_dropvar, is_pure, literal_value, map_subjaxprs, run_pass, substitute

__all__ = ["common_subexpression_elimination"]

# remat asks explicitly not to be merged with other computations (``prevent_cse``).
_NEVER_MERGED = frozenset({"checkpoint", "remat", "remat2"})


class _Unhashable(Exception):
    pass


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for a param value, compared by value; raises ``_Unhashable`` if there is none."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, *(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", *sorted((k, _freeze(v)) for k, v in value.items()))
    try:
        hash(value)
    except TypeError as err:
        raise _Unhashable from err
    return value  # type: ignore[no-any-return]


def _atom_key(atom: Atom) -> Hashable:
    if isinstance(atom, Literal):
        value = literal_value(atom)
        if value is None:
            raise _Unhashable
        aval: Any = atom.aval
        return ("literal", aval.dtype, aval.shape, aval.weak_type, value.tobytes())
    return atom


def _eqn_key(eqn: JaxprEqn, invars: list[Atom]) -> Hashable | None:
    if not is_pure(eqn) or eqn.primitive.name in _NEVER_MERGED:
        return None
    try:
        params = tuple(sorted((k, _freeze(v)) for k, v in eqn.params.items()))
        return (eqn.primitive, tuple(_atom_key(a) for a in invars), params)
    except (_Unhashable, TypeError):
        return None


def _cse(jaxpr: Jaxpr, memo: dict[int, Any]) -> Jaxpr:
    env: dict[Var, Atom] = {}
    seen: dict[Hashable, list[Var]] = {}
    eqns: list[JaxprEqn] = []
    for eqn in jaxpr.eqns:
        eqn = map_subjaxprs(eqn, lambda j: _cse(j, memo), memo)
        invars = substitute(eqn.invars, env)
        key = _eqn_key(eqn, invars)
        if key is not None:
            earlier = seen.get(key)
            if earlier is not None:
                for new, old in zip(eqn.outvars, earlier, strict=True):
                    if not is_dropvar(new):
                        env[new] = old
                continue
            if not any(is_dropvar(v) for v in eqn.outvars):
                seen[key] = list(eqn.outvars)
        eqns.append(eqn.replace(invars=invars))
    new_jaxpr: Jaxpr = jaxpr.replace(eqns=eqns, outvars=substitute(jaxpr.outvars, env))
    return new_jaxpr


def common_subexpression_elimination(jaxpr: J) -> J:
    """Compute each repeated pure expression once and reuse its result.

    Two equations are the same expression when they apply the same primitive, with equal params, to the
    same variables or equal literals. Effectful equations, random-key primitives, callbacks and remat are
    never merged. Each sub-jaxpr is processed on its own (expressions are not shared across bodies). One
    dict lookup per equation: linear time.

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
    >>> from brainstate_ir.optimize import common_subexpression_elimination
    >>> jaxpr = jax.make_jaxpr(lambda x: jnp.sin(x) + jnp.sin(x))(1.0).jaxpr
    >>> [e.primitive.name for e in common_subexpression_elimination(jaxpr).eqns]
    ['sin', 'add']
    """
    return run_pass(_cse, jaxpr, "common_subexpression_elimination")
