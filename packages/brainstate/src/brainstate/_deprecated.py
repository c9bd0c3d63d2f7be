"""Deprecated namespaces kept for old code: ``brainstate.compile`` and ``brainstate.augment``."""

from __future__ import annotations

import types
import warnings
from typing import Any

__all__ = ["DeprecatedNamespace"]


class DeprecatedNamespace(types.ModuleType):
    """A module whose every attribute is taken from ``brainstate.transform``, with a DeprecationWarning."""

    def __init__(self, name: str) -> None:
        super().__init__(f"brainstate.{name}", f"Deprecated alias of brainstate.transform ({name}).")
        self._alias = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        from . import transform

        if not hasattr(transform, attr):
            raise AttributeError(f"brainstate.{self._alias} has no attribute {attr!r}")
        warnings.warn(
            f"brainstate.{self._alias}.{attr} is deprecated; use brainstate.transform.{attr} instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(transform, attr)

    def __dir__(self) -> list[str]:
        from . import transform

        return list(transform.__all__)
