"""Host-side NaN/Inf forensics for ``debug_nan``: which primitive introduced it, where, and what it hit.

Everything here runs on concrete values (eagerly, or inside the host callback of a compiled check).
The program is replayed equation by equation, descending into nested jaxprs (``jit``, ``custom_jvp``,
``custom_vjp``, ``checkpoint``, the taken ``cond`` branch), to find the first equation whose outputs
contain NaN/Inf while its inputs do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from brainstate_ir import TracedProgram, compat
from brainstate_state import describe_state, library_dirs

__all__ = ["NanReport", "analyze_program", "has_nan_or_inf"]

# Params holding a nested program that takes exactly the equation's inputs.
_NESTED_JAXPR_PARAMS = ("jaxpr", "call_jaxpr", "fun_jaxpr")


def _bad_counts(value: Any) -> tuple[int, int]:
    """``(number of NaNs, number of Infs)`` of an array-like (zero for non-float dtypes)."""
    try:
        array = np.asarray(value)
    except Exception:  # typed PRNG keys and other extended dtypes cannot become numpy arrays
        return 0, 0
    if not np.issubdtype(array.dtype, np.inexact):
        return 0, 0
    return int(np.count_nonzero(np.isnan(array))), int(np.count_nonzero(np.isinf(array)))


def has_nan_or_inf(values: Sequence[Any]) -> bool:
    """Whether any of ``values`` holds a NaN or an Inf."""
    return any(sum(_bad_counts(v)) > 0 for v in values)


def _nested(eqn: compat.JaxprEqn, invals: list[Any]) -> tuple[Any, list[Any], list[Any]] | None:
    """``(jaxpr, consts, args)`` of the sub-program an equation runs on these inputs, if there is one."""
    if eqn.primitive.name == "cond":
        branches = eqn.params["branches"]
        index = int(np.clip(np.asarray(invals[0]), 0, len(branches) - 1))
        branch = branches[index]
        return branch.jaxpr, list(branch.consts), invals[1:]
    for key in _NESTED_JAXPR_PARAMS:
        sub = eqn.params.get(key)
        if isinstance(sub, compat.ClosedJaxpr) and len(sub.jaxpr.invars) == len(invals):
            return sub.jaxpr, list(sub.consts), invals
        if isinstance(sub, compat.Jaxpr) and not sub.constvars and len(sub.invars) == len(invals):
            return sub, [], invals
    return None


def find_origin(jaxpr: compat.Jaxpr, consts: Sequence[Any], args: Sequence[Any]) -> compat.JaxprEqn | None:
    """The innermost first equation whose outputs contain NaN/Inf while its inputs do not."""
    env: dict[Any, Any] = {}

    def read(atom: Any) -> Any:
        return atom.val if isinstance(atom, compat.Literal) else env[atom]

    for var, value in zip(jaxpr.constvars, consts, strict=True):
        env[var] = value
    for var, value in zip(jaxpr.invars, args, strict=True):
        env[var] = value
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        outvals = compat.eval_eqn(eqn, invals)
        if has_nan_or_inf(outvals) and not has_nan_or_inf(invals):
            nested = _nested(eqn, invals)
            inner = find_origin(*nested) if nested is not None else None
            return inner if inner is not None else eqn
        for var, value in zip(eqn.outvars, outvals, strict=True):
            if not isinstance(var, compat.DropVar):
                env[var] = value
    return None


@dataclass(frozen=True)
class NanReport:
    """What ``debug_nan`` found: the message of the ``RuntimeError`` it raises."""

    message: str


def _describe_leaves(labelled: Sequence[tuple[str, Any]]) -> list[str]:
    lines = []
    for label, value in labelled:
        nans, infs = _bad_counts(value)
        if nans or infs:
            array = np.asarray(value)
            lines.append(f"    {label}: shape={array.shape}, dtype={array.dtype}, NaN={nans}, Inf={infs}")
    return lines


def _labels(program: TracedProgram) -> tuple[list[str], list[str]]:
    """Labels of the program's flat outputs (function output leaves, then returned State leaves)."""
    out_paths = jax.tree_util.tree_flatten_with_path(
        jax.tree.unflatten(program.out_treedef, list(range(program.out_treedef.num_leaves)))
    )[0]
    out_labels = [f"output{jax.tree_util.keystr(path)}" for path, _ in out_paths]
    state_labels = []
    treedefs = dict(zip(map(id, program.states), program.state_treedefs, strict=True))
    for state in program.returned_states:
        for i in range(treedefs[id(state)].num_leaves):
            suffix = f" leaf {i}" if treedefs[id(state)].num_leaves > 1 else ""
            state_labels.append(f"written {describe_state(state)}{suffix}")
    return out_labels, state_labels


def analyze_program(
    program: TracedProgram,
    arg_leaves: Sequence[Any],
    state_values: Sequence[Any],
    phase: str = "",
    lane: tuple[int, ...] | None = None,
    call_site: str | None = None,
) -> NanReport | None:
    """Run ``program`` on concrete inputs; describe the NaN/Inf in its outputs, or ``None`` if clean."""
    closed = program.jaxpr
    inputs = [*arg_leaves, *program.flatten_state_values(state_values)]
    outputs = jax.core.eval_jaxpr(closed.jaxpr, closed.consts, *inputs)
    if not has_nan_or_inf(outputs):
        return None
    where = f" [{phase}]" if phase else ""
    lines = [f"NaN/Inf detected{where} in the output of the checked function!"]
    if lane is not None:
        lines.append(f"  (in vmap lane {lane if len(lane) > 1 else lane[0]})")
    origin = find_origin(closed.jaxpr, closed.consts, inputs)
    if origin is not None:
        location = compat.eqn_user_location(origin, library_dirs())
        lines.append(f"  Introduced by primitive : `{origin.primitive.name}`")
        if location is None:
            location = "unknown (the operation was not created by user code"
            location += f"; debug_nan was called at {call_site})" if call_site else ")"
        lines.append(f"  Source location : {location}")
    else:
        lines.append(
            "  Introduced by primitive : none (the NaN/Inf was already in the inputs or constants of the "
            "checked function)"
        )
    out_labels, state_labels = _labels(program)
    lines.append("  Contaminated outputs :")
    lines.extend(_describe_leaves(list(zip(out_labels + state_labels, outputs, strict=True))))
    return NanReport("\n".join(lines))


def analyze_batched(
    program: TracedProgram,
    arg_leaves: Sequence[Any],
    state_values: Sequence[Any],
    phase: str = "",
    call_site: str | None = None,
) -> NanReport | None:
    """Like :func:`analyze_program`, for values that may carry leading ``vmap`` lane axes."""
    inputs = [*arg_leaves, *program.flatten_state_values(state_values)]
    avals = program.jaxpr.in_avals
    extras = [np.ndim(v) - len(a.shape) for v, a in zip(inputs, avals, strict=True)]
    if not any(extras):
        return analyze_program(program, arg_leaves, state_values, phase, call_site=call_site)
    lane_shapes = {tuple(np.shape(v)[:e]) for v, e in zip(inputs, extras, strict=True) if e > 0}
    if len(lane_shapes) != 1 or min(extras) < 0:
        where = f" [{phase}]" if phase else ""
        return NanReport(
            f"NaN/Inf detected{where} in the output of the checked function (under vmap)!\n"
            "  Introduced by primitive : unknown (the batched inputs could not be split into lanes: "
            f"lane shapes {sorted(lane_shapes)})"
        )
    (lane_shape,) = lane_shapes
    n_args = len(arg_leaves)
    for lane in np.ndindex(*lane_shape):
        lane_inputs = [np.asarray(v)[lane] if e > 0 else v for v, e in zip(inputs, extras, strict=True)]
        lane_states = _regroup(program, lane_inputs[n_args:])
        report = analyze_program(
            program, lane_inputs[:n_args], lane_states, phase, lane=lane, call_site=call_site
        )
        if report is not None:
            return report
    return None


def _regroup(program: TracedProgram, leaves: list[Any]) -> list[Any]:
    values, position = [], 0
    for treedef in program.state_treedefs:
        values.append(jax.tree.unflatten(treedef, leaves[position : position + treedef.num_leaves]))
        position += treedef.num_leaves
    return values
