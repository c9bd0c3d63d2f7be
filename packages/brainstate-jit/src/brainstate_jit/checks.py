"""Runtime checks that work inside compiled code: ``jit_error_if`` and the state-aware ``checkify`` family.

``jit_error_if(pred, error)`` raises when ``pred`` is true, eagerly, under ``jit`` and under ``vmap`` (when
*any* lane's predicate is true). Inside a trace it compiles to ``lax.cond(pred, callback, noop)`` where the
callback is an *ordered* ``jax.debug.callback`` that raises on the host (see :func:`call_on_host_if`).

.. note::
   An exception raised on the host while compiled code runs cannot travel through XLA unchanged: under
   ``jit`` it surfaces as ``jax.errors.JaxRuntimeError`` whose text contains the original error type and
   message (``"RuntimeCheckError: negative found: [-1.]"``). Called eagerly (no trace active), the
   :class:`RuntimeCheckError` itself is raised. Catch ``Exception`` and inspect the message if your code
   must handle both.

.. note::
   On GPU and TPU compiled programs run asynchronously: the host callback of a check runs after the call
   that dispatched it returned. brainstate's ``jit`` and its eager transforms wait for the callbacks of a
   program that has any, so the failed call raises (and writes no State) on every backend. A raw
   ``jax.jit`` does not wait: there the error surfaces at the next ``jax.effects_barrier()`` or
   ``block_until_ready``.

``checkify`` wraps :func:`jax.experimental.checkify.checkify` so that functions which read and write
States can be checked: the function is traced once into a pure program, ``checkify`` is applied to that
program, and the written States are committed after it returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap
from jax.experimental import checkify as _checkify

from brainstate_ir import StatefulFunction, compat
from brainstate_state import BrainStateError, contains_tracer

__all__ = [
    "RuntimeCheckError",
    "all_checks",
    "automatic_checks",
    "check",
    "check_error",
    "checkify",
    "div_checks",
    "float_checks",
    "index_checks",
    "jit_error_if",
    "nan_checks",
    "user_checks",
]

#: Every check JAX's checkify knows (user checks, NaN, division by zero, out-of-bounds indexing).
all_checks: frozenset[Any] = _checkify.all_checks
#: Only the checks written by the user with :func:`check`.
user_checks: frozenset[Any] = _checkify.user_checks
#: Primitives that produce a NaN from non-NaN inputs.
nan_checks: frozenset[Any] = _checkify.nan_checks
#: Integer division by zero.
div_checks: frozenset[Any] = _checkify.div_checks
#: Out-of-bounds gathers and scatters.
index_checks: frozenset[Any] = _checkify.index_checks
#: NaN and division checks.
float_checks: frozenset[Any] = _checkify.float_checks
#: Everything except user checks.
automatic_checks: frozenset[Any] = _checkify.automatic_checks

#: ``check(pred, msg, *fmt_args, **fmt_kwargs)``: a functionalisable assertion, see :func:`checkify`.
check = _checkify.check
#: ``check_error(error)``: re-raise the error held by a checkify ``Error`` value inside a checked function.
check_error = _checkify.check_error


class RuntimeCheckError(BrainStateError, ValueError):
    """The condition of :func:`jit_error_if` was true.

    A subclass of ``ValueError`` as well, so ``except ValueError`` keeps working. Under ``jit`` it arrives
    wrapped in ``jax.errors.JaxRuntimeError`` (whose message contains this error's message).

    Examples
    --------
    >>> from brainstate_jit.checks import RuntimeCheckError, jit_error_if
    >>> try:
    ...     jit_error_if(True, 'step %d failed', 3)
    ... except RuntimeCheckError as e:
    ...     print(e)
    step 3 failed
    """


# ---------------------------------------------------------------------------------------- jit_error_if
def _format_message(error: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``error % args`` when it has ``%`` conversions, else ``error.format(*args, **kwargs)``."""
    try:
        if args and "%" in error:
            return error % (args if len(args) != 1 else args[0])
        if kwargs and "%(" in error:
            return error % kwargs
        if args or kwargs:
            return error.format(*args, **kwargs)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        return f"{error} (could not format the message with args={args!r}, kwargs={kwargs!r}: {exc})"
    return error


def _raise_error(error: str | Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if isinstance(error, str):
        raise RuntimeCheckError(_format_message(error, args, kwargs))
    result = error(*args, **kwargs)  # the callable may raise its own error: that one propagates
    if isinstance(result, str):
        raise RuntimeCheckError(result)
    name = getattr(error, "__qualname__", type(error).__name__)
    raise RuntimeCheckError(
        f"jit_error_if: the checked condition was true, and the error callable {name} returned "
        f"{result!r} instead of raising. Make it raise an exception, or return the message as a str."
    )


def call_on_host_if(flag: Any, callback: Callable[..., None], operands: Any) -> None:
    """Inside a trace: run ``callback(*operands)`` on the host when ``flag`` is true (any element, any lane).

    Compiles to ``lax.cond(flag, <ordered jax.debug.callback>, noop)``. Under ``vmap`` the check is not
    batched lane by lane: ``flag`` is reduced over the lanes ('any') and the callback receives the whole
    batch (each mapped operand with its lane axes in front, unmapped operands unchanged), in one call.

    The cond and its callback are created for the shapes they will actually see. They sit inside a
    ``custom_vmap`` whose batching rule re-creates them at the batched shapes, so a program traced for one
    lane and batched afterwards (``vmap2``, ``jax.vmap`` of a traced program) compiles; an ordered callback
    is never batched (JAX cannot batch ordered effects), and nested ``vmap`` works (the rule recurses).

    Parameters
    ----------
    flag
        A boolean scalar or array.
    callback
        Called on the host with the operand leaves' values (as positional pytrees), returns nothing.
    operands
        A tuple of pytrees of arrays. They are read without gradient.
    """
    run = _host_call(callback)
    run(jnp.any(jnp.asarray(flag)), jax.tree.map(jax.lax.stop_gradient, tuple(operands)))


def _host_call(callback: Callable[..., None]) -> Any:
    @custom_vmap
    def run(flag: Any, operands: tuple[Any, ...]) -> Any:
        def on_true(ops: tuple[Any, ...]) -> None:
            jax.debug.callback(callback, *ops, ordered=True)

        jax.lax.cond(flag, on_true, lambda ops: None, operands)
        return flag  # custom_vmap needs an output; the call is kept for its (ordered) effect

    @run.def_vmap
    def rule(axis_size: int, in_batched: list[Any], flag: Any, operands: tuple[Any, ...]) -> tuple[Any, bool]:
        # Batched operands arrive with their lane axis in front: they are handed to the host as is.
        if in_batched[0]:
            flag = jnp.any(flag, axis=0)
        out = run(flag, operands)
        if compat.is_eager():  # an eager jax.vmap ran the check just now: its error belongs to this call
            compat.wait_for_host_callbacks()
        return out, False

    return run


def jit_error_if(pred: Any, error: str | Callable[..., Any], *err_args: Any, **err_kwargs: Any) -> None:
    """Raise an error when ``pred`` is true, eagerly or inside compiled (``jit``/``vmap``) code.

    Parameters
    ----------
    pred
        A boolean scalar or array. The error is raised when any element is true; under ``vmap`` when any
        element of any lane is true.
    error
        A message, formatted with ``error % err_args`` when it contains ``%`` conversions and with
        ``error.format(*err_args, **err_kwargs)`` otherwise; or a callable ``error(*err_args,
        **err_kwargs)`` that raises (or returns the message as a str).
    *err_args, **err_kwargs
        Arrays (or pytrees of arrays) handed to the message. Under ``vmap`` they are the whole batch.

    Raises
    ------
    RuntimeCheckError
        When ``pred`` is true and no trace is active. Under ``jit`` the same error arrives wrapped in
        ``jax.errors.JaxRuntimeError``, whose message contains the text above.
    TypeError
        If ``error`` is neither a str nor callable, or ``pred`` is not array-like.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_jit.checks import jit_error_if
    >>> def safe_log(x):
    ...     jit_error_if(jnp.any(x <= 0), 'non-positive input: {}', x)
    ...     return jnp.log(x)
    >>> jax.jit(safe_log)(jnp.array([1.0, 2.0]))
    Array([0.       , 0.6931472], dtype=float32)
    >>> try:
    ...     safe_log(jnp.array([-1.0]))
    ... except ValueError as e:
    ...     print(e)
    non-positive input: [-1.]
    """
    if not (isinstance(error, str) or callable(error)):
        raise TypeError(
            f"jit_error_if: error must be a message str or a callable, got {type(error).__name__}. "
            "Pass e.g. 'x must be positive: {}' together with the values to format."
        )
    if isinstance(pred, (str, bytes)) or pred is None:
        raise TypeError(
            f"jit_error_if: pred must be a boolean array or scalar, got {type(pred).__name__} ({pred!r})."
        )
    if not contains_tracer((pred, err_args, err_kwargs)):
        if bool(np.any(np.asarray(pred))):
            _raise_error(error, err_args, err_kwargs)
        return
    call_on_host_if(
        jnp.asarray(pred), lambda a, k: _raise_error(error, tuple(a), dict(k)), (err_args, err_kwargs)
    )


# ---------------------------------------------------------------------------------------- checkify
def _validate_errors(errors: Any) -> frozenset[Any]:
    if not isinstance(errors, (set, frozenset)) or not all(isinstance(e, type) for e in errors):
        raise TypeError(
            "checkify: errors must be a set of checkify error categories such as user_checks, "
            f"float_checks, all_checks (or unions of them), got {type(errors).__name__}: {errors!r}."
        )
    return frozenset(errors)


def checkify(fun: Callable[..., Any], errors: frozenset[Any] = user_checks) -> Callable[..., tuple[Any, Any]]:
    """Functionalise the checks of a State-using function: ``checkify(fun)(*args) -> (err, out)``.

    The state-aware form of :func:`jax.experimental.checkify.checkify`. ``fun`` may read and write States;
    it is traced once per argument signature, the checks are functionalised on that pure program, and the
    States it wrote are updated after the call (whether or not a check failed, exactly as the values were
    computed).

    Parameters
    ----------
    fun
        The function to check. It may call :func:`check` and use States.
    errors
        Which checks to enable: ``user_checks`` (default), ``nan_checks``, ``div_checks``,
        ``index_checks``, ``float_checks``, ``automatic_checks``, ``all_checks`` or unions of them.

    Returns
    -------
    Callable
        ``(*args, **kwargs) -> (err, out)``; ``err.get()`` is ``None`` or the first failure's message,
        and ``err.throw()`` raises it.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_jit.checks import check, checkify
    >>> total = bss.State(jnp.array(0.0), name='total')
    >>> def accumulate(x):
    ...     check(x > 0, 'x must be positive: {x}', x=x)
    ...     total.value = total.value + x
    ...     return total.value
    >>> err, out = checkify(accumulate)(jnp.array(-1.0))
    >>> err.get()
    'x must be positive: -1.0 (`check` failed)'
    >>> float(total.value)
    -1.0
    """
    if not callable(fun):
        raise TypeError(f"checkify needs a callable, got {type(fun).__name__}.")
    error_set = _validate_errors(errors)
    stateful = StatefulFunction(fun, name=getattr(fun, "__name__", None))

    @functools.wraps(fun)
    def checked(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        call = stateful.split(*args, **kwargs)
        program = stateful.program_for(call)
        state_values = [state.value for state in program.states]

        def pure(values: list[Any], leaves: list[Any]) -> tuple[list[Any], Any]:
            out, new_values = program.evaluate(leaves, values)
            return new_values, out

        err, (new_values, out) = _checkify.checkify(pure, errors=error_set)(state_values, call.leaves)
        for state, value in zip(program.returned_states, new_values, strict=True):
            state.value = value
        return err, out

    return checked
