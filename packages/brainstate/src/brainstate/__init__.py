"""brainstate: a state-aware transformation layer over JAX for brain simulation and machine learning.

``pip install brainstate`` installs every layer; this package gathers them under one name:

* ``brainstate.State`` and its subclasses, ``TreefyState``, ``catch_new_states`` and the errors;
* ``brainstate.transform``: jit, grad, vmap, for_loop, cond, ... (every state-aware transformation);
* ``brainstate.graph``, ``brainstate.nn``, ``brainstate.random``, ``brainstate.environ``, ``brainstate.util``.

Nothing is defined here: each name lives in its layer package (``brainstate_state``, ``brainstate_ir``,
``brainstate_jit``, ``brainstate_autodiff``, ``brainstate_control``, ``brainstate_mapping``).

Examples
--------
A State updated in place by a compiled function:

>>> import jax.numpy as jnp
>>> import brainstate
>>> counter = brainstate.State(jnp.array(0))
>>> @brainstate.transform.jit
... def tick(step):
...     counter.value += step
...     return counter.value
>>> [int(tick(2)) for _ in range(3)]
[2, 4, 6]

Gradients with respect to a parameter State, and a loop that carries a State:

>>> import jax.numpy as jnp
>>> import brainstate
>>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
>>> loss = lambda x: jnp.sum((w.value * x) ** 2)
>>> brainstate.transform.grad(loss, grad_states=w)(jnp.array([1.0, 1.0]))
Array([2., 4.], dtype=float32)
>>> total = brainstate.State(jnp.array(0.0))
>>> def add(x):
...     total.value += x
...     return total.value
>>> brainstate.transform.for_loop(add, jnp.arange(4.0))
Array([0., 1., 3., 6.], dtype=float32)

One key State drives NumPy-style random numbers; the same seed gives the same numbers:

>>> import brainstate
>>> brainstate.random.seed(0)
>>> a = brainstate.random.rand(3)
>>> brainstate.random.seed(0)
>>> bool((brainstate.random.rand(3) == a).all())
True

Every layer is also reachable under its own name, e.g. ``brainstate.transform.jit is brainstate_jit.jit``:

>>> import brainstate, brainstate_jit
>>> brainstate.transform.jit is brainstate_jit.jit
True
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
