"""Splitting a mapped call into its leaves, their mapped axes and the static arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax

from brainstate_state import State, state_error_message

from ._axes import leaf_axes

__all__ = ["MappedCall", "split_mapped_call"]


@dataclass(frozen=True, eq=False)
class MappedCall:
    """The dynamic leaves of a call (positional, then keyword), their axes, and how to rebuild the call."""

    leaves: list[Any]
    axes: list[int | None]
    num_positional: int
    rebuild: Callable[[list[Any]], tuple[tuple[Any, ...], dict[str, Any]]]


def _check_hashable(value: Any, where: str) -> None:
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"The static argument {where} has an unhashable value of type {type(value).__name__}. Static "
            "arguments are passed to every lane as Python values and must be hashable: pass a tuple instead "
            "of a list or a frozenset instead of a set, or make it an ordinary (unmapped) argument."
        ) from None


def split_mapped_call(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    in_axes: Any,
    static_argnums: tuple[int, ...],
    static_argnames: tuple[str, ...],
    kwargs_axis: int | None,
    name: str,
) -> MappedCall:
    """Split ``(args, kwargs)``; static arguments are kept aside and their ``in_axes`` entries ignored."""
    for n in static_argnums:
        if n >= len(args):
            raise ValueError(
                f"{name}: static_argnums contains {n}, but the function was called with only {len(args)} "
                "positional argument(s). Pass that argument positionally, or use static_argnames."
            )
    static_args = [(i, args[i]) for i in static_argnums]
    static_kwargs = {k: v for k, v in kwargs.items() if k in static_argnames}
    for i, value in static_args:
        _check_hashable(value, f"at position {i}")
    for key, value in static_kwargs.items():
        _check_hashable(value, repr(key))
    if static_argnums and isinstance(in_axes, (tuple, list)) and len(in_axes) == len(args):
        in_axes = tuple(a for i, a in enumerate(in_axes) if i not in static_argnums)
    dyn_args = tuple(a for i, a in enumerate(args) if i not in static_argnums)
    dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}
    leaves, treedef = jax.tree.flatten((dyn_args, dyn_kwargs), is_leaf=lambda x: isinstance(x, State))
    for leaf in leaves:
        if isinstance(leaf, State):
            raise ValueError(
                state_error_message(
                    f"Inputs of brainstate transformations cannot be States, but {name} received one.",
                    leaf,
                    "do not pass States as arguments: read them inside the function (brainstate tracks every "
                    "State the function touches), or pass `state.value`.",
                )
            )
    axes = leaf_axes(dyn_args, dyn_kwargs, in_axes, name, kwargs_axis)

    def rebuild(full: list[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        a, k = jax.tree.unflatten(treedef, full)
        positional = list(a)
        for index, value in static_args:
            positional.insert(index, value)
        return tuple(positional), {**k, **static_kwargs}

    return MappedCall(leaves, axes, len(jax.tree.leaves(dyn_args)), rebuild)
