"""Write the intersphinx inventories the docs link against, so the build never needs the network.

    python docs/_inventories/make_inventories.py

* ``python.inv``: Python's own inventory, copied from Debian's ``python3-doc`` package
  (``/usr/share/doc/python3.*/html/objects.inv``) when it is installed; otherwise the committed file is kept.
* ``jax.inv`` and ``numpy.inv``: made from the public names of the installed ``jax`` and ``numpy``, with
  the page layout of their documentation sites (``_autosummary/<name>.html`` for JAX,
  ``reference/generated/<name>.html`` for NumPy).

``docs/conf.py`` reads these files first and the sites' own inventories only as a fallback, so a build
without network access links to JAX, NumPy and Python all the same.
"""

from __future__ import annotations

import glob
import importlib
import inspect
import shutil
import types
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

JAX_MODULES = [
    "jax",
    "jax.numpy",
    "jax.lax",
    "jax.random",
    "jax.nn",
    "jax.tree",
    "jax.tree_util",
    "jax.sharding",
    "jax.experimental.checkify",
    "jax.debug",
    "jax.dtypes",
    "jax.scipy.special",
]
NUMPY_MODULES = ["numpy", "numpy.random", "numpy.linalg", "numpy.testing"]


def entries(modules: list[str], page: str) -> list[str]:
    """``name py:role priority uri -`` lines for the public names of ``modules``."""
    lines: list[str] = []
    seen: set[str] = set()
    for modname in modules:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        lines.append(f"{modname} py:module 0 {page.format(name=modname)}#module-{modname} -")
        names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in sorted(names):
            try:
                obj = getattr(mod, name)
            except AttributeError:
                continue
            if isinstance(obj, types.ModuleType):
                continue
            full = f"{modname}.{name}"
            if full in seen:
                continue
            seen.add(full)
            if inspect.isclass(obj):
                role = "class"
            elif callable(obj):
                role = "function"
            else:
                role = "data"
            lines.append(f"{full} py:{role} 1 {page.format(name=full)}#$ -")
    return lines


def write(path: Path, project: str, version: str, lines: list[str]) -> None:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header.encode() + zlib.compress("\n".join(lines).encode() + b"\n", 9))
    print(f"wrote {path.name}: {len(lines)} entries")


def main() -> None:
    import jax
    import numpy

    write(HERE / "jax.inv", "JAX", jax.__version__, entries(JAX_MODULES, "_autosummary/{name}.html"))
    write(
        HERE / "numpy.inv",
        "NumPy",
        numpy.__version__,
        entries(NUMPY_MODULES, "reference/generated/{name}.html"),
    )
    found = sorted(glob.glob("/usr/share/doc/python3.*/html/objects.inv"))
    if found:
        shutil.copy(found[-1], HERE / "python.inv")
        print(f"copied {found[-1]} to python.inv")
    else:
        print("python3-doc is not installed: python.inv kept as it is")


if __name__ == "__main__":
    main()
