"""``cond``, ``switch`` and ``ifelse``: state-aware ``jax.lax.cond`` / ``jax.lax.switch``.

Every branch is traced once. The States written by any branch are outputs of the conditional: a branch
returns its new value for the States it writes and passes through the incoming value of the States only
other branches write. States that no branch writes are inputs only. Eager calls trace the branches again
and reuse the executable compiled for the same program; under ``jax.disable_jit()`` with a concrete predicate only the chosen branch runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, TypeVarTuple

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import StatefulFunction, TracedProgram, compat

from ._common import (
    StateUnion,
    arg_leaves,
    call_name,
    check_branch_outputs,
    disable_jit_active,
    function_label,
    in_trace,
    is_concrete,
    to_scalar_pred,
)
from ._eager_programs import run_branches_eager

__all__ = ["cond", "ifelse", "switch"]

#: The operand types and the result type shared by all branches.
Operands = TypeVarTuple("Operands")
R = TypeVar("R")


def _trace_branches(
    branches: Sequence[Callable[..., Any]],
    operands: tuple[Any, ...],
    what: str,
    roles: Sequence[str] | None,
) -> tuple[list[TracedProgram], StateUnion]:
    """Trace every branch on ``operands``; check their outputs and State types (``roles`` name them).

    ``cond`` traces ``true_fun`` (the last branch) first, as ``jax.lax.cond`` does: a transform object
    called in both branches caches the program of the first trace (per argument signature, like
    ``jax.jit``), so the trace order decides which branch's closure values that program holds.
    """
    order = range(len(branches) - 1, -1, -1) if what == "cond" else range(len(branches))
    traced: dict[int, TracedProgram] = {}
    for i in order:
        traced[i] = StatefulFunction(branches[i], name=call_name(branches[i])).get_program(*operands)
    programs = [traced[i] for i in range(len(branches))]
    roles = roles if roles is not None else [f"branches[{i}]" for i in range(len(branches))]
    labels = [f"{role} {function_label(b)}" for role, b in zip(roles, branches, strict=True)]
    check_branch_outputs([programs[i] for i in order], [labels[i] for i in order], what)
    union = StateUnion(programs)
    union.check_written_types(programs, f"{what} branch")
    return programs, union


def _run_branches(
    index: Any,
    branches: Sequence[Callable[..., Any]],
    operands: tuple[Any, ...],
    what: str,
    roles: Sequence[str] | None = None,
) -> Any:
    """``lax.switch`` over stateful ``branches`` with an in-range int32 ``index``.

    ``roles`` name the branches in messages (default ``branches[i]``). Outside any trace, the compiled
    switch is reused across calls whose branches trace to the same programs.
    """
    programs, union = _trace_branches(branches, operands, what, roles)
    if not in_trace():
        return run_branches_eager(jnp.asarray(index, jnp.int32), programs, union, operands)
    write_values, read_values = union.current_values()
    leaves = arg_leaves(*operands)

    def make_branch(program: TracedProgram) -> Callable[..., Any]:
        def branch(writes: list[Any], reads: list[Any], leaves: list[Any]) -> tuple[list[Any], Any]:
            values = union.values_for(program, writes, reads)
            out, new_writes = program.evaluate(leaves, values)
            return union.written_after(program, writes, new_writes), out

        return branch

    new_writes, out = jax.lax.switch(
        index, [make_branch(p) for p in programs], write_values, read_values, leaves
    )
    union.commit(new_writes)
    return out


def _cond_inline(funs: tuple[Callable[..., Any], ...], static: None, pred: Any, *operands: Any) -> Any:
    true_fun, false_fun = funs
    index = jnp.asarray(pred, dtype=jnp.int32)
    return _run_branches(index, [false_fun, true_fun], operands, "cond", ["false_fun", "true_fun"])


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def cond(
    pred: Any,
    true_fun: Callable[[*Operands], R],
    false_fun: Callable[[*Operands], R],
    *operands: *Operands,
) -> R:
    """State-aware ``jax.lax.cond``: ``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``.

    Both branches may read and write States. A State written by only one branch keeps its incoming value
    when the other branch is taken. Read-only States are inputs of the compiled conditional.

    Parameters
    ----------
    pred
        A scalar boolean, or a scalar number (meaning ``pred != 0``).
    true_fun, false_fun
        The branches; they must return values of the same structure, shapes and dtypes.
    *operands
        Passed to the chosen branch.

    Returns
    -------
    R
        The chosen branch's return value (for a type checker: the branches' common return type).

    Raises
    ------
    TypeError
        If ``pred`` is not a scalar bool/number (``None``, a sequence, an array, a complex number), or a
        branch writes a State with a different shape or dtype.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import cond
    >>> a = bss.State(jnp.array(0.0))
    >>> def inc(x):
    ...     a.value = a.value + x
    ...     return x * 2
    >>> float(cond(True, inc, lambda x: -x, 3.0)), float(a.value)
    (6.0, 3.0)
    >>> float(cond(0, inc, lambda x: -x, 3.0)), float(a.value)
    (-3.0, 3.0)
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun must be callable.")
    pred = to_scalar_pred(pred, "cond")
    if disable_jit_active() and is_concrete(pred):
        return true_fun(*operands) if bool(pred) else false_fun(*operands)
    result: R = _cond_inline((true_fun, false_fun), None, pred, *operands)
    return result


def _to_index(index: Any) -> Any:
    if index is None or isinstance(index, (str, bytes, list, tuple, dict, set)):
        raise TypeError(f"switch: index must be a scalar integer, got {type(index).__name__}.")
    if not hasattr(index, "dtype"):
        index = np.asarray(index)
    if np.shape(index) != () or np.dtype(index.dtype).kind not in "iu":
        raise TypeError(
            f"switch: index must be a scalar integer, got shape {np.shape(index)} and dtype {index.dtype}. "
            "Convert it first (e.g. `jnp.asarray(i, jnp.int32)`)."
        )
    return index


def _switch_inline(funs: tuple[Callable[..., Any], ...], static: None, index: Any, *operands: Any) -> Any:
    clamped = jax.lax.clamp(0, jnp.asarray(index, jnp.int32), len(funs) - 1)
    return _run_branches(clamped, list(funs), operands, "switch")


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def switch(index: Any, branches: Sequence[Callable[[*Operands], R]], *operands: *Operands) -> R:
    """State-aware ``jax.lax.switch``: call ``branches[index](*operands)``, ``index`` clamped to range.

    Parameters
    ----------
    index
        A scalar integer. Values below 0 select the first branch, values past the end the last one.
    branches
        A non-empty sequence of functions with matching return types. A single branch is simply called.
    *operands
        Passed to the chosen branch.

    Returns
    -------
    R
        The chosen branch's return value (for a type checker: the branches' common return type).

    Raises
    ------
    ValueError
        If ``branches`` is empty.
    TypeError
        If ``index`` is not a scalar integer, or a branch is not callable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_control import switch
    >>> branches = [lambda x: x, lambda x: x * 10, lambda x: -x]
    >>> [float(switch(i, branches, 2.0)) for i in (0, 1, 2, 10)]
    [2.0, 20.0, -2.0, -2.0]
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: branches is empty; give at least one function.")
    for i, branch in enumerate(branches):
        if not callable(branch):
            raise TypeError(f"switch: branches[{i}] is not callable (got {type(branch).__name__}).")
    index = _to_index(index)
    if len(branches) == 1:
        return branches[0](*operands)
    if disable_jit_active() and is_concrete(index):
        return branches[int(np.clip(int(index), 0, len(branches) - 1))](*operands)
    result: R = _switch_inline(tuple(branches), None, index, *operands)
    return result


def _exactly_one_message(conditions: Any) -> str:
    return f"ifelse: exactly one condition must be True, but got {np.asarray(conditions).astype(int)}."


def _ifelse_inline(
    funs: tuple[Callable[..., Any], ...], check_cond: bool, conditions: Any, *operands: Any
) -> Any:
    conds = jnp.stack([jnp.asarray(c, dtype=bool) for c in conditions])
    if check_cond:
        from brainstate_jit import jit_error_if

        jit_error_if(jnp.sum(conds) != 1, _exactly_one_error, conds)
    # The first true condition wins; if none is true, the last branch (the "else") runs.
    index = jnp.where(jnp.any(conds), jnp.argmax(conds), len(funs) - 1).astype(jnp.int32)
    return _run_branches(index, list(funs), operands, "ifelse")


def _exactly_one_error(conditions: Any) -> None:
    raise ValueError(_exactly_one_message(conditions))


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def ifelse(
    conditions: Sequence[Any],
    branches: Sequence[Callable[[*Operands], R]],
    *operands: *Operands,
    check_cond: bool = True,
) -> R:
    """State-aware multi-way ``if / elif / else``: run the branch of the (single) true condition.

    Parameters
    ----------
    conditions
        Scalar booleans, one per branch; exactly one should be true.
    branches
        Functions of ``*operands`` with matching return types.
    *operands
        Passed to the chosen branch.
    check_cond
        Raise when not exactly one condition is true (eagerly with concrete conditions, else at run time
        through ``jit_error_if``). Without the check, the first true condition wins and the last branch
        runs when none is true.

    Returns
    -------
    R
        The chosen branch's return value (for a type checker: the branches' common return type).

    Raises
    ------
    ValueError
        If the numbers of conditions and branches differ or are zero, or (with ``check_cond``) not
        exactly one condition is true.
    TypeError
        If a condition is not a scalar boolean/number or a branch is not callable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_control import ifelse
    >>> def sign_name(x):
    ...     return ifelse([x > 0, x < 0, x == 0], [lambda: 1, lambda: -1, lambda: 0])
    >>> [int(sign_name(v)) for v in (2.0, -3.0, 0.0)]
    [1, -1, 0]
    """
    if isinstance(conditions, (str, bytes)) or not isinstance(conditions, Sequence):
        raise TypeError(
            f"ifelse: conditions must be a sequence of scalar booleans, got {type(conditions).__name__}."
        )
    branches = list(branches)
    if len(conditions) != len(branches):
        raise ValueError(
            f"ifelse: got {len(conditions)} condition(s) but {len(branches)} branch(es); give one condition "
            "per branch (use `True` as the last condition for an else branch)."
        )
    if not branches:
        raise ValueError("ifelse: conditions and branches are empty; give at least one branch.")
    for i, branch in enumerate(branches):
        if not callable(branch):
            raise TypeError(f"ifelse: branches[{i}] is not callable (got {type(branch).__name__}).")
    conds = [to_scalar_pred(c, f"ifelse (condition {i})") for i, c in enumerate(conditions)]
    if check_cond and is_concrete(conds):
        if int(np.sum([bool(c) for c in conds])) != 1:
            raise ValueError(_exactly_one_message([bool(c) for c in conds]))
        check_cond = False
    if disable_jit_active() and is_concrete(conds):
        flags = [bool(c) for c in conds]
        chosen = flags.index(True) if any(flags) else len(branches) - 1
        return branches[chosen](*operands)
    result: R = _ifelse_inline(tuple(branches), check_cond, conds, *operands)
    return result
