"""brainstate: a state-aware transformation layer over JAX for brain simulation and machine learning.

``pip install brainstate`` installs every layer; this package gathers them under one name:

* ``brainstate.State`` and its subclasses, ``TreefyState``, ``catch_new_states`` and the errors;
* ``brainstate.transform``: jit, grad, vmap, for_loop, cond, ... (every state-aware transformation);
* ``brainstate.graph``, ``brainstate.nn``, ``brainstate.random``, ``brainstate.environ``, ``brainstate.util``.

Nothing is defined here: each name lives in its layer package (``brainstate_state``, ``brainstate_ir``,
``brainstate_jit``, ``brainstate_autodiff``, ``brainstate_control``, ``brainstate_mapping``).
"""

from __future__ import annotations

import sys
from typing import Any

from brainstate_state import (
    BatchAxisError,
    BatchState,
    BrainStateError,
    FakeState,
    HiddenState,
    LongTermState,
    NonBatchState,
    ParamState,
    ShortTermState,
    State,
    StateTraceStack,
    TraceContextError,
    TreefyState,
    catch_new_states,
    check_state_value_tree,
    maybe_state,
    register_library_dir,
)

from . import environ, graph, nn, random, transform, util
from ._deprecated import DeprecatedNamespace

register_library_dir(__file__)

__version__ = "0.6.0"

compile: Any = DeprecatedNamespace("compile")  # noqa: A001 - deprecated alias of brainstate.transform
augment: Any = DeprecatedNamespace("augment")
sys.modules[__name__ + ".compile"] = compile
sys.modules[__name__ + ".augment"] = augment

__all__ = [
    "BatchAxisError",
    "BatchState",
    "BrainStateError",
    "FakeState",
    "HiddenState",
    "LongTermState",
    "NonBatchState",
    "ParamState",
    "ShortTermState",
    "State",
    "StateTraceStack",
    "TraceContextError",
    "TreefyState",
    "__version__",
    "augment",
    "catch_new_states",
    "check_state_value_tree",
    "compile",
    "environ",
    "graph",
    "maybe_state",
    "nn",
    "random",
    "transform",
    "util",
]
