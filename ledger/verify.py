"""Verifier: replays a stored ledger and says whether it is intact.

The verifier trusts one thing, a verifier key given by the caller; nothing
read from the database is trusted, least of all a key. It reads every entry
and checkpoint once, in order, and performs these checks:

1. Each checkpoint is a well-formed C2SP checkpoint for this ledger's origin,
   signed by the key the :class:`~ledger.trust.TrustPolicy` expects at its
   size (signed-note, "Signatures"). Stops a forged or re-signed history,
   and checkpoints made with a revoked key.
2. Entries are numbered 0, 1, 2, ... without gaps or repeats. Stops deleted
   or inserted rows.
3. Each stored leaf hash is SHA-256(0x00 || envelope) of the stored envelope
   bytes (RFC 9162 section 2.1.1), and the envelope's ``seq``, ``kind`` and
   ``time`` match the row. Stops edited envelopes and columns.
4. Each envelope's ``prev`` is the leaf hash of the entry before. Stops
   reordering and splicing.
5. Each body hashes, with its salt, to the envelope's ``body_hash``. A body
   and salt both absent is accepted only when a later signed ``erasure``
   entry says so, and is then reported as erased. Stops edited content and
   silent deletion of content.
6. The Merkle root at every checkpoint's size equals the signed root, and the
   stored compact range matches. Stops a rewritten tree.
7. Every entry is covered by a checkpoint, and no checkpoint claims more
   entries than exist. Finds an unsealed tail and a truncated ledger.
8. Replaying the entries rebuilds every derived table exactly, and every
   lifecycle event was possible when it was written. Stops an edited copy of
   a finding and a forged status change.
9. Checkpoints kept outside the database (``--since``, witness directories)
   are signed by the trusted key history and match the tree at their size.
   Finds a rollback (truncated) or a rewritten history (forked).
"""

from __future__ import annotations

import hashlib
import logging
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from ledger import merkle
from ledger.errors import TrailsealError, VerificationError
from ledger.ledger import ERASURE_KIND, GENESIS_PREV, Ledger, envelope_bytes
from ledger.note import CheckpointBody, NoteVerifier, SignedNote, parse_note
from ledger.projection import REPLAYED_KINDS, FindingTuples, Projection, ProjectionError
from ledger.store import EntryRow
from ledger.trust import REVOCATION_KIND, ROTATION_KIND, TrustPolicy

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
    note: str | None = None
    start: int = 0
    frontier: merkle.Frontier | None = None
    last_leaf: bytes = b""
    key_history: list[tuple[int, str, str]] = field(default_factory=list)
    erased: list[int] = field(default_factory=list)
    kept_checked: int = 0
    derived_checked: bool = False
    problems: list[Problem] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return self.first.status if self.problems else Status.INTACT

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
class KeptCheckpoint:
    """A checkpoint kept outside the database (``--since``, a witness file)."""

    source: str
    note: str
    body: CheckpointBody


def read_kept(source: str, note: str, origin: str) -> KeptCheckpoint:
    """Parse a kept checkpoint; its signature is checked during verification."""
    try:
        body = CheckpointBody.parse(parse_note(note).text)
    except TrailsealError as exc:
        raise VerificationError(f"{source}: not a checkpoint: {exc}") from None
    if body.origin != origin:
        raise VerificationError(
            f"{source}: checkpoint for origin {body.origin!r}, not this ledger's {origin!r}"
        )
    return KeptCheckpoint(source, note, body)


def check_checkpoint(
    note: str, verifier: NoteVerifier, origin: str | None = None
) -> CheckpointBody:
    """Parse a signed checkpoint and check one key's signature on it (no rotation).

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


@dataclass
class ResumePoint:
    """Where an incremental verification starts: a checkpoint verified before.

    ``frontier`` must hash to the checkpoint's signed root and ``last_leaf``
    must equal the stored leaf before ``size``; both are checked, so an
    edited state file can make verification fail but never pass.
    """

    note: str
    frontier: merkle.Frontier
    last_leaf: bytes
    key_history: list[tuple[int, str, str]] = field(default_factory=list)
    """(seq, kind, SHA-256 of the body) of each key rotation and revocation before."""


class Verifier:
    """Verifies a :class:`Ledger` against a trusted verifier key."""

    def __init__(self, verifier: NoteVerifier) -> None:
        self.key = verifier

    def verify(
        self,
        ledger: Ledger,
        kept: Sequence[KeptCheckpoint] = (),
        resume: ResumePoint | None = None,
    ) -> Result:
        """Run every check; never raises for a bad ledger, only for unreadable storage."""
        result = Result(origin=ledger.origin, key_id=self.key.key_id_hex)
        with ledger.store.reading() as conn:
            _Run(self.key, ledger, conn, result, kept, resume).run()
        result.problems.sort(key=lambda p: p.seq if p.seq is not None else -1)
        return result


class _Run:
    """One verification pass; holds the state the numbered checks share."""

    def __init__(
        self,
        key: NoteVerifier,
        ledger: Ledger,
        conn: Connection,
        result: Result,
        kept: Sequence[KeptCheckpoint],
        resume: ResumePoint | None,
    ) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.conn = conn
        self.result = result
        self.kept = list(kept)
        self.resume = resume
        self.policy = TrustPolicy(key, ledger.origin)
        # Lifecycle replay needs the state before the first entry read, which
        # an incremental run does not have; it is checked by full runs.
        self.projection = Projection(track_changes=False) if resume is None else None
        self.erasures: dict[int, dict[str, Any]] = {}

    def fail(self, status: Status, seq: int | None, check: str, message: str) -> None:
        self.result.problems.append(Problem(status, seq, check, message))

    def run(self) -> None:
        result = self.result
        rows = self.store.checkpoints(self.conn)
        result.checkpoints = len(rows)
        notes: dict[int, tuple[Any, Any]] = {row.size: (row.note, row.frontier) for row in rows}
        self._prescan()

        start, frontier, prev = 0, merkle.Frontier(), GENESIS_PREV
        if self.resume is not None:
            resumed = self._resume()
            if resumed is None:
                return
            start, frontier, prev = resumed
        result.start = start

        kept_sizes = {k.body.size for k in self.kept}
        wanted = set(notes) | kept_sizes
        roots: dict[int, bytes] = {start: frontier.root()}
        signed_roots: dict[int, bytes] = {}
        if start == 0 and 0 not in notes:
            self.fail(Status.TAMPERED, 0, "checkpoint", "the ledger's first checkpoint is missing")
            return
        if start in notes and not self._checkpoint(start, notes[start], frontier, signed_roots):
            return
        expected = start
        batch_time = None
        fast = _FastPath(self.projection)
        for entry in self.store.iter_entries(self.conn, start):
            # Checks 2 to 5 in one comparison when the entry is ordinary; any
            # difference goes through the step-by-step checks, which name it.
            if not fast.accepts(entry, expected, prev) and not self._entry(entry, expected, prev):
                return
            # Entries of one batch share a time, and batch times increase, so a
            # change of time marks a batch boundary, where a checkpoint must be.
            if entry.time != batch_time:
                if batch_time is not None and entry.time < batch_time:
                    self.fail(
                        Status.TAMPERED,
                        expected,
                        "time",
                        f"entry {expected} is dated before the entry preceding it",
                    )
                    return
                if batch_time is not None and expected not in notes:
                    self.fail(
                        Status.TAMPERED,
                        expected - 1,
                        "checkpoint",
                        f"the checkpoint sealing entries up to {expected - 1} is missing",
                    )
                    return
                batch_time = entry.time
            leaf = entry.leaf_hash
            frontier.append(leaf)
            prev = leaf.hex()
            expected += 1
            if expected in wanted:
                roots[expected] = frontier.root()
                if expected in notes and not self._checkpoint(
                    expected, notes[expected], frontier, signed_roots
                ):
                    return
        result.entries = expected
        result.frontier = frontier
        result.last_leaf = bytes.fromhex(prev) if expected else b""

        # The main pass reads every row from 0 up, so a number out of sequence
        # shows there as a gap; a row added below 0 it would never reach.
        if not self.result.problems and self.store.min_seq(self.conn) < 0:
            self.fail(Status.TAMPERED, 0, "sequence", "a row has a negative sequence number")
        # (7) coverage: truncation and unsealed tails.
        self._coverage(notes, expected)
        # (8) derived tables, rebuilt from the entries; after a cut tail they
        # differ for that reason alone, which (7) has already reported.
        if self.resume is None and not self.result.problems:
            self._derived()
        # (9) checkpoints kept outside the database.
        for kept in self.kept:
            size = kept.body.size
            if size < start and size not in roots:
                # Before the resume point: the tree there, from the stored leaves
                # (which the resumed verification checked).
                roots[size] = merkle.root(self.store.leaf_hashes(self.conn, size))
            self._kept(kept, roots, expected)

        covered = [size for size in signed_roots if size <= expected]
        result.size = max(covered, default=0)
        result.root_hash = signed_roots.get(result.size, merkle.EMPTY_ROOT)
        result.note = notes[result.size][0] if result.size in notes else None

    def _prescan(self) -> None:
        """Read key and erasure entries first: they govern checks on earlier rows.

        Their own integrity is checked in the main pass like any entry's.
        """
        kinds = (ROTATION_KIND, REVOCATION_KIND, ERASURE_KIND)
        for entry in self.store.entries_of_kinds(self.conn, kinds):
            if entry.body is None:
                continue
            try:
                body = orjson.loads(entry.body)
                if entry.kind == REVOCATION_KIND:
                    self.policy.revoke(int(body["key_id"], 16), int(body["from_seq"]))
                elif entry.kind == ERASURE_KIND:
                    self.erasures[int(body["seq"])] = body
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # the main pass reports the malformed entry

    def _resume(self) -> tuple[int, merkle.Frontier, str] | None:
        assert self.resume is not None
        resume = self.resume
        try:
            note = parse_note(resume.note)
            body = CheckpointBody.parse(note.text)
        except TrailsealError as exc:
            self.fail(Status.TAMPERED, None, "resume", f"the saved checkpoint is unreadable: {exc}")
            return None
        # Key history before the resume point: it decides who signs from here.
        # It must be exactly what the verification being resumed saw, and
        # every rotation in it must still be valid.
        history = []
        for entry in self.store.entries_of_kinds(self.conn, (ROTATION_KIND, REVOCATION_KIND)):
            if entry.seq >= body.size:
                continue
            # A column of the wrong type still yields bytes that differ from before.
            body_column: Any = entry.body
            if isinstance(body_column, str):
                body_column = body_column.encode("utf-8", "surrogatepass")
            raw = bytes(body_column) if body_column is not None else b""
            history.append((entry.seq, entry.kind, hashlib.sha256(raw).hexdigest()))
            problem = None
            if entry.kind == ROTATION_KIND:
                try:
                    problem = self.policy.observe_rotation(entry.seq, orjson.loads(raw))
                except orjson.JSONDecodeError:
                    problem = "the rotation body is not JSON"
            if problem is not None:
                self.fail(Status.TAMPERED, entry.seq, "resume", f"entry {entry.seq}: {problem}")
                return None
        if history != resume.key_history:
            self.fail(
                Status.TAMPERED,
                None,
                "resume",
                "the key rotations and revocations before the resume point are not those the "
                "last verification saw; verify in full",
            )
            return None
        self.result.key_history = list(history)
        verdict, label = self.policy.check(note, body.size)
        if verdict is not True or body.origin != self.ledger.origin:
            self.fail(
                Status.UNKNOWN_KEY,
                None,
                "resume",
                f"the saved verification state is not signed by {label}; verify in full",
            )
            return None
        if resume.frontier.size != body.size or resume.frontier.root() != body.root_hash:
            self.fail(Status.TAMPERED, None, "resume", "the saved state does not match its root")
            return None
        if body.size:
            stored = self.store.get_entry(self.conn, body.size - 1)
            if stored is None or bytes(stored.leaf_hash) != resume.last_leaf:
                self.fail(
                    Status.FORKED,
                    body.size - 1,
                    "resume",
                    f"entry {body.size - 1} is not the one verified before: history was "
                    f"rewritten since the last verification",
                )
                return None
        return body.size, resume.frontier.copy(), resume.last_leaf.hex()

    def _checkpoint(
        self,
        size: int,
        stored: tuple[Any, Any],
        frontier: merkle.Frontier,
        signed_roots: dict[int, bytes],
    ) -> bool:
        note_text, stored_frontier = stored
        seq = max(size - 1, 0)
        if not isinstance(note_text, str) or not isinstance(stored_frontier, bytes):
            self.fail(
                Status.TAMPERED,
                seq,
                "checkpoint",
                f"checkpoint at size {size} has a column of the wrong type",
            )
            return False
        # (1) format, origin and the signature the trust policy expects.
        try:
            note = parse_note(note_text)
            body = CheckpointBody.parse(note.text)
        except TrailsealError as exc:
            self.fail(Status.TAMPERED, seq, "checkpoint", f"checkpoint at size {size}: {exc}")
            return False
        if body.origin != self.ledger.origin or body.size != size:
            self.fail(
                Status.TAMPERED,
                seq,
                "checkpoint",
                f"checkpoint stored at size {size} is for {body.origin!r} size {body.size}",
            )
            return False
        if not self._signature(note, size, seq, "checkpoint", f"checkpoint at size {size}"):
            return False
        # (6) the signed root and the stored compact range.
        if frontier.root() != body.root_hash:
            self.fail(
                Status.TAMPERED,
                seq,
                "tree root",
                f"the Merkle root over entries 0..{seq} differs from the signed "
                f"checkpoint at size {size}",
            )
            return False
        if stored_frontier != frontier.to_bytes():
            self.fail(
                Status.TAMPERED,
                seq,
                "compact range",
                f"the stored compact range at size {size} does not match the entries",
            )
            return False
        signed_roots[size] = body.root_hash
        return True

    def _signature(self, note: SignedNote, size: int, seq: int, check: str, what: str) -> bool:
        verdict, label = self.policy.check(note, size)
        if verdict is None:
            self.fail(
                Status.UNKNOWN_KEY, seq, check, f"{what} is not signed by the trusted key {label}"
            )
            return False
        if verdict is False:
            self.fail(Status.TAMPERED, seq, check, f"{what} has no valid signature by {label}")
            return False
        return True

    def _entry(self, row: EntryRow, expected: int, prev: str) -> bool:
        seq = row.seq

        def bad(check: str, message: str, at: int = seq) -> bool:
            self.fail(Status.TAMPERED, at, check, f"entry {at}: {message}")
            return False

        # (2) numbering without gaps or repeats, and columns of their types.
        for column in (row.leaf_hash, row.envelope, row.body, row.salt):
            if column is not None and not isinstance(column, (bytes, memoryview)):
                return bad("column type", "a byte column holds text")
        if not isinstance(row.kind, str) or not isinstance(row.time, str):
            return bad("column type", "the kind or time column does not hold text")
        if seq != expected:
            what = "is missing" if seq > expected else "is out of order"
            return bad("sequence", f"{what} (found {seq} next)", expected)
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
        # (5) the body commitment, or a signed erasure.
        if row.body is None and row.salt is None:
            erasure = self.erasures.get(seq)
            if erasure is None or erasure.get("body_hash") != fields["body_hash"]:
                return bad("body", "its content was removed without a signed erasure entry")
            self.result.erased.append(seq)
            body: Any = erasure.get("retained")
        else:
            if row.body is None or row.salt is None:
                return bad("body", "body or salt is missing without the other")
            raw, salt = bytes(row.body), bytes(row.salt)
            if hashlib.sha256(salt + raw).hexdigest() != fields["body_hash"]:
                return bad("body", "the body does not match the body hash in its envelope")
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return bad("body", "the body is not JSON")
        if not isinstance(body, dict):
            return True if body is None else bad("body", "the body is not a JSON object")
        # Key history and lifecycle replay (checks 1 and 8).
        if row.kind in (ROTATION_KIND, REVOCATION_KIND) and row.body is not None:
            digest = hashlib.sha256(bytes(row.body)).hexdigest()
            self.result.key_history.append((seq, row.kind, digest))
        if row.kind == ROTATION_KIND:
            problem = self.policy.observe_rotation(seq, body)
            if problem is not None:
                return bad("key rotation", problem)
        if row.kind == ERASURE_KIND:
            target = body.get("seq")
            if not isinstance(target, int) or not 0 <= target < seq:
                return bad("erasure", "an erasure must name an earlier entry")
        try:
            if self.projection is not None:
                self.projection.apply(seq, row.kind, body)
        except ProjectionError as exc:
            return bad("lifecycle", str(exc).split(": ", 1)[-1])
        return True

    def _coverage(self, notes: dict[int, tuple[str, bytes]], count: int) -> None:
        beyond = sorted(size for size in notes if size > count)
        if beyond:
            self.fail(
                Status.TRUNCATED,
                count,
                "coverage",
                f"a stored checkpoint covers {beyond[-1]} entries but only {count} exist: "
                f"entries from {count} on were removed",
            )
            return
        last = max(notes, default=0)
        if last < count:
            self.fail(
                Status.UNSEALED,
                last,
                "coverage",
                f"entries {last}..{count - 1} are not covered by any signed checkpoint",
            )

    def _derived(self) -> None:
        """Compare every derived table with its replay.

        The stored rows are streamed past the replayed ones, each replayed
        finding becoming a tuple only as it is compared, so a large ledger's
        state is held once, not three times.
        """
        projection = self.projection
        assert projection is not None
        for table, (names, keys) in self.store.derived_columns().items():
            key_columns = [names.index(k) for k in keys]
            key_of = operator.itemgetter(*key_columns)
            want: dict[Any, tuple[Any, ...]] | FindingTuples
            if table == "findings":
                # Taken by (scope, identity), the table's key.
                want = projection.take_findings(names)
            else:
                rows = _as_tuples(_drain_list(projection.artifacts), names)
                want = {key_of(row): row for row in rows}
            mismatches: list[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]] = []
            for row in self.store.iter_derived(self.conn, table):
                expected = want.pop(key_of(row), None)
                if expected != row:
                    mismatches.append((expected, row))
            mismatches.extend((expected, None) for expected in want.values())
            if mismatches:
                self.result.problems.append(_difference(table, names, key_columns, mismatches))
        self.result.derived_checked = True

    def _kept(self, kept: KeptCheckpoint, roots: dict[int, bytes], count: int) -> None:
        size = kept.body.size
        seq = max(min(size, count) - 1, 0)
        try:
            note = parse_note(kept.note)
        except TrailsealError as exc:
            self.fail(Status.TAMPERED, seq, "kept checkpoint", f"{kept.source}: {exc}")
            return
        if not self._signature(note, size, seq, "kept checkpoint", kept.source):
            return
        self.result.kept_checked += 1
        if size > count:
            self.fail(
                Status.TRUNCATED,
                count,
                "kept checkpoint",
                f"{kept.source} covers {size} entries but the ledger has {count}: it was "
                f"truncated or rolled back",
            )
        elif size in roots and roots[size] != kept.body.root_hash:
            self.fail(
                Status.FORKED,
                seq,
                "kept checkpoint",
                f"the tree at size {size} differs from {kept.source}: history was rewritten",
            )
        elif size not in roots:
            self.fail(
                Status.FORKED,
                seq,
                "kept checkpoint",
                f"{kept.source} is at size {size}, before the verified range",
            )


class _FastPath:
    """The checks of an ordinary entry, done by rebuilding its envelope.

    For an entry with a body and salt, ``envelope_bytes(seq, kind, time,
    prev, SHA-256(salt || body))`` must equal the stored envelope byte for
    byte; that one comparison covers numbering, the columns, the chain link
    and the body commitment (and that the envelope is canonical). Key and
    erasure entries, erased bodies and anything that differs are left to the
    step-by-step checks.
    """

    def __init__(self, projection: Projection | None) -> None:
        self.projection = projection

    def accepts(self, row: EntryRow, expected: int, prev: str) -> bool:
        body, salt, envelope = row.body, row.salt, row.envelope
        if (
            row.seq != expected
            or type(body) is not bytes
            or type(salt) is not bytes
            or type(envelope) is not bytes
            or type(row.leaf_hash) is not bytes
            or type(row.kind) is not str
            or type(row.time) is not str
            or row.kind in _SPECIAL_KINDS
            or not row.kind.isascii()
            or not row.time.isascii()
        ):
            return False
        digest = hashlib.sha256(salt + body).hexdigest()
        if envelope != envelope_bytes(row.seq, row.kind, row.time, prev, digest):
            return False
        if merkle.leaf_hash(envelope) != row.leaf_hash:
            return False
        if self.projection is not None and row.kind in REPLAYED_KINDS:
            try:
                self.projection.apply(row.seq, row.kind, orjson.loads(body))
            except (orjson.JSONDecodeError, ProjectionError):
                return False
        return True


_SPECIAL_KINDS = frozenset((ROTATION_KIND, REVOCATION_KIND, ERASURE_KIND))


def _as_tuples(rows: Iterable[dict[str, Any]], names: list[str]) -> Iterator[tuple[Any, ...]]:
    """Replayed rows as tuples in column order."""
    values = operator.itemgetter(*names)
    for row in rows:
        try:
            yield values(row)
        except KeyError:
            # A row replayed from an erased entry may lack a column.
            yield tuple(row.get(n) for n in names)


def _drain_list(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield and forget the rows of a list, so each can be freed once converted."""
    rows.reverse()
    while rows:
        yield rows.pop()


def _difference(
    table: str,
    names: list[str],
    key_columns: list[int],
    mismatches: list[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]],
) -> Problem:
    """Describe the earliest row where a derived table differs from the replay.

    Each mismatch is (replayed row, stored row); either may be absent.
    """
    seq_column = names.index("last_seq") if "last_seq" in names else names.index("seq")
    described = []
    for expected, stored in mismatches:
        row = expected or stored or ()
        seq = row[seq_column] if isinstance(row[seq_column], int) else -1
        if expected is None:
            what = "is not derived from any entry"
        elif stored is None:
            what = "is missing"
        else:
            column = next(n for n, a, b in zip(names, expected, stored, strict=True) if a != b)
            what = f"differs from what the entries say (column {column})"
        described.append((seq, tuple(str(row[i]) for i in key_columns), what))
    seq, key, what = min(described)
    return Problem(
        Status.TAMPERED,
        seq if seq >= 0 else None,
        f"derived {table}",
        f"row {'/'.join(key)} of derived table {table} {what}",
    )
