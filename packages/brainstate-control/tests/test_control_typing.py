"""Static types of the public transforms, checked the way users see them: ``mypy --strict`` on a snippet.

Each ``# R: <type>`` comment is the type mypy must reveal for the ``reveal_type`` on that line; each
``# E`` comment marks a line mypy must reject. No other line may produce an error.
"""

from __future__ import annotations

import textwrap

import pytest

from brainstate_state.testing import TypeCheckReport, type_check_snippet

pytest.importorskip("mypy", reason="mypy is not installed")

JAX_LEAK_CHECKS = False  # nothing here traces: the checks only type-check a snippet

SNIPPET = textwrap.dedent(
    """
    from __future__ import annotations

    import jax
    import jax.numpy as jnp

    from brainstate_control import (
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


    def double(x: jax.Array) -> jax.Array:
        return x * 2


    def negate(x: jax.Array) -> jax.Array:
        return -x


    def shift(x: jax.Array, by: float) -> jax.Array:
        return x + by


    def body(i: jax.Array) -> tuple[jax.Array, jax.Array]:
        return i, i * 2


    def step(carry: jax.Array, x: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        return carry + x, {"x": x}


    x = jnp.ones(3)
    xs = jnp.arange(3.0)
    reveal_type(cond(True, double, negate, x))  # R: Array
    reveal_type(cond(x[0] > 0, shift, lambda a, b: a - b, x, 1.0))  # R: Array
    reveal_type(cond(True, lambda a, b: a + b, lambda a, b: a - b, 1, 2))  # R: int
    reveal_type(switch(1, [double, negate], x))  # R: Array
    reveal_type(ifelse([True, False], [double, negate], x))  # R: Array
    reveal_type(ifelse([True, False], [double, negate], x, check_cond=False))  # R: Array
    reveal_type(for_loop(body, xs))  # R: tuple[Array, Array]
    reveal_type(for_loop(lambda i: None, xs))  # R: None
    reveal_type(checkpointed_for_loop(body, xs, base=4))  # R: tuple[Array, Array]
    reveal_type(scan(step, x, xs))  # R: tuple[Array, dict[str, Array]]
    reveal_type(checkpointed_scan(step, x, xs))  # R: tuple[Array, dict[str, Array]]
    reveal_type(while_loop(lambda v: v < 3, lambda v: v + 1, 0))  # R: int
    reveal_type(bounded_while_loop(lambda v: v < 3, lambda v: v + 1, 0, max_steps=5))  # R: int
    cond(True, double, negate, "three")  # E
    cond(True, double, negate)  # E
    cond(True, double, shift, x)  # E
    switch(0, [double, negate], x, x)  # E
    ifelse([True], [shift], x, "one")  # E
    for_loop(body, xs, length="3")  # E
    scan(step, x, xs, reverse=None)  # E
    """
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> TypeCheckReport:
    """``mypy --strict`` run once on the snippet."""
    return type_check_snippet(SNIPPET, tmp_path_factory.mktemp("typing"))


def test_revealed_types_are_precise(report: TypeCheckReport) -> None:
    assert report.expected_types(), "the snippet has no expectations"
    assert report.wrong_types() == {}


def test_wrong_calls_are_rejected(report: TypeCheckReport) -> None:
    assert report.expected_rejections(), "the snippet has no rejected calls"
    assert report.accepted_wrong_calls() == []


def test_user_code_has_no_other_error(report: TypeCheckReport) -> None:
    assert report.unexpected_errors() == {}
