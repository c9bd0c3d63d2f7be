"""Where a State was created: the first stack frame outside brainstate's own packages."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import FrameType

from ._jax_compat import hide_from_tracebacks

_LIBRARY_DIRS: tuple[str, ...] = ()


def register_library_dir(path: str) -> None:
    """Treat every file under ``path`` as library code: skipped when looking for the user's frame, and
    hidden from the tracebacks JAX filters."""
    global _LIBRARY_DIRS
    path = os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else os.path.abspath(path)
    if path not in _LIBRARY_DIRS:
        _LIBRARY_DIRS = (*_LIBRARY_DIRS, path + os.sep)
        hide_from_tracebacks(path)


register_library_dir(os.path.dirname(__file__))


def library_dirs() -> tuple[str, ...]:
    """The directories whose files count as library code (not the user's) in error locations."""
    return _LIBRARY_DIRS


@dataclass(frozen=True)
class SourceInfo:
    """A source location: file, line and function name."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"


def user_frame_info(skip: int = 2) -> SourceInfo | None:
    """The innermost frame that is not inside a registered library directory."""
    frame: FrameType | None
    try:
        frame = sys._getframe(skip)
    except ValueError:  # pragma: no cover - shallow stack
        return None
    dirs = _LIBRARY_DIRS
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(dirs):
            return SourceInfo(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None
