"""Compiled methods: the instance bound to a function, held weakly, with positions that skip ``self``."""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["bind_weakly", "unshift_self"]


def bind_weakly(fun: Callable[..., Any], instance: Any) -> Callable[..., Any]:
    """``fun`` with ``instance`` bound as its first argument, holding the instance only weakly.

    A compiled method is cached per instance in a weak dictionary; a strong reference from the cached
    value back to its key would keep every instance alive. The result's signature lacks ``self``, so
    static argument names resolve to the right positions.
    """
    try:
        ref: Callable[[], Any] = weakref.ref(instance)
    except TypeError:  # not weak-referenceable: hold it (it is not cached weakly either)
        ref = functools.partial(lambda obj: obj, instance)
    name = getattr(fun, "__qualname__", getattr(fun, "__name__", "method"))

    def method(*args: Any, **kwargs: Any) -> Any:
        obj = ref()
        if obj is None:
            raise ReferenceError(f"{name}: the instance this compiled method was bound to no longer exists.")
        return fun(obj, *args, **kwargs)

    functools.update_wrapper(method, fun)
    try:
        parameters = list(inspect.signature(fun).parameters.values())[1:]
        method.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    except (TypeError, ValueError):  # no introspectable signature: positions are taken as given
        pass
    return method


def unshift_self(argnums: int | Sequence[int] | None) -> tuple[int, ...] | None:
    # Positions of a method count ``self``; the bound function does not take it.
    if argnums is None:
        return None
    return tuple(n - 1 for n in ((argnums,) if isinstance(argnums, int) else argnums))
