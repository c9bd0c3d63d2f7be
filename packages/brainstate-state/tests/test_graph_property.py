"""Property test: split/merge of random graphs (shared nodes, shared States, cycles, containers).

The merged graph is compared with the original through an independent canonical walk that replaces
every object by the order in which it is first reached: equal descriptions mean the same sharing
structure; the merged graph must hold only new objects with the same values.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_state import graph


def canonical(root: Any) -> tuple[list[Any], list[Any]]:
    """Describe the graph under root; return (description, objects in first-reached order)."""
    seen: dict[int, int] = {}
    objects: list[Any] = []
    out: list[Any] = []

    def visit(x: Any) -> Any:
        if isinstance(x, (bss.State, bss.nn.Module)):
            if id(x) in seen:
                return ("ref", seen[id(x)])
            seen[id(x)] = len(objects)
            objects.append(x)
            if isinstance(x, bss.State):
                return ("state", type(x).__name__, x.name, float(x.value[0]))
            return ("node", tuple((k, visit(v)) for k, v in sorted(vars(x).items())))
        if isinstance(x, list):
            return ("list", tuple(visit(v) for v in x))
        if isinstance(x, dict):
            return ("dict", tuple((k, visit(v)) for k, v in sorted(x.items())))
        return ("static", x)

    out.append(visit(root))
    return out, objects


@st.composite
def random_graphs(draw: st.DrawFn) -> bss.nn.Module:
    n_nodes = draw(st.integers(1, 5))
    n_states = draw(st.integers(0, 5))
    nodes = [bss.nn.Module() for _ in range(n_nodes)]
    kinds = [bss.State, bss.ParamState, bss.HiddenState]
    states = [draw(st.sampled_from(kinds))(jnp.full(1, float(i)), name=f"s{i}") for i in range(n_states)]
    targets: list[Any] = nodes + states

    def pick() -> Any:
        return targets[draw(st.integers(0, len(targets) - 1))]

    for node in nodes:
        for k in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["one", "list", "dict", "static"]))
            if kind == "one":
                value: Any = pick()
            elif kind == "list":
                value = [pick() for _ in range(draw(st.integers(0, 3)))]
            elif kind == "dict":
                value = {f"k{j}": pick() for j in range(draw(st.integers(0, 3)))}
            else:
                value = draw(st.integers(0, 9))
            setattr(node, f"a{k}", value)
    return nodes[0]


@settings(max_examples=40, deadline=None)
@given(root=random_graphs())
def test_split_merge_preserves_structure_sharing_and_values(root: bss.nn.Module) -> None:
    description, objects = canonical(root)
    live_states = [o for o in objects if isinstance(o, bss.State)]

    found = graph.states(root)
    assert len(found) == len(live_states)
    assert {id(s) for s in found.values()} == {id(s) for s in live_states}
    assert list(found) == sorted(found, key=bss.containers.sort_key)

    gdef, params, rest = graph.treefy_split(root, bss.ParamState, ...)
    merged = graph.treefy_merge(gdef, params, rest)
    merged_description, merged_objects = canonical(merged)
    assert merged_description == description
    assert not ({id(o) for o in merged_objects} & {id(o) for o in objects})

    assert graph.graphdef(merged) == gdef
    assert list(graph.states(merged)) == list(found)
