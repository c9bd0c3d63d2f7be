"""Eager calls of control flow reuse their trace and their compiled program.

Called outside any trace, ``for_loop(step, xs)`` would otherwise trace ``step`` and compile a fresh XLA
loop on every call (the reference does: ~68 ms per call for a 16-neuron, 100-step loop). Here an eager
call looks up a small cache keyed on the user functions (held by weak reference, so the cache never keeps
them alive) and the static options. The entry is a compiled wrapper: a ``StatefulFunction`` over the inline
implementation plus one ``jax.jit`` of its pure program, so a repeated call costs one signature check and
one jit dispatch. States are arguments of the compiled program, never baked-in constants.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax

from brainstate_ir import StatefulFunction, TracedProgram

__all__ = ["cached_eager_call", "eager_cache_clear", "eager_cache_info"]

_MAX_ENTRIES = 256


def _run_program(program: TracedProgram, state_values: list[Any], leaves: list[Any]) -> Any:
    return program.evaluate(leaves, state_values)


class _CompiledCall:
    """One compiled control-flow call: trace via a StatefulFunction, run via one ``jax.jit``."""

    def __init__(self, fun: Callable[..., Any], name: str) -> None:
        self.stateful = StatefulFunction(fun, name=name)
        # The program is a static argument (hashed by identity): a retrace (new States, changed shapes)
        # gives a new program and so a new compilation, never a stale one.
        self.jitted = jax.jit(_run_program, static_argnums=0)

    def __call__(self, *args: Any) -> Any:
        call = self.stateful.split(*args)
        program = self.stateful.program_for(call)
        state_values = [state.value for state in program.states]
        out, new_values = self.jitted(program, state_values, call.leaves)
        for state, value in zip(program.write_states, new_values, strict=True):
            state.value = value
        return out


class _Entry:
    __slots__ = ("compiled", "refs")

    def __init__(self, compiled: _CompiledCall, refs: tuple[Callable[[], Any], ...]) -> None:
        self.compiled = compiled
        self.refs = refs


_CACHE: OrderedDict[Hashable, _Entry] = OrderedDict()
_LOCK = threading.RLock()
_STATS = {"hits": 0, "misses": 0, "uncacheable": 0}


def _weak(fun: Callable[..., Any]) -> tuple[Hashable, Callable[[], Any], Any] | None:
    """``(key, dereference, object_to_watch)`` for ``fun``, or ``None`` if it cannot be weakly referenced."""
    self_obj = getattr(fun, "__self__", None)
    func = getattr(fun, "__func__", None)
    try:
        if self_obj is not None and func is not None:  # bound method: a new object on every attribute access
            ref: Callable[[], Any] = weakref.WeakMethod(fun)
            return ("method", id(self_obj), id(func)), ref, self_obj
        ref = weakref.ref(fun)
        return ("function", id(fun)), ref, fun
    except TypeError:
        return None


def _same(alive: Any, fun: Callable[..., Any]) -> bool:
    # A WeakMethod rebuilds the bound method on every dereference: compare by (self, func) equality.
    return alive is fun or (hasattr(fun, "__self__") and alive == fun)


def _evict(key: Hashable) -> None:
    with _LOCK:
        _CACHE.pop(key, None)


def cached_eager_call(
    kind: str,
    funs: Sequence[Callable[..., Any]],
    static: Hashable,
    impl: Callable[..., Any],
    args: tuple[Any, ...],
) -> Any:
    """Run ``impl(funs, static, *args)`` through a cached compiled wrapper.

    ``impl`` is the inline (traceable) implementation; it is traced once per argument signature and
    compiled once. Functions that cannot be weakly referenced, and unhashable static options, bypass the
    cache (``impl`` then runs eagerly, op by op).
    """
    weak = [_weak(f) for f in funs]
    try:
        hash(static)
    except TypeError:
        weak.append(None)
    if any(w is None for w in weak):
        with _LOCK:
            _STATS["uncacheable"] += 1
        return impl(tuple(funs), static, *args)
    key = (kind, tuple(w[0] for w in weak if w is not None), static)
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and all(_same(r(), f) for r, f in zip(entry.refs, funs, strict=True)):
            _CACHE.move_to_end(key)
            _STATS["hits"] += 1
        else:
            _STATS["misses"] += 1
            refs = tuple(w[1] for w in weak if w is not None)
            entry = _Entry(_CompiledCall(_make_wrapper(refs, static, impl), kind), refs)
            _CACHE[key] = entry
            for w in weak:
                if w is not None:
                    weakref.finalize(w[2], _evict, key)
            while len(_CACHE) > _MAX_ENTRIES:
                _CACHE.popitem(last=False)
    return entry.compiled(*args)


def _make_wrapper(
    refs: tuple[Callable[[], Any], ...], static: Hashable, impl: Callable[..., Any]
) -> Callable[..., Any]:
    # The wrapper must not hold the user functions strongly, or the cache would keep them alive.
    def wrapper(*args: Any) -> Any:
        funs = tuple(r() for r in refs)
        if any(f is None for f in funs):  # pragma: no cover - the entry is evicted when a function dies
            raise ReferenceError("a function of a cached control-flow call was garbage collected")
        return impl(funs, static, *args)

    return wrapper


def eager_cache_clear() -> None:
    """Drop every cached eager control-flow program."""
    with _LOCK:
        _CACHE.clear()


def eager_cache_info() -> dict[str, int]:
    """``{'size', 'hits', 'misses', 'uncacheable'}`` of the eager control-flow cache."""
    with _LOCK:
        return {"size": len(_CACHE), **_STATS}
