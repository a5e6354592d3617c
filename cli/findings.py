"""``trailseal findings``: the current state of findings, derived from entries."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands import DbOption, JsonOption, emit_json, open_ledger
from ledger.text import printable

_STATUSES = ("open", "reopened", "fixed")


def findings(
    status: Annotated[
        str | None,
        typer.Option(help="open (includes reopened), reopened, fixed, or accepted."),
    ] = None,
    severity: Annotated[
        str | None, typer.Option(help="critical, high, medium, low or info.")
    ] = None,
    tool: Annotated[str | None, typer.Option(help="Only this tool's findings.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List findings with their lifecycle status, most severe first."""
    from ledger.errors import InputError
    from ledger.query import FindingFilter, list_findings

    if status is not None and status not in (*_STATUSES, "accepted"):
        raise InputError(f"--status {status!r}: use open, reopened, fixed or accepted")
    if severity is not None and severity not in ("critical", "high", "medium", "low", "info"):
        raise InputError(f"--severity {severity!r}: use critical, high, medium, low or info")
    rows = list_findings(open_ledger(db), FindingFilter(status, severity, tool))
    for row in rows:
        if json_output:
            emit_json(row)
        else:
            typer.echo(
                printable(
                    f"{row['severity']:<8} {row['status']:<8} {row['tool']}:{row['rule_id']}  "
                    f"{row['path']}  {row['identity'][:12]}"
                )
            )
    if not json_output:
        typer.echo(f"{len(rows)} findings", err=True)


def register(app: typer.Typer) -> None:
    app.command()(findings)
