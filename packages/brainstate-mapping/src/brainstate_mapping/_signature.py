"""Cheap signatures of State values (to tell whether a cached plan is still valid) and tracer checks."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax

__all__ = ["contains_tracer", "value_signature"]


def leaf_signature(leaf: Any) -> Hashable:
    aval = getattr(leaf, "aval", None)
    if aval is not None:
        return aval  # type: ignore[no-any-return]
    shape = getattr(leaf, "shape", None)
    if shape is not None:
        return (tuple(shape), str(getattr(leaf, "dtype", None)))
    return type(leaf).__name__


def value_signature(value: Any) -> tuple[Hashable, ...]:
    return tuple(leaf_signature(leaf) for leaf in jax.tree.leaves(value))


def contains_tracer(tree: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(tree))
