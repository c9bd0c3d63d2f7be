"""Dead code elimination: drop equations none of whose outputs is used."""

from __future__ import annotations

from typing import Any

from ..compat import Jaxpr, JaxprEqn, Var
from ._utils import IMPURE_PRIMITIVES, J, map_subjaxprs, run_pass

__all__ = ["dead_code_elimination"]


def _removable(eqn: JaxprEqn) -> bool:
    # Random draws without effects may go when unused (keys are values); callbacks and effects stay.
    return not eqn.effects and eqn.primitive.name not in IMPURE_PRIMITIVES


def _dce(jaxpr: Jaxpr, memo: dict[int, Any]) -> Jaxpr:
    live: set[Var] = {v for v in jaxpr.outvars if isinstance(v, Var)}
    kept: list[JaxprEqn] = []
    for eqn in reversed(jaxpr.eqns):
        if _removable(eqn) and not any(v in live for v in eqn.outvars):
            continue
        eqn = map_subjaxprs(eqn, lambda j: _dce(j, memo), memo)
        live.update(v for v in eqn.invars if isinstance(v, Var))
        kept.append(eqn)
    kept.reverse()
    new_jaxpr: Jaxpr = jaxpr.replace(eqns=kept)
    return new_jaxpr


def dead_code_elimination(jaxpr: J) -> J:
    """Remove equations whose outputs are never used.

    Works backwards from the outputs, keeping every equation that produces a live variable, has an effect
    (printing, callbacks, ordered IO) or is a host/device primitive. The bodies of control-flow, jit and
    custom-derivative equations are cleaned the same way; their interfaces are left unchanged. Runs in
    time linear in the number of equations.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program to clean. It is not modified.

    Returns
    -------
    Jaxpr or ClosedJaxpr
        A program of the same kind, with the same inputs and outputs.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.optimize import dead_code_elimination
    >>> def f(x):
    ...     unused = jnp.sin(x)
    ...     return x * 2.0
    >>> jaxpr = jax.make_jaxpr(f)(1.0).jaxpr
    >>> len(jaxpr.eqns), len(dead_code_elimination(jaxpr).eqns)
    (2, 1)
    """
    return run_pass(_dce, jaxpr, "dead_code_elimination")
