"""No import circle inside any package.

For every package under ``packages/*/src`` the graph of its intra-package module imports is built from the
AST of each file and must be acyclic. Every import counts: absolute and relative, ``from . import x``
(an edge to the submodule ``x`` when it is one), and imports inside functions. The only imports ignored are
those inside an ``if TYPE_CHECKING:`` block, which never run.

An edge goes to the module that an import names, not to the parent packages Python also initialises on
the way (every submodule would otherwise form a circle with its package ``__init__``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in ROOT.glob("packages/*/src/*") if (p / "__init__.py").is_file())
# Packages whose circles are known and not yet broken: strict xfail, so breaking them turns the test red
# until the entry is removed.
KNOWN_CIRCLES: dict[str, str] = {}


def _package_param(package_dir: Path) -> object:
    reason = KNOWN_CIRCLES.get(package_dir.name)
    marks = [pytest.mark.xfail(strict=True, reason=f"import circle: {reason}")] if reason else []
    return pytest.param(package_dir, id=package_dir.name, marks=marks)


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package rooted at ``package_dir``."""
    root = package_dir.name
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except the bodies of ``if TYPE_CHECKING:``."""
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.orelse:
            yield from _imports(child)
        return
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    for sub in ast.iter_child_nodes(node):
        yield from _imports(sub)


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is, or lies in (``pkg.mod.attr`` -> ``pkg.mod``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the set of modules of the same package it imports."""
    modules = module_files(package_dir)
    root = package_dir.name
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        for target in targets:
            if target != root and not target.startswith(root + "."):
                continue
            owner = _owner(target, modules)
            if owner is not None and owner != name:
                graph[name].add(owner)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("package_dir", [_package_param(p) for p in PACKAGES])
def test_package_has_no_import_circle(package_dir: Path) -> None:
    graph = import_graph(package_dir)
    assert len(graph) > 1
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_every_package_is_checked() -> None:
    names = {p.name for p in PACKAGES}
    assert {"brainstate_state", "brainstate_ir", "brainstate_jit", "brainstate"} <= names
    assert len(names) == 7


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def test_checker_finds_a_circle_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path / "toy",
        {
            "__init__.py": "from .a import f\n",
            "a.py": "from toy.b import g\n\ndef f():\n    return g()\n",
            "b.py": "def g():\n    from . import c\n    return c.h()\n",
            "c.py": "import toy.a\n\ndef h():\n    return toy.a\n",
        },
    )
    cycle = find_cycle(import_graph(pkg))
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"toy.a", "toy.b", "toy.c"}


def test_checker_resolves_relative_imports_from_subpackages(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path / "toy",
        {
            "__init__.py": "",
            "base.py": "from .sub.leaf import x\n",
            "sub/__init__.py": "from .leaf import x\n",
            "sub/leaf.py": "from ..base import y\nx = 1\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["toy.sub"] == {"toy.sub.leaf"}
    assert graph["toy.sub.leaf"] == {"toy.base"}
    assert find_cycle(graph) == ["toy.base", "toy.sub.leaf", "toy.base"]


def test_checker_ignores_only_type_checking_blocks(tmp_path: Path) -> None:
    pkg = _write(
        tmp_path / "toy",
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.b import B\nelse:\n    pass\n",
            "b.py": "import typing\nfrom toy import a\nif typing.TYPE_CHECKING:\n    from . import a as again\n",
        },
    )
    graph = import_graph(pkg)
    assert graph == {"toy": set(), "toy.a": set(), "toy.b": {"toy.a"}}
    assert find_cycle(graph) is None
    # The same import outside the guard closes the circle.
    (pkg / "a.py").write_text("def late():\n    from toy.b import B\n", encoding="utf-8")
    assert find_cycle(import_graph(pkg)) == ["toy.a", "toy.b", "toy.a"]
