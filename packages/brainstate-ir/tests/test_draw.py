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
