"""Sphinx configuration for the brainstate documentation (executed with myst-nb at build time)."""

from __future__ import annotations

project = "brainstate"
author = "the brainstate developers"
copyright = "2026, the brainstate developers"  # noqa: A001
release = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" sections become :ivar: fields, so dataclass fields (e.g. TracedProgram.jaxpr) that autodoc also
# documents as members are not described twice.
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
intersphinx_mapping: dict[str, tuple[str, None]] = {}

source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_merge_streams = True
# Markdown outputs of code cells (the tables of errors.md and performance.md) are parsed as MyST, which has
# tables; the default, CommonMark, has none.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["colon_fence"]
html_theme = "alabaster"
# Type hints in signatures reference names Sphinx cannot resolve (jax internals); they are not errors.
nitpicky = False
# ref.python: the builtin `type` in type hints (``type[State]``) is ambiguous for Sphinx with the attributes
# named ``type`` (TreefyState.type, GraphDef.type, ...); the hint is still rendered, only the link is dropped.
suppress_warnings = ["myst.header", "ref.python"]
