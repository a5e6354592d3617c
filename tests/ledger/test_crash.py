"""A writer killed at any moment leaves an intact ledger, with its batch whole or absent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.errors import StorageError
from ledger.keys import SIGNING_KEY_ENV
from ledger.ledger import Ledger
from ledger.note import NoteSigner
from ledger.verify import Status, Verifier

ROOT = Path(__file__).resolve().parents[2]
BATCH = 8_000

# The writer: says when it starts its batch and when the batch committed.
WRITER = """
import os, sys
from ledger.ledger import Ledger
from ledger.note import NoteSigner
signer = NoteSigner.from_skey(os.environ["TRAILSEAL_SIGNING_KEY"])
ledger = Ledger.open(sys.argv[1])
count = int(sys.argv[2])
print("ready", flush=True)
with ledger.batch(signer) as batch:
    for i in range(count):
        batch.append("note", {"i": i, "text": "a finding-sized body " * 4})
print("committed", flush=True)
"""


def start_writer(url: str, signer: NoteSigner, count: int) -> subprocess.Popen[str]:
    env = os.environ | {SIGNING_KEY_ENV: signer.skey(), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def timed_batch(url: str, signer: NoteSigner) -> float:
    """How long one whole batch takes here, so kills can be spread across it."""
    began = time.monotonic()
    process = start_writer(url, signer, BATCH)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "committed"
    assert process.wait(timeout=300) == 0
    return time.monotonic() - began


def kill_writers(ledger: Ledger, signer: NoteSigner, rounds: int, seed: int) -> None:
    chooser = random.Random(seed)
    span = timed_batch(ledger.store.url, signer)
    size = BATCH
    outcomes = set()
    for _ in range(rounds):
        process = start_writer(ledger.store.url, signer, BATCH)
        # Anywhere from the first append to about the commit.
        time.sleep(chooser.uniform(0, span))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert process.stdout is not None
        process.stdout.close()

        result = Verifier(signer.verifier).verify(ledger)
        assert result.status is Status.INTACT, result.problems
        # The batch is all there or not there at all.
        assert result.entries in (size, size + BATCH), result.entries
        assert ledger.head().size == result.entries
        outcomes.add(result.entries - size)
        size = result.entries
    # Most kills land inside the batch; at least one must have.
    assert 0 in outcomes


@pytest.mark.slow
def test_sigkill_during_append_sqlite(sqlite_ledger: Ledger, primary_key: NoteSigner) -> None:
    kill_writers(sqlite_ledger, primary_key, rounds=15, seed=1)


@pytest.mark.slow
def test_sigkill_during_append_postgresql(pg_url: str, primary_key: NoteSigner) -> None:
    ledger = Ledger.create(pg_url, "test.trailseal.invalid/ledger", primary_key)
    try:
        kill_writers(ledger, primary_key, rounds=3, seed=2)
    finally:
        ledger.store.engine.dispose()


def test_read_only_sqlite_gives_storage_error(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    with sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"kept": True})
    path = tmp_path / "ledger.db"
    read_only = Ledger(
        type(sqlite_ledger.store)(f"sqlite:///file:{path}?mode=ro&uri=true"),
        sqlite_ledger.origin,
    )
    with pytest.raises(StorageError, match=r"readonly"), read_only.batch(primary_key) as batch:
        for i in range(2500):  # past one flush
            batch.append("note", {"i": i})
    read_only.store.engine.dispose()
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert result.ok and result.entries == 1, result.problems
