"""Append and verify throughput of the ledger, beside a raw floor.

    python benchmarks/bench_ledger.py [--entries 100000] [--postgres URL]

The floor is the least any ledger must do per record: ``json.dumps`` with
sorted keys, one SHA-256, and a bare ``sqlite3`` executemany into one table,
committed once. The verify floor reads those rows back and re-hashes them.
trailseal does more per entry (RFC 8785 bytes for body and envelope, a salt,
two hashes, the Merkle tree, the chain, a signed checkpoint, lifecycle
replay), and the targets are >= 0.5 of the floor for both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.ledger import Ledger
from ledger.note import NoteSigner
from ledger.verify import Verifier

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def records(n: int) -> list[dict[str, Any]]:
    """Finding-shaped bodies of realistic size (about 600 bytes each)."""
    out = []
    for i in range(n):
        out.append(
            {
                "scope": {
                    "id": "ab" * 32,
                    "repository": "acme/payments",
                    "tool": "bandit",
                    "category": None,
                },
                "identity": hashlib.sha256(str(i).encode()).hexdigest(),
                "artifact": "cd" * 32,
                "event": "new",
                "finding": {
                    "tool": "bandit",
                    "rule_id": f"B{100 + i % 500}",
                    "severity": ("critical", "high", "medium", "low", "info")[i % 5],
                    "title": "Possible hardcoded password",
                    "message": f"Possible hardcoded password: 'hunter{i}'",
                    "location": {
                        "path": f"src/module_{i % 977}.py",
                        "start_line": i % 400 + 1,
                        "snippet": f"PASSWORD = 'hunter{i}'",
                    },
                    "cwe": ["CWE-259"],
                    "category": "code",
                    "properties": {"confidence": "MEDIUM", "more_info": "https://example.org/b105"},
                },
            }
        )
    return out


def floor_append(recs: list[dict[str, Any]], path: Path) -> float:
    start = time.perf_counter()
    rows = []
    for i, rec in enumerate(recs):
        data = json.dumps(rec, sort_keys=True).encode()
        rows.append((i, data, hashlib.sha256(data).digest()))
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, data BLOB, hash BLOB)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return len(recs) / (time.perf_counter() - start)


def floor_verify(path: Path, n: int) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    count = 0
    for _seq, data, digest in conn.execute("SELECT seq, data, hash FROM t ORDER BY seq"):
        if hashlib.sha256(data).digest() != digest:
            raise SystemExit("floor table corrupt")
        count += 1
    conn.close()
    assert count == n
    return n / (time.perf_counter() - start)


def ledger_run(url: str, recs: list[dict[str, Any]]) -> tuple[float, float]:
    signer = NoteSigner.generate("bench.trailseal.invalid/ledger")
    ledger = Ledger.create(url, signer.name, signer)
    start = time.perf_counter()
    with ledger.batch(signer) as batch:
        for rec in recs:
            batch.append("finding", rec)
    append_rate = len(recs) / (time.perf_counter() - start)
    start = time.perf_counter()
    result = Verifier(signer.verifier).verify(ledger)
    verify_rate = len(recs) / (time.perf_counter() - start)
    if not result.ok:
        raise SystemExit(f"verification failed: {result.first}")
    ledger.store.engine.dispose()
    return append_rate, verify_rate


def pg_database(admin_url: str) -> tuple[str, Any]:
    import psycopg

    name = f"trailseal_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return admin_url.rsplit("/", 1)[0] + "/" + name, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TRAILSEAL_BENCH_PG", DEFAULT_PG),
        help="admin URL of a PostgreSQL server ('' to skip)",
    )
    args = parser.parse_args()
    recs = records(args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        floor_a = floor_append(recs, Path(tmp) / "floor.db")
        floor_v = floor_verify(Path(tmp) / "floor.db", len(recs))
        print(f"entries: {len(recs)}")
        print(f"floor   append {floor_a:>10,.0f}/s   verify {floor_v:>10,.0f}/s")
        backends = [("sqlite", f"sqlite:///{Path(tmp) / 'ledger.db'}", None)]
        if args.postgres:
            url, drop = pg_database(args.postgres)
            backends.append(("postgres", url, drop))
        for name, url, cleanup in backends:
            try:
                append, verify = ledger_run(url, recs)
            finally:
                if cleanup:
                    cleanup()
            print(
                f"{name:<9}append {append:>10,.0f}/s ({append / floor_a:.2f} of floor)   "
                f"verify {verify:>10,.0f}/s ({verify / floor_v:.2f} of floor)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
