"""The lint session's import checks bite: an import against the DAG breaks `lint-imports`, an undeclared
import breaks `deptry`.

Each test copies the sources to a temporary tree, injects one probe module and runs the tool on the copy
with the repository's own configuration. Skipped where import-linter / deptry are not installed (the
`integration` nox session installs both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODULES = {
    "state": "brainstate_state",
    "ir": "brainstate_ir",
    "jit": "brainstate_jit",
    "autodiff": "brainstate_autodiff",
    "control": "brainstate_control",
    "mapping": "brainstate_mapping",
    "brainstate": "brainstate",
}


def dist_dir(short: str) -> str:
    return "brainstate" if short == "brainstate" else f"brainstate-{short}"


def tool(name: str) -> Path:
    exe = BIN / name
    if not exe.exists():
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed (run `nox -s integration`)")
        exe = Path(found)
    return exe


def copy_tree(tmp: Path) -> Path:
    """The root pyproject.toml plus every package's pyproject.toml and src/ under ``tmp``."""
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    for short in MODULES:
        src = ROOT / "packages" / dist_dir(short)
        dst = tmp / "packages" / dist_dir(short)
        shutil.copytree(src / "src", dst / "src", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(src / "pyproject.toml", dst / "pyproject.toml")
    return tmp


def inject(root: Path, short: str, probe: str, imports: str) -> None:
    mod = MODULES[short]
    (root / "packages" / dist_dir(short) / "src" / mod / f"{probe}.py").write_text(imports + "\n")


def run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The copies shadow the installed (editable) packages.
    env["PYTHONPATH"] = os.pathsep.join(str(root / "packages" / dist_dir(s) / "src") for s in MODULES)
    return subprocess.run(
        [str(tool("lint-imports")), "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("state", "jit"),  # upward
        ("ir", "jit"),  # upward
        ("jit", "control"),  # upward
        ("autodiff", "control"),  # siblings are independent
        ("control", "autodiff"),  # siblings are independent
        ("mapping", "autodiff"),  # mapping does not need autodiff
        ("autodiff", "mapping"),
        ("ir", "brainstate"),  # nothing imports the metapackage
    ],
)
def test_import_against_the_dag_breaks_lint_imports(tmp_path: Path, importer: str, imported: str) -> None:
    root = copy_tree(tmp_path)
    probe = "_layering_probe"
    inject(root, importer, probe, f"import {MODULES[imported]}  # against the DAG")
    out = run_lint_imports(root)
    report = out.stdout + out.stderr
    assert out.returncode != 0, report
    assert f"{MODULES[importer]}.{probe}" in report, report


@pytest.mark.parametrize(
    ("importer", "imported"), [("mapping", "control"), ("autodiff", "jit"), ("ir", "state")]
)
def test_import_along_the_dag_is_not_reported(tmp_path: Path, importer: str, imported: str) -> None:
    root = copy_tree(tmp_path)
    probe = "_layering_probe"
    inject(root, importer, probe, f"import {MODULES[imported]}  # allowed")
    report = run_lint_imports(root)
    assert f"{MODULES[importer]}.{probe}" not in report.stdout + report.stderr


@pytest.mark.parametrize(
    ("importer", "imported"),
    [("state", "brainstate_jit"), ("autodiff", "brainstate_control"), ("ir", "tqdm")],
)
def test_undeclared_import_breaks_deptry(tmp_path: Path, importer: str, imported: str) -> None:
    root = copy_tree(tmp_path)
    inject(root, importer, "_deptry_probe", f"import {imported}  # not declared by this distribution")
    out = subprocess.run(
        [str(tool("deptry")), "src"],
        cwd=root / "packages" / dist_dir(importer),
        capture_output=True,
        text=True,
    )
    report = out.stdout + out.stderr
    assert out.returncode != 0, report
    assert "_deptry_probe.py" in report and imported in report, report
