"""End-to-end ingest through the CLI: results/s and peak RSS, beside the raw floor.

    python benchmarks/bench_ingest.py [--results 25000 100000]

For each size a SARIF log is generated (tests/ingest/generate_sarif.py), a
fresh ledger is created, and ``trailseal ingest`` runs as its own process,
so the figure includes start-up, reading, identity, lifecycle, canonical
bytes, hashing, the database and the signed checkpoint. Peak RSS is that
process's. The floor is the raw append floor of benchmarks/bench_ledger.py
for the same number of records.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "ingest"))

import bench_ledger  # noqa: E402
import generate_sarif  # noqa: E402

TRAILSEAL = str(Path(sys.executable).with_name("trailseal"))


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one trailseal process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([TRAILSEAL, *args], env=env, cwd=cwd, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; each size runs larger.
    return elapsed, max(peak, before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, nargs="+", default=[25_000, 100_000])
    args = parser.parse_args()
    for count in args.results:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sarif = work / "results.sarif"
            generate_sarif.write(count, str(sarif))
            env = {**os.environ, "TRAILSEAL_HOME": str(work / ".trailseal")}
            env.pop("TRAILSEAL_DB", None)
            run(["init"], env, work)
            elapsed, peak = run(["ingest", "--repo", "bench/app", str(sarif)], env, work)
            floor = bench_ledger.floor_append(bench_ledger.records(count), work / "floor.db")
            rate = count / elapsed
            size_mb = sarif.stat().st_size / 1e6
            print(
                f"{count:>7} results ({size_mb:.0f} MB SARIF): {rate:>8,.0f} results/s, "
                f"peak RSS {peak / 1024:.0f} MB; floor {floor:,.0f}/s; "
                f"ratio {rate / floor:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
