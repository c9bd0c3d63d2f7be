"""brainstate-ir: trace stateful functions into pure programs, and the tools that work on those programs."""

from __future__ import annotations

from brainstate_state import register_library_dir

from ._program import TracedProgram
from ._stateful import StatefulFunction
from .eval_shape import eval_shape
from .finder import StateFinder
from .make_jaxpr import make_jaxpr
from .unvmap import unvmap

register_library_dir(__file__)

__version__ = "0.1.0"

__all__: list[str] = [
    "StateFinder",
    "StatefulFunction",
    "TracedProgram",
    "eval_shape",
    "make_jaxpr",
    "unvmap",
]

# --- IR tools ---
from .codegen import (
    UnsupportedPrimitiveError,
    fn_to_python_code,
    jaxpr_to_python_code,
    register_prim_handler,
)
from .draw import draw, draw_dot_graph, view_pydot
from .optimize import (
    JaxprInterfaceError,
    algebraic_simplification,
    common_subexpression_elimination,
    constant_fold,
    copy_propagation,
    dead_code_elimination,
    optimize_jaxpr,
)
from .processing import JaxprValidationError, eqns_to_closed_jaxpr, eqns_to_jaxpr, inline_jit

__all__ += [
    "JaxprInterfaceError",
    "JaxprValidationError",
    "UnsupportedPrimitiveError",
    "algebraic_simplification",
    "common_subexpression_elimination",
    "constant_fold",
    "copy_propagation",
    "dead_code_elimination",
    "draw",
    "draw_dot_graph",
    "eqns_to_closed_jaxpr",
    "eqns_to_jaxpr",
    "fn_to_python_code",
    "inline_jit",
    "jaxpr_to_python_code",
    "optimize_jaxpr",
    "register_prim_handler",
    "view_pydot",
]
