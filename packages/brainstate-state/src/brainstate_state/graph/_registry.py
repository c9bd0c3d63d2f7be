"""Registration of foreign classes as graph nodes (besides :class:`~brainstate_state.graph.Node`)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .._state import State
from ._node import Node

__all__ = ["GraphNodeImpl", "is_graph_node", "lookup_graph_node_type", "register_graph_node_type"]


@dataclass(frozen=True)
class GraphNodeImpl:
    """How to take a registered node apart and build it again."""

    flatten: Callable[[Any], tuple[Iterable[tuple[Hashable, Any]], Hashable]]
    unflatten: Callable[[Hashable, dict[Hashable, Any]], Any]


_REGISTRY: dict[type, GraphNodeImpl] = {}


def register_graph_node_type(
    cls: type,
    flatten: Callable[[Any], tuple[Iterable[tuple[Hashable, Any]], Hashable]],
    unflatten: Callable[[Hashable, dict[Hashable, Any]], Any] | None = None,
    pop_key: Callable[[Any, Hashable], Any] | None = None,
    create_empty: Callable[[Hashable], Any] | None = None,
    clear: Callable[[Any], None] | None = None,
    *,
    set_key: Callable[[Any, Hashable, Any], None] | None = None,
) -> None:
    """Let the graph functions traverse instances of ``cls`` like :class:`Node`\\ s.

    Two protocols are accepted: ``register_graph_node_type(cls, flatten, unflatten)``, and the one of
    brainstate 0.5.4, ``register_graph_node_type(type, flatten, set_key, pop_key, create_empty, clear)``
    (the third positional argument is then ``set_key``). With the latter a node is rebuilt as
    ``obj = create_empty(metadata)`` followed by ``set_key(obj, key, child)`` for every child;
    ``pop_key`` and ``clear`` are accepted for compatibility but not needed (rebuilt nodes are new
    objects).

    Parameters
    ----------
    cls
        The class to register (not a Node subclass, not a State).
    flatten
        ``flatten(obj) -> (children, metadata)``: ``children`` is an iterable of ``(key, value)`` pairs
        (values may be States, nodes or pytrees of them); ``metadata`` is hashable static data.
    unflatten
        ``unflatten(metadata, children_dict) -> obj`` builds a new instance from the rebuilt children.

    Notes
    -----
    A registered node is rebuilt after its children, so a reference cycle that runs through a registered
    node (a child pointing back at it) cannot be merged; cycles through :class:`Node` objects can.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_state.graph import register_graph_node_type, treefy_split, treefy_merge
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> register_graph_node_type(
    ...     Pair, lambda p: ([('a', p.a), ('b', p.b)], None), lambda meta, ch: Pair(ch['a'], ch['b']))
    >>> graphdef, tree = treefy_split(Pair(bss.State(jnp.ones(1)), bss.State(jnp.zeros(1))))
    >>> sorted(tree)
    ['a', 'b']
    >>> type(treefy_merge(graphdef, tree)).__name__
    'Pair'
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_graph_node_type expects a class, but got {cls!r}.")
    if issubclass(cls, (Node, State)):
        raise TypeError(
            f"register_graph_node_type: {cls.__name__} is a {'Node' if issubclass(cls, Node) else 'State'} "
            "subclass, which the graph functions already handle. How to fix: do not register it."
        )
    if create_empty is not None or set_key is not None:
        # The 0.5.4 protocol: (type, flatten, set_key, pop_key, create_empty, clear).
        setter = set_key if set_key is not None else unflatten
        if not (callable(setter) and callable(create_empty)):
            raise TypeError(
                "register_graph_node_type: the (type, flatten, set_key, pop_key, create_empty, clear) form "
                "needs callable `set_key` and `create_empty`."
            )
        unflatten = _unflatten_by_setting(create_empty, setter)  # type: ignore[arg-type]
    if not (callable(flatten) and callable(unflatten)):
        raise TypeError("register_graph_node_type: `flatten` and `unflatten` must be callables.")
    _REGISTRY[cls] = GraphNodeImpl(flatten, unflatten)


def _unflatten_by_setting(
    create_empty: Callable[[Hashable], Any], set_key: Callable[[Any, Hashable, Any], None]
) -> Callable[[Hashable, dict[Hashable, Any]], Any]:
    def unflatten(metadata: Hashable, children: dict[Hashable, Any]) -> Any:
        obj = create_empty(metadata)
        for key, value in children.items():
            set_key(obj, key, value)
        return obj

    return unflatten


def lookup_graph_node_type(cls: type) -> GraphNodeImpl | None:
    """The registration of ``cls`` (exact type), or ``None``."""
    return _REGISTRY.get(cls)


def is_graph_node(x: Any) -> bool:
    """Whether ``x`` is a :class:`Node` or an instance of a registered graph node type.

    Examples
    --------
    >>> from brainstate_state import Node
    >>> from brainstate_state.graph import is_graph_node
    >>> is_graph_node(Node()), is_graph_node([1])
    (True, False)
    """
    return isinstance(x, Node) or type(x) in _REGISTRY
