"""Host callbacks in shared executables: the executable calls a trampoline, which calls this call's callback.

A traced program that calls back into Python (``jax.debug.callback``, ``io_callback``, ``pure_callback``:
what a progress bar or a logging hook stages) holds the callback object as an equation parameter, and an
XLA executable calls the object it was compiled with. Every trace makes fresh callback objects, so keying
executables on them compiles once per call, and sharing one executable between two programs would run
the first program's callbacks (an old progress bar, an old closure) in later calls.

Instead, the executable shared by programs that differ only in their callbacks is compiled from a copy
of the program whose callbacks are trampolines: trampoline ``i`` calls callback ``i`` of the program
being run now (callbacks are numbered in a fixed walk of the program, :func:`host_callbacks`). A call
sets its own callbacks, runs the executable and waits for its host callbacks before the next call of
the same executable may start; a call that finds the executable busy (another thread, or a callback
that runs the same program again) evaluates its program op by op instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax

from .compat import ClosedJaxpr, Jaxpr, wait_for_host_callbacks

__all__ = ["TrampolinedEvaluator", "host_callbacks", "is_host_callback"]


def is_host_callback(name: str, value: Any) -> bool:
    """Whether the equation parameter ``name=value`` is a host callback (called by the executable)."""
    return name == "callback" and callable(value) and not isinstance(value, (Jaxpr, ClosedJaxpr))


def _map_params(params: dict[str, Any], fn: Callable[[Any], Any]) -> tuple[dict[str, Any], bool]:
    new: dict[str, Any] = {}
    changed = False
    for name in sorted(params):  # the fixed walk: parameters by name
        value = params[name]
        new_value = fn(value) if is_host_callback(name, value) else _map_value(value, fn)
        changed = changed or new_value is not value
        new[name] = new_value
    return new, changed


def _map_value(value: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(value, ClosedJaxpr):
        jaxpr = _map_jaxpr(value.jaxpr, fn)
        return value if jaxpr is value.jaxpr else value.replace(jaxpr=jaxpr)
    if isinstance(value, Jaxpr):
        return _map_jaxpr(value, fn)
    if isinstance(value, (tuple, list)):
        items = [_map_value(v, fn) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else type(value)(items)
    if isinstance(value, dict):
        mapped = {k: _map_value(value[k], fn) for k in sorted(value, key=str)}
        return value if all(mapped[k] is value[k] for k in value) else {k: mapped[k] for k in value}
    return value


def _map_jaxpr(jaxpr: Jaxpr, fn: Callable[[Any], Any]) -> Jaxpr:
    eqns = []
    changed = False
    for eqn in jaxpr.eqns:
        params, eqn_changed = _map_params(eqn.params, fn)
        eqns.append(eqn.replace(params=params) if eqn_changed else eqn)
        changed = changed or eqn_changed
    if not changed:
        return jaxpr
    new: Jaxpr = jaxpr.replace(eqns=eqns)
    return new


def host_callbacks(jaxpr: Jaxpr) -> tuple[Callable[..., Any], ...]:
    """The host callbacks of ``jaxpr`` and its sub-jaxprs, in the walk order the trampolines are numbered in.

    Two jaxprs with the same structure (:func:`~brainstate_ir.jaxpr_key` up to their callbacks) list
    corresponding callbacks at the same positions.
    """
    found: list[Callable[..., Any]] = []

    def collect(callback: Any) -> Any:
        found.append(callback)
        return callback

    _map_jaxpr(jaxpr, collect)
    return tuple(found)


class _Trampoline:
    """Stands in for host callback ``index`` of a shared executable."""

    __slots__ = ("__weakref__", "evaluator", "index")

    def __init__(self, evaluator: TrampolinedEvaluator, index: int) -> None:
        self.evaluator = evaluator
        self.index = index

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        current = self.evaluator.current
        if self.index >= len(current):  # pragma: no cover - a callback outliving its call
            raise RuntimeError("a host callback of a shared executable ran after its call returned")
        return current[self.index](*args, **kwargs)


class TrampolinedEvaluator:
    """A compiled evaluator of ``jaxpr`` whose host callbacks are those of the program passed per call.

    Parameters
    ----------
    jaxpr
        The program the executable is compiled from (its own callbacks are never called).
    """

    def __init__(self, jaxpr: Jaxpr) -> None:
        self.current: tuple[Callable[..., Any], ...] = ()
        self._lock = threading.Lock()
        counter = iter(range(1 << 62))
        rewritten = _map_jaxpr(jaxpr, lambda _callback: _Trampoline(self, next(counter)))

        def evaluate(consts: list[Any], flat_args: list[Any]) -> list[Any]:
            return list(jax.core.eval_jaxpr(rewritten, consts, *flat_args))

        self._jitted = jax.jit(evaluate)

    def __call__(
        self,
        closed: ClosedJaxpr,
        callbacks: Sequence[Callable[..., Any]],
        consts: list[Any],
        flat_args: Sequence[Any],
    ) -> list[Any]:
        """Run the executable with ``callbacks`` (``host_callbacks(closed.jaxpr)``) as its host callbacks."""
        if not self._lock.acquire(blocking=False):  # busy: run this call's own program op by op
            return list(jax.core.eval_jaxpr(closed.jaxpr, consts, *flat_args))
        try:
            self.current = tuple(callbacks)
            out = list(self._jitted(consts, list(flat_args)))
            wait_for_host_callbacks()  # every callback of this call has run before the next call sets its own
        finally:
            self.current = ()
            self._lock.release()
        return out
