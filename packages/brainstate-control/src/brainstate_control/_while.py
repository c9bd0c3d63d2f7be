"""``while_loop`` and ``bounded_while_loop``: state-aware while loops.

``while_loop`` is ``jax.lax.while_loop`` with the States written by the body in the carry (forward-mode
differentiable only, like its JAX counterpart). ``bounded_while_loop`` caps the number of steps and is
built from nested checkpointed scans of condition-guarded steps, so it is reverse-mode differentiable;
under ``vmap`` each lane stops on its own (finished lanes are masked) and a sub-tree of steps is skipped
only once every lane has finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import StatefulFunction, TracedProgram, compat, register_prim_handler, unvmap
from brainstate_state import StateTraceStack, state_error_message

from ._common import (
    StateUnion,
    arg_leaves,
    call_name,
    disable_jit_active,
    function_label,
    in_trace,
    is_concrete,
    promote_weak_carry,
)
from ._eager_cache import cached_eager_call
from ._eager_programs import run_while_eager
from ._nested import level_sizes, nested_scan, validate_base

__all__ = ["bounded_while_loop", "while_loop"]

# Generated Python code drops the reverse-mode guard of while_loop (it only changes error messages).
register_prim_handler("no_reverse_mode", lambda ctx, eqn, args: str(args[0]))

T = TypeVar("T")


def _trace_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any, what: str
) -> tuple[TracedProgram, TracedProgram, StateUnion, Any]:
    """Trace ``cond_fun`` and ``body_fun`` at the loop's carry type; validate them.

    Returns the programs, their union of States and ``init_val`` promoted to the carry type (a weakly
    typed initial value takes the type the body returns, as in ``jax.lax.while_loop``).
    """
    body = StatefulFunction(body_fun, name=call_name(body_fun))
    body_program = body.get_program(init_val)
    init_val, promoted = promote_weak_carry(init_val, body_program.out_shapes)
    if promoted:
        body_program = body.get_program(init_val)
    cond_program = StatefulFunction(cond_fun, name=call_name(cond_fun)).get_program(init_val)
    if cond_program.write_states:
        raise _cond_writes_error(cond_fun, cond_program.write_states[0], what)
    shape = cond_program.out_shapes
    if not (hasattr(shape, "shape") and tuple(shape.shape) == () and np.dtype(shape.dtype) == np.bool_):
        raise TypeError(
            f"{what}: cond_fun {call_name(cond_fun)} must return a boolean scalar, got {shape!r:.80}. "
            "Return e.g. `x < 10` (use `jnp.all`/`jnp.any` to reduce arrays)."
        )
    union = StateUnion([cond_program, body_program])
    union.check_written_types([body_program], f"{what} body_fun {call_name(body_fun)}")
    return cond_program, body_program, union, init_val


def _cond_writes_error(cond_fun: Callable[..., Any], state: Any, what: str) -> ValueError:
    return ValueError(
        state_error_message(
            f"{what}: cond_fun {call_name(cond_fun)} writes a State; the loop condition may only read States.",
            state,
            "move the write into body_fun (the condition is evaluated an unspecified number of times).",
        )
    )


def _while_python(cond_fun: Callable[[T], Any], body_fun: Callable[[T], T], val: T) -> T:
    """The ``disable_jit`` path: a Python loop (falls back to ``lax`` if the predicate is not concrete)."""
    while True:
        with StateTraceStack(name="while_loop cond_fun") as trace:  # transparent: only records
            pred = cond_fun(val)
        if any(trace.been_written):
            trace.recovery_original_values()
            raise _cond_writes_error(cond_fun, trace.get_write_states()[0], "while_loop")
        if not is_concrete(pred):  # e.g. under vmap: fall back to the compiled loop
            return _while_inline((cond_fun, body_fun), None, val)  # type: ignore[no-any-return]
        if not bool(pred):
            return val
        val = body_fun(val)


def _while_inline(funs: tuple[Callable[..., Any], ...], static: None, init_val: Any) -> Any:
    cond_fun, body_fun = funs
    cond_program, body_program, union, init_val = _trace_loop(cond_fun, body_fun, init_val, "while_loop")
    if not in_trace():  # eager: no trace of the whole call, the compiled loop is reused by structure
        return run_while_eager(cond_program, body_program, union, init_val)
    write_values, read_values = union.current_values()

    def cond(carry: Any) -> Any:
        writes, val = carry
        out, _ = cond_program.evaluate(arg_leaves(val), union.values_for(cond_program, writes, read_values))
        return out

    def body(carry: Any) -> Any:
        writes, val = carry
        values = union.values_for(body_program, writes, read_values)
        new_val, new_writes = body_program.evaluate(arg_leaves(val), values)
        return union.written_after(body_program, writes, new_writes), new_val

    final_writes, val = jax.lax.while_loop(cond, body, (write_values, init_val))
    message = _REVERSE_MODE_MESSAGE.format(cond=function_label(cond_fun), body=function_label(body_fun))
    final_writes, val = jax.tree.map(lambda x: _forward_only(x, message), (final_writes, val))
    union.commit(final_writes)
    return val


_REVERSE_MODE_MESSAGE = (
    "while_loop with cond_fun {cond} and body_fun {body} cannot be differentiated in reverse mode (jax.grad, "
    "jax.vjp, brainstate's grad): its number of steps is only known when it runs. Use "
    "brainstate.transform.bounded_while_loop(cond_fun, body_fun, init_val, max_steps=N), which runs at most "
    "N steps and supports reverse mode. Forward mode (jax.jvp, jax.jacfwd) works with while_loop."
)


def _forward_only(x: Any, message: str) -> Any:
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.inexact):
        return compat.no_reverse_mode(x, message)
    return x


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def while_loop(cond_fun: Callable[[T], Any], body_fun: Callable[[T], T], init_val: T) -> T:
    """State-aware ``jax.lax.while_loop``: ``while cond_fun(val): val = body_fun(val)``.

    ``body_fun`` may read and write States (written States travel in the loop carry); ``cond_fun`` may
    read States but not write them. Like ``lax.while_loop`` it supports forward-mode but not reverse-mode
    differentiation; see :func:`bounded_while_loop` for that.

    Parameters
    ----------
    cond_fun
        ``val -> bool scalar``.
    body_fun
        ``val -> val`` (same structure, shapes and dtypes).
    init_val
        The initial loop value.

    Returns
    -------
    Any
        The final loop value.

    Raises
    ------
    ValueError
        If ``cond_fun`` writes a State (the message names it).
    TypeError
        If ``cond_fun`` does not return a boolean scalar, or the body changes a State's shape/dtype.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import while_loop
    >>> total = bss.State(jnp.array(0))
    >>> def body(i):
    ...     total.value = total.value + i
    ...     return i + 1
    >>> int(while_loop(lambda i: i < 5, body, 0)), int(total.value)
    (5, 10)
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("while_loop: cond_fun and body_fun must be callable.")
    if disable_jit_active():
        return _while_python(cond_fun, body_fun, init_val)
    return _while_inline((cond_fun, body_fun), None, init_val)  # type: ignore[no-any-return]


def _bounded_inline(funs: tuple[Callable[..., Any], ...], static: tuple[int, int], init_val: Any) -> Any:
    cond_fun, body_fun = funs
    max_steps, base = static
    cond_program, body_program, union, init_val = _trace_loop(
        cond_fun, body_fun, init_val, "bounded_while_loop"
    )
    write_values, read_values = union.current_values()

    def lane_pred(carry: Any) -> Any:
        step, writes, val = carry
        values = union.values_for(cond_program, writes, read_values)
        out, _ = cond_program.evaluate(arg_leaves(val), values)
        return jnp.logical_and(out, step < max_steps)

    def any_lane(carry: Any) -> Any:
        return unvmap(lane_pred(carry), "any")

    def leaf(carry: Any, _: Any) -> tuple[Any, None]:
        step, writes, val = carry
        active = lane_pred(carry)
        values = union.values_for(body_program, writes, read_values)
        new_val, new_writes = body_program.evaluate(arg_leaves(val), values)
        new = (union.written_after(body_program, writes, new_writes), new_val)
        # Lanes whose condition is false keep their values (a no-op outside vmap: active is true here).
        kept = jax.tree.map(lambda a, b: jnp.where(active, a, b), new, (writes, val))
        return (step + 1, *kept), None

    sizes = level_sizes(max_steps, base)
    step0 = jnp.zeros((), jnp.int32)
    (_, final_writes, val), _ = nested_scan(
        leaf, (step0, write_values, init_val), None, sizes, any_lane, None
    )
    union.commit(final_writes)
    return val


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def bounded_while_loop(
    cond_fun: Callable[[T], Any],
    body_fun: Callable[[T], T],
    init_val: T,
    *,
    max_steps: int,
    base: int = 16,
) -> T:
    """A reverse-mode differentiable while loop that runs at most ``max_steps`` steps.

    Built from nested checkpointed scans of condition-guarded steps (see :func:`checkpointed_scan`):
    gradients need memory about ``base * log_base(max_steps)`` carries. Under ``vmap``, each lane stops
    when its own condition turns false.

    Parameters
    ----------
    cond_fun
        ``val -> bool scalar``; may read States but not write them.
    body_fun
        ``val -> val``; may read and write States.
    init_val
        The initial loop value.
    max_steps
        The hard cap on the number of steps (a non-negative int). ``0`` returns ``init_val``.
    base
        The maximum segment size per nesting level (an int >= 2).

    Returns
    -------
    Any
        The loop value after the condition turned false or ``max_steps`` steps ran.

    Raises
    ------
    ValueError
        If ``max_steps`` is not a non-negative int, ``base`` is invalid, or ``cond_fun`` writes a State.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_control import bounded_while_loop
    >>> int(bounded_while_loop(lambda i: i < 100, lambda i: i + 1, 0, max_steps=10))
    10
    >>> def grow(x):   # d/dx of x * 2**k, where k is the number of doublings until x >= 10
    ...     return bounded_while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x, max_steps=20)
    >>> float(grow(1.5)), float(jax.grad(grow)(1.5))
    (12.0, 8.0)
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("bounded_while_loop: cond_fun and body_fun must be callable.")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
        raise ValueError(f"bounded_while_loop: max_steps must be a non-negative int, got {max_steps!r}.")
    max_steps = int(max_steps)
    validate_base(base, "bounded_while_loop")
    if max_steps == 0:
        return jax.tree.map(jnp.asarray, init_val)  # type: ignore[no-any-return]
    static = (max_steps, base)
    if in_trace() or disable_jit_active():
        return _bounded_inline((cond_fun, body_fun), static, init_val)  # type: ignore[no-any-return]
    result: T = cached_eager_call(
        "bounded_while_loop", (cond_fun, body_fun), static, _bounded_inline, (init_val,)
    )
    return result
