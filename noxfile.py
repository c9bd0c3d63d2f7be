"""Sessions for the brainstate monorepo (``python3 -m nox -l`` lists them).

Every session gets a fresh virtual environment made by uv, so a cold session takes seconds.
The in-repo dependency closure of each package is read from ``packages/*/pyproject.toml`` (the single
source of truth); ``integration_tests/test_versions.py`` checks that they agree
(one version, exact pins between the distributions).

    tests-cpu(package=...)  one package alone (+ its in-repo closure, CPU jax), its own tests
    tests-gpu(package=...)  the same against jax[cuda12]; skipped without an NVIDIA GPU; not default
    integration             everything installed (with extras), integration_tests/
    lint                    ruff check, ruff format --check, lint-imports, deptry per package
    typecheck               mypy --strict on every package's src
    build                   wheels + sdists of all seven; each installed alone from the wheels
    jax-floor               every package's tests against the lowest declared jax
    docs / demo / bench     Sphinx docs, ``python -m brainstate.demo``, ``benchmarks/run_all.py``
    docs-check              every built page in headless Chromium at 1280 px (on demand, after docs)
    oracle                  brainstate 0.5.4 (own venv) as a black-box oracle: random streams, programs
    ci                      what CI runs; fails when any of its sessions fails
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from functools import cache
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent
PACKAGES_DIR = ROOT / "packages"

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.error_on_external_run = True
nox.options.reuse_existing_virtualenvs = False

# Sessions are hermetic: a PYTHONPATH from the caller's shell would leak other packages into them.
os.environ.pop("PYTHONPATH", None)

# Short names, in dependency order; "brainstate" is the metapackage.
PACKAGES = ["state", "ir", "jit", "autodiff", "control", "mapping", "brainstate"]
TEST_DEPS = ["pytest>=8", "hypothesis>=6", "mypy>=1.10"]  # mypy: the typing tests of user snippets
ALL_EXTRAS = {"brainstate": "all"}  # progress (tqdm), draw (pydot), units (brainunit)
# The sessions `ci` runs (and plain `nox` runs). tests-gpu, demo and bench are on demand.
CI_SESSIONS = [
    *(f"tests-cpu(package='{p}')" for p in PACKAGES),
    "integration",
    "distributed",
    "lint",
    "typecheck",
    "build",
    "jax-floor",
]
nox.options.sessions = [*CI_SESSIONS]

# Sessions run on the interpreter that runs nox (the machines have one python3; requires-python >= 3.11).
PYTHON = None


def dist_name(short: str) -> str:
    return "brainstate" if short == "brainstate" else f"brainstate-{short}"


def module_name(short: str) -> str:
    return dist_name(short).replace("-", "_")


def package_dir(short: str) -> Path:
    return PACKAGES_DIR / dist_name(short)


@cache
def pyproject(short: str) -> dict:
    with open(package_dir(short) / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


IN_REPO = {canonicalize_name(dist_name(p)): p for p in PACKAGES}


def version() -> str:
    return pyproject("state")["project"]["version"]


def direct_in_repo_deps(short: str) -> list[str]:
    """Short names of the in-repo packages ``short`` depends on (base dependencies only)."""
    out = []
    for raw in pyproject(short)["project"].get("dependencies", []):
        name = canonicalize_name(Requirement(raw).name)
        if name in IN_REPO:
            out.append(IN_REPO[name])
    return out


def closure(short: str) -> list[str]:
    """``short`` and every in-repo package it needs, transitively, in dependency order."""
    seen: set[str] = set()
    stack = [short]
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(direct_in_repo_deps(p))
    return [p for p in PACKAGES if p in seen]


def external_deps(short: str) -> list[str]:
    """The non-brainstate base requirements of ``short``'s closure (e.g. ``jax>=0.10``)."""
    reqs: list[str] = []
    for p in closure(short):
        for raw in pyproject(p)["project"].get("dependencies", []):
            if canonicalize_name(Requirement(raw).name) not in IN_REPO and raw not in reqs:
                reqs.append(raw)
    return reqs


def own_extras(short: str) -> str:
    """The package's optional features (all extras but the GPU one), e.g. "draw" for ir."""
    return ",".join(k for k in pyproject(short)["project"].get("optional-dependencies", {}) if k != "cuda12")


def editable(shorts: list[str], extras: dict[str, str] | None = None) -> list[str]:
    """uv arguments installing ``shorts`` editable (optionally ``{short: "extra1,extra2"}``)."""
    args: list[str] = []
    for p in shorts:
        path = str(package_dir(p))
        if extras and extras.get(p):
            path += f"[{extras[p]}]"
        args += ["-e", path]
    return args


def uv_exe() -> str:
    # The uv nox itself uses (find_uv returns (found, path[, version]) depending on the nox release).
    found, path = nox.virtualenv.find_uv()[:2]
    return str(path) if found else "uv"


JUNIT_DIR = ROOT / ".nox" / "junit"


def junit_args(session: nox.Session, label: str = "") -> list[str]:
    """pytest options that write this run's JUnit report to ``.nox/junit/`` (summed by ``summary``)."""
    JUNIT_DIR.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{session.name}-{label}" if label else session.name).strip("-")
    return [f"--junitxml={JUNIT_DIR / stem}.xml"]


def run_pytest(session: nox.Session, short: str, env: dict[str, str]) -> None:
    tests = package_dir(short) / "tests"
    if not tests.is_dir():
        session.error(f"{tests.relative_to(ROOT)} does not exist: every package must have its own tests")
    # --durations: the slowest tests are listed, to keep `nox -s ci` well inside its time budget.
    session.run(
        "python", "-m", "pytest", str(tests.relative_to(ROOT)), "--durations=10",
        *junit_args(session, short), *session.posargs, env=env,
    )  # fmt: skip


CPU_ENV = {"JAX_PLATFORMS": "cpu"}


# ---------------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------------
@nox.session(name="tests-cpu", python=PYTHON)
@nox.parametrize("package", PACKAGES)
def tests_cpu(session: nox.Session, package: str) -> None:
    """One package alone: only it (with its own extras), its in-repo closure and CPU jax, in one install."""
    session.install(*editable(closure(package), {package: own_extras(package)}), "jax[cpu]>=0.10", *TEST_DEPS)
    session.run("python", "-c", "import jax; print('jax', jax.__version__, jax.devices())", env=CPU_ENV)
    run_pytest(session, package, CPU_ENV)


def nvidia_gpu() -> str | None:
    """Why there is no usable NVIDIA GPU, or None when there is one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "nvidia-smi is not on PATH"
    try:
        r = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"nvidia-smi failed to run: {e}"
    if r.returncode != 0 or "GPU" not in r.stdout:
        return f"nvidia-smi -L lists no GPU (exit {r.returncode}): {(r.stdout + r.stderr).strip()[:200]}"
    return None


@nox.session(name="tests-gpu", python=PYTHON)
@nox.parametrize("package", PACKAGES)
def tests_gpu(session: nox.Session, package: str) -> None:
    """The same as tests-cpu against jax[cuda12]; skipped where no NVIDIA GPU is present."""
    why = nvidia_gpu()
    if why is not None:
        session.skip(f"tests-gpu needs an NVIDIA GPU and driver: {why}; nothing was installed")
    session.install(
        *editable(closure(package), {package: own_extras(package)}), "jax[cuda12]>=0.10", *TEST_DEPS
    )
    env = {"JAX_PLATFORMS": "cuda,cpu"}
    session.run(
        "python",
        "-c",
        "import jax; d = jax.devices(); print('jax', jax.__version__, d); "
        "assert d[0].platform == 'gpu', 'jax did not pick up the GPU'",
        env=env,
    )
    run_pytest(session, package, env)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    """Everything installed (with the optional extras), runs integration_tests/."""
    session.install(
        *editable(PACKAGES, ALL_EXTRAS),
        "jax[cpu]>=0.10",
        *TEST_DEPS,
        "import-linter>=2.1",
        "deptry>=0.20",
        "ruff>=0.6",
    )
    # The multi-process tests have a session of their own (`distributed`).
    session.run(
        "python", "-m", "pytest", "integration_tests", "--ignore=integration_tests/test_distributed.py",
        *junit_args(session), *session.posargs, env=CPU_ENV,
    )  # fmt: skip


@nox.session(python=PYTHON)
def distributed(session: nox.Session) -> None:
    """Multi-process runs on jax.distributed: 2 and 4 local processes (gloo CPU collectives, loopback)."""
    session.install(*editable(PACKAGES, ALL_EXTRAS), "jax[cpu]>=0.10", *TEST_DEPS)
    session.run(
        "python",
        "-m",
        "pytest",
        "integration_tests/test_distributed.py",
        *junit_args(session),
        *session.posargs,
        env=CPU_ENV,
    )


@nox.session(python=PYTHON)
def oracle(session: nox.Session) -> None:
    """brainstate 0.5.4 as a black-box oracle (random streams bit-exact, generated programs); not in ci."""
    session.install(*editable(PACKAGES, ALL_EXTRAS), "jax[cpu]>=0.10", *TEST_DEPS)
    jax_version = session.run("python", "-c", "import jax; print(jax.__version__)", silent=True)
    assert isinstance(jax_version, str)
    venv = Path(session.create_tmp()) / "brainstate-054"
    session.run(uv_exe(), "venv", "--quiet", "--clear", str(venv), external=True)
    oracle_python = venv / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    session.run(
        uv_exe(), "pip", "install", "--quiet", "--python", str(oracle_python),
        "brainstate==0.5.4", f"jax[cpu]=={jax_version.strip()}", external=True,
    )  # fmt: skip
    session.run(
        "python", "-m", "pytest", "integration_tests/oracle", *junit_args(session), *session.posargs,
        env={**CPU_ENV, "BRAINSTATE_ORACLE_PYTHON": str(oracle_python)},
    )  # fmt: skip


@nox.session(name="jax-floor", python=PYTHON)
def jax_floor(session: nox.Session) -> None:
    """Every package's tests against the lowest jax/jaxlib the packages declare."""
    floors = set()
    for p in PACKAGES:
        for raw in pyproject(p)["project"].get("dependencies", []):
            req = Requirement(raw)
            if canonicalize_name(req.name) == "jax":
                floors |= {s.version for s in req.specifier if s.operator in (">=", "==", "~=")}
    if len(floors) != 1:
        session.error(f"the packages declare different jax floors: {sorted(floors)}")
    (floor,) = floors
    parts = (floor.split(".") + ["0", "0"])[:3]
    pin = ".".join(parts)
    session.install(*editable(PACKAGES, ALL_EXTRAS), f"jax=={pin}", f"jaxlib=={pin}", *TEST_DEPS)
    session.run(
        "python",
        "-c",
        f"import jax, jaxlib; print('jax', jax.__version__, 'jaxlib', jaxlib.__version__); "
        f"assert jax.__version__ == {pin!r} and jaxlib.__version__ == {pin!r}",
    )
    failed = []
    for p in PACKAGES:
        try:
            run_pytest(session, p, CPU_ENV)
        except nox.command.CommandFailed:
            failed.append(p)
    if failed:
        session.error(f"tests failed against jax=={pin}: {', '.join(failed)}")


# ---------------------------------------------------------------------------------------------------
# static checks
# ---------------------------------------------------------------------------------------------------
@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check + ruff format --check, import-linter (the DAG), deptry per package.

    Every check runs even when an earlier one fails; the session fails if any did.
    """
    # Extras too, so deptry maps every declared distribution to its import names from metadata.
    session.install(*editable(PACKAGES, ALL_EXTRAS), "ruff>=0.6", "import-linter>=2.1", "deptry>=0.20")
    failed: list[str] = []

    def check(label: str, *args: str) -> None:
        try:
            session.run(*args)
        except nox.command.CommandFailed:
            failed.append(label)

    check("ruff check", "ruff", "check", ".")
    check("ruff format", "ruff", "format", "--check", ".")
    check("import-linter", "lint-imports")
    for p in PACKAGES:
        with session.chdir(package_dir(p)):
            # Reads [tool.deptry] and the declared dependencies from packages/<dist>/pyproject.toml.
            check(f"deptry {dist_name(p)}", "deptry", "src")
    if failed:
        session.error(f"lint failed: {', '.join(failed)}")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's src (settings in the root pyproject.toml)."""
    session.install(*editable(PACKAGES), "mypy>=1.10", "types-tqdm", "jax[cpu]>=0.10")
    session.run("mypy", "--strict", *(f"--package={module_name(p)}" for p in PACKAGES), *session.posargs)


# ---------------------------------------------------------------------------------------------------
# build: wheels and sdists, then each distribution installed alone from the wheels
# ---------------------------------------------------------------------------------------------------
# A smoke check run after installing a single distribution from the built wheels: import it and use it once.
_SMOKE_PRELUDE = "import jax.numpy as jnp, numpy as np, brainstate_state as bst\n"
SMOKE = {
    "state": "s = bst.State(jnp.zeros(2)); s.value = s.value + 1.0; assert float(s.value.sum()) == 2.0",
    "ir": (
        "import brainstate_ir as ir\n"
        "s = bst.State(jnp.zeros(2))\n"
        "def f(x):\n    s.value = s.value + x\n    return s.value.sum()\n"
        "jaxpr, states = ir.make_jaxpr(f)(1.0)[:2]\n"
        "assert any(t is s for t in states), states"
    ),
    "jit": (
        "import brainstate_jit as bj\n"
        "s = bst.State(jnp.zeros(()))\n"
        "def f(x):\n    s.value = s.value + x\n    return s.value * 2\n"
        "g = bj.jit(f); g(1.0); out = g(2.0)\n"
        "assert float(s.value) == 3.0 and float(out) == 6.0, (s.value, out)"
    ),
    "autodiff": (
        "import brainstate_autodiff as bad\n"
        "g = bad.grad(lambda x: jnp.sum(x ** 2), argnums=0)(jnp.arange(3.0))\n"
        "np.testing.assert_allclose(np.asarray(g), [0.0, 2.0, 4.0])"
    ),
    "control": (
        "import brainstate_control as bc\n"
        "s = bst.State(jnp.zeros(()))\n"
        "def body(c, x):\n    s.value = s.value + x\n    return c + x, c\n"
        "c, ys = bc.scan(body, 0.0, jnp.arange(4.0))\n"
        "assert float(c) == 6.0 and float(s.value) == 6.0, (c, s.value)"
    ),
    "mapping": (
        "import brainstate_mapping as bm\n"
        "y = bm.vmap(lambda x: x * 2.0)(jnp.arange(3.0))\n"
        "np.testing.assert_allclose(np.asarray(y), [0.0, 2.0, 4.0])"
    ),
    "brainstate": (
        "import brainstate\n"
        "assert brainstate.State is bst.State\n"
        "assert callable(brainstate.transform.jit) and callable(brainstate.transform.grad)"
    ),
}
SMOKE = {k: _SMOKE_PRELUDE + v for k, v in SMOKE.items()}
LIST_DISTS = "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))"
# What the issue requires explicitly, on top of "the installed set equals the declared closure".
MUST_NOT_PULL = {
    "ir": {"jit", "autodiff", "control", "mapping", "brainstate"},
    "autodiff": {"control", "mapping", "brainstate"},
}


def check_wheel(session: nox.Session, wheel: Path, short: str) -> None:
    mod = module_name(short)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(meta_name).decode()
    for needed in (f"{mod}/__init__.py", f"{mod}/py.typed"):
        if needed not in names:
            session.error(f"{wheel.name} lacks {needed}")
    stray = sorted({n.split("/")[0] for n in names} - {mod, meta_name.split("/")[0]})
    if stray:
        session.error(f"{wheel.name} ships unexpected top-level entries: {stray}")
    pins = set(
        re.findall(r"^Requires-Dist: (brainstate[a-z-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", meta, re.M)
    )
    for name, pinned in pins:
        if pinned != version():
            session.error(f"{wheel.name} pins {name}=={pinned}, expected {version()}")
    session.log(f"{wheel.name}: {mod}/py.typed present, in-repo pins == {version()}")


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build wheels + sdists of all seven, then install each one alone from those wheels and import it."""
    uv = uv_exe()
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir()
    for p in PACKAGES:
        # uv build makes the sdist, then the wheel *from the sdist* (so the sdist must be complete).
        session.run(uv, "build", "--quiet", "--out-dir", str(dist), str(package_dir(p)), external=True)
    v = version()
    for p in PACKAGES:
        stem = module_name(p)
        wheel = dist / f"{stem}-{v}-py3-none-any.whl"
        sdist = dist / f"{stem}-{v}.tar.gz"
        for f in (wheel, sdist):
            if not f.is_file():
                session.error(
                    f"missing build output {f.name} (have: {sorted(x.name for x in dist.iterdir())})"
                )
        check_wheel(session, wheel, p)

    base_python = sys.executable  # the interpreter the sessions use (PYTHON = None)
    for p in PACKAGES:
        venv = tmp / f"venv-{p}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run(uv, "venv", "--quiet", "--python", base_python, str(venv), external=True)
        vpy = str(venv / "bin" / "python")
        # External requirements (jax, numpy) come from the package index ...
        session.run(uv, "pip", "install", "--quiet", "--python", vpy, *external_deps(p), external=True)
        # ... and every brainstate distribution only from the wheels just built (no index at all).
        session.run(
            uv, "pip", "install", "--python", vpy, "--no-index", "--find-links", str(dist),
            f"{dist_name(p)}=={v}", external=True,
        )  # fmt: skip
        listing = session.run(vpy, "-I", "-c", LIST_DISTS, external=True, silent=True)
        installed = {canonicalize_name(n) for n in json.loads(str(listing).strip().splitlines()[-1])}
        got = [q for q in PACKAGES if canonicalize_name(dist_name(q)) in installed]
        want = closure(p)
        if got != want:
            session.error(f"installing {dist_name(p)} alone pulled {got}, expected exactly {want}")
        bad = MUST_NOT_PULL.get(p, set()) & set(got)
        if bad:
            session.error(f"{dist_name(p)} must not pull {sorted(bad)}")
        session.log(f"{dist_name(p)} alone from wheels -> {got}")
        # Import from outside the repository so nothing but the installed wheel can be found.
        with session.chdir(tmp):
            session.run(vpy, "-I", "-c", SMOKE[p], external=True, env=CPU_ENV)


# ---------------------------------------------------------------------------------------------------
# docs, demo, bench
# ---------------------------------------------------------------------------------------------------
DOCS_HTML = ROOT / ".nox" / "docs" / "tmp" / "html"  # where `docs` writes the site and `docs-check` reads it


def build_paths_in_html(html: Path) -> list[str]:
    """Pages that show a path of the build machine (the checkout, or an absolute path in /tmp)."""
    # "/tmp/" only where an absolute path starts (not ".nox/build/tmp/dist", a path relative to a clone).
    pattern = re.compile(rf"{re.escape(str(ROOT))}/|(?<![\w.])/tmp/")
    found = []
    for page in sorted(html.rglob("*.html")):
        hits = sorted(set(pattern.findall(page.read_text(encoding="utf-8", errors="replace"))))
        if hits:
            found.append(f"{page.relative_to(html)} contains {', '.join(hits)}")
    return found


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation in docs/ (notebooks executed, warnings are errors) and run the doctests.

    Fails when a page shows a path of the build machine. The site is written to ``.nox/docs/tmp/html``.
    """
    if not (ROOT / "docs" / "conf.py").is_file():
        session.skip("docs/conf.py does not exist yet: nothing to build")
    reqs = ROOT / "docs" / "requirements.txt"
    # docs/requirements.txt, when present, says what the docs need; otherwise Sphinx + MyST-NB (docs/conf.py).
    extra = ["-r", str(reqs)] if reqs.is_file() else ["sphinx>=7", "myst-nb>=1.0", "ipykernel"]
    session.install(*editable(PACKAGES, ALL_EXTRAS), "jax[cpu]>=0.10", *extra)
    out = Path(session.create_tmp()) / "html"
    JUNIT_DIR.mkdir(parents=True, exist_ok=True)
    session.run(
        "python", "docs/run_doctests.py", env={**CPU_ENV, "BRAINSTATE_DOCTEST_JUNIT_DIR": str(JUNIT_DIR)}
    )
    shutil.rmtree(out, ignore_errors=True)  # no page of an earlier build survives
    session.run(
        "sphinx-build", "-W", "--keep-going", "-j", "auto", "-b", "html", "docs", str(out), *session.posargs,
        env=CPU_ENV,
    )  # fmt: skip
    leaks = build_paths_in_html(out)
    if leaks:
        session.error("pages show build paths:\n  " + "\n  ".join(leaks))
    session.log(f"HTML docs in {out}")


@nox.session(name="docs-check", python=PYTHON)
def docs_check(session: nox.Session) -> None:
    """Open every page built by ``nox -s docs`` in headless Chromium at 1280 px (on demand, not in ``ci``).

    Checks that no table or code block overflows the viewport or is cut off, that the page does not scroll
    sideways, and that every code block has a copy button (``docs/check_pages.py``). Installs Chromium with
    apt-get when it is missing (needs root); run ``python3 -m nox -s docs docs-check`` for a fresh build.
    """
    if not (DOCS_HTML / "index.html").is_file():
        session.error(f"{DOCS_HTML.relative_to(ROOT)} has no index.html: run `python3 -m nox -s docs` first")
    if not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")):
        if shutil.which("apt-get") is None:
            session.error("Chromium is not installed and apt-get is not available: install Chromium first")
        session.run("apt-get", "update", "-q", external=True)
        session.run("apt-get", "install", "-y", "-q", "chromium", external=True)
    # The Playwright package drives the system Chromium; it downloads no browser of its own.
    session.install("playwright>=1.40")
    session.run("python", "docs/check_pages.py", str(DOCS_HTML), *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Run the demo: ``python -m brainstate.demo`` with every extra (progress bar, drawing) and matplotlib."""
    session.install(*editable(PACKAGES, {"brainstate": "all"}), "jax[cpu]>=0.10", "matplotlib")
    session.run("python", "-m", "brainstate.demo", *session.posargs, env=CPU_ENV)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks (``benchmarks/run_all.py``; extra arguments after ``--`` are passed on)."""
    script = ROOT / "benchmarks" / "run_all.py"
    if not script.is_file():
        session.skip("benchmarks/run_all.py does not exist yet")
    reqs = ROOT / "benchmarks" / "requirements.txt"
    extra = ["-r", str(reqs)] if reqs.is_file() else []
    session.install(*editable(PACKAGES, {"brainstate": "progress"}), "jax[cpu]>=0.10", *extra)
    session.run("python", str(script), *session.posargs, env=CPU_ENV)


# ---------------------------------------------------------------------------------------------------
# ci
# ---------------------------------------------------------------------------------------------------
@nox.session(venv_backend="none")
def ci(session: nox.Session) -> None:
    """What CI runs: every tests-cpu, integration, distributed, lint, typecheck, build, jax-floor, docs, summary.

    The sessions are queued with ``session.notify``; nox runs them all and exits non-zero when any fails.
    """
    sessions = list(CI_SESSIONS)
    if (ROOT / "docs" / "conf.py").is_file():
        sessions.append("docs")
    sessions.append("summary")  # last: one line that sums every pytest run above
    shutil.rmtree(JUNIT_DIR, ignore_errors=True)  # count this pass's reports only
    for name in sessions:
        session.notify(name)
    session.log(f"queued: {', '.join(sessions)}")
    if os.environ.get("CI"):
        session.log(f"python {sys.version.split()[0]}, uv {uv_exe()}")


@nox.session(venv_backend="none")
def summary(session: nox.Session) -> None:
    """Sum the JUnit reports of the pytest runs of this pass: ends with ``N passed, N failed, N skipped``.

    Fails when any test failed or when no pytest run left a report.
    """
    session.run(sys.executable, str(ROOT / "scripts" / "test_summary.py"), str(JUNIT_DIR), external=True)
