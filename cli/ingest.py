"""``trailseal ingest``: record artifact files, each as one atomic batch."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.commands import (
    DbOption,
    JsonOption,
    WitnessOption,
    emit_json,
    home,
    open_ledger,
    say,
    signer,
    write_witnesses,
)
from ledger.text import counted, printable

log = logging.getLogger(__name__)


def ingest_paths(
    paths: list[Path],
    fmt: str | None = None,
    json_output: bool = False,
    *,
    db: str | None = None,
    overrides: dict[str, str | None] | None = None,
    category: str | None = None,
    partial: bool = False,
    repo_root: Path | None = None,
) -> int:
    """Ingest files one by one and report each; returns the exit code.

    A rejected file does not stop the others: each lands whole or not at all.
    Exit 0 when every file was recorded or was a duplicate, 2 when any was
    rejected.
    """
    from ledger.errors import InputError, TrailsealError
    from ledger.ingest.ci import ci_from_env, given_run_url, repository_root
    from ledger.ingest.pipeline import Outcome, ingest_file
    from ledger.keys import load_redaction_key

    ledger = open_ledger(db)
    key = signer()
    redaction_key = load_redaction_key(home() / "redaction.key")
    ci = ci_from_env(os.environ)
    if overrides:
        update = {k: v for k, v in overrides.items() if v is not None}
        if "run_url" in update:
            update["run_url"] = given_run_url(update["run_url"])
        ci = ci.model_copy(update=update)
    _check_unicode(ci.model_dump(), overrides or {}, category)
    root = str(repo_root.resolve()) if repo_root else repository_root(os.environ, _cwd())
    log.debug("artifact paths are made relative to %s", root)
    exit_code = 0
    for path in paths:
        try:
            outcome = ingest_file(
                ledger,
                key,
                path,
                ci=ci,
                redaction_key=redaction_key,
                fmt=fmt,
                display_name=str(path),
                category=category,
                partial=partial,
                repo_root=root,
            )
        except InputError as exc:
            # Messages quote artifact text (a JSON key in a path, a value):
            # one line, its controls escaped, in --json output as on stderr.
            error = printable(str(exc))
            outcome = Outcome(file=str(path), status="rejected", format=fmt, error=error)
            exit_code = 2
        except TrailsealError:
            raise
        except Exception as exc:  # a reader bug must not stop the other files
            log.debug("reading %s failed", path, exc_info=True)
            error = (
                f"{path}: could not be read ({type(exc).__name__}, a bug in trailseal's reader; "
                f"run with -vv for the traceback). Nothing of this file was written."
            )
            outcome = Outcome(file=str(path), status="rejected", format=fmt, error=error)
            exit_code = 2
        _report(outcome, json_output)
    return exit_code


_OPTIONS = {
    "repository": "--repo",
    "commit": "--commit",
    "branch": "--branch",
    "run_url": "--run-url",
}


def _check_unicode(
    ci: dict[str, Any], overrides: dict[str, str | None], category: str | None
) -> None:
    """Refuse provenance that cannot be recorded: arguments and environment
    variables that are not valid UTF-8 reach Python as lone surrogates."""
    from ledger.errors import InputError

    given = {name for name, value in overrides.items() if value is not None}
    values = [(_OPTIONS[name], overrides[name]) for name in given if name in _OPTIONS]
    values += [
        (f"the CI {name} (from the environment)", ci[name]) for name in ci if name not in given
    ]
    values.append(("--category", category))
    for source, value in values:
        if isinstance(value, str) and not _encodable(value):
            raise InputError(
                f"{source} is not valid UTF-8 text ({printable(value)[:200]}); nothing was recorded"
            )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _report(outcome: Any, json_output: bool) -> None:
    if json_output:
        emit_json(outcome.as_json())
    if outcome.status == "rejected":
        say(f"rejected: {outcome.error}")
        return
    if outcome.status == "duplicate":
        say(
            f"duplicate: {outcome.file} (sha256 {outcome.sha256}) was recorded before, "
            f"at entry {outcome.first_seq}; nothing written"
        )
        return
    counts = ", ".join(f"{v} {k}" for k, v in sorted(outcome.counts.items())) or "no findings"
    say(
        f"recorded: {outcome.file} ({outcome.format}, sha256 {outcome.sha256[:16]}...): "
        f"{counted(outcome.results, 'result')}, {counted(outcome.entries, 'entry')} from "
        f"{outcome.first_seq} ({counts})"
    )
    for warning in outcome.warnings[:10]:
        say(f"  warning: {warning}")


def record_snapshot(kind: str, name: str, document: dict[str, Any], db: str | None = None) -> None:
    """Record a standalone document (a JWKS seen at a run, say) as its own entry."""
    from ledger.ingest.pipeline import record_document

    ledger = open_ledger(db)
    seq = record_document(ledger, signer(), kind, {"name": name, "document": document})
    say(f"recorded {kind} snapshot {name} as entry {seq}")


def ingest(
    files: Annotated[list[Path], typer.Argument(help="Artifact files to record.")],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Force the input format (sarif, bandit, semgrep, gitleaks, trivy, zap, "
            "jsonl) instead of detecting it from the content.",
        ),
    ] = None,
    repo: Annotated[str | None, typer.Option(help="Repository, overriding CI detection.")] = None,
    commit: Annotated[str | None, typer.Option(help="Commit, overriding CI detection.")] = None,
    branch: Annotated[str | None, typer.Option(help="Branch, overriding CI detection.")] = None,
    run_url: Annotated[
        str | None, typer.Option("--run-url", help="CI run URL, overriding CI detection.")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="Automation category for every run in the files, so runs of one tool "
            "over different parts of a repository are separate scopes.",
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="The artifacts cover only part of the target: record what they report, "
            "but mark nothing fixed.",
        ),
    ] = False,
    repo_root: Annotated[
        Path | None,
        typer.Option(
            "--repo-root",
            help="Directory that absolute paths in the artifacts are made relative to "
            "(default: the CI job's checkout, else the Git work tree holding the current "
            "directory).",
            file_okay=False,
        ),
    ] = None,
    witness: WitnessOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record scanner artifacts in the ledger; each file lands whole or not at all.

    With --json, one object per file on stdout: file, status (recorded,
    duplicate, rejected), format, results, entries, error. Exit 0 when all
    were recorded or duplicates, 2 when any was rejected.
    """
    overrides = {"repository": repo, "commit": commit, "branch": branch, "run_url": run_url}
    code = ingest_paths(
        files,
        format,
        json_output,
        db=db,
        overrides=overrides,
        category=category,
        partial=partial,
        repo_root=repo_root,
    )
    if witness:
        write_witnesses(open_ledger(db).head().note, witness)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(ingest)


def _cwd() -> Path | None:
    """The current directory, or None when it was removed under the process."""
    try:
        return Path.cwd()
    except OSError:
        return None
