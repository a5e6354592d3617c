"""The ledger: append entries in signed batches, read them back.

An entry is two things stored side by side: its *body*, the RFC 8785 bytes
of what it records, with a random 32-byte salt; and its *envelope*, the
RFC 8785 bytes of ``{body_hash, kind, prev, seq, time, v}``. The envelope is
the Merkle leaf and the link of the hash chain; it commits to the body only
through ``body_hash = SHA-256(salt || body)``, so a body can be erased (with
its salt, so it cannot be guessed back) while every hash and proof over the
envelopes still verifies.

Appends happen in batches. A batch holds the append lock from its first
read to its commit; its entries, the derived-table updates and one signed
checkpoint at the new tree size commit in a single transaction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from ledger import canonical, merkle
from ledger.errors import (
    InputError,
    LedgerNotFoundError,
    SigningKeyError,
    StorageError,
    TrailsealError,
)
from ledger.note import CheckpointBody, NoteSigner, check_key_name, parse_note, sign_note
from ledger.projection import IDENTITY, SCOPE, Projection, ProjectionError
from ledger.store import CheckpointRow, EntryRow, Store, describe_url
from ledger.trust import REVOCATION_KIND, ROTATION_KIND, rotation_body

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
ERASURE_KIND = "erasure"
ERASED_TEXT = "(erased)"
GENESIS_PREV = "0" * 64
_KIND = re.compile(r"^[a-z][a-z0-9.-]{0,63}$")
_FLUSH_EVERY = 2000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: fixed width, so it sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Read a time written by :func:`format_time`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def envelope_bytes(seq: int, kind: str, time: str, prev: str, body_hash: str) -> bytes:
    """The RFC 8785 bytes of an envelope.

    Every field is ASCII with nothing to escape (kind and time are checked,
    hashes are hex), so writing the keys in their sorted order *is* the
    canonical form; a test compares this with a reference implementation.
    """
    return (
        f'{{"body_hash":"{body_hash}","kind":"{kind}","prev":"{prev}",'
        f'"seq":{seq},"time":"{time}","v":1}}'
    ).encode("ascii")


def body_hash(salt: bytes, body: bytes) -> str:
    return hashlib.sha256(salt + body).hexdigest()


@dataclass(frozen=True)
class Head:
    """The signed state of a ledger: its latest checkpoint."""

    origin: str
    size: int
    root_hash: bytes
    note: str


class _ScopeCache:
    """Loads a scope's stored finding rows in one query, the first time it is asked.

    A batch touches thousands of findings of a few scopes; one query per scope
    instead of one per finding is what keeps ingest near the raw floor.
    """

    def __init__(self, store: Store, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self._scopes: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, scope: str, identity: str) -> dict[str, Any] | None:
        rows = self._scopes.get(scope)
        if rows is None:
            rows = {r["identity"]: r for r in self._store.finding_rows(self._conn, scope)}
            self._scopes[scope] = rows
        # The projection keeps the row from here on; drop our copy.
        return rows.pop(identity, None)


class Batch:
    """Entries being appended under the lock; see :meth:`Ledger.batch`."""

    def __init__(self, ledger: Ledger, conn: Connection, clock: Clock, signer: NoteSigner) -> None:
        self.ledger = ledger
        self.conn = conn
        store = ledger.store
        last = store.last_entry(conn)
        checkpoint = store.latest_checkpoint(conn)
        self.start = last.seq + 1 if last else 0
        self.size = self.start
        self._frontier = ledger._frontier_at(conn, checkpoint, self.start)
        self._prev = self._check_head(checkpoint, last, signer)
        self._rows: list[EntryRow] = []
        self._cache = _ScopeCache(store, conn)
        self._written: set[tuple[str, str]] = set()
        self.projection = Projection(self._load)
        self.rebuild_derived = False
        # One time for the whole batch: its entries become visible together.
        # Batch times strictly increase, so verification can tell where each
        # batch ends and insist on its checkpoint there.
        moment = clock()
        if last is not None:
            floor = parse_time(last.time) + timedelta(microseconds=1)
            if floor > moment + timedelta(days=1):
                raise StorageError(
                    f"entry {last.seq} is dated {last.time}, in the future; run 'trailseal verify'"
                )
            moment = max(moment, floor)
        self.time = format_time(moment)

    def _check_head(
        self, checkpoint: CheckpointRow | None, last: EntryRow | None, signer: NoteSigner
    ) -> str:
        """Refuse to extend a head that the signer did not seal; return ``prev``.

        The next checkpoint commits to everything before it, so a batch must
        not build on stored values it has not checked: the latest checkpoint
        must carry the signer's valid signature, cover every stored entry, and
        its root must be that of the compact range the batch extends; the last
        entry's leaf hash must be the hash of its envelope. Otherwise an
        ordinary ingest would sign a history someone wrote into the database.
        """
        if checkpoint is None:
            raise StorageError("the ledger has no checkpoint; it was not created by trailseal")
        try:
            note = parse_note(checkpoint.note)
            body = CheckpointBody.parse(note.text)
        except TrailsealError as exc:
            raise StorageError(f"the latest checkpoint is unreadable ({exc}); verify") from None
        if note.verified_by(signer.verifier) is not True:
            raise SigningKeyError(
                "the latest checkpoint is not signed by this signing key; refusing to extend a "
                "head it did not seal (run 'trailseal verify', or use the ledger's active key)"
            )
        if body.size != self.start or self._frontier.root() != body.root_hash:
            raise StorageError(
                f"the stored entries ({self.start}) or tree do not match the latest signed "
                f"checkpoint (size {body.size}); run 'trailseal verify' before appending"
            )
        if last is None:
            return GENESIS_PREV
        if merkle.leaf_hash(bytes(last.envelope)) != bytes(last.leaf_hash):
            raise StorageError(
                f"entry {last.seq} does not hash to its leaf; run 'trailseal verify' first"
            )
        return bytes(last.leaf_hash).hex()

    def append(self, kind: str, body: dict[str, Any]) -> int:
        """Add an entry; returns its sequence number. Written at commit, or not at all."""
        if not _KIND.match(kind):
            raise ValueError(f"invalid entry kind {kind!r}")
        body_bytes = canonical.dumps(body)
        seq = self.size
        # Replay first: an impossible lifecycle event is refused before it is written.
        try:
            self.projection.apply(seq, kind, body)
        except ProjectionError as exc:
            raise InputError(f"refusing to append: {exc}") from exc
        salt = os.urandom(32)
        time = self.time
        envelope = envelope_bytes(seq, kind, time, self._prev, body_hash(salt, body_bytes))
        leaf = merkle.leaf_hash(envelope)
        self._rows.append(EntryRow(seq, kind, time, leaf, envelope, body_bytes, salt))
        self._frontier.append(leaf)
        self._prev = leaf.hex()
        self.size += 1
        if len(self._rows) >= _FLUSH_EVERY:
            self.flush()
        return seq

    def flush(self) -> None:
        """Send buffered entries and derived rows to the database, still inside
        the transaction, so a large batch holds only a few thousand in memory."""
        self.ledger.store.insert_entries(self.conn, self._rows)
        self._rows = []
        artifacts, new, changed = self.projection.take_changes()
        self.ledger.store.save_derived(self.conn, artifacts, new, changed)
        for row in (*new, *changed):
            self._written.add((row[SCOPE], row[IDENTITY]))

    def _load(self, scope: str, identity: str) -> dict[str, Any] | None:
        """A finding row as the projection needs it: from the scope's stored rows,
        or, if this batch already wrote it, read back from the database."""
        if (scope, identity) in self._written:
            return self.ledger.store.finding_row(self.conn, scope, identity)
        return self._cache.get(scope, identity)

    def _seal(self, signers: Sequence[NoteSigner]) -> None:
        self.flush()
        body = CheckpointBody(self.ledger.origin, self.size, self._frontier.root())
        if self.rebuild_derived:
            self.ledger._rebuild_derived(self.conn)
        note = sign_note(body.text(), list(signers))
        self.ledger.store.insert_checkpoint(self.conn, self.size, note, self._frontier.to_bytes())
        log.info(
            "sealed entries %d..%d, checkpoint root %s",
            self.start,
            self.size - 1,
            body.root_hash.hex()[:16],
        )


class Ledger:
    """A trailseal ledger in one database."""

    def __init__(self, store: Store, origin: str) -> None:
        self.store = store
        self.origin = origin

    @classmethod
    def create(cls, url: str, origin: str, signer: NoteSigner) -> Ledger:
        """Create the tables and an empty ledger with its first (size 0) checkpoint."""
        check_key_name(origin)
        store = Store(url)
        if store.exists():
            raise StorageError(f"{describe_url(store.url)} already holds a trailseal ledger")
        store.migrate()
        ledger = cls(store, origin)
        with store.appending() as conn:
            store.set_meta(
                conn,
                {
                    "origin": origin,
                    "format": FORMAT_VERSION,
                    "created": format_time(utc_now()),
                },
            )
            body = CheckpointBody(origin, 0, merkle.EMPTY_ROOT)
            store.insert_checkpoint(conn, 0, sign_note(body.text(), [signer]), b"")
        return ledger

    @classmethod
    def open(cls, url: str, where: str | None = None) -> Ledger:
        """Open an existing ledger; ``where`` describes how its location was chosen."""
        store = Store(url)
        if not store.exists():
            raise LedgerNotFoundError(
                f"no trailseal ledger at {describe_url(store.url)}"
                f"{f' ({where})' if where else ''}; run 'trailseal init' to create one"
            )
        store.migrate()
        with store.reading() as conn:
            meta = store.get_meta(conn)
        if "origin" not in meta:
            raise StorageError(f"{describe_url(store.url)} has no ledger origin recorded")
        return cls(store, meta["origin"])

    def _frontier_at(
        self, conn: Connection, checkpoint: CheckpointRow | None, size: int
    ) -> merkle.Frontier:
        """The compact range at ``size``: from the checkpoint there if it has one,
        otherwise recomputed from the stored leaves."""
        if checkpoint is not None and checkpoint.size == size:
            try:
                return merkle.Frontier.from_bytes(size, bytes(checkpoint.frontier))
            except ValueError:
                log.warning("stored frontier at size %d is malformed; recomputing", size)
        frontier = merkle.Frontier()
        for leaf in self.store.leaf_hashes(conn, size):
            frontier.append(leaf)
        return frontier

    @contextmanager
    def batch(
        self, signer: NoteSigner | Sequence[NoteSigner], clock: Clock = utc_now
    ) -> Iterator[Batch]:
        """Append entries atomically, sealed by one checkpoint signed by ``signer``
        (or by each of several signers, as when a key is rotated).

        If the block raises, nothing of the batch is written.
        """
        signers = [signer] if isinstance(signer, NoteSigner) else list(signer)
        with self.store.appending() as conn:
            batch = Batch(self, conn, clock, signers[0])
            yield batch
            if batch.size > batch.start:
                batch._seal(signers)

    # -- erasure and keys ---------------------------------------------------

    def erase(
        self, signer: NoteSigner, seq: int, reason: str, by: str, clock: Clock = utc_now
    ) -> int:
        """Erase the body of entry ``seq``, recorded by a signed ``erasure`` entry.

        The envelope, and so every hash and proof, stays. The erasure entry
        keeps the body hash and the lifecycle facts (scope, identity, event,
        rule, severity) so the derived state still replays; titles, paths,
        messages and snippets go. Returns the erasure entry's sequence number.
        """
        if not reason.strip():
            raise InputError("an erasure needs a reason")
        with self.batch(signer, clock) as batch:
            row = self.store.get_entry(batch.conn, seq)
            if row is None:
                raise InputError(f"there is no entry {seq}")
            if row.body is None:
                raise InputError(f"entry {seq} is already erased")
            if row.kind in _UNERASABLE:
                raise InputError(f"entry {seq} is a {row.kind} entry, which cannot be erased")
            body = decode_body(row) or {}
            fields = orjson.loads(bytes(row.envelope))
            erasure = batch.append(
                ERASURE_KIND,
                {
                    "seq": seq,
                    "kind": row.kind,
                    "body_hash": fields["body_hash"],
                    "reason": reason,
                    "by": by,
                    "retained": retained_after_erasure(row.kind, body),
                },
            )
            self.store.erase_body(batch.conn, seq)
            batch.rebuild_derived = True
        return erasure

    def rotate_key(self, old: NoteSigner, new: NoteSigner, clock: Clock = utc_now) -> int:
        """Append a key-rotation entry signed by both keys; its checkpoint is
        signed by both, and later checkpoints by ``new`` alone."""
        if new.name != old.name:
            raise SigningKeyError("the new key must have the same name as the old one")
        if new.verifier == old.verifier:
            raise SigningKeyError("the new key is the old key")
        with self.batch([old, new], clock) as batch:
            rotations = self.store.entries_of_kinds(batch.conn, (ROTATION_KIND,))
            if rotations and rotations[-1].body is not None:
                last = decode_body(rotations[-1]) or {}
                if last.get("new") != old.verifier.vkey():
                    raise SigningKeyError(
                        "the signing key is not the ledger's active key: it was rotated "
                        f"to {last.get('new')}"
                    )
            return batch.append(ROTATION_KIND, rotation_body(self.origin, old, new))

    def revoke_key(
        self, signer: NoteSigner, key_id: str, from_seq: int, reason: str, clock: Clock = utc_now
    ) -> int:
        """Append a key-revocation entry: checkpoints of size > ``from_seq`` signed
        by key ``key_id`` are refused by verification from then on."""
        if not re.fullmatch(r"[0-9a-f]{8}", key_id):
            raise InputError(f"{key_id!r} is not a key id (8 lowercase hex digits)")
        if key_id == signer.verifier.key_id_hex:
            raise SigningKeyError("the active signing key cannot revoke itself; rotate first")
        if from_seq < 0:
            raise InputError("--from must be a sequence number, 0 or more")
        with self.batch(signer, clock) as batch:
            return batch.append(
                REVOCATION_KIND, {"key_id": key_id, "from_seq": from_seq, "reason": reason}
            )

    def _rebuild_derived(self, conn: Connection) -> None:
        """Replace the derived tables by a replay of every entry (after an erasure)."""
        erasures: dict[int, Any] = {}
        for row in self.store.entries_of_kinds(conn, (ERASURE_KIND,)):
            body = decode_body(row)
            if body is not None:
                erasures[int(body["seq"])] = body.get("retained")
        projection = Projection()
        for row in self.store.iter_entries(conn):
            body = decode_body(row) if row.body is not None else erasures.get(row.seq)
            if isinstance(body, dict):
                projection.apply(row.seq, row.kind, body)
        artifacts, new, _ = projection.take_changes()
        self.store.replace_derived(conn, artifacts, new)

    # -- reading ------------------------------------------------------------

    def head(self) -> Head:
        """The latest checkpoint as stored (verify it before trusting it)."""
        with self.store.reading() as conn:
            row = self.store.latest_checkpoint(conn)
        if row is None:
            raise StorageError("the ledger has no checkpoint")
        body = CheckpointBody.parse(parse_note(row.note).text)
        return Head(body.origin, body.size, body.root_hash, row.note)

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        with self.store.reading() as conn:
            yield from self.store.iter_entries(conn, start, stop)

    def newest_first(self, limit: int) -> list[EntryRow]:
        with self.store.reading() as conn:
            count = self.store.entry_count(conn)
            rows = list(self.store.iter_entries(conn, max(0, count - limit), count))
        rows.reverse()
        return rows


def decode_body(row: EntryRow) -> dict[str, Any] | None:
    """The body of a stored entry as JSON, or None if it was erased."""
    if row.body is None:
        return None
    value = orjson.loads(row.body)
    if not isinstance(value, dict):
        raise ValueError("entry body is not a JSON object")
    return value


_UNERASABLE = ("erasure", "key-rotation", "key-revocation")


def retained_after_erasure(kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """What an erasure keeps of a body: the facts the derived state needs."""
    if kind == "artifact":
        artifact = body.get("artifact", {})
        ci = artifact.get("ci") or {}
        kept_ci = {"repository": ci.get("repository"), "commit": ci.get("commit")}
        return {"artifact": {"sha256": artifact.get("sha256"), "ci": kept_ci}}
    if kind in ("finding", "finding-fixed", "acceptance"):
        kept: dict[str, Any] = {
            k: body[k] for k in ("scope", "identity", "artifact", "event") if k in body
        }
        finding = body.get("finding")
        if isinstance(finding, dict):
            kept["finding"] = {
                "tool": finding.get("tool"),
                "rule_id": finding.get("rule_id"),
                "severity": finding.get("severity"),
                "category": finding.get("category", "code"),
                "title": ERASED_TEXT,
                "location": {"path": ERASED_TEXT},
            }
        return kept
    return None


def new_origin() -> str:
    """A fresh origin line for a new ledger: unique, schema-less, no spaces or '+'."""
    return f"trailseal.invalid/{secrets.token_hex(8)}"
