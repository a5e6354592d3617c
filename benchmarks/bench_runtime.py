"""Throughput and memory of ``trailseal runtime logs`` on a generated access log.

Writes N lines (default 1,000,000) of JSON Lines or Combined Log Format to a
temporary file: a day of traffic from 50,000 users reading their own
orders and documents and a shared catalogue, with one sequential walker.
Then scans it once and prints lines/s and the process's peak RSS.

    .venv/bin/python benchmarks/bench_runtime.py [--lines N] [--format jsonl|combined] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.runtime import EnumerationPolicy, scan_logs

T0 = 1_772_409_600  # 2026-03-02T00:00:00Z
USERS = 50_000


def generate(path: Path, lines: int, fmt: str, seed: int = 1) -> None:
    """Stream ``lines`` requests to ``path`` without holding them in memory."""
    rng = random.Random(seed)
    step = 86_400 / lines
    walk_start = lines // 2
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for i in range(lines):
            t = T0 + i * step
            if walk_start <= i < walk_start + 2000 and i % 4 == 0:
                user, ip = "attacker", "203.0.113.5"
                target = f"/api/orders/{1_000_000 + (i - walk_start) // 4}"
                status = 200
            else:
                u = min(int(rng.paretovariate(0.6)), USERS)
                user, ip = f"user-{u}", f"10.{u % 256}.{u // 256 % 256}.7"
                kind = rng.random()
                if kind < 0.4:
                    target = f"/api/orders/{1_000_000 + u * 20 + rng.randrange(20)}"
                elif kind < 0.6:
                    target = f"/api/documents/{u:08x}-0000-4000-8000-{rng.randrange(12):012x}"
                elif kind < 0.9:
                    target = f"/catalog/products/{rng.randrange(5000)}"
                else:
                    target = "/api/profile"
                status = 404 if rng.random() < 0.01 else 200
            if fmt == "jsonl":
                out.write(
                    f'{{"time": {t:.3f}, "method": "GET", "path": "{target}", '
                    f'"status": {status}, "sub": "{user}", "ip": "{ip}"}}\n'
                )
            else:
                stamp = datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
                out.write(
                    f'{ip} - {user} [{stamp}] "GET {target} HTTP/1.1" {status} 512 '
                    '"-" "client/1.0"\n'
                )


def main() -> None:
    """Generate, scan, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "combined"), default="jsonl")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as tmp:
        path = Path(tmp) / f"access.{args.format}{'.gz' if args.gzip else ''}"
        started = time.perf_counter()
        generate(path, args.lines, args.format)
        print(
            f"generated {args.lines:,} lines ({path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        started, cpu = time.perf_counter(), time.process_time()
        scan = scan_logs([path], EnumerationPolicy())
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        rules = sorted({f"{f.rule_id}:{f.properties['subject']}" for f in scan.findings})
        # CPU time too: on a shared machine wall-clock time measures the neighbours.
        print(
            f"scanned in {elapsed:.1f} s wall, {cpu:.1f} s CPU: "
            f"{args.lines / elapsed:,.0f} lines/s wall, {args.lines / cpu:,.0f} lines/s CPU"
        )
        print(f"peak RSS {peak / 1024:.0f} MiB (before scanning {before / 1024:.0f} MiB)")
        print(f"findings: {', '.join(rules) or 'none'}")


if __name__ == "__main__":
    main()
