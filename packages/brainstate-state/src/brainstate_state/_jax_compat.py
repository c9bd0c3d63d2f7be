"""The few JAX internals the state layer needs (the IR layer has the full compatibility module).

Kept tiny on purpose: the current JAX trace (to tell whether a tracer written into a State belongs to the
trace the State was created in), the tracer type, and JAX's traceback filter (to hide brainstate's own
frames from user tracebacks, as JAX hides its own).
"""

from __future__ import annotations

from typing import Any

import jax
from jax._src import traceback_util as _traceback_util
from jax._src.core import trace_ctx as _trace_ctx

Tracer = jax.core.Tracer


def current_jax_trace() -> Any:
    """An opaque token for the innermost active JAX trace, or ``None`` at the top level (eager)."""
    trace = _trace_ctx.trace
    if trace is None or type(trace).__name__ == "EvalTrace":
        return None
    return trace


def hide_from_tracebacks(directory: str) -> None:
    """Hide the frames of files under ``directory`` from the tracebacks JAX filters.

    JAX filters the traceback of an exception that leaves one of its API boundaries (``jax.jit``,
    ``jax.grad``, ...) in its default mode; ``JAX_TRACEBACK_FILTERING=off`` shows every frame again.
    """
    _traceback_util.register_exclusion(directory)
