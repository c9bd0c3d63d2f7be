"""``StatefulMapping`` and ``vmap2``: filter-based state-aware mapping.

Instead of listing State instances, ``state_in_axes`` / ``state_out_axes`` select States with filters
(types, tags, predicates; see :mod:`brainstate_state.filters`), as ``{axis: filter}`` or a single filter
for axis 0. States batched on input are written back on the same axis. What happens to an undeclared
State written with a per-lane value is chosen by ``unexpected_out_state_mapping``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ._plan import MappingEngine, MappingFn, vmap_mapping_fn
from ._policy import Policy
from ._state_axes import FilterStateAxes

__all__ = ["StatefulMapping", "vmap2"]


class StatefulMapping:
    """A state-aware mapping of a function; the object ``vmap2`` and ``pmap2`` return.

    Parameters
    ----------
    fun
        The function to map. It may read and write States.
    in_axes, out_axes
        As in ``jax.vmap``; keyword arguments are mapped on axis 0.
    state_in_axes
        ``{axis: filter}`` or a filter (axis 0): States batched on input (and written back on that axis).
        A State instance or a list of States is accepted as a filter matching exactly those States.
    state_out_axes
        ``{axis: filter}`` or a filter: States written back batched on that axis.
    unexpected_out_state_mapping
        For an undeclared State written with a per-lane value: ``'auto'`` (default) stores it batched on
        axis 0 (and maps it in on axis 0 on later calls once it carries the batch axis), ``'warn'`` does
        the same with a ``UserWarning``, ``'raise'`` raises ``BatchAxisError``, ``'ignore'`` drops the
        write. Undeclared States written with a value equal in all lanes are always written once.
    axis_size, axis_name
        The mapped axis' size (checked against the inferred one) and name (for collectives).
    name
        Name used in messages.
    mapping_fn
        ``(pure, in_axes, out_axes, axis_name, axis_size) -> mapped``; ``jax.vmap`` under ``jax.jit`` by
        default.
    static_argnums, static_argnames
        Arguments passed to every lane unchanged as Python values (they must be hashable; each distinct
        value is planned and compiled separately). Their entries in a tuple ``in_axes`` are ignored.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import StatefulMapping
    >>> w = bss.ParamState(jnp.arange(3.0))
    >>> scale = StatefulMapping(lambda x: x * w.value, state_in_axes={0: bss.ParamState})
    >>> scale(jnp.ones(3))
    Array([0., 1., 2.], dtype=float32)
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        in_axes: Any = 0,
        out_axes: Any = 0,
        state_in_axes: Any = None,
        state_out_axes: Any = None,
        unexpected_out_state_mapping: Policy = "auto",
        axis_size: int | None = None,
        axis_name: Any = None,
        name: str | None = None,
        mapping_fn: MappingFn | None = None,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
    ) -> None:
        self.origin_fun = fun
        self.engine = MappingEngine(
            fun,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            rules=FilterStateAxes(state_in_axes, state_out_axes),
            policy=unexpected_out_state_mapping,
            mapping_fn=mapping_fn,
            name=name,
            kwargs_axis=0,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
        )
        functools.update_wrapper(self, fun, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the mapped function; batched State writes are committed afterwards."""
        return self.engine(*args, **kwargs)

    def clear_cache(self) -> None:
        """Forget the cached plans (the next call traces again)."""
        self.engine.clear_cache()

    def __repr__(self) -> str:
        return f"StatefulMapping({self.engine.name})"


def vmap2(
    fn: Callable[..., Any] | None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> Any:
    """Vectorise ``fn`` over a batch axis; States are selected with filters (the recommended vmap).

    Parameters
    ----------
    fn
        The function to map. Without it, ``vmap2(...)`` returns a decorator.
    in_axes, out_axes, axis_name, axis_size, spmd_axis_name
        As in ``jax.vmap``; keyword arguments are mapped on axis 0.
    state_in_axes, state_out_axes, unexpected_out_state_mapping
        See :class:`StatefulMapping`.

    Returns
    -------
    StatefulMapping
        The mapped function. A cold call runs ``fn`` at most twice (usually once); a warm call not at all.

    Examples
    --------
    An ensemble of 4 copies of a parameter, one per lane:

    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import vmap2
    >>> w = bss.ParamState(jnp.arange(4.0))
    >>> @vmap2(state_in_axes={0: bss.ParamState}, in_axes=None, axis_size=4)
    ... def predict(x):
    ...     return w.value * x
    >>> predict(2.0)
    Array([0., 2., 4., 6.], dtype=float32)
    """
    if fn is None:
        return functools.partial(
            vmap2,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            spmd_axis_name=spmd_axis_name,
            state_in_axes=state_in_axes,
            state_out_axes=state_out_axes,
            unexpected_out_state_mapping=unexpected_out_state_mapping,
        )
    return StatefulMapping(
        fn,
        in_axes=in_axes,
        out_axes=out_axes,
        state_in_axes=state_in_axes,
        state_out_axes=state_out_axes,
        unexpected_out_state_mapping=unexpected_out_state_mapping,
        axis_size=axis_size,
        axis_name=axis_name,
        mapping_fn=vmap_mapping_fn(spmd_axis_name),
    )
