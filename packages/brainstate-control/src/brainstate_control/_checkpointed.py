"""``checkpointed_scan`` and ``checkpointed_for_loop``: scans whose gradients need little memory.

The steps run as nested, checkpointed ``lax.scan`` levels (see ``_nested``). The carry holds only the
step counter, the written States and the user carry; read-only States are loop-invariant inputs that
enter once. Reverse-mode memory is about ``base * log_base(length)`` carries, one innermost segment's
residuals and one cotangent buffer per inner level for each differentiated read-only input, never a
copy of the read-only States per segment.
"""

from __future__ import annotations

import math
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
from ._nested import level_sizes, nested_scan, validate_base
from ._scan import PbarLike, _check_body_output, _for_body, make_pbar, scan

__all__ = ["checkpointed_for_loop", "checkpointed_scan"]

Carry = TypeVar("Carry")
Y = TypeVar("Y")


def _checkpointed_inline(funs: tuple[Callable[..., Any]], static: tuple[Any, ...], init: Any, xs: Any) -> Any:
    (f,) = funs
    length, base, pbar, what = static
    n = check_leading_sizes(xs, length, what)
    stateful = StatefulFunction(f, name=call_name(f))
    program = stateful.get_program(init, slice_spec(xs))
    _check_body_output(program.out_shapes, what, stateful.name)
    init, promoted = promote_weak_carry(init, program.out_shapes[0])
    if promoted:
        program = stateful.get_program(init, slice_spec(xs))
    if n == 0:
        return init, jax.tree.map(lambda s: jnp.zeros((0, *s.shape), s.dtype), program.out_shapes[1])
    union = StateUnion([program])
    union.check_written_types([program], f"{what} body {stateful.name}")
    write_values, read_values = union.current_values()
    runner = make_pbar(pbar, n, what)

    # One nested layout of prod(sizes) >= n steps. A single layout lets the backward pass share its
    # temporary buffers (separate segments would each hold their own), and the few padding steps at the
    # end are masked with a select rather than skipped with a conditional: a conditional's backward
    # creates a zero cotangent of every loop-invariant input (e.g. a weight matrix) per nesting level.
    sizes = level_sizes(n, base)
    total = math.prod(sizes)

    def leaf(loop_carry: Any, x: Any) -> tuple[Any, Any]:
        step, writes, carry = loop_carry
        if total > n:  # xs is loop-invariant here (no padded copy); read this step's slice
            index = jnp.minimum(step, n - 1)
            x = jax.tree.map(lambda a: jax.lax.dynamic_index_in_dim(a, index, keepdims=False), xs)
        values = union.values_for(program, writes, read_values)
        (new_carry, y), new_writes = program.evaluate(arg_leaves(carry, x), values)
        new_writes = union.written_after(program, writes, new_writes)
        if runner is not None:
            runner(step, new_carry, y)
        if total > n:
            real = step < n
            new_writes, new_carry = jax.tree.map(
                lambda a, b: jnp.where(real, a, b), (new_writes, new_carry), (writes, carry)
            )
        return (step + 1, new_writes, new_carry), y

    # Without padding, xs is scanned level by level (a free reshape); with padding, a padded copy of
    # xs would cost as much memory as the checkpoints save, so the leaf indexes the original instead.
    xs = jax.tree.map(jnp.asarray, xs)
    folded = jax.tree.map(lambda x: x.reshape((*sizes, *x.shape[1:])), xs) if total == n else None
    loop_carry = (jnp.zeros((), jnp.int32), write_values, init)
    loop_carry, ys = nested_scan(leaf, loop_carry, folded, sizes, None, None)
    ys = jax.tree.map(lambda y: y.reshape((total, *y.shape[len(sizes) :]))[:n], ys)
    _, final_writes, carry = loop_carry
    union.commit(final_writes)
    return carry, ys


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def checkpointed_scan(
    f: Callable[[Carry, Any], tuple[Carry, Y]],
    init: Carry,
    xs: Any,
    length: int | None = None,
    base: int = 16,
    pbar: PbarLike = None,
) -> tuple[Carry, Y]:
    """A :func:`scan` whose reverse-mode gradient stores about ``base * log_base(length)`` carries.

    The forward result equals ``scan(f, init, xs)``. For gradients, the loop is split into nested,
    checkpointed segments: memory grows like ``log(length)`` instead of ``length``, at the cost of
    recomputing the forward pass once per nesting level. Read-only States enter once (loop-invariant).

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
    base
        The maximum segment size per nesting level (an int >= 2).
    pbar
        A :class:`ProgressBar` or an int ``freq``.

    Returns
    -------
    tuple
        ``(final_carry, stacked_ys)``.

    Raises
    ------
    ValueError
        On mismatched leading sizes or an invalid ``base``.
    TypeError
        If ``f`` does not return a pair.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_control import checkpointed_scan
    >>> def loss(w):
    ...     carry, ys = checkpointed_scan(lambda c, x: (c * w + x, c), 1.0, jnp.ones(50), base=4)
    ...     return carry
    >>> bool(jnp.allclose(jax.grad(loss)(0.9), jax.grad(
    ...     lambda w: jax.lax.scan(lambda c, x: (c * w + x, c), 1.0, jnp.ones(50))[0])(0.9)))
    True
    """
    if not callable(f):
        raise TypeError(f"checkpointed_scan: f must be callable, got {type(f).__name__}.")
    validate_base(base, "checkpointed_scan")
    n = check_leading_sizes(xs, length, "checkpointed_scan")
    if disable_jit_active():
        return scan(f, init, xs, length=length)
    make_pbar(pbar, n, "checkpointed_scan")
    static = (length, base, pbar, "checkpointed_scan")
    if in_trace():
        inline: tuple[Carry, Y] = _checkpointed_inline((f,), static, init, xs)
        return inline
    result: tuple[Carry, Y] = cached_eager_call(
        "checkpointed_scan", (f,), static, _checkpointed_inline, (init, xs)
    )
    return result


def _checkpointed_for_inline(funs: tuple[Callable[..., Any]], static: tuple[Any, ...], xs: Any) -> Any:
    (f,) = funs
    return _checkpointed_inline((_for_body(f),), static, None, xs)[1]


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def checkpointed_for_loop(
    f: Callable[..., Y],
    *xs: Any,
    length: int | None = None,
    base: int = 16,
    pbar: PbarLike = None,
) -> Y:
    """A :func:`for_loop` whose reverse-mode gradient stores about ``base * log_base(length)`` carries.

    Parameters
    ----------
    f
        The body, called as ``f(*[x[i] for x in xs])``.
    *xs
        Pytrees of arrays with a common leading size.
    length
        The number of steps (required when no ``xs`` are given).
    base
        The maximum segment size per nesting level (an int >= 2).
    pbar
        A :class:`ProgressBar` or an int ``freq``.

    Returns
    -------
    Y
        The outputs of ``f`` stacked along a new leading axis (for a type checker: ``f``'s return type).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import checkpointed_for_loop
    >>> acc = bss.State(jnp.array(0.0))
    >>> def step(x):
    ...     acc.value = acc.value + x
    ...     return acc.value
    >>> checkpointed_for_loop(step, jnp.arange(5.0), base=2).tolist(), float(acc.value)
    ([0.0, 1.0, 3.0, 6.0, 10.0], 10.0)
    """
    if not callable(f):
        raise TypeError(f"checkpointed_for_loop: f must be callable, got {type(f).__name__}.")
    validate_base(base, "checkpointed_for_loop")
    n = check_leading_sizes(xs, length, "checkpointed_for_loop")
    out: Y
    if disable_jit_active():
        out = scan(_for_body(f), None, xs, length=length)[1]
        return out
    make_pbar(pbar, n, "checkpointed_for_loop")
    static = (length, base, pbar, "checkpointed_for_loop")
    if in_trace():
        out = _checkpointed_for_inline((f,), static, xs)
    else:
        out = cached_eager_call("checkpointed_for_loop", (f,), static, _checkpointed_for_inline, (xs,))
    return out
