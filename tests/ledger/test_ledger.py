"""Appending batches and verifying them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rfc8785

from ledger import merkle
from ledger.errors import InputError
from ledger.ledger import Ledger, decode_body, envelope_bytes
from ledger.note import NoteSigner
from ledger.projection import FINDING_COLUMNS, Projection
from ledger.store import tables
from ledger.verify import Status, Verifier


def _fixed_clock() -> datetime:
    return datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_batch_appends_entries_and_one_checkpoint(ledger: Ledger, primary_key: NoteSigner) -> None:
    with ledger.batch(primary_key, _fixed_clock) as batch:
        first = batch.append("note", {"text": "first"})
        second = batch.append("note", {"text": "second", "n": 2})
    assert (first, second) == (0, 1)
    head = ledger.head()
    assert head.size == 2
    rows = list(ledger.entries())
    assert [r.seq for r in rows] == [0, 1]
    assert decode_body(rows[1]) == {"text": "second", "n": 2}
    assert head.root_hash == merkle.root([bytes(r.leaf_hash) for r in rows])
    result = Verifier(primary_key.verifier).verify(ledger)
    assert result.status is Status.INTACT, result.problems
    assert result.entries == 2 and result.size == 2


def test_envelope_is_rfc8785_and_chained(ledger: Ledger, primary_key: NoteSigner) -> None:
    with ledger.batch(primary_key, _fixed_clock) as batch:
        batch.append("note", {"b": 1, "a": [True, None, "é"]})
        batch.append("note", {})
    rows = list(ledger.entries())
    for row in rows:
        fields = json.loads(row.envelope)
        assert bytes(row.envelope) == rfc8785.dumps(fields)
        assert fields["time"] == "2026-03-01T12:00:00.000000Z"
    assert json.loads(rows[0].envelope)["prev"] == "0" * 64
    assert json.loads(rows[1].envelope)["prev"] == bytes(rows[0].leaf_hash).hex()
    assert bytes(rows[0].body) == rfc8785.dumps({"b": 1, "a": [True, None, "é"]})


def test_envelope_formatter_matches_reference() -> None:
    data = envelope_bytes(7, "finding-fixed", "2026-01-01T00:00:00.000001Z", "a" * 64, "b" * 64)
    assert data == rfc8785.dumps(json.loads(data))


def test_failed_batch_writes_nothing(ledger: Ledger, primary_key: NoteSigner) -> None:
    with ledger.batch(primary_key) as batch:
        batch.append("note", {"keep": True})
    with pytest.raises(RuntimeError), ledger.batch(primary_key) as batch:
        for i in range(2500):  # more than one flush inside the transaction
            batch.append("note", {"i": i})
        raise RuntimeError("the reader failed half way")
    assert ledger.head().size == 1
    assert len(list(ledger.entries())) == 1
    assert Verifier(primary_key.verifier).verify(ledger).ok


def test_float_in_body_is_refused(ledger: Ledger, primary_key: NoteSigner) -> None:
    with pytest.raises(InputError), ledger.batch(primary_key) as batch:
        batch.append("note", {"score": 7.5})
    assert ledger.head().size == 0


def test_batches_continue_the_chain(ledger: Ledger, primary_key: NoteSigner) -> None:
    for n in range(5):
        with ledger.batch(primary_key) as batch:
            for i in range(n + 1):
                batch.append("note", {"batch": n, "i": i})
    result = Verifier(primary_key.verifier).verify(ledger)
    assert result.ok, result.problems
    assert result.entries == 15 and result.checkpoints == 6


def test_untrusted_key_is_unknown(ledger: Ledger, primary_key: NoteSigner) -> None:
    with ledger.batch(primary_key) as batch:
        batch.append("note", {})
    other = NoteSigner.generate("test.trailseal.invalid/ledger")
    result = Verifier(other.verifier).verify(ledger)
    assert result.status is Status.UNKNOWN_KEY


def test_reopen_existing(db_url: str, ledger: Ledger, primary_key: NoteSigner) -> None:
    with ledger.batch(primary_key) as batch:
        batch.append("note", {"x": 1})
    again = Ledger.open(db_url)
    assert again.origin == ledger.origin
    assert again.head().size == 1
    again.store.engine.dispose()


def test_incremental_verification_follows_and_guards_rotations(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    from ledger import verify_state

    new_key = NoteSigner.generate(primary_key.name)
    with sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"before": "rotation"})
    sqlite_ledger.rotate_key(primary_key, new_key)
    verifier = Verifier(primary_key.verifier)
    state = tmp_path / "state.json"
    verify_state.save(state, verifier.verify(sqlite_ledger))
    for i in range(2):  # twice: the second resumes from a checkpoint only the new key signed
        with sqlite_ledger.batch(new_key) as batch:
            batch.append("note", {"after": i})
        result = verifier.verify(sqlite_ledger, resume=verify_state.load(state))
        assert result.ok and result.start > 0, result.problems
        verify_state.save(state, result)

    with sqlite_ledger.store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM entries WHERE kind = 'key-rotation'")
    result = verifier.verify(sqlite_ledger, resume=verify_state.load(state))
    assert result.status is Status.TAMPERED, result.problems


def test_appending_refuses_a_head_the_signer_did_not_seal(
    sqlite_ledger: Ledger, primary_key: NoteSigner, stranger_key: NoteSigner
) -> None:
    from ledger.errors import SigningKeyError, StorageError

    with sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"n": 1})
    with pytest.raises(SigningKeyError), sqlite_ledger.batch(stranger_key) as batch:
        batch.append("note", {"n": 2})
    with sqlite_ledger.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE checkpoints SET frontier = zeroblob(32) WHERE size = 1")
    with pytest.raises(StorageError), sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"n": 3})


def test_a_retired_key_cannot_sign_a_proof_checkpoint(
    sqlite_ledger: Ledger, primary_key: NoteSigner
) -> None:
    from ledger.errors import VerificationError
    from ledger.note import CheckpointBody, sign_note
    from ledger.proof import Prover, check_proof

    new_key = NoteSigner.generate(primary_key.name)
    with sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"n": 1})
    sqlite_ledger.rotate_key(primary_key, new_key)
    with sqlite_ledger.batch(new_key) as batch:
        batch.append("note", {"n": 2})
    proof = Prover(sqlite_ledger).inclusion(2).to_json()
    assert check_proof(json.dumps(proof), [primary_key.verifier]).index == 2

    forged_tree = CheckpointBody(sqlite_ledger.origin, 3, bytes(32)).text()
    forged = {**proof, "checkpoint": sign_note(forged_tree, [primary_key])}
    with pytest.raises(VerificationError, match="not signed by any trusted key"):
        check_proof(json.dumps(forged), [primary_key.verifier])


def test_incremental_run_checks_older_witnessed_checkpoints(
    sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path
) -> None:
    from ledger import verify_state
    from ledger.note import CheckpointBody, sign_note
    from ledger.verify import read_kept

    notes = []
    for i in range(3):
        with sqlite_ledger.batch(primary_key) as batch:
            batch.append("note", {"i": i})
        notes.append(sqlite_ledger.head().note)
    verifier = Verifier(primary_key.verifier)
    state = tmp_path / "state.json"
    verify_state.save(state, verifier.verify(sqlite_ledger))
    with sqlite_ledger.batch(primary_key) as batch:
        batch.append("note", {"i": 3})

    kept = [read_kept(f"w{i}", note, sqlite_ledger.origin) for i, note in enumerate(notes)]
    result = verifier.verify(sqlite_ledger, kept=kept, resume=verify_state.load(state))
    assert result.ok and result.kept_checked == 3, result.problems

    forged = sign_note(CheckpointBody(sqlite_ledger.origin, 2, bytes(32)).text(), [primary_key])
    bad = [read_kept("forged", forged, sqlite_ledger.origin)]
    result = verifier.verify(sqlite_ledger, kept=bad, resume=verify_state.load(state))
    assert result.status is Status.FORKED, result.problems


def test_projection_rows_are_laid_out_as_the_findings_table() -> None:
    assert tuple(c.name for c in tables.findings.c) == FINDING_COLUMNS
    assert [c.name for c in tables.findings.primary_key.columns] == ["scope", "identity"]
    projection = Projection(track_changes=False)
    scope = {"id": "s", "repository": "r", "tool": "t"}
    body = {"scope": scope, "identity": "i", "artifact": "a", "event": "new"}
    projection.apply(
        3, "finding", {**body, "finding": {"rule_id": "R", "severity": "low", "title": "T"}}
    )
    projection.apply(4, "finding-fixed", {**body, "event": "fixed"})
    names = ["identity", "status", "status_seq", "scope", "last_seq"]
    taken = projection.take_findings(names)
    assert projection.findings == {}
    assert list(taken.values()) == [("i", "fixed", 4, "s", 3)]
    assert taken.pop(("s", "j")) is None and taken.pop(("t", "i")) is None
    assert taken.pop(("s", "i")) == ("i", "fixed", 4, "s", 3)
    assert taken.pop(("s", "i")) is None and list(taken.values()) == []
    assert projection.take_findings(FINDING_COLUMNS).pop(("s", "i")) is None
