"""Storage: engines, migrations, the append lock, and every query trailseal runs.

Nothing outside this package builds SQL. SQLite (the embedded default) runs
in WAL mode with full sync; a writer takes the database's write lock with
``BEGIN IMMEDIATE`` before it reads the head of the ledger. PostgreSQL
writers take a transaction-scoped advisory lock instead. Either way two
processes can never both append after the same head, so the chain cannot
fork and no sequence number is used twice (the primary key would refuse it
anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from ledger.errors import StorageError
from ledger.store import tables as t

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any 64-bit constant works; this one spells "tseal" in ASCII.
_PG_APPEND_LOCK = 0x747365616C
_SQLITE_BUSY_TIMEOUT_MS = 600_000
_CHUNK = 2000


def normalise_url(url: str) -> str:
    """Let users write plain ``postgresql://``; trailseal ships psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable database URL>"


class EntryRow(NamedTuple):
    """One stored entry, exactly as the database holds it.

    A named tuple rather than a dataclass: verification makes one per entry,
    millions of times, and a tuple is several times cheaper to build.
    """

    seq: int
    kind: str
    time: str
    leaf_hash: bytes
    envelope: bytes
    body: bytes | None
    salt: bytes | None


class CheckpointRow(NamedTuple):
    """One stored checkpoint."""

    size: int
    note: str
    frontier: bytes


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get("trailseal_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


class Store:
    """A ledger database behind one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            if self.url.startswith("sqlite"):
                self.engine = _sqlite_engine(self.url)
            else:
                self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"cannot use database {describe_url(url)}: {exc}") from exc
        self.dialect = self.engine.dialect.name
        # The hot paths use the driver's cursor directly, so its own errors
        # must become StorageError too, not only SQLAlchemy's wrappers.
        self._errors: tuple[type[Exception], ...] = (
            SQLAlchemyError,
            self.engine.dialect.loaded_dbapi.Error,
        )

    def __repr__(self) -> str:
        return f"Store({describe_url(self.url)})"

    def _fail(self, action: str, exc: Exception) -> StorageError:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return StorageError(f"{action} failed on {describe_url(self.url)}: {detail}")

    # -- schema -------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the tables with alembic."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except (DBAPIError, OperationalError) as exc:
            raise self._fail("creating the tables", exc) from exc

    def exists(self) -> bool:
        """Whether the database holds a trailseal ledger (never creates a file)."""
        database = self.engine.url.database
        is_file = self.dialect == "sqlite" and database and database != ":memory:"
        if is_file and not Path(str(database)).is_file():
            return False
        try:
            with self.engine.connect() as conn:
                return sa.inspect(conn).has_table(t.meta.name)
        except SQLAlchemyError as exc:
            raise self._fail("opening the ledger", exc) from exc

    # -- transactions -------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except self._errors as exc:
            raise self._fail("reading the ledger", exc) from exc

    @contextmanager
    def appending(self) -> Iterator[Connection]:
        """A write transaction holding the ledger's append lock until it ends.

        Everything written inside commits together or not at all.
        """
        try:
            with self.engine.connect() as base:
                conn = base.execution_options(trailseal_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_APPEND_LOCK)))
                    yield conn
        except self._errors as exc:
            raise self._fail("writing to the ledger", exc) from exc

    # -- meta ---------------------------------------------------------------

    def get_meta(self, conn: Connection) -> dict[str, str]:
        rows = conn.execute(sa.select(t.meta.c.key, t.meta.c.value))
        return {str(key): str(value) for key, value in rows}

    def set_meta(self, conn: Connection, values: Mapping[str, str]) -> None:
        conn.execute(t.meta.insert(), [{"key": k, "value": v} for k, v in values.items()])

    # -- entries and checkpoints --------------------------------------------

    def min_seq(self, conn: Connection) -> int:
        """The smallest stored sequence number (0 for an empty ledger)."""
        value = conn.execute(sa.select(sa.func.min(t.entries.c.seq))).scalar()
        return int(value) if value is not None else 0

    def entry_count(self, conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.entries)).scalar_one())

    def last_entry(self, conn: Connection) -> EntryRow | None:
        row = conn.execute(t.entries.select().order_by(t.entries.c.seq.desc()).limit(1)).first()
        return EntryRow(*row) if row else None

    def _insert_many(
        self, conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Bulk insert straight through the driver's executemany.

        The values are already str, int, bool or bytes, so SQLAlchemy's
        per-value parameter processing is skipped: on the append path it cost
        more than the database itself. The cursor belongs to ``conn``, so the
        rows join its transaction.
        """
        if rows:
            names = list(rows[0])
            self._insert_tuples(conn, table, names, [tuple(row[n] for n in names) for row in rows])

    def _insert_tuples(
        self,
        conn: Connection,
        table: sa.Table,
        names: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert rows given as tuples (or lists) in the order of ``names``."""
        if not rows:
            return
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        statement = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 (our own names)
            f"VALUES ({', '.join(marker for _ in names)})"
        )
        cursor = conn.connection.cursor()
        try:
            if self.dialect == "postgresql":
                # COPY is PostgreSQL's bulk path, several times faster than
                # executemany; psycopg adapts str, int, bool and bytes itself.
                copy_sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                return
            for start in range(0, len(rows), _CHUNK):
                cursor.executemany(statement, rows[start : start + _CHUNK])
        finally:
            cursor.close()

    def insert_entries(self, conn: Connection, rows: Sequence[EntryRow]) -> None:
        """Insert entries (the append path builds them as rows directly)."""
        self._insert_tuples(conn, t.entries, EntryRow._fields, rows)

    def iter_entries(
        self, conn: Connection, start: int = 0, stop: int | None = None
    ) -> Iterator[EntryRow]:
        """Entries with ``start <= seq < stop`` in order, read in chunks."""
        # Straight through the driver: rows come back as its bytes and ints
        # with no per-value processing, which matters when verifying millions.
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        query = (
            "SELECT seq, kind, time, leaf_hash, envelope, body, salt FROM entries "  # noqa: S608
            f"WHERE seq >= {marker} AND seq <= {marker} ORDER BY seq LIMIT {marker}"
        )
        cursor = start
        # With no stop, every row up to the largest number a BIGINT holds.
        last = stop - 1 if stop is not None else 2**63 - 1
        raw: Any = conn.connection.cursor()
        binary = self.dialect == "postgresql"
        try:
            while cursor <= last:
                if binary:
                    # Binary results spare PostgreSQL hex-encoding every bytea.
                    raw.execute(query, (cursor, last, _CHUNK * 10), binary=True)
                else:
                    raw.execute(query, (cursor, last, _CHUNK * 10))
                rows = raw.fetchall()
                if not rows:
                    return
                cursor = rows[-1][0] + 1
                yield from map(EntryRow._make, rows)
                # Let this chunk go before the next is read: verifying holds
                # one chunk at a time, not two.
                del rows
        finally:
            raw.close()

    def entries_of_kinds(self, conn: Connection, kinds: Sequence[str]) -> list[EntryRow]:
        """Entries of the given kinds, in order (key history, erasures: few rows)."""
        query = t.entries.select().where(t.entries.c.kind.in_(list(kinds)), t.entries.c.seq >= 0)
        return [EntryRow(*row) for row in conn.execute(query.order_by(t.entries.c.seq))]

    def get_entry(self, conn: Connection, seq: int) -> EntryRow | None:
        row = conn.execute(t.entries.select().where(t.entries.c.seq == seq)).first()
        return EntryRow(*row) if row else None

    def leaf_hashes(self, conn: Connection, stop: int) -> list[bytes]:
        """Stored leaf hashes of entries 0..stop-1 (proofs are built from these)."""
        result: list[bytes] = []
        cursor = 0
        while cursor < stop:
            rows = conn.execute(
                sa.select(t.entries.c.seq, t.entries.c.leaf_hash)
                .where(t.entries.c.seq >= cursor, t.entries.c.seq < stop)
                .order_by(t.entries.c.seq)
                .limit(100_000)
            ).all()
            if not rows:
                break
            result.extend(bytes(r[1]) for r in rows)
            cursor = rows[-1][0] + 1
        return result

    def erase_body(self, conn: Connection, seq: int) -> None:
        conn.execute(t.entries.update().where(t.entries.c.seq == seq).values(body=None, salt=None))

    def insert_checkpoint(self, conn: Connection, size: int, note: str, frontier: bytes) -> None:
        conn.execute(t.checkpoints.insert().values(size=size, note=note, frontier=frontier))

    def latest_checkpoint(self, conn: Connection) -> CheckpointRow | None:
        query = t.checkpoints.select().order_by(t.checkpoints.c.size.desc()).limit(1)
        row = conn.execute(query).first()
        return CheckpointRow(*row) if row else None

    def checkpoints(self, conn: Connection) -> list[CheckpointRow]:
        rows = conn.execute(t.checkpoints.select().order_by(t.checkpoints.c.size))
        return [CheckpointRow(*row) for row in rows]

    def checkpoint_at(self, conn: Connection, size: int) -> CheckpointRow | None:
        row = conn.execute(t.checkpoints.select().where(t.checkpoints.c.size == size)).first()
        return CheckpointRow(*row) if row else None

    # -- derived tables -----------------------------------------------------

    def artifact_seq(
        self, conn: Connection, sha256: str, repository: str, revision: str
    ) -> int | None:
        query = sa.select(t.artifacts.c.seq).where(
            t.artifacts.c.sha256 == sha256,
            t.artifacts.c.repository == repository,
            t.artifacts.c.revision == revision,
        )
        value = conn.execute(query).scalar()
        return int(value) if value is not None else None

    def finding_rows(
        self,
        conn: Connection,
        scope: str | None = None,
        statuses: Iterable[str] = (),
        before_seq: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Derived finding rows; with ``before_seq``, only those no entry from
        that sequence number on has touched."""
        query = t.findings.select()
        if before_seq is not None:
            query = query.where(
                t.findings.c.last_seq < before_seq, t.findings.c.status_seq < before_seq
            )
        if scope is not None:
            query = query.where(t.findings.c.scope == scope)
        status_list = list(statuses)
        if status_list:
            query = query.where(t.findings.c.status.in_(status_list))
        for row in conn.execute(query.order_by(t.findings.c.scope, t.findings.c.identity)):
            yield dict(row._mapping)

    def finding_row(self, conn: Connection, scope: str, identity: str) -> dict[str, Any] | None:
        query = t.findings.select().where(
            t.findings.c.scope == scope, t.findings.c.identity == identity
        )
        row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def save_derived(
        self,
        conn: Connection,
        artifact_rows: Sequence[dict[str, Any]],
        new_findings: Sequence[Sequence[Any]],
        changed_findings: Sequence[Sequence[Any]],
    ) -> None:
        """Write a batch's changes to the derived tables.

        Finding rows are the values of the ``findings`` columns, in the
        table's order (as :mod:`ledger.projection` holds them).
        """
        self._insert_many(conn, t.artifacts, artifact_rows)
        names = [c.name for c in t.findings.c]
        self._insert_tuples(conn, t.findings, names, new_findings)
        if changed_findings:
            keys = ("scope", "identity")
            values: dict[str, Any] = {
                name: sa.bindparam(f"v_{name}") for name in names if name not in keys
            }
            statement = (
                t.findings.update()
                .where(
                    t.findings.c.scope == sa.bindparam("b_scope"),
                    t.findings.c.identity == sa.bindparam("b_identity"),
                )
                .values(values)
            )
            scope_at, identity_at = names.index("scope"), names.index("identity")
            params = [
                {
                    "b_scope": row[scope_at],
                    "b_identity": row[identity_at],
                    **{f"v_{n}": v for n, v in zip(names, row, strict=True) if n in values},
                }
                for row in changed_findings
            ]
            conn.execute(statement, params)

    def replace_derived(
        self,
        conn: Connection,
        artifact_rows: Sequence[dict[str, Any]],
        finding_rows: Sequence[Sequence[Any]],
    ) -> None:
        """Empty the derived tables and fill them again (finding rows as in ``save_derived``)."""
        for table in t.DERIVED_TABLES:
            conn.execute(table.delete())
        self.save_derived(conn, artifact_rows, finding_rows, [])

    def iter_derived(self, conn: Connection, name: str) -> Iterator[tuple[Any, ...]]:
        """Every row of the derived table ``name``, values in column order, in chunks.

        Read through the driver's cursor: verification compares every row,
        and streams them so that the table is never held in memory twice.
        """
        table = next(table for table in t.DERIVED_TABLES if table.name == name)
        names = [c.name for c in table.c]
        cursor = conn.connection.cursor()
        try:
            cursor.execute(f"SELECT {', '.join(names)} FROM {table.name}")  # noqa: S608
            while rows := cursor.fetchmany(_CHUNK * 5):
                yield from map(tuple, rows)
                del rows  # before the next chunk is read, as in iter_entries
        finally:
            cursor.close()

    def derived_columns(self) -> dict[str, tuple[list[str], list[str]]]:
        """(column names, primary key names) of each derived table, in stored order."""
        return {
            table.name: ([c.name for c in table.c], [c.name for c in table.primary_key.columns])
            for table in t.DERIVED_TABLES
        }
