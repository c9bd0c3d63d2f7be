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
