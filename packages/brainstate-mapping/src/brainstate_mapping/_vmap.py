"""``vmap``: the declaration-based state-aware ``jax.vmap``.

States listed in ``in_states`` are batched on input and written back batched on the same axis; States in
``out_states`` are written back batched. Every other State is broadcast to the lanes when read; written
with a value that is the same in every lane it is written once, written with a per-lane value it raises
:class:`~brainstate_state.BatchAxisError` naming the State.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

from brainstate_ir import compat

from ._plan import MappingEngine, vmap_mapping_fn
from ._state_axes import DeclaredStateAxes

__all__ = ["vmap"]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def vmap(
    fn: Callable[P, R],
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    in_states: Any = None,
    out_states: Any = None,
) -> Callable[P, R]: ...


@overload
def vmap(
    fn: None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    in_states: Any = None,
    out_states: Any = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def vmap(
    fn: Callable[P, R] | None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    in_states: Any = None,
    out_states: Any = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Vectorise ``fn`` like ``jax.vmap``, with explicit declarations of batched States.

    Parameters
    ----------
    fn
        The function to map. Without it, ``vmap(...)`` returns a decorator.
    in_axes, out_axes, axis_name, axis_size, spmd_axis_name
        As in ``jax.vmap``. ``in_axes`` is an int/None or a tuple with one pytree prefix per positional
        argument.
    in_states
        States batched on input (and written back on the same axis): a State, an iterable or dict of
        States (axis 0), or ``{axis: States}``.
    out_states
        States written back batched, in the same forms.

    Returns
    -------
    Callable
        The mapped function, typed with ``fn``'s parameters and return type (like ``jax.vmap``: the
        values carry the extra batch axis). It accepts positional arguments only.

    Raises
    ------
    BatchAxisError
        When ``fn`` writes a per-lane value into a State not declared in ``out_states``/``in_states``, or
        a State is declared on two different axes.
    NotImplementedError
        When the mapped function is called with keyword arguments.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import vmap
    >>> counter = bss.State(jnp.zeros(3))
    >>> @vmap(in_states=counter)
    ... def tick(x):
    ...     counter.value = counter.value + x
    ...     return counter.value * 2
    >>> tick(jnp.array([1.0, 2.0, 3.0]))
    Array([2., 4., 6.], dtype=float32)
    >>> counter.value
    Array([1., 2., 3.], dtype=float32)
    """
    if fn is None:
        return functools.partial(
            vmap,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            spmd_axis_name=spmd_axis_name,
            in_states=in_states,
            out_states=out_states,
        )
    engine = MappingEngine(
        fn,
        in_axes=in_axes,
        out_axes=out_axes,
        axis_name=axis_name,
        axis_size=axis_size,
        rules=DeclaredStateAxes(in_states, out_states),
        policy="raise",
        mapping_fn=vmap_mapping_fn(spmd_axis_name),
        kwargs_axis=False,
    )

    @functools.wraps(fn)
    @compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
    def mapped(*args: P.args, **kwargs: P.kwargs) -> R:
        result: R = engine(*args, **kwargs)
        return result

    mapped.engine = engine  # type: ignore[attr-defined]
    return mapped
