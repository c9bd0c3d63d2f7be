"""Optimisation passes over jaxprs.

Each pass maps a ``Jaxpr`` (or ``ClosedJaxpr``) to a new one of the same kind with the same inputs,
the same number and types of outputs, the same effects and the same values, and recurses into the
bodies of control-flow, jit, custom-derivative and remat equations. ``optimize_jaxpr`` runs them to a
fixpoint. Every pass is linear in the number of equations.
"""

from ._driver import PASSES, JaxprInterfaceError, optimize_jaxpr
from .algebraic_simplification import algebraic_simplification
from .common_subexpression_elimination import common_subexpression_elimination
from .constant_fold import DEFAULT_MAX_CONSTANT_SIZE, constant_fold
from .copy_propagation import copy_propagation
from .dead_code_elimination import dead_code_elimination

__all__ = [
    "DEFAULT_MAX_CONSTANT_SIZE",
    "PASSES",
    "JaxprInterfaceError",
    "algebraic_simplification",
    "common_subexpression_elimination",
    "constant_fold",
    "copy_propagation",
    "dead_code_elimination",
    "optimize_jaxpr",
]
