"""``brainstate.transform``: every state-aware transformation, in the groups of the API reference.

The names live in the layer packages (``brainstate_ir``, ``brainstate_jit``, ``brainstate_autodiff``,
``brainstate_control``, ``brainstate_mapping``); this module only gathers them.
"""

from __future__ import annotations

# Gradient computations
from brainstate_autodiff import (
    GradientTransform,
    fwd_grad,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    sofo_grad,
    vector_grad,
    vjp,
)

# Condition
# For loop
# While loop
from brainstate_control import (
    ProgressBar,
    bounded_while_loop,
    checkpointed_for_loop,
    checkpointed_scan,
    cond,
    for_loop,
    ifelse,
    scan,
    switch,
    while_loop,
)

# Compilation tools: state tracing, jaxprs, runtime checks, state finding
# IR optimization
# IR processing, code generation and visualization
# Shape evaluation
from brainstate_ir import (
    StateFinder,
    StatefulFunction,
    TracedProgram,
    algebraic_simplification,
    common_subexpression_elimination,
    constant_fold,
    copy_propagation,
    dead_code_elimination,
    draw,
    draw_dot_graph,
    eqns_to_closed_jaxpr,
    eqns_to_jaxpr,
    eval_shape,
    fn_to_python_code,
    inline_jit,
    jaxpr_to_python_code,
    make_jaxpr,
    optimize_jaxpr,
    register_prim_handler,
    view_pydot,
)

# JIT compilation
# Checkpointing
# Debugging
from brainstate_jit import (
    JittedFunction,
    all_checks,
    automatic_checks,
    breakpoint_if,
    check,
    check_error,
    checkify,
    checkpoint,
    debug_nan,
    debug_nan_if,
    div_checks,
    float_checks,
    index_checks,
    jit,
    jit_error_if,
    named_call,
    named_scope,
    nan_checks,
    remat,
    user_checks,
)

# Mapping and vectorization
from brainstate_mapping import (
    StatefulMapping,
    in_new_state_probe,
    map,  # noqa: A004 - the documented name
    pmap2,
    pmap2_new_states,
    shard_map,
    unvmap,
    vmap,
    vmap2,
    vmap2_new_states,
    vmap_new_states,
)

__all__ = [
    # Condition
    "cond",
    "switch",
    "ifelse",
    # For loop
    "scan",
    "checkpointed_scan",
    "for_loop",
    "checkpointed_for_loop",
    "ProgressBar",
    # While loop
    "while_loop",
    "bounded_while_loop",
    # JIT compilation
    "jit",
    "JittedFunction",
    "named_scope",
    "named_call",
    # Checkpointing
    "checkpoint",
    "remat",
    # Debugging
    "debug_nan",
    "debug_nan_if",
    "breakpoint_if",
    # Compilation tools
    "StatefulFunction",
    "TracedProgram",
    "make_jaxpr",
    "jit_error_if",
    "checkify",
    "check",
    "check_error",
    "all_checks",
    "user_checks",
    "nan_checks",
    "div_checks",
    "index_checks",
    "float_checks",
    "automatic_checks",
    "StateFinder",
    # IR optimization
    "constant_fold",
    "dead_code_elimination",
    "common_subexpression_elimination",
    "copy_propagation",
    "algebraic_simplification",
    "optimize_jaxpr",
    # IR processing and visualization
    "eqns_to_closed_jaxpr",
    "eqns_to_jaxpr",
    "inline_jit",
    "fn_to_python_code",
    "jaxpr_to_python_code",
    "register_prim_handler",
    "draw",
    "draw_dot_graph",
    "view_pydot",
    # Gradient computations
    "vector_grad",
    "grad",
    "fwd_grad",
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "vjp",
    "jvp",
    "sofo_grad",
    "GradientTransform",
    # Mapping and vectorization
    "vmap",
    "vmap2",
    "StatefulMapping",
    "vmap_new_states",
    "vmap2_new_states",
    "map",
    "pmap2",
    "pmap2_new_states",
    "shard_map",
    "in_new_state_probe",
    # Shape evaluation
    "eval_shape",
    # Utilities
    "unvmap",
]
