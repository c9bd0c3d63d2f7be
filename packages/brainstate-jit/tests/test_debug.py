"""debug_nan / debug_nan_if (primitive, user line, contaminated outputs; eager and compiled), breakpoint_if."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import compat, make_jaxpr
from brainstate_jit import breakpoint_if, debug_nan, debug_nan_if, jit

HEADER = "NaN/Inf detected in the output of the checked function!"


def jax_jit(fun, **options):
    """Raw ``jax.jit(fun)`` whose calls also wait for the host callbacks they dispatched (on GPU and TPU a
    raw ``jax.jit`` call returns before they ran; brainstate's own transforms wait by themselves)."""
    compiled = jax.jit(fun, **options)

    def call(*args, **kwargs):
        out = compiled(*args, **kwargs)
        compat.wait_for_host_callbacks()
        return out

    return call


def _line_of(marker: str) -> str:
    """``"<this file>:<line>"`` of the source line carrying ``marker``."""
    with open(__file__) as f:
        for number, line in enumerate(f, start=1):
            if marker in line and "_line_of" not in line:
                return f"{__file__}:{number}"
    raise AssertionError(marker)


def log_twice(x):
    return jnp.log(x) * 2  # MARK_LOG


def sqrt_dict(x):
    y = x + 1.0
    return {"ok": y, "root": jnp.sqrt(y)}  # MARK_SQRT


def _report(excinfo) -> str:
    return str(excinfo.value)


# ------------------------------------------------------------------------------------------- eager
def test_eager_log_names_primitive_line_and_outputs():
    with pytest.raises(RuntimeError) as info:
        debug_nan(log_twice, jnp.array([-1.0, 2.0, 0.0]))
    lines = _report(info).splitlines()
    assert lines[0] == HEADER
    assert lines[1].strip() == "Introduced by primitive : `log`"
    assert lines[2].strip() == f"Source location : {_line_of('MARK_LOG')} (log_twice)"
    assert lines[3].strip() == "Contaminated outputs :"
    assert lines[4].strip() == "output: shape=(3,), dtype=float32, NaN=1, Inf=1"


def test_eager_sqrt_with_pytree_output_and_phase():
    with pytest.raises(RuntimeError) as info:
        debug_nan(sqrt_dict, jnp.array([-3.0, 0.0]), phase="forward")
    text = _report(info)
    assert text.startswith("NaN/Inf detected [forward] in the output of the checked function!")
    assert "Introduced by primitive : `sqrt`" in text
    assert f"Source location : {_line_of('MARK_SQRT')} (sqrt_dict)" in text
    assert "output['root']: shape=(2,), dtype=float32, NaN=1, Inf=0" in text
    assert "output['ok']" not in text  # clean outputs are not listed


def test_clean_function_passes_and_returns_none():
    assert debug_nan(log_twice, jnp.array([1.0, 2.0])) is None
    assert debug_nan(sqrt_dict, jnp.array([0.0, 3.0]), phase="x") is None


def test_nan_already_in_the_inputs_is_reported_as_such():
    with pytest.raises(RuntimeError, match=r"Introduced by primitive : none \(the NaN/Inf was already in"):
        debug_nan(lambda x: x * 2, jnp.array([jnp.nan, 1.0]))


def test_descends_into_nested_jit_cond_and_checkpoint():
    inner = jax.jit(lambda x: jnp.sqrt(x - 5.0))  # MARK_INNER

    def nested(x):
        y = jax.lax.cond(x[0] > 0, lambda v: jnp.log(v), lambda v: v, x)  # MARK_COND
        return jax.checkpoint(lambda v: inner(v) + 1)(y)

    with pytest.raises(RuntimeError) as info:  # branch taken: log of a negative entry
        debug_nan(nested, jnp.array([1.0, -1.0]))
    assert "Introduced by primitive : `log`" in _report(info)
    assert _line_of("MARK_COND") in _report(info)
    with pytest.raises(RuntimeError) as info:  # log is fine, sqrt inside jit inside checkpoint is not
        debug_nan(nested, jnp.array([1.0, 2.0]))
    assert "Introduced by primitive : `sqrt`" in _report(info)
    assert _line_of("MARK_INNER") in _report(info)


def test_reads_states_but_never_writes_them():
    offset = bss.State(jnp.array([-4.0, 1.0]), name="offset")
    count = bss.State(jnp.array(0), name="count")

    def f(x):
        count.value = count.value + 1
        return jnp.sqrt(x + offset.value)  # MARK_STATE

    with pytest.raises(RuntimeError) as info:
        debug_nan(f, jnp.array([1.0, 1.0]))
    assert "Introduced by primitive : `sqrt`" in _report(info)
    assert _line_of("MARK_STATE") in _report(info)
    assert int(count.value) == 0
    np.testing.assert_array_equal(offset.value, [-4.0, 1.0])


def test_operation_outside_user_code_points_at_the_debug_nan_call():
    with pytest.raises(RuntimeError) as info:
        debug_nan(jnp.sqrt, jnp.array([-1.0]))  # MARK_CALL
    assert "Introduced by primitive : `sqrt`" in _report(info)
    assert re.search(
        r"Source location : unknown \(.*debug_nan was called at " + re.escape(_line_of("MARK_CALL")),
        _report(info),
    )


# ------------------------------------------------------------------------------------------- compiled
def test_under_jit_raises_runtime_error_with_the_same_report():
    hidden = bss.State(jnp.zeros(2), name="hidden")

    @jit
    def step(x):
        hidden.value = hidden.value + x
        debug_nan(log_twice, hidden.value, phase="step")
        return hidden.value

    np.testing.assert_array_equal(step(jnp.array([1.0, 1.0])), [1.0, 1.0])
    with pytest.raises(jax.errors.JaxRuntimeError) as info:
        step(jnp.array([-3.0, 0.0]))
    text = _report(info)
    assert "RuntimeError: NaN/Inf detected [step] in the output of the checked function!" in text
    assert "Introduced by primitive : `log`" in text
    assert _line_of("MARK_LOG") in text
    assert "output: shape=(2,), dtype=float32, NaN=1, Inf=0" in text
    np.testing.assert_array_equal(hidden.value, [1.0, 1.0])  # the failed call committed nothing


def test_under_jax_jit_and_vmap_names_the_lane():
    f = jax_jit(lambda x: debug_nan(sqrt_dict, x))
    f(jnp.array([1.0, 2.0]))
    with pytest.raises(jax.errors.JaxRuntimeError, match="Introduced by primitive : `sqrt`"):
        f(jnp.array([-2.0, 2.0]))
    g = jax.vmap(lambda x: debug_nan(log_twice, x))
    g(jnp.array([1.0, 2.0]))
    with pytest.raises(jax.errors.JaxRuntimeError) as info:
        g(jnp.array([1.0, -2.0]))
    text = _report(info)
    assert "(in vmap lane 1)" in text
    assert "Introduced by primitive : `log`" in text and _line_of("MARK_LOG") in text


def test_inside_grad_the_check_neither_breaks_nor_changes_the_gradient():
    def loss(x):
        debug_nan(log_twice, x, phase="loss")
        return jnp.sum(x**2)

    np.testing.assert_allclose(jax.grad(loss)(jnp.array([1.0, 2.0])), [2.0, 4.0])
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"NaN/Inf detected \[loss\]"):
        jax_jit(jax.grad(loss))(jnp.array([1.0, -2.0]))


def test_jaxpr_of_a_compiled_check_is_a_cond_on_the_nan_flag():
    jaxpr, _ = make_jaxpr(lambda x: debug_nan(log_twice, x))(jnp.ones(2))
    names = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert "log" in names and names[-1] == "custom_vmap_call"
    # The custom_vmap wrapper (which re-creates the check at batched shapes under vmap) holds the cond.
    inner = jaxpr.jaxpr.eqns[-1].params["call"].jaxpr.eqns
    assert inner[-1].primitive.name == "cond"
    branch_names = [[e.primitive.name for e in b.jaxpr.eqns] for b in inner[-1].params["branches"]]
    assert sorted(branch_names) == [[], ["debug_callback"]]


def test_debug_nan_if_only_analyses_when_flagged():
    calls = []

    def traced_fn(x):
        calls.append(1)
        return jnp.log(x)

    debug_nan_if(False, traced_fn, jnp.array([-1.0]))
    debug_nan_if(jnp.array([False, False]), traced_fn, jnp.array([-1.0]))
    assert calls == []  # not even traced
    with pytest.raises(RuntimeError, match="Introduced by primitive : `log`"):
        debug_nan_if(jnp.array([False, True]), traced_fn, jnp.array([-1.0]))
    debug_nan_if(True, traced_fn, jnp.array([1.0]))  # flagged but clean: nothing to report

    def step(x):
        out = jnp.log(x)
        debug_nan_if(jnp.any(jnp.isnan(out)), log_twice, x, phase="grad")
        return out

    compiled = jax_jit(step)
    compiled(jnp.array([2.0]))
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"NaN/Inf detected \[grad\]"):
        compiled(jnp.array([-2.0]))
    jaxpr, _ = make_jaxpr(step)(jnp.ones(1))
    (check,) = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "custom_vmap_call"]
    (cond,) = [e for e in check.params["call"].jaxpr.eqns if e.primitive.name == "cond"]
    # the checked function is replayed on the host: its ops are not in the compiled branches
    assert all("log" not in str(branch) for branch in cond.params["branches"])


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: debug_nan(3, jnp.ones(1)), TypeError, "fn must be callable, got int"),
        (lambda: debug_nan(jnp.log, jnp.ones(1), phase=1), TypeError, "phase must be a str, got int"),
        (lambda: debug_nan(jnp.log, "x"), TypeError, "not a valid JAX type"),
        (lambda: debug_nan_if("yes", jnp.log, jnp.ones(1)), TypeError, "has_nan must be a boolean array"),
        (lambda: debug_nan_if(True, jnp.log, jnp.ones(1), phase=None), TypeError, "phase must be a str"),
        (lambda: breakpoint_if(None), TypeError, "pred must be a boolean array or scalar, got None"),
    ],
)
def test_rejected_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_state_argument_rejected_and_unchanged():
    s = bss.State(jnp.array([-1.0]), name="s")
    with pytest.raises(ValueError, match="Inputs of brainstate transformations cannot be States"):
        debug_nan(jnp.log, s)
    np.testing.assert_array_equal(s.value, [-1.0])


# ------------------------------------------------------------------------------------------- breakpoint_if
@pytest.fixture
def recorded_breaks(monkeypatch):
    hits: list[dict] = []

    def fake_breakpoint(**kwargs):
        # Like the real one, a host callback that runs only when the branch executes.
        jax.debug.callback(lambda: hits.append(kwargs), ordered=True)

    monkeypatch.setattr(jax.debug, "breakpoint", fake_breakpoint)
    return hits


def test_breakpoint_if_compiles_and_triggers_only_when_true(recorded_breaks):
    def step(x):
        breakpoint_if(jnp.any(x < 0), num_frames=2)
        return x + 1

    compiled = jax_jit(step)
    np.testing.assert_array_equal(compiled(jnp.zeros(2)), [1.0, 1.0])
    assert recorded_breaks == []
    compiled(jnp.array([0.0, -1.0]))
    assert recorded_breaks == [{"num_frames": 2}]
    jax.vmap(step)(jnp.array([1.0, -1.0]))  # any lane
    assert len(recorded_breaks) == 2
    breakpoint_if(False)
    breakpoint_if(jnp.array([True, False]), backend="cli")  # eager, concrete
    assert recorded_breaks[-1] == {"backend": "cli"} and len(recorded_breaks) == 3
    jaxpr, _ = make_jaxpr(step)(jnp.ones(2))
    assert "cond" in [e.primitive.name for e in jaxpr.jaxpr.eqns]


# jax.debug.breakpoint itself (JAX 0.10) flattens a generator while staging its frames: not our warning.
@pytest.mark.filterwarnings("ignore:Python iterable type 'generator':DeprecationWarning")
def test_breakpoint_if_with_the_real_breakpoint_compiles_when_false():
    compiled = jax_jit(lambda x: (breakpoint_if(x > 10), x * 2)[1])
    np.testing.assert_array_equal(compiled(jnp.array(1.0)), 2.0)
