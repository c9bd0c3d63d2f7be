"""PartitionSpec handling for ``shard_map``: normalising state specs, validating specs against a mesh,
per-shard shapes, and laying values out per a spec on explicit meshes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import jax
from jax.sharding import NamedSharding, PartitionSpec

from brainstate_state import State, describe_state

_AxisType: Any = getattr(jax.sharding, "AxisType", None)


def is_spec(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _is_entry(x: Any) -> bool:
    """An entry of a PartitionSpec: ``None``, an axis name, or a tuple of axis names."""
    if x is None or isinstance(x, str):
        return True
    return isinstance(x, tuple) and all(isinstance(n, str) for n in x)


def to_spec(value: Any, what: str) -> PartitionSpec:
    """``value`` as a PartitionSpec: a PartitionSpec, ``None`` (replicated) or a tuple of axis entries."""
    if isinstance(value, PartitionSpec):
        return value
    if value is None:
        return PartitionSpec()
    if isinstance(value, tuple) and all(_is_entry(e) for e in value):
        return PartitionSpec(*value)
    raise TypeError(
        f"{what} must be a PartitionSpec (or None for replicated), got {value!r}. "
        "How to fix: write it as jax.sharding.PartitionSpec('axis', None, ...)."
    )


def _pairs(items: Iterable[tuple[Any, Any]], what: str) -> dict[int, PartitionSpec]:
    result: dict[int, PartitionSpec] = {}
    for state, value in items:
        if not isinstance(state, State):
            raise TypeError(
                f"{what}: the keys must be States, got {type(state).__name__} {state!r}. How to fix: map "
                "each State object to its PartitionSpec, e.g. {layer.weight: P('x')}."
            )
        result[id(state)] = to_spec(value, f"{what} entry for {describe_state(state)}")
    return result


def normalize_state_specs(
    spec: Any, what: str
) -> tuple[PartitionSpec | None, dict[int, PartitionSpec], dict[int, State[Any]]]:
    """``(default spec of every State or None, {id(state): spec}, {id(state): state})``.

    ``spec`` is ``None`` (nothing declared), one spec for every State (a PartitionSpec or a tuple of
    axis entries such as ``('x', None)``), a dict ``{State: spec}``, or a tuple of ``(State, spec)``
    pairs.
    """
    if spec is None:
        return None, {}, {}
    if isinstance(spec, Mapping):
        return None, _pairs(spec.items(), what), {id(s): s for s in spec if isinstance(s, State)}
    if isinstance(spec, tuple) and spec:
        if all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], State) for p in spec):
            return None, _pairs(spec, what), {id(p[0]): p[0] for p in spec}
        if any(isinstance(e, PartitionSpec) for e in spec):
            raise TypeError(
                f"{what} got a tuple of PartitionSpecs {spec!r}, which does not say which State each spec is "
                "for. How to fix: pass one PartitionSpec for every State, or a dict {State: PartitionSpec}."
            )
    try:
        return to_spec(spec, what), {}, {}
    except TypeError:
        raise TypeError(
            f"{what} must be a PartitionSpec, a dict {{State: PartitionSpec}} or a tuple of (State, "
            f"PartitionSpec) pairs, got {type(spec).__name__} {spec!r}."
        ) from None


def spec_axes(spec: PartitionSpec) -> tuple[str, ...]:
    """The mesh axis names a spec shards over, in order."""
    names: list[str] = []
    for entry in spec:
        if entry is None:
            continue
        names.extend(entry if isinstance(entry, tuple) else (entry,))
    return tuple(names)


def check_spec(spec: PartitionSpec, mesh: Any, where: str) -> None:
    """Raise if ``spec`` names an axis ``mesh`` does not have, or names one axis twice."""
    names = spec_axes(spec)
    for name in names:
        if name not in mesh.shape:
            raise ValueError(
                f"{where} has PartitionSpec {spec}, which names the mesh axis {name!r}, but the mesh has the "
                f"axes {tuple(mesh.axis_names)}. How to fix: use one of the mesh's axis names."
            )
    for name in set(names):
        if names.count(name) > 1:
            raise ValueError(
                f"{where} has PartitionSpec {spec}, which uses the mesh axis {name!r} for more than one "
                "dimension. How to fix: shard each dimension over different mesh axes."
            )


def shard_shape(shape: tuple[int, ...], spec: PartitionSpec, mesh: Any, where: str) -> tuple[int, ...]:
    """The per-shard shape of a value of ``shape`` laid out per ``spec`` on ``mesh``."""
    if len(spec) > len(shape):
        raise ValueError(
            f"{where} has shape {shape} ({len(shape)} dimensions) but its PartitionSpec {spec} has "
            f"{len(spec)} entries. How to fix: give at most one entry per dimension."
        )
    result = list(shape)
    for dim, names in enumerate(spec):
        if names is None:
            continue
        count = math.prod(int(mesh.shape[n]) for n in (names if isinstance(names, tuple) else (names,)))
        if result[dim] % count:
            raise ValueError(
                f"{where} has size {shape[dim]} on dimension {dim}, which the PartitionSpec {spec} splits into "
                f"{count} shards; the size must be divisible by {count}. How to fix: pad the array to a "
                "multiple of the shard count, or use a different PartitionSpec."
            )
        result[dim] //= count
    return tuple(result)


def global_shape(shape: tuple[int, ...], spec: PartitionSpec, mesh: Any) -> tuple[int, ...]:
    """The global shape that per-shard values of ``shape`` make when laid out per ``spec``."""
    result = list(shape)
    for dim, names in enumerate(spec):
        if names is not None and dim < len(result):
            result[dim] *= math.prod(
                int(mesh.shape[n]) for n in (names if isinstance(names, tuple) else (names,))
            )
    return tuple(result)


def shard_aval(leaf: Any, spec: PartitionSpec, mesh: Any, where: str) -> Any:
    """The per-shard ``ShapeDtypeStruct`` of ``leaf`` (``leaf`` itself when replicated)."""
    shape = tuple(getattr(leaf, "shape", ()))
    if len(spec) == 0:
        return leaf
    return jax.ShapeDtypeStruct(shard_shape(shape, spec, mesh, where), leaf.dtype)


def explicit_axes(mesh: Any) -> frozenset[str]:
    """The axes of ``mesh`` whose shardings are part of array types (``AxisType.Explicit``)."""
    types = getattr(mesh, "axis_types", None)
    if _AxisType is None or types is None:
        return frozenset()
    explicit = getattr(_AxisType, "Explicit", None)
    return frozenset(n for n, t in zip(mesh.axis_names, types, strict=True) if t == explicit)


def lay_out(x: Any, spec: PartitionSpec, mesh: Any, explicit: frozenset[str]) -> Any:
    """Inside ``jit``: reshard ``x`` so that its type matches ``spec`` on the explicit axes of ``mesh``.

    ``shard_map`` requires inputs whose sharded type matches ``in_specs`` on explicit axes; on auto
    axes it reshards by itself.
    """
    if not explicit:
        return x
    entries: list[Any] = []
    for entry in spec:
        names = () if entry is None else (entry if isinstance(entry, tuple) else (entry,))
        kept = tuple(n for n in names if n in explicit)
        entries.append(None if not kept else kept[0] if len(kept) == 1 else kept)
    return jax.sharding.reshard(x, NamedSharding(mesh, PartitionSpec(*entries)))


def layout_of(value: Any, mesh: Any) -> Any:
    """The layout a written State should keep: per leaf, its ``NamedSharding`` when it is laid out over
    ``mesh``'s devices (or, inside a trace, when its type carries a sharding over explicit axes), else
    ``None``."""
    devices = set(mesh.devices.flat)

    def one(leaf: Any) -> Any:
        if isinstance(leaf, jax.core.Tracer):
            sharding = getattr(jax.typeof(leaf), "sharding", None)
            if (
                isinstance(sharding, NamedSharding)
                and explicit_axes(sharding.mesh)
                and spec_axes(sharding.spec)
            ):
                return sharding
            return None
        sharding = getattr(leaf, "sharding", None)
        if isinstance(sharding, NamedSharding) and sharding.device_set == devices:
            return sharding
        return None

    return tuple(one(leaf) for leaf in jax.tree.leaves(value))


def keep_layout(value: Any, layout: tuple[Any, ...]) -> Any:
    """Inside ``jit``: ``value`` (a written State's new value) laid out per ``layout`` (see ``layout_of``)."""
    leaves, treedef = jax.tree.flatten(value)
    if len(leaves) != len(layout):
        return value
    out = []
    for leaf, sharding in zip(leaves, layout, strict=True):
        if sharding is None or jax.numpy.ndim(leaf) < len(sharding.spec):
            out.append(leaf)
        elif explicit_axes(sharding.mesh):
            out.append(jax.sharding.reshard(leaf, sharding))
        else:
            out.append(jax.lax.with_sharding_constraint(leaf, sharding))
    return jax.tree.unflatten(treedef, out)


def varying_axes(x: Any) -> frozenset[str]:
    """Inside ``shard_map``: the mesh axes over which ``x`` differs between shards (its type's "vma")."""
    aval = jax.typeof(x)
    vma = getattr(aval, "vma", None)
    if vma is None:  # newer JAX keeps it on the type's manual-axis record
        vma = getattr(getattr(aval, "manual_axis_type", None), "varying", None)
    return frozenset(vma or ())
