"""brainstate-state: the State system at the bottom of brainstate.

``State`` and its subclasses, the trace stack that records which States a function reads and writes,
the errors, filters, containers, the module graph (split/merge), a minimal ``nn.Module``, random numbers
and the global environment. Depends on JAX and NumPy only.
"""

from __future__ import annotations

from ._catcher import NewStateCatcher, catch_new_states, check_state_value_tree
from ._context import TRACE_CONTEXT
from ._epoch import (
    GRAPH_EPOCH,
    GraphWatch,
    bump_graph_epoch,
    node_changed,
    note_node_reads,
    recording_node_reads,
    watch_nodes,
)
from ._errors import BatchAxisError, BrainStateError, TraceContextError, describe_state, state_error_message
from ._jax_compat import current_jax_trace
from ._source import SourceInfo, library_dirs, register_library_dir, user_frame_info
from ._state import (
    BatchState,
    FakeState,
    HiddenState,
    InvalidatedValue,
    LongTermState,
    NonBatchState,
    ParamState,
    ShortTermState,
    State,
    contains_tracer,
    invalidate_state_value,
    maybe_state,
)
from ._trace import StateTraceStack, peek_value
from ._treefy import TreefyState

__version__ = "0.6.0"

__all__ = [
    "GRAPH_EPOCH",
    "TRACE_CONTEXT",
    "BatchAxisError",
    "BatchState",
    "BrainStateError",
    "FakeState",
    "GraphWatch",
    "HiddenState",
    "InvalidatedValue",
    "LongTermState",
    "NewStateCatcher",
    "NonBatchState",
    "ParamState",
    "ShortTermState",
    "SourceInfo",
    "State",
    "StateTraceStack",
    "TraceContextError",
    "TreefyState",
    "bump_graph_epoch",
    "catch_new_states",
    "contains_tracer",
    "current_jax_trace",
    "check_state_value_tree",
    "describe_state",
    "node_changed",
    "note_node_reads",
    "recording_node_reads",
    "invalidate_state_value",
    "maybe_state",
    "peek_value",
    "library_dirs",
    "register_library_dir",
    "user_frame_info",
    "watch_nodes",
    "state_error_message",
]

# --- submodules (filters, containers, graph, nn, random, environ) are added below ---
# random and environ (random numbers as State; the global environment).
from . import environ, random  # noqa: E402

__all__ += ["environ", "random"]

# --- filters, containers, graph, nn (graph/containers engineer) ---
from . import containers, filters, graph, nn  # noqa: E402
from .containers import FlattedDict, NestedDict  # noqa: E402
from .graph import Node  # noqa: E402

__all__ += ["FlattedDict", "NestedDict", "Node", "containers", "filters", "graph", "nn"]
