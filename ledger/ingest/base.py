"""The one interface every input format implements.

A format module turns one file into a :class:`Report`: what each run of the
tool was (tool, version, category, whether it succeeded and covered the
whole target) and a stream of :class:`~schemas.finding.Finding` records,
each tied to its run. Formats read files, never the ledger; what becomes of
their findings (identity, lifecycle, entries) is decided in
:mod:`ledger.ingest.pipeline`.

Adding a format means one new module under ``formats/`` with a class that
satisfies :class:`FormatReader`, and one line in :mod:`ledger.ingest.registry`.

Every string in an artifact is untrusted. Readers never interpret one (no
markdown or HTML rendering, no URL fetching, no template expansion beyond
SARIF's ``{0}`` placeholders) and cap its length as :class:`Limits` says,
adding a warning to the report when they cut anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final, Protocol

from schemas.finding import Finding

Redactor = Callable[[str], str]
"""Maps a secret value to the keyed digest that is recorded in its place."""


class Limits:
    """Caps applied to what is read from an artifact.

    Strings longer than their cap are cut to the cap and end in
    :data:`TRUNCATION_MARK`; the report then carries one warning per field
    saying how many values were cut. Nesting deeper than ``DEPTH`` makes the
    file unusable (an :class:`~ledger.errors.InputError`), because parsers
    spend memory quadratic in the depth.
    """

    IDENTIFIER: Final = 512
    """tool, rule_id, fingerprint, CWE identifiers, suppression kind and status."""
    TITLE: Final = 1024
    """A finding's one-line title."""
    PATH: Final = 4096
    """A location's path or URL, and ``help_uri``."""
    TEXT: Final = 32 * 1024
    """message, snippet, logical location, suppression justification."""
    PROPERTY: Final = 4096
    """Each string inside ``properties``."""
    LIST: Final = 1000
    """Items kept from any list inside ``properties``."""
    DEPTH: Final = 64
    """JSON nesting levels accepted in an artifact."""
    LINE: Final = 16 * 1024 * 1024
    """Characters in one JSON Lines record."""


TRUNCATION_MARK: Final = "…[truncated]"


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
    memory stays flat in the size of the input, and it may raise
    :class:`~ledger.errors.InputError` part way through. ``warnings`` is
    complete only once ``findings`` is exhausted (problems found while
    streaming, such as truncated fields, are appended at the end).

    ``untrusted_fingerprints`` is complete before ``findings`` is iterated:
    tool fingerprints that occur more than once in this artifact, or that
    are known placeholders, so identity must not rest on them.
    """

    format: str
    runs: list[RunInfo]
    findings: Iterator[tuple[int, Finding]]
    warnings: list[str] = field(default_factory=list)
    untrusted_fingerprints: set[str] = field(default_factory=set)


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
