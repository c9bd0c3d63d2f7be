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

    import brainstate_state as bss
    from brainstate_autodiff import GradientTransform, grad, hessian, jacfwd, jacobian, jacrev, vector_grad


    def loss(w: jax.Array, x: jax.Array) -> jax.Array:
        return jnp.sum(w * x)


    def loss_aux(w: jax.Array, x: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        return jnp.sum(w * x), {"wx": w * x}


    w, x = jnp.ones(3), jnp.ones(3)
    p = bss.ParamState(jnp.ones(3))
    flag: bool = bool(x[0] > 0)
    reveal_type(grad(loss))  # R: GradientTransform[[w: Array, x: Array], Any]
    reveal_type(grad(loss, p)(w, x))  # R: Any
    reveal_type(grad(loss, argnums=0, return_value=True)(w, x))  # R: tuple[Any, Array]
    reveal_type(grad(loss_aux, has_aux=True)(w, x))  # R: tuple[Any, dict[str, Array]]
    reveal_type(grad(loss_aux, p, has_aux=True, return_value=True)(w, x))  # R: tuple[Any, Array, dict[str, Array]]
    reveal_type(grad(loss, has_aux=flag))  # R: GradientTransform[[w: Array, x: Array], Any]
    reveal_type(grad(argnums=0)(loss))  # R: GradientTransform[[w: Array, x: Array], Any]
    reveal_type(grad(grad_states=p, return_value=True)(loss)(w, x))  # R: tuple[Any, Array]
    reveal_type(grad(has_aux=True)(loss_aux)(w, x))  # R: tuple[Any, dict[str, Array]]
    reveal_type(vector_grad(loss))  # R: GradientTransform[[w: Array, x: Array], Any]
    reveal_type(vector_grad(loss, return_value=True)(w, x))  # R: tuple[Any, Array]
    reveal_type(vector_grad(has_aux=True, return_value=True)(loss_aux)(w, x))  # R: tuple[Any, Array, dict[str, Array]]
    reveal_type(jacrev(loss, argnums=0))  # R: JacobianTransform[[w: Array, x: Array], Any]
    reveal_type(jacobian(loss_aux, has_aux=True)(w, x))  # R: tuple[Any, dict[str, Array]]
    reveal_type(jacfwd(loss, return_value=True)(w, x))  # R: tuple[Any, Array]
    reveal_type(hessian(loss, argnums=0))  # R: HessianTransform[[w: Array, x: Array], Any]
    reveal_type(hessian(loss_aux, has_aux=True, return_value=True)(w, x))  # R: tuple[Any, Array, dict[str, Array]]
    reveal_type(GradientTransform(loss, jax.grad, argnums=0))  # R: GradientTransform[[w: Array, x: Array], Any]
    reveal_type(GradientTransform(loss, jax.grad, argnums=0)(w, x))  # R: Any
    grad(loss)(w)  # E
    grad(loss)(w, "x")  # E
    grad(loss, argnums="0")  # E
    grad(loss, debug_nans=True)  # E
    vector_grad(loss, p)(w, x, x)  # E
    jacrev(loss, argnums=0)(w, x, x)  # E
    hessian(loss, return_value="yes")  # E
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
