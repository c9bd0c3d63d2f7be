"""``unvmap``: step outside ``vmap`` for one value, reducing (or ignoring) the batch axes.

Loops, runtime error checks and progress bars need a value that is the same for every lane of a
``vmap``: "stop when *any* lane wants to stop", "raise if *any* lane is negative". ``unvmap`` computes it.
It is built on the public ``jax.custom_batching.custom_vmap``, so it composes with ``jit``, ``grad``,
``scan``, ``cond`` and nested ``vmap`` without touching JAX internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

__all__ = ["unvmap"]

UnvmapOp = Literal["any", "all", "max", "none"]


def _make(reduce: Callable[..., Any] | None) -> Any:
    @custom_vmap
    def op(x: Any) -> Any:
        # Outside every vmap (or once every batch axis is reduced): summarise the whole array.
        return x if reduce is None else reduce(x)

    @op.def_vmap
    def rule(axis_size: int, in_batched: list[bool], x: Any) -> tuple[Any, bool]:
        (batched,) = in_batched
        if batched and reduce is not None:
            x = reduce(x, axis=0)
        # An unbatched output: every lane sees the same value. ``op`` again handles an enclosing vmap and
        # finally reduces the per-lane axes.
        return op(x), False

    return op


_OPS: dict[str, Any] = {
    "any": _make(jnp.any),
    "all": _make(jnp.all),
    "max": _make(jnp.max),
    "none": _make(None),
}


def unvmap(x: Any, op: UnvmapOp = "any") -> jax.Array:
    """Summarise ``x`` into one value that every ``vmap`` lane (and the caller outside ``vmap``) sees.

    Parameters
    ----------
    x
        An array, or anything ``jnp.asarray`` accepts (boolean for ``'any'``/``'all'``).
    op
        ``'any'``/``'all'``: logical reduction over every element of every lane; ``'max'``: maximum over
        every element of every lane; ``'none'``: no reduction, every lane sees the whole batch (the lane axis
        becomes a leading axis).

    Returns
    -------
    jax.Array
        A scalar for ``'any'``/``'all'``/``'max'`` (inside or outside ``vmap``, so ``bool(...)`` works on an
        eager result); for ``'none'``, ``x`` itself outside ``vmap`` and the whole batch under ``vmap``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir import unvmap
    >>> bool(unvmap(jnp.array([True, False]), op='all'))
    False
    >>> jax.vmap(lambda x: unvmap(x > 1, 'any'))(jnp.arange(3.0))
    Array([ True,  True,  True], dtype=bool)
    >>> jax.vmap(lambda x: unvmap(x, 'max'))(jnp.array([[1.0, 5.0], [3.0, 2.0]]))
    Array([5., 5.], dtype=float32)
    >>> jax.vmap(lambda x: unvmap(x, 'none'))(jnp.arange(2.0))
    Array([[0., 1.],
           [0., 1.]], dtype=float32)
    """
    try:
        fn = _OPS[op]
    except KeyError:
        raise ValueError(f"unvmap: op must be one of 'any', 'all', 'max', 'none'; got {op!r}.") from None
    # The result is a decision or a summary shared by all lanes: it carries no gradient.
    x = jax.lax.stop_gradient(jnp.asarray(x))
    if op in ("any", "all"):
        x = x.astype(bool)
    return fn(x)  # type: ignore[no-any-return]
