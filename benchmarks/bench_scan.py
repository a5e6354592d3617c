"""Throughput of ``trailseal scan`` in lines of Python per second.

Builds a tree of ``--copies`` copies of the labelled corpus (web apps in
every supported framework, so every rule does its full work) in a temporary
directory, or scans ``--path`` if given, and prints lines per second of wall
time and of this process's CPU time (the latter is steadier on a busy machine).

    .venv/bin/python benchmarks/bench_scan.py --copies 20
    .venv/bin/python benchmarks/bench_scan.py --path /path/to/site-packages/django
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from ledger.scan import scan

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "scan" / "corpus"


def build(root: Path, copies: int) -> None:
    """Copy the corpus ``copies`` times under ``root``, one service per copy."""
    for i in range(copies):
        shutil.copytree(CORPUS, root / f"service{i:04d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200, help="corpus copies to scan")
    parser.add_argument("--path", type=Path, help="scan this tree instead")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trailseal-bench-") as tmp:
        root = args.path or Path(tmp)
        if args.path is None:
            build(root, args.copies)
        wall = cpu = float("inf")
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            report = scan([root])
            wall = min(wall, time.perf_counter() - start)
            cpu = min(cpu, time.process_time() - start_cpu)
        print(
            f"{report.files} files, {report.lines} lines, {len(report.findings)} findings "
            f"in {wall:.2f} s: {report.lines / wall:,.0f} lines/s "
            f"({cpu:.2f} s CPU: {report.lines / cpu:,.0f} lines/s)"
        )


if __name__ == "__main__":
    main()
