"""Eager calls of control flow: traced on every call, compiled once per distinct program.

Called outside any trace, ``for_loop(step, xs)`` must give exactly what a fresh trace gives: the current
values of plain attributes (``self.tau``), globals and closures, and the States that exist now. So every
eager call traces the user functions again (milliseconds) and only the XLA compilation (the expensive
part) is cached, in brainstate_ir's process-wide compiled-program cache: executables are keyed on the
structure of the traced program (its computation, input types and written States' layout) and the
program's captured constants and State values are arguments of the executable. The same function called
again, a fresh lambda with the same body, or a module whose States were re-created with the same shapes
all reuse one executable; a changed plain attribute (a different constant in the program) gives a
different program and the right numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from brainstate_ir import COMPILED_PROGRAMS, StatefulFunction, compiled_call

__all__ = ["cached_eager_call", "eager_cache_clear", "eager_cache_info"]


def cached_eager_call(
    kind: str,
    funs: Sequence[Callable[..., Any]],
    static: Any,
    impl: Callable[..., Any],
    args: tuple[Any, ...],
) -> Any:
    """Run ``impl(funs, static, *args)`` eagerly: trace it now, run the compiled executable of its program.

    ``impl`` is the inline (traceable) implementation of one control-flow call. The States it reads are
    read now and the States it writes are written after the executable returned (so a failing call
    changes nothing).
    """
    funs = tuple(funs)

    def whole(*call_args: Any) -> Any:
        return impl(funs, static, *call_args)

    stateful = StatefulFunction(whole, name=kind, cache_size=1)
    call = stateful.split(*args)
    program = stateful.program_for(call)
    out, new_values = compiled_call(program, call.leaves, [state.value for state in program.states])
    for state, value in zip(program.write_states, new_values, strict=True):
        state.value = value
    return out


def eager_cache_clear() -> None:
    """Drop every compiled program (the cache is shared by all brainstate transforms)."""
    COMPILED_PROGRAMS.clear()


def eager_cache_info() -> dict[str, int]:
    """``{'size', 'hits', 'misses', 'compiles'}`` of the compiled-program cache shared by all transforms."""
    stats = COMPILED_PROGRAMS.stats()
    return {
        "size": stats["size"],
        "hits": stats["hits"],
        "misses": stats["misses"],
        "compiles": stats["misses"],
    }
