"""The metapackage exposes every documented name, from the layer that defines it, and nothing of its own."""

from __future__ import annotations

import importlib
import warnings

import pytest

import brainstate

# The names of brainstate 0.5.4's API reference (brainstate.transform), by group.
TRANSFORM_NAMES = {
    "condition": ["cond", "switch", "ifelse"],
    "for loop": ["scan", "checkpointed_scan", "for_loop", "checkpointed_for_loop", "ProgressBar"],
    "while loop": ["while_loop", "bounded_while_loop"],
    "jit": ["jit", "named_scope", "named_call"],
    "checkpointing": ["checkpoint", "remat"],
    "debugging": ["debug_nan", "debug_nan_if", "breakpoint_if"],
    "compilation tools": [
        "StatefulFunction",
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
    ],
    "ir optimization": [
        "constant_fold",
        "dead_code_elimination",
        "common_subexpression_elimination",
        "copy_propagation",
        "algebraic_simplification",
        "optimize_jaxpr",
    ],
    "ir processing": [
        "eqns_to_closed_jaxpr",
        "eqns_to_jaxpr",
        "inline_jit",
        "fn_to_python_code",
        "jaxpr_to_python_code",
        "register_prim_handler",
        "draw",
        "draw_dot_graph",
        "view_pydot",
    ],
    "gradients": [
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
    ],
    "mapping": [
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
        "eval_shape",
        "unvmap",
    ],
}

LAYER_OF = {
    "brainstate_ir": [
        "StatefulFunction",
        "make_jaxpr",
        "StateFinder",
        "eval_shape",
        "optimize_jaxpr",
        "unvmap",
    ],
    "brainstate_jit": [
        "jit",
        "named_scope",
        "remat",
        "jit_error_if",
        "checkify",
        "debug_nan",
        "breakpoint_if",
    ],
    "brainstate_autodiff": ["grad", "GradientTransform", "hessian", "vjp", "jvp", "sofo_grad", "vector_grad"],
    "brainstate_control": ["cond", "switch", "ifelse", "for_loop", "scan", "while_loop", "ProgressBar"],
    "brainstate_mapping": [
        "vmap",
        "vmap2",
        "StatefulMapping",
        "pmap2",
        "shard_map",
        "map",
        "vmap_new_states",
    ],
}


def test_every_documented_name_is_exported() -> None:
    expected = {name for group in TRANSFORM_NAMES.values() for name in group}
    exported = set(brainstate.transform.__all__)
    assert expected <= exported, sorted(expected - exported)
    for name in brainstate.transform.__all__:
        assert hasattr(brainstate.transform, name), name


def test_all_has_no_extras_beyond_the_documented_names() -> None:
    expected = {name for group in TRANSFORM_NAMES.values() for name in group}
    assert set(brainstate.transform.__all__) - expected <= {"JittedFunction", "TracedProgram"}


@pytest.mark.parametrize("module", sorted(LAYER_OF))
def test_names_come_from_their_layer(module: str) -> None:
    layer = importlib.import_module(module)
    for name in LAYER_OF[module]:
        assert getattr(brainstate.transform, name) is getattr(layer, name), name


def test_top_level_names() -> None:
    import brainstate_state

    for name in [
        "State",
        "ShortTermState",
        "LongTermState",
        "ParamState",
        "BatchState",
        "HiddenState",
        "TreefyState",
        "catch_new_states",
        "BrainStateError",
        "TraceContextError",
        "BatchAxisError",
    ]:
        assert getattr(brainstate, name) is getattr(brainstate_state, name)
    assert brainstate.random.seed is brainstate_state.random.seed
    assert brainstate.random.DEFAULT is brainstate_state.random.DEFAULT
    assert brainstate.nn.Module is brainstate_state.nn.Module
    assert brainstate.graph.treefy_split is brainstate_state.graph.treefy_split
    assert brainstate.environ.get is brainstate_state.environ.get
    assert brainstate.util.NestedDict is brainstate_state.containers.NestedDict
    assert isinstance(brainstate.__version__, str)


def test_deprecated_aliases_warn_and_resolve() -> None:
    with pytest.warns(DeprecationWarning, match="brainstate.transform.jit"):
        jit = brainstate.compile.jit
    assert jit is brainstate.transform.jit
    with pytest.warns(DeprecationWarning, match="brainstate.transform.grad"):
        assert brainstate.augment.grad is brainstate.transform.grad
    with pytest.raises(AttributeError, match="no attribute"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brainstate.compile.not_a_transform  # noqa: B018
