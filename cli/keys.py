"""``trailseal keys``: rotate the signing key, revoke an old one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cli.commands import DbOption, home, open_ledger, say, signer

app = typer.Typer(
    help="Rotate the ledger's signing key or revoke an old one.", no_args_is_help=True
)


@app.command()
def rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="Where to write the new signing key (default: replace .trailseal/signing.key; "
            "required when the key comes from TRAILSEAL_SIGNING_KEY).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Replace the signing key: a rotation entry signed by the old and the new key.

    Verification follows the rotation from the originally trusted key, so the
    pinned verifier key stays valid. Prints the new verifier key on stdout.
    """
    from ledger import keys
    from ledger.errors import InputError
    from ledger.note import NoteSigner

    ledger = open_ledger(db)
    old = signer()
    if new_key_file is None and os.environ.get(keys.SIGNING_KEY_ENV):
        raise InputError(
            f"the signing key comes from {keys.SIGNING_KEY_ENV}; give --new-key-file to say "
            f"where the new key goes"
        )
    new = NoteSigner.generate(old.name)
    target = new_key_file or home() / "signing.key"
    staged = target.with_name(target.name + ".new")
    keys.write_signer(new, staged)
    try:
        seq = ledger.rotate_key(old, new)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, target)
    say(
        f"rotated the signing key at entry {seq}: {old.verifier.key_id_hex} -> "
        f"{new.verifier.key_id_hex}; new key in {target}"
    )
    typer.echo(new.verifier.vkey())


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The revoked key's id (8 hex digits).")],
    from_seq: Annotated[
        int,
        typer.Option(
            "--from",
            help="Checkpoints covering entries after this sequence number signed "
            "by the key are refused.",
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why the key is revoked.")] = "compromised",
    db: DbOption = None,
) -> None:
    """Revoke an old signing key from a sequence number on."""
    ledger = open_ledger(db)
    seq = ledger.revoke_key(signer(), key_id.lower(), from_seq, reason)
    say(f"revoked key {key_id} from entry {from_seq}; recorded as entry {seq}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="keys")
