"""brainstate-ir: trace stateful functions into pure programs, and the tools that work on those programs.

* :class:`StatefulFunction` traces a function that reads and writes States into a ``ClosedJaxpr`` once per
  argument signature; :func:`make_jaxpr`, :class:`StateFinder` and :func:`eval_shape` inspect it.
* :func:`unvmap` gives every ``vmap`` lane the same value (used by loops and runtime checks).
* The IR tools optimise (:func:`optimize_jaxpr` and its passes), rebuild (:func:`eqns_to_jaxpr`,
  :func:`inline_jit`), print as Python (:func:`jaxpr_to_python_code`) and draw (:func:`draw`) jaxprs.
"""

from __future__ import annotations

from brainstate_state import register_library_dir

from ._argnums import ArgnumsError, normalize_argnums
from ._arguments import SplitCall, StaticArgs, leaf_signature, resolve_static_args, split_call
from ._call_cache import COMPILED_PROGRAMS, CompiledProgramCache, compiled_call, jaxpr_key, structure_id
from ._program import TracedProgram
from ._stateful import run_program
from ._stateful_compat import StatefulFunction
from .codegen import (
    UnsupportedPrimitiveError,
    fn_to_python_code,
    jaxpr_to_python_code,
    register_prim_handler,
)
from .draw import draw, draw_dot_graph, view_pydot
from .eval_shape import eval_shape
from .finder import StateFinder
from .make_jaxpr import make_jaxpr
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
from .unvmap import unvmap

register_library_dir(__file__)

__version__ = "0.6.0"

__all__ = [
    "ArgnumsError",
    "COMPILED_PROGRAMS",
    "CompiledProgramCache",
    "JaxprInterfaceError",
    "JaxprValidationError",
    "SplitCall",
    "StateFinder",
    "StaticArgs",
    "StatefulFunction",
    "TracedProgram",
    "UnsupportedPrimitiveError",
    "algebraic_simplification",
    "common_subexpression_elimination",
    "compiled_call",
    "constant_fold",
    "copy_propagation",
    "dead_code_elimination",
    "draw",
    "draw_dot_graph",
    "eqns_to_closed_jaxpr",
    "eqns_to_jaxpr",
    "eval_shape",
    "fn_to_python_code",
    "inline_jit",
    "jaxpr_key",
    "jaxpr_to_python_code",
    "leaf_signature",
    "make_jaxpr",
    "normalize_argnums",
    "optimize_jaxpr",
    "register_prim_handler",
    "resolve_static_args",
    "run_program",
    "split_call",
    "structure_id",
    "unvmap",
    "view_pydot",
]
