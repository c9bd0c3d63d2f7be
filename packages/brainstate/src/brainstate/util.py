"""``brainstate.util``: filters and the state containers (``NestedDict``, ``FlattedDict``)."""

from __future__ import annotations

from brainstate_state import filters
from brainstate_state.containers import FlattedDict, NestedDict
from brainstate_state.filters import (
    All,
    Any,
    Everything,
    Not,
    Nothing,
    OfType,
    PathContains,
    WithTag,
    to_predicate,
)

__all__ = [
    "All",
    "Any",
    "Everything",
    "FlattedDict",
    "NestedDict",
    "Not",
    "Nothing",
    "OfType",
    "PathContains",
    "WithTag",
    "filters",
    "to_predicate",
]
