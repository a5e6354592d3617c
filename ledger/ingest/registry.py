"""The list of input formats, and how a file's format is found.

Detection reads the first 64 KiB of the file and asks each reader in turn;
the order puts the most specific formats first, so a report that would
satisfy two loose tests goes to the reader that knows it best. The file
name plays no part: CI jobs name reports freely, and a ``.json`` file may
well hold JSON Lines.
"""

from __future__ import annotations

from pathlib import Path

from ledger.errors import InputError
from ledger.ingest.base import FormatReader
from ledger.ingest.formats._common import check_file, head_text
from ledger.ingest.formats.bandit import BanditReader
from ledger.ingest.formats.gitleaks import GitleaksReader
from ledger.ingest.formats.jsonl import JsonLinesReader
from ledger.ingest.formats.sarif import SarifReader
from ledger.ingest.formats.semgrep import SemgrepReader
from ledger.ingest.formats.trivy import TrivyReader
from ledger.ingest.formats.zap import ZapReader

HEAD_BYTES = 64 * 1024

READERS: tuple[FormatReader, ...] = (
    SarifReader(),
    TrivyReader(),
    SemgrepReader(),
    BanditReader(),
    GitleaksReader(),
    ZapReader(),
    JsonLinesReader(),
)
"""Every reader, in detection order."""


def names() -> list[str]:
    """The values ``--format`` accepts."""
    return [reader.name for reader in READERS]


def get_reader(name: str) -> FormatReader:
    """The reader for ``--format name``."""
    for reader in READERS:
        if reader.name == name:
            return reader
    raise InputError(f"unknown format {name!r}; known formats: {', '.join(names())}")


def detect_format(path: Path) -> FormatReader:
    """The reader whose format the start of ``path`` matches."""
    check_file(path)
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    for reader in READERS:
        if reader.detect(head):
            return reader
    text = head_text(head)
    if not head.strip():
        hint = "it holds only whitespace"
    elif not text:
        hint = "it is not UTF-8 or UTF-16/32 text with a byte order mark"
    elif text[0] not in "{[<":
        hint = "it does not start like JSON or XML"
    else:
        hint = "its content matches none of them"
    raise InputError(
        f"{path}: format not recognised ({hint}). Known formats: {', '.join(names())}; "
        "give --format to choose one."
    )
