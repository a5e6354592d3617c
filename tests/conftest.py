"""Shared fixtures: fixed test keys, and ledgers on SQLite and on PostgreSQL.

PostgreSQL tests use the real server at 127.0.0.1:5432 (database ``test``,
user ``postgres``, trust auth), each in a database of its own that is
dropped afterwards. If the server is unreachable they fail, so CI never
passes by skipping them; set TRAILSEAL_TEST_NO_POSTGRES=1 to skip them
deliberately on a machine without it.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from keys.make_test_keys import signer as make_signer

from ledger.ledger import Ledger
from ledger.note import NoteSigner

PG_ADMIN = os.environ.get("TRAILSEAL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ORIGIN = "test.trailseal.invalid/ledger"


@pytest.fixture(scope="session")
def primary_key() -> NoteSigner:
    return make_signer("primary")


@pytest.fixture(scope="session")
def stranger_key() -> NoteSigner:
    return make_signer("stranger")


def _pg_admin() -> object:
    import psycopg

    dsn = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    if os.environ.get("TRAILSEAL_TEST_NO_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests disabled by TRAILSEAL_TEST_NO_POSTGRES=1")
    name = f"trailseal_test_{secrets.token_hex(6)}"
    try:
        admin = _pg_admin()
    except Exception as exc:  # psycopg.OperationalError and DNS errors alike
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is not reachable: {exc}")
    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with _pg_admin() as admin:  # type: ignore[attr-defined]
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def ledger(db_url: str, primary_key: NoteSigner) -> Iterator[Ledger]:
    led = Ledger.create(db_url, ORIGIN, primary_key)
    yield led
    led.store.engine.dispose()


@pytest.fixture
def sqlite_ledger(sqlite_url: str, primary_key: NoteSigner) -> Iterator[Ledger]:
    led = Ledger.create(sqlite_url, ORIGIN, primary_key)
    yield led
    led.store.engine.dispose()
