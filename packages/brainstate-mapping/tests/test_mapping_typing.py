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

    from brainstate_mapping import StatefulMapping, pmap2, vmap, vmap2
    from brainstate_mapping import map as bmap


    def scale(x: jax.Array, n: int) -> jax.Array:
        return x * n


    def pair(x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return x, x * 2


    xs = jnp.ones((4, 3))
    reveal_type(vmap(scale, in_axes=(0, None)))  # R: def (x: Array, n: int) -> Array
    reveal_type(vmap(scale, in_axes=(0, None))(xs, 2))  # R: Array
    reveal_type(vmap(in_axes=(0, None))(scale))  # R: def (x: Array, n: int) -> Array
    reveal_type(vmap(in_states=None)(pair)(xs))  # R: tuple[Array, Array]
    reveal_type(vmap2(scale, in_axes=(0, None)))  # R: StatefulMapping[[x: Array, n: int], Array]
    reveal_type(vmap2(scale, in_axes=(0, None))(xs, 2))  # R: Array
    reveal_type(vmap2(axis_size=4)(pair))  # R: StatefulMapping[[x: Array], tuple[Array, Array]]
    reveal_type(StatefulMapping(pair))  # R: StatefulMapping[[x: Array], tuple[Array, Array]]
    reveal_type(pmap2(pair, "d"))  # R: StatefulMapping[[x: Array], tuple[Array, Array]]
    reveal_type(pmap2(axis_name="d")(pair)(xs))  # R: tuple[Array, Array]
    reveal_type(bmap(pair, xs, batch_size=2))  # R: tuple[Array, Array]
    vmap(scale)(xs, "two")  # E
    vmap(scale)(xs)  # E
    vmap2(pair)(xs, xs)  # E
    pmap2(axis_name="d")(scale)(xs)  # E
    vmap(scale, in_axes=0, axis_size="4")  # E
    vmap2(pair, unexpected_out_state_mapping="sometimes")  # E
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
