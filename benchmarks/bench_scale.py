"""Verification and proofs at scale: 1M entries by default.

    python benchmarks/bench_scale.py [--entries 1000000] [--backend sqlite|postgres]

Builds a ledger of finding-shaped entries in batches of 10,000, then reports:
full verification in entries/s; an incremental verification after 1,000
new entries (resuming from the state the full run saved); building the
prover (reading every leaf hash, hashing the tree); and the size and time
of an inclusion proof, a consistency proof and their offline checks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_ledger

from ledger import verify_state
from ledger.ledger import Ledger
from ledger.note import NoteSigner
from ledger.proof import Prover, check_proof
from ledger.verify import Verifier

BATCH = 10_000


def timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {elapsed:8.2f} s")
    return value, elapsed


def append(ledger: Ledger, signer: NoteSigner, count: int, offset: int) -> None:
    template = bench_ledger.records(BATCH)
    done = 0
    while done < count:
        n = min(BATCH, count - done)
        # Each batch is its own scope, as artifacts of many repositories are;
        # a batch reads the stored rows of the scopes it touches.
        scope = {**template[0]["scope"], "id": f"{offset + done:064x}"}
        with ledger.batch(signer) as batch:
            for i in range(n):
                body = dict(template[i])
                body["scope"] = scope
                body["identity"] = f"{offset + done + i:064x}"
                batch.append("finding", body)
        done += n


def _peak_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default=bench_ledger.DEFAULT_PG)
    args = parser.parse_args()
    print(f"{args.entries:,} entries on {args.backend}; load average {os.getloadavg()[0]:.1f}")
    signer = NoteSigner.generate("bench.trailseal.invalid/scale")
    with tempfile.TemporaryDirectory() as tmp:
        cleanup = None
        if args.backend == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        else:
            url, cleanup = bench_ledger.pg_database(args.postgres)
        try:
            ledger = Ledger.create(url, signer.name, signer)
            _, seconds = timed("append", lambda: append(ledger, signer, args.entries, 0))
            print(f"{'':<44} {args.entries / seconds:8,.0f} entries/s")
            verifier = Verifier(signer.verifier)
            before = _peak_mb()
            result, seconds = timed("full verify", lambda: verifier.verify(ledger))
            assert result.ok, result.first
            print(f"{'':<44} {args.entries / seconds:8,.0f} entries/s")
            print(f"{'':<44} peak RSS {_peak_mb():,.0f} MB (before verifying: {before:,.0f} MB)")
            state = Path(tmp) / "state.json"
            verify_state.save(state, result)
            old_note = ledger.head().note

            append(ledger, signer, 1000, args.entries)
            resume = verify_state.load(state)
            result, _ = timed(
                "incremental verify of 1,000 new entries",
                lambda: verifier.verify(ledger, resume=resume),
            )
            assert result.ok and result.start == args.entries, result.problems

            prover, _ = timed("prover (read leaves, hash tree)", lambda: Prover(ledger))
            proof, seconds = timed("inclusion proof", lambda: prover.inclusion(args.entries // 2))
            text = json.dumps(proof.to_json())
            tlog = proof.to_tlog_proof()
            print(
                f"{'':<44} {len(proof.path)} hashes, {len(text):,} bytes JSON, "
                f"{len(tlog):,} bytes tlog-proof"
            )
            timed("check inclusion proof", lambda: check_proof(text, [signer.verifier]))
            consistency, _ = timed("consistency proof", lambda: prover.consistency(old_note))
            ctext = json.dumps(consistency.to_json())
            print(f"{'':<44} {len(consistency.path)} hashes, {len(ctext):,} bytes JSON")
            timed("check consistency proof", lambda: check_proof(ctext, [signer.verifier]))
            ledger.store.engine.dispose()
        finally:
            if cleanup:
                cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
