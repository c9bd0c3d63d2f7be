"""``brainstate.util``: filters, the state containers (``NestedDict``, ``FlattedDict``, ``PrettyDict``),
``flat_mapping``/``nest_mapping`` and ``breakpoint_if``.

``brainstate.util.filter`` is the filter module (``from brainstate.util.filter import OfType``);
``brainstate.util.filters`` is the same module.
"""

from __future__ import annotations

import sys

from brainstate_jit.debug import breakpoint_if
from brainstate_state import filters
from brainstate_state.containers import FlattedDict, NestedDict, PrettyDict, flat_mapping, nest_mapping
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

filter = filters  # noqa: A001 - the module's name in brainstate 0.5.4
sys.modules[__name__ + ".filter"] = filters

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
    "PrettyDict",
    "WithTag",
    "breakpoint_if",
    "filter",
    "filters",
    "flat_mapping",
    "nest_mapping",
    "to_predicate",
]
