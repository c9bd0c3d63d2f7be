"""Compiled mapped programs, shared by every mapping object and keyed by the traced program itself.

An eager mapped call traces the user function every time (so it is never stale), then looks the traced
program up here. The key describes the computation (the jaxpr with its constants described by type
only, the mapped axes, the batch size and the mapping), not the function object: a fresh lambda with the
same body, or the same function called again, reuses the executable; its constants are passed as
arguments. Entries hold no State.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import jax

__all__ = ["cached_executable", "program_key"]

_MAX_ENTRIES = 256
_LOCK = threading.Lock()
_ENTRIES: OrderedDict[Hashable, Any] = OrderedDict()


def _aval_key(x: Any) -> Hashable:
    return (
        tuple(jax.numpy.shape(x)),
        jax.numpy.result_type(x),
        bool(getattr(getattr(x, "aval", None), "weak_type", False)),
    )


def program_key(closed: Any) -> Hashable:
    """A key equal for two traces of the same computation (constants compared by type only)."""
    return (str(closed.jaxpr), tuple(_aval_key(c) for c in closed.consts))


def cached_executable(key: Hashable, build: Callable[[], Any]) -> Any:
    """The entry for ``key``, built with ``build()`` on a miss (least recently used entries are dropped)."""
    with _LOCK:
        entry = _ENTRIES.get(key)
        if entry is not None:
            _ENTRIES.move_to_end(key)
            return entry
    entry = build()
    with _LOCK:
        _ENTRIES[key] = entry
        while len(_ENTRIES) > _MAX_ENTRIES:
            _ENTRIES.popitem(last=False)
    return entry


def cache_size() -> int:
    """The number of cached entries (for tests and benchmarks)."""
    with _LOCK:
        return len(_ENTRIES)


__all__ += ["cache_size"]
