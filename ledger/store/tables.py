"""The tables, as SQLAlchemy Core metadata. Created and changed only by migrations.

``entries`` and ``checkpoints`` are the ledger itself. Every other table is
derived from entries and is rebuilt and compared by ``trailseal verify``,
so editing a stored copy of a finding is detected like editing an entry.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    # The primary key makes a reused sequence number impossible.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(64), nullable=False),
    Column("time", String(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    # NULL body and salt mean the content was erased; the envelope keeps its hash.
    Column("body", LargeBinary, nullable=True),
    Column("salt", LargeBinary(32), nullable=True),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    # The compact range (RFC 9162 subtree roots) at this size, so an append
    # computes the next root without reading every leaf.
    Column("frontier", LargeBinary, nullable=False),
)

# Derived: which artifact digests were recorded for which repository and
# commit. The same bytes again for the same commit is a CI retry.
artifacts = Table(
    "artifacts",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("repository", Text, primary_key=True),
    Column("revision", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# Derived: the current state of each finding, replayed from entries.
findings = Table(
    "findings",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("identity", String(64), primary_key=True),
    Column("repository", Text, nullable=False),
    Column("tool", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("acceptance", String(16), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("status_seq", BigInteger, nullable=False),
    Column("artifact", String(64), nullable=False),
)

Index("findings_scope_status", findings.c.scope, findings.c.status)
Index("entries_kind", entries.c.kind, entries.c.seq)

DERIVED_TABLES = (artifacts, findings)
