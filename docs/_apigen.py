"""Write the API reference pages (``docs/api/*.rst``) from the packages' ``__all__`` lists.

``docs/conf.py`` calls :func:`generate` before Sphinx reads any source, so the reference always lists
exactly the public names: one page per module with a summary table per group, and (through
``sphinx.ext.autosummary``) one page per object, named as users type it, e.g. ``brainstate.transform.jit``
at ``api/brainstate.transform.jit.html``. A public name that no group lists is still documented, under
"Other", and reported by :func:`ungrouped` so the build (``-W``) asks for it to be placed.
"""

from __future__ import annotations

import importlib
import types
from dataclasses import dataclass, field
from pathlib import Path

API = Path(__file__).resolve().parent / "api"
LAYERS = API / "layers"


@dataclass
class Group:
    title: str
    intro: str
    names: list[str]
    # Optional sub-tables: (rubric, names); ``names`` above is then the union.
    parts: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class Page:
    module: str
    file: str
    title: str
    intro: str
    groups: list[Group]


def _g(title: str, intro: str, *parts: tuple[str, list[str]]) -> Group:
    names = [n for _, ns in parts for n in ns]
    return Group(title, intro, names, list(parts) if len(parts) > 1 else [])


TRANSFORM_GROUPS = [
    _g(
        "Compilation",
        "Compile stateful functions with :func:`jax.jit` semantics; shape the compiled program.",
        ("", ["jit", "JittedFunction", "named_scope", "named_call", "checkpoint", "remat"]),
    ),
    _g(
        "Gradients",
        "Differentiate with respect to arguments and States (``grad_states``); "
        "see the :doc:`../tutorials/autodiff` tutorial.",
        ("", ["grad", "vector_grad", "fwd_grad", "jacrev", "jacfwd", "jacobian", "hessian"]),
        ("", ["vjp", "jvp", "sofo_grad", "GradientTransform"]),
    ),
    _g(
        "Mapping",
        "Vectorise and parallelise over a batch axis, with per-lane States; "
        "see the :doc:`../tutorials/batching` tutorial.",
        ("", ["vmap", "vmap2", "StatefulMapping", "vmap_new_states", "vmap2_new_states", "map"]),
        ("", ["pmap2", "pmap2_new_states", "shard_map", "in_new_state_probe", "unvmap"]),
    ),
    _g(
        "Control flow",
        "Branches and loops compiled to one ``lax`` primitive each; "
        "see the :doc:`../tutorials/control_flow` tutorial.",
        ("Branches", ["cond", "switch", "ifelse"]),
        ("Loops", ["scan", "checkpointed_scan", "for_loop", "checkpointed_for_loop", "ProgressBar"]),
        ("While loops", ["while_loop", "bounded_while_loop"]),
    ),
    _g(
        "IR",
        "Trace stateful functions to jaxprs, optimise them, turn them into Python code or pictures; "
        "see the :doc:`../tutorials/ir` tutorial.",
        ("Tracing", ["StatefulFunction", "TracedProgram", "make_jaxpr", "StateFinder", "eval_shape"]),
        (
            "Optimisation passes",
            [
                "optimize_jaxpr",
                "constant_fold",
                "dead_code_elimination",
                "common_subexpression_elimination",
                "copy_propagation",
                "algebraic_simplification",
            ],
        ),
        (
            "Processing, code generation and drawing",
            [
                "eqns_to_closed_jaxpr",
                "eqns_to_jaxpr",
                "inline_jit",
                "fn_to_python_code",
                "jaxpr_to_python_code",
                "register_prim_handler",
                "draw",
                "draw_dot_graph",
                "view_pydot",
            ],
        ),
    ),
    _g(
        "Checks and debugging",
        "Check values inside compiled code and find where NaNs come from; "
        "see the :doc:`../tutorials/debugging` tutorial.",
        ("Run-time checks", ["jit_error_if", "checkify", "check", "check_error"]),
        (
            "Error categories for checkify",
            [
                "all_checks",
                "user_checks",
                "nan_checks",
                "div_checks",
                "index_checks",
                "float_checks",
                "automatic_checks",
            ],
        ),
        ("Debugging", ["debug_nan", "debug_nan_if", "breakpoint_if"]),
    ),
]

RANDOM_KEYS = [
    "seed",
    "seed_context",
    "get_key",
    "get_key_data",
    "set_key",
    "split_key",
    "split_keys",
    "restore_key",
    "self_assign_multi_keys",
    "clone_rng",
    "default_rng",
    "RandomState",
    "DEFAULT",
]

PAGES = [
    Page(
        "brainstate",
        "brainstate",
        "brainstate",
        "States, their errors and the helpers around them. The transforms are in "
        ":doc:`transform`; the other namespaces have their own pages.",
        [
            _g(
                "States",
                "Containers for every mutable value of a program.",
                (
                    "",
                    [
                        "State",
                        "ParamState",
                        "ShortTermState",
                        "LongTermState",
                        "HiddenState",
                        "BatchState",
                        "NonBatchState",
                        "FakeState",
                        "TreefyState",
                    ],
                ),
            ),
            _g(
                "Tracing and checking States",
                "",
                ("", ["catch_new_states", "check_state_value_tree", "maybe_state", "StateTraceStack"]),
            ),
            _g("Errors", "", ("", ["BrainStateError", "TraceContextError", "BatchAxisError"])),
        ],
    ),
    Page(
        "brainstate.transform",
        "transform",
        "brainstate.transform",
        "Every state-aware transformation. Each accepts functions that read and write "
        ":class:`~brainstate.State` objects and threads their values through the JAX transformation.",
        TRANSFORM_GROUPS,
    ),
    Page(
        "brainstate.random",
        "random",
        "brainstate.random",
        "NumPy-style random numbers drawn from a global key State (see the :doc:`../tutorials/randomness` "
        "tutorial).",
        [],  # filled from __all__ below: keys and seeding, then the distributions
    ),
    Page(
        "brainstate.graph",
        "graph",
        "brainstate.graph",
        "Walk modules as graphs, split them into a definition and States and merge them back "
        "(see the :doc:`../tutorials/graph` tutorial).",
        [],
    ),
    Page("brainstate.nn", "nn", "brainstate.nn", "The ``Module`` base class and State initialisation.", []),
    Page(
        "brainstate.environ",
        "environ",
        "brainstate.environ",
        "Global settings: time step, precision, platform, and scoped overrides.",
        [],
    ),
    Page(
        "brainstate.util",
        "util",
        "brainstate.util",
        "State filters (which States a transform or a split selects) and the State containers.",
        [],
    ),
]

LAYER_MODULES = [
    "brainstate_state",
    "brainstate_ir",
    "brainstate_jit",
    "brainstate_autodiff",
    "brainstate_control",
    "brainstate_mapping",
]


def public(module: str) -> tuple[list[str], list[str]]:
    """The non-module and the module names of ``module.__all__``."""
    mod = importlib.import_module(module)
    names: list[str] = list(getattr(mod, "__all__", []))
    objs = [n for n in names if not n.startswith("__") and not isinstance(getattr(mod, n), types.ModuleType)]
    mods = [n for n in names if isinstance(getattr(mod, n), types.ModuleType)]
    return objs, mods


def _table(lines: list[str], names: list[str], toctree: str) -> None:
    lines += [".. autosummary::", f"   :toctree: {toctree}", "   :nosignatures:", ""]
    lines += [f"   {n}" for n in names]
    lines.append("")


def _heading(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def render(page: Page, toctree: str = ".") -> tuple[str, list[str], list[str]]:
    """The page's reStructuredText, the public names it did not place and the listed names that are gone."""
    objs, _ = public(page.module)
    groups = list(page.groups)
    if not groups:
        if page.module == "brainstate.random":
            keys = [n for n in RANDOM_KEYS if n in objs]
            groups = [
                _g("Keys and seeding", "", ("", keys)),
                _g("Distributions", "", ("", sorted((n for n in objs if n not in keys), key=str.lower))),
            ]
        else:
            classes = [n for n in objs if isinstance(getattr(importlib.import_module(page.module), n), type)]
            funcs = [n for n in objs if n not in classes]
            groups = [
                g for g in (_g("Classes", "", ("", classes)), _g("Functions", "", ("", funcs))) if g.names
            ]
    gone = [n for g in groups for n in g.names if n not in objs]
    groups = [
        _g(g.title, g.intro, *[(r, [n for n in ns if n in objs]) for r, ns in g.parts or [("", g.names)]])
        for g in groups
    ]
    placed = {n for g in groups for n in g.names}
    ungrouped = [n for n in objs if n not in placed]
    if ungrouped:
        groups.append(_g("Other", "", ("", ungrouped)))
    lines = _heading(page.title, "=")
    lines += [f".. module:: {page.module}", "", page.intro, ""]
    lines += [f".. currentmodule:: {page.module}", ""]
    for g in groups:
        if page.module == "brainstate.transform":  # {ref}`api-gradients` and the like, from the tutorials
            lines += [f".. _api-{g.title.lower().replace(' ', '-')}:", ""]
        lines += _heading(g.title, "-")
        if g.intro:
            lines += [g.intro, ""]
        for rubric, names in g.parts or [("", g.names)]:
            if rubric:
                lines += [f".. rubric:: {rubric}", ""]
            _table(lines, names, toctree)
    return "\n".join(lines), ungrouped, gone


def _meta_names() -> dict[int, str]:
    """``id(object) -> "brainstate.x.name"`` for every object the brainstate.* pages document."""
    found: dict[int, str] = {}
    for page in PAGES:
        mod = importlib.import_module(page.module)
        for name in public(page.module)[0]:
            found.setdefault(id(getattr(mod, name)), f"{page.module}.{name}")
    return found


def _layer_section(lines: list[str], module: str, names: list[str], meta: dict[int, str]) -> None:
    """Names also documented under brainstate.* link there; the others get a page of their own."""
    mod = importlib.import_module(module)
    linked = [(n, meta[id(getattr(mod, n))]) for n in names if id(getattr(mod, n)) in meta]
    own = [n for n in names if id(getattr(mod, n)) not in meta]
    if linked:
        lines += [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 70",
            "",
            "   * - name",
            "     - documented as",
        ]
        for n, target in linked:
            lines += [f"   * - ``{n}``", f"     - :py:obj:`{target}`"]
        lines.append("")
    if own:
        if linked:
            lines += ["Only in this layer:", ""]
        _table(lines, own, ".")


def render_layer(module: str, meta: dict[int, str]) -> str:
    objs, mods = public(module)
    dist = module.replace("_", "-")
    lines = _heading(f"{module} ({dist})", "=")
    lines += [
        f".. module:: {module}",
        "",
        f"The public names of ``{module}``, for programs that install ``{dist}`` alone. Objects that the "
        "metapackage re-exports are documented under their ``brainstate.*`` name (the same object); the "
        "others have their own pages here.",
        "",
        f".. currentmodule:: {module}",
        "",
    ]
    _layer_section(lines, module, objs, meta)
    for sub in mods:
        full = f"{module}.{sub}"
        sub_objs, _ = public(full)
        lines += _heading(full, "-")
        lines += [f".. module:: {full}", "", f".. currentmodule:: {full}", ""]
        _layer_section(lines, full, sub_objs, meta)
    return "\n".join(lines)


def generate() -> list[str]:
    """Write every page; returns messages about public names no group places."""
    API.mkdir(exist_ok=True)
    LAYERS.mkdir(exist_ok=True)
    # Old stubs of names that are gone must not survive (the pages are generated, not edited).
    for stale in [*API.glob("*.rst"), *LAYERS.glob("*.rst"), *API.glob("*.*.md"), *LAYERS.glob("*.*.md")]:
        stale.unlink()
    problems = []
    for page in PAGES:
        text, ungrouped, gone = render(page)
        (API / f"{page.file}.rst").write_text(text + "\n", encoding="utf-8")
        if gone:
            problems.append(f"docs/_apigen.py lists {gone} under {page.module}, which does not export them")
        if ungrouped and page.module == "brainstate.transform":
            problems.append(
                f"docs/_apigen.py: brainstate.transform exports {ungrouped}, which no group of the API "
                "reference lists (they are documented under 'Other'); add them to TRANSFORM_GROUPS"
            )
    index = _heading("Per-layer names", "=") + [
        "Each layer distribution can be installed and imported on its own; these pages list its public "
        "names under the layer's import name.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *(f"   {m}" for m in LAYER_MODULES),
        "",
    ]
    (LAYERS / "index.rst").write_text("\n".join(index), encoding="utf-8")
    meta = _meta_names()
    for module in LAYER_MODULES:
        (LAYERS / f"{module}.rst").write_text(render_layer(module, meta) + "\n", encoding="utf-8")
    return problems
