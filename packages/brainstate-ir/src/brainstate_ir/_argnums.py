"""One validator for argument numbers (``argnums``, ``static_argnums``, ``donate_argnums``).

Every brainstate transform that takes argument numbers checks them here, so a bad value gets the same
exception type as plain JAX gives it and a message naming the transform and the function:

- a value that is not an int or a sequence of ints: ``TypeError`` (as ``jax.jit`` / ``jax.grad``);
- a negative number where brainstate refuses them: ``ValueError`` (brainstate passes State values to the
  traced function as hidden leading arguments, so a position counted from the end is ambiguous);
- a number outside the call's positional arguments, or a position named twice where that is an error:
  :class:`ArgnumsError`, which is both a ``ValueError`` (as ``jax.jit``, ``jax.checkpoint`` and
  ``jax.jacrev`` raise) and a ``TypeError`` (as ``jax.grad`` raises), so code catching either keeps working.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

from brainstate_state import BrainStateError

__all__ = ["ArgnumsError", "normalize_argnums"]

_NEGATIVE_FIX = (
    "brainstate passes State values to the traced function as hidden leading arguments, so a position "
    "counted from the end is ambiguous. How to fix: count positions from the first argument (0, 1, ...)."
)


class ArgnumsError(BrainStateError, ValueError, TypeError):
    """Argument numbers that do not fit the call: out of range, or one position named twice.

    It is a ``ValueError`` and a ``TypeError`` because plain JAX raises either for these inputs
    (``jax.jit`` and ``jax.jacrev`` a ``ValueError``, ``jax.grad`` a ``TypeError``).
    """


def _where(transform: str, function: str | None) -> str:
    return f"{transform} of {function}" if function else transform


def _is_index(n: Any) -> bool:
    try:
        operator.index(n)
    except TypeError:
        return False
    return True


def _index(n: Any, argnums: Any, where: str, what: str) -> int:
    if not isinstance(n, bool):
        try:
            return operator.index(n)
        except TypeError:
            pass
    shown = f"{n!r} of type {type(n).__name__}"
    if n is not argnums:
        shown += f" (in {what}={argnums!r})"
    raise TypeError(
        f"{where}: {what} must be an int or a sequence of ints, got {shown}. "
        f"How to fix: pass e.g. {what}=0 or {what}=(0, 1)."
    )


def normalize_argnums(
    argnums: int | Sequence[int] | None,
    num_args: int | None = None,
    *,
    transform: str,
    what: str = "argnums",
    function: str | None = None,
    allow_negative: bool = False,
    unique: bool = False,
) -> tuple[int, ...]:
    """Validate argument numbers and return them as a tuple of non-negative positions.

    Parameters
    ----------
    argnums
        An int, a sequence of ints (NumPy integers are accepted, bools are not), or ``None`` (no position).
    num_args
        The number of positional arguments of the call, or ``None`` when it is not known yet (numbers are
        then only checked for their type and sign).
    transform
        The transform's name for messages, e.g. ``'jit'`` or ``'grad'``.
    what
        The option's name for messages, e.g. ``'static_argnums'``.
    function
        The transformed function's name for messages, if known.
    allow_negative
        Accept numbers counted from the end (``-1`` is the last argument). They are resolved against
        ``num_args``; when ``num_args`` is ``None`` they are returned unchanged.
    unique
        Raise for a position named twice (also through a negative alias) instead of dropping the repeat.

    Returns
    -------
    tuple of int
        The positions, in the order given, each once.

    Raises
    ------
    TypeError
        If ``argnums`` or one of its entries is not an int.
    ValueError
        If a number is negative and ``allow_negative`` is false.
    ArgnumsError
        If a number is outside ``[-num_args, num_args - 1]``, or ``unique`` is true and a position is named
        twice. It is both a ``ValueError`` and a ``TypeError``.

    Examples
    --------
    >>> from brainstate_ir import normalize_argnums
    >>> normalize_argnums((2, 0, 2), transform='jit', what='static_argnums')
    (2, 0)
    >>> normalize_argnums(-1, 3, transform='grad', allow_negative=True)
    (2,)
    >>> try:
    ...     normalize_argnums(1.5, transform='jit', what='static_argnums')
    ... except TypeError as err:
    ...     print(err)
    jit: static_argnums must be an int or a sequence of ints, got 1.5 of type float. How to fix: pass e.g. static_argnums=0 or static_argnums=(0, 1).
    """
    if argnums is None:
        return ()
    where = _where(transform, function)
    if isinstance(argnums, (str, bytes)) or not isinstance(argnums, Iterable) or _is_index(argnums):
        numbers = [_index(argnums, argnums, where, what)]
    else:
        numbers = [_index(n, argnums, where, what) for n in argnums]
    result: list[int] = []
    for n in numbers:
        if n < 0 and not allow_negative:
            raise ValueError(f"{where}: {what} must be non-negative, got {n}. {_NEGATIVE_FIX}")
        position = n
        if num_args is not None:
            if not -num_args <= n < num_args:
                valid = (
                    f"so {what} must be in [{-num_args}, {num_args - 1}]"
                    if allow_negative and num_args
                    else f"so {what} must be in [0, {num_args - 1}]"
                    if num_args
                    else "so there is no argument to select"
                )
                raise ArgnumsError(
                    f"{where}: {what} contains {n}, but "
                    f"{function or 'the function'} was called with {num_args} positional argument(s), "
                    f"{valid}. How to fix: select an existing positional argument, or pass the argument "
                    "positionally instead of by keyword."
                )
            position = n + num_args if n < 0 else n
        if position in result:
            if unique:
                alias = [m for m in numbers if m < 0 and num_args is not None and m + num_args == position]
                note = f" ({alias[0]} counts from the end)" if alias else ""
                raise ArgnumsError(
                    f"{where}: {what}={argnums!r} names positional argument {position} twice{note}. "
                    f"How to fix: list every argument number once."
                )
            continue
        result.append(position)
    return tuple(result)
