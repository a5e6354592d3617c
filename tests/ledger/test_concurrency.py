"""Several processes appending at once: no lost batch, no reused number, no fork."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from ledger.ledger import Ledger, decode_body
from ledger.note import NoteSigner
from ledger.verify import Verifier

WORKERS = 8
BATCHES = 4
PER_BATCH = 25


def append_batches(url: str, skey: str, worker: int, start: Any, results: Any) -> None:
    """One writer process: waits for the others, then appends its batches."""
    signer = NoteSigner.from_skey(skey)
    ledger = Ledger.open(url)
    start.wait()
    for number in range(BATCHES):
        with ledger.batch(signer) as batch:
            seqs = [
                batch.append("note", {"worker": worker, "batch": number, "i": i})
                for i in range(PER_BATCH)
            ]
        results.put((worker, number, seqs))
    ledger.store.engine.dispose()


def run_writers(url: str, signer: NoteSigner) -> list[tuple[int, int, list[int]]]:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=append_batches, args=(url, signer.skey(), w, start, results))
        for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    landed = [results.get(timeout=300) for _ in range(WORKERS * BATCHES)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return landed


@pytest.mark.slow
def test_concurrent_writers(ledger: Ledger, primary_key: NoteSigner) -> None:
    landed = run_writers(ledger.store.url, primary_key)
    total = WORKERS * BATCHES * PER_BATCH

    # Every batch landed, each as one unbroken run of sequence numbers.
    assert sorted((w, b) for w, b, _ in landed) == [
        (w, b) for w in range(WORKERS) for b in range(BATCHES)
    ]
    for _, _, seqs in landed:
        assert seqs == list(range(seqs[0], seqs[0] + PER_BATCH))

    # Numbers 0..N-1, each once, and every stored body is the one its writer sent.
    rows = list(ledger.entries())
    assert [row.seq for row in rows] == list(range(total))
    owner = {seq: (w, b) for w, b, seqs in landed for seq in seqs}
    for row in rows:
        body = decode_body(row)
        assert body is not None
        assert (body["worker"], body["batch"]) == owner[row.seq]

    # One checkpoint per batch, at the end of each; the chain did not fork.
    result = Verifier(primary_key.verifier).verify(ledger)
    assert result.ok, result.problems
    assert result.entries == total
    assert result.checkpoints == 1 + WORKERS * BATCHES
    ends = sorted(seqs[-1] + 1 for _, _, seqs in landed)
    with ledger.store.reading() as conn:
        sizes = [row.size for row in ledger.store.checkpoints(conn)]
    assert sizes == [0, *ends]
    assert ledger.head().size == total == ends[-1]
