"""Which values written by a mapped program are batched: JAX's own batching decides, no user code runs.

Each candidate output of the pure program goes through an identity built with
``jax.custom_batching.custom_vmap``; its batching rule is told by JAX whether its input is batched and
records that. Evaluating the program abstractly under ``jax.eval_shape(jax.vmap(...))`` therefore gives
the exact answer (``psum`` over the mapped axis, ``unvmap`` and the like produce unbatched values) without
compiling anything and without running the user function again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
from jax.custom_batching import custom_vmap

from brainstate_ir import jaxpr_key
from brainstate_state import peek_value

from ._call import MappedCall
from ._executables import BATCHED_WRITES
from ._lanes import LaneProgram
from ._mapped_program import mapped_axes, pure_program
from ._signature import contains_tracer

__all__ = ["batched_outputs", "make_tap", "program_batched_writes"]


def make_tap(flags: dict[int, bool], index: int) -> Callable[[Any], Any]:
    """An identity whose batching rule records in ``flags[index]`` whether its input was batched."""

    @custom_vmap
    def tap(x: Any) -> Any:
        return x

    @tap.def_vmap
    def rule(axis_size: int, in_batched: list[bool], x: Any) -> tuple[Any, bool]:
        flags[index] = flags.get(index, False) or bool(in_batched[0])
        return tap(x), in_batched[0]

    return tap


def batched_outputs(
    pure: Callable[[list[Any], list[Any], list[Any]], tuple[Any, list[Any]]],
    candidates: Sequence[int],
    consts: list[Any],
    arg_leaves: list[Any],
    arg_axes: list[int],
    state_values: list[Any],
    state_axes: list[int],
    axis_name: Any,
    size: int,
) -> set[int]:
    """Which ``candidates`` (indices into the written values ``pure`` returns) come out batched.

    ``pure(consts, arg_leaves, state_values) -> (out, written_values)`` is evaluated abstractly under
    ``jax.vmap`` with the given axes (constants unmapped); nothing is compiled or run.
    """
    if not candidates:
        return set()
    flags: dict[int, bool] = {}
    taps = {i: make_tap(flags, i) for i in candidates}

    def probe(c: list[Any], leaves: list[Any], values: list[Any]) -> list[Any]:
        _, written = pure(c, leaves, values)
        return [jax.tree.map(taps[i], written[i]) for i in candidates]

    jax.eval_shape(
        jax.vmap(probe, in_axes=(None, arg_axes, state_axes), axis_name=axis_name, axis_size=size),
        consts,
        arg_leaves,
        state_values,
    )
    return {i for i in candidates if flags.get(i, False)}


def program_batched_writes(
    program: LaneProgram, candidates: list[int], size: int, call: MappedCall, axis_name: Any
) -> frozenset[int]:
    """Which ``candidates`` (indices into ``program.written``) are written with a batched value.

    Remembered per program structure and mapped axes (the constants are unmapped, so their values do not
    matter); computed afresh inside an enclosing trace.
    """
    if not candidates:
        return frozenset()
    arg_axes, state_axes = mapped_axes(program, call)
    mapped_leaves = [leaf for leaf, axis in zip(call.leaves, call.axes, strict=True) if axis is not None]

    def discover() -> frozenset[int]:
        values = []
        for m in program.mapped_states:
            value = peek_value(m.state)
            if m.rng:  # the per-lane keys split from the State's key
                value = jax.tree.map(lambda k: jax.ShapeDtypeStruct((size, *k.shape), k.dtype), value)
            values.append(value)
        pure = pure_program(program, tuple(range(len(program.written))))
        consts = list(program.closed.consts)
        found = batched_outputs(
            pure, candidates, consts, mapped_leaves, arg_axes, values, state_axes, axis_name, size
        )
        return frozenset(found)

    if contains_tracer(program.closed.consts) or contains_tracer(mapped_leaves):
        return discover()
    key = ("batched", jaxpr_key(program.closed), tuple(arg_axes), tuple(state_axes), size, axis_name)
    found: frozenset[int] = BATCHED_WRITES.get((key, tuple(candidates)), discover)
    return found
