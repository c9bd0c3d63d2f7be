"""NaN/Inf debugging that works eagerly and inside compiled code, and a conditional breakpoint.

``debug_nan(fn, *args)`` runs ``fn`` and, if any output holds a NaN or an Inf, raises a ``RuntimeError``
that names the primitive that introduced it, the user's source line, and the contaminated outputs::

    NaN/Inf detected [grad] in the output of the checked function!
      Introduced by primitive : `log`
      Source location : /home/me/model.py:42 (loss)
      Contaminated outputs :
        output[0]: shape=(3,), dtype=float32, NaN=1, Inf=0

Inside a trace (``jit``, ``vmap``, ``grad``...) the check compiles to ``lax.cond(any NaN, host callback,
noop)``: the expensive analysis (an equation-by-equation replay of ``fn`` on the concrete inputs) runs on
the host only when a NaN/Inf actually appeared.

.. note::
   Under ``jit`` the ``RuntimeError`` is raised on the host while the compiled program runs, so it
   surfaces as ``jax.errors.JaxRuntimeError`` whose message contains the report above.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import StatefulFunction, TracedProgram, unvmap
from brainstate_state import contains_tracer, user_frame_info

from ._nan_analysis import analyze_batched
from .checks import call_on_host_if

__all__ = ["breakpoint_if", "debug_nan", "debug_nan_if"]


def _check_phase(phase: Any) -> str:
    if not isinstance(phase, str):
        raise TypeError(f"debug_nan: phase must be a str, got {type(phase).__name__} ({phase!r}).")
    return phase


def _prepare(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[TracedProgram, list[Any], list[Any]]:
    """Trace ``fn`` for ``args``: ``(program, dynamic arg leaves, State values)``."""
    if not callable(fn):
        raise TypeError(f"debug_nan: fn must be callable, got {type(fn).__name__}.")
    stateful = StatefulFunction(fn)
    call = stateful.split(*args)
    program = stateful.program_for(call)
    state_values = [state.value for state in program.states]  # read only: debug_nan never writes a State
    return program, list(call.leaves), state_values


def _call_site() -> str | None:
    """The user's line that called ``debug_nan`` (shown when the NaN came from a non-user operation)."""
    site = user_frame_info()
    return str(site) if site is not None else None


def _raise_if_nan(
    program: TracedProgram, leaves: list[Any], state_values: list[Any], phase: str, call_site: str | None
) -> None:
    report = analyze_batched(program, leaves, state_values, phase, call_site)
    if report is not None:
        raise RuntimeError(report.message)


def _compiled_check(
    flag: Any, program: TracedProgram, leaves: list[Any], state_values: list[Any], phase: str
) -> None:
    """``lax.cond(flag, <host analysis that raises>, noop)``; ``flag`` is reduced over ``vmap`` lanes."""
    call_site = _call_site()

    def on_host(host_leaves: list[Any], host_states: list[Any]) -> None:
        # Under vmap the values carry leading lane axes: the analysis replays the lanes one by one.
        _raise_if_nan(program, list(host_leaves), list(host_states), phase, call_site)

    call_on_host_if(flag, on_host, (leaves, state_values))


def debug_nan(fn: Callable[..., Any], *args: Any, phase: str = "") -> None:
    """Run ``fn(*args)``; raise a ``RuntimeError`` describing any NaN/Inf in its outputs.

    ``fn`` may read States (it never writes them: written values are discarded). The error names the
    primitive that first produced a NaN/Inf from clean inputs, the user's source line of that operation,
    and every contaminated output (shape, dtype, NaN and Inf counts). Works eagerly and inside
    ``jit``/``vmap``/``grad``; there the check runs on the host only when a NaN/Inf appeared.

    Parameters
    ----------
    fn
        The function to check.
    *args
        Its arguments (arrays or pytrees of arrays).
    phase
        A label shown in the message, e.g. ``'grad'``.

    Raises
    ------
    RuntimeError
        If an output holds a NaN or an Inf (under ``jit``: ``JaxRuntimeError`` containing the report).
    TypeError
        If ``fn`` is not callable or ``phase`` is not a str.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_jit.debug import debug_nan
    >>> debug_nan(jnp.log, jnp.array([1.0, 2.0]))   # clean: returns None
    >>> try:
    ...     debug_nan(lambda x: jnp.log(x) * 2, jnp.array([-1.0, 2.0]), phase='forward')
    ... except RuntimeError as e:
    ...     print(str(e).splitlines()[:2])
    ['NaN/Inf detected [forward] in the output of the checked function!', '  Introduced by primitive : `log`']
    """
    phase = _check_phase(phase)
    program, leaves, state_values = _prepare(fn, args)
    if not contains_tracer((leaves, state_values)):
        _raise_if_nan(program, leaves, state_values, phase, _call_site())
        return
    # The check is not part of what is differentiated: evaluate it on gradient-stopped inputs.
    out, written = program.evaluate(*jax.lax.stop_gradient((leaves, state_values)))
    flags = [
        jnp.any(~jnp.isfinite(x))
        for x in jax.tree.leaves((out, written))
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
    ]
    if not flags:
        return
    _compiled_check(jnp.any(jnp.stack(flags)), program, leaves, state_values, phase)


def debug_nan_if(has_nan: Any, fn: Callable[..., Any], *args: Any, phase: str = "") -> None:
    """Like :func:`debug_nan`, but analyse ``fn(*args)`` only when ``has_nan`` is true.

    Use it when the caller already knows cheaply whether something went wrong (e.g. a gradient
    transform checks its results): nothing is evaluated while ``has_nan`` is false, and inside a trace
    ``fn`` is not even added to the compiled program (it is replayed on the host when needed).

    Parameters
    ----------
    has_nan
        A boolean scalar or array (under ``vmap``: true in any lane triggers the analysis).
    fn, *args, phase
        As for :func:`debug_nan`.

    Raises
    ------
    RuntimeError
        If ``has_nan`` is true and an output of ``fn`` holds a NaN or an Inf.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_jit.debug import debug_nan_if
    >>> x = jnp.array([-1.0])
    >>> debug_nan_if(False, jnp.sqrt, x)        # not checked
    >>> try:
    ...     debug_nan_if(True, jnp.sqrt, x)
    ... except RuntimeError as e:
    ...     print(str(e).splitlines()[1])
      Introduced by primitive : `sqrt`
    """
    phase = _check_phase(phase)
    if isinstance(has_nan, (str, bytes)) or has_nan is None:
        raise TypeError(f"debug_nan_if: has_nan must be a boolean array or scalar, got {has_nan!r}.")
    if not contains_tracer(has_nan) and not bool(np.any(np.asarray(has_nan))):
        return
    program, leaves, state_values = _prepare(fn, args)
    if not contains_tracer((has_nan, leaves, state_values)):
        _raise_if_nan(program, leaves, state_values, phase, _call_site())
        return
    _compiled_check(has_nan, program, leaves, state_values, phase)


def breakpoint_if(pred: Any, **breakpoint_kwargs: Any) -> None:
    """Enter ``jax.debug.breakpoint`` when ``pred`` is true (any element, any ``vmap`` lane).

    Built on ``jax.lax.cond``, so it works eagerly and inside ``jit``/``vmap``; the breakpoint is only
    reached on the host when the predicate holds at run time.

    Parameters
    ----------
    pred
        A boolean scalar or array.
    **breakpoint_kwargs
        Forwarded to ``jax.debug.breakpoint`` (``backend``, ``filter_frames``, ``num_frames``, ...).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_jit.debug import breakpoint_if
    >>> def step(x):
    ...     breakpoint_if(jnp.any(jnp.isnan(x)))   # stops only if x holds a NaN
    ...     return x + 1
    >>> jax.jit(step)(jnp.zeros(2))
    Array([1., 1.], dtype=float32)
    """
    if isinstance(pred, (str, bytes)) or pred is None:
        raise TypeError(f"breakpoint_if: pred must be a boolean array or scalar, got {pred!r}.")
    if not contains_tracer(pred):
        if bool(np.any(np.asarray(pred))):
            jax.debug.breakpoint(**breakpoint_kwargs)
        return
    flag = unvmap(jnp.any(jnp.asarray(pred)), "any")
    jax.lax.cond(flag, functools.partial(_break, breakpoint_kwargs), lambda: None)


def _break(breakpoint_kwargs: dict[str, Any]) -> None:
    jax.debug.breakpoint(**breakpoint_kwargs)
