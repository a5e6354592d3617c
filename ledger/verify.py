"""Verifier: replays a stored ledger and says whether it is intact.

The verifier trusts one thing, a verifier key given by the caller; nothing
read from the database is trusted, least of all a key. It reads every entry
and checkpoint once, in order, and performs these checks:

1. Each checkpoint is a well-formed C2SP checkpoint for this ledger's origin,
   signed by the trusted key (signed-note, "Signatures"). Stops a forged or
   re-signed history.
2. Entries are numbered 0, 1, 2, ... without gaps or repeats. Stops deleted
   or inserted rows.
3. Each stored leaf hash is SHA-256(0x00 || envelope) of the stored envelope
   bytes (RFC 9162 section 2.1.1), and the envelope's ``seq``, ``kind`` and
   ``time`` match the row. Stops edited envelopes and columns.
4. Each envelope's ``prev`` is the leaf hash of the entry before. Stops
   reordering and splicing.
5. Each body hashes, with its salt, to the envelope's ``body_hash``; a body
   and salt both absent is an erased entry, reported as such. Stops edited
   content.
6. The Merkle root at every checkpoint's size equals the signed root, and the
   stored compact range matches. Stops a rewritten tree.
7. Every entry is covered by a checkpoint, and no checkpoint claims more
   entries than exist. Finds an unsealed tail and a truncated ledger.
8. Replaying the entries rebuilds every derived table exactly, and every
   lifecycle event was possible when it was written. Stops an edited copy of
   a finding and a forged status change.
9. With ``since``: the ledger is consistent with a checkpoint the caller kept
   (the tree at that size has the same root). Finds a rollback or a fork.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from ledger import merkle
from ledger.errors import TrailsealError, VerificationError
from ledger.ledger import GENESIS_PREV, Ledger
from ledger.note import CheckpointBody, NoteVerifier, parse_note
from ledger.projection import Projection, ProjectionError
from ledger.store import EntryRow

log = logging.getLogger(__name__)

_ENVELOPE_KEYS = {"body_hash", "kind", "prev", "seq", "time", "v"}


class Status(Enum):
    """Verification verdicts, each with its own exit code."""

    INTACT = ("intact", 0)
    TAMPERED = ("tampered", 1)
    TRUNCATED = ("truncated", 3)
    FORKED = ("forked", 4)
    UNSEALED = ("unsealed-tail", 5)
    UNKNOWN_KEY = ("unknown-key", 6)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def exit_code(self) -> int:
        return self.value[1]


@dataclass(frozen=True)
class Problem:
    """One failed check: the first sequence number it concerns, and what failed."""

    status: Status
    seq: int | None
    check: str
    message: str


@dataclass
class Result:
    """What verification found. ``problems`` is ordered by sequence number."""

    origin: str
    key_id: str
    entries: int = 0
    checkpoints: int = 0
    size: int = 0
    root_hash: bytes = merkle.EMPTY_ROOT
    erased: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if not self.problems:
            return Status.INTACT
        return self.first.status

    @property
    def first(self) -> Problem:
        return min(self.problems, key=lambda p: p.seq if p.seq is not None else -1)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_status(self) -> None:
        """For library callers: raise :class:`VerificationError` unless intact."""
        if self.problems:
            first = self.first
            raise VerificationError(f"{first.status.label}: {first.message}")


@dataclass(frozen=True)
class TrustedCheckpoint:
    """A checkpoint the caller kept from earlier, parsed and signature-checked."""

    body: CheckpointBody
    note: str


def check_checkpoint(
    note: str, verifier: NoteVerifier, origin: str | None = None
) -> CheckpointBody:
    """Parse a signed checkpoint and check the trusted key's signature on it.

    Raises :class:`VerificationError` naming what is wrong.
    """
    parsed = parse_note(note)
    verdict = parsed.verified_by(verifier)
    if verdict is None:
        raise VerificationError(
            f"the checkpoint carries no signature by the trusted key {verifier.vkey()}"
        )
    if verdict is False:
        raise VerificationError("the checkpoint's signature by the trusted key is invalid")
    body = CheckpointBody.parse(parsed.text)
    if origin is not None and body.origin != origin:
        raise VerificationError(
            f"the checkpoint is for origin {body.origin!r}, not this ledger's {origin!r}"
        )
    return body


class Verifier:
    """Verifies a :class:`Ledger` against a trusted verifier key."""

    def __init__(self, verifier: NoteVerifier) -> None:
        self.key = verifier

    def verify(self, ledger: Ledger, since: TrustedCheckpoint | None = None) -> Result:
        """Run every check; never raises for a bad ledger, only for unreadable storage."""
        result = Result(origin=ledger.origin, key_id=self.key.key_id_hex)
        store = ledger.store
        with store.reading() as conn:
            checkpoint_rows = store.checkpoints(conn)
            # (1) every checkpoint: format, origin, trusted signature.
            signed: dict[int, bytes] = {}
            frontiers: dict[int, bytes] = {}
            for row in checkpoint_rows:
                problem = self._check_checkpoint_row(ledger.origin, row.size, row.note)
                if problem is not None:
                    result.problems.append(problem)
                    continue
                signed[row.size] = CheckpointBody.parse(parse_note(row.note).text).root_hash
                frontiers[row.size] = bytes(row.frontier)
            result.checkpoints = len(checkpoint_rows)

            wanted_sizes = set(signed)
            if since is not None:
                wanted_sizes.add(since.body.size)
            roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in wanted_sizes else {}
            frontier = merkle.Frontier()
            projection = Projection()
            prev = GENESIS_PREV
            expected_seq = 0
            for entry in store.iter_entries(conn):
                problem = self._check_entry(entry, expected_seq, prev, projection, result)
                if problem is not None:
                    result.problems.append(problem)
                    break
                leaf = bytes(entry.leaf_hash)
                frontier.append(leaf)
                prev = leaf.hex()
                expected_seq += 1
                size = frontier.size
                if size in wanted_sizes:
                    roots[size] = frontier.root()
                    # (6) the signed root and the stored compact range.
                    if size in signed and roots[size] != signed[size]:
                        result.problems.append(
                            Problem(
                                Status.TAMPERED,
                                size - 1,
                                "tree root",
                                f"the Merkle root over entries 0..{size - 1} differs from "
                                f"the signed checkpoint at size {size}",
                            )
                        )
                        break
                    if size in frontiers and frontiers[size] != frontier.to_bytes():
                        result.problems.append(
                            Problem(
                                Status.TAMPERED,
                                size - 1,
                                "compact range",
                                f"the stored compact range at size {size} does not match "
                                f"the entries",
                            )
                        )
                        break
            result.entries = expected_seq
            entry_failure = bool(result.problems) and any(
                p.check not in ("checkpoint",) for p in result.problems
            )

            # (7) coverage: truncation and unsealed tails.
            if not entry_failure:
                self._check_coverage(result, signed, expected_seq)

            # (8) derived tables, rebuilt from the entries.
            if not entry_failure:
                self._check_derived(result, projection, store.derived_rows(conn))

        # (9) consistency with a checkpoint kept by the caller.
        if since is not None and not entry_failure:
            self._check_since(result, since, roots, expected_seq)

        covered = [size for size in signed if size <= expected_seq]
        result.size = max(covered, default=0)
        result.root_hash = signed.get(result.size, merkle.EMPTY_ROOT)
        result.problems.sort(key=lambda p: p.seq if p.seq is not None else -1)
        return result

    def _check_checkpoint_row(self, origin: str, size: int, note: str) -> Problem | None:
        try:
            parsed = parse_note(note)
            body = CheckpointBody.parse(parsed.text)
        except TrailsealError as exc:
            return Problem(
                Status.TAMPERED,
                max(size - 1, 0),
                "checkpoint",
                f"checkpoint at size {size} is malformed: {exc}",
            )
        seq = max(size - 1, 0)
        if body.origin != origin or body.size != size:
            return Problem(
                Status.TAMPERED,
                seq,
                "checkpoint",
                f"checkpoint stored at size {size} is for {body.origin!r} size {body.size}",
            )
        verdict = parsed.verified_by(self.key)
        if verdict is None:
            return Problem(
                Status.UNKNOWN_KEY,
                seq,
                "checkpoint",
                f"checkpoint at size {size} is not signed by the trusted key "
                f"{self.key.name} {self.key.key_id_hex}",
            )
        if verdict is False:
            return Problem(
                Status.TAMPERED,
                seq,
                "checkpoint",
                f"checkpoint at size {size} has an invalid signature by the trusted key",
            )
        return None

    def _check_entry(
        self, row: EntryRow, expected_seq: int, prev: str, projection: Projection, result: Result
    ) -> Problem | None:
        seq = row.seq

        def bad(check: str, message: str, at: int = seq) -> Problem:
            return Problem(Status.TAMPERED, at, check, f"entry {at}: {message}")

        # (2) numbering without gaps or repeats.
        if seq != expected_seq:
            what = "is missing" if seq > expected_seq else "is out of order"
            return bad("sequence", f"{what} (found {seq} next)", expected_seq)
        # (3) the leaf hash over the stored envelope bytes.
        envelope = bytes(row.envelope)
        if merkle.leaf_hash(envelope) != bytes(row.leaf_hash):
            return bad("leaf hash", "the stored envelope does not hash to its leaf hash")
        try:
            fields = orjson.loads(envelope)
        except orjson.JSONDecodeError:
            return bad("envelope", "the envelope is not JSON")
        if not isinstance(fields, dict) or set(fields) != _ENVELOPE_KEYS or fields["v"] != 1:
            return bad("envelope", "the envelope does not have the version 1 fields")
        if fields["seq"] != seq or fields["kind"] != row.kind or fields["time"] != row.time:
            return bad("envelope", "the envelope's seq, kind or time differ from the row")
        # (4) the chain link.
        if fields["prev"] != prev:
            return bad("chain", "its prev hash is not the leaf hash of the entry before")
        # (5) the body commitment, or an erasure.
        body, salt = row.body, row.salt
        if body is None and salt is None:
            result.erased.append(seq)
            # An erased body cannot be replayed: the derived tables are
            # checked against the entries that remain.
            return None
        if body is None or salt is None:
            return bad("body", "body or salt is missing without the other")
        body, salt = bytes(body), bytes(salt)
        if hashlib.sha256(salt + body).hexdigest() != fields["body_hash"]:
            return bad("body", "the body does not match the body hash in its envelope")
        try:
            decoded = orjson.loads(body)
            projection.apply(seq, row.kind, decoded)
        except orjson.JSONDecodeError:
            return bad("body", "the body is not JSON")
        except ProjectionError as exc:
            return bad("lifecycle", str(exc).split(": ", 1)[-1])
        return None

    def _check_coverage(self, result: Result, signed: dict[int, bytes], count: int) -> None:
        beyond = sorted(size for size in signed if size > count)
        if beyond:
            result.problems.append(
                Problem(
                    Status.TRUNCATED,
                    count,
                    "coverage",
                    f"a signed checkpoint covers {beyond[-1]} entries but only {count} exist; "
                    f"entries from {count} on were removed",
                )
            )
            return
        last = max(signed, default=0)
        if last < count:
            result.problems.append(
                Problem(
                    Status.UNSEALED,
                    last,
                    "coverage",
                    f"entries {last}..{count - 1} are not covered by any signed checkpoint",
                )
            )

    def _check_derived(
        self, result: Result, projection: Projection, stored: dict[str, list[dict[str, Any]]]
    ) -> None:
        if result.erased:
            # Rows derived from erased bodies cannot be recomputed.
            log.info("derived tables not compared: %d erased entries", len(result.erased))
            return
        expected = {
            "artifacts": sorted(projection.artifacts, key=lambda r: (r["sha256"], r["repository"])),
            "findings": [projection.findings[k] for k in sorted(projection.findings)],
        }
        for table, rows in expected.items():
            problem = _compare_rows(table, rows, stored.get(table, []))
            if problem is not None:
                result.problems.append(problem)

    def _check_since(
        self, result: Result, since: TrustedCheckpoint, roots: dict[int, bytes], count: int
    ) -> None:
        size = since.body.size
        if size > count:
            result.problems.append(
                Problem(
                    Status.TRUNCATED,
                    count,
                    "since",
                    f"the kept checkpoint covers {size} entries but the ledger has {count}: "
                    f"it was truncated or rolled back",
                )
            )
        elif roots.get(size) != since.body.root_hash:
            result.problems.append(
                Problem(
                    Status.FORKED,
                    max(size - 1, 0),
                    "since",
                    f"the ledger's tree at size {size} differs from the kept checkpoint: "
                    f"its history was rewritten",
                )
            )


def _compare_rows(
    table: str, expected: Sequence[dict[str, Any]], stored: Sequence[dict[str, Any]]
) -> Problem | None:
    exp = {_row_key(table, r): r for r in expected}
    got = {_row_key(table, r): r for r in stored}
    for key in sorted(set(exp) | set(got)):
        want, have = exp.get(key), got.get(key)
        if want is None or have is None or any(have.get(c) != v for c, v in want.items()):
            row = want or have or {}
            seq = row.get("last_seq", row.get("seq"))
            what = (
                "is not derived from any entry"
                if want is None
                else ("is missing" if have is None else "differs from what the entries say")
            )
            return Problem(
                Status.TAMPERED,
                int(seq) if seq is not None else None,
                f"derived {table}",
                f"row {'/'.join(key)} of derived table {table} {what}",
            )
    return None


def _row_key(table: str, row: dict[str, Any]) -> tuple[str, ...]:
    if table == "artifacts":
        return (str(row["sha256"]), str(row["repository"]))
    return (str(row["scope"]), str(row["identity"]))
