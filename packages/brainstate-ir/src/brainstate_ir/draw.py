"""Draw a jaxpr as a graph (pydot / graphviz): inputs, equations, outputs, and the values between them.

pydot is an optional dependency (``pip install brainstate-ir[draw]``); it is imported only when a
graph is built, and its absence raises an ``ImportError`` naming the extra. Rendering to PNG/SVG
additionally needs the graphviz ``dot`` program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._stateful import StatefulFunction
from .compat import (
    ClosedJaxpr,
    DropVar,
    Jaxpr,
    JaxprEqn,
    Literal,
    Var,
    jaxpr_and_consts,
    scan_num_consts_carry,
)

__all__ = ["draw", "draw_dot_graph", "view_pydot"]

_INSTALL_HINT = "pip install brainstate-ir[draw]"
_STYLE = {
    "input": {"shape": "box", "style": "filled", "fillcolor": "#d0e6ff"},
    "const": {"shape": "box", "style": "filled", "fillcolor": "#eeeeee"},
    "output": {"shape": "box", "style": "filled", "fillcolor": "#d6f5d6"},
    "eqn": {"shape": "ellipse"},
    "nested": {"shape": "box3d", "style": "filled", "fillcolor": "#fff2cc"},
    "literal": {"shape": "plaintext"},
}


def _pydot() -> Any:
    try:
        import pydot
    except ImportError as err:
        raise ImportError(
            f"drawing jaxprs needs the optional dependency pydot; install it with `{_INSTALL_HINT}` "
            "(and the graphviz `dot` program to render PNG/SVG)."
        ) from err
    return pydot


def _subjaxprs(eqn: JaxprEqn) -> list[tuple[str, Jaxpr]]:
    found = []
    for key, value in eqn.params.items():
        items = value if isinstance(value, (tuple, list)) else (value,)
        for i, item in enumerate(items):
            if isinstance(item, (ClosedJaxpr, Jaxpr)):
                found.append((f"{key}[{i}]" if len(items) > 1 else key, jaxpr_and_consts(item)[0]))
    return found


def _input_roles(eqn: JaxprEqn, key: str, count: int) -> list[tuple[str, str]]:
    """(group, label) of each of the ``count`` inputs of the body ``key`` of ``eqn``.

    Loop bodies split their inputs into ``consts`` (loop invariants), ``carry`` and ``xs`` (scanned
    slices); a group named ``""`` is drawn without a cluster of its own.
    """
    name = eqn.primitive.name
    if name == "scan":
        nc, ncarry = scan_num_consts_carry(eqn.params)
        sizes = [("consts", "const", nc), ("carry", "carry", ncarry), ("xs", "x", count - nc - ncarry)]
    elif name == "while":
        nc = eqn.params["cond_nconsts" if key == "cond_jaxpr" else "body_nconsts"]
        sizes = [("consts", "const", nc), ("carry", "carry", count - nc)]
    elif name == "cond":
        sizes = [("", "operand", count)]
    else:
        sizes = [("", "in", count)]
    return [(group, f"{prefix} {i}") for group, prefix, n in sizes for i in range(n)]


def _operands(eqn: JaxprEqn, key: str, count: int) -> list[Any]:
    """The equation's operands that feed the ``count`` inputs of its body ``key``."""
    if eqn.primitive.name == "while":
        nc, nb = eqn.params["cond_nconsts"], eqn.params["body_nconsts"]
        consts = eqn.invars[:nc] if key == "cond_jaxpr" else eqn.invars[nc : nc + nb]
        return [*consts, *eqn.invars[nc + nb :]]
    # cond: the index comes first; jit, scan, remat, custom derivatives: one operand per body input.
    return list(eqn.invars[len(eqn.invars) - count :])


def _join(labels: list[str]) -> str:
    """``['in 0', 'in 1'] -> 'in 0, 1'``; labels with different prefixes are listed whole."""
    prefixes = {label.rpartition(" ")[0] for label in labels}
    if len(prefixes) == 1:
        return f"{prefixes.pop()} {', '.join(label.rpartition(' ')[2] for label in labels)}"
    return ", ".join(labels)


class _GraphBuilder:
    def __init__(self, pydot: Any, collapse: bool, show_avals: bool) -> None:
        self.pydot, self.collapse, self.show_avals = pydot, collapse, show_avals
        self.count = 0

    def node_id(self) -> str:
        self.count += 1
        return f"n{self.count}"

    def label(self, text: str, atom: Any) -> str:
        return f"{text}\n{atom.aval.str_short(short_dtypes=True)}" if self.show_avals else text

    def add_node(self, graph: Any, label: str, kind: str) -> str:
        name = self.node_id()
        graph.add_node(self.pydot.Node(name, label=label, **_STYLE[kind]))
        return name

    def source(self, graph: Any, atom: Any, producers: dict[Var, str]) -> str:
        """Node producing ``atom`` (a fresh plaintext node for a literal)."""
        if isinstance(atom, Literal):
            return self.add_node(graph, self.label(str(atom.val), atom), "literal")
        return producers[atom]

    def add_inputs(self, places: list[tuple[Any, str]], variables: list[Var], kind: str) -> dict[Var, str]:
        """One node per input variable, in ``places[i] = (graph, label)``; a variable listed twice is declared
        once, labelled with all its positions (``in 0, 1``)."""
        labels: dict[Var, list[str]] = {}
        where: dict[Var, Any] = {}
        for (graph, label), v in zip(places, variables, strict=True):
            where.setdefault(v, graph)
            labels.setdefault(v, []).append(label)
        return {v: self.add_node(where[v], self.label(_join(parts), v), kind) for v, parts in labels.items()}

    def add_jaxpr(self, graph: Any, jaxpr: Jaxpr, producers: dict[Var, str]) -> None:
        """Add the equations of ``jaxpr``; ``producers`` maps its in/constvars to nodes already drawn."""
        for eqn in jaxpr.eqns:
            subs = _subjaxprs(eqn)
            name = eqn.primitive.name
            if "name" in eqn.params and isinstance(eqn.params["name"], str):
                name = f"{name}[{eqn.params['name']}]"
            if subs and not self.collapse:
                outs = self.add_expanded(graph, eqn, name, subs, producers)
            else:
                node = self.add_node(graph, name, "nested" if subs else "eqn")
                for atom in eqn.invars:
                    graph.add_edge(self.pydot.Edge(self.source(graph, atom, producers), node))
                outs = [node] * len(eqn.outvars)
            for var, node in zip(eqn.outvars, outs, strict=False):
                if not isinstance(var, DropVar):
                    producers[var] = node

    def add_expanded(
        self, graph: Any, eqn: JaxprEqn, name: str, subs: list[tuple[str, Jaxpr]], producers: dict[Var, str]
    ) -> list[str]:
        """Draw each body of ``eqn`` in a cluster, fed by the equation's operands."""
        result = self.add_node(graph, name, "nested")
        for key, inner in subs:
            cluster = self.pydot.Cluster(self.node_id(), label=f"{name}: {key}", style="dashed")
            closed = [("", f"closed const {i}") for i in range(len(inner.constvars))]
            roles = closed + _input_roles(eqn, key, len(inner.invars))
            groups: dict[str, Any] = {}
            for group, _ in roles:
                if group and group not in groups:
                    groups[group] = self.pydot.Cluster(self.node_id(), label=group, style="dotted")
            inputs = [(groups.get(group, cluster), label) for group, label in roles]
            inner_producers = self.add_inputs(inputs, [*inner.constvars, *inner.invars], "input")
            for sub in groups.values():
                cluster.add_subgraph(sub)
            for atom, v in zip(_operands(eqn, key, len(inner.invars)), inner.invars, strict=False):
                graph.add_edge(
                    self.pydot.Edge(self.source(graph, atom, producers), inner_producers[v], style="dotted")
                )
            self.add_jaxpr(cluster, inner, inner_producers)
            for atom in inner.outvars:
                graph.add_edge(self.pydot.Edge(self.source(cluster, atom, inner_producers), result))
            graph.add_subgraph(cluster)
        return [result] * len(eqn.outvars)


def draw_dot_graph(
    closed_jaxpr: ClosedJaxpr | Jaxpr, collapse_primitives: bool = True, show_avals: bool = True
) -> Any:
    """Build a pydot graph of a jaxpr.

    Inputs (blue), consts (grey) and outputs (green) are boxes; equations are ellipses labelled with
    their primitive (and function name for jit/custom-derivative calls); edges follow the values.
    An equation holding sub-jaxprs (jit, cond, while, scan, remat, custom derivatives) is one node
    when ``collapse_primitives`` is true, else its bodies are drawn in dashed clusters, fed by the
    equation's operands; loop bodies group their inputs in clusters labelled ``consts``, ``carry`` and
    ``xs``. Every literal operand gets a node of its own, and an input variable listed twice is one
    node (``in 0, 1``).

    Parameters
    ----------
    closed_jaxpr : ClosedJaxpr or Jaxpr
        The program to draw.
    collapse_primitives : bool, optional
        Draw nested jaxprs as a single node (default ``True``).
    show_avals : bool, optional
        Add types (``f32[3]``) to input, output and literal labels (default ``True``).

    Returns
    -------
    pydot.Dot
        Render it with ``graph.create_png()`` / ``graph.write_svg(path)`` (needs graphviz).

    Raises
    ------
    ImportError
        If pydot is not installed (``pip install brainstate-ir[draw]``).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.draw import draw_dot_graph
    >>> graph = draw_dot_graph(jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0))
    >>> sorted(n.get_label().split("\\n")[0] for n in graph.get_nodes())
    ['2.0', 'in 0', 'mul', 'out 0', 'sin']
    """
    pydot = _pydot()
    if not isinstance(closed_jaxpr, (ClosedJaxpr, Jaxpr)):
        raise TypeError(f"draw_dot_graph expects a ClosedJaxpr or Jaxpr, got {type(closed_jaxpr).__name__}.")
    jaxpr = jaxpr_and_consts(closed_jaxpr)[0]
    graph = pydot.Dot(graph_type="digraph", rankdir="TB")
    builder = _GraphBuilder(pydot, collapse_primitives, show_avals)
    producers = builder.add_inputs(
        [(graph, f"const {i}") for i in range(len(jaxpr.constvars))], jaxpr.constvars, "const"
    )
    producers.update(
        builder.add_inputs([(graph, f"in {i}") for i in range(len(jaxpr.invars))], jaxpr.invars, "input")
    )
    builder.add_jaxpr(graph, jaxpr, producers)
    for i, atom in enumerate(jaxpr.outvars):
        node = builder.add_node(graph, builder.label(f"out {i}", atom), "output")
        graph.add_edge(pydot.Edge(builder.source(graph, atom, producers), node))
    return graph


def draw(
    f: Callable[..., Any], collapse_primitives: bool = True, show_avals: bool = True
) -> Callable[..., Any]:
    """Return a function that traces ``f`` on its arguments and returns the pydot graph of its jaxpr.

    Parameters
    ----------
    f : callable
        A JAX-traceable function; it may read and write States (each State it touches is an input of
        the drawn program, and the new values of the written ones are outputs; nothing is written).
    collapse_primitives, show_avals : bool, optional
        See :func:`draw_dot_graph`.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> pydot.Dot``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_ir.draw import draw
    >>> def lif_step(v, i):
    ...     v = v + 0.1 * (-v + i)
    ...     return jnp.where(v > 1.0, 0.0, v), v > 1.0
    >>> graph = draw(lif_step)(jnp.zeros(3), jnp.ones(3))
    >>> sum(n.get_label().startswith("out") for n in graph.get_nodes())
    2
    """
    _pydot()  # fail at decoration time, not at the first call, when pydot is missing

    def traced(*args: Any, **kwargs: Any) -> Any:
        # Traced like every stateful function: the States it touches are inputs of the drawn program,
        # and nothing is written.
        program = StatefulFunction(f).get_program(*args, **kwargs)
        return draw_dot_graph(program.jaxpr, collapse_primitives, show_avals)

    return traced


def view_pydot(dot_graph: Any) -> None:
    """Display a pydot graph inline in a Jupyter notebook (as SVG; needs IPython and graphviz).

    Parameters
    ----------
    dot_graph : pydot.Dot
        A graph from :func:`draw` or :func:`draw_dot_graph`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.draw import draw_dot_graph, view_pydot
    >>> view_pydot(draw_dot_graph(jax.make_jaxpr(jnp.sin)(1.0)))  # doctest: +SKIP
    """
    _pydot()
    try:
        import IPython.display as ipython_display
    except ImportError as err:
        raise ImportError(
            "view_pydot displays graphs in Jupyter and needs IPython: pip install ipython."
        ) from err
    svg: Any = getattr(ipython_display, "SVG")  # noqa: B009 - not re-exported in the stubs
    show: Any = getattr(ipython_display, "display")  # noqa: B009
    show(svg(dot_graph.create_svg()))
