"""``trailseal runtime``: findings from access logs and from signing-key drift."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

if TYPE_CHECKING:
    from ledger.runtime.accesslog import LogFormat
    from schemas.finding import Finding

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Write the findings here as JSON Lines instead of stdout."),
]
IngestOption = Annotated[
    bool, typer.Option("--ingest", help="Record the findings in the ledger as well.")
]

runtime_app = typer.Typer(
    name="runtime",
    help="Findings that only show at run time: id enumeration in access logs, key drift.",
    no_args_is_help=True,
)


@runtime_app.command("logs")
def logs(
    files: Annotated[list[Path], typer.Argument(help="Access logs, oldest first; gzip is fine.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="jsonl, combined, w3c, alb, elb or envoy; detected from the first line if "
            "unset. combined covers Apache and nginx (vhost, X-Forwarded-For and timing fields "
            "too), w3c IIS and CloudFront, jsonl nginx/Traefik/Caddy/Google Cloud JSON.",
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            help="Map a JSON Lines field, e.g. sub=user_id or sub=auth.sub. Names: time, "
            "method, path, status, sub, ip, token.",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML or JSON file of thresholds.")
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change one threshold, e.g. long_window_ids=200. Defaults: short window 30 s "
            "/ 30 ids, long window 300 s / 100 ids or 10x the route median, walk of 10 ids, "
            "misses >= 50% of 20 requests, 5 foreign ids from 3 owners, 20 new ids a minute "
            "for 10 minutes, 10 addresses in 600 s.",
        ),
    ] = None,
    out: OutOption = None,
    ingest: IngestOption = False,
) -> None:
    """Report subjects walking through object ids (rules ENUM001-ENUM006).

    Unreadable single lines are skipped and counted in the summary; a file
    that is not an access log at all stops the command with exit code 2.
    """
    from cli.commands import say
    from ledger.errors import InputError
    from ledger.runtime import load_policy, scan_logs
    from ledger.runtime.accesslog import CANONICAL_FIELDS, LOG_FORMATS

    if fmt is not None and fmt not in LOG_FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(LOG_FORMATS)}")
    fields: dict[str, str] = {}
    for item in field or []:
        name, sep, source = item.partition("=")
        if not sep or name not in CANONICAL_FIELDS or not source:
            raise InputError(
                f"--field {item!r}: expected NAME=SOURCE with NAME one of "
                f"{', '.join(CANONICAL_FIELDS)}"
            )
        fields[name] = source
    policy = load_policy(config, settings or [])
    scan = scan_logs(files, policy, cast("LogFormat | None", fmt), fields)
    code = _emit(scan.findings, out, ingest, "runtime-logs", closes=False)
    say(scan.summary())
    raise typer.Exit(code)


@runtime_app.command("key-drift")
def key_drift(
    jwks: Annotated[Path, typer.Option("--jwks", help="The current JWKS snapshot (JSON).")],
    service: Annotated[
        list[str],
        typer.Option(
            "--service",
            help="NAME=KEY, repeatable: a PEM public key or certificate, a JWK or JWKS file, "
            "or an HMAC secret's fingerprint as oct:THUMBPRINT[:BITS].",
        ),
    ],
    allow_alg: Annotated[
        list[str] | None,
        typer.Option("--allow-alg", help="NAME=ALG[,ALG]: algorithms a service accepts."),
    ] = None,
    signing_kid: Annotated[
        list[str] | None,
        typer.Option(
            "--signing-kid", help="Kid tokens are signed with now (default: every 'sig' key)."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name the JWKS is recorded under (default: file name)."),
    ] = None,
    out: OutOption = None,
    ingest: IngestOption = False,
) -> None:
    """Compare what services trust with the current JWKS (rules KEY001-KEY006).

    With --ingest the JWKS is recorded too, public members only, so the
    ledger keeps the history of the key set.
    """
    from cli.commands import say
    from ledger.errors import InputError
    from ledger.runtime import Service, check_drift, load_jwks, load_keys, public_jwks
    from ledger.runtime.jwk import has_private_members

    warnings: list[str] = []
    current, document = load_jwks(jwks, warnings)
    services: dict[str, Service] = {}
    for item in service:
        label, sep, spec = item.partition("=")
        if not sep or not label or not spec:
            raise InputError("--service: expected NAME=KEY, got an item without '=' or a name")
        services.setdefault(label, Service(label)).keys.extend(load_keys(spec, warnings))
    for item in allow_alg or []:
        label, sep, algs = item.partition("=")
        if label not in services or not sep:
            raise InputError(f"--allow-alg {item!r}: expected NAME=ALG[,ALG] for a --service")
        services[label].allowed_algs = frozenset(a.strip() for a in algs.split(",") if a.strip())
    for warning in warnings:
        say(warning)
    if has_private_members(document):
        say(f"warning: {jwks} publishes private key members; only public members are recorded")

    findings = check_drift(current, services.values(), signing_kid or [])
    if ingest:
        from cli.ingest import record_snapshot

        record_snapshot("jwks", name or jwks.name, public_jwks(document))
    code = _emit(findings, out, ingest, "runtime-key-drift", closes=True)
    say(f"{len(current)} current key(s), {len(services)} service(s); {len(findings)} finding(s)")
    raise typer.Exit(code)


def _emit(
    findings: list[Finding], out: Path | None, ingest: bool, stem: str, *, closes: bool
) -> int:
    """Write the findings (file or stdout) and ingest them if asked; the exit code."""
    from ledger.runtime.logs import TOOL, to_jsonl, write_jsonl

    if out is None and not ingest:
        for line in to_jsonl(findings):
            typer.echo(line)
        return 0
    # Each check is its own scope (category). An access log shows what happened
    # in its window only, so its run is incomplete: a quieter log later closes
    # nothing. A key-drift check sees the whole current state, so it does.
    run = {"tool": TOOL, "category": stem, "complete": closes}
    with _findings_file(out, stem) as path:
        write_jsonl(findings, path, run)
        if not ingest:
            return 0
        from cli.ingest import ingest_paths

        return ingest_paths([path], "jsonl")


@contextmanager
def _findings_file(out: Path | None, stem: str) -> Iterator[Path]:
    if out is not None:
        yield out
        return
    # --ingest without --out: the file only needs to live until it is recorded.
    with tempfile.TemporaryDirectory(prefix="trailseal-") as tmp:
        yield Path(tmp) / f"{stem}-findings.jsonl"


def register(app: typer.Typer) -> None:
    """Add the ``runtime`` command group to ``app``."""
    app.add_typer(runtime_app, name="runtime")
