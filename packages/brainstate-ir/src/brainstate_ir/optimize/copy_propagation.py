"""Copy propagation: replace the results of copies and no-op conversions by their operands."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compat import Jaxpr, JaxprEqn, Var
from ._utils import Atom, J, aval_of, forward_substitution, run_pass, same_type

__all__ = ["copy_propagation"]

_COPIES = frozenset({"copy", "copy_p"})
# Structural primitives that are the identity when their result has exactly the operand's type.
_IDENTITY_WHEN_SAME_TYPE = frozenset(
    {"convert_element_type", "reshape", "broadcast_in_dim", "squeeze", "reduce_precision"}
)
_REDUCTIONS = frozenset({"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or"})


def _copied_operand(eqn: JaxprEqn, invars: list[Atom]) -> Atom | None:
    """The operand ``eqn`` merely copies, or ``None``."""
    if len(invars) != 1 or len(eqn.outvars) != 1:
        return None
    name, params, (x,) = eqn.primitive.name, eqn.params, invars
    if not same_type(x.aval, eqn.outvars[0].aval):
        return None
    if name in _COPIES:
        return x
    if name in _IDENTITY_WHEN_SAME_TYPE:
        if name == "reshape" and params.get("dimensions") is not None:
            return None
        if name == "reduce_precision":
            finfo = np.finfo(aval_of(x).dtype)
            if (params["exponent_bits"], params["mantissa_bits"]) != (finfo.nexp, finfo.nmant):
                return None
        return x
    if name == "transpose" and tuple(params["permutation"]) == tuple(range(len(params["permutation"]))):
        return x
    if name in _REDUCTIONS and tuple(params.get("axes", (None,))) == ():
        return x
    return None


def _rewrite(eqn: JaxprEqn, invars: list[Atom], defs: dict[Var, JaxprEqn]) -> list[Atom] | None:
    source = None if eqn.effects else _copied_operand(eqn, invars)
    return None if source is None else [source]


def _copy_prop(jaxpr: Jaxpr, memo: dict[int, Any]) -> Jaxpr:
    return forward_substitution(jaxpr, memo, _rewrite, lambda j: _copy_prop(j, memo))


def copy_propagation(jaxpr: J) -> J:
    """Remove copies and no-op conversions, using their operands instead.

    An equation is a copy when it is ``copy``/``copy_p``, or a ``convert_element_type``, ``reshape``,
    ``broadcast_in_dim``, ``squeeze``, identity ``transpose`` or empty-axes reduction whose result has
    exactly its operand's type (shape, dtype and weak type). Later uses of its result, including the
    program's outputs, read the operand directly. Sub-jaxprs are processed too.

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
    >>> from brainstate_ir.optimize import copy_propagation
    >>> jaxpr = jax.make_jaxpr(lambda x: jnp.sin(x.astype(jnp.float32)))(jnp.ones(3)).jaxpr
    >>> [e.primitive.name for e in copy_propagation(jaxpr).eqns]
    ['sin']
    """
    return run_pass(_copy_prop, jaxpr, "copy_propagation")
