"""Read-side queries over the derived state, for the CLI and reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.ledger import Ledger
from schemas.finding import SEVERITIES

_RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class FindingFilter:
    """Which findings to list; None means any."""

    status: str | None = None
    severity: str | None = None
    tool: str | None = None


def list_findings(ledger: Ledger, where: FindingFilter) -> list[dict[str, Any]]:
    """Current findings, most severe first, then by tool, rule and path."""
    statuses: tuple[str, ...] = ()
    if where.status == "open":
        statuses = ("open", "reopened")
    elif where.status in ("reopened", "fixed"):
        statuses = (where.status,)
    with ledger.store.reading() as conn:
        rows = list(ledger.store.finding_rows(conn, None, statuses))
    if where.status == "accepted":
        rows = [r for r in rows if r["acceptance"] != "none"]
    if where.severity:
        rows = [r for r in rows if r["severity"] == where.severity]
    if where.tool:
        rows = [r for r in rows if r["tool"] == where.tool]
    rows.sort(key=lambda r: (_RANK.get(r["severity"], 9), r["tool"], r["rule_id"], r["path"]))
    return rows
