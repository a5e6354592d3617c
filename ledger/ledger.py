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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from ledger import canonical, merkle
from ledger.errors import InputError, LedgerNotFoundError, StorageError
from ledger.note import CheckpointBody, NoteSigner, check_key_name, parse_note, sign_note
from ledger.projection import Projection, ProjectionError
from ledger.store import CheckpointRow, EntryRow, Store, describe_url

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"
GENESIS_PREV = "0" * 64
_KIND = re.compile(r"^[a-z][a-z0-9.-]{0,63}$")
_FLUSH_EVERY = 2000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: fixed width, so it sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


class Batch:
    """Entries being appended under the lock; see :meth:`Ledger.batch`."""

    def __init__(self, ledger: Ledger, conn: Connection, clock: Clock) -> None:
        self.ledger = ledger
        self.conn = conn
        self._clock = clock
        store = ledger.store
        last = store.last_entry(conn)
        checkpoint = store.latest_checkpoint(conn)
        self.start = last.seq + 1 if last else 0
        self.size = self.start
        self._prev = last.leaf_hash.hex() if last else GENESIS_PREV
        self._frontier = ledger._frontier_at(conn, checkpoint, self.start)
        self._rows: list[dict[str, Any]] = []
        self.projection = Projection(lambda scope, ident: store.finding_row(conn, scope, ident))

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
        time = format_time(self._clock())
        envelope = envelope_bytes(seq, kind, time, self._prev, body_hash(salt, body_bytes))
        leaf = merkle.leaf_hash(envelope)
        self._rows.append(
            {
                "seq": seq,
                "kind": kind,
                "time": time,
                "leaf_hash": leaf,
                "envelope": envelope,
                "body": body_bytes,
                "salt": salt,
            }
        )
        self._frontier.append(leaf)
        self._prev = leaf.hex()
        self.size += 1
        if len(self._rows) >= _FLUSH_EVERY:
            self.flush()
        return seq

    def flush(self) -> None:
        """Send buffered rows to the database (still inside the transaction)."""
        self.ledger.store.insert_entries(self.conn, self._rows)
        self._rows = []

    def _seal(self, signer: NoteSigner) -> None:
        self.flush()
        new, changed = self.projection.changes()
        self.ledger.store.save_derived(self.conn, self.projection.artifacts, new, changed)
        body = CheckpointBody(self.ledger.origin, self.size, self._frontier.root())
        note = sign_note(body.text(), [signer])
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
    def batch(self, signer: NoteSigner, clock: Clock = utc_now) -> Iterator[Batch]:
        """Append entries atomically, sealed by one checkpoint signed by ``signer``.

        If the block raises, nothing of the batch is written.
        """
        with self.store.appending() as conn:
            batch = Batch(self, conn, clock)
            yield batch
            if batch.size > batch.start:
                batch._seal(signer)

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


def new_origin() -> str:
    """A fresh origin line for a new ledger: unique, schema-less, no spaces or '+'."""
    return f"trailseal.invalid/{secrets.token_hex(8)}"
