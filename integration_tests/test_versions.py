"""The seven distributions share one version, pin each other exactly, follow the layer DAG, and carry the
same license (Apache-2.0, the LICENSE file at the repository root) and project URLs.

Reads every ``packages/*/pyproject.toml`` with tomllib; needs nothing installed but ``packaging``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

# The layer DAG, written out: each distribution's direct in-repo dependencies, exactly.
DAG: dict[str, set[str]] = {
    "brainstate-state": set(),
    "brainstate-ir": {"brainstate-state"},
    "brainstate-jit": {"brainstate-ir", "brainstate-state"},
    "brainstate-autodiff": {"brainstate-jit", "brainstate-ir", "brainstate-state"},
    "brainstate-control": {"brainstate-jit", "brainstate-ir", "brainstate-state"},
    "brainstate-mapping": {"brainstate-control", "brainstate-jit", "brainstate-ir", "brainstate-state"},
    "brainstate": {
        "brainstate-state",
        "brainstate-ir",
        "brainstate-jit",
        "brainstate-autodiff",
        "brainstate-control",
        "brainstate-mapping",
    },
}
DIRS = {name: name for name in DAG}  # packages/<dist>/
EXPECTED_EXTRAS: dict[str, dict[str, set[str]]] = {
    "brainstate-ir": {"draw": {"pydot"}},
    "brainstate-autodiff": {"units": {"brainunit"}},
    "brainstate-control": {"progress": {"tqdm"}},
    "brainstate": {
        "progress": {"brainstate-control"},
        "draw": {"brainstate-ir"},
        "units": {"brainstate-autodiff"},
        "all": {"brainstate"},
        "cuda12": {"jax"},
        "cuda13": {"jax"},
    },
}


LICENSE_ID = "Apache-2.0"
REQUIRED_URLS = {"Homepage", "Documentation", "Source", "Issues", "Changelog"}


def load(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((root / "packages").glob("*/pyproject.toml")):
        with open(path, "rb") as f:
            out[path.parent.name] = tomllib.load(f)
    return out


def in_repo(req: Requirement) -> bool:
    return canonicalize_name(req.name) in DAG


def problems(root: Path = ROOT) -> list[str]:
    """Every disagreement between the pyproject files and the rules; empty when all is well."""
    errs: list[str] = []
    data = load(root)
    if set(data) != set(DIRS):
        errs.append(f"packages/ holds {sorted(data)}, expected {sorted(DIRS)}")
        return errs
    versions = {d: cfg["project"]["version"] for d, cfg in data.items()}
    if len(set(versions.values())) != 1:
        errs.append(f"versions disagree: {versions}")
    version = versions["brainstate-state"]
    for dirname, cfg in data.items():
        proj = cfg["project"]
        dist = proj["name"]
        if dist != dirname:
            errs.append(f"packages/{dirname} declares name {dist!r}")
        if cfg.get("build-system", {}).get("build-backend") != "hatchling.build":
            errs.append(f"{dist}: build backend is not hatchling")
        if proj.get("requires-python") != ">=3.11":
            errs.append(f"{dist}: requires-python is {proj.get('requires-python')!r}, expected '>=3.11'")
        module = dist.replace("-", "_")
        if cfg.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {}).get(
            "packages"
        ) != [f"src/{module}"]:
            errs.append(f"{dist}: [tool.hatch.build.targets.wheel] packages must be ['src/{module}']")
        if not (root / "packages" / dirname / "src" / module / "py.typed").is_file():
            errs.append(f"{dist}: src/{module}/py.typed is missing")

        base = [Requirement(r) for r in proj.get("dependencies", [])]
        extras = {k: [Requirement(r) for r in v] for k, v in proj.get("optional-dependencies", {}).items()}
        # Exact pins on every in-repo requirement, dependencies and extras alike.
        for where, reqs in [("dependencies", base), *((f"extra {k!r}", v) for k, v in extras.items())]:
            for req in reqs:
                if not in_repo(req):
                    continue
                if canonicalize_name(req.name) == canonicalize_name(dist):
                    if str(req.specifier):
                        errs.append(f"{dist} {where}: self-reference {req} must not carry a version")
                    continue
                specs = list(req.specifier)
                if len(specs) != 1 or specs[0].operator != "==" or specs[0].version != version:
                    errs.append(f"{dist} {where}: {req} is not pinned exactly to =={version}")
                if req.marker is not None:
                    errs.append(f"{dist} {where}: {req} must not carry an environment marker")
        # The DAG, exactly (direct base dependencies).
        got = {canonicalize_name(r.name) for r in base if in_repo(r)}
        if got != DAG[dist]:
            errs.append(f"{dist} depends on {sorted(got)}; the layer DAG allows exactly {sorted(DAG[dist])}")
        # Extras may only name in-repo packages the DAG already allows.
        for k, reqs in extras.items():
            for req in reqs:
                name = canonicalize_name(req.name)
                if in_repo(req) and name != dist and name not in DAG[dist]:
                    errs.append(f"{dist} extra {k!r} names {name}, which the DAG does not allow")
        # External requirements.
        jax = [r for r in base if canonicalize_name(r.name) == "jax"]
        if len(jax) != 1 or str(jax[0].specifier) != ">=0.10":
            errs.append(f"{dist}: needs exactly one 'jax>=0.10' dependency, has {[str(r) for r in jax]}")
        for k, names in EXPECTED_EXTRAS.get(dist, {}).items():
            have = {canonicalize_name(r.name) for r in extras.get(k, [])}
            if not names <= have:
                errs.append(f"{dist}: extra {k!r} should provide {sorted(names)}, has {sorted(have)}")
        # License and links: the same Apache-2.0 text as the repository root, shipped in wheel and sdist.
        if proj.get("license") != LICENSE_ID:
            errs.append(
                f"{dist}: license is {proj.get('license')!r}, expected {LICENSE_ID!r} (an SPDX expression)"
            )
        if proj.get("license-files") != ["LICENSE"]:
            errs.append(f"{dist}: license-files is {proj.get('license-files')!r}, expected ['LICENSE']")
        lic = root / "packages" / dirname / "LICENSE"
        root_lic = root / "LICENSE"
        if not lic.is_file():
            errs.append(f"{dist}: packages/{dirname}/LICENSE is missing (copy the repository's LICENSE)")
        elif not root_lic.is_file() or lic.read_bytes() != root_lic.read_bytes():
            errs.append(f"{dist}: packages/{dirname}/LICENSE differs from the repository's LICENSE")
        sdist = cfg.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("sdist", {})
        if "include" in sdist and "LICENSE" not in sdist["include"]:
            errs.append(f"{dist}: [tool.hatch.build.targets.sdist] include lacks 'LICENSE'")
        missing_urls = sorted(REQUIRED_URLS - set(proj.get("urls", {})))
        if missing_urls:
            errs.append(f"{dist}: [project.urls] lacks {missing_urls}")
        # A literal __version__, where a package keeps one, must agree too.
        init = root / "packages" / dirname / "src" / module / "__init__.py"
        if init.is_file():
            m = re.search(r'^__version__\s*(?::\s*str\s*)?=\s*["\']([^"\']*)["\']', init.read_text(), re.M)
            if m and m.group(1) != version:
                errs.append(f"{dist}: __version__ is {m.group(1)!r}, the distribution is {version!r}")
    return errs


def test_versions_pins_and_dag_agree() -> None:
    errs = problems()
    assert not errs, "\n".join(errs)


def test_dag_is_acyclic_and_nothing_depends_on_the_metapackage() -> None:
    for dist, deps in DAG.items():
        assert "brainstate" not in deps
        assert dist not in deps
    order: list[str] = []
    remaining = dict(DAG)
    while remaining:
        ready = [d for d, deps in remaining.items() if deps <= set(order)]
        assert ready, f"cycle among {sorted(remaining)}"
        order += sorted(ready)
        for d in ready:
            del remaining[d]


DOC_PIN = re.compile(r"\bbrainstate(?:-[a-z]+)?(?:\[[^\]]*\])?==(\d[^\s\"'`)]*)")


def test_install_instructions_name_the_current_version() -> None:
    version = load()["brainstate-state"]["project"]["version"]
    for rel in ("README.md", "docs/getting_started.md"):
        pins = DOC_PIN.findall((ROOT / rel).read_text())
        assert pins, f"{rel} has no pinned install line"
        assert set(pins) == {version}, f"{rel} pins {sorted(set(pins))}, the release is {version}"


def _copy_pyprojects(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "LICENSE", tmp_path / "LICENSE")
    for rel in ("README.md", "docs/getting_started.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    for path in (ROOT / "packages").glob("*/pyproject.toml"):
        rel = path.relative_to(ROOT)
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp_path / rel)
        if (path.parent / "LICENSE").is_file():
            shutil.copy(path.parent / "LICENSE", tmp_path / rel.parent / "LICENSE")
        src = path.parent / "src"
        for marker in src.glob("*/py.typed"):
            dst = tmp_path / marker.relative_to(ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.touch()
        for init in src.glob("*/__init__.py"):
            shutil.copy(init, tmp_path / init.relative_to(ROOT))
    return tmp_path


def test_problems_detects_a_stray_version_and_a_loose_pin(tmp_path: Path) -> None:
    root = _copy_pyprojects(tmp_path)
    assert problems(root) == []
    p = root / "packages" / "brainstate-jit" / "pyproject.toml"
    p.write_text(p.read_text().replace('version = "', 'version = "9', 1))
    q = root / "packages" / "brainstate-mapping" / "pyproject.toml"
    q.write_text(q.read_text().replace('"brainstate-control==', '"brainstate-control>=', 1))
    text = "\n".join(problems(root))
    assert "versions disagree" in text
    assert "brainstate-control>=" in text


def test_problems_detects_an_edge_against_the_dag(tmp_path: Path) -> None:
    root = _copy_pyprojects(tmp_path)
    p = root / "packages" / "brainstate-autodiff" / "pyproject.toml"
    version = tomllib.loads(p.read_text())["project"]["version"]
    p.write_text(
        p.read_text().replace(
            "dependencies = [", f'dependencies = [\n    "brainstate-control=={version}",', 1
        )
    )
    assert any("layer DAG" in e and "brainstate-autodiff" in e for e in problems(root))


def test_bump_version_rewrites_every_version_and_pin(tmp_path: Path) -> None:
    root = _copy_pyprojects(tmp_path)
    script = ROOT / "scripts" / "bump_version.py"
    out = subprocess.run(
        [sys.executable, str(script), "7.8.9rc1", "--root", str(root)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert problems(root) == []
    readme = (root / "README.md").read_text()
    assert "Version 7.8.9rc1," in readme and '"brainstate[all]==7.8.9rc1"' in readme
    assert set(DOC_PIN.findall(readme)) == {"7.8.9rc1"}
    assert set(DOC_PIN.findall((root / "docs" / "getting_started.md").read_text())) == {"7.8.9rc1"}
    for cfg in load(root).values():
        assert cfg["project"]["version"] == "7.8.9rc1"
        for raw in [
            *cfg["project"]["dependencies"],
            *sum(cfg["project"].get("optional-dependencies", {}).values(), []),
        ]:
            req = Requirement(raw)
            if in_repo(req) and str(req.specifier):
                assert str(req.specifier) == "==7.8.9rc1", raw
    bad = subprocess.run(
        [sys.executable, str(script), "not-a-version", "--root", str(root)], capture_output=True, text=True
    )
    assert bad.returncode != 0


@pytest.mark.parametrize("dist", sorted(DAG))
def test_each_package_has_a_readme_and_tests_dir(dist: str) -> None:
    assert (ROOT / "packages" / dist / "README.md").is_file()
    assert (ROOT / "packages" / dist / "tests").is_dir()


def test_problems_detects_a_missing_license_and_url(tmp_path: Path) -> None:
    root = _copy_pyprojects(tmp_path)
    assert problems(root) == []
    (root / "packages" / "brainstate-ir" / "LICENSE").write_text("MIT\n")
    (root / "packages" / "brainstate-control" / "LICENSE").unlink()
    p = root / "packages" / "brainstate-jit" / "pyproject.toml"
    p.write_text(p.read_text().replace('license = "Apache-2.0"', 'license = "MIT"', 1))
    q = root / "packages" / "brainstate-state" / "pyproject.toml"
    q.write_text(q.read_text().replace("Documentation = ", "Docs = ", 1))
    text = "\n".join(problems(root))
    assert "brainstate-ir: packages/brainstate-ir/LICENSE differs" in text
    assert "brainstate-control: packages/brainstate-control/LICENSE is missing" in text
    assert "brainstate-jit: license is 'MIT'" in text
    assert "brainstate-state: [project.urls] lacks ['Documentation']" in text


def test_the_release_is_above_every_upstream_release() -> None:
    # The name brainstate on the package index belongs to the upstream project (0.5.x at most): our
    # version must never be one of its numbers, or pip could mix the two.
    from packaging.version import Version

    version = Version(load()["brainstate-state"]["project"]["version"])
    assert version >= Version("0.6.0"), version
