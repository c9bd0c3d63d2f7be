"""Run every benchmark in one go and write the Markdown tables to ``benchmarks/results/``.

``python benchmarks/run_all.py`` runs the full sizes (the LIF benchmark alone takes minutes on 2 cores);
``python benchmarks/run_all.py --quick`` runs reduced sizes for a smoke check of the harnesses.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

FULL = {
    "bench_jit.py": ["--out", os.path.join(RESULTS, "jit.md")],
    "bench_ir_trace.py": ["--out", os.path.join(RESULTS, "ir_trace.md")],
    "bench_ir_optimize.py": [],
    "bench_autodiff.py": [],
    "bench_control.py": [],
    "bench_mapping.py": [],
}
QUICK = {
    "bench_jit.py": ["--calls", "200", "--out", os.path.join(RESULTS, "jit.quick.md")],
    "bench_ir_trace.py": ["--repeats", "5", "--out", os.path.join(RESULTS, "ir_trace.quick.md")],
    "bench_ir_optimize.py": ["--quick"],
    "bench_autodiff.py": [
        "--calls",
        "5",
        "--rounds",
        "3",
        "--out",
        os.path.join(RESULTS, "autodiff.quick.md"),
    ],
    "bench_control.py": [
        "--neurons",
        "200",
        "--steps",
        "100",
        "--repeats",
        "2",
        "--memory-steps",
        "100,200",
        "--out",
        os.path.join(RESULTS, "control.quick.md"),
    ],  # fmt: skip
    "bench_mapping.py": [],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    failures = []
    for script, script_args in (QUICK if args.quick else FULL).items():
        print(f"\n=== {script} {' '.join(script_args)}", flush=True)
        code = subprocess.call([sys.executable, os.path.join(HERE, script), *script_args])
        if code:
            failures.append(script)
    if failures:
        print(f"\nfailed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
