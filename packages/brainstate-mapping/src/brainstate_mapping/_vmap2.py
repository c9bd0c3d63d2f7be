"""``StatefulMapping`` and ``vmap2``: filter-based state-aware mapping.

Instead of listing State instances, ``state_in_axes`` / ``state_out_axes`` select States with filters
(types, tags, predicates; see :mod:`brainstate_state.filters`), as ``{axis: filter}`` or a single filter
for axis 0. States batched on input are written back on the same axis. What happens to an undeclared
State written with a per-lane value is chosen by ``unexpected_out_state_mapping``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

import jax

from brainstate_ir import compat

from ._mapped_program import jax_style_mapping
from ._plan import MappingEngine
from ._policy import Policy
from ._state_axes import FilterStateAxes

__all__ = ["StatefulMapping", "vmap2"]

P = ParamSpec("P")
R = TypeVar("R")


class StatefulMapping(Generic[P, R]):
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
        axis 0 (and maps it in on axis 0 on later calls once it carries the batch axis; a read-modify-write
        State of another leading size warns once), ``'warn'`` does the same with a ``UserWarning``,
        ``'raise'`` raises ``BatchAxisError``, ``'ignore'`` drops the write. Undeclared States written with
        a value equal in all lanes are always written once.
    static_argnums, static_argnames
        Arguments passed to every lane unchanged as Python values (an int, a sequence, or ``None``; the
        values must be hashable). Their entries in a tuple ``in_axes`` are ignored.
    axis_env
        ``[(axis_name, size), ...]``: further named axes that collectives in ``fun`` may use.
    return_only_write
        Accepted for compatibility; the mapped program always returns the written States only.
    axis_size, axis_name
        The mapped axis' size (checked against the inferred one) and name (for collectives).
    name
        Name used in messages (the function's name by default).
    mapping_fn, mapping_kwargs
        The mapping transform, called as ``mapping_fn(f, in_axes=..., out_axes=..., axis_name=...,
        axis_size=..., **mapping_kwargs)`` (``jax.vmap`` by default; ``jax.pmap`` maps over devices).

    Notes
    -----
    Every eager call traces ``fun`` per lane, so it always sees the current values of unmapped arguments,
    unmapped States and Python attributes; the compiled program is reused whenever the traced program is
    the same. Under ``jit`` the mapping is traced once with the enclosing function.

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
        fun: Callable[P, R],
        in_axes: Any = 0,
        out_axes: Any = 0,
        state_in_axes: Any = None,
        state_out_axes: Any = None,
        unexpected_out_state_mapping: Policy = "auto",
        static_argnums: int | Sequence[int] | None = (),
        static_argnames: str | Sequence[str] | None = (),
        axis_env: Sequence[tuple[Hashable, int]] | None = None,
        return_only_write: bool = True,
        axis_size: int | None = None,
        axis_name: Any = None,
        name: str | None = None,
        mapping_fn: Callable[..., Any] = jax.vmap,
        mapping_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.origin_fun = fun
        self.in_axes = in_axes
        self.out_axes = out_axes
        self.state_in_axes = _axes_dict(state_in_axes)
        self.state_out_axes = _axes_dict(state_out_axes)
        self.unexpected_out_state_mapping = unexpected_out_state_mapping
        self.axis_env = axis_env
        self.return_only_write = return_only_write
        self.axis_size = axis_size
        self.axis_name = axis_name
        self.name = name
        self.mapping_fn = mapping_fn
        self.mapping_kwargs: dict[str, Any] = dict(mapping_kwargs or {})
        self.engine = MappingEngine(
            fun,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            rules=FilterStateAxes(state_in_axes, state_out_axes),
            policy=unexpected_out_state_mapping,
            mapping_fn=jax_style_mapping(mapping_fn, self.mapping_kwargs),
            name=name,
            kwargs_axis=0,
            static_argnums=static_argnums,
            static_argnames=static_argnames,
            axis_env=axis_env,
        )
        self.static_argnums = self.engine.static_argnums
        self.static_argnames = self.engine.static_argnames
        functools.update_wrapper(self, fun, updated=())

    @compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the mapped function; batched State writes are committed afterwards."""
        result: R = self.engine(*args, **kwargs)
        return result

    def clear_cache(self) -> None:
        """Forget what earlier calls learned (the next call starts tracing from scratch)."""
        self.engine.clear_cache()

    def __repr__(self) -> str:
        return f"StatefulMapping({self.engine.name})"


def _axes_dict(spec: Any) -> dict[Any, Any]:
    """A ``state_in_axes``/``state_out_axes`` spec as ``{axis: filter}`` (``{}`` for ``None``)."""
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return dict(spec)
    return {0: spec}


@overload
def vmap2(
    fn: Callable[P, R],
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> StatefulMapping[P, R]: ...


@overload
def vmap2(
    fn: None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> Callable[[Callable[P, R]], StatefulMapping[P, R]]: ...


def vmap2(
    fn: Callable[P, R] | None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    state_in_axes: Any = None,
    state_out_axes: Any = None,
    unexpected_out_state_mapping: Policy = "auto",
) -> StatefulMapping[P, R] | Callable[..., StatefulMapping[..., Any]]:
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
        The mapped function. Every eager call traces ``fn`` once (a first call with States selected by
        filters, or promoted under ``'auto'``, once more) and reuses the compiled program when the traced
        program is the same; under ``jit`` it is traced with the enclosing function.

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
        mapping_kwargs=None if spmd_axis_name is None else {"spmd_axis_name": spmd_axis_name},
    )
