"""Print one line summing every pytest run of a CI pass: ``N passed, N failed, N skipped``.

Each nox session that runs pytest writes a JUnit XML report into ``.nox/junit/`` (see ``noxfile.py``).
This script reads them all, prints one line per report and then the total, so the end of a CI log says
how many tests ran. It exits with status 1 when a report counts a failure or an error, or when there is
no report at all (a CI pass that ran no test is not a pass).

    python scripts/test_summary.py [.nox/junit]
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(report: Path) -> tuple[int, int, int]:
    """``(passed, failed, skipped)`` of one JUnit XML report; errors count as failures."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return tests - failed - skipped, failed, skipped


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / ".nox" / "junit"
    reports = sorted(folder.glob("*.xml")) if folder.is_dir() else []
    totals = [0, 0, 0]
    for report in reports:
        try:
            numbers = count(report)
        except ET.ParseError as e:
            print(f"{report.name}: unreadable JUnit report ({e})")
            totals[1] += 1
            continue
        print(f"{report.stem}: {numbers[0]} passed, {numbers[1]} failed, {numbers[2]} skipped")
        totals = [a + b for a, b in zip(totals, numbers, strict=True)]
    if not reports:
        print(f"no JUnit reports in {folder}: no test ran")
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] or not reports else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
