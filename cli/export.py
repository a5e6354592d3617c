"""``trailseal export`` and ``verify-pack``: the auditor's evidence pack;
``accept`` and ``triage``: the decisions the report shows (CC3.2, CC7.3)."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.commands import DbOption, open_ledger, pinned_keys, say, signer, trusted_verifier

if TYPE_CHECKING:
    from ledger.export.model import ReportConfig

TrustedKeyOption = Annotated[
    str | None,
    typer.Option(
        "--trusted-key",
        help="Verifier key string NAME+ID+KEY, or a file holding one "
        "(default: .trailseal/verifier.pub, trusted on first use).",
    ),
]


def _who(by: str | None) -> str:
    return by or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _date(value: str, option: str) -> date:
    from ledger.errors import InputError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _config(path: Path | None, sla: list[str] | None) -> ReportConfig:
    from ledger.errors import InputError
    from ledger.export.model import ReportConfig

    overrides: dict[str, int | None] = {}
    for item in sla or []:
        name, sep, days = item.partition("=")
        if not sep:
            raise InputError(f"--sla {item!r}: expected SEVERITY=DAYS, e.g. critical=7")
        if days.strip().lower() in ("none", "false", "off"):
            overrides[name.strip()] = None
            continue
        try:
            overrides[name.strip()] = int(days)
        except ValueError:
            raise InputError(f"--sla {item!r}: the days must be a whole number") from None
    return ReportConfig.load(path, sla_overrides=overrides, overrides_source="--sla")


def export(
    from_: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option("--to", help="Last day of the period (inclusive).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the pack (.zip).")],
    repo: Annotated[
        list[str] | None,
        typer.Option("--repo", help="Only this repository's runs and findings (repeatable)."),
    ] = None,
    organisation: Annotated[
        str, typer.Option("--organisation", help="Whose evidence this is, for the cover.")
    ] = "Unnamed organisation",
    scope_description: Annotated[
        str,
        typer.Option("--scope-description", help="What the evidence covers, for the cover."),
    ] = "Security scanning of the repositories recorded in the ledger.",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file: SLA days per severity in an sla table, max_gap_days in a "
            "cadence table.",
        ),
    ] = None,
    sla: Annotated[
        list[str] | None,
        typer.Option("--sla", help="SLA days for one severity, e.g. critical=7 (repeatable)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who exports (default: $USER); recorded.")
    ] = None,
    trusted_key: TrustedKeyOption = None,
    db: DbOption = None,
) -> None:
    """Write an auditor's evidence pack for a period, then record the export.

    The ledger is verified first with the trusted key; a ledger that does not
    verify is not exported (exit 1). The pack's path is printed on stdout;
    standard error ends with what to hand the auditor: the pack, and the
    verifier key to send them separately. Exit 2 for bad options, an --out
    that cannot be written, or an unreadable key.
    """
    from ledger.errors import InputError
    from ledger.export.derive import ExportOptions, derive
    from ledger.export.model import Period, Scope
    from ledger.export.pack import write_pack
    from ledger.ingest.pipeline import record_document
    from ledger.verify import Verifier

    period = Period(_date(from_, "--from"), _date(to, "--to"))
    options = ExportOptions(
        period,
        Scope(organisation, scope_description, tuple(sorted(set(repo or ())))),
        _config(config, sla),
    )
    if out.is_dir():
        raise InputError(
            f"--out {out} is a directory; name the pack file to write, "
            f"e.g. --out {out / 'evidence.zip'}"
        )
    verifier = trusted_verifier(trusted_key)
    ledger = open_ledger(db)
    key = signer()

    # Never export what does not verify.
    result = Verifier(verifier).verify(ledger)
    if not result.ok:
        first = result.first
        say(f"FAIL ({first.status.label}): {first.message} [check: {first.check}]")
        say("error: the ledger does not verify; no evidence pack was written")
        raise typer.Exit(1)

    derivation = derive(ledger, options, verifier, result.size)
    try:
        info = write_pack(ledger, key, derivation, out)
    except OSError as exc:
        raise InputError(
            f"--out {out}: cannot write the pack ({exc.strerror or exc}); nothing was recorded"
        ) from None
    seq = record_document(
        ledger,
        key,
        "export",
        {
            "by": _who(by),
            "period": {"from": str(period.start), "to": str(period.end)},
            "options": {
                "repositories": list(options.scope.repositories),
                "organisation": organisation,
                "scope_description": scope_description,
                "sla": dict(options.config.sla.days),
                "max_gap_days": options.config.max_gap_days,
            },
            "pack": {
                "name": out.name,
                "sha256": info.sha256,
                "size": info.size,
                "start_size": info.start_size,
                "end_size": info.end_size,
            },
        },
    )
    say(
        f"OK: wrote entries {info.start_size}..{info.end_size - 1} ({info.entries:,}), "
        f"{len(derivation.data.findings):,} findings, {info.pages} report pages, "
        f"sha256 {info.sha256}; export recorded as entry {seq}"
        if info.entries
        else f"OK: the period holds no entries; wrote an empty pack, sha256 {info.sha256}; "
        f"export recorded as entry {seq}"
    )
    say(
        f"hand the auditor {out.resolve()} and, through another channel than the pack, "
        f"the verifier key {verifier.vkey()}; VERIFY.md in the pack says how to check it"
    )
    sys.stdout.write(f"{out}\n")


def verify_pack_command(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (.zip).")],
    trusted_key: Annotated[
        list[str],
        typer.Option(
            "--trusted-key",
            help="Verifier key string or file (repeatable, e.g. before and after a rotation).",
        ),
    ],
) -> None:
    """Check an evidence pack with nothing but the pack and trusted keys.

    Exit 0 valid; 1 not valid: altered, damaged or not a zip (the member and
    the problem are named); 2 the pack file or a key could not be read.
    """
    from ledger.export.pack import verify_pack

    keys = pinned_keys(trusted_key)
    result = verify_pack(pack, keys)
    if not result.ok:
        for problem in result.problems[:10]:
            say(f"FAIL: {pack}: {problem.member}: {problem.message}")
        raise typer.Exit(1)
    erased = f", {result.erased} erased" if result.erased else ""
    say(
        f"OK: {pack}: {result.origin}, period {result.period[0]} to {result.period[1]}: "
        f"entries {result.start_size}..{result.end_size - 1} ({result.entries}{erased}) "
        f"included in the checkpoint of size {result.end_size}, consistent with size "
        f"{result.start_size}; manifest signed by {result.signer}"
    )


IdentityArgument = Annotated[
    str,
    typer.Argument(
        help="The finding's identity (8+ hex digits, as 'trailseal findings' shows it); "
        "IDENTITY@SCOPE (as the report's register writes it) when one identity is "
        "recorded in several scopes.",
        show_default=False,
    ),
]
FindingRepoOption = Annotated[
    str | None, typer.Option("--repo", help="The finding's repository, if ambiguous.")
]


def accept(
    identity: IdentityArgument,
    approver: Annotated[str, typer.Option("--approver", help="Who approved the risk.")],
    justification: Annotated[str, typer.Option("--justification", help="Why it is accepted.")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="When the acceptance ends, YYYY-MM-DD.")
    ] = None,
    repo: FindingRepoOption = None,
    db: DbOption = None,
) -> None:
    """Record an approved risk acceptance for an open finding (CC3.2)."""
    from ledger.export.derive import find_finding, record_acceptance

    ledger = open_ledger(db)
    row = find_finding(ledger, identity, repo)
    until = _date(expires, "--expires") if expires else None
    seq = record_acceptance(
        ledger, signer(), row, approver=approver, justification=justification, expires=until
    )
    say(f"recorded the risk acceptance of {row['identity'][:12]} as entry {seq}")


def triage(
    identity: IdentityArgument,
    decision: Annotated[
        str,
        typer.Option("--decision", help="confirmed, false-positive, mitigated or investigating."),
    ],
    note: Annotated[str, typer.Option("--note", help="What was found.")] = "",
    analyst: Annotated[
        str | None, typer.Option("--analyst", help="Who triaged it (default: $USER).")
    ] = None,
    repo: FindingRepoOption = None,
    db: DbOption = None,
) -> None:
    """Record a triage decision on a finding (CC7.3)."""
    from ledger.errors import InputError
    from ledger.export.derive import TRIAGE_DECISIONS, find_finding, record_triage

    if decision not in TRIAGE_DECISIONS:
        raise InputError(f"--decision {decision!r}: use one of {', '.join(TRIAGE_DECISIONS)}")
    ledger = open_ledger(db)
    row = find_finding(ledger, identity, repo)
    seq = record_triage(ledger, signer(), row, decision=decision, note=note, analyst=_who(analyst))
    say(f"recorded the triage of {row['identity'][:12]} ({decision}) as entry {seq}")


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.command("verify-pack")(verify_pack_command)
    app.command()(accept)
    app.command()(triage)
