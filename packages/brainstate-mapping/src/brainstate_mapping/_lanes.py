"""Tracing the user function once per call, per lane: only mapped values are traced.

As in ``jax.vmap``, an eager mapped call sees concrete values for everything that is not mapped: unmapped
arguments (Python ints and bools, NumPy arrays, arrays) and States that are not batched on input are
closed over as they are, so Python control flow on them works. Only mapped argument leaves and States
batched on input (declared, promoted, or random states, which get one key per lane) become inputs of
the traced program, at their per-lane shapes.

Which States are batched on input is only known when the function touches them. The trace therefore
starts from a *hint* (the States batched on the previous call). A State found batched but missing from
the hint gets a concrete per-lane placeholder for the rest of that trace and the function is traced
again with it as an input; a hinted State the function no longer touches is dropped and the function is
traced again. A program is only returned when the hint matches exactly, so the program is canonical.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jax

from brainstate_state import (
    State,
    StateTraceStack,
    catch_new_states,
    describe_state,
    invalidate_state_value,
    peek_value,
    state_error_message,
)

from ._axes import lane_leaf
from ._signature import contains_tracer

__all__ = ["LaneProgram", "MappedState", "state_lane_avals", "trace_lanes"]


@dataclass(frozen=True, eq=False)
class MappedState:
    """A State that enters the mapped program batched: on ``axis``, or with per-lane keys (``rng``)."""

    state: State[Any]
    axis: int
    rng: bool


@dataclass(frozen=True, eq=False)
class LaneProgram:
    """One per-lane trace of the user function.

    ``closed`` maps ``(*mapped_arg_leaves, *mapped_state_leaves)`` (in the order of ``mapped_states``) to
    ``(*out_leaves, *written_state_leaves)`` (in the order of ``written``); its constants are everything
    the function closed over, unmapped arguments and unmapped States included.
    """

    closed: Any
    mapped_states: tuple[MappedState, ...]
    states: tuple[State[Any], ...]
    written: tuple[State[Any], ...]
    written_treedefs: tuple[Any, ...]
    out_treedef: Any


_NEW_STATE_FIX = (
    "create the State before calling the mapped function, or create it with a concrete value; to create a "
    "batch of States use brainstate.transform.vmap_new_states."
)


def _placeholder(outside: Any, mapped: MappedState) -> Any:
    if mapped.rng:
        return outside
    return jax.tree.map(lambda leaf: jax.lax.index_in_dim(leaf, 0, mapped.axis, keepdims=False), outside)


def state_lane_avals(known: Sequence[MappedState], sizes: list[tuple[str, int]]) -> list[Any]:
    """The per-lane abstract values of the mapped States ``known``; their batch sizes go to ``sizes``."""
    avals = []
    for m in known:
        value = peek_value(m.state)
        if m.rng:  # one key per lane, of the State's own key shape
            avals.append(jax.tree.map(lambda k: jax.ShapeDtypeStruct(k.shape, k.dtype), value))
        else:
            where = describe_state(m.state)
            avals.append(jax.tree.map(lambda leaf, a=m.axis, w=where: lane_leaf(leaf, a, w, sizes), value))
    return avals


def _reject_states(out: Any, name: str) -> None:
    for leaf in jax.tree.leaves(out, is_leaf=lambda x: isinstance(x, State)):
        if isinstance(leaf, State):
            raise ValueError(
                state_error_message(
                    f"Outputs of brainstate transformations cannot be States, but {name} returned one.",
                    leaf,
                    "return `state.value` instead of the State (the State itself is updated in place).",
                )
            )


def trace_lanes(
    fun: Callable[..., Any],
    rebuild: Callable[[list[Any]], tuple[tuple[Any, ...], dict[str, Any]]],
    leaves: Sequence[Any],
    lane_avals: dict[int, Any],
    known: Sequence[MappedState],
    state_avals: Sequence[Any],
    in_axis_of: Callable[[State[Any]], tuple[int | None, bool]],
    axis_env: Sequence[tuple[Hashable, int]] | None,
    name: str,
    declared: frozenset[int] = frozenset(),
) -> LaneProgram | tuple[list[MappedState], list[MappedState]]:
    """Trace ``fun`` per lane; a program, or ``(States to add to the hint, hinted States to drop)``.

    ``lane_avals`` maps the positions of mapped leaves to their per-lane abstract values; the other
    leaves are passed to ``fun`` unchanged. ``known`` are the hinted mapped States (``state_avals`` their
    per-lane abstract values). Hinted States whose ids are in ``declared`` stay inputs even when the
    function does not touch them.
    """
    positions = sorted(lane_avals)
    known_index = {id(m.state): i for i, m in enumerate(known)}
    missing: dict[int, MappedState] = {}
    record: dict[str, Any] = {}

    def traced(arg_lanes: list[Any], state_lanes: list[Any]) -> tuple[Any, list[Any]]:
        full = list(leaves)
        for position, value in zip(positions, arg_lanes, strict=True):
            full[position] = value
        args, kwargs = rebuild(full)

        def new_arg(state: State[Any], outside: Any) -> Any:
            index = known_index.get(id(state))
            if index is not None:
                return state_lanes[index]
            axis, rng = in_axis_of(state)
            if axis is None:
                return outside  # unmapped: the value itself, concrete in an eager call
            mapped = MappedState(state, axis, rng)
            missing[id(state)] = mapped
            return _placeholder(outside, mapped)

        with catch_new_states() as catcher, StateTraceStack(new_arg, name=f"{name}:per-lane") as stack:
            out = fun(*args, **kwargs)
        _reject_states(out, name)
        for state in catcher.states:
            if contains_tracer(peek_value(state)):
                invalidate_state_value(
                    state,
                    state_error_message(
                        f"This State was created inside the mapped function {name} and holds a value of "
                        "that trace, which has ended.",
                        state,
                        _NEW_STATE_FIX,
                    ),
                )
        written = tuple(stack.get_write_states())
        values = [stack.value_of(s) for s in written]
        record["states"] = tuple(stack.states)
        record["written"] = written
        record["treedefs"] = tuple(jax.tree.structure(v) for v in values)
        return out, values

    try:
        closed, (out_shapes, _) = jax.make_jaxpr(traced, axis_env=axis_env, return_shape=True)(
            [lane_avals[p] for p in positions], list(state_avals)
        )
    except Exception:
        if missing:  # traced with placeholders: the failure may be theirs; trace again with inputs
            return list(missing.values()), []
        raise
    if missing:
        return list(missing.values()), []
    touched = {id(s) for s in record["states"]}
    unused = [m for m in known if id(m.state) not in touched and id(m.state) not in declared]
    if unused:
        return [], unused
    return LaneProgram(
        closed=closed,
        mapped_states=tuple(known),
        states=record["states"],
        written=record["written"],
        written_treedefs=record["treedefs"],
        out_treedef=jax.tree.structure(out_shapes),
    )
