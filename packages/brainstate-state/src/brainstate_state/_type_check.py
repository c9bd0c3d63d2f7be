"""Static-typing checks of user-style code: ``mypy --strict`` on a snippet with expectations in comments.

A snippet marks each ``reveal_type(...)`` line with ``# R: <type>`` (the type mypy must reveal, module
prefixes dropped) and each line mypy must reject with ``# E``; no other line may produce an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TypeCheckReport", "type_check_snippet"]

_REVEALED = re.compile(r"#\s*R:\s*(.+)$")
_REJECTED = re.compile(r"#\s*E\s*$")
_MODULE_PREFIX = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+([A-Za-z_][A-Za-z0-9_]*)")


def short_type_name(type_text: str) -> str:
    """``jax._src.basearray.Array`` -> ``Array``, ``builtins.int`` -> ``int``: module prefixes dropped."""
    return _MODULE_PREFIX.sub(r"\1", type_text)


@dataclass
class TypeCheckReport:
    """What ``mypy --strict`` said about a snippet, by line number, next to what its comments expect."""

    snippet: str
    revealed: dict[int, str] = field(default_factory=dict)
    errors: dict[int, list[str]] = field(default_factory=dict)

    def expected_types(self) -> dict[int, str]:
        """``{line: type}`` of the ``# R:`` comments."""
        lines = enumerate(self.snippet.splitlines(), start=1)
        return {n: m.group(1).strip() for n, text in lines if (m := _REVEALED.search(text))}

    def expected_rejections(self) -> set[int]:
        """The lines marked ``# E``."""
        return {n for n, text in enumerate(self.snippet.splitlines(), start=1) if _REJECTED.search(text)}

    def wrong_types(self) -> dict[int, tuple[str, str]]:
        """``{line: (expected, revealed)}`` where mypy revealed another type (or none)."""
        found = {
            n: short_type_name(self.revealed.get(n, "<nothing revealed>")) for n in self.expected_types()
        }
        return {n: (want, found[n]) for n, want in self.expected_types().items() if found[n] != want}

    def accepted_wrong_calls(self) -> list[int]:
        """The ``# E`` lines mypy accepted."""
        return sorted(self.expected_rejections() - set(self.errors))

    def unexpected_errors(self) -> dict[int, list[str]]:
        """Errors on lines not marked ``# E``."""
        return {n: m for n, m in self.errors.items() if n not in self.expected_rejections()}


def type_check_snippet(snippet: str, folder: Path) -> TypeCheckReport:
    """Run ``mypy --strict`` on ``snippet`` (written to ``folder/user_code.py``) and collect its report.

    Needs mypy in the running interpreter's environment; raises ``AssertionError`` if mypy crashed.
    """
    path = folder / "user_code.py"
    path.write_text(snippet)
    command = [
        sys.executable, "-m", "mypy", "--strict", "--no-incremental", f"--cache-dir={os.devnull}",
        "--hide-error-context", "--no-error-summary", "--show-absolute-path", str(path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    report = TypeCheckReport(snippet)
    for line in result.stdout.splitlines():
        match = re.match(rf"{re.escape(str(path))}:(\d+): (note|error): (.*)$", line)
        if match is None:
            continue
        number, level, message = int(match.group(1)), match.group(2), match.group(3)
        if level == "note" and message.startswith("Revealed type is "):
            report.revealed[number] = message[len('Revealed type is "') : -1]
        elif level == "error":
            report.errors.setdefault(number, []).append(message)
    return report
