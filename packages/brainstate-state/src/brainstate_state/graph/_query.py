"""Finding the live States and nodes of a graph: ``states``, ``nodes``, ``iter_leaf``, ``iter_node``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._state import State
from ..containers import FlattedDict, Path, sort_paths
from ..filters import Filter, to_predicate
from ._flatten import Traversal

__all__ = ["Hierarchy", "iter_leaf", "iter_node", "nodes", "states"]

#: ``(lowest, highest)`` hierarchy levels to include. The root node is level 0; the States and nodes
#: held by the root (directly or inside lists/dicts) are level 1; those held by its sub-nodes level 2, ...
Hierarchy = tuple[int, int]
_ALL: Hierarchy = (0, 2**31 - 1)


def _check_hierarchy(allowed_hierarchy: Any) -> Hierarchy:
    if (
        not isinstance(allowed_hierarchy, tuple)
        or len(allowed_hierarchy) != 2
        or not all(isinstance(v, int) for v in allowed_hierarchy)
        or allowed_hierarchy[0] > allowed_hierarchy[1]
    ):
        raise ValueError(
            f"allowed_hierarchy must be a (low, high) tuple of ints with low <= high, but got {allowed_hierarchy!r}."
        )
    return allowed_hierarchy


def _select(items: list[tuple[Path, Any]], filters: tuple[Filter, ...]) -> Any:
    if not filters:
        return FlattedDict(items)
    predicates = [to_predicate(f) for f in filters]
    groups: list[FlattedDict] = [FlattedDict() for _ in predicates]
    for path, obj in items:
        for predicate, group in zip(predicates, groups, strict=True):
            if predicate(path, obj):
                group[path] = obj
                break
    return groups[0] if len(groups) == 1 else tuple(groups)


def iter_leaf(node: Any, allowed_hierarchy: Hierarchy = _ALL) -> Iterator[tuple[Path, State[Any]]]:
    """Yield ``(path, state)`` for every State of the graph (each once, at its first path, sorted).

    Examples
    --------
    >>> from brainstate_state.graph import iter_leaf
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.b, self.a = bss.State(jnp.ones(1)), bss.State(jnp.ones(1))
    >>> [path for path, _ in iter_leaf(M())]
    [('a',), ('b',)]
    """
    low, high = _check_hierarchy(allowed_hierarchy)
    walk = Traversal(build=False)
    walk.visit_root(node)
    found = walk.states
    for path in sort_paths(found):
        state, level = found[path]
        if low <= level <= high:
            yield path, state


def iter_node(node: Any, allowed_hierarchy: Hierarchy = _ALL) -> Iterator[tuple[Path, Any]]:
    """Yield ``(path, node)`` for every node of the graph, the root first (path ``()``), each once.

    Examples
    --------
    >>> from brainstate_state.graph import iter_node
    >>> from brainstate_state.graph import Node
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.layers = [Node(), Node()]
    >>> [path for path, _ in iter_node(M())]
    [(), ('layers', 0), ('layers', 1)]
    """
    low, high = _check_hierarchy(allowed_hierarchy)
    walk = Traversal(build=False)
    walk.visit_root(node)
    found = {path: (obj, level) for path, obj, level in walk.nodes}
    for path in sort_paths(found):
        obj, level = found[path]
        if low <= level <= high:
            yield path, obj


def states(node: Any, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
    """The live States of a graph, keyed by path tuples (sorted).

    Parameters
    ----------
    node
        A graph node (e.g. an ``nn.Module``).
    *filters
        Without filters: every State, as one :class:`FlattedDict`. With one filter: the matching States.
        With several: a tuple of FlattedDicts, each State in the first filter it matches (States matching
        none are left out).
    allowed_hierarchy
        ``(low, high)``: only States held at these hierarchy levels (the root's own States are level 1).

    Returns
    -------
    FlattedDict or tuple of FlattedDict

    Examples
    --------
    >>> from brainstate_state.graph import states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node
    >>> class Linear(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones((2, 1)))
    ...         self.b = bss.ParamState(jnp.zeros(1))
    ...         self.h = bss.HiddenState(jnp.zeros(1))
    >>> list(states(Linear(), bss.ParamState))
    [('b',), ('w',)]
    >>> params, hidden = states(Linear(), bss.ParamState, bss.HiddenState)
    >>> list(hidden)
    [('h',)]
    """
    return _select(list(iter_leaf(node, allowed_hierarchy)), filters)


def nodes(node: Any, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
    """The nodes of a graph (the root included, at path ``()``), keyed by path tuples.

    Filters select nodes as in :func:`states` (a type filter matches by ``isinstance``).

    Examples
    --------
    >>> from brainstate_state.graph import nodes
    >>> from brainstate_state.graph import Node
    >>> class Leaf(Node):
    ...     pass
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.child = Leaf()
    >>> list(nodes(M())), list(nodes(M(), Leaf))
    ([(), ('child',)], [('child',)])
    """
    return _select(list(iter_node(node, allowed_hierarchy)), filters)
