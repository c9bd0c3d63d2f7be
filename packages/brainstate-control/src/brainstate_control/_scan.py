"""``scan`` and ``for_loop``: state-aware ``jax.lax.scan``.

The body is traced once on ``(carry, x_slice)``. Written States travel in the scan carry next to the
user's carry and hold their final values afterwards; read-only States enter the loop once, as
loop-invariant inputs. Eager calls (outside any trace) trace the body again and reuse the executable
compiled for the same program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from brainstate_ir import StatefulFunction, compat

from ._common import (
    StateUnion,
    arg_leaves,
    call_name,
    check_leading_sizes,
    disable_jit_active,
    in_trace,
    promote_weak_carry,
    slice_spec,
)
from ._eager_cache import cached_eager_call
from ._progress import ProgressBar, ProgressBarRunner

__all__ = ["for_loop", "scan"]

Carry = TypeVar("Carry")
#: The per-step output of a ``scan`` body, or the output of a ``for_loop`` body (stacked by the loop).
Y = TypeVar("Y")
PbarLike = ProgressBar | int | None


def make_pbar(pbar: PbarLike, n: int, what: str) -> ProgressBarRunner | None:
    """The runner of ``pbar`` (a ``ProgressBar``, an int ``freq`` or ``None``) for an ``n``-step loop."""
    if pbar is None:
        return None
    if isinstance(pbar, bool) or not isinstance(pbar, (int, ProgressBar)):
        raise TypeError(f"{what}: pbar must be a ProgressBar, an int (its freq) or None, got {pbar!r:.60}.")
    bar = ProgressBar(freq=pbar) if isinstance(pbar, int) else pbar
    return bar.init(n) if n > 0 else None


def _check_body_output(out_shapes: Any, what: str, name: str) -> None:
    if not (isinstance(out_shapes, (tuple, list)) and len(out_shapes) == 2):
        raise TypeError(
            f"{what}: the body {name} must return a pair (new_carry, y), got "
            f"{type(out_shapes).__name__}. Return `carry, y` (use None for y if there is no output)."
        )


def _validate_unroll(unroll: Any, what: str) -> None:
    if not isinstance(unroll, (bool, int)) or (not isinstance(unroll, bool) and unroll < 1):
        raise ValueError(f"{what}: unroll must be a positive int or a bool, got {unroll!r}.")


def _scan_python(f: Callable[..., Any], init: Any, xs: Any, n: int, reverse: bool) -> tuple[Any, Any]:
    """The ``disable_jit`` path: a Python loop, outputs stacked."""
    carry = init
    ys = []
    indices = range(n - 1, -1, -1) if reverse else range(n)
    for i in indices:
        x = jax.tree.map(lambda a, i=i: a[i], xs)
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, jax.tree.map(lambda *a: jnp.stack(a), *ys)


def _scan_inline(
    funs: tuple[Callable[..., Any]], static: tuple[Any, ...], init: Any, xs: Any
) -> tuple[Any, Any]:
    (f,) = funs
    length, reverse, unroll, pbar = static
    what = "scan"
    n = check_leading_sizes(xs, length, what)
    stateful = StatefulFunction(f, name=call_name(f))
    program = stateful.get_program(init, slice_spec(xs))
    _check_body_output(program.out_shapes, what, stateful.name)
    init, promoted = promote_weak_carry(init, program.out_shapes[0])
    if promoted:
        program = stateful.get_program(init, slice_spec(xs))
    union = StateUnion([program])
    union.check_written_types([program], f"{what} body {stateful.name}")
    write_values, read_values = union.current_values()
    runner = make_pbar(pbar, n, what)

    def body(loop_carry: Any, x: Any) -> tuple[Any, Any]:
        step, writes, carry = loop_carry
        values = union.values_for(program, writes, read_values)
        (new_carry, y), new_writes = program.evaluate(arg_leaves(carry, x), values)
        if runner is not None:
            runner(step, new_carry, y)
            step = step + 1
        return (step, union.written_after(program, writes, new_writes), new_carry), y

    step0 = jnp.zeros((), jnp.int32) if runner is not None else None
    (_, final_writes, carry), ys = jax.lax.scan(
        body, (step0, write_values, init), xs, length=n, reverse=reverse, unroll=unroll
    )
    union.commit(final_writes)
    return carry, ys


def _empty_scan(f: Callable[..., Any], init: Any, xs: Any) -> tuple[Any, Any]:
    """A zero-length scan under ``disable_jit``: ``init`` and empty outputs of the right shape."""
    program = StatefulFunction(f, name=call_name(f)).get_program(init, slice_spec(xs))
    _check_body_output(program.out_shapes, "scan", call_name(f))
    y_shapes = program.out_shapes[1]
    return init, jax.tree.map(lambda s: jnp.zeros((0, *s.shape), s.dtype), y_shapes)


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def scan(
    f: Callable[[Carry, Any], tuple[Carry, Y]],
    init: Carry,
    xs: Any,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    pbar: PbarLike = None,
) -> tuple[Carry, Y]:
    """State-aware ``jax.lax.scan``: loop ``f`` over the leading axis of ``xs`` while carrying ``init``.

    ``f(carry, x) -> (new_carry, y)`` may read and write States. Written States are threaded through the
    loop and hold their final values afterwards; read-only States enter the compiled loop once. Outside
    any trace, the body is traced on every call and the compiled loop is reused by later calls that trace
    to the same program (the same function or a fresh lambda with the same body, same shapes).

    Parameters
    ----------
    f
        The body, ``(carry, x) -> (carry, y)``.
    init
        The initial carry.
    xs
        A pytree of arrays scanned along their leading axis (or ``None`` with ``length``).
    length
        The number of steps; must agree with the leading sizes of ``xs``.
    reverse
        Run from the last element to the first (outputs stay aligned with ``xs``, as in ``lax.scan``).
    unroll
        Loop unrolling factor, as in ``lax.scan``.
    pbar
        A :class:`ProgressBar`, or an int meaning ``ProgressBar(freq=pbar)``.

    Returns
    -------
    tuple
        ``(final_carry, stacked_ys)``.

    Raises
    ------
    ValueError
        If the leading sizes of ``xs`` differ from each other or from ``length``.
    TypeError
        If ``f`` does not return a pair, or writes a State with a different shape or dtype.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import scan
    >>> total = bss.State(jnp.array(0.0))
    >>> def step(carry, x):
    ...     total.value = total.value + x
    ...     return carry + 1, total.value
    >>> count, ys = scan(step, 0, jnp.arange(5.0))
    >>> int(count), ys.tolist(), float(total.value)
    (5, [0.0, 1.0, 3.0, 6.0, 10.0], 10.0)
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}.")
    _validate_unroll(unroll, "scan")
    n = check_leading_sizes(xs, length, "scan")
    if disable_jit_active():
        if n == 0:
            return _empty_scan(f, init, xs)
        return _scan_python(f, init, xs, n, reverse)
    make_pbar(pbar, n, "scan")  # validate pbar before anything is traced
    static = (length, bool(reverse), unroll, pbar)
    if in_trace():
        return _scan_inline((f,), static, init, xs)
    result: tuple[Carry, Y] = cached_eager_call("scan", (f,), static, _scan_inline, (init, xs))
    return result


def _for_body(f: Callable[..., Any]) -> Callable[[Any, Any], tuple[Any, Any]]:
    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        return None, f(*x)

    return body


def _for_loop_inline(funs: tuple[Callable[..., Any]], static: tuple[Any, ...], xs: tuple[Any, ...]) -> Any:
    (f,) = funs
    length, reverse, unroll, pbar = static
    n = check_leading_sizes(xs, length, "for_loop")
    what = "for_loop"
    stateful = StatefulFunction(f, name=call_name(f))
    program = stateful.get_program(*slice_spec(xs))
    union = StateUnion([program])
    union.check_written_types([program], f"{what} body {stateful.name}")
    write_values, read_values = union.current_values()
    runner = make_pbar(pbar, n, what)

    def body(loop_carry: Any, x: Any) -> tuple[Any, Any]:
        step, writes = loop_carry
        values = union.values_for(program, writes, read_values)
        y, new_writes = program.evaluate(arg_leaves(*x), values)
        if runner is not None:
            runner(step, None, y)
            step = step + 1
        return (step, union.written_after(program, writes, new_writes)), y

    step0 = jnp.zeros((), jnp.int32) if runner is not None else None
    (_, final_writes), ys = jax.lax.scan(
        body, (step0, write_values), xs, length=n, reverse=reverse, unroll=unroll
    )
    union.commit(final_writes)
    return ys


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def for_loop(
    f: Callable[..., Y],
    *xs: Any,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    pbar: PbarLike = None,
) -> Y:
    """Call ``f(*x_slices)`` for every index of the leading axis of ``xs``; return the stacked outputs.

    A :func:`scan` without a user carry: the States ``f`` writes are the loop's memory. Outside any trace,
    ``step`` runs again on every call (so changed attributes are seen) and the compiled loop is reused
    whenever the traced program is the same, so calling ``for_loop(step, xs)`` again does not recompile.

    Parameters
    ----------
    f
        The body, called as ``f(*[x[i] for x in xs])``.
    *xs
        Pytrees of arrays with a common leading size.
    length
        The number of steps (required when no ``xs`` are given).
    reverse, unroll, pbar
        As in :func:`scan`.

    Returns
    -------
    Y
        The outputs of ``f`` stacked along a new leading axis (for a type checker: ``f``'s return type).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import for_loop
    >>> v = bss.State(jnp.array(0.0))
    >>> def step(i, x):
    ...     v.value = v.value * 0.5 + x
    ...     return v.value
    >>> for_loop(step, jnp.arange(3), jnp.ones(3)).tolist()
    [1.0, 1.5, 1.75]
    """
    if not callable(f):
        raise TypeError(f"for_loop: f must be callable, got {type(f).__name__}.")
    _validate_unroll(unroll, "for_loop")
    n = check_leading_sizes(xs, length, "for_loop")
    out: Y
    if disable_jit_active():
        if n == 0:
            out = _empty_scan(_for_body(f), None, xs)[1]
        else:
            out = _scan_python(_for_body(f), None, xs, n, reverse)[1]
        return out
    make_pbar(pbar, n, "for_loop")
    static = (length, bool(reverse), unroll, pbar)
    if in_trace():
        out = _for_loop_inline((f,), static, xs)
    else:
        out = cached_eager_call("for_loop", (f,), static, _for_loop_inline, (xs,))
    return out
