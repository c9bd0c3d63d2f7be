"""Errors speak of the user's functions, their source lines and output paths, not of library internals."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest

import brainstate_state as bss
from brainstate_control import bounded_while_loop, cond, ifelse, switch, while_loop

_STATE = bss.State(jnp.zeros(()), name="counter")


def true_branch(x):
    _STATE.value = _STATE.value + 1.0
    return x, x


def false_branch(x):
    return x, jnp.zeros(3)


def dict_branch(x):
    return x, {"a": x}


def int_branch(x):
    return x, x.astype(jnp.int32)


def _line(fun) -> str:
    return f"{fun.__code__.co_filename}:{fun.__code__.co_firstlineno}"


def _check_names_user_code(message: str, *funs) -> None:
    assert "_conditionals.py" not in message and "brainstate_control" not in message
    for fun in funs:
        assert fun.__name__ in message
        assert _line(fun) in message


@pytest.mark.parametrize("jit", [False, True])
def test_cond_shape_mismatch_names_functions_lines_and_path(jit):
    _STATE.value = jnp.zeros(())

    def call():
        return cond(True, true_branch, false_branch, 1.0)

    with pytest.raises(TypeError) as info:
        jax.jit(call)() if jit else call()
    message = str(info.value)
    _check_names_user_code(message, true_branch, false_branch)
    assert "true_fun" in message and "false_fun" in message
    assert "[1]" in message and "float32[3]" in message and "float32[]" in message
    assert float(_STATE.value) == 0.0  # nothing was written


def test_cond_dtype_mismatch_names_the_dtypes():
    with pytest.raises(TypeError) as info:
        cond(False, false_branch, int_branch, jnp.zeros(3))
    message = str(info.value)
    _check_names_user_code(message, false_branch, int_branch)
    assert "int32" in message and "float32" in message and "[1]" in message


def test_switch_structure_mismatch_names_branches_and_structures():
    with pytest.raises(TypeError) as info:
        switch(0, [true_branch, dict_branch], 1.0)
    message = str(info.value)
    _check_names_user_code(message, true_branch, dict_branch)
    assert "branches[0]" in message and "branches[1]" in message
    assert re.search(r"'a'", message)


def test_ifelse_mismatch_names_lambdas_by_line():
    def make():
        return ifelse([True, False], [lambda: 1.0, lambda: jnp.ones(2)])

    with pytest.raises(TypeError) as info:
        make()
    message = str(info.value)
    assert "<lambda>" in message and __file__ in message and "_conditionals.py" not in message


def test_reverse_mode_through_while_loop_points_to_bounded_while_loop():
    def loss(x):
        return while_loop(lambda t: t < 10.0, lambda t: t * 2.0, x)

    for differentiate in (jax.grad(loss), jax.grad(jax.jit(loss)), jax.jit(jax.grad(loss))):
        with pytest.raises(ValueError, match="bounded_while_loop") as info:
            differentiate(1.0)
        assert "max_steps" in str(info.value)
    # forward mode still works, and bounded_while_loop differentiates
    primal, tangent = jax.jvp(loss, (1.5,), (1.0,))
    assert float(primal) == 12.0 and float(tangent) == 8.0
    grad = jax.grad(lambda x: bounded_while_loop(lambda t: t < 10.0, lambda t: t * 2.0, x, max_steps=8))
    assert float(grad(1.5)) == 8.0


def test_reverse_mode_through_a_state_written_by_while_loop():
    from brainstate_ir import StatefulFunction

    acc = bss.State(jnp.zeros(()), name="acc")

    def run(x):
        def body(t):
            acc.value = acc.value + t * x
            return t + 1

        while_loop(lambda t: t < 3, body, 0)

    pure = StatefulFunction(run)

    def loss(x):  # the state threaded by hand: only the State written by the loop depends on x
        (new_acc,), _ = pure.jaxpr_call([jnp.zeros(())], x)
        return new_acc

    with pytest.raises(ValueError, match="bounded_while_loop") as info:
        jax.grad(loss)(2.0)
    assert "body" in str(info.value) and __file__ in str(info.value)
    assert float(jax.jvp(loss, (2.0,), (1.0,))[1]) == 3.0
    assert float(acc.value) == 0.0
