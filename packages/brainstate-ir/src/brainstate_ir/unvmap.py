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


def _make(reduce: Callable[[Any], Any] | None) -> Any:
    @custom_vmap
    def op(x: Any) -> Any:
        return x

    @op.def_vmap
    def rule(axis_size: int, in_batched: list[bool], x: Any) -> tuple[Any, bool]:
        (batched,) = in_batched
        if batched and reduce is not None:
            x = reduce(x)
        # An unbatched output: every lane sees the same value.
        return op(x), False

    return op


_OPS: dict[str, Any] = {
    "any": _make(lambda x: jnp.any(x, axis=0)),
    "all": _make(lambda x: jnp.all(x, axis=0)),
    "max": _make(lambda x: jnp.max(x, axis=0)),
    "none": _make(None),
}


def unvmap(x: Any, op: UnvmapOp = "any") -> jax.Array:
    """Remove the ``vmap`` batch axes from ``x`` by a reduction, so every lane sees the same value.

    Parameters
    ----------
    x
        An array (boolean for ``'any'``/``'all'``).
    op
        ``'any'``/``'all'``: logical reduction over the lanes; ``'max'``: maximum over the lanes;
        ``'none'``: no reduction, every lane sees the whole batch (the lane axis becomes a leading axis).

    Returns
    -------
    jax.Array
        ``x`` itself outside ``vmap``; the reduced value under ``vmap`` (applied once per nested ``vmap``).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir import unvmap
    >>> jax.vmap(lambda x: unvmap(x > 1, 'any'))(jnp.arange(3.0))
    Array([ True,  True,  True], dtype=bool)
    >>> jax.vmap(lambda x: unvmap(x, 'max'))(jnp.arange(3.0))
    Array([2., 2., 2.], dtype=float32)
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
