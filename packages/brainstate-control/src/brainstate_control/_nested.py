"""Nested checkpointed scans: the engine of ``checkpointed_scan`` and ``bounded_while_loop``.

``n`` steps are laid out as a tree of ``lax.scan`` levels of sizes ``s_1 * s_2 * ... * s_d >= n`` with
every ``s_k <= base``. Each level except the innermost calls the level below through ``jax.checkpoint``, so
reverse-mode differentiation stores about ``s_1 + ... + s_d`` carries (roughly ``base * log_base(n)``)
instead of ``n`` steps' worth of residuals, at the price of recomputing the forward pass once per level.
An optional ``guard(carry)`` (a predicate that is the same for all ``vmap`` lanes) skips whole
sub-trees with ``lax.cond`` once there is nothing left to do.

Loop-invariant values (read-only States) are closed over, so they enter each ``lax.scan`` as constants,
once, never as part of the carry that the checkpoints save (saving them with the carry is what made the
reference's checkpointed loop need 8.4x the memory of the plain loop). Each nested level still adds one
cotangent buffer per differentiated loop-invariant input in the backward pass (JAX transposes every
``lax.scan`` with its own accumulator), and a guard's ``lax.cond`` adds about two more per level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["level_sizes", "nested_scan", "validate_base"]

Leaf = Callable[[Any, Any], tuple[Any, Any]]


def validate_base(base: Any, what: str) -> int:
    """``base`` as an int >= 2 (bools rejected) or ``ValueError``."""
    if isinstance(base, bool) or not isinstance(base, int) or base < 2:
        raise ValueError(f"{what}: base must be an int >= 2, got {base!r}.")
    return base


def _int_root_ceil(n: int, k: int) -> int:
    """The smallest ``s`` with ``s ** k >= n``."""
    s = max(1, int(round(n ** (1.0 / k))))
    while s**k < n:
        s += 1
    while s > 1 and (s - 1) ** k >= n:
        s -= 1
    return s


def level_sizes(n: int, base: int) -> list[int]:
    """Level sizes (outermost first), each ``<= base``, whose product is ``>= n`` with little padding.

    Examples
    --------
    >>> from brainstate_control._nested import level_sizes
    >>> level_sizes(2000, 16), level_sizes(100, 10), level_sizes(7, 16)
    ([13, 13, 12], [10, 10], [7])
    """
    if n <= 1:
        return [1]
    depth = 1
    while base**depth < n:
        depth += 1
    sizes = []
    remaining = n
    for k in range(depth, 0, -1):
        s = _int_root_ceil(remaining, k)
        sizes.append(s)
        remaining = -(-remaining // s)
    return sizes


def _zeros(shapes: Any, lead: Sequence[int]) -> Any:
    return jax.tree.map(lambda s: jnp.zeros((*lead, *s.shape), s.dtype), shapes)


def nested_scan(
    leaf: Leaf,
    carry: Any,
    xs: Any,
    sizes: Sequence[int],
    guard: Callable[[Any], Any] | None,
    y_shapes: Any,
) -> tuple[Any, Any]:
    """Run ``leaf`` ``prod(sizes)`` times over ``xs`` (leading axes ``sizes``), checkpointing each level.

    Parameters
    ----------
    leaf
        One step, ``(carry, x) -> (carry, y)``.
    carry
        The initial carry.
    xs
        Inputs with leading axes ``(*sizes, ...)``, or ``None``.
    sizes
        The level sizes, outermost first.
    guard
        ``carry -> bool scalar`` (unbatched), whether any step remains; sub-trees are skipped when false.
        ``None``: every step runs.
    y_shapes
        The shapes of one step's ``y`` (``jax.ShapeDtypeStruct`` pytree); skipped steps output zeros.

    Returns
    -------
    tuple
        ``(final_carry, ys)`` with ``ys`` of leading axes ``(*sizes, ...)``.
    """

    def build(level: int) -> Leaf:
        if level == len(sizes) - 1:
            step: Leaf = leaf
        else:
            step = build(level + 1)
        if guard is not None:
            inner = tuple(sizes[level + 1 :])
            unguarded = step

            def skip(c: Any, x: Any) -> tuple[Any, Any]:
                return c, _zeros(y_shapes, inner)

            def guarded(c: Any, x: Any) -> tuple[Any, Any]:
                return jax.lax.cond(guard(c), unguarded, skip, c, x)  # type: ignore[no-any-return]

            # The checkpoint goes *around* the cond: a cond saves its branches' residuals (including
            # loop-invariant inputs such as weight matrices) as per-iteration outputs, while a checkpoint
            # saves only its inputs, and JAX keeps loop-invariant inputs out of the per-iteration stack.
            step = jax.checkpoint(guarded, prevent_cse=False)
        elif level < len(sizes) - 1:
            step = jax.checkpoint(step, prevent_cse=False)
        size = sizes[level]

        def run(c: Any, xs_level: Any) -> tuple[Any, Any]:
            return jax.lax.scan(step, c, xs_level, length=size)

        return run

    return build(0)(carry, xs)
