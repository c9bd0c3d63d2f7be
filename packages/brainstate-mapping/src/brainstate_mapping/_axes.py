"""Axis bookkeeping shared by the mapping transforms: per-leaf axes, batch sizes and per-lane shapes.

A mapped call has one batch size ``n``. It is read off every mapped argument leaf, every State declared
batched, and ``axis_size``; all of them must agree. The helpers here compute the per-leaf axes of a call
(``in_axes`` is a pytree prefix of the positional arguments, keyword arguments are mapped on axis 0),
check them and build the abstract *per-lane* value of a leaf (its shape without the mapped axis), which
is what the user function is traced at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

__all__ = [
    "SizeRecord",
    "leaf_axes",
    "lane_leaf",
    "normalize_axis",
    "resolve_size",
]

#: ``(description of where the size came from, size)``.
SizeRecord = tuple[str, int]


def _is_none(x: Any) -> bool:
    return x is None


def _broadcast_prefix(prefix: Any, tree: Any, what: str) -> list[Any]:
    """One entry of ``prefix`` per leaf of ``tree`` (``prefix`` is a pytree prefix of ``tree``)."""
    result: list[Any] = []

    def add(entry: Any, subtree: Any) -> None:
        result.extend([entry] * len(jax.tree.leaves(subtree)))

    try:
        jax.tree.map(add, prefix, tree, is_leaf=_is_none)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{what} must be a pytree prefix of the arguments (an int or None per argument, or a container "
            f"matching the argument's structure), but its structure does not match: {error}"
        ) from None
    return result


def leaf_axes(
    args: tuple[Any, ...], kwargs: dict[str, Any], in_axes: Any, name: str, kwargs_axis: int | None = 0
) -> list[int | None]:
    """The mapped axis of every leaf of ``(args, kwargs)``, in ``jax.tree.leaves`` order.

    ``in_axes`` is an int or None (for all positional arguments) or a tuple/list with one entry per
    positional argument, each a pytree prefix of that argument. Keyword arguments use ``kwargs_axis``.
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        if len(in_axes) != len(args):
            raise ValueError(
                f"{name}: in_axes has {len(in_axes)} entries but the function was called with {len(args)} "
                "positional argument(s). Give one entry (an int, None or a pytree prefix) per positional "
                "argument, or a single int/None for all of them."
            )
        arg_axes = _broadcast_prefix(in_axes, args, f"{name}: in_axes")
    elif in_axes is None or isinstance(in_axes, (int, np.integer)):
        arg_axes = [in_axes] * len(jax.tree.leaves(args))
    else:
        raise TypeError(
            f"{name}: in_axes must be an int, None, or a tuple with one entry per positional argument; got "
            f"{type(in_axes).__name__}."
        )
    kw_axes = [kwargs_axis] * len(jax.tree.leaves(kwargs))
    return [None if a is None else int(a) for a in arg_axes] + kw_axes


def normalize_axis(axis: int, ndim: int, where: str) -> int:
    """``axis`` as a non-negative axis of an array of rank ``ndim``; out-of-range axes raise ``ValueError``."""
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{where} is mapped along axis {axis}, but it has rank {ndim} (shape too small). "
            "How to fix: map a leaf along an existing axis, or use None to broadcast it to every lane."
        )
    return axis % ndim


def lane_leaf(leaf: Any, axis: int, where: str, sizes: list[SizeRecord]) -> jax.ShapeDtypeStruct:
    """The abstract per-lane value of ``leaf`` mapped along ``axis``; records the leaf's size in ``sizes``."""
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    if shape is None or dtype is None:
        raise ValueError(
            f"{where} is a {type(leaf).__name__} scalar mapped along axis {axis}; only arrays can be mapped. "
            "How to fix: pass an array with a batch axis, or use None in the axes to broadcast it."
        )
    shape = tuple(shape)
    axis = normalize_axis(axis, len(shape), where)
    sizes.append((f"{where} (axis {axis})", int(shape[axis])))
    weak = bool(getattr(getattr(leaf, "aval", None), "weak_type", False))
    return jax.ShapeDtypeStruct(shape[:axis] + shape[axis + 1 :], dtype, weak_type=weak)


def resolve_size(sizes: Sequence[SizeRecord], name: str) -> int | None:
    """The single batch size all ``sizes`` agree on (``None`` if there are none); disagreement raises."""
    if not sizes:
        return None
    distinct = {size for _, size in sizes}
    if len(distinct) == 1:
        return sizes[0][1]
    listing = "\n".join(f"  - {where}: {size}" for where, size in sizes)
    raise ValueError(
        f"{name}: the mapped axes have different sizes, but every mapped value must have the same batch size:"
        f"\n{listing}\nHow to fix: make the mapped axes the same length, map a value with None instead, or "
        "check axis_size."
    )


def arg_leaf_description(index: int, num_positional_leaves: int) -> str:
    """A readable name for the ``index``-th leaf of a call (positional leaves first, then keywords)."""
    if index < num_positional_leaves:
        return f"argument leaf #{index}"
    return f"keyword argument leaf #{index - num_positional_leaves}"


__all__ += ["arg_leaf_description"]
