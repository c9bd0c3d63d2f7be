"""The few JAX internals the state layer needs (the IR layer has the full compatibility module).

Kept tiny on purpose: the current JAX trace (to tell whether a tracer written into a State belongs to the
trace the State was created in) and the tracer type.
"""

from __future__ import annotations

from typing import Any

import jax

try:  # jax >= 0.4.36
    from jax._src.core import trace_ctx as _trace_ctx
except ImportError:  # pragma: no cover - older JAX is outside the supported range
    _trace_ctx = None

Tracer = jax.core.Tracer


def current_jax_trace() -> Any:
    """An opaque token for the innermost active JAX trace, or ``None`` at the top level (eager)."""
    if _trace_ctx is None:  # pragma: no cover
        return None
    trace = _trace_ctx.trace
    if trace is None or type(trace).__name__ == "EvalTrace":
        return None
    return trace
