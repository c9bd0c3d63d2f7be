"""Each package uses only the public names of the brainstate packages below it.

A private module (``brainstate_ir._program``) or a private name (``from brainstate_ir import _x``) of
another package is an implementation detail that may change with any release of that package; the JAX
internals every layer needs are in the public ``brainstate_ir.compat`` module. The check reads the
sources' import statements (docstring examples are not imports and are not checked).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [
    "brainstate_state",
    "brainstate_ir",
    "brainstate_jit",
    "brainstate_autodiff",
    "brainstate_control",
    "brainstate_mapping",
    "brainstate",
]


def private_imports(source: str, own_package: str) -> list[str]:
    """The imports in ``source`` that reach a private module or name of a brainstate package other than
    ``own_package`` (one ``'line: statement'`` string each)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            targets = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module, name in targets:
            top, *rest = module.split(".")
            if top not in PACKAGES or top == own_package:
                continue
            private_name = name is not None and name.startswith("_") and not name.endswith("__")
            if any(part.startswith("_") for part in rest) or private_name:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_package_imports_a_private_module_or_name_of_another() -> None:
    problems = []
    for package_dir in sorted((ROOT / "packages").iterdir()):
        for src in sorted((package_dir / "src").glob("*/**/*.py")):
            own = src.relative_to(package_dir / "src").parts[0]
            for problem in private_imports(src.read_text(encoding="utf-8"), own):
                problems.append(f"{src.relative_to(ROOT)}:{problem}")
    assert problems == [], "private imports across packages:\n" + "\n".join(problems)


def test_the_check_fires_on_private_modules_and_names() -> None:
    source = (
        "from brainstate_ir import compat, StatefulFunction, __all__\n"
        "from brainstate_ir import _program\n"
        "from brainstate_state._jax_compat import current_jax_trace\n"
        "import brainstate_jit._plan\n"
        "from brainstate_control._common import in_trace\n"
        "from ._local import helper\n"
    )
    assert private_imports(source, "brainstate_control") == [
        "2: from brainstate_ir import _program",
        "3: from brainstate_state._jax_compat import current_jax_trace",
        "4: import brainstate_jit._plan",
    ]
