"""Signatures of State values (is a cached program still valid for them?) and the tracer test.

A leaf's signature is ``brainstate_ir.leaf_signature`` (shape, dtype, weak type), the one every transform
uses, so a Python scalar and the weakly typed array JAX makes of it agree. Leaves that are not JAX values
(a Python object held by a State) are described by their type.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax

from brainstate_ir import leaf_signature as _ir_leaf_signature
from brainstate_state import contains_tracer

__all__ = ["contains_tracer", "leaf_signature", "value_signature"]


def leaf_signature(leaf: Any) -> Hashable:
    """``brainstate_ir.leaf_signature(leaf)``, or the type name of a leaf that is not a JAX value."""
    try:
        return _ir_leaf_signature(leaf)
    except TypeError:
        return type(leaf).__name__


def value_signature(value: Any) -> tuple[Hashable, ...]:
    """The signature of every leaf of ``value``."""
    return tuple(leaf_signature(leaf) for leaf in jax.tree.leaves(value))
