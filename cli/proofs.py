"""``trailseal prove`` and ``trailseal verify-proof``: RFC 9162 proofs, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.commands import DbOption, open_ledger, pinned_keys, say

app = typer.Typer(help="Write inclusion and consistency proofs.", no_args_is_help=True)

FormatOption = Annotated[
    str, typer.Option("--format", help="json (documented JSON form) or tlog-proof (C2SP text).")
]


@app.command()
def inclusion(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    format: FormatOption = "json",
    db: DbOption = None,
) -> None:
    """Prove an entry is in the tree of the latest signed checkpoint."""
    from ledger.errors import InputError
    from ledger.proof import Prover

    if format not in ("json", "tlog-proof"):
        raise InputError(f"--format {format!r}: use json or tlog-proof")
    proof = Prover(open_ledger(db)).inclusion(seq)
    if format == "json":
        sys.stdout.write(json.dumps(proof.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(proof.to_tlog_proof())


@app.command()
def consistency(
    from_: Annotated[Path, typer.Option("--from", help="A signed checkpoint kept earlier (file).")],
    db: DbOption = None,
) -> None:
    """Prove the latest checkpoint's tree extends an earlier checkpoint's tree."""
    from ledger.errors import InputError
    from ledger.proof import Prover

    try:
        note = from_.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{from_}: cannot read the checkpoint: {exc}") from None
    proof = Prover(open_ledger(db)).consistency(note)
    sys.stdout.write(json.dumps(proof.to_json(), indent=2) + "\n")


def verify_proof(
    proof: Annotated[Path, typer.Argument(help="The proof file (JSON or tlog-proof), or -.")],
    trusted_key: Annotated[
        list[str],
        typer.Option(
            "--trusted-key",
            help="Verifier key string or file (repeatable, e.g. before and after a rotation).",
        ),
    ],
) -> None:
    """Check a proof with nothing but the proof and trusted keys. Exit 0 valid, 1 not."""
    from ledger.errors import InputError, VerificationError
    from ledger.proof import check_proof

    keys = pinned_keys(trusted_key)
    try:
        text = sys.stdin.read() if str(proof) == "-" else proof.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{proof}: cannot read the proof: {exc}") from None
    try:
        check = check_proof(text, keys)
    except VerificationError as exc:
        say(f"FAIL: {proof}: {exc}")
        raise typer.Exit(1) from None
    if check.kind == "inclusion":
        body = "; the entry's content matches its hash" if check.body_verified else ""
        say(f"OK: entry {check.index} is in {check.origin} at tree size {check.tree_size}{body}")
    else:
        say(
            f"OK: {check.origin} at size {check.tree_size} extends its tree at size "
            f"{check.old_size}"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="prove")
    root.command("verify-proof")(verify_proof)
