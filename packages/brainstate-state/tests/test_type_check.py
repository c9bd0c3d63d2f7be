"""The snippet type checker the typing tests of the upper packages use: it reports what mypy says."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from brainstate_state.testing import type_check_snippet

pytest.importorskip("mypy", reason="mypy is not installed")

SNIPPET = textwrap.dedent(
    """
    def double(x: int) -> int:
        return 2 * x


    reveal_type(double(2))  # R: int
    reveal_type(double)  # R: def (x: str) -> int
    double("two")  # E
    double(3)  # E
    y: int = "not an int"
    """
)


def test_report_names_wrong_types_accepted_calls_and_other_errors(tmp_path: Path) -> None:
    report = type_check_snippet(SNIPPET, tmp_path)  # line 1 of the snippet is empty
    assert report.expected_types() == {6: "int", 7: "def (x: str) -> int"}
    assert report.expected_rejections() == {8, 9}
    assert report.wrong_types() == {7: ("def (x: str) -> int", "def (x: int) -> int")}
    assert report.accepted_wrong_calls() == [9]
    assert list(report.unexpected_errors()) == [10]
