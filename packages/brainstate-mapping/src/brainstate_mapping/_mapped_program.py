"""The pure program a mapped call runs, the mapping functions that vectorise it, and per-lane keys."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax

from ._call import MappedCall
from ._lanes import LaneProgram

__all__ = [
    "MappingFn",
    "JaxStyleMapping",
    "VmapMapping",
    "jax_style_mapping",
    "lane_keys",
    "lane_out_avals",
    "mapped_axes",
    "pure_program",
    "vmap_mapping_fn",
]


#: ``mapping_fn(pure, in_axes, out_axes, axis_name, axis_size) -> mapped callable``.
MappingFn = Callable[[Callable[..., Any], Any, Any, Any, int], Callable[..., Any]]


@dataclass(frozen=True)
class VmapMapping:
    """``jax.vmap`` with ``spmd_axis_name``; equal for equal options (part of the compiled-program key).

    The engine compiles it through the shared compiled-program cache (or inlines it inside a trace).
    """

    spmd_axis_name: Any = None

    def __call__(
        self, pure: Callable[..., Any], in_axes: Any, out_axes: Any, axis_name: Any, size: int
    ) -> Any:
        mapped = jax.vmap(
            pure,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=size,
            spmd_axis_name=self.spmd_axis_name,
        )
        return mapped


@dataclass(frozen=True, eq=False)
class JaxStyleMapping:
    """A mapping function called as ``jax.vmap`` is: ``fn(f, in_axes=, out_axes=, axis_name=, axis_size=, **kw)``.

    This is the ``mapping_fn``/``mapping_kwargs`` form of ``StatefulMapping`` (e.g. ``jax.pmap`` or a
    wrapper of ``jax.vmap``); the mapped callable it returns is kept with the mapping object.
    """

    fn: Callable[..., Any]
    kwargs: dict[str, Any]

    def __call__(
        self, pure: Callable[..., Any], in_axes: Any, out_axes: Any, axis_name: Any, size: int
    ) -> Any:
        return self.fn(
            pure, in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, axis_size=size, **self.kwargs
        )


def jax_style_mapping(fn: Callable[..., Any] | None, kwargs: dict[str, Any] | None) -> MappingFn:
    """The engine's mapping function for a ``jax.vmap``-like ``fn`` called with ``kwargs``.

    ``jax.vmap`` itself (with at most ``spmd_axis_name``) becomes :class:`VmapMapping`, which compiles
    through the shared compiled-program cache.
    """
    kwargs = dict(kwargs or {})
    if isinstance(fn, functools.partial) and fn.func is jax.vmap and not fn.args:
        kwargs = {**fn.keywords, **kwargs}
        fn = None
    if fn is None or fn is jax.vmap:
        if set(kwargs) <= {"spmd_axis_name"}:
            return vmap_mapping_fn(kwargs.get("spmd_axis_name"))
        fn = jax.vmap
    return JaxStyleMapping(fn, kwargs)


def vmap_mapping_fn(spmd_axis_name: Any = None) -> MappingFn:
    """A mapping function running ``jax.vmap`` (with ``spmd_axis_name``)."""
    if isinstance(spmd_axis_name, list):
        spmd_axis_name = tuple(spmd_axis_name)
    return VmapMapping(spmd_axis_name)


@functools.partial(jax.jit, static_argnums=1)
def lane_keys(key: jax.Array, size: int) -> tuple[jax.Array, jax.Array]:
    keys = jax.random.split(key, size + 1)
    # The stream then moves to a key split off keys[0], as brainstate 0.5.4 advances it.
    return keys[1:], jax.random.split(keys[0])[1]


def pure_program(program: LaneProgram, kept: tuple[int, ...]) -> Callable[..., tuple[Any, list[Any]]]:
    """``(consts, arg_leaves, state_values) -> (out, [written value j for j in kept])``; holds no State."""
    jaxpr = program.closed.jaxpr
    out_treedef = program.out_treedef
    treedefs = program.written_treedefs

    def pure(consts: list[Any], arg_leaves: list[Any], state_values: list[Any]) -> tuple[Any, list[Any]]:
        flat = jax.core.eval_jaxpr(jaxpr, consts, *arg_leaves, *jax.tree.leaves(state_values))
        position = out_treedef.num_leaves
        out = jax.tree.unflatten(out_treedef, flat[:position])
        written = []
        for treedef in treedefs:
            written.append(jax.tree.unflatten(treedef, flat[position : position + treedef.num_leaves]))
            position += treedef.num_leaves
        return out, [written[j] for j in kept]

    return pure


def lane_out_avals(program: LaneProgram) -> list[list[Any]]:
    avals = program.closed.out_avals
    position = program.out_treedef.num_leaves
    result = []
    for treedef in program.written_treedefs:
        result.append(list(avals[position : position + treedef.num_leaves]))
        position += treedef.num_leaves
    return result


def mapped_axes(program: LaneProgram, call: MappedCall) -> tuple[list[int], list[int]]:
    """The (non-negative) axes of the mapped argument leaves and of the mapped States of ``program``."""
    arg_axes = []
    for leaf, axis in zip(call.leaves, call.axes, strict=True):
        if axis is not None:
            arg_axes.append(axis % max(len(getattr(leaf, "shape", ())), 1))
    return arg_axes, [m.axis for m in program.mapped_states]
