"""Time and peak memory of ``trailseal export`` for 1k, 10k and 100k findings.

Run from the repository root:

    .venv/bin/python benchmarks/bench_export.py            # 1000 10000 100000
    .venv/bin/python benchmarks/bench_export.py 5000

Each size runs in a fresh interpreter: it ingests one synthetic SARIF log of
N results (tests/ingest/generate_sarif.py) into a new SQLite ledger, then
measures the export alone in another: verify the ledger, replay the period,
write the pack (PDF, entries, proofs, OSCAL, manifest), then verify the pack.
Peak RSS is that process's peak by the end of the export (the ingest ran in
its own process); ``rss_before_mb`` is its size after imports.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _paths() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ingest"), str(ROOT / "tests")]


def build(findings: int, directory: Path) -> None:
    """Ingest one SARIF log of ``findings`` results into a new ledger in ``directory``."""
    _paths()
    from generate_sarif import write
    from keys.make_test_keys import signer

    from ledger.ingest.pipeline import ingest_file
    from ledger.ledger import Ledger
    from schemas.artifact import CIContext

    key = signer("primary")
    sarif = directory / "big.sarif"
    write(findings, str(sarif))
    ledger = Ledger.create(f"sqlite:///{directory}/ledger.db", key.name, key)
    when = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
    ingest_file(
        ledger,
        key,
        sarif,
        ci=CIContext(repository="acme/app", commit="c" * 40),
        redaction_key=bytes(32),
        clock=lambda: when,
    )


def measure(findings: int) -> dict[str, float]:
    """Build the ledger in a child process, then export it here and measure."""
    _paths()
    from keys.make_test_keys import signer

    from ledger.export.derive import ExportOptions, derive
    from ledger.export.model import Period, Scope
    from ledger.export.pack import verify_pack, write_pack
    from ledger.ledger import Ledger
    from ledger.verify import Verifier

    key = signer("primary")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, __file__, "--build", str(findings), tmp], check=True)
        ledger = Ledger.open(f"sqlite:///{tmp}/ledger.db")
        before = _peak_mb()

        start = time.perf_counter()
        result = Verifier(key.verifier).verify(ledger)
        verified = time.perf_counter()
        options = ExportOptions(
            Period(date(2025, 1, 1), date(2025, 3, 31)), Scope("Acme", "benchmark")
        )
        derivation = derive(ledger, options, key.verifier, result.size)
        derived = time.perf_counter()
        out = Path(tmp) / "pack.zip"
        info = write_pack(ledger, key, derivation, out)
        written = time.perf_counter()
        peak = _peak_mb()
        check = verify_pack(out, [key.verifier])
        checked = time.perf_counter()
        assert check.ok, check.problems
        return {
            "findings": findings,
            "pages": info.pages,
            "verify_s": round(verified - start, 2),
            "derive_s": round(derived - verified, 2),
            "write_s": round(written - derived, 2),
            "export_s": round(written - start, 2),
            "pack_mb": round(info.size / 1e6, 1),
            "verify_pack_s": round(checked - written, 2),
            "rss_before_mb": round(before),
            "peak_rss_mb": round(peak),
        }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--build"]:
        build(int(argv[1]), Path(argv[2]))
        return
    if argv[:1] == ["--one"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    sizes = [int(a) for a in argv] or [1_000, 10_000, 100_000]
    columns = [
        "findings",
        "pages",
        "verify_s",
        "derive_s",
        "write_s",
        "export_s",
        "pack_mb",
        "verify_pack_s",
        "rss_before_mb",
        "peak_rss_mb",
    ]
    print(" ".join(f"{c:>13}" for c in columns))
    for size in sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(child.stdout)
        print(" ".join(f"{row[c]:>13}" for c in columns), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
