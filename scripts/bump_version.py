#!/usr/bin/env python3
"""Set one version on all seven brainstate distributions, and every exact pin between them.

    python3 scripts/bump_version.py 0.2.0            # rewrite in place
    python3 scripts/bump_version.py 0.2.0 --dry-run  # show what would change
    python3 scripts/bump_version.py 0.2.0 --root DIR # another checkout (used by the tests)

Rewrites, in every ``packages/*/pyproject.toml``:
  * ``version = "..."`` in ``[project]``;
  * every in-repo requirement ``brainstate-xxx==OLD`` / ``brainstate-xxx[extra]==OLD`` (dependencies and extras);
and a literal ``__version__ = "..."`` in ``packages/*/src/*/__init__.py`` where one exists. In the install
instructions (``README.md``, ``docs/getting_started.md``) it rewrites the pins ``brainstate...==OLD`` and the
phrases ``Version OLD`` / ``release (OLD)``.
``integration_tests/test_versions.py`` fails when any of these disagree.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

VERSION_RE = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")  # PEP 440, public, no epoch
PROJECT_VERSION_RE = re.compile(r'^(version\s*=\s*")([^"]*)(")', re.M)
# A quoted requirement string on an in-repo distribution with an exact pin: "brainstate-ir[draw]==0.1.0"
PIN_RE = re.compile(r'(["\']brainstate(?:-[a-z]+)?(?:\[[^\]]*\])?\s*==\s*)([^"\';\s]+)')
# Install instructions: pins such as `"brainstate[all]==0.6.0"` and `brainstate-autodiff==0.6.0`.
DOC_FILES = ["README.md", "docs/getting_started.md"]
DOC_PIN_RE = re.compile(r"(\bbrainstate(?:-[a-z]+)?(?:\[[^\]]*\])?==)(\d[^\s\"'`)]*)")
DOC_PHRASE_RE = re.compile(r"(\bVersion |\brelease \()(\d+(?:\.\d+)+)")
DUNDER_RE = re.compile(r'^(__version__\s*(?::\s*str\s*)?=\s*["\'])([^"\']*)(["\'])', re.M)


def package_pyprojects(root: Path) -> list[Path]:
    files = sorted((root / "packages").glob("*/pyproject.toml"))
    if not files:
        raise SystemExit(f"no packages/*/pyproject.toml under {root}")
    return files


def rewrite_pyproject(text: str, new: str) -> str:
    # Only the first `version = ` line that lies in [project] is the distribution's version.
    start = text.find("[project]")
    if start < 0:
        raise ValueError("no [project] table")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    section, n = PROJECT_VERSION_RE.subn(lambda m: f"{m[1]}{new}{m[3]}", text[start:end], count=1)
    if n != 1:
        raise ValueError("no version = line in [project]")
    text = text[:start] + section + text[end:]
    return PIN_RE.sub(lambda m: f"{m[1]}{new}", text)


def bump(root: Path, new: str, dry_run: bool = False) -> list[Path]:
    if not VERSION_RE.match(new):
        raise SystemExit(f"not a plain PEP 440 version: {new!r}")
    changed: list[Path] = []
    for path in package_pyprojects(root):
        old_text = path.read_text()
        new_text = rewrite_pyproject(old_text, new)
        tomllib.loads(new_text)  # still valid TOML
        if new_text != old_text:
            changed.append(path)
            if not dry_run:
                path.write_text(new_text)
        for init in sorted((path.parent / "src").glob("*/__init__.py")):
            text = init.read_text()
            new_init = DUNDER_RE.sub(lambda m: f"{m[1]}{new}{m[3]}", text)
            if new_init != text:
                changed.append(init)
                if not dry_run:
                    init.write_text(new_init)
    for rel in DOC_FILES:
        doc = root / rel
        if not doc.is_file():
            continue
        text = doc.read_text()
        new_doc = DOC_PIN_RE.sub(lambda m: f"{m[1]}{new}", text)
        new_doc = DOC_PHRASE_RE.sub(lambda m: f"{m[1]}{new}", new_doc)
        if new_doc != text:
            changed.append(doc)
            if not dry_run:
                doc.write_text(new_doc)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="the new version, e.g. 0.2.0")
    parser.add_argument("--dry-run", action="store_true", help="list the files that would change")
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root"
    )
    args = parser.parse_args(argv)
    changed = bump(args.root, args.version, args.dry_run)
    verb = "would change" if args.dry_run else "changed"
    for path in changed:
        print(f"{verb}: {path.relative_to(args.root)}")
    if not changed:
        print(f"every package is already at {args.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
