"""``trailseal scan``: static JWT and BOLA analysis of Python source, SARIF out."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

_SEVERITIES = ("critical", "high", "medium", "low", "info")


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command to ``app``."""

    @app.command("scan")
    def scan_command(
        paths: Annotated[list[Path], typer.Argument(help="Files or directories of Python source.")],
        sarif: Annotated[
            Path | None, typer.Option("--sarif", help="Write SARIF 2.1.0 to this file.")
        ] = None,
        ingest: Annotated[
            bool, typer.Option("--ingest", help="Record the SARIF in the ledger.")
        ] = False,
        fail_on: Annotated[
            str | None,
            typer.Option(
                "--fail-on",
                help="Exit 1 when a finding of this severity or worse is found "
                "(critical, high, medium, low, info).",
            ),
        ] = None,
    ) -> None:
        """Find JWT misuse and broken object-level authorisation in Python web services.

        The source is parsed, never imported or run.
        """
        from ledger.errors import InputError
        from ledger.scan import scan, write_sarif

        if fail_on is not None and fail_on.lower() not in _SEVERITIES:
            raise InputError(
                f"--fail-on {fail_on!r}: not a severity; use one of {', '.join(_SEVERITIES)}"
            )
        report = scan(paths, base=Path.cwd())
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        for finding in report.active:
            typer.echo(
                f"{finding.path}:{finding.line}:{finding.column}: {finding.rule.id} "
                f"[{finding.rule.severity}] {finding.message}"
            )
        suppressed = len(report.findings) - len(report.active)
        typer.echo(
            f"scanned {report.files} files ({report.lines} lines): "
            f"{len(report.active)} findings, {suppressed} suppressed",
            err=True,
        )
        code = 0
        if sarif is not None:
            write_sarif(report, sarif)
            typer.echo(str(sarif))
        if ingest:
            from cli.ingest import ingest_paths

            if sarif is not None:
                code = ingest_paths([sarif], "sarif")
            else:
                with tempfile.TemporaryDirectory(prefix="trailseal-scan-") as tmp:
                    out = Path(tmp) / "trailseal-scan.sarif"
                    write_sarif(report, out)
                    code = ingest_paths([out], "sarif")
        if fail_on is not None and report.at_or_above(fail_on.lower()):
            typer.echo(f"FAIL: findings at or above {fail_on.lower()}", err=True)
            code = code or 1
        if code:
            raise typer.Exit(code)
