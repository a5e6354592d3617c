"""The one interface every input format implements.

A format module turns one file into a :class:`Report`: what each run of the
tool was (tool, version, category, whether it succeeded and covered the
whole target) and a stream of :class:`~schemas.finding.Finding` records,
each tied to its run. Formats read files, never the ledger; what becomes of
their findings (identity, lifecycle, entries) is decided in
:mod:`ledger.ingest.pipeline`.

Adding a format means one new module under ``formats/`` with a class that
satisfies :class:`FormatReader`, and one line in :mod:`ledger.ingest.registry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from schemas.finding import Finding

Redactor = Callable[[str], str]
"""Maps a secret value to the keyed digest that is recorded in its place."""


@dataclass(frozen=True)
class RunInfo:
    """One run of a tool, as the artifact describes it."""

    tool: str
    tool_version: str | None = None
    category: str | None = None
    successful: bool = True
    complete: bool = True
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadOptions:
    """What a reader needs besides the file."""

    redact: Redactor
    repo_root: str | None = None
    """Absolute path prefix of the scanned checkout, if known, so absolute
    paths in artifacts can be made repository-relative."""


@dataclass
class Report:
    """A parsed artifact: its runs, and an iterator of (run index, finding).

    ``findings`` may be consumed once; it reads the file as it goes, so
    memory stays flat in the size of the input.
    """

    format: str
    runs: list[RunInfo]
    findings: Iterator[tuple[int, Finding]]
    warnings: list[str] = field(default_factory=list)


class FormatReader(Protocol):
    """One input format."""

    name: ClassVar[str]
    """Value of ``--format`` that selects this reader, e.g. 'sarif'."""

    def detect(self, head: bytes) -> bool:
        """Whether the first bytes of a file (up to 64 KiB) look like this format."""
        ...

    def read(self, path: Path, options: ReadOptions) -> Report:
        """Parse ``path``. Raises :class:`ledger.errors.InputError` naming the
        file, the place (line or JSON path) and the problem."""
        ...
