"""Any single change to the stored rows of a ledger fails verification, with the right class.

A ledger of a few batches (artifacts, finding lifecycles, notes) is built
once; each example applies one mutation to its rows with raw SQL, verifies
against the trusted key, and puts the rows back. The oracle says which
verdict and which first sequence number the mutation must produce.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ledger import canonical, merkle
from ledger.errors import StorageError
from ledger.ledger import Ledger, body_hash, envelope_bytes, format_time, utc_now
from ledger.note import CheckpointBody, NoteSigner, sign_note
from ledger.verify import Result, Status, Verifier, read_kept

ORIGIN = "test.trailseal.invalid/ledger"
REPO = "acme/shop"

# Primary key columns, and the order rows are compared and restored in.
PKS = {
    "ledger_meta": ("key",),
    "entries": ("seq",),
    "checkpoints": ("size",),
    "artifacts": ("sha256", "repository"),
    "findings": ("scope", "identity"),
}
TABLES = tuple(PKS)
BYTES_COLUMNS = {"leaf_hash", "envelope", "body", "salt", "frontier"}
INT_COLUMNS = {"seq", "size", "first_seq", "last_seq", "status_seq"}
# PostgreSQL column widths, so generated edits fit the schema.
WIDTHS = {"kind": 64, "time": 32, "severity": 16, "category": 32, "status": 16}
WIDTHS |= {"acceptance": 16, "scope": 64, "identity": 64, "sha256": 64, "artifact": 64}


def _hex(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


SCOPE = {"id": _hex("scope"), "repository": REPO, "tool": "semgrep", "category": None}


def _artifact(n: int) -> dict[str, Any]:
    return {
        "artifact": {
            "sha256": _hex(f"artifact {n}"),
            "size": 1000 + n,
            "name": f"semgrep-{n}.sarif",
            "ci": {"repository": REPO, "commit": _hex(f"commit {n}")[:40]},
        }
    }


def _finding(name: str, artifact: int, event: str, severity: str = "high") -> dict[str, Any]:
    return {
        "scope": SCOPE,
        "identity": _hex(f"finding {name}"),
        "artifact": _hex(f"artifact {artifact}"),
        "event": event,
        "finding": {
            "tool": "semgrep",
            "rule_id": f"python.{name}",
            "severity": severity,
            "title": f"Finding {name}",
            "location": {"path": f"src/{name}.py"},
        },
    }


def _fixed(name: str, artifact: int) -> dict[str, Any]:
    return {
        "scope": SCOPE,
        "identity": _hex(f"finding {name}"),
        "artifact": _hex(f"artifact {artifact}"),
        "event": "fixed",
    }


# Four batches: 15 entries, checkpoints at 0, 5, 9, 11 and 15. The last entry
# changes a derived row, so a cut tail shows in the derived tables too.
BATCHES: list[list[tuple[str, dict[str, Any]]]] = [
    [
        ("artifact", _artifact(1)),
        ("finding", _finding("a", 1, "new")),
        ("finding", _finding("b", 1, "new", "critical")),
        ("finding", _finding("c", 1, "new", "low")),
        ("note", {"text": "first scan"}),
    ],
    [
        ("artifact", _artifact(2)),
        ("finding", _finding("a", 2, "seen")),
        ("finding-fixed", _fixed("b", 2)),
        ("note", {"text": "second scan", "n": 2}),
    ],
    [("note", {"text": "\u2028 and \U0001f600"}), ("note", {})],
    [
        ("artifact", _artifact(3)),
        ("finding", _finding("b", 3, "reopened", "critical")),
        ("finding-fixed", _fixed("c", 3)),
        ("finding", _finding("a", 3, "seen", "medium")),
    ],
]


def build(ledger: Ledger, signer: NoteSigner) -> None:
    for entries in BATCHES:
        with ledger.batch(signer) as batch:
            for kind, body in entries:
                batch.append(kind, body)


# -- raw rows ------------------------------------------------------------------

Row = dict[str, Any]
Snapshot = dict[str, list[Row]]


def _q(name: str) -> str:
    return f'"{name}"'


def snapshot(conn: Connection) -> Snapshot:
    """Every row of every table, as the driver returns it."""
    result: Snapshot = {}
    for table in TABLES:
        order = ", ".join(_q(c) for c in PKS[table])
        rows = conn.execute(sa.text(f"SELECT * FROM {_q(table)} ORDER BY {order}"))
        result[table] = [dict(r._mapping) for r in rows]
    return result


def restore(conn: Connection, snap: Snapshot) -> None:
    for table in TABLES:
        conn.execute(sa.text(f"DELETE FROM {_q(table)}"))
        if snap[table]:
            columns = list(snap[table][0])
            names = ", ".join(_q(c) for c in columns)
            values = ", ".join(f":{c}" for c in columns)
            conn.execute(
                sa.text(f"INSERT INTO {_q(table)} ({names}) VALUES ({values})"), snap[table]
            )


def _normal(snap: Snapshot) -> dict[str, list[tuple[Any, ...]]]:
    """Rows as comparable tuples; memoryview and bytes compare alike."""

    def cell(value: Any) -> Any:
        return bytes(value) if isinstance(value, memoryview) else value

    return {
        table: sorted(
            (tuple((k, cell(v)) for k, v in sorted(row.items())) for row in rows), key=repr
        )
        for table, rows in snap.items()
    }


def _where(table: str, row: Row) -> tuple[str, dict[str, Any]]:
    clause = " AND ".join(f"{_q(c)} = :pk_{c}" for c in PKS[table])
    return clause, {f"pk_{c}": row[c] for c in PKS[table]}


def update(table: str, row: Row, values: dict[str, Any]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        clause, params = _where(table, row)
        sets = ", ".join(f"{_q(c)} = :v_{c}" for c in values)
        params |= {f"v_{c}": v for c, v in values.items()}
        conn.execute(sa.text(f"UPDATE {_q(table)} SET {sets} WHERE {clause}"), params)

    return apply


def delete(table: str, row: Row) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        clause, params = _where(table, row)
        conn.execute(sa.text(f"DELETE FROM {_q(table)} WHERE {clause}"), params)

    return apply


def insert(table: str, row: Row) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        names = ", ".join(_q(c) for c in row)
        values = ", ".join(f":{c}" for c in row)
        conn.execute(sa.text(f"INSERT INTO {_q(table)} ({names}) VALUES ({values})"), row)

    return apply


def swap(table: str, a: Row, b: Row) -> Callable[[Connection], None]:
    """Exchange every non-key column of two rows."""
    keep = set(PKS[table])

    def apply(conn: Connection) -> None:
        update(table, a, {c: v for c, v in b.items() if c not in keep})(conn)
        update(table, b, {c: v for c, v in a.items() if c not in keep})(conn)

    return apply


def sequence(*steps: Callable[[Connection], None]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for step in steps:
            step(conn)

    return apply


# -- what the stored ledger says, for the oracle ----------------------------


@dataclass
class World:
    """Facts about the unmutated ledger the oracle reasons with."""

    snap: Snapshot
    count: int
    sizes: list[int]
    # Derived row key -> sequence numbers of the entries it is derived from.
    related: dict[tuple[str, ...], set[int]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"World(count={self.count}, sizes={self.sizes})"

    @classmethod
    def of(cls, snap: Snapshot) -> World:
        world = cls(snap, len(snap["entries"]), [r["size"] for r in snap["checkpoints"]])
        for row in snap["entries"]:
            body = orjson.loads(bytes(row["body"]))
            if row["kind"] == "artifact":
                key = (body["artifact"]["sha256"], body["artifact"]["ci"]["repository"])
                world.related.setdefault(key, set()).add(row["seq"])
            elif "identity" in body:
                key = (body["scope"]["id"], body["identity"])
                world.related.setdefault(key, set()).add(row["seq"])
        return world

    def sealed_before(self, size: int) -> int:
        """The largest checkpoint size below ``size``."""
        return max(s for s in self.sizes if s < size)

    def derived_seqs(self, table: str, *rows: Row) -> set[int]:
        seqs: set[int] = set()
        for row in rows:
            key = tuple(str(row[c]) for c in PKS[table])
            seqs |= self.related.get(key, set())
            seqs |= {row[c] for c in ("seq", "last_seq") if isinstance(row.get(c), int)}
        return seqs


@dataclass
class Mutation:
    """One change to the stored rows and the verdict it must produce."""

    name: str
    apply: Callable[[Connection], None]
    statuses: set[Status]
    seqs: set[int] | None
    check_prefix: str = ""
    reopen: bool = False
    witness: bool = False
    # A problem that must be among those reported, whichever comes first.
    includes: tuple[set[Status], int] | None = None


def expect_entry(name: str, apply: Callable[[Connection], None], seq: int) -> Mutation:
    return Mutation(name, apply, {Status.TAMPERED}, {seq})


def expect_derived(
    world: World, name: str, apply: Callable[[Connection], None], table: str, *rows: Row
) -> Mutation:
    return Mutation(
        name, apply, {Status.TAMPERED}, world.derived_seqs(table, *rows), f"derived {table}"
    )


def expect_checkpoint(world: World, name: str, apply: Callable[[Connection], None], size: int):  # type: ignore[no-untyped-def]
    return Mutation(name, apply, {Status.TAMPERED, Status.UNKNOWN_KEY}, {max(size - 1, 0)})


def truncation(world: World, start: int, drop_checkpoints: bool) -> Mutation:
    """Delete entries ``start..``; optionally the checkpoints that covered them too.

    The derived tables still hold what the removed entries said, so they
    differ as well; which verdict comes first is pinned down by
    test_truncation_is_reported_as_truncated.
    """
    steps = [delete("entries", row) for row in world.snap["entries"][start:]]
    name = f"truncate entries from {start}"
    statuses = {Status.TRUNCATED, Status.UNSEALED, Status.TAMPERED}
    if drop_checkpoints:
        steps += [delete("checkpoints", r) for r in world.snap["checkpoints"] if r["size"] > start]
        name += " and their checkpoints"
        if start not in world.sizes:
            # What is left ends in entries no checkpoint covers.
            sealed = world.sealed_before(start)
            return Mutation(
                name, sequence(*steps), statuses, None, includes=({Status.UNSEALED}, sealed)
            )
        # A clean cut at a checkpoint is only visible against a kept checkpoint.
        return Mutation(
            name,
            sequence(*steps),
            statuses,
            None,
            witness=True,
            includes=({Status.TRUNCATED}, start),
        )
    return Mutation(name, sequence(*steps), statuses, None, includes=({Status.TRUNCATED}, start))


# -- forging rows as an attacker without the signing key would ---------------


def forged_entry(world: World, seq: int, kind: str, body: dict[str, Any]) -> Row:
    """An entry chained to the last stored one, with correct hashes."""
    last = world.snap["entries"][-1]
    data = canonical.dumps(body)
    salt = os.urandom(32)
    time = format_time(utc_now())
    envelope = envelope_bytes(
        seq, kind, time, bytes(last["leaf_hash"]).hex(), body_hash(salt, data)
    )
    return {
        "seq": seq,
        "kind": kind,
        "time": time,
        "leaf_hash": merkle.leaf_hash(envelope),
        "envelope": envelope,
        "body": data,
        "salt": salt,
    }


def forged_checkpoint(world: World, size: int, signer: NoteSigner) -> Row:
    """A checkpoint at ``size`` over the stored leaves, signed by ``signer``."""
    leaves = [bytes(r["leaf_hash"]) for r in world.snap["entries"][:size]]
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    if size > len(leaves):
        frontier = merkle.Frontier(size, [os.urandom(32) for _ in range(size.bit_count())])
    note = sign_note(CheckpointBody(ORIGIN, size, frontier.root()).text(), [signer])
    return {"size": size, "note": note, "frontier": frontier.to_bytes()}


# -- running one mutation --------------------------------------------------------


class Rejected(Exception):
    """The database refused the mutation, or it changed nothing."""


def run_mutation(
    ledger: Ledger, key: NoteSigner, world: World, mutation: Mutation
) -> Result | StorageError:
    engine = ledger.store.engine
    try:
        with engine.begin() as conn:
            mutation.apply(conn)
            after = snapshot(conn)
    except DBAPIError as exc:
        raise Rejected(str(exc)) from exc
    try:
        if _normal(after) == _normal(world.snap):
            raise Rejected("the mutation wrote the same data back")
        kept = []
        if mutation.witness:
            latest = world.snap["checkpoints"][-1]
            kept = [read_kept("witness", latest["note"], ORIGIN)]
        if not mutation.reopen:
            return Verifier(key.verifier).verify(ledger, kept=kept)
        # The origin is read when a ledger is opened.
        try:
            target = Ledger.open(ledger.store.url)
        except StorageError as exc:
            return exc
        try:
            return Verifier(key.verifier).verify(target, kept=kept)
        finally:
            target.store.engine.dispose()
    finally:
        with engine.begin() as conn:
            restore(conn, world.snap)


def assert_detected(result: Result | StorageError, mutation: Mutation) -> None:
    if isinstance(result, StorageError):
        # Only a ledger whose origin is gone cannot be opened at all.
        assert mutation.reopen, result
        return
    what = f"{mutation.name}: {[(p.status, p.seq, p.check) for p in result.problems]}"
    assert not result.ok, what
    first = result.first
    assert first.status in mutation.statuses, what
    if mutation.seqs is not None:
        assert first.seq in mutation.seqs, what
    if mutation.includes is not None:
        statuses, seq = mutation.includes
        assert any(p.status in statuses and p.seq == seq for p in result.problems), what
    if mutation.check_prefix:
        assert any(p.check.startswith(mutation.check_prefix) for p in result.problems), what


# -- the module's ledger ---------------------------------------------------------


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, primary_key: NoteSigner
) -> Iterator[tuple[Ledger, World]]:
    path: Path = tmp_path_factory.mktemp("tamper") / "ledger.db"
    ledger = Ledger.create(f"sqlite:///{path}", ORIGIN, primary_key)
    build(ledger, primary_key)
    with ledger.store.engine.connect() as conn:
        world = World.of(snapshot(conn))
    assert Verifier(primary_key.verifier).verify(ledger).ok
    yield ledger, world
    ledger.store.engine.dispose()


def test_built_ledger_is_intact(built: tuple[Ledger, World], primary_key: NoteSigner) -> None:
    ledger, world = built
    assert world.count == 15 and world.sizes == [0, 5, 9, 11, 15]
    result = Verifier(primary_key.verifier).verify(ledger)
    assert result.ok and result.derived_checked, result.problems
    assert len(world.snap["findings"]) == 3 and len(world.snap["artifacts"]) == 3


# -- generating mutations --------------------------------------------------------


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def new_value(data: st.DataObject, world: World, table: str, column: str, old: Any) -> Any:
    """A different value for one cell, of the column's own type."""
    others = [r[column] for r in world.snap[table] if r[column] != old]
    if column in INT_COLUMNS:
        how = data.draw(st.sampled_from(["step", "any", "other"]), label="how")
        if how == "step" or not others:
            return old + data.draw(st.sampled_from([-2, -1, 1, 2]), label="step")
        if how == "any":
            return data.draw(st.integers(-5, 40), label="int")
        return data.draw(st.sampled_from(others), label="other")
    if column in BYTES_COLUMNS:
        old = bytes(old)
        how = data.draw(
            st.sampled_from(["flip", "cut", "extend", "random", "other", "null"]), label="how"
        )
        if how == "flip" and old:
            return _flip(old, data.draw(st.integers(0, 8 * len(old) - 1), label="bit"))
        if how == "cut" and old:
            return old[: data.draw(st.integers(0, len(old) - 1), label="length")]
        if how == "extend":
            return old + data.draw(st.binary(min_size=1, max_size=4), label="extra")
        if how == "other" and others:
            return bytes(data.draw(st.sampled_from(others), label="other"))
        if how == "null":
            return None
        return data.draw(st.binary(max_size=64), label="bytes")
    width = WIDTHS.get(column, 200)
    how = data.draw(st.sampled_from(["char", "cut", "extend", "other", "random"]), label="how")
    if how == "char" and old:
        at = data.draw(st.integers(0, len(old) - 1), label="at")
        char = data.draw(st.sampled_from(["0", "a", "f", " ", "\n", "\u00e9", "="]), label="c")
        return old[:at] + char + old[at + 1 :]
    if how == "cut" and old:
        return old[: data.draw(st.integers(0, len(old) - 1), label="length")]
    if how == "extend" and len(old) < width:
        return old + data.draw(st.sampled_from(["x", "0", "\n", " "]), label="extra")
    if how == "other" and others:
        return data.draw(st.sampled_from(others), label="other")
    return data.draw(st.text(st.characters(codec="utf-8"), max_size=width), label="text")


def _row(data: st.DataObject, world: World, table: str) -> Row:
    return data.draw(st.sampled_from(world.snap[table]), label=f"{table} row")


def draw_edit(data: st.DataObject, world: World) -> Mutation:
    table = data.draw(st.sampled_from(TABLES), label="table")
    if table == "ledger_meta":
        row = next(r for r in world.snap[table] if r["key"] == "origin")
        column = data.draw(st.sampled_from(["key", "value"]), label="column")
        value = new_value(data, world, table, column, row[column])
        name = f"edit ledger_meta origin {column}"
        statuses = {Status.TAMPERED}
        return Mutation(name, update(table, row, {column: value}), statuses, {0}, reopen=True)
    row = _row(data, world, table)
    column = data.draw(st.sampled_from(sorted(row)), label="column")
    value = new_value(data, world, table, column, row[column])
    apply = update(table, row, {column: value})
    name = f"edit {table} {[row[c] for c in PKS[table]]} {column}"
    if table == "entries":
        seq = row["seq"]
        if column == "seq":
            # The row moves away from its place: entry seq is missing.
            statuses = {Status.TAMPERED, Status.TRUNCATED}
            if seq == world.count - 1:
                # Moving the last entry away cuts the tail: see truncation().
                return Mutation(name, apply, statuses, None, includes=(statuses, seq))
            return Mutation(name, apply, statuses, {seq})
        return expect_entry(name, apply, seq)
    if table == "checkpoints":
        size = row["size"]
        if column != "size":
            return expect_checkpoint(world, name, apply, size)
        # The checkpoint moves to another size: it is wrong there, and its
        # own size has none (visible when it was the latest).
        assume(value >= 0 or size == world.count)  # see test_deleted_checkpoint_*
        seqs = set()
        if 0 <= value <= world.count:
            seqs.add(max(value - 1, 0))
        if value > world.count:
            seqs.add(world.count)
        if size == world.count:
            seqs.add(world.sealed_before(size))
        # Where it was, a batch is left without its checkpoint.
        seqs.add(max(size - 1, 0))
        statuses = {Status.TAMPERED, Status.UNKNOWN_KEY, Status.TRUNCATED, Status.UNSEALED}
        return Mutation(name, apply, statuses, seqs)
    return expect_derived(world, name, apply, table, row, {**row, column: value})


def draw_delete(data: st.DataObject, world: World) -> Mutation:
    table = data.draw(st.sampled_from(TABLES), label="table")
    if table == "ledger_meta":
        row = next(r for r in world.snap[table] if r["key"] == "origin")
        return Mutation("delete origin", delete(table, row), set(), None, reopen=True)
    row = _row(data, world, table)
    name = f"delete {table} {[row[c] for c in PKS[table]]}"
    if table == "entries":
        seq = row["seq"]
        if seq == world.count - 1:
            statuses = {Status.TRUNCATED, Status.TAMPERED}
            includes = ({Status.TRUNCATED}, seq)
            return Mutation(name, delete(table, row), statuses, None, includes=includes)
        return expect_entry(name, delete(table, row), seq)
    if table == "checkpoints":
        # Only the latest checkpoint's absence is visible; see
        # test_deleted_checkpoint_is_detected for the others.
        assume(row["size"] == world.count)
        seqs = {world.sealed_before(world.count)}
        return Mutation(name, delete(table, row), {Status.UNSEALED}, seqs)
    return expect_derived(world, name, delete(table, row), table, row)


def draw_insert(data: st.DataObject, world: World, stranger: NoteSigner) -> Mutation:
    table = data.draw(st.sampled_from(["entries", "checkpoints", "artifacts", "findings"]))
    n = world.count
    if table == "entries":
        # Negative sequence numbers: see test_entry_before_zero_is_detected.
        seq = data.draw(st.integers(n, n + 3), label="seq")
        kind = data.draw(st.sampled_from(["note", "finding-fixed", "erasure"]), label="kind")
        body = {"note": {"text": "forged"}, "finding-fixed": _fixed("a", 3)}.get(kind)
        if body is None:
            body = {"seq": 4, "kind": "note", "body_hash": "0" * 64, "reason": "x", "by": "x"}
        row = forged_entry(world, seq, kind, body)
        name = f"insert a forged {kind} entry {seq}"
        if seq == n:
            # Chained correctly but sealed by no checkpoint. A forged lifecycle
            # event also leaves the derived row behind, reported at that
            # finding's last_seq.
            statuses = {Status.UNSEALED, Status.TAMPERED}
            includes = ({Status.UNSEALED}, n)
            return Mutation(name, insert(table, row), statuses, None, includes=includes)
        return expect_entry(name, insert(table, row), n)
    if table == "checkpoints":
        size = data.draw(st.integers(1, n + 3).filter(lambda s: s not in world.sizes), label="size")
        how = data.draw(st.sampled_from(["copy", "stranger"]), label="how")
        if how == "copy":
            source = _row(data, world, table)
            row = {**source, "size": size}
            statuses = {Status.TAMPERED, Status.TRUNCATED}
        else:
            row = forged_checkpoint(world, size, stranger)
            statuses = {Status.UNKNOWN_KEY, Status.TRUNCATED}
        seqs = {size - 1} if size <= n else {n}
        return Mutation(f"insert checkpoint {size} ({how})", insert(table, row), statuses, seqs)
    source = _row(data, world, table)
    changed = "repository" if table == "artifacts" else "identity"
    forged = {**source, changed: data.draw(st.sampled_from([_hex("forged"), "other/repo"]))}
    return expect_derived(
        world, f"insert a forged {table} row", insert(table, forged), table, forged
    )


def draw_swap(data: st.DataObject, world: World) -> Mutation:
    table = data.draw(st.sampled_from(TABLES), label="table")
    if table == "ledger_meta":
        origin = next(r for r in world.snap[table] if r["key"] == "origin")
        other = data.draw(st.sampled_from([r for r in world.snap[table] if r is not origin]))
        return Mutation(
            "swap origin", swap(table, origin, other), {Status.TAMPERED}, {0}, reopen=True
        )
    a, b = data.draw(
        st.lists(st.sampled_from(world.snap[table]), min_size=2, max_size=2, unique_by=id),
        label="rows",
    )
    name = f"swap {table} {[a[c] for c in PKS[table]]} {[b[c] for c in PKS[table]]}"
    if table == "entries":
        return expect_entry(name, swap(table, a, b), min(a["seq"], b["seq"]))
    if table == "checkpoints":
        first = min(a["size"], b["size"])
        return Mutation(name, swap(table, a, b), {Status.TAMPERED}, {max(first - 1, 0)})
    return expect_derived(world, name, swap(table, a, b), table, a, b)


def draw_mutation(data: st.DataObject, world: World, stranger: NoteSigner) -> Mutation:
    what = data.draw(
        st.sampled_from(["edit", "edit", "edit", "delete", "insert", "swap", "truncate"]),
        label="mutation",
    )
    if what == "edit":
        return draw_edit(data, world)
    if what == "delete":
        return draw_delete(data, world)
    if what == "insert":
        return draw_insert(data, world, stranger)
    if what == "swap":
        return draw_swap(data, world)
    start = data.draw(st.integers(0, world.count - 1), label="start")
    return truncation(world, start, data.draw(st.booleans(), label="with checkpoints"))


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_any_single_mutation_is_detected_sqlite(
    data: st.DataObject,
    built: tuple[Ledger, World],
    primary_key: NoteSigner,
    stranger_key: NoteSigner,
) -> None:
    ledger, world = built
    mutation = draw_mutation(data, world, stranger_key)
    try:
        result = run_mutation(ledger, primary_key, world, mutation)
    except Rejected:
        assume(False)
        raise
    assert_detected(result, mutation)


# -- a fixed matrix, on SQLite and PostgreSQL -------------------------------------


def rechained(world: World, seq: int) -> list[Row]:
    """Entries ``seq..`` rewritten with a new body at ``seq``, every hash recomputed."""
    rows = [dict(r) for r in world.snap["entries"]]
    prev = bytes(rows[seq - 1]["leaf_hash"]).hex() if seq else "0" * 64
    for row in rows[seq:]:
        if row["seq"] == seq:
            row["body"] = canonical.dumps({"text": "rewritten"})
            row["kind"] = "note"
        fields = orjson.loads(bytes(row["envelope"]))
        digest = body_hash(bytes(row["salt"]), bytes(row["body"]))
        envelope = envelope_bytes(row["seq"], row["kind"], row["time"], prev, digest)
        row["envelope"], row["leaf_hash"] = envelope, merkle.leaf_hash(envelope)
        assert fields["seq"] == row["seq"]
        prev = row["leaf_hash"].hex()
    return rows[seq:]


def rewrite_history(
    world: World, seq: int, signer: NoteSigner | None
) -> Callable[[Connection], None]:
    rows = rechained(world, seq)
    steps = [update("entries", r, {c: v for c, v in r.items() if c != "seq"}) for r in rows]
    if signer is not None:
        # Re-sign every checkpoint over the rewritten tree.
        forged = World(world.snap | {"entries": world.snap["entries"][:seq] + rows}, 0, [])
        for cp in world.snap["checkpoints"]:
            new = forged_checkpoint(forged, cp["size"], signer)
            steps.append(
                update("checkpoints", cp, {"note": new["note"], "frontier": new["frontier"]})
            )
    return sequence(*steps)


def fixed_mutations(world: World, stranger: NoteSigner) -> list[Mutation]:
    snap, n = world.snap, world.count
    entries, cps = snap["entries"], {r["size"]: r for r in snap["checkpoints"]}
    finding, artifact = snap["findings"][0], snap["artifacts"][0]
    origin = next(r for r in snap["ledger_meta"] if r["key"] == "origin")
    out: list[Mutation] = []
    for seq in (0, 3, 7, n - 1):
        row = entries[seq]
        for column in ("leaf_hash", "envelope", "body", "salt"):
            value = _flip(bytes(row[column]), 5)
            out.append(
                expect_entry(
                    f"flip {column} of {seq}", update("entries", row, {column: value}), seq
                )
            )
        out.append(expect_entry(f"kind of {seq}", update("entries", row, {"kind": "notes"}), seq))
        time = row["time"][:-2] + ("1Z" if row["time"][-2] != "1" else "2Z")
        out.append(expect_entry(f"time of {seq}", update("entries", row, {"time": time}), seq))
        out.append(
            expect_entry(f"body of {seq} alone", update("entries", row, {"body": None}), seq)
        )
        out.append(
            expect_entry(f"salt of {seq} alone", update("entries", row, {"salt": None}), seq)
        )
    out.append(expect_entry("delete entry 4", delete("entries", entries[4]), 4))
    out.append(expect_entry("swap entries 2 and 9", swap("entries", entries[2], entries[9]), 2))
    row = forged_entry(world, n, "note", {"text": "forged"})
    out.append(Mutation("append forged entry", insert("entries", row), {Status.UNSEALED}, {n}))
    for size in (0, 5, 15):
        cp = cps[size]
        note = cp["note"]
        out.append(
            expect_checkpoint(
                world,
                f"note {size}",
                update("checkpoints", cp, {"note": note.replace("\n", "\nx", 1)}),
                size,
            )
        )
        other = forged_checkpoint(world, size, stranger)
        out.append(
            Mutation(
                f"re-signed {size}",
                update("checkpoints", cp, {"note": other["note"]}),
                {Status.UNKNOWN_KEY},
                {max(size - 1, 0)},
            )
        )
    out.append(
        expect_checkpoint(
            world, "frontier 9", update("checkpoints", cps[9], {"frontier": b"\x00" * 64}), 9
        )
    )
    out.append(
        expect_checkpoint(
            world, "frontier 0", update("checkpoints", cps[0], {"frontier": b"\x00" * 32}), 0
        )
    )
    out.append(
        Mutation("delete latest checkpoint", delete("checkpoints", cps[n]), {Status.UNSEALED}, {11})
    )
    out.append(
        Mutation(
            "swap checkpoints 5, 9", swap("checkpoints", cps[5], cps[9]), {Status.TAMPERED}, {4}
        )
    )
    forged = forged_checkpoint(world, 7, stranger)
    out.append(
        Mutation("stranger checkpoint 7", insert("checkpoints", forged), {Status.UNKNOWN_KEY}, {6})
    )
    for column, value in (
        ("status", "reopened"),
        ("severity", "info"),
        ("title", "Nothing"),
        ("path", ""),
        ("last_seq", 2),
        ("identity", _hex("x")),
    ):
        out.append(
            expect_derived(
                world,
                f"finding {column}",
                update("findings", finding, {column: value}),
                "findings",
                finding,
            )
        )
    out.append(
        expect_derived(world, "delete finding", delete("findings", finding), "findings", finding)
    )
    out.append(
        expect_derived(
            world,
            "swap findings",
            swap("findings", *snap["findings"][:2]),
            "findings",
            *snap["findings"][:2],
        )
    )
    copy = {**finding, "identity": _hex("forged")}
    out.append(expect_derived(world, "insert finding", insert("findings", copy), "findings", copy))
    out.append(
        expect_derived(
            world, "artifact seq", update("artifacts", artifact, {"seq": 3}), "artifacts", artifact
        )
    )
    out.append(
        expect_derived(
            world,
            "artifact repository",
            update("artifacts", artifact, {"repository": "x/y"}),
            "artifacts",
            artifact,
        )
    )
    out.append(
        expect_derived(
            world, "delete artifact", delete("artifacts", artifact), "artifacts", artifact
        )
    )
    out.append(
        Mutation(
            "origin",
            update("ledger_meta", origin, {"value": "evil.example/log"}),
            {Status.TAMPERED},
            {0},
            reopen=True,
        )
    )
    out.append(Mutation("delete origin", delete("ledger_meta", origin), set(), None, reopen=True))
    for start in (0, 5, 12, n - 1):
        out.append(truncation(world, start, False))
        out.append(truncation(world, start, True))
    # A rewritten body with every later hash recomputed: the signed root differs.
    out.append(
        Mutation(
            "rewrite from 6", rewrite_history(world, 6, None), {Status.TAMPERED}, {8}, "tree root"
        )
    )
    # ... and re-signed with another key: not the trusted key.
    out.append(
        Mutation(
            "rewrite and re-sign", rewrite_history(world, 6, stranger), {Status.UNKNOWN_KEY}, {0}
        )
    )
    return out


def test_mutation_matrix(ledger: Ledger, primary_key: NoteSigner, stranger_key: NoteSigner) -> None:
    build(ledger, primary_key)
    with ledger.store.engine.connect() as conn:
        world = World.of(snapshot(conn))
    failures = []
    for mutation in fixed_mutations(world, stranger_key):
        try:
            assert_detected(run_mutation(ledger, primary_key, world, mutation), mutation)
        except (AssertionError, Rejected) as exc:
            failures.append(f"{mutation.name}: {str(exc).splitlines()[0]}")
    assert Verifier(primary_key.verifier).verify(ledger).ok
    assert not failures, "\n".join(failures)


# -- erasure ---------------------------------------------------------------------


def test_signed_erasure_is_reported_as_erased(
    sqlite_ledger: Ledger, primary_key: NoteSigner
) -> None:
    build(sqlite_ledger, primary_key)
    erasure = sqlite_ledger.erase(primary_key, 2, "captured personal data", "dpo@example.com")
    rows = list(sqlite_ledger.entries())
    assert rows[2].body is None and rows[2].salt is None
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert result.ok, result.problems
    assert result.erased == [2] and result.derived_checked
    assert result.entries == erasure + 1


def test_erased_ledger_still_detects_edits(sqlite_ledger: Ledger, primary_key: NoteSigner) -> None:
    build(sqlite_ledger, primary_key)
    sqlite_ledger.erase(primary_key, 2, "captured personal data", "dpo@example.com")
    engine = sqlite_ledger.store.engine
    with engine.begin() as conn:
        snap = snapshot(conn)
    world = World(snap, len(snap["entries"]), [r["size"] for r in snap["checkpoints"]])
    erased = snap["entries"][2]
    finding = next(r for r in snap["findings"] if r["first_seq"] == 2)
    salt = bytes(snap["entries"][3]["salt"])
    cases = [
        expect_entry("salt back on an erased entry", update("entries", erased, {"salt": salt}), 2),
        Mutation(
            "severity of an erased finding",
            update("findings", finding, {"severity": "info"}),
            {Status.TAMPERED},
            None,
            "derived findings",
        ),
    ]
    for mutation in cases:
        assert_detected(run_mutation(sqlite_ledger, primary_key, world, mutation), mutation)


def test_content_removed_without_erasure_entry_is_tampered(
    ledger: Ledger, primary_key: NoteSigner
) -> None:
    build(ledger, primary_key)
    with ledger.store.engine.begin() as conn:
        snap = snapshot(conn)
        update("entries", snap["entries"][7], {"body": None, "salt": None})(conn)
    result = Verifier(primary_key.verifier).verify(ledger)
    assert result.status is Status.TAMPERED and result.first.seq == 7, result.problems
    assert result.erased == []


# -- regressions: cases verification once missed ------------------------------------


def test_entry_before_zero_is_detected(sqlite_ledger: Ledger, primary_key: NoteSigner) -> None:
    build(sqlite_ledger, primary_key)
    with sqlite_ledger.store.engine.begin() as conn:
        snap = snapshot(conn)
        world = World.of(snap)
        target = snap["entries"][2]
        digest = orjson.loads(bytes(target["envelope"]))["body_hash"]
        # Remove a finding's content, and "justify" it with an unsealed,
        # unchained erasure row that the main pass never reads.
        update("entries", target, {"body": None, "salt": None})(conn)
        body = {"seq": 2, "kind": "finding", "body_hash": digest, "reason": "x", "by": "x"}
        body["retained"] = _finding("b", 1, "new", "info")
        insert("entries", {**forged_entry(world, -1, "erasure", body), "seq": -1})(conn)
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert result.status is Status.TAMPERED, (result.erased, result.problems)


@pytest.mark.parametrize("size", [0, 5, 9])
def test_deleted_checkpoint_is_detected(
    sqlite_ledger: Ledger, primary_key: NoteSigner, size: int
) -> None:
    build(sqlite_ledger, primary_key)
    with sqlite_ledger.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM checkpoints WHERE size = :s"), {"s": size})
    assert not Verifier(primary_key.verifier).verify(sqlite_ledger).ok


@pytest.mark.parametrize("start", [2, 14])
def test_truncation_is_reported_as_truncated(
    sqlite_ledger: Ledger, primary_key: NoteSigner, start: int
) -> None:
    build(sqlite_ledger, primary_key)
    with sqlite_ledger.store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM entries WHERE seq >= :s"), {"s": start})
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert (result.status, result.first.seq) == (Status.TRUNCATED, start), result.problems


@pytest.mark.parametrize("edit", ["signature padding", "non-ascii root"])
def test_malformed_checkpoint_note_is_reported(
    sqlite_ledger: Ledger, primary_key: NoteSigner, edit: str
) -> None:
    build(sqlite_ledger, primary_key)
    with sqlite_ledger.store.engine.begin() as conn:
        note = conn.execute(sa.text("SELECT note FROM checkpoints WHERE size = 9")).scalar_one()
        if edit == "signature padding":
            note = note[:-3] + "\n"
        else:
            lines = note.split("\n")
            lines[2] = "\u00e9" + lines[2][1:]
            note = "\n".join(lines)
        conn.execute(sa.text("UPDATE checkpoints SET note = :n WHERE size = 9"), {"n": note})
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert (result.status, result.first.seq) == (Status.TAMPERED, 8)


@pytest.mark.parametrize(
    ("table", "column", "cast"),
    [
        ("entries", "body", "TEXT"),
        ("entries", "envelope", "TEXT"),
        ("checkpoints", "note", "BLOB"),
    ],
)
def test_retyped_column_is_reported(
    sqlite_ledger: Ledger, primary_key: NoteSigner, table: str, column: str, cast: str
) -> None:
    build(sqlite_ledger, primary_key)
    key = "seq" if table == "entries" else "size"
    with sqlite_ledger.store.engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = CAST({column} AS {cast}) WHERE {key} = 5")
        )
    result = Verifier(primary_key.verifier).verify(sqlite_ledger)
    assert result.status is Status.TAMPERED and result.first.seq in (4, 5), result.problems
