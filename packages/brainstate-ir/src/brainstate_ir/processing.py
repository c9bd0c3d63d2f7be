"""Build jaxprs from equations, and inline jit equations.

``eqns_to_jaxpr`` / ``eqns_to_closed_jaxpr`` assemble a program from a list of equations (for example a
slice of another jaxpr), inferring its inputs and outputs when they are not given and rejecting
malformed programs with a ``JaxprValidationError``. ``inline_jit`` replaces ``jit`` (``pjit`` on older
JAX) equations by their bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from brainstate_state import BrainStateError

from .compat import (
    ClosedJaxpr,
    DropVar,
    Jaxpr,
    JaxprEqn,
    Literal,
    Var,
    is_jit_primitive,
    jaxpr_and_consts,
    make_debug_info,
    map_jaxpr,
    new_var,
)
from .optimize._utils import map_subjaxprs

__all__ = ["JaxprValidationError", "eqns_to_closed_jaxpr", "eqns_to_jaxpr", "inline_jit"]

J = TypeVar("J", Jaxpr, ClosedJaxpr)
Atom = Var | Literal


class JaxprValidationError(BrainStateError, ValueError):
    """Equations and binders do not form a well-formed jaxpr."""


def _check_vars(name: str, atoms: Sequence[Any], allow_literals: bool) -> None:
    for i, atom in enumerate(atoms):
        ok = isinstance(atom, Var) and not isinstance(atom, DropVar)
        if not ok and not (allow_literals and isinstance(atom, Literal)):
            raise JaxprValidationError(
                f"{name}[{i}] must be a jaxpr Var{' or Literal' if allow_literals else ''}, "
                f"got {type(atom).__name__}: {atom!r}."
            )


def eqns_to_jaxpr(
    eqns: Sequence[JaxprEqn],
    invars: Sequence[Var] | None = None,
    outvars: Sequence[Atom] | None = None,
    constvars: Sequence[Var] | None = None,
) -> Jaxpr:
    """Assemble a ``Jaxpr`` from equations, inferring its inputs and outputs when not given.

    Inference rules:

    * ``invars`` (default): every variable an equation reads that no equation defines (and that is not
      a constvar), in order of first use;
    * ``outvars`` (default): every variable an equation defines that no equation reads, in order of
      definition (the "leaves" of the program; ``_`` binders are skipped);
    * ``constvars`` (default): none.

    Parameters
    ----------
    eqns : sequence of JaxprEqn
        The equations, in execution order.
    invars, outvars, constvars : sequence of Var, optional
        Binders of the program; ``outvars`` may also hold literals.

    Returns
    -------
    Jaxpr
        The program, with effects the union of its equations' effects.

    Raises
    ------
    JaxprValidationError
        If an equation reads a variable before it is defined (or that is never defined when ``invars``
        is given), a variable is defined twice (or is both an input and defined by an equation), an
        output is never defined, or a binder is not a variable.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.processing import eqns_to_jaxpr
    >>> jaxpr = jax.make_jaxpr(lambda x, y: jnp.sin(x) * y)(1.0, 2.0).jaxpr
    >>> rebuilt = eqns_to_jaxpr(jaxpr.eqns)
    >>> rebuilt.invars == jaxpr.invars, rebuilt.outvars == jaxpr.outvars
    (True, True)
    """
    eqns = list(eqns)
    constvars = list(constvars) if constvars is not None else []
    _check_vars("constvars", constvars, allow_literals=False)
    defined: dict[Var, int] = {v: -1 for v in constvars}
    if invars is not None:
        invars = list(invars)
        _check_vars("invars", invars, allow_literals=False)
        for v in invars:
            if v in defined:
                raise JaxprValidationError(f"variable {v} appears twice among invars/constvars.")
            defined[v] = -1
    inferred_invars: list[Var] = []
    first_read: dict[Var, int] = {}  # inferred inputs -> first equation reading them
    read: set[Var] = set()
    for i, eqn in enumerate(eqns):
        if not isinstance(eqn, JaxprEqn):
            raise JaxprValidationError(f"eqns[{i}] must be a JaxprEqn, got {type(eqn).__name__}.")
        for atom in eqn.invars:
            if isinstance(atom, Literal):
                continue
            v = atom
            read.add(v)
            if v in defined:
                continue
            if invars is not None:
                raise JaxprValidationError(
                    f"equation {i} ({eqn.primitive.name}) reads {v}, which is neither an input, a constvar, "
                    "nor defined by an earlier equation."
                )
            inferred_invars.append(v)
            first_read[v] = i
            defined[v] = -1
        for v in eqn.outvars:
            if isinstance(v, DropVar):
                continue
            if v in first_read:
                raise JaxprValidationError(
                    f"equation {first_read[v]} reads {v} before equation {i} ({eqn.primitive.name}) defines it."
                )
            if v in defined:
                where = "an input" if defined[v] < 0 else f"equation {defined[v]}"
                raise JaxprValidationError(
                    f"variable {v} is defined twice: by {where} and by equation {i} ({eqn.primitive.name})."
                )
            defined[v] = i
    if outvars is None:
        outvars = [v for e in eqns for v in e.outvars if not isinstance(v, DropVar) and v not in read]
    else:
        outvars = list(outvars)
        _check_vars("outvars", outvars, allow_literals=True)
        for out in outvars:
            if isinstance(out, Var) and out not in defined:
                raise JaxprValidationError(f"output {out} is not defined by any equation or input.")
    effects = frozenset().union(*(e.effects for e in eqns)) if eqns else frozenset()
    invars = invars if invars is not None else inferred_invars
    debug_info = make_debug_info("eqns_to_jaxpr", len(invars), len(outvars))
    return Jaxpr(constvars, invars, outvars, eqns, effects, debug_info)


def eqns_to_closed_jaxpr(
    eqns: Sequence[JaxprEqn],
    invars: Sequence[Var] | None = None,
    outvars: Sequence[Atom] | None = None,
    constvars: Sequence[Var] | None = None,
    consts: Sequence[Any] | None = None,
) -> ClosedJaxpr:
    """Assemble a ``ClosedJaxpr`` from equations, with ``consts`` bound to ``constvars``.

    Binders are inferred as in :func:`eqns_to_jaxpr`.

    Parameters
    ----------
    eqns : sequence of JaxprEqn
        The equations, in execution order.
    invars, outvars, constvars : sequence of Var, optional
        Binders of the program.
    consts : sequence, optional
        One value per constvar (default: none).

    Returns
    -------
    ClosedJaxpr

    Raises
    ------
    JaxprValidationError
        On malformed equations (see :func:`eqns_to_jaxpr`), or if the number of consts differs from the
        number of constvars.

    Examples
    --------
    >>> import jax, jax.extend, jax.numpy as jnp
    >>> from brainstate_ir.processing import eqns_to_closed_jaxpr
    >>> closed = jax.make_jaxpr(lambda x: jnp.cos(x) + 1.0)(0.0)
    >>> rebuilt = eqns_to_closed_jaxpr(closed.jaxpr.eqns)
    >>> jax.extend.core.jaxpr_as_fun(rebuilt)(0.0)[0].item()
    2.0
    """
    constvars = list(constvars) if constvars is not None else []
    consts = list(consts) if consts is not None else []
    if len(consts) != len(constvars):
        raise JaxprValidationError(
            f"eqns_to_closed_jaxpr: got {len(consts)} consts for {len(constvars)} constvars; "
            "pass one value per constvar."
        )
    return ClosedJaxpr(eqns_to_jaxpr(eqns, invars, outvars, constvars), consts)


def _inline(jaxpr: Jaxpr, should_expand: Callable[[JaxprEqn], bool], memo: dict[int, Any]) -> Jaxpr:
    env: dict[Var, Atom] = {}
    eqns: list[JaxprEqn] = []

    def sub(atoms: Sequence[Any]) -> list[Atom]:
        return [env.get(a, a) if isinstance(a, Var) else a for a in atoms]

    for eqn in jaxpr.eqns:
        eqn = map_subjaxprs(eqn, lambda j: _inline(j, should_expand, memo), memo).replace(
            invars=sub(eqn.invars)
        )
        if not (is_jit_primitive(eqn.primitive) and should_expand(eqn)):
            eqns.append(eqn)
            continue
        body, body_consts = jaxpr_and_consts(eqn.params["jaxpr"])
        # Fresh variables for everything the body defines: one body may be inlined at several sites.
        renamed: dict[Var, Atom] = dict(zip(body.invars, eqn.invars, strict=True))
        renamed.update((v, Literal(c, v.aval)) for v, c in zip(body.constvars, body_consts, strict=True))
        for inner in body.eqns:
            new_outvars: list[Any] = [
                v if isinstance(v, DropVar) else renamed.setdefault(v, new_var(v.aval)) for v in inner.outvars
            ]
            new_invars = [renamed.get(a, a) if isinstance(a, Var) else a for a in inner.invars]
            eqns.append(inner.replace(invars=new_invars, outvars=new_outvars))
        for outer, result in zip(eqn.outvars, body.outvars, strict=True):
            if not isinstance(outer, DropVar):
                env[outer] = renamed.get(result, result) if isinstance(result, Var) else result
    new_jaxpr: Jaxpr = jaxpr.replace(eqns=eqns, outvars=sub(jaxpr.outvars))
    return new_jaxpr


def inline_jit(jaxpr: J, should_expand: Callable[[JaxprEqn], bool] | None = None) -> J:
    """Replace ``jit`` equations by the equations of their bodies, recursively.

    Bodies are inlined with fresh variables (a body traced once and called twice is inlined twice), the
    consts of a body become literals, and jit equations nested in other bodies (cond branches, loop
    bodies, custom derivatives) are inlined too. The jit primitive is named ``pjit`` on older JAX and
    ``jit`` on newer; both are recognised.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program. It is not modified.
    should_expand : callable, optional
        ``should_expand(eqn) -> bool`` decides for each jit equation (its ``params['name']`` is the
        function's name); default: inline all.

    Returns
    -------
    Jaxpr or ClosedJaxpr
        A program of the same kind with the same interface and values.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.processing import inline_jit
    >>> closed = jax.make_jaxpr(lambda x: jax.jit(jnp.sin)(x) * 2.0)(1.0)
    >>> [e.primitive.name for e in inline_jit(closed).jaxpr.eqns]
    ['sin', 'mul']
    """
    predicate = should_expand if should_expand is not None else (lambda eqn: True)
    if not isinstance(jaxpr, (ClosedJaxpr, Jaxpr)):
        raise TypeError(f"inline_jit expects a jax Jaxpr or ClosedJaxpr, got {type(jaxpr).__name__}.")
    return map_jaxpr(jaxpr, lambda body: _inline(body, predicate, {}))
