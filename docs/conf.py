"""Sphinx configuration for the brainstate documentation (pages executed with MyST-NB at build time)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import brainstate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _apigen  # noqa: E402  (docs/_apigen.py, next to this file)

project = "brainstate"
author = "the brainstate developers"
copyright = "2026, the brainstate developers"  # noqa: A001
# One version for all seven distributions (scripts/bump_version.py); read from the installed package.
release = brainstate.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
]

# --- API reference: docs/api/*.rst are written from the packages' __all__ (docs/_apigen.py) ----------------
API_PROBLEMS = _apigen.generate()
autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_imported_members = True
templates_path = ["_templates"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" sections become :ivar: fields, so dataclass fields (e.g. TracedProgram.jaxpr) that autodoc also
# documents as members are not described twice.
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}

# --- links to JAX, NumPy and Python: the inventories in docs/_inventories are read first, so a build
# without network access links all the same (docs/_inventories/make_inventories.py refreshes them).
_INV = HERE / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", (str(_INV / "python.inv"), None)),
    "numpy": ("https://numpy.org/doc/stable/", (str(_INV / "numpy.inv"), None)),
    "jax": ("https://docs.jax.dev/en/latest/", (str(_INV / "jax.inv"), None)),
}
intersphinx_timeout = 10

# .rst first: autosummary writes its stub pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
master_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_templates", "_inventories", "README.md"]
nb_execution_mode = "force"
# The kernels that execute the pages name their cells "<cell N>" instead of a temporary file
# (/tmp/ipykernel_.../<hash>.py), so tracebacks and State creation sites on the pages show no build path.
_IPYTHONDIR = Path(tempfile.mkdtemp(prefix="brainstate-docs-ipython-"))
(_IPYTHONDIR / "profile_default" / "startup").mkdir(parents=True)
(_IPYTHONDIR / "profile_default" / "startup" / "00-cell-names.py").write_text(
    "ip = get_ipython()\n"
    "if ip is not None:\n"
    "    ip.compile.get_code_name = lambda raw_code, transformed_code, number: f'<cell {number}>'\n",
    encoding="utf-8",
)
os.environ["IPYTHONDIR"] = str(_IPYTHONDIR)
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True
# Markdown outputs of code cells (the tables of errors.md and performance.md) are parsed as MyST, which has
# tables; the default, CommonMark, has none.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# --- theme: the layout of JAX's, flax's and brainstate 0.5's documentation -----------------------------------
html_theme = "sphinx_book_theme"
html_title = f"brainstate {release}"
html_theme_options = {
    "repository_url": "https://github.com/chaobrain/brainstate",
    "use_repository_button": True,
    "path_to_docs": "docs",
    "show_toc_level": 2,
    # The sidebar lists pages down to the API group pages; the ~500 per-object pages are reached from their
    # summary tables (listing them in every page's sidebar would make each page, and the build, heavy).
    "max_navbar_depth": 2,
    "navigation_with_keys": False,
}
html_css_files: list[str] = ["custom.css"]
html_static_path = ["_static"]
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# Type hints in signatures reference names Sphinx cannot resolve (jax internals); they are not errors.
nitpicky = False
# ref.python: the builtin `type` in type hints (``type[State]``) is ambiguous for Sphinx with the attributes
# named ``type`` (TreefyState.type, GraphDef.type, ...); the hint is still rendered, only the link is dropped.
suppress_warnings = ["myst.header", "ref.python"]


def _report_api_problems(app: object) -> None:
    from sphinx.util import logging

    log = logging.getLogger("brainstate.apigen")
    for message in API_PROBLEMS:
        log.warning(message)


def _foreign_docstring(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Re-exported JAX objects: their summary line and a link to JAX's page, not JAX's docstring.

    ``brainstate.transform.check``, ``check_error`` and the checkify error sets are JAX's own objects; their
    docstrings follow JAX's conventions (and do not render cleanly here), and JAX documents them.
    """
    short = name.rsplit(".", 1)[-1]
    if isinstance(obj, frozenset):
        lines[:] = [
            f"A set of checkify error categories: JAX's ``jax.experimental.checkify.{short}``, re-exported.",
            "",
            "Pass it (or a union of such sets) as ``errors=`` to :func:`brainstate.transform.checkify`.",
        ]
    elif (getattr(obj, "__module__", None) or "").startswith("jax") and what in ("function", "class"):
        summary = next((line.strip() for line in lines if line.strip()), "")
        lines[:] = [
            summary,
            "",
            f"This is JAX's :func:`jax.experimental.checkify.{short}`, re-exported unchanged; see JAX's "
            "documentation for the details.",
        ]


def _allow_aliases_twice() -> None:
    """One object documented under two public names registers its canonical name twice; keep the first.

    ``brainstate.transform.jit`` and ``brainstate_jit.jit`` are the same function: autodoc marks both
    descriptions with ``:canonical: brainstate_jit.jit.jit``, and Sphinx would report the second alias as a
    duplicate description. Real duplicates (two non-alias descriptions of one name) are still reported.
    """
    from sphinx.domains.python import PythonDomain

    original = PythonDomain.note_object

    def note_object(self, name, objtype, node_id, aliased=False, location=None):  # type: ignore[no-untyped-def]
        other = self.objects.get(name)
        if aliased and other is not None and other.aliased:
            return
        return original(self, name, objtype, node_id, aliased=aliased, location=location)

    PythonDomain.note_object = note_object  # type: ignore[method-assign]


def _check_transform_pages(app: object, exception: Exception | None) -> None:
    """Every name of ``brainstate.transform.__all__`` has its page at ``api/brainstate.transform.<name>``."""
    if exception is not None or getattr(app, "builder").name != "html":  # noqa: B009
        return
    out = Path(getattr(app, "outdir"))  # noqa: B009
    missing = [
        n
        for n in brainstate.transform.__all__
        if not (out / "api" / f"brainstate.transform.{n}.html").is_file()
    ]
    if missing:
        from sphinx.errors import ExtensionError

        raise ExtensionError(f"no API page was written for brainstate.transform.{missing} (docs/_apigen.py)")


# Pages other contributors add: listed in the index's "How-to" toctree as soon as they exist.
OPTIONAL_PAGES = ["scaling_out", "examples/index"]


def _optional_pages(app: object, docname: str, source: list[str]) -> None:
    if docname != "index":
        return
    present = [p for p in OPTIONAL_PAGES if (HERE / f"{p}.md").is_file() or (HERE / f"{p}.ipynb").is_file()]
    if present:
        entries = "\n".join(present)
        source[0] = source[0] + f"\n```{{toctree}}\n:caption: How-to\n:maxdepth: 1\n\n{entries}\n```\n"


def setup(app: object) -> None:
    _allow_aliases_twice()
    app.connect("source-read", _optional_pages)  # type: ignore[attr-defined]
    app.connect("builder-inited", _report_api_problems)  # type: ignore[attr-defined]
    app.connect("build-finished", _check_transform_pages)  # type: ignore[attr-defined]
    app.connect("autodoc-process-docstring", _foreign_docstring)  # type: ignore[attr-defined]
