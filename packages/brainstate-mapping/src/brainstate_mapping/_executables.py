"""Where mapped calls get their compiled programs, and a memo of which written values come out batched.

An eager mapped call traces the user function every time (so it is never stale) and then looks the traced
program up by its structure (``brainstate_ir.jaxpr_key``: the jaxpr with its constants described by type
only) plus the mapping's static options. A program seen for the first time runs op by op; from its second
sighting ``jax.vmap`` programs go through the process-wide ``brainstate_ir.COMPILED_PROGRAMS`` cache, shared with ``jit``, the autodiff transforms and control flow: a
fresh lambda with the same body, or the same function called again, reuses one executable, its constants
passed as arguments. Mapping functions that compile by themselves (``jax.pmap``) keep their executables
with the mapping object. No entry holds a State.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from brainstate_ir import COMPILED_PROGRAMS

__all__ = ["BATCHED_WRITES", "CODE_HINTS", "SIGHTINGS", "BoundedMemo", "shared_jitted"]


class BoundedMemo:
    """A thread-safe least-recently-used memo: ``get(key, compute)``."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def peek(self, key: Hashable) -> Any:
        """The value for ``key`` or ``None`` (not computed)."""
        with self._lock:
            return self._entries.get(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: Which written values of a traced program come out batched, per program structure and mapped axes.
BATCHED_WRITES = BoundedMemo(1024)

#: The States the last call of a function's code batched on input (weakly held), so that a fresh mapping
#: object of the same function (``vmap2(lambda ...)`` written inside a loop) starts its trace from them.
CODE_HINTS = BoundedMemo(256)


#: Keys of mapped programs seen once (run op by op then; compiled when seen again).
SIGHTINGS = BoundedMemo(4096)


def shared_jitted(key: Hashable, build: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    """The function to run for ``key``: ``build()`` itself the first time, then its compiled form.

    A program seen for the first time runs op by op, as JAX's eager mode does (no XLA compile: a program
    that is never seen again, e.g. one holding a fresh host callback, costs no compile); from the second
    sighting on, ``jax.jit(build())`` is made once in the process-wide compiled-program cache.
    """
    full = ("brainstate-mapping", key)
    if SIGHTINGS.peek(full) is None:
        SIGHTINGS.put(full, True)
        return build()
    return COMPILED_PROGRAMS.jitted(full, build)
