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

from collections.abc import Callable
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

Key = tuple[str, str]
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


class Projection:
    """Accumulates derived rows; ``load`` supplies rows already stored."""

    def __init__(self, load: Loader = _no_rows, *, track_changes: bool = True) -> None:
        self._load = load
        # A verifier wants only the final state, not which rows changed.
        self._track = track_changes
        # One copy of each repeated value (scope, tool, rule, title, path,
        # artifact digest...): verifying a large ledger holds every row at once.
        self._strings: dict[str, str] = {}
        self.findings: dict[Key, dict[str, Any]] = {}
        self.new_keys: set[Key] = set()
        self.dirty: set[Key] = set()
        self.artifacts: list[dict[str, Any]] = []

    def finding(self, scope: str, identity: str) -> dict[str, Any] | None:
        """The current row for a finding, from this batch or from storage."""
        key = (scope, identity)
        row = self.findings.get(key)
        if row is None:
            row = self._load(scope, identity)
            if row is not None:
                row = dict(row)
                self.findings[key] = row
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
        key = (self._share(scope["id"]), identity)
        row = self.finding(*key)
        if self._track:
            self.dirty.add(key)
        if kind == "acceptance":
            if row is None:
                raise ProjectionError(seq, "acceptance of a finding never seen")
            row["acceptance"] = "accepted" if body.get("event") == "accepted" else "pending"
            return
        event = body["event"]
        allowed = _ALLOWED.get(event)
        status = row["status"] if row else None
        if allowed is None or status not in allowed:
            raise ProjectionError(seq, f"event {event!r} is impossible for status {status!r}")
        share = self._share
        if row is None:
            row = {
                "scope": key[0],
                "identity": identity,
                "repository": share(_text(scope["repository"] or "")),
                "tool": share(_text(scope["tool"])),
                "first_seq": seq,
                "acceptance": "none",
            }
            self.findings[key] = row
            if self._track:
                self.new_keys.add(key)
        if kind == "finding":
            finding = body["finding"]
            location = finding.get("location") or {}
            row.update(
                rule_id=share(_text(finding["rule_id"])),
                severity=share(finding["severity"]),
                category=share(finding.get("category", "code")),
                title=share(_text(finding["title"])),
                path=share(_text(location.get("path", ""))),
                last_seq=seq,
            )
        row["artifact"] = share(body["artifact"])
        if event != "seen":
            row["status"] = "fixed" if event == "fixed" else ("open" if event == "new" else event)
            row["status_seq"] = seq

    def _share(self, value: Any) -> Any:
        if type(value) is not str:
            return value  # a malformed body; the derived comparison reports it
        return self._strings.setdefault(value, value)

    def changes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to insert, rows to update) since this projection started."""
        new = [row for key, row in self.findings.items() if key in self.new_keys]
        changed = [self.findings[key] for key in self.dirty - self.new_keys]
        return new, changed

    def take_changes(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(new artifact rows, new finding rows, changed finding rows), then forget them.

        Used by a batch to write its derived rows as it goes, so memory does not
        grow with the size of the artifact. Rows written this way are read back
        through ``load`` if asked for again.
        """
        new, changed = self.changes()
        artifacts = self.artifacts
        self.findings, self.new_keys, self.dirty, self.artifacts = {}, set(), set(), []
        return artifacts, new, changed
