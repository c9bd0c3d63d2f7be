"""Changing a live graph in place: ``update_states`` and ``pop_states``."""

from __future__ import annotations

from typing import Any

from .._state import State
from .._treefy import TreefyState
from ..containers import Path, nest_mapping, sort_key
from ..filters import Filter, to_predicate
from ._flatten import Traversal, _as_flat
from ._node import Node

__all__ = ["pop_states", "update_states"]


def update_states(node: Any, state_dict: Any, /, *state_dicts: Any) -> None:
    """Write values into the live States of ``node`` from one or more state mappings.

    Each mapping (NestedDict, FlattedDict or nested dict, keyed like :func:`treefy_states`) holds
    snapshots, States or raw values; each value is written into the State at the same path.

    Raises
    ------
    ValueError
        If a path does not name a State of ``node``; nothing is written then.

    Examples
    --------
    >>> from brainstate_state.graph import update_states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, treefy_states
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    >>> m = M()
    >>> update_states(m, {'w': jnp.zeros(1)})
    >>> m.w.value
    Array([0.], dtype=float32)
    """
    walk = Traversal(build=False)
    walk.visit_root(node)
    live = {path: state for path, (state, _) in walk.states.items()}
    flat: dict[Path, Any] = {}
    for mapping in (state_dict, *state_dicts):
        flat.update(_as_flat(mapping))
    unknown = [p for p in flat if p not in live]
    if unknown:
        raise ValueError(
            f"update_states: {type(node).__name__} has no State at the paths {unknown[:10]}; nothing was "
            f"written. Its State paths are {sorted(live, key=sort_key)[:20]}."
        )
    for path, item in flat.items():
        live[path].value = item.value if isinstance(item, (State, TreefyState)) else item


def _container_of(root: Any, path: Path) -> Any:
    obj = root
    for key_ in path[:-1]:
        key: Any = key_
        if isinstance(obj, Node):
            obj = vars(obj)[str(key)]
        elif isinstance(obj, (dict, list, tuple)):
            obj = obj[key]
        else:  # a custom pytree node (e.g. a namedtuple): its keys are attribute names or indices
            obj = getattr(obj, key) if isinstance(key, str) else obj[key]
    return obj


def pop_states(node: Any, filter: Filter, /, *filters: Filter) -> Any:  # noqa: A002 - the natural name
    """Remove the matching States from ``node`` and return them as TreefyState trees.

    The States are deleted from the node attributes or dicts that hold them (at every path where they
    appear). One filter gives one NestedDict, several a tuple (each State in the first filter it matches).

    Raises
    ------
    ValueError
        If a matching State sits inside a list, tuple or other non-dict container (it cannot be removed
        without shifting its neighbours); nothing is removed then.

    Examples
    --------
    >>> from brainstate_state.graph import pop_states
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, states
    >>> class M(Node):
    ...     def __init__(self):
    ...         self.w = bss.ParamState(jnp.ones(1))
    ...         self.h = bss.HiddenState(jnp.zeros(1))
    >>> m = M()
    >>> popped = pop_states(m, bss.HiddenState)
    >>> list(popped.to_flat()), list(states(m)), hasattr(m, 'h')
    ([('h',)], [('w',)], False)
    """
    all_filters = (filter, *filters)
    predicates = [to_predicate(f) for f in all_filters]
    walk = Traversal(build=False)
    walk.visit_root(node)
    groups: list[dict[Path, Any]] = [{} for _ in predicates]
    chosen: set[int] = set()
    for path, (state, _) in walk.states.items():
        for predicate, group in zip(predicates, groups, strict=True):
            if predicate(path, state):
                group[path] = state.to_state_ref()
                chosen.add(id(state))
                break
    occurrences = [p for p, (s, _) in walk.states.items() if id(s) in chosen]
    occurrences += [p for p, s in walk.state_refs if id(s) in chosen]
    containers = [(path, _container_of(node, path)) for path in occurrences]
    for path, container in containers:
        if not isinstance(container, (Node, dict)):
            raise ValueError(
                f"pop_states: the State at path {path} is held by a {type(container).__name__}, from which it "
                "cannot be removed; nothing was removed. How to fix: keep such States in a dict or directly "
                "as attributes, or rebuild the container yourself."
            )
    for path, container in containers:
        if isinstance(container, Node):
            delattr(container, str(path[-1]))
        else:
            del container[path[-1]]
    out = tuple(nest_mapping(g) for g in groups)
    return out[0] if len(out) == 1 else out
