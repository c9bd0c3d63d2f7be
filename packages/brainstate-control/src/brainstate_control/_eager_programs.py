"""Eager conditionals and while loops without a trace of the whole call.

An eager ``cond``/``switch``/``ifelse``/``while_loop`` traces its user functions on every call (so it sees
current attributes, globals and States) but needs no trace of the whole call: the compiled ``lax.switch``
or ``lax.while_loop`` is keyed on the structure of the user programs and on how their States line up (by
position, never by State identity), and takes the programs' captured constants, the State values and the
operands as arguments. A repeat call costs the user-function traces and one dispatch; the same
functions, fresh lambdas with the same bodies, or re-created States of the same shapes reuse one
executable.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax

from brainstate_ir import COMPILED_PROGRAMS, TracedProgram

from ._common import StateUnion, arg_leaves

Sources = tuple[tuple[bool, int], ...]
Returned = tuple[int | None, ...]


def _inputs(sources: Sources, writes: Sequence[Any], reads: Sequence[Any]) -> list[Any]:
    return [writes[j] if is_written else reads[j] for is_written, j in sources]


def _after(writes: Sequence[Any], new: Sequence[Any], returned: Returned) -> list[Any]:
    return [old if r is None else new[r] for old, r in zip(writes, returned, strict=True)]


__all__ = ["run_branches_eager", "run_while_eager"]


def _layout(union: StateUnion, programs: Sequence[TracedProgram]) -> tuple[Hashable, Hashable]:
    """``(inputs, outputs)`` by position: where each program's State inputs come from in the union
    (``(True, j)``: written State ``j``, ``(False, j)``: read-only State ``j``), and for each union-written
    State, the index of the program's returned value for it (``None``: the program passes it through)."""
    written = {id(s): j for j, s in enumerate(union.write_states)}
    read = {id(s): j for j, s in enumerate(union.read_states)}
    inputs = tuple(
        tuple((True, written[id(s)]) if id(s) in written else (False, read[id(s)]) for s in p.states)
        for p in programs
    )
    outputs = []
    for program in programs:
        returned = {id(s): k for k, s in enumerate(program.write_states)}
        outputs.append(tuple(returned.get(id(s)) for s in union.write_states))
    return inputs, tuple(outputs)


def _build(
    programs: Sequence[TracedProgram], inputs: Any, outputs: Any
) -> Callable[..., tuple[list[Any], Any]]:
    """The function compiled once per key: it holds the programs' pure evaluators, never a State."""
    evaluators = [p.pure_evaluator() for p in programs]

    def make_branch(k: int) -> Callable[..., tuple[list[Any], Any]]:
        evaluate, sources, returned = evaluators[k], inputs[k], outputs[k]

        def branch(
            consts: Any, writes: list[Any], reads: list[Any], leaves: list[Any]
        ) -> tuple[list[Any], Any]:
            values = [writes[j] if is_written else reads[j] for is_written, j in sources]
            out, new = evaluate(consts[k], leaves, values)
            after = [old if r is None else new[r] for old, r in zip(writes, returned, strict=True)]
            return after, out

        return branch

    branches = [make_branch(k) for k in range(len(programs))]

    def run(index: Any, consts: Any, writes: list[Any], reads: list[Any], leaves: list[Any]) -> Any:
        return jax.lax.switch(index, branches, consts, writes, reads, leaves)

    return run


def run_branches_eager(
    index: Any, programs: Sequence[TracedProgram], union: StateUnion, operands: tuple[Any, ...]
) -> Any:
    """Run ``lax.switch(index, programs)`` compiled, with concrete State values; commit the written States."""
    inputs, outputs = _layout(union, programs)
    key = ("brainstate_control.switch", tuple(p.key for p in programs), inputs, outputs)
    compiled = COMPILED_PROGRAMS.jitted(key, lambda: _build(programs, inputs, outputs))
    write_values, read_values = union.current_values()
    consts = [list(p.jaxpr.consts) for p in programs]
    new_writes, out = compiled(index, consts, write_values, read_values, arg_leaves(*operands))
    union.commit(new_writes)
    return out


def _build_while(programs: Sequence[TracedProgram], inputs: Any, outputs: Any) -> Callable[..., Any]:
    evaluate_cond, evaluate_body = (p.pure_evaluator() for p in programs)

    def run(consts: Any, writes: list[Any], reads: list[Any], init_val: Any) -> Any:
        def cond(carry: Any) -> Any:
            w, val = carry
            return evaluate_cond(consts[0], arg_leaves(val), _inputs(inputs[0], w, reads))[0]

        def body(carry: Any) -> Any:
            w, val = carry
            new_val, new = evaluate_body(consts[1], arg_leaves(val), _inputs(inputs[1], w, reads))
            return _after(w, new, outputs[1]), new_val

        return jax.lax.while_loop(cond, body, (writes, init_val))

    return run


def run_while_eager(
    cond_program: TracedProgram, body_program: TracedProgram, union: StateUnion, init_val: Any
) -> Any:
    """Run the compiled ``lax.while_loop`` of two traced programs; commit the written States."""
    programs = (cond_program, body_program)
    inputs, outputs = _layout(union, programs)
    key = ("brainstate_control.while", tuple(p.key for p in programs), inputs, outputs)
    compiled = COMPILED_PROGRAMS.jitted(key, lambda: _build_while(programs, inputs, outputs))
    write_values, read_values = union.current_values()
    consts = [list(p.jaxpr.consts) for p in programs]
    final_writes, val = compiled(consts, write_values, read_values, init_val)
    union.commit(final_writes)
    return val
