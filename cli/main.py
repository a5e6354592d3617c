"""The ``trailseal`` command: global options, command registration, error handling.

Each command group lives in its own module and imports the library inside
its functions, so ``trailseal --help`` starts instantly.
"""

from __future__ import annotations

import gc
import logging
import os
import traceback
from typing import Annotated, Any

import typer
import typer.core

from cli import commands, export, findings, ingest, keys, proofs, runtime, scan
from ledger.errors import TrailsealError
from ledger.text import printable


class _Group(typer.core.TyperGroup):
    """Turns expected errors into one short message and their exit code."""

    def invoke(self, ctx: typer._click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrailsealError as exc:
            if commands.state.verbose:
                # Tracebacks show code and messages, never local variables.
                text = "".join(traceback.format_exception(exc))
                typer.echo(commands.printable_lines(text), err=True, nl=False)
            commands.say(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing of the current batch was written", err=True)
            raise typer.Exit(130) from None


class _Formatter(logging.Formatter):
    """Log lines quote file names and artifact text: their control characters
    are escaped, so they cannot forge a line or act on the terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return commands.printable_lines(super().formatException(ei))


app = typer.Typer(
    cls=_Group,
    name="trailseal",
    help="A tamper-evident, signed ledger of security findings: ingest scanner "
    "artifacts, verify the ledger, export evidence for auditors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output; -vv for debug.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log errors only.")] = False,
) -> None:
    """Configure logging for the whole package from -v/-q or TRAILSEAL_LOG."""
    level_name = os.environ.get("TRAILSEAL_LOG", "").upper()
    level = getattr(logging, level_name, logging.WARNING) if level_name else logging.WARNING
    if verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
    if quiet:
        level = logging.ERROR
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter("trailseal: %(levelname)s: %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    commands.state.verbose = verbose


commands.register(app)
ingest.register(app)
findings.register(app)
keys.register(app)
proofs.register(app)
scan.register(app)
runtime.register(app)
export.register(app)


def run() -> None:
    """Console-script entry point.

    A command allocates millions of short-lived containers (one dict per
    result, several per entry) and creates few reference cycles, so the
    cyclic collector's default of a pass every 700 allocations costs more
    than it frees; a larger first threshold takes about a tenth off ingest.
    """
    gc.set_threshold(50_000, 20, 100)
    app()
