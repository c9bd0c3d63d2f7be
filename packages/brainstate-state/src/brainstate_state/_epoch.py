"""Exact invalidation of cached programs: which graph nodes a trace reached, and when they change.

While a stateful function is traced, every attribute read of a graph node (``Node``, hence every
``nn.Module``) is recorded (:func:`recording_node_reads`). The program cached for that trace gets a
:class:`GraphWatch` on exactly those nodes (:func:`watch_nodes`). When one of them stores, replaces or
deletes a State or a node attribute (``Node.__setattr__`` calls :func:`node_changed`), the watches on that
node become invalid, and so do the programs: the next call retraces and sees the new States. Changing an
unrelated module costs nothing to any cached program.

``GRAPH_EPOCH`` still counts every such change in the process (a coarse signal); :func:`bump_graph_epoch`
invalidates every watch (use it after replacing a State held by a plain Python object, which no watch
can see).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "GRAPH_EPOCH",
    "GraphWatch",
    "bump_graph_epoch",
    "node_changed",
    "note_node_reads",
    "recording_node_reads",
    "watch_nodes",
]


class _Epoch:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


GRAPH_EPOCH = _Epoch()


class GraphWatch:
    """Valid until one of the watched nodes changes a State or node attribute (or ``bump_graph_epoch``).

    Attributes
    ----------
    valid
        ``False`` once a watched node changed.
    nodes
        Weak references to the watched nodes.
    """

    __slots__ = ("__weakref__", "nodes", "valid")

    def __init__(self, nodes: tuple[weakref.ref[Any], ...] = ()) -> None:
        self.valid = True
        self.nodes = nodes

    def __repr__(self) -> str:
        return f"GraphWatch(valid={self.valid}, nodes={len(self.nodes)})"


_LOCK = threading.Lock()
# id(node) -> (weak reference to the node, the watches on it)
_WATCHERS: dict[int, tuple[weakref.ref[Any], weakref.WeakSet[GraphWatch]]] = {}
_ALL_WATCHES: weakref.WeakSet[GraphWatch] = weakref.WeakSet()


def _forget(node_id: int, ref: weakref.ref[Any]) -> None:
    entry = _WATCHERS.get(node_id)
    if entry is not None and entry[0] is ref:
        _WATCHERS.pop(node_id, None)


def _forgetter(node_id: int) -> Callable[[weakref.ref[Any]], None]:
    def forget(ref: weakref.ref[Any]) -> None:
        _forget(node_id, ref)

    return forget


def watch_nodes(nodes: Iterable[Any]) -> GraphWatch:
    """A watch that becomes invalid when any of ``nodes`` changes a State or node attribute."""
    refs = []
    watch = GraphWatch()
    with _LOCK:
        for node in nodes:
            node_id = id(node)
            entry = _WATCHERS.get(node_id)
            if entry is None or entry[0]() is not node:
                ref = weakref.ref(node, _forgetter(node_id))
                entry = _WATCHERS[node_id] = (ref, weakref.WeakSet())
            entry[1].add(watch)
            refs.append(entry[0])
        _ALL_WATCHES.add(watch)
    watch.nodes = tuple(refs)
    return watch


def node_changed(node: Any) -> None:
    """Record that ``node`` stored, replaced or deleted a State or node attribute."""
    GRAPH_EPOCH.value += 1
    entry = _WATCHERS.pop(id(node), None)
    if entry is not None and entry[0]() is node:
        for watch in list(entry[1]):
            watch.valid = False


def bump_graph_epoch() -> None:
    """Invalidate every cached program (after changing States held outside graph nodes)."""
    GRAPH_EPOCH.value += 1
    with _LOCK:
        watches = list(_ALL_WATCHES)
    for watch in watches:
        watch.valid = False


# ---------------------------------------------------------------- recording the nodes a trace reads
_LOCAL = threading.local()
_HOOK_USERS = 0
_RECORDED_CLASSES: list[type] = []  # the graph node base class (graph._node registers it)


def record_reads_of(cls: type) -> None:
    """Make :func:`recording_node_reads` record the attribute reads of instances of ``cls``."""
    _RECORDED_CLASSES.append(cls)


def _recording_getattribute(self: Any, name: str) -> Any:
    stack = _LOCAL.__dict__.get("stack")
    if stack:
        stack[-1][id(self)] = self
    return object.__getattribute__(self, name)


def _install_hook(install: bool) -> None:
    global _HOOK_USERS
    with _LOCK:
        if install:
            _HOOK_USERS += 1
            if _HOOK_USERS == 1:
                for cls in _RECORDED_CLASSES:
                    cls.__getattribute__ = _recording_getattribute  # type: ignore[method-assign, assignment]
        else:
            _HOOK_USERS -= 1
            if _HOOK_USERS == 0:
                for cls in _RECORDED_CLASSES:
                    del cls.__getattribute__


@contextmanager
def recording_node_reads() -> Iterator[dict[int, Any]]:
    """Record (in the yielded dict, ``id -> node``) every graph node whose attribute is read in the block.

    Nested blocks also report their nodes to the enclosing block.
    """
    stack: list[dict[int, Any]] | None = _LOCAL.__dict__.get("stack")
    if stack is None:
        stack = _LOCAL.stack = []
    nodes: dict[int, Any] = {}
    stack.append(nodes)
    _install_hook(True)
    try:
        yield nodes
    finally:
        _install_hook(False)
        stack.pop()
        if stack:
            stack[-1].update(nodes)


def note_node_reads(watch: GraphWatch) -> None:
    """Inside :func:`recording_node_reads`: record ``watch``'s nodes as read (a cached program reused)."""
    stack = _LOCAL.__dict__.get("stack")
    if stack:
        target = stack[-1]
        for ref in watch.nodes:
            node = ref()
            if node is not None:
                target[id(node)] = node
