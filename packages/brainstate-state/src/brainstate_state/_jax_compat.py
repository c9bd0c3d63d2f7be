"""The few JAX internals the state layer needs (the IR layer has the full compatibility module).

Kept tiny on purpose: the current JAX trace (to tell whether a tracer written into a State belongs to the
trace the State was created in) and the tracer type.
"""

from __future__ import annotations

from typing import Any

import jax
from jax._src.core import trace_ctx as _trace_ctx

Tracer = jax.core.Tracer


def current_jax_trace() -> Any:
    """An opaque token for the innermost active JAX trace, or ``None`` at the top level (eager)."""
    trace = _trace_ctx.trace
    if trace is None or type(trace).__name__ == "EvalTrace":
        return None
    return trace
