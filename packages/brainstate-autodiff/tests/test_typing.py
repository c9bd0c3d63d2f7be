"""Static types of the public transforms, checked the way users see them: ``mypy --strict`` on a snippet.

Each ``# R: <type>`` comment is the type mypy must reveal for the ``reveal_type`` on that line; each
``# E`` comment marks a line mypy must reject. No other line may produce an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

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


def _expectations(kind: str) -> dict[int, str]:
    pattern = re.compile(r"#\s*R:\s*(.+)$" if kind == "R" else r"#\s*E\s*$")
    found = {}
    for number, line in enumerate(SNIPPET.splitlines(), start=1):
        match = pattern.search(line)
        if match:
            found[number] = match.group(1).strip() if kind == "R" else ""
    return found


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Run ``mypy --strict`` once on the snippet: ``({line: revealed type}, {line: [error messages]})``."""
    folder = tmp_path_factory.mktemp("typing")
    path = folder / "user_code.py"
    path.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            f"--cache-dir={os.devnull}",
            "--hide-error-context",
            "--no-error-summary",
            "--show-absolute-path",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=600,
    )
    assert "Traceback" not in result.stderr, result.stderr
    revealed: dict[int, str] = {}
    errors: dict[int, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(rf"{re.escape(str(path))}:(\d+): (note|error): (.*)$", line)
        if match is None:
            continue
        number, level, message = int(match.group(1)), match.group(2), match.group(3)
        if level == "note" and message.startswith("Revealed type is "):
            revealed[number] = message[len('Revealed type is "') : -1]
        elif level == "error":
            errors.setdefault(number, []).append(message)
    return revealed, errors


def _short(type_text: str) -> str:
    """``jax._src.basearray.Array`` -> ``Array``, ``builtins.int`` -> ``int``: module prefixes dropped."""
    return re.sub(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+([A-Za-z_][A-Za-z0-9_]*)", r"\1", type_text)


def test_revealed_types_are_precise(mypy_report: tuple[dict[int, str], dict[int, list[str]]]) -> None:
    revealed, _ = mypy_report
    expected = _expectations("R")
    assert expected, "the snippet has no expectations"
    wrong = {
        n: (want, _short(revealed.get(n, "<nothing revealed>")))
        for n, want in expected.items()
        if _short(revealed.get(n, "<nothing revealed>")) != want
    }
    assert not wrong, "\n".join(
        f"line {n}: expected {w!r}, mypy revealed {g!r}" for n, (w, g) in wrong.items()
    )


def test_wrong_calls_are_rejected(mypy_report: tuple[dict[int, str], dict[int, list[str]]]) -> None:
    _, errors = mypy_report
    expected = set(_expectations("E"))
    assert expected, "the snippet has no rejected calls"
    missed = sorted(expected - set(errors))
    assert not missed, f"mypy accepted the wrong calls on lines {missed}"


def test_user_code_has_no_other_error(mypy_report: tuple[dict[int, str], dict[int, list[str]]]) -> None:
    _, errors = mypy_report
    unexpected = {n: m for n, m in errors.items() if n not in _expectations("E")}
    assert not unexpected, unexpected
