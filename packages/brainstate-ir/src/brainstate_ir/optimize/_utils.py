"""Helpers shared by the optimisation passes: substitution, sub-jaxpr recursion, purity tests.

Every pass is a single forward (or backward) sweep over the equations with dicts keyed by variable, so its
cost is linear in the number of equations. Sub-jaxprs (cond branches, loop bodies, jit bodies, custom
derivative primal bodies, remat bodies) are rewritten with the same pass; since every pass keeps a jaxpr's
interface (its invars, its outvar count and types), a rewritten sub-jaxpr can replace the original in any
position.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ..compat import (
    ClosedJaxpr,
    DropVar,
    Jaxpr,
    JaxprEqn,
    Literal,
    Var,
    is_extended_dtype,
    jaxpr_and_consts,
    map_jaxpr,
)

__all__ = [
    "Atom",
    "AtomRewrite",
    "J",
    "JaxprPass",
    "RANDOM_PRIMITIVES",
    "IMPURE_PRIMITIVES",
    "aval_of",
    "count_eqns",
    "forward_substitution",
    "is_dropvar",
    "is_pure",
    "literal_value",
    "map_subjaxprs",
    "run_pass",
    "same_type",
    "substitute",
    "subjaxprs",
]

Atom = Var | Literal
JaxprPass = Callable[[Jaxpr], Jaxpr]
J = TypeVar("J", Jaxpr, ClosedJaxpr)
#: ``rewrite(eqn, invars, defs)``: the atoms that replace the equation's results, or None to keep it.
#: ``invars`` are its inputs after earlier replacements; ``defs`` maps each variable to the kept equation
#: that defines it.
AtomRewrite = Callable[[JaxprEqn, list[Atom], dict[Var, JaxprEqn]], Sequence[Atom] | None]

#: Primitives that create, split or consume PRNG keys. They are never folded or deduplicated: a
#: random draw must stay a draw in the program even when its key happens to be constant.
RANDOM_PRIMITIVES: frozenset[str] = frozenset(
    {
        "random_bits",
        "random_seed",
        "random_split",
        "random_fold_in",
        "random_wrap",
        "random_unwrap",
        "random_clone",
        "random_key_data",
        "threefry2x32",
        "rng_bit_generator",
        "rng_uniform",
    }
)

#: Primitives that have no declared effect but must not be evaluated at optimisation time or merged:
#: host callbacks, device placement and compiler barriers.
IMPURE_PRIMITIVES: frozenset[str] = frozenset(
    {
        "pure_callback",
        "io_callback",
        "debug_callback",
        "debug_print",
        "device_put",
        "optimization_barrier",
        "sharding_constraint",
        "mesh_cast",
        "reshard",
        "create_token",
        "after_all",
        "infeed",
        "outfeed",
        "axis_index",
        "psum",
        "pmax",
        "pmin",
        "all_gather",
        "all_to_all",
        "ppermute",
    }
)


def aval_of(atom: Atom) -> Any:
    """The abstract value (type) of a variable or literal."""
    return atom.aval


def literal_value(atom: Atom) -> np.ndarray | None:
    """The value of ``atom`` as a NumPy array when it is a literal of a plain dtype, else ``None``."""
    if not isinstance(atom, Literal):
        return None
    dtype = getattr(atom.aval, "dtype", None)
    if dtype is None or _extended(dtype):
        return None
    return np.asarray(atom.val)


@functools.cache
def _extended(dtype: Any) -> bool:
    return is_extended_dtype(dtype)


def _has_extended_dtype(atoms: Any) -> bool:
    return any(_extended(getattr(a.aval, "dtype", None)) for a in atoms)


def is_pure(eqn: JaxprEqn) -> bool:
    """Whether ``eqn`` may be evaluated ahead of time, merged with a duplicate, or dropped when unused.

    Effectful equations, random-key primitives, host callbacks and equations over key-typed values are
    not pure in this sense.
    """
    name = eqn.primitive.name
    if eqn.effects or name in RANDOM_PRIMITIVES or name in IMPURE_PRIMITIVES:
        return False
    return not (_has_extended_dtype(eqn.invars) or _has_extended_dtype(eqn.outvars))


def subjaxprs(params: Mapping[str, Any]) -> list[Jaxpr]:
    """The jaxprs held in an equation's params (inside ``ClosedJaxpr`` or tuples of them)."""
    found: list[Jaxpr] = []
    for value in params.values():
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if isinstance(item, (ClosedJaxpr, Jaxpr)):
                found.append(jaxpr_and_consts(item)[0])
    return found


def map_subjaxprs(eqn: JaxprEqn, fn: JaxprPass, memo: dict[int, Any]) -> JaxprEqn:
    """Apply ``fn`` to every sub-jaxpr in ``eqn.params`` and return the updated equation.

    ``memo`` maps ``id`` of an original (closed) jaxpr to its rewrite, so a body shared by many equations
    (JAX caches traced functions) is rewritten once and stays shared. The originals are kept alive in the
    memo values so their ids cannot be reused during the pass.
    """

    def rewrite(item: Any) -> Any:
        if not isinstance(item, (ClosedJaxpr, Jaxpr)):
            return item
        key = id(item)
        if key not in memo:
            sub: Any = item
            memo[key] = (item, map_jaxpr(sub, fn))
        return memo[key][1]

    new_params: dict[str, Any] = {}
    changed = False
    for name, value in eqn.params.items():
        if isinstance(value, (tuple, list)) and any(isinstance(v, (ClosedJaxpr, Jaxpr)) for v in value):
            new_value: Any = type(value)(rewrite(v) for v in value)
        else:
            new_value = rewrite(value)
        changed = changed or new_value is not value
        new_params[name] = new_value
    return eqn.replace(params=new_params) if changed else eqn


def forward_substitution(
    jaxpr: Jaxpr, memo: dict[int, Any], rewrite: AtomRewrite, recurse: JaxprPass
) -> Jaxpr:
    """One forward sweep that replaces equations by atoms and rewrites the sub-jaxprs of the others.

    An equation for which ``rewrite`` returns atoms is dropped, and every later read of its results (the
    program's outputs included) reads those atoms. Every other equation keeps its substituted inputs and
    has its sub-jaxprs rewritten by ``recurse`` (through :func:`map_subjaxprs` and ``memo``). Linear in
    the number of equations.
    """
    env: dict[Var, Atom] = {}
    defs: dict[Var, JaxprEqn] = {}
    eqns: list[JaxprEqn] = []
    for eqn in jaxpr.eqns:
        invars = substitute(eqn.invars, env)
        replacement = rewrite(eqn, invars, defs)
        if replacement is not None:
            env.update(zip(eqn.outvars, replacement, strict=True))
            continue
        eqn = map_subjaxprs(eqn, recurse, memo).replace(invars=invars)
        defs.update((v, eqn) for v in eqn.outvars if isinstance(v, Var))
        eqns.append(eqn)
    new_jaxpr: Jaxpr = jaxpr.replace(eqns=eqns, outvars=substitute(jaxpr.outvars, env))
    return new_jaxpr


def substitute(atoms: Any, env: Mapping[Var, Atom]) -> list[Atom]:
    """Replace every variable of ``atoms`` found in ``env`` by its substitute."""
    return [env.get(a, a) if isinstance(a, Var) else a for a in atoms]


def count_eqns(jaxpr: Jaxpr | ClosedJaxpr) -> int:
    """Number of equations in ``jaxpr``, including those of its sub-jaxprs (shared bodies count once)."""
    seen: set[int] = set()

    def count(j: Jaxpr) -> int:
        if id(j) in seen:
            return 0
        seen.add(id(j))
        total = len(j.eqns)
        for eqn in j.eqns:
            total += sum(count(sub) for sub in subjaxprs(eqn.params))
        return total

    return count(jaxpr_and_consts(jaxpr)[0])


def is_dropvar(atom: Any) -> bool:
    """Whether ``atom`` is a ``_`` binder (an output nobody reads)."""
    return isinstance(atom, DropVar)


def run_pass(impl: Callable[[Jaxpr, dict[int, Any]], Jaxpr], jaxpr: J, name: str) -> J:
    """Run ``impl(jaxpr, memo)`` on a ``Jaxpr`` or on the jaxpr of a ``ClosedJaxpr``.

    Checks the argument's type, starts a fresh memo for shared sub-jaxprs, and returns the same kind of
    object it was given (a ``ClosedJaxpr`` keeps its consts).
    """
    if not isinstance(jaxpr, (ClosedJaxpr, Jaxpr)):
        raise TypeError(
            f"{name} expects a jax Jaxpr or ClosedJaxpr, got {type(jaxpr).__name__}. "
            "Use jax.make_jaxpr(fn)(*args) to get one."
        )
    return map_jaxpr(jaxpr, lambda body: impl(body, {}))


def same_type(a: Any, b: Any) -> bool:
    """Whether two avals are identical (shape, dtype, weak type and sharding), so one may stand for the other."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - exotic avals without a usable __eq__ are never considered equal
        return False
