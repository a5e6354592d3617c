"""Time and peak memory of the PDF report and the OSCAL file for 1k, 10k, 100k findings.

Run from the repository root:

    .venv/bin/python benchmarks/bench_report.py            # 1000 10000 100000
    .venv/bin/python benchmarks/bench_report.py 5000

Each size runs in a fresh interpreter so peak RSS belongs to that size alone.
The data is the sample quarter the tests use (tests/export/sample_report.py):
six tools, four repositories, about 400 scanner runs.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(findings: int) -> dict[str, float]:
    """Build the sample data, render both outputs, report times and peak RSS."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "export")]
    from sample_report import sample_report

    from ledger.export.oscal import render_oscal
    from ledger.export.pdf import render_report

    data = sample_report(findings)
    start = time.perf_counter()
    out = io.BytesIO()
    pages = render_report(data, out)
    pdf_seconds = time.perf_counter() - start
    start = time.perf_counter()
    oscal = render_oscal(data)
    oscal_seconds = time.perf_counter() - start
    return {
        "findings": findings,
        "pages": pages,
        "pdf_seconds": round(pdf_seconds, 2),
        "pdf_mb": round(len(out.getvalue()) / 1e6, 1),
        "oscal_seconds": round(oscal_seconds, 2),
        "oscal_mb": round(len(oscal) / 1e6, 1),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [1_000, 10_000, 100_000]
    print(
        f"{'findings':>9} {'pages':>6} {'pdf s':>7} {'pdf MB':>7} {'oscal s':>8} "
        f"{'oscal MB':>9} {'peak RSS MB':>12}"
    )
    for size in sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(child.stdout)
        print(
            f"{r['findings']:>9,} {r['pages']:>6,} {r['pdf_seconds']:>7} {r['pdf_mb']:>7} "
            f"{r['oscal_seconds']:>8} {r['oscal_mb']:>9} {r['peak_rss_mb']:>12,.0f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
