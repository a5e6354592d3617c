"""The derived state of findings, replayed from entries.

One reducer, used twice: while a batch is appended (to update the derived
tables in the same transaction) and by ``trailseal verify`` (to rebuild them
from the entries alone and compare). It also checks that each lifecycle
event is possible in the state before it: a finding cannot be ``fixed``
twice or ``reopened`` while open, so a forged or reordered lifecycle entry
is caught even when its hashes are intact.

Entry bodies this module reads (kinds and fields):

- ``artifact``: ``{"artifact": Artifact, "runs": [...]}``
- ``finding``: ``{"scope": Scope, "identity", "artifact", "event": new|seen|reopened,
  "finding": Finding}``
- ``finding-fixed``: ``{"scope": Scope, "identity", "artifact", "event": "fixed"}``
- ``acceptance``: either a tool's suppression, ``{"scope": Scope, "identity", "artifact",
  "suppression": {...}}``, which leaves the acceptance ``pending``; or an approved risk
  acceptance, ``{"scope": Scope, "identity", "artifact", "event": "accepted", "approver",
  "justification", "expires"?}``, which makes it ``accepted``. The ``event`` field is
  what an erasure keeps, so an erased approval still replays as one.

where Scope is ``{"id", "repository", "tool", "category"}``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

OPEN_STATUSES = ("open", "reopened")
REPLAYED_KINDS = frozenset(("artifact", "finding", "finding-fixed", "acceptance"))
"""Entry kinds that change the derived state; others leave it as it is."""

# Which events are possible from which status (None: never seen before).
_ALLOWED: dict[str, tuple[str | None, ...]] = {
    "new": (None,),
    "seen": ("open", "reopened"),
    "reopened": ("fixed",),
    "fixed": ("open", "reopened"),
}

# A finding's derived row is a list of the ``findings`` table's columns, in
# the table's order (ledger/store/tables.py), indexed by these constants.
# A list, not a dict, because verification holds every row of a ledger at
# once: a list of 15 takes about 190 bytes, a dict of 15 keys 470 and more.
# A column no entry has set holds None; only a malformed history leaves one
# so, as a finding's first entry, of kind ``finding``, sets them all.
FINDING_COLUMNS = (
    "scope",  # SCOPE
    "identity",  # IDENTITY
    "repository",  # REPOSITORY
    "tool",  # TOOL
    "rule_id",  # RULE_ID
    "severity",  # SEVERITY
    "category",  # CATEGORY
    "title",  # TITLE
    "path",  # PATH
    "status",  # STATUS
    "acceptance",  # ACCEPTANCE
    "first_seq",  # FIRST_SEQ
    "last_seq",  # LAST_SEQ
    "status_seq",  # STATUS_SEQ
    "artifact",  # ARTIFACT
)
(
    SCOPE,
    IDENTITY,
    REPOSITORY,
    TOOL,
    RULE_ID,
    SEVERITY,
    CATEGORY,
    TITLE,
    PATH,
    STATUS,
    ACCEPTANCE,
    FIRST_SEQ,
    LAST_SEQ,
    STATUS_SEQ,
    ARTIFACT,
) = range(len(FINDING_COLUMNS))

Key = tuple[str, str]
"""(scope, identity): a finding's first two columns, the table's key."""
Row = list[Any]
Loader = Callable[[str, str], dict[str, Any] | None]


class ProjectionError(Exception):
    """An entry's event is impossible in the state before it."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(f"entry {seq}: {message}")
        self.seq = seq


def _text(value: str) -> str:
    """The derived tables' copy of an artifact string.

    PostgreSQL text cannot hold NUL, so the copy shows U+FFFD there; the
    entry keeps the exact value.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _no_rows(_scope: str, _identity: str) -> dict[str, Any] | None:
    return None


def _as_dict(row: Row) -> dict[str, Any]:
    return dict(zip(FINDING_COLUMNS, row, strict=True))


class Projection:
    """Accumulates derived rows; ``load`` supplies rows already stored."""

    def __init__(self, load: Loader = _no_rows, *, track_changes: bool = True) -> None:
        self._load = load
        # A verifier wants only the final state, not which rows changed.
        self._track = track_changes
        # One copy of each repeated value (scope, tool, rule, title, path,
        # artifact digest...): verifying a large ledger holds every row at once.
        self._strings: dict[str, str] = {}
        # By scope, then identity: no (scope, identity) tuple per finding.
        self.findings: dict[str, dict[str, Row]] = {}
        self.new_keys: set[Key] = set()
        self.dirty: set[Key] = set()
        self.artifacts: list[dict[str, Any]] = []

    def finding(self, scope: str, identity: str) -> dict[str, Any] | None:
        """A copy of the current row for a finding, from this batch or from storage."""
        row = self._row(scope, identity)
        return None if row is None else _as_dict(row)

    def _row(self, scope: str, identity: str) -> Row | None:
        rows = self.findings.get(scope)
        if rows is None:
            rows = self.findings[scope] = {}
        row = rows.get(identity)
        if row is None:
            stored = self._load(scope, identity)
            if stored is not None:
                row = rows[identity] = [stored[name] for name in FINDING_COLUMNS]
        return row

    def apply(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        """Fold one entry into the state. Unknown kinds leave it unchanged."""
        try:
            if kind == "artifact":
                artifact = body["artifact"]
                ci = artifact["ci"]
                self.artifacts.append(
                    {
                        "sha256": artifact["sha256"],
                        "repository": _text(ci.get("repository") or ""),
                        "revision": _text(ci.get("commit") or ""),
                        "seq": seq,
                    }
                )
            elif kind in ("finding", "finding-fixed", "acceptance"):
                self._apply_finding(seq, kind, body)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProjectionError(seq, f"{kind} body lacks {exc}") from exc

    def _apply_finding(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        scope = body["scope"]
        identity = body["identity"]
        scope_id = self._share(scope["id"])
        row = self._row(scope_id, identity)
        if self._track:
            self.dirty.add((scope_id, identity))
        if kind == "acceptance":
            if row is None:
                raise ProjectionError(seq, "acceptance of a finding never seen")
            row[ACCEPTANCE] = "accepted" if body.get("event") == "accepted" else "pending"
            return
        event = body["event"]
        allowed = _ALLOWED.get(event)
        status = None
        if row is not None and (status := row[STATUS]) is None:
            # Left half-made by an earlier entry that failed part-way; reported
            # as a missing field, like the one that entry lacked.
            raise KeyError("status")
        if allowed is None or status not in allowed:
            raise ProjectionError(seq, f"event {event!r} is impossible for status {status!r}")
        share = self._share
        if row is None:
            row = [None] * len(FINDING_COLUMNS)
            row[SCOPE], row[IDENTITY], row[REPOSITORY], row[TOOL] = (
                scope_id,
                identity,
                share(_text(scope["repository"] or "")),
                share(_text(scope["tool"])),
            )
            row[FIRST_SEQ] = seq
            row[ACCEPTANCE] = "none"
            self.findings[scope_id][identity] = row
            if self._track:
                self.new_keys.add((scope_id, identity))
        if kind == "finding":
            finding = body["finding"]
            location = finding.get("location") or {}
            # All or nothing: every value is read before the row changes.
            row[RULE_ID], row[SEVERITY], row[CATEGORY], row[TITLE], row[PATH], row[LAST_SEQ] = (
                share(_text(finding["rule_id"])),
                share(finding["severity"]),
                share(finding.get("category", "code")),
                share(_text(finding["title"])),
                share(_text(location.get("path", ""))),
                seq,
            )
        row[ARTIFACT] = share(body["artifact"])
        if event != "seen":
            row[STATUS] = "fixed" if event == "fixed" else ("open" if event == "new" else event)
            row[STATUS_SEQ] = seq

    def _share(self, value: Any) -> Any:
        if type(value) is not str:
            return value  # a malformed body; the derived comparison reports it
        return self._strings.setdefault(value, value)

    def changes(self) -> tuple[list[Row], list[Row]]:
        """(rows to insert, rows to update) since this projection started."""
        new = [
            row
            for scope, rows in self.findings.items()
            for identity, row in rows.items()
            if (scope, identity) in self.new_keys
        ]
        changed = [self.findings[s][i] for s, i in self.dirty - self.new_keys]
        return new, changed

    def take_changes(self) -> tuple[list[dict[str, Any]], list[Row], list[Row]]:
        """(new artifact rows, new finding rows, changed finding rows), then forget them.

        Used by a batch to write its derived rows as it goes, so memory does not
        grow with the size of the artifact. Rows written this way are read back
        through ``load`` if asked for again.
        """
        new, changed = self.changes()
        artifacts = self.artifacts
        self.findings, self.new_keys, self.dirty, self.artifacts = {}, set(), set(), []
        return artifacts, new, changed

    def take_findings(self, columns: Sequence[str]) -> FindingTuples:
        """Every finding row, for a verifier to take one by one; the projection forgets them."""
        findings, self.findings = self.findings, {}
        return FindingTuples(findings, columns)


class FindingTuples:
    """Replayed finding rows, each taken as the tuple of some columns.

    Taking a row drops it, so a verifier comparing the stored table against
    the replay holds each row once, and only briefly as a tuple.
    """

    def __init__(self, findings: dict[str, dict[str, Row]], columns: Sequence[str]) -> None:
        self._findings = findings
        self._values: Callable[[Row], tuple[Any, ...]]
        if tuple(columns) == FINDING_COLUMNS:
            self._values = tuple
        else:
            self._values = operator.itemgetter(*map(FINDING_COLUMNS.index, columns))

    def pop(self, key: Key, default: None = None) -> tuple[Any, ...] | None:
        """The row of (scope, identity), dropped from here; None if there is none."""
        rows = self._findings.get(key[0])
        row = None if rows is None else rows.pop(key[1], None)
        return default if row is None else self._values(row)

    def values(self) -> Iterator[tuple[Any, ...]]:
        """The rows not taken yet."""
        for rows in self._findings.values():
            yield from map(self._values, rows.values())
