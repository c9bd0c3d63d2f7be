"""``pmap2``: the filter-based state-aware mapping over devices (``jax.pmap``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

import jax

from ._policy import Policy
from ._vmap2 import StatefulMapping

__all__ = ["pmap2"]

P = ParamSpec("P")
R = TypeVar("R")


def _pmap_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """The options the installed ``jax.pmap`` accepts (the engine passes the axes and the size itself)."""
    accepted = inspect.signature(jax.pmap).parameters
    return {k: v for k, v in options.items() if k in accepted and v is not None}


@overload
def pmap2(
    fn: Callable[P, R],
    axis_name: Any = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    static_broadcasted_argnums: int | tuple[int, ...] = (),
    devices: Any = None,
    backend: str | None = None,
    axis_size: int | None = None,
    donate_argnums: int | tuple[int, ...] = (),
    global_arg_shapes: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> StatefulMapping[P, R]: ...


@overload
def pmap2(
    fn: None = None,
    axis_name: Any = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    static_broadcasted_argnums: int | tuple[int, ...] = (),
    devices: Any = None,
    backend: str | None = None,
    axis_size: int | None = None,
    donate_argnums: int | tuple[int, ...] = (),
    global_arg_shapes: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> Callable[[Callable[P, R]], StatefulMapping[P, R]]: ...


def pmap2(
    fn: Callable[P, R] | None = None,
    axis_name: Any = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    static_broadcasted_argnums: int | tuple[int, ...] = (),
    devices: Any = None,
    backend: str | None = None,
    axis_size: int | None = None,
    donate_argnums: int | tuple[int, ...] = (),
    global_arg_shapes: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> StatefulMapping[P, R] | Callable[..., StatefulMapping[..., Any]]:
    """Map ``fn`` over devices with ``jax.pmap``; States are handled as in :func:`vmap2`.

    Parameters
    ----------
    fn
        The function to map. Without it, ``pmap2(...)`` returns a decorator.
    axis_name, in_axes, out_axes, devices, backend, axis_size
        As in ``jax.pmap`` (options the installed JAX's ``pmap`` does not know, such as
        ``global_arg_shapes`` on new releases, are dropped).
    static_broadcasted_argnums, donate_argnums
        Not supported (must be empty).
    state_in_axes, state_out_axes, unexpected_out_state_mapping
        See :class:`StatefulMapping`.

    Returns
    -------
    StatefulMapping
        The mapped function.

    Raises
    ------
    NotImplementedError
        If ``static_broadcasted_argnums`` or ``donate_argnums`` is not empty.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import pmap2
    >>> n = jax.local_device_count()
    >>> total = bss.State(jnp.zeros(()))
    >>> @pmap2(axis_name='d')
    ... def add(x):
    ...     total.value = total.value + jax.lax.psum(x, 'd')
    ...     return x * 2
    >>> out = add(jnp.ones(n))
    >>> float(total.value) == n
    True
    """
    if static_broadcasted_argnums not in ((), None) or donate_argnums not in ((), None):
        raise NotImplementedError(
            "pmap2 does not support static_broadcasted_argnums or donate_argnums. How to fix: close over "
            "static values (functools.partial) and let JAX manage buffers."
        )
    if fn is None:
        return functools.partial(
            pmap2,
            axis_name=axis_name,
            in_axes=in_axes,
            out_axes=out_axes,
            devices=devices,
            backend=backend,
            axis_size=axis_size,
            global_arg_shapes=global_arg_shapes,
            state_in_axes=state_in_axes,
            state_out_axes=state_out_axes,
            unexpected_out_state_mapping=unexpected_out_state_mapping,
        )
    options = {"devices": devices, "backend": backend, "global_arg_shapes": global_arg_shapes}
    return StatefulMapping(
        fn,
        in_axes=in_axes,
        out_axes=out_axes,
        state_in_axes=state_in_axes,
        state_out_axes=state_out_axes,
        unexpected_out_state_mapping=unexpected_out_state_mapping,
        axis_size=axis_size,
        axis_name=axis_name,
        mapping_fn=jax.pmap,
        mapping_kwargs=_pmap_kwargs(options),
    )
