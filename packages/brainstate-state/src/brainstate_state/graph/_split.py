"""Splitting a node into a GraphDef plus pure state trees, and merging them back into a new node."""

from __future__ import annotations

from typing import Any

from .._errors import describe_state
from .._pretty_dict import _split_flat
from .._state import State
from ..containers import Path, nest_mapping
from ..filters import Filter, to_predicate
from ._flatten import Builder, Traversal, _as_flat, flatten
from ._graphdef import GraphDef

__all__ = ["clone", "graphdef", "treefy_merge", "treefy_split", "treefy_states"]


def _snapshots(node: Any) -> tuple[GraphDef, dict[Path, Any], dict[Path, State[Any]]]:
    walk = Traversal()
    root = walk.visit_root(node)
    live = {path: state for path, (state, _) in walk.states.items()}
    return GraphDef(root), {path: state.to_state_ref() for path, state in live.items()}, live


def treefy_split(node: Any, *filters: Filter) -> tuple[Any, ...]:
    """Split ``node`` into a :class:`GraphDef` and one state tree (NestedDict of TreefyState) per filter.

    Each State goes to the first filter it matches; ``...`` catches all remaining States. Every State must
    match some filter. A State shared by several sub-modules appears once, at its first path (in sorted
    attribute order). The trees are pytrees, so plain JAX transforms accept them.

    Parameters
    ----------
    node
        A graph node (e.g. an ``nn.Module``).
    *filters
        Filters (see :mod:`brainstate_state.filters`). Without filters, one tree holds every State.

    Returns
    -------
    tuple
        ``(graphdef, tree)`` or ``(graphdef, tree_1, ..., tree_n)``.

    Raises
    ------
    ValueError
        If some State matches none of the filters (the message lists them).

    Examples
    --------
    >>> from brainstate_state.graph import treefy_split
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class TinyLinear(Node):
    ...     def __init__(self):
    ...         self.weight = bss.ParamState(jnp.array([[1.0]]))
    ...         self.bias = bss.ParamState(jnp.array([0.0]))
    >>> graphdef, params, others = treefy_split(TinyLinear(), bss.ParamState, ...)
    >>> list(params.to_flat()), len(others)
    ([('bias',), ('weight',)], 0)
    """
    gdef, flat, live = _snapshots(node)
    if not filters:
        return gdef, nest_mapping(flat)
    predicates = [to_predicate(f) for f in filters]
    groups: list[dict[Path, Any]] = [{} for _ in predicates]
    unmatched: list[Path] = []
    for path, snapshot in flat.items():
        for predicate, group in zip(predicates, groups, strict=True):
            if predicate(path, snapshot):
                group[path] = snapshot
                break
        else:
            unmatched.append(path)
    if unmatched:
        listing = "; ".join(f"{p}: {describe_state(live[p])}" for p in unmatched[:10])
        more = f" (and {len(unmatched) - 10} more)" if len(unmatched) > 10 else ""
        raise ValueError(
            f"treefy_split: {len(unmatched)} State(s) match none of the filters {filters!r}: {listing}{more}. "
            "How to fix: add a filter for them, or end the filters with `...` to collect the rest."
        )
    return (gdef, *(nest_mapping(g) for g in groups))


def treefy_merge(graphdef: GraphDef, *state_mappings: Any) -> Any:
    """Build a NEW node from a :class:`GraphDef` and the state trees of :func:`treefy_split`.

    Every snapshot becomes a new State; shared States and sub-modules are rebuilt once and shared again.

    Raises
    ------
    ValueError
        If a State of the graph has no value in the mappings, or the mappings hold unknown paths.
    TypeError
        If ``graphdef`` is not a GraphDef or a mapping is not a dict-like state tree.

    Examples
    --------
    >>> from brainstate_state.graph import treefy_merge
    >>> from brainstate_state.graph import treefy_split
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    >>> m = M()
    >>> graphdef, params = treefy_split(m)
    >>> m2 = treefy_merge(graphdef, params)
    >>> m2 is m, type(m2).__name__, m2.w.value
    (False, 'M', Array([1.], dtype=float32))
    """
    if not isinstance(graphdef, GraphDef):
        raise TypeError(
            f"treefy_merge expects a GraphDef as its first argument, but got {type(graphdef).__name__}. "
            "How to fix: pass the graphdef returned by treefy_split."
        )
    flat: dict[Path, Any] = {}
    for mapping in state_mappings:
        flat.update(_as_flat(mapping))
    builder = Builder(flat)
    node = builder.edge(graphdef.root, ())
    builder.check_all_used()
    return node


def treefy_states(node: Any, *filters: Filter) -> Any:
    """The states of ``node`` as TreefyState trees (NestedDict), without the GraphDef.

    One filter (or none) gives one NestedDict; several give a tuple, each State in the first filter it
    matches (States matching none are left out).

    Examples
    --------
    >>> from brainstate_state.graph import treefy_states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    ...         self.h = bss.HiddenState(jnp.zeros(1))
    >>> list(treefy_states(M(), bss.ParamState).to_flat())
    [('w',)]
    """
    _, flat, _ = _snapshots(node)
    if not filters:
        return nest_mapping(flat)
    groups = [nest_mapping(g) for g in _split_flat(flat, filters, exhaustive=False, what="treefy_states")]
    return groups[0] if len(groups) == 1 else tuple(groups)


def graphdef(node: Any) -> GraphDef:
    """The :class:`GraphDef` of ``node`` (without reading any State value).

    Examples
    --------
    >>> from brainstate_state.graph import graphdef
    >>> from brainstate_state.graph import Node
    >>> graphdef(Node())
    GraphDef(Node())
    """
    walk = Traversal()
    return GraphDef(walk.visit_root(node))


def clone(node: Any) -> Any:
    """A deep copy of ``node``'s graph with new States (same values), sharing preserved.

    Examples
    --------
    >>> from brainstate_state.graph import clone
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    >>> m = M()
    >>> c = clone(m)
    >>> c.w is m.w, bool((c.w.value == m.w.value).all())
    (False, True)
    """
    gdef, tree = flatten(node)
    return treefy_merge(gdef, tree)
