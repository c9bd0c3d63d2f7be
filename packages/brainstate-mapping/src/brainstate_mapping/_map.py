"""``map``: apply a function to every slice of the leading axis, sequentially or in vectorised chunks."""

from __future__ import annotations

import builtins
import contextlib
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from brainstate_ir import StatefulFunction, compat
from brainstate_state import state_error_message

from ._rng import is_random_state
from ._vmap2 import StatefulMapping, vmap2

__all__ = ["map"]

#: The output of the user function, stacked along the leading axis by ``map``.
Y = TypeVar("Y")

# One loop body (and one vmap2) per user function, so eager calls reuse the compiled loop.
_BODIES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _helpers(f: Callable[..., Any]) -> dict[str, Any]:
    try:
        helpers = _BODIES.get(f)
    except TypeError:
        helpers = None
    if helpers is not None:
        return helpers
    mapped: StatefulMapping[..., Any] = vmap2(f)

    def sequential(carry: None, x: tuple[Any, ...]) -> tuple[None, Any]:
        return carry, f(*x)

    def chunked(carry: None, x: tuple[Any, ...]) -> tuple[None, Any]:
        return carry, mapped(*x)

    helpers = {"sequential": sequential, "chunked": chunked, "mapped": mapped, "checker": StatefulFunction(f)}
    with contextlib.suppress(TypeError):  # not weak-referenceable: no caching
        _BODIES[f] = helpers
    return helpers


@compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
def map(f: Callable[..., Y], *xs: Any, batch_size: int | None = None) -> Y:  # noqa: A001 - public name
    """Apply ``f`` to each slice ``f(x0[i], x1[i], ...)`` of the leading axis and stack the results.

    Parameters
    ----------
    f
        The function; it may read States. Without ``batch_size`` it may also write them (the slices run
        one after another, like a loop).
    *xs
        Pytrees of arrays with the same leading size.
    batch_size
        If given, ``batch_size`` slices run at once with :func:`vmap2` inside a ``scan`` (plus one smaller
        vectorised call for the remainder). ``f`` may then only write random states.

    Returns
    -------
    Any
        The stacked results.

    Raises
    ------
    ValueError
        If no input is given, an input leaf is 0-d, the leading sizes differ, ``batch_size`` is not a
        positive int, or (with ``batch_size``) ``f`` writes a State other than a random state.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_mapping import map
    >>> map(lambda x: x ** 2, jnp.arange(5.0))
    Array([ 0.,  1.,  4.,  9., 16.], dtype=float32)
    >>> map(lambda x, y: x + y, jnp.arange(5.0), jnp.ones(5), batch_size=2)
    Array([1., 2., 3., 4., 5.], dtype=float32)
    """
    from brainstate_control import scan  # control is the layer below; imported lazily

    leaves = jax.tree.leaves(xs)
    if not leaves:
        raise ValueError("map needs at least one input array to map over. How to fix: pass map(f, xs).")
    sizes = set()
    for leaf in leaves:
        shape = jnp.shape(leaf)
        if len(shape) == 0:
            raise ValueError(
                "map maps over the leading axis, but got a 0-d (scalar) input. How to fix: pass arrays with "
                "a leading axis, e.g. jnp.atleast_1d(x)."
            )
        sizes.add(shape[0])
    if len(sizes) != 1:
        raise ValueError(
            f"map: the inputs have different leading sizes {sorted(sizes)}; they must all agree."
        )
    (n,) = sizes
    helpers = _helpers(f)
    if batch_size is None:
        sequential: Y = scan(helpers["sequential"], None, xs)[1]
        return sequential
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"map: batch_size must be a positive int or None, got {batch_size!r}.")
    element = jax.tree.map(lambda x: jax.ShapeDtypeStruct(jnp.shape(x)[1:], jnp.result_type(x)), xs)
    program = helpers["checker"].get_program(*element)
    for state in program.write_states:
        if not is_random_state(state):
            raise ValueError(
                state_error_message(
                    "map(batch_size=...) runs several slices at once, so the function may not write States "
                    "(other than random states), but it writes this one.",
                    state,
                    "use map without batch_size (sequential), or brainstate.transform.vmap2 with "
                    "state_out_axes to keep per-slice values.",
                )
            )
    chunks, rest = divmod(n, batch_size)
    parts = []
    if chunks:
        main = jax.tree.map(
            lambda x: x[: chunks * batch_size].reshape((chunks, batch_size, *x.shape[1:])), xs
        )
        _, ys = scan(helpers["chunked"], None, main)
        parts.append(jax.tree.map(lambda y: y.reshape((chunks * batch_size, *y.shape[2:])), ys))
    if rest:
        tail = jax.tree.map(lambda x: x[chunks * batch_size :], xs)
        parts.append(helpers["mapped"](*tail))
    stacked: Y = (
        parts[0] if builtins.len(parts) == 1 else jax.tree.map(lambda *p: jnp.concatenate(p, axis=0), *parts)
    )
    return stacked
