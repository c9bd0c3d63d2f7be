"""brainstate-jit: state-aware ``jit`` and the tools around compilation (scopes, remat, checks, NaN debugging)."""

from __future__ import annotations

from brainstate_state import register_library_dir

from .jit import JittedFunction, jit

register_library_dir(__file__)

__version__ = "0.6.0"

__all__: list[str] = [
    "JittedFunction",
    "jit",
]

# --- scope, remat, checks, debug ---
from .checks import (  # noqa: E402
    RuntimeCheckError,
    all_checks,
    automatic_checks,
    check,
    check_error,
    checkify,
    div_checks,
    float_checks,
    index_checks,
    jit_error_if,
    nan_checks,
    user_checks,
)
from .debug import breakpoint_if, debug_nan, debug_nan_if  # noqa: E402
from .remat import RematFunction, checkpoint, remat  # noqa: E402
from .scope import NamedScopeFunction, named_call, named_scope  # noqa: E402

__all__ += [
    "NamedScopeFunction",
    "RematFunction",
    "RuntimeCheckError",
    "all_checks",
    "automatic_checks",
    "breakpoint_if",
    "check",
    "check_error",
    "checkify",
    "checkpoint",
    "debug_nan",
    "debug_nan_if",
    "div_checks",
    "float_checks",
    "index_checks",
    "jit_error_if",
    "named_call",
    "named_scope",
    "nan_checks",
    "remat",
    "user_checks",
]
