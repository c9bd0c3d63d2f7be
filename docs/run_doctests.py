"""Run the docstring examples of every package as doctests (``pytest --doctest-modules`` over each ``src/``).

Usage::

    python docs/run_doctests.py                 # every package
    python docs/run_doctests.py state ir jit    # some packages (short names)
    python docs/run_doctests.py -- -x -q        # extra pytest options after ``--``

Each example runs in a fresh namespace, as if pasted alone into a new Python prompt: it sees only what it
imports itself, not the globals of the module it documents (pytest's default). This module is also the
pytest plugin that arranges this (``-p run_doctests``).

With ``BRAINSTATE_DOCTEST_JUNIT_DIR`` set, each package's run writes a JUnit report
``docs-doctests-<package>.xml`` there.

Modules that need an optional extra which is not installed (e.g. ``brainunit`` for
``brainstate-autodiff[units]``) are skipped with a note. Each package runs in its own pytest process, so
one failing package does not hide the others; the exit status is non-zero when any package failed.
``nox -s docs`` calls this after building the HTML.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["state", "ir", "jit", "autodiff", "control", "mapping", "brainstate"]
# Optional third-party modules -> the extra that installs them.
OPTIONAL = {
    "brainunit": "brainstate-autodiff[units]",
    "tqdm": "brainstate-control[progress]",
    "pydot": "brainstate-ir[draw]",
    "matplotlib": "matplotlib",
    "graphviz": "graphviz",
}
DOCTEST_FLAGS = "NORMALIZE_WHITESPACE ELLIPSIS"


def pytest_collection_modifyitems(items: list[object]) -> None:
    """pytest hook: every doctest starts from an empty namespace instead of its module's globals."""
    for item in items:
        dtest = getattr(item, "dtest", None)
        if dtest is not None:
            dtest.globs = {"__name__": "__main__"}


def src_dir(short: str) -> Path:
    dist = "brainstate" if short == "brainstate" else f"brainstate-{short}"
    return ROOT / "packages" / dist / "src"


def missing_extras(path: Path, absent: set[str]) -> list[str]:
    """The absent optional modules that importing ``path`` or running its examples needs.

    That is a module-level import, or an import in a docstring example (``>>> import tqdm``). Lazy imports
    inside functions do not count: the module works without the extra, and so must its examples.
    """
    text = path.read_text(encoding="utf-8")
    found = []
    for name in sorted(absent):
        pattern = rf"^(?:|\s*>>>\s*)(?:import|from)\s+{name}\b"
        if re.search(pattern, text, re.M):
            found.append(name)
    return found


def run_package(short: str, extra_args: list[str]) -> int:
    src = src_dir(short)
    if not src.is_dir():
        print(f"[{short}] {src} does not exist: skipped")
        return 0
    absent = {name for name in OPTIONAL if importlib.util.find_spec(name) is None}
    ignores = []
    for path in sorted(src.rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(src).parts):
            continue
        needs = missing_extras(path, absent)
        if needs:
            extras = ", ".join(f"{n} ({OPTIONAL[n]})" for n in needs)
            print(f"[{short}] skipping {path.relative_to(ROOT)}: needs {extras}")
            ignores += ["--ignore", str(path)]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--doctest-modules",
        str(src),
        "-o",
        f"doctest_optionflags={DOCTEST_FLAGS}",
        "-p",
        "no:cacheprovider",
        "-p",
        "run_doctests",
        "-q",
        "--rootdir",
        str(ROOT),
        *ignores,
        *extra_args,
    ]
    junit_dir = os.environ.get("BRAINSTATE_DOCTEST_JUNIT_DIR")
    if junit_dir:  # one JUnit report per package (CI sums them into its final count)
        cmd.append(f"--junitxml={Path(junit_dir) / f'docs-doctests-{short}.xml'}")
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    # This file is the plugin that gives every example a fresh namespace.
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parent), env.get("PYTHONPATH")])
    )
    print(f"[{short}] {' '.join(cmd)}", flush=True)
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code == 5:  # pytest: no tests collected (a package without docstring examples)
        print(f"[{short}] no docstring examples")
        return 0
    return code


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    selected = argv or PACKAGES
    unknown = [p for p in selected if p not in PACKAGES]
    if unknown:
        print(f"unknown package(s) {unknown}; choose from {PACKAGES}", file=sys.stderr)
        return 2
    failed = [p for p in selected if run_package(p, extra) != 0]
    if failed:
        print(f"doctests FAILED in: {', '.join(failed)}")
        return 1
    print(f"doctests passed in: {', '.join(selected)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
