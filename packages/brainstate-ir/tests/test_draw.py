"""draw / draw_dot_graph / view_pydot: graph structure, collapsing, rendering, and the optional extra."""

from __future__ import annotations

import shutil
import sys
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from _ir_corpus import lif_step, traced
from brainstate_ir.draw import draw, draw_dot_graph, view_pydot

# These tests evaluate jaxprs op by op; JAX's leak checker would make every op a traced call.
JAX_LEAK_CHECKS = False

pydot = pytest.importorskip("pydot")


def labels(graph: Any) -> list[str]:
    nodes = list(graph.get_nodes())
    for sub in graph.get_subgraphs():
        nodes += labels_nodes(sub)
    return [str(n.get_label()).strip('"') for n in nodes if n.get_label()]


def labels_nodes(graph: Any) -> list[Any]:
    nodes = list(graph.get_nodes())
    for sub in graph.get_subgraphs():
        nodes += labels_nodes(sub)
    return nodes


def test_lif_step_graph_has_inputs_equations_outputs_with_types() -> None:
    graph = draw(lif_step)(jnp.zeros(3), jnp.ones(3))
    names = labels(graph)
    assert sum(n.startswith("in ") for n in names) == 2
    assert sum(n.startswith("out ") for n in names) == 2
    assert {"gt", "mul", "div"} <= {n.split("\n")[0] for n in names}
    assert any(n.startswith(("jit[_where]", "pjit[_where]")) for n in names)  # jnp.where, collapsed
    assert "out 1\nbool[3]" in names and "in 0\nf32[3]" in names
    assert len(graph.get_edges()) >= len(names) - 1


def test_show_avals_false_hides_types() -> None:
    graph = draw_dot_graph(jax.make_jaxpr(lif_step)(jnp.zeros(3), jnp.ones(3)), show_avals=False)
    assert "in 0" in labels(graph) and not any("f32" in n for n in labels(graph))


def test_collapse_primitives() -> None:
    closed, _ = traced("lif_scan")
    collapsed = draw_dot_graph(closed, collapse_primitives=True)
    expanded = draw_dot_graph(closed, collapse_primitives=False)
    assert collapsed.get_subgraphs() == [] and "scan" in labels(collapsed)
    assert len(expanded.get_subgraphs()) == 1
    assert len(labels(expanded)) > len(labels(collapsed))
    assert "gt" in [n.split("\n")[0] for n in labels(expanded)]  # the body's spike test is visible


def test_while_and_cond_expand() -> None:
    for program in ("while", "cond"):
        closed, _ = traced(program)
        expanded = draw_dot_graph(closed, collapse_primitives=False)
        assert len(expanded.get_subgraphs()) == 2, program  # cond+body, or the two branches
        expanded.to_string()  # well-formed dot source


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` binary not installed")
def test_renders_png(tmp_path: Any) -> None:
    graph = draw(lif_step)(jnp.zeros(3), jnp.ones(3))
    png = graph.create_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    graph.write_png(str(tmp_path / "lif.png"))
    assert (tmp_path / "lif.png").stat().st_size > 1000


def test_without_pydot_raises_import_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match=r"pip install brainstate-ir\[draw\]"):
        draw(lif_step)
    with pytest.raises(ImportError, match=r"pip install brainstate-ir\[draw\]"):
        draw_dot_graph(jax.make_jaxpr(jnp.sin)(1.0))
    with pytest.raises(ImportError, match=r"pip install brainstate-ir\[draw\]"):
        view_pydot(None)


def test_rejects_non_jaxpr() -> None:
    with pytest.raises(TypeError, match="draw_dot_graph expects a ClosedJaxpr or Jaxpr, got str"):
        draw_dot_graph("x")


def declared_nodes_and_edges(graph: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Node declarations and edges of the DOT source, parsed back (as graphviz reads it)."""
    (parsed,) = pydot.graph_from_dot_data(graph.to_string())
    nodes: list[str] = []
    edges: list[tuple[str, str]] = []

    def walk(g: Any) -> None:
        nodes.extend(n.get_name() for n in g.get_nodes() if n.get_name() not in ("node", "edge", "graph"))
        edges.extend((e.get_source(), e.get_destination()) for e in g.get_edges())
        for sub in g.get_subgraphs():
            walk(sub)

    walk(parsed)
    return nodes, edges


def cluster_labels(graph: Any) -> list[str]:
    found = []
    for sub in graph.get_subgraphs():
        found.append(str(sub.get_label()).strip('"'))
        found += cluster_labels(sub)
    return found


def scan_with_literals(x: jax.Array) -> Any:
    def body(carry: Any, xs: jax.Array) -> Any:
        return (carry[0] * x + 1.0, carry[1] + 2), (xs * 0.5, 3.0)

    return jax.lax.scan(body, (x, 2), jnp.arange(3.0))


def jit_literals_and_duplicates(x: jax.Array) -> Any:
    inner = jax.jit(lambda a, b, c: (a * b + c, 1.0))
    return inner(x, x, 2.0), jax.lax.cond(x > 0, lambda v: v * 2.0, lambda v: v - 1.0, 3.0), x, x, 5.0


@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("program", ["lif_scan", "while", "cond", "jit_nested", "random", "literals", "dup"])
def test_every_edge_joins_nodes_declared_exactly_once(program: str, collapse: bool) -> None:
    if program == "literals":
        closed = jax.make_jaxpr(scan_with_literals)(1.5)
    elif program == "dup":
        closed = jax.make_jaxpr(jit_literals_and_duplicates)(1.5)
    else:
        closed = traced(program)[0]
    nodes, edges = declared_nodes_and_edges(draw_dot_graph(closed, collapse_primitives=collapse))
    assert len(nodes) == len(set(nodes)), "a node is declared twice"
    dangling = [e for e in edges if e[0] not in nodes or e[1] not in nodes]
    assert dangling == [], "edges to undeclared nodes"
    # Every node is connected to something.
    assert set(nodes) == {end for edge in edges for end in edge}


def test_literal_operands_of_nested_bodies_are_declared() -> None:
    graph = draw_dot_graph(jax.make_jaxpr(jit_literals_and_duplicates)(1.5), collapse_primitives=False)
    names = [n.split("\n")[0] for n in labels(graph)]
    assert "2.0" in names and "3.0" in names and "5.0" in names  # jit, cond operands and an output


def test_duplicated_input_is_declared_once_and_feeds_each_use() -> None:
    graph = draw_dot_graph(jax.make_jaxpr(jit_literals_and_duplicates)(1.5), collapse_primitives=False)
    inputs = [n for n in graph.get_nodes() if str(n.get_label()).strip('"').startswith("in 0")]
    assert len(inputs) == 1
    (x,) = inputs
    uses = [e for e in graph.get_edges() if e.get_source() == x.get_name()]
    assert len(uses) >= 5  # twice into jit, once into the cond predicate, twice to the outputs


def test_jaxpr_listing_the_same_input_twice_declares_it_once() -> None:
    from brainstate_ir.compat import Jaxpr, make_debug_info

    inner = jax.make_jaxpr(lambda v: v * 2.0)(1.0).jaxpr
    (v,) = inner.invars
    doubled = Jaxpr(inner.constvars, [v, v], inner.outvars, inner.eqns, debug_info=make_debug_info("f", 2, 1))
    graph = draw_dot_graph(doubled)
    nodes, edges = declared_nodes_and_edges(graph)
    assert len(nodes) == len(set(nodes)) and all(a in nodes and b in nodes for a, b in edges)
    assert "in 0, 1\nf32[]" in labels(graph)


def test_scan_body_inputs_are_grouped_in_labelled_const_carry_and_xs_clusters() -> None:
    graph = draw_dot_graph(jax.make_jaxpr(scan_with_literals)(1.5), collapse_primitives=False)
    assert {"consts", "carry", "xs"} <= set(cluster_labels(graph))
    names = [n.split("\n")[0] for n in labels(graph)]
    assert {"const 0", "carry 0", "carry 1", "x 0"} <= set(names)
    closed, _ = traced("while")
    graph = draw_dot_graph(closed, collapse_primitives=False)
    assert cluster_labels(graph).count("carry") == 2  # the cond and the body of the while loop


def test_draw_a_function_that_uses_states():
    # A function that reads and writes States is drawn like any other: each State is an input of the
    # drawn program, and drawing writes nothing.
    import numpy as np

    import brainstate_state as bss

    counter = bss.State(jnp.zeros(3), name="counter")

    def step(x):
        counter.value = counter.value + x
        return counter.value.sum()

    graph = draw(step)(jnp.ones(3))
    labels = [n.get_label().split("\\n")[0] for n in graph.get_nodes()]
    assert sum(label.startswith("in ") for label in labels) == 2  # x and the State
    assert sum(label.startswith("out ") for label in labels) == 2  # the sum and the new State value
    np.testing.assert_array_equal(counter.value, np.zeros(3))
