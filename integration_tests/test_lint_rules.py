"""The lint session's ban on JAX internals bites: outside the two compat modules, importing or reaching
``jax._src``, ``jax.interpreters`` or a deprecated ``jax.core`` name fails ``ruff check``.

Each test writes probe files into a temporary tree that has the repository's own ``pyproject.toml`` and
runs ruff there. Skipped where ruff is not installed (the ``lint`` and ``integration`` nox sessions
install it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IR_COMPAT = "packages/brainstate-ir/src/brainstate_ir/compat.py"
STATE_COMPAT = "packages/brainstate-state/src/brainstate_state/_jax_compat.py"
PROBE = "packages/brainstate-jit/src/brainstate_jit/_probe.py"

PRIVATE_USES = """\
import jax
from jax._src import config
from jax._src.core import trace_ctx
from jax.interpreters import batching
import jax.interpreters.ad
from jax.core import get_aval

current = jax.core.trace_ctx
"""
# Lines of PRIVATE_USES that must be reported (1-based).
PRIVATE_LINES = [2, 3, 4, 5, 6, 8]

PUBLIC_USES = """\
import jax
import jax.extend.core
from jax.core import Tracer, eval_jaxpr


def concrete(x: object) -> bool:
    return not isinstance(x, (Tracer, jax.core.Tracer))


evaluate = (eval_jaxpr, jax.core.eval_jaxpr, jax.extend.core.ClosedJaxpr, jax.core.ShapedArray)
"""


def _ruff() -> str:
    exe = Path(sys.executable).parent / "ruff"
    found = str(exe) if exe.exists() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed in this environment")
    return found


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path


def _banned(root: Path, *paths: str) -> list[tuple[str, int]]:
    """``(path, line)`` of every banned-api diagnostic ruff reports for ``paths`` under ``root``."""
    result = subprocess.run(
        [_ruff(), "check", "--no-cache", "--output-format", "concise", *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    found = []
    for line in result.stdout.splitlines():
        if " TID251 " in line:
            path, lineno = line.split(":")[:2]
            found.append((path, int(lineno)))
    return found


def test_private_jax_use_outside_the_compat_modules_fails(tmp_path: Path) -> None:
    root = _tree(tmp_path, {PROBE: PRIVATE_USES, "integration_tests/test_probe.py": PRIVATE_USES})
    found = _banned(root, "packages", "integration_tests")
    assert sorted(found) == sorted(
        [(PROBE, n) for n in PRIVATE_LINES] + [("integration_tests/test_probe.py", n) for n in PRIVATE_LINES]
    )


def test_the_compat_modules_may_use_jax_internals(tmp_path: Path) -> None:
    root = _tree(tmp_path, {IR_COMPAT: PRIVATE_USES, STATE_COMPAT: PRIVATE_USES})
    assert _banned(root, IR_COMPAT, STATE_COMPAT) == []


def test_public_jax_core_names_are_allowed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {PROBE: PUBLIC_USES})
    assert _banned(root, PROBE) == []


def test_repository_has_no_private_jax_use_outside_the_compat_modules() -> None:
    assert _banned(ROOT, "packages", "integration_tests", "benchmarks", "scripts", "noxfile.py") == []
