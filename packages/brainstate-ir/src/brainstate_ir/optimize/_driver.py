"""``optimize_jaxpr``: run the optimisation passes to a fixpoint and check the interface is unchanged."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

from brainstate_state import BrainStateError

from ..compat import ClosedJaxpr, Jaxpr, map_jaxpr
from ._utils import J, count_eqns, same_type
from .algebraic_simplification import algebraic_simplification
from .common_subexpression_elimination import common_subexpression_elimination
from .constant_fold import constant_fold
from .copy_propagation import copy_propagation
from .dead_code_elimination import dead_code_elimination

__all__ = ["PASSES", "JaxprInterfaceError", "optimize_jaxpr"]

#: The passes ``optimize_jaxpr`` knows, by name, in their default order.
PASSES: dict[str, Callable[[Jaxpr], Jaxpr]] = {
    "constant_fold": constant_fold,
    "algebraic_simplification": algebraic_simplification,
    "copy_propagation": copy_propagation,
    "cse": common_subexpression_elimination,
    "dce": dead_code_elimination,
}


class JaxprInterfaceError(BrainStateError, RuntimeError):
    """An optimisation changed a jaxpr's inputs, outputs or effects (a bug in a pass)."""


def _check_interface(before: Jaxpr, after: Jaxpr, pass_name: str) -> None:
    problems = []
    if list(before.invars) != list(after.invars) or list(before.constvars) != list(after.constvars):
        problems.append("its input variables changed")
    if len(before.outvars) != len(after.outvars):
        problems.append(f"it has {len(after.outvars)} outputs instead of {len(before.outvars)}")
    else:
        for i, (old, new) in enumerate(zip(before.outvars, after.outvars, strict=True)):
            if not same_type(old.aval, new.aval):
                problems.append(
                    f"output {i} has type {new.aval.str_short(short_dtypes=True)} instead of {old.aval.str_short(short_dtypes=True)}"
                )
    if before.effects != after.effects:
        problems.append(f"its effects changed from {before.effects} to {after.effects}")
    if problems:
        raise JaxprInterfaceError(
            f"optimize_jaxpr: pass '{pass_name}' changed the jaxpr's interface: "
            + "; ".join(problems)
            + ". Please report this as a bug."
        )


def _resolve(optimizations: Sequence[str] | None) -> list[str]:
    if optimizations is None:
        return list(PASSES)
    if isinstance(optimizations, str):
        optimizations = [optimizations]
    unknown = [name for name in optimizations if name not in PASSES]
    if unknown:
        raise ValueError(
            f"optimize_jaxpr: unknown optimization(s) {unknown}; valid names are {list(PASSES)}."
        )
    return list(optimizations)


def optimize_jaxpr(
    jaxpr: J,
    max_iterations: int = 3,
    optimizations: Sequence[str] | None = None,
    verbose: bool = False,
) -> J:
    """Apply optimisation passes repeatedly until nothing changes or ``max_iterations`` is reached.

    Each iteration runs the chosen passes in order. Every pass only removes equations, so the iteration
    stops as soon as a whole round leaves the (recursive) equation count unchanged. After every pass the
    interface is checked: same input variables, same number and types of outputs, same effects.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program to optimise. It is not modified; a ``ClosedJaxpr`` keeps its consts.
    max_iterations : int, optional
        Most rounds of passes to run (default 3, at least 1).
    optimizations : sequence of str, optional
        Passes to run, in order, from ``'constant_fold'``, ``'algebraic_simplification'``,
        ``'copy_propagation'``, ``'cse'`` and ``'dce'``. Default: all of them in that order.
    verbose : bool, optional
        Print the equation count after each pass.

    Returns
    -------
    Jaxpr or ClosedJaxpr
        The optimised program, of the same kind as ``jaxpr``.

    Raises
    ------
    ValueError
        If ``optimizations`` names an unknown pass or ``max_iterations < 1``.
    TypeError
        If ``jaxpr`` is neither a ``Jaxpr`` nor a ``ClosedJaxpr``.
    JaxprInterfaceError
        If a pass changed the interface (this is a bug).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.optimize import optimize_jaxpr
    >>> def f(x):
    ...     y = x * 1.0 + 0.0
    ...     dead = jnp.cos(x)
    ...     return jnp.sin(y) + jnp.sin(y)
    >>> closed = jax.make_jaxpr(f)(jnp.ones(3))
    >>> optimized = optimize_jaxpr(closed)
    >>> [e.primitive.name for e in optimized.jaxpr.eqns]
    ['sin', 'add']
    >>> bool((jax.core.eval_jaxpr(optimized.jaxpr, optimized.consts, jnp.ones(3))[0]
    ...       == f(jnp.ones(3))).all())
    True
    """
    names = _resolve(optimizations)
    if max_iterations < 1:
        raise ValueError(f"optimize_jaxpr: max_iterations must be >= 1, got {max_iterations}.")
    if not isinstance(jaxpr, (Jaxpr, ClosedJaxpr)):
        raise TypeError(
            f"optimize_jaxpr expects a jax Jaxpr or ClosedJaxpr, got {type(jaxpr).__name__}. "
            "Use jax.make_jaxpr(fn)(*args) to get one."
        )
    return map_jaxpr(jaxpr, lambda body: _optimize_body(body, max_iterations, names, verbose))


def _optimize_body(jaxpr: Jaxpr, max_iterations: int, names: list[str], verbose: bool) -> Jaxpr:
    # The passes allocate many short-lived objects and no reference cycles: pausing the cyclic garbage
    # collector keeps the run time linear in the jaxpr size (its full collections grow with the heap).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _optimize(jaxpr, max_iterations, names, verbose)
    finally:
        if gc_was_enabled:
            gc.enable()


def _optimize(jaxpr: Jaxpr, max_iterations: int, names: list[str], verbose: bool) -> Jaxpr:
    current: Jaxpr = jaxpr
    size = count_eqns(current)
    if verbose:
        print(f"optimize_jaxpr: {size} equations")
    for iteration in range(max_iterations):
        for name in names:
            new = PASSES[name](current)
            _check_interface(jaxpr, new, name)
            current = new
            if verbose:
                print(f"  round {iteration + 1}, {name}: {count_eqns(current)} equations")
        new_size = count_eqns(current)
        if new_size == size:
            break
        size = new_size
    return current
