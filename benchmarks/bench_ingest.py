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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "ingest"))

import generate_sarif  # noqa: E402

TRAILSEAL = str(Path(sys.executable).with_name("trailseal"))


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one trailseal process and its reader child."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [TRAILSEAL, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"trailseal {' '.join(args)} exited {process.returncode}")
    return elapsed, usage.ru_maxrss


def _floor(count: int, path: Path) -> float:
    """The raw append floor, in its own process: built in this one, the records
    would swell every later child's RSS (a forked child starts at its parent's)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import bench_ledger as b; "
        "print(b.floor_append(b.records(int(sys.argv[2])), sys.argv[3]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE), str(count), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


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
            floor = _floor(count, work / "floor.db")
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
