"""Shared CLI plumbing, and the core commands: init, verify, checkpoint, log.

Verdicts and messages go to standard error; data (JSON, checkpoints, keys,
paths) to standard output, so pipelines can consume it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledger.text import counted, json_line, printable

if TYPE_CHECKING:
    from ledger.ledger import Ledger
    from ledger.note import NoteSigner

HOME_ENV = "TRAILSEAL_HOME"
DB_ENV = "TRAILSEAL_DB"


@dataclass
class _State:
    verbose: int = 0


state = _State()

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help="SQLAlchemy URL of the ledger database (default: sqlite file "
        ".trailseal/ledger.db). postgresql://... uses psycopg 3.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def home() -> Path:
    """The ledger's home directory: TRAILSEAL_HOME or ./.trailseal."""
    return Path(os.environ.get(HOME_ENV) or ".trailseal")


def db_url(db: str | None) -> tuple[str, str]:
    """(URL, how it was chosen) for messages that say where we looked."""
    if db:
        return db, "from --db or TRAILSEAL_DB"
    path = home() / "ledger.db"
    return f"sqlite:///{path}", f"the default, {path}"


def open_ledger(db: str | None) -> Ledger:
    from ledger.errors import LedgerNotFoundError
    from ledger.ledger import Ledger

    url, where = db_url(db)
    try:
        return Ledger.open(url, where)
    except LedgerNotFoundError:
        found = None if db or os.environ.get(HOME_ENV) else _home_above(Path.cwd())
        if found is None:
            raise
        # Run from a subdirectory: 'trailseal init' here would start a second ledger.
        raise LedgerNotFoundError(
            f"no trailseal ledger at {url} ({where}); the ledger is in {found}: run "
            f"from {found.parent} or set {HOME_ENV}={found}"
        ) from None


def _home_above(directory: Path) -> Path | None:
    """The nearest parent directory's .trailseal holding a ledger file, if any."""
    for parent in directory.resolve().parents:
        if (parent / ".trailseal" / "ledger.db").is_file():
            return parent / ".trailseal"
    return None


def signer() -> NoteSigner:
    from ledger.keys import load_signer

    return load_signer(home() / "signing.key")


def say(message: str) -> None:
    """A message for the person at the terminal (stderr), on one line: messages
    quote file names and artifact text, whose control characters are escaped."""
    typer.echo(printable(message), err=True)


def emit_json(value: Any) -> None:
    """One JSON value on one line of stdout.

    json.dumps escapes only the C0 controls; DEL, the C1 controls (CSI is one),
    line and paragraph separators, bidi and other format characters and lone
    surrogates from an artifact are written as \\u escapes too, so a
    consumer splitting lines or a terminal showing them sees no raw control.
    """
    sys.stdout.write(json_line(json.dumps(value, ensure_ascii=False, sort_keys=False)) + "\n")


def init(
    db: DbOption = None,
    origin: Annotated[
        str | None,
        typer.Option(help="Origin line of the ledger's checkpoints (default: a random one)."),
    ] = None,
) -> None:
    """Create a ledger, its signing key, verifier key and redaction key.

    The verifier key is printed as the last line of standard output: pin it
    wherever the ledger is verified.
    """
    from ledger import keys
    from ledger.errors import SigningKeyError, StorageError
    from ledger.ledger import Ledger, new_origin
    from ledger.note import NoteSigner, check_key_name
    from ledger.store import Store, describe_url

    directory = home()
    key_path = directory / "signing.key"
    chosen = check_key_name(origin) if origin else new_origin()
    url, _ = db_url(db)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if Store(url).exists():
        raise StorageError(
            f"{describe_url(url)} already holds a trailseal ledger; nothing was changed "
            "(init runs once: ingest, verify and export use the existing ledger)"
        )
    if os.environ.get(keys.SIGNING_KEY_ENV):
        key = keys.load_signer(key_path)
        if key.name != chosen and origin:
            raise SigningKeyError(
                f"the key in {keys.SIGNING_KEY_ENV} is named {key.name!r}, not {chosen!r}"
            )
        chosen = key.name
        encrypted = None
    elif key_path.exists():
        raise SigningKeyError(
            f"{key_path} already exists; a second ledger here would need its own "
            f"{HOME_ENV}, or remove the old key deliberately"
        )
    else:
        key = NoteSigner.generate(chosen)
        encrypted = keys.write_signer(key, key_path)
    Ledger.create(url, chosen, key)
    redaction_path = directory / "redaction.key"
    if not redaction_path.exists() and not os.environ.get(keys.REDACTION_KEY_ENV):
        keys.create_redaction_key(redaction_path)
    vkey = key.verifier.vkey()
    (directory / "verifier.pub").write_text(vkey + "\n", encoding="ascii")
    if encrypted is not None:
        say(f"signing key: {key_path} ({'encrypted' if encrypted else 'not encrypted'})")
    say(f"ledger: {url}")
    say(f"verifier key: {directory / 'verifier.pub'}")
    typer.echo(vkey)


def trusted_verifier(trusted_key: str | None) -> Any:
    from ledger.errors import SigningKeyError
    from ledger.keys import load_verifier

    if trusted_key is not None and not trusted_key.strip():
        # "--trusted-key $VAR" with VAR unset: falling back to the key file
        # next to the ledger would quietly trust what the writers can change.
        raise SigningKeyError(
            "--trusted-key is empty (is the variable meant to hold the pinned key set?); "
            "give the verifier key NAME+ID+KEY or a file holding it"
        )
    if trusted_key:
        try:
            return load_verifier(trusted_key)
        except SigningKeyError as exc:
            raise SigningKeyError(f"--trusted-key: {exc}") from None
    path = home() / "verifier.pub"
    verifier = load_verifier(str(path))
    say(
        f"note: trusting the verifier key in {path} (trust on first use); pin it with --trusted-key"
    )
    return verifier


def pinned_keys(values: list[str]) -> list[Any]:
    """Verifier keys given with --trusted-key (strings or files), errors naming the option."""
    return [trusted_verifier(value) for value in values]


WitnessOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--witness",
        help="Witness directory of checkpoints kept away from the database (repeatable).",
    ),
]


def verify(
    trusted_key: Annotated[
        str | None,
        typer.Option(
            "--trusted-key",
            help="Verifier key string NAME+ID+KEY, or a file holding one "
            "(default: .trailseal/verifier.pub, trusted on first use).",
        ),
    ] = None,
    since: Annotated[
        Path | None,
        typer.Option(help="A checkpoint kept earlier: prove the ledger is consistent with it."),
    ] = None,
    witness: WitnessOption = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Resume from the checkpoint verified last time (state in "
            ".trailseal/verify-state.json) and check only the entries since; a full "
            "run is still needed to re-check derived tables.",
        ),
    ] = False,
    state_file: Annotated[
        Path | None, typer.Option("--state", help="Where --incremental keeps its state.")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Prove the ledger intact: every leaf, link, root and checkpoint signature.

    Exit codes: 0 intact; 1 tampered (an entry, link, root, signature or
    derived row is wrong); 2 usage or unreadable input; 3 truncated (entries
    behind a signed or witnessed checkpoint are gone); 4 forked (inconsistent
    with a kept or witnessed checkpoint); 5 unsealed tail (entries after the
    last signed checkpoint); 6 unknown key (a checkpoint not signed by the
    trusted key or its signed successors).
    """
    from ledger import verify_state
    from ledger import witness as witnesses
    from ledger.errors import InputError, VerificationError
    from ledger.verify import Verifier, read_kept

    ledger = open_ledger(db)
    verifier = trusted_verifier(trusted_key)
    kept = []
    sources: list[tuple[str, str]] = []
    if since is not None:
        sources.append((str(since), _read_text(since, "checkpoint")))
    for directory in witness or []:
        sources.extend((str(path), text) for path, text in witnesses.read_all(directory))
    for source, text in sources:
        try:
            kept.append(read_kept(source, text, ledger.origin))
        except VerificationError as exc:
            raise InputError(str(exc)) from None
    state_path = state_file or home() / "verify-state.json"
    resume = verify_state.load(state_path) if incremental else None
    result = Verifier(verifier).verify(ledger, kept=kept, resume=resume)
    if json_output:
        emit_json(result_json(result))
    if result.ok:
        if incremental:
            verify_state.save(state_path, result)
        if not result.start:
            scope = f"{result.entries} entries"
        elif result.start >= result.entries:
            scope = "no new entries since the last verification"
        else:
            scope = f"entries {result.start}..{result.entries - 1} since the last verification"
        extras = []
        if result.erased:
            extras.append(counted(len(result.erased), "erased entry"))
        if kept:
            extras.append(f"consistent with {counted(result.kept_checked, 'kept checkpoint')}")
        say(
            f"OK: ledger intact: {scope}, signed root {result.root_hash.hex()} at size "
            f"{result.size} (trusted key {verifier.name} {verifier.key_id_hex})"
            + "".join(f"; {e}" for e in extras)
        )
        raise typer.Exit(0)
    first = result.first
    where = f"entry {first.seq}: " if first.seq is not None and "entry" not in first.message else ""
    say(f"FAIL ({first.status.label}): {where}{first.message} [check: {first.check}]")
    for problem in result.problems[1:5]:
        say(f"  also: {problem.message}")
    raise typer.Exit(first.status.exit_code)


def _read_text(path: Path, what: str) -> str:
    from ledger.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc}") from None


def result_json(result: Any) -> dict[str, Any]:
    first = result.first if result.problems else None
    return {
        "status": result.status.label,
        "entries": result.entries,
        "checkpoints": result.checkpoints,
        "size": result.size,
        "root_hash": result.root_hash.hex(),
        "key_id": result.key_id,
        "origin": result.origin,
        "first_bad_seq": first.seq if first else None,
        "erased": result.erased,
        "problems": [
            {"status": p.status.label, "seq": p.seq, "check": p.check, "message": p.message}
            for p in result.problems
        ],
    }


def checkpoint(db: DbOption = None, witness: WitnessOption = None) -> None:
    """Print the latest signed checkpoint (a C2SP signed note) on stdout.

    With --witness DIR, also add it to each witness directory.
    """
    ledger = open_ledger(db)
    note = ledger.head().note
    write_witnesses(note, witness)
    sys.stdout.write(note)


def write_witnesses(note: str, directories: list[Path] | None) -> None:
    from ledger import witness

    for directory in directories or []:
        path, new = witness.write(directory, note)
        say(f"witness: {'wrote' if new else 'already had'} {path}")


def erase(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry to erase.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the content must go.")],
    by: Annotated[str | None, typer.Option("--by", help="Who erases it (default: $USER).")] = None,
    db: DbOption = None,
) -> None:
    """Erase an entry's content, keeping its hash: every proof still verifies.

    A signed erasure entry records who, why and the erased body's hash.
    """
    ledger = open_ledger(db)
    who = by or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    erasure = ledger.erase(signer(), seq, reason, who)
    say(f"erased the content of entry {seq}; erasure recorded as entry {erasure}")


def log_command(
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many entries.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """Show entries, newest first."""
    from ledger.ledger import decode_body

    ledger = open_ledger(db)
    for row in ledger.newest_first(limit):
        body = decode_body(row)
        if json_output:
            emit_json(
                {
                    "seq": row.seq,
                    "kind": row.kind,
                    "time": row.time,
                    "leaf_hash": bytes(row.leaf_hash).hex(),
                    "erased": body is None,
                    "body": body,
                }
            )
        else:
            typer.echo(f"{row.seq:>8}  {row.time}  {row.kind:<14} {_summary(row.kind, body)}")


def _summary(kind: str, body: dict[str, Any] | None) -> str:
    """One line about an entry. Artifact strings are printed with repr() escaping
    so terminal control characters in them cannot act."""
    if body is None:
        return "(content erased)"
    if kind == "artifact":
        art = body.get("artifact", {})
        return printable(
            f"{art.get('name')} {art.get('format')} sha256:{str(art.get('sha256'))[:16]} "
            f"results={art.get('results')}"
        )
    if kind in ("finding", "finding-fixed", "acceptance"):
        finding = body.get("finding", {})
        event = body.get("event", kind)
        return printable(
            f"{event:<9} {finding.get('severity', ''):<8} {finding.get('rule_id', '')} "
            f"{(finding.get('location') or {}).get('path', '')} id={str(body.get('identity'))[:12]}"
        )
    return printable(", ".join(sorted(body))[:100])


def printable_lines(text: str) -> str:
    """:func:`printable` line by line, for a traceback: its line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(verify)
    app.command()(checkpoint)
    app.command("log")(log_command)
    app.command()(erase)
