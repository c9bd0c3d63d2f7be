"""Constant folding: evaluate pure equations whose inputs are all literals."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from ..compat import Jaxpr, JaxprEqn, Literal, Var
from ._utils import Atom, J, forward_substitution, is_pure, literal_value, run_pass, subjaxprs

__all__ = ["DEFAULT_MAX_CONSTANT_SIZE", "constant_fold"]

#: Largest number of elements a folded result may have. Bigger results stay computed at run time,
#: so folding never bakes a large array (e.g. a broadcast of a scalar) into the program.
DEFAULT_MAX_CONSTANT_SIZE = 1024


def _size(aval: Any) -> int:
    return math.prod(getattr(aval, "shape", ()))


def _as_literal(value: Any, var: Var) -> Literal | None:
    """``value`` as a literal of ``var``'s type, or ``None`` if its shape or dtype does not match."""
    array = np.asarray(value)
    aval: Any = var.aval
    if array.shape != tuple(aval.shape) or array.dtype != aval.dtype:
        return None
    return Literal(array[()] if array.ndim == 0 else array, var.aval)


def _fold(eqn: JaxprEqn, invars: list[Atom], max_size: int) -> list[Literal] | None:
    """The outputs of ``eqn`` as literals when it can be evaluated now, else ``None``."""
    if not is_pure(eqn) or subjaxprs(eqn.params):
        return None
    values = [literal_value(a) for a in invars]
    if any(v is None for v in values) or any(_size(v.aval) > max_size for v in eqn.outvars):
        return None
    try:
        # Evaluate eagerly even if we are called while JAX traces something else.
        with jax.ensure_compile_time_eval():
            outs = eqn.primitive.bind(*values, **eqn.params)
    except Exception:  # noqa: BLE001 - anything that cannot run ahead of time simply stays in the program
        return None
    outs = outs if eqn.primitive.multiple_results else [outs]
    literals = [_as_literal(o, v) for o, v in zip(outs, eqn.outvars, strict=False)]
    if len(literals) != len(eqn.outvars) or any(lit is None for lit in literals):
        return None
    return literals  # type: ignore[return-value]


def _constant_fold(jaxpr: Jaxpr, memo: dict[int, Any], max_size: int) -> Jaxpr:
    return forward_substitution(
        jaxpr,
        memo,
        lambda eqn, invars, defs: _fold(eqn, invars, max_size),
        lambda j: _constant_fold(j, memo, max_size),
    )


def constant_fold(jaxpr: J, *, max_constant_size: int = DEFAULT_MAX_CONSTANT_SIZE) -> J:
    """Evaluate equations whose inputs are all known and replace their results by literals.

    An equation is folded when every input is a literal (or the folded result of an earlier equation),
    it is pure (no effect, not a random-key primitive or callback, no key-typed values), holds no
    sub-jaxpr, and each of its results has at most ``max_constant_size`` elements. Folded values feed
    later equations and may become program outputs (as literals of the same type). Constvars are not
    known values here. Sub-jaxprs are folded on their own.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program to fold. It is not modified.
    max_constant_size : int, optional
        Largest number of elements of a folded result; default ``DEFAULT_MAX_CONSTANT_SIZE`` (1024).

    Returns
    -------
    Jaxpr or ClosedJaxpr
        A program of the same kind, with the same inputs and output types.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.optimize import constant_fold
    >>> jaxpr = jax.make_jaxpr(lambda x: x + jnp.exp(2.0) * 3.0)(1.0).jaxpr
    >>> [e.primitive.name for e in constant_fold(jaxpr).eqns]
    ['add']
    """
    if max_constant_size < 0:
        raise ValueError(f"constant_fold: max_constant_size must be >= 0, got {max_constant_size}.")
    return run_pass(lambda j, memo: _constant_fold(j, memo, max_constant_size), jaxpr, "constant_fold")
