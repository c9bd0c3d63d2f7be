"""Checks of the values a ``shard_map``-ped function writes to States, run inside the ``shard_map`` trace."""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import PartitionSpec

from brainstate_state import BrainStateError, State, state_error_message

from ._shard_specs import global_shape, spec_axes, varying_axes

__all__ = ["Want", "check_write"]


class Want:
    """The per-shard and global shape a written State leaf must have."""

    def __init__(self, shape: tuple[int, ...], global_shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.global_shape = global_shape


def check_write(
    name: str,
    mesh: Any,
    state: State[Any],
    value: Any,
    spec: PartitionSpec,
    declared: bool,
    want: Any,
    check_vma: bool,
    out_declared: bool,
) -> None:
    """Raise unless the per-shard ``value`` written to ``state`` fits ``spec``."""
    label = "state_out_specs" if out_declared else "state_in_specs/state_out_specs"
    how = (
        f"declare the State's layout, e.g. state_out_specs={{state: P({', '.join(map(repr, mesh.axis_names))})}} "
        "(and the same in state_in_specs), or write a value of the State's per-shard shape."
    )
    leaves, want_leaves = jax.tree.leaves(value), jax.tree.leaves(want)
    if len(leaves) != len(want_leaves):
        raise BrainStateError(
            state_error_message(
                f"shard_map({name}) wrote a value with {len(leaves)} array leaves to a State that holds "
                f"{len(want_leaves)}.",
                state,
                "write a value with the same structure as the State's value.",
            )
        )
    for leaf, want_leaf in zip(leaves, want_leaves, strict=True):
        shape = tuple(jax.numpy.shape(leaf))
        if shape != tuple(want_leaf.shape):
            made = global_shape(shape, spec, mesh) if len(spec) <= len(shape) else shape
            raise BrainStateError(
                state_error_message(
                    f"shard_map({name}) wrote a per-shard value of shape {shape} to a State that holds "
                    f"shape {tuple(want_leaf.global_shape)}; with its {label} {spec}"
                    f"{'' if declared else ' (undeclared, so replicated)'} that would make the State's "
                    f"shape {made}. Its per-shard shape is {tuple(want_leaf.shape)}.",
                    state,
                    how,
                )
            )
        varying = sorted(varying_axes(leaf) - set(spec_axes(spec)))
        if check_vma and varying:
            raise BrainStateError(
                state_error_message(
                    f"shard_map({name}) wrote a value that differs between the shards of mesh axes "
                    f"{varying} to a State whose {label} is {spec}"
                    f"{'' if declared else ' (undeclared, so replicated)'}, which says it is the same on "
                    "every shard of those axes.",
                    state,
                    how + " If the value really is the same on every shard, combine it with a collective "
                    "(jax.lax.psum / pmean) first.",
                )
            )
