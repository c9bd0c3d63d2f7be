"""One compiled-program cache for every transform: executables keyed by the structure of a traced program.

Two traces of the same computation (the same function called again, a fresh lambda, a fresh ``grad(...)``
object, States re-created with the same shapes) give jaxprs that are different Python objects but have
the same *structure*: the same equations, parameters, variable wiring and abstract values. This module
computes that structure as a hashable key (:func:`jaxpr_key`) and keeps one ``jax.jit``-compiled
evaluator per key. A program's captured constants are passed to the evaluator as arguments (not baked
in), so two programs that differ only in the values they closed over share one executable.

The key never holds a State, so a cache entry keeps no State alive.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from ._host_callbacks import TrampolinedEvaluator, host_callbacks, is_host_callback
from .compat import ClosedJaxpr, Jaxpr, Literal, has_host_effects, wait_for_outputs_and_host_callbacks

if TYPE_CHECKING:
    from ._program import TracedProgram

__all__ = ["COMPILED_PROGRAMS", "CompiledProgramCache", "compiled_call", "jaxpr_key", "structure_id"]

# Parameters of these primitives that only define derivatives (or batching rules, custom_vmap_call: an
# unvmap in every bounded_while_loop): an evaluation never calls them, so two
# programs that differ only there compute the same values (they are fresh objects on every trace).
_DERIVATIVE_RULE_PRIMITIVES = frozenset(
    {"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr", "custom_vmap_call"}
)


def _literal_key(value: Any) -> Hashable:
    array = np.asarray(value)
    return ("literal", array.dtype.str, array.shape, array.tobytes())


def _param_key(value: Any, derivative_rule: bool, by_position: bool = False) -> Hashable:
    if isinstance(value, ClosedJaxpr):
        return (
            "closed_jaxpr",
            _structure(value.jaxpr, by_position),
            tuple(_const_key(c) for c in value.consts),
        )
    if isinstance(value, Jaxpr):
        return ("jaxpr", _structure(value, by_position))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_param_key(v, derivative_rule, by_position) for v in value))
    if isinstance(value, dict):
        items = ((str(k), _param_key(v, derivative_rule, by_position)) for k, v in value.items())
        return ("dict", tuple(sorted(items)))
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if derivative_rule and callable(value):
        return "derivative-rule"
    try:
        hash(value)
    except TypeError:
        # Unhashable objects (callback wrappers...) compare by identity; the cache entry keeps the
        # program that holds them alive, so the identity is not reused while the entry exists.
        return ("object", id(value))
    return value  # type: ignore[no-any-return]


def _const_key(value: Any) -> Hashable:
    # Constants of nested jaxprs are baked into the executable: compare them by value when small.
    try:
        array = None if isinstance(value, jax.core.Tracer) else np.asarray(value)
    except TypeError:  # typed PRNG keys have no NumPy value
        array = None
    if array is not None and array.size <= 64 and array.dtype != object:
        return _literal_key(array)
    return ("const", id(value))


def _structure(jaxpr: Jaxpr, by_position: bool = False) -> Hashable:
    # ``by_position``: host callbacks enter as a marker (the executable looks them up per call), not by
    # identity.
    numbers: dict[Any, int] = {}

    def ref(v: Any) -> Hashable:
        if isinstance(v, Literal):
            return _literal_key(v.val), v.aval
        number = numbers.get(v)
        if number is None:
            number = numbers[v] = len(numbers)
        return number

    parts: list[Hashable] = [
        tuple((ref(v), v.aval) for v in jaxpr.constvars),
        tuple((ref(v), v.aval) for v in jaxpr.invars),
    ]
    for eqn in jaxpr.eqns:
        rule = eqn.primitive.name in _DERIVATIVE_RULE_PRIMITIVES
        params = tuple(
            sorted(
                (
                    k,
                    "host-callback"
                    if by_position and is_host_callback(k, v)
                    else _param_key(v, rule, by_position),
                )
                for k, v in eqn.params.items()
            )
        )
        ins = tuple(ref(v) for v in eqn.invars)
        outs = tuple((ref(v), v.aval) for v in eqn.outvars)
        parts.append((eqn.primitive, ins, params, outs, tuple(sorted(map(str, eqn.effects)))))
    parts.append(tuple(ref(v) for v in jaxpr.outvars))
    return tuple(parts)


def jaxpr_key(closed: ClosedJaxpr) -> Hashable:
    """A hashable key equal for two closed jaxprs that compute the same function of (consts, inputs).

    Variable names, Python object identities of the jaxprs and the *values* of the top-level constants
    do not enter the key (the constants' abstract values do); equations, their parameters, the wiring,
    literals and every abstract value do. Host callbacks (``jax.debug.callback``...) enter by identity:
    an executable built from one program calls that program's callbacks. (:class:`CompiledProgramCache`
    evaluations key them by position instead: its shared executable calls the callbacks of the program
    being run, so a fresh progress bar per call needs no new compile.)
    """
    return ("program", _structure(closed.jaxpr), tuple(_aval_of(c) for c in closed.consts))


def _key_without_callbacks(closed: ClosedJaxpr) -> tuple[Hashable, tuple[Callable[..., Any], ...]] | None:
    """``(key, callbacks)`` of a program with host callbacks, keyed without them; ``None`` if it has none.

    Programs with equal keys differ at most in their host callbacks, listed in the order
    :class:`~brainstate_ir._host_callbacks.TrampolinedEvaluator` numbers them.
    """
    callbacks = host_callbacks(closed.jaxpr)
    if not callbacks:
        return None
    key = (
        "program-with-callbacks",
        _structure(closed.jaxpr, True),
        tuple(_aval_of(c) for c in closed.consts),
    )
    return key, callbacks


def _aval_of(value: Any) -> Hashable:
    shape = getattr(value, "shape", ())
    dtype = getattr(value, "dtype", None)
    return (tuple(shape), str(dtype) if dtype is not None else type(value).__name__)


class _Entry:
    __slots__ = ("calls", "compiled", "effects", "jaxpr")

    def __init__(self, jaxpr: Jaxpr | None) -> None:
        self.jaxpr = jaxpr
        self.calls = 0
        self.compiled: Callable[..., Any] | None = None
        self.effects = jaxpr is not None and has_host_effects(jaxpr)


class CompiledProgramCache:
    """Compiled evaluators of traced programs, shared by every program with the same structure.

    Parameters
    ----------
    maxsize
        Number of distinct program structures kept (least recently used are dropped).
    compile_after
        Compile a structure the ``compile_after``-th time it is called; earlier calls evaluate it op by
        op (no XLA compile). ``1`` compiles on first sight.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir import CompiledProgramCache
    >>> cache = CompiledProgramCache()
    >>> def f(x):
    ...     return x * jnp.arange(3.0)          # jnp.arange(3.0) is a captured constant
    >>> a = jax.make_jaxpr(f)(1.0)
    >>> b = jax.make_jaxpr(lambda x: x * jnp.arange(3.0))(2.0)   # a fresh trace, same structure
    >>> [float(v) for v in cache.call_jaxpr(b, [2.0])[0]]
    [0.0, 2.0, 4.0]
    >>> _ = cache.call_jaxpr(a, [1.0])
    >>> cache.stats()['size'], cache.stats()['hits']
    (1, 1)
    """

    def __init__(self, maxsize: int = 512, compile_after: int = 1) -> None:
        self.maxsize = maxsize
        self.compile_after = max(1, int(compile_after))
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def call_jaxpr(self, closed: ClosedJaxpr, flat_args: Sequence[Any], key: Hashable = None) -> list[Any]:
        """Evaluate ``closed`` at ``flat_args`` through the compiled evaluator of its structure.

        ``key`` is ``jaxpr_key(closed)`` if the caller already has it. Inputs that are tracers (a call
        inside an enclosing trace) or a program holding tracer constants are evaluated directly, as
        ``jax.core.eval_jaxpr`` would, since an executable only runs on concrete values.
        """
        consts = list(closed.consts)
        if any(isinstance(x, jax.core.Tracer) for x in (*consts, *flat_args)):
            return list(jax.core.eval_jaxpr(closed.jaxpr, consts, *flat_args))
        callbacks: tuple[Callable[..., Any], ...] = ()
        if closed.jaxpr.effects:  # host callbacks: one executable calls each call's own (trampolines)
            keyed = _key_without_callbacks(closed)
            if keyed is not None:
                key, callbacks = keyed
        if key is None:
            key = jaxpr_key(closed)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                entry = self._entries[key] = _Entry(closed.jaxpr)
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            entry.calls += 1
            compiled = entry.compiled
            if compiled is None and entry.calls >= self.compile_after:
                assert entry.jaxpr is not None
                compiled = entry.compiled = (
                    TrampolinedEvaluator(entry.jaxpr) if callbacks else _evaluator(entry.jaxpr)
                )
            effects = entry.effects
        if compiled is None:
            out = list(jax.core.eval_jaxpr(closed.jaxpr, consts, *flat_args))
        elif callbacks:
            out = compiled(closed, callbacks, consts, flat_args)
        else:
            out = list(compiled(consts, list(flat_args)))
        if effects:  # a host callback's error (a failed check) belongs to this call, on GPU too
            wait_for_outputs_and_host_callbacks(out)
        return out

    def call(
        self, program: TracedProgram, arg_leaves: Sequence[Any], state_values: Sequence[Any]
    ) -> tuple[Any, list[Any]]:
        """Run a :class:`TracedProgram` like ``program.evaluate``: return ``(out, returned_state_values)``."""
        flat = self.call_jaxpr(
            program.jaxpr,
            [*arg_leaves, *program.flatten_state_values(state_values)],
            ("program", program.key_id),  # interned: cheap to hash on every call
        )
        return program.unflatten_outputs(flat)

    def jitted(self, key: Hashable, build: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
        """``jax.jit(build())`` made once per ``key`` and shared by every caller that uses the same key.

        For transforms that compile more than a plain evaluation (e.g. a gradient): the key must contain
        everything the built function depends on (typically a program's ``key`` plus the transform's own
        static options), and the function must take every per-call value, a program's constants included,
        as arguments.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                entry = self._entries[key] = _Entry(None)
                entry.compiled = jax.jit(build())
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
            else:
                self._hits += 1
                self._entries.move_to_end(key)
            entry.calls += 1
            assert entry.compiled is not None
            return entry.compiled

    def stats(self) -> dict[str, int]:
        """``{'size', 'compiled', 'hits', 'misses'}``: structures kept, compiled, and lookups."""
        with self._lock:
            compiled = sum(1 for e in self._entries.values() if e.compiled is not None)
            return {
                "size": len(self._entries),
                "compiled": compiled,
                "hits": self._hits,
                "misses": self._misses,
            }

    def clear(self) -> None:
        """Drop every entry (and with them the compiled executables)."""
        with self._lock:
            self._entries.clear()


def _evaluator(jaxpr: Jaxpr) -> Callable[..., Any]:
    def evaluate(consts: list[Any], flat_args: list[Any]) -> list[Any]:
        return list(jax.core.eval_jaxpr(jaxpr, consts, *flat_args))

    return jax.jit(evaluate)


_STRUCTURE_IDS: OrderedDict[Hashable, int] = OrderedDict()
_STRUCTURE_LOCK = threading.Lock()
_NEXT_ID = [0]


def structure_id(key: Hashable, maxsize: int = 4096) -> int:
    """A small int standing for ``key``: equal keys get the same int (a cheap static argument).

    Ids are never reused; a key dropped from the bounded table gets a new id when seen again.
    """
    with _STRUCTURE_LOCK:
        number = _STRUCTURE_IDS.get(key)
        if number is None:
            _NEXT_ID[0] += 1
            number = _STRUCTURE_IDS[key] = _NEXT_ID[0]
            while len(_STRUCTURE_IDS) > maxsize:
                _STRUCTURE_IDS.popitem(last=False)
        else:
            _STRUCTURE_IDS.move_to_end(key)
        return number


#: The process-wide cache used by ``grad``, ``StatefulFunction.__call__`` and the other transforms. A
#: program structure is evaluated op by op the first time and compiled when it is called again.
COMPILED_PROGRAMS = CompiledProgramCache(compile_after=2)


def compiled_call(
    program: TracedProgram, arg_leaves: Sequence[Any], state_values: Sequence[Any]
) -> tuple[Any, list[Any]]:
    """``program.evaluate(arg_leaves, state_values)`` through the process-wide :data:`COMPILED_PROGRAMS`."""
    return COMPILED_PROGRAMS.call(program, arg_leaves, state_values)
