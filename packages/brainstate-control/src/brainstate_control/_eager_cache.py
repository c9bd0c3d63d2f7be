"""Eager calls of control flow: traced on every call, compiled once per distinct program.

Called outside any trace, ``for_loop(step, xs)`` must give exactly what a fresh trace gives: the current
values of plain attributes (``self.tau``), globals and closures, and the States that exist now. So every
eager call traces the user functions again (milliseconds) and only the XLA compilation (the expensive
part) is cached: compiled executables are keyed on the canonical traced program (``program_key``: the
computation, its input types and its written States' layout), and the program's captured constants and
State values are arguments of the executable. The same function called again, a fresh lambda with the same
body, or a module whose States were re-created with the same shapes all reuse one executable; a changed
plain attribute (a different constant in the program) gives a different program and the right numbers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax

from brainstate_ir import StatefulFunction, _compat

from ._program_key import program_key

__all__ = ["cached_eager_call", "eager_cache_clear", "eager_cache_info"]

_MAX_ENTRIES = 256


class _Entry:
    """A compiled program: the representative traced ``jaxpr`` and its ``jax.jit`` executable."""

    __slots__ = ("executable", "jaxpr")

    def __init__(self, jaxpr: _compat.ClosedJaxpr) -> None:
        self.jaxpr = jaxpr
        self.executable = _executable(jaxpr.jaxpr)


_CACHE: OrderedDict[Hashable, _Entry] = OrderedDict()
_LOCK = threading.RLock()
_STATS = {"hits": 0, "misses": 0, "compiles": 0}


def _executable(jaxpr: _compat.Jaxpr) -> Callable[..., Any]:
    """One ``jax.jit`` of ``jaxpr`` with its constants as arguments (compiled on its first call)."""

    def run(consts: list[Any], leaves: list[Any]) -> list[Any]:
        return jax.core.eval_jaxpr(jaxpr, consts, *leaves)

    return jax.jit(run)


def compiled_program(closed: _compat.ClosedJaxpr) -> Callable[..., Any]:
    """The cached executable running any program with the same key as ``closed``: ``(consts, leaves)``."""
    key = program_key(closed)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
            _STATS["hits"] += 1
            return entry.executable
        _STATS["misses"] += 1
        _STATS["compiles"] += 1
        entry = _CACHE[key] = _Entry(closed)
        while len(_CACHE) > _MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return entry.executable


def cached_eager_call(
    kind: str,
    funs: Sequence[Callable[..., Any]],
    static: Any,
    impl: Callable[..., Any],
    args: tuple[Any, ...],
) -> Any:
    """Run ``impl(funs, static, *args)`` eagerly: trace it now, run a compiled executable of its program.

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
    executable = compiled_program(program.jaxpr)
    state_leaves = program.flatten_state_values([state.value for state in program.states])
    flat = executable(list(program.jaxpr.consts), [*call.leaves, *state_leaves])
    out, new_values = program.unflatten_outputs(flat)
    for state, value in zip(program.write_states, new_values, strict=True):
        state.value = value
    return out


def eager_cache_clear() -> None:
    """Drop every compiled eager control-flow program."""
    with _LOCK:
        _CACHE.clear()


def eager_cache_info() -> dict[str, int]:
    """``{'size', 'hits', 'misses', 'compiles'}`` of the compiled eager control-flow programs."""
    with _LOCK:
        return {"size": len(_CACHE), **_STATS}
