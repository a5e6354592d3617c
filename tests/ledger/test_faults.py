"""The database going away mid-batch: a clear error, no half batch, an intact ledger."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from ledger.errors import StorageError
from ledger.ledger import Ledger
from ledger.note import NoteSigner
from ledger.verify import Verifier

BODY = {"text": "a finding-sized body " * 8}


def _fill(ledger: Ledger, signer: NoteSigner, count: int) -> None:
    with ledger.batch(signer) as batch:
        for i in range(count):
            batch.append("note", {**BODY, "i": i})


def test_postgres_connection_killed_mid_batch(pg_url: str, primary_key: NoteSigner) -> None:
    ledger = Ledger.create(pg_url, "test.trailseal.invalid/ledger", primary_key)
    _fill(ledger, primary_key, 10)
    admin_url = pg_url.replace("postgresql+psycopg://", "postgresql://")

    with pytest.raises(StorageError) as caught, ledger.batch(primary_key) as batch:
        for i in range(3000):  # past the first flush, so rows reached the server
            batch.append("note", {**BODY, "i": i})
        pid = batch.conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for i in range(3000, 6000):
            batch.append("note", {**BODY, "i": i})

    message = str(caught.value)
    assert message.startswith("writing to the ledger failed on postgresql")
    assert "password" not in message
    ledger.store.engine.dispose()
    again = Ledger.open(pg_url)
    result = Verifier(primary_key.verifier).verify(again)
    assert result.ok, result.problems
    assert result.entries == 10
    again.store.engine.dispose()


def test_sqlite_disk_full_mid_batch(sqlite_url: str, primary_key: NoteSigner) -> None:
    ledger = Ledger.create(sqlite_url, "test.trailseal.invalid/ledger", primary_key)
    _fill(ledger, primary_key, 10)
    with ledger.store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    # A database that may grow by a few pages only: SQLite reports it full.
    @sa.event.listens_for(ledger.store.engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 8}")

    ledger.store.engine.dispose()
    with pytest.raises(StorageError, match="full"), ledger.batch(primary_key) as batch:
        for i in range(5000):
            batch.append("note", {**BODY, "i": i})

    sa.event.remove(ledger.store.engine, "connect", _cap)
    ledger.store.engine.dispose()
    result = Verifier(primary_key.verifier).verify(Ledger.open(sqlite_url))
    assert result.ok and result.entries == 10, result.problems
