"""``Node``: the base class of mutable graph objects (``nn.Module`` derives from it).

The graph functions (``treefy_split``, ``states``, ...) traverse a Node's instance attributes, in sorted
attribute-name order, looking for States, sub-Nodes, and lists/tuples/dicts (any pytree) holding them.
Attributes named in ``graph_invisible_attrs`` are carried along unchanged but never searched.

Storing, replacing or deleting an attribute whose new or old value is a State or a Node (or a list,
tuple or dict directly holding one) invalidates the cached programs whose trace read this node's
attributes (see ``brainstate_state._epoch``) and bumps :data:`brainstate_state.GRAPH_EPOCH`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import jax

from .._epoch import node_changed, record_reads_of
from .._state import State

__all__ = ["Node"]

_REPR_ACTIVE = threading.local()


def _holds_graph_value(value: Any) -> bool:
    if isinstance(value, (State, Node)):
        return True
    kind = type(value)
    if kind is list or kind is tuple:
        return any(isinstance(v, (State, Node)) for v in value)
    if kind is dict:
        return any(isinstance(v, (State, Node)) for v in value.values())
    return False


class Node:
    """A mutable object whose attributes hold States and sub-Nodes; the unit the graph functions traverse.

    Attributes
    ----------
    graph_invisible_attrs
        Names of attributes the graph functions carry along without searching them for States.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import Node, states
    >>> class Cell(Node):
    ...     def __init__(self):
    ...         self.v = bss.HiddenState(jnp.zeros(2))
    ...         self.w = bss.ParamState(jnp.ones(2))
    >>> list(states(Cell()))
    [('v',), ('w',)]
    >>> epoch = bss.GRAPH_EPOCH.value
    >>> cell = Cell()
    >>> bss.GRAPH_EPOCH.value > epoch
    True
    """

    graph_invisible_attrs: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if _holds_graph_value(value) or _holds_graph_value(self.__dict__.get(name)):
            node_changed(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if _holds_graph_value(self.__dict__.get(name)):
            node_changed(self)
        object.__delattr__(self, name)

    def check_valid_context(self, error_msg: Callable[[], str]) -> None:
        """Raise :class:`TraceContextError` with ``error_msg()`` if a State reachable from this node is
        unusable here: its value was invalidated by a failed transformation, or it holds a JAX tracer
        although no JAX trace is active (a leaked tracer).

        Examples
        --------
        >>> from brainstate_state import Node
        >>> import jax.numpy as jnp
        >>> import brainstate_state as bss
        >>> class Cell(Node):
        ...     def __init__(self):
        ...         self.v = bss.State(jnp.zeros(2))
        >>> Cell().check_valid_context(lambda: 'Cell is not valid here')
        """
        from .._errors import TraceContextError
        from .._jax_compat import Tracer, current_jax_trace
        from .._state import InvalidatedValue

        eager = current_jax_trace() is None
        for state in _reachable_states(self):
            raw = state.__dict__.get("_value")
            if isinstance(raw, InvalidatedValue) or (
                eager and any(isinstance(leaf, Tracer) for leaf in jax.tree.leaves(raw))
            ):
                raise TraceContextError(error_msg())

    def _repr_fields(self) -> list[str]:
        """Extra ``key=value`` items shown first in the repr (subclasses add e.g. their name)."""
        return []

    def __repr__(self) -> str:
        active: set[int] = getattr(_REPR_ACTIVE, "ids", set())
        _REPR_ACTIVE.ids = active
        if id(self) in active:
            return f"{type(self).__name__}(...)"
        active.add(id(self))
        try:
            lines = [f"  {field}," for field in self._repr_fields()]
            for key in sorted(vars(self)):
                value = vars(self)[key]
                if key in type(self).graph_invisible_attrs or not _shows(value):
                    continue
                text = repr(value).replace("\n", "\n  ")
                lines.append(f"  {key}={text},")
        finally:
            active.discard(id(self))
        if not lines:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


record_reads_of(Node)  # trace recordings see which Nodes a function reads


def _reachable_states(root: Node) -> list[State[Any]]:
    """Every State reachable from ``root`` through Node attributes and pytrees of them, each once."""
    found: dict[int, State[Any]] = {}
    seen: set[int] = set()
    pending: list[Node] = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        hidden = type(node).graph_invisible_attrs
        values = [v for k, v in vars(node).items() if k not in hidden]
        for leaf in jax.tree.leaves(values, is_leaf=lambda x: isinstance(x, (State, Node))):
            if isinstance(leaf, State):
                found.setdefault(id(leaf), leaf)
            elif isinstance(leaf, Node):
                pending.append(leaf)
    return list(found.values())


def _shows(value: Any) -> bool:
    """Whether ``Node.__repr__`` lists the attribute: States, Nodes and containers of them."""
    if isinstance(value, (State, Node)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_shows(v) for v in value)
    if isinstance(value, dict):
        return any(_shows(v) for v in value.values())
    return False
