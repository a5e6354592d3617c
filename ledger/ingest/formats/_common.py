"""Plumbing shared by the format readers: opening files, JSON errors, caps.

Nothing here knows a format. It answers four questions the same way for
every reader: is this path a readable file and in which encoding (by BOM),
is the JSON well formed and shallow enough to parse safely, where exactly
is it broken if not, and how is an untrusted value made safe to record
(exact numbers, capped strings, bounded lists).
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar, cast

import ijson
from ijson.backends import python as ijson_python
from pydantic import BaseModel

from ledger.errors import InputError
from ledger.ingest.base import TRUNCATION_MARK, Limits, Report
from schemas.finding import Category, Finding, Location, Severity, Suppression

MAX_SAFE_INTEGER = 2**53 - 1

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def fail(path: Path, where: str | None, problem: str) -> InputError:
    """Build the one-paragraph error every reader raises."""
    place = f" at {where}" if where else ""
    return InputError(f"{path}{place}: {problem}")


def sniff_encoding(head: bytes) -> str | None:
    """The encoding a BOM announces, 'utf-8' without one, None if undecidable.

    Windows tools write UTF-16 with a BOM; without one, NUL bytes in the
    first characters betray UTF-16 or UTF-32 that cannot be decoded safely.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head[:4]:
        return None
    return "utf-8"


def head_text(head: bytes) -> str:
    """The start of a file as text, for format detection only."""
    encoding = sniff_encoding(head)
    if encoding is None:
        return ""
    # A multi-byte character may be cut at the end of the head.
    return head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n")


def check_file(path: Path) -> None:
    """Refuse what is not a non-empty regular file."""
    if path.is_dir():
        raise fail(path, None, "is a directory, not a file; give the report file itself.")
    if not path.exists():
        raise fail(path, None, "no such file.")
    if not path.is_file():
        raise fail(path, None, "is not a regular file.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise fail(path, None, f"cannot be read: {exc.strerror}.") from exc
    if size == 0:
        raise fail(path, None, "is empty; the scanner wrote no report.")


def _encoding_of(path: Path) -> str:
    with path.open("rb") as raw:
        head = raw.read(4)
    encoding = sniff_encoding(head)
    if encoding is None:
        raise fail(
            path,
            "byte 0",
            "looks like UTF-16 or UTF-32 without a byte order mark; re-encode it as "
            "UTF-8 (or UTF-16 with a BOM).",
        )
    return encoding


class _Utf8Stream:
    """Re-encodes a decoded text stream as UTF-8 bytes for ijson."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data = self._pending + self._text.read().encode("utf-8", "surrogatepass")
            self._pending = b""
            return data
        while len(self._pending) < size:
            chunk = self._text.read(max(size // 2, 1))
            if not chunk:
                break
            self._pending += chunk.encode("utf-8", "surrogatepass")
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> _Utf8Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAX_DIGITS = 4300
"""Longest run of digits a JSON document may hold: Python refuses to convert
longer integers (``sys.get_int_max_str_digits``), and ijson's C parser then
fails with an exception half set, which can crash the process."""

_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))


_READ_AHEAD_MAX = 16 << 20


class _DigitGuard:
    """Passes a JSON byte stream through, refusing any run of more than
    :data:`MAX_DIGITS` digits before the parser sees it.

    The run may be inside a string, where it would be harmless; a report
    holding thousands of digits in a row is refused all the same, since
    telling the two apart needs the parser this protects.

    It also reads ahead inside long strings. The parser re-reads a token
    that spans reads from its start on every read, so a 40 MB string cost
    3 s per pass in 64 KiB reads. While reads hold almost no quote
    characters, each returns twice as much as the one before (up to 16 MiB),
    which keeps that linear (0.3 s); reading more at every step would make
    ordinary results slower to stream.
    """

    def __init__(self, path: Path, raw: BinaryIO, offset: int | None) -> None:
        self._path = path
        self._raw = raw
        self._offset = offset  # bytes of the file before what read() returns next
        self._consumed = 0
        self._run = 0  # digits at the end of what was read so far
        self._ahead = 0  # the size of the next read, when inside a long token

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(max(size, self._ahead) if size > 0 else size)
        if not data:
            return data
        if data.count(b'"') < 16:
            self._ahead = min(len(data) * 2, _READ_AHEAD_MAX)
        else:
            self._ahead = 0
        digits = data.translate(_DIGITS_ONLY)
        lead = len(digits) - len(digits.lstrip(b"0"))
        if self._run + lead > MAX_DIGITS:
            self._refuse(-self._run)
        if lead < len(digits):
            inside = digits.find(b"0" * (MAX_DIGITS + 1))
            if inside >= 0:
                self._refuse(inside)
            self._run = len(digits) - len(digits.rstrip(b"0"))
        else:
            self._run += lead
        self._consumed += len(data)
        return data

    def _refuse(self, start: int) -> None:
        where = None
        if self._offset is not None:
            where = f"byte {self._offset + self._consumed + start}"
        raise fail(
            self._path,
            where,
            f"holds a run of more than {MAX_DIGITS} digits; a number that long cannot "
            "be read safely, so the file is refused.",
        )

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _DigitGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_json(path: Path) -> BinaryIO:
    """Open ``path`` as UTF-8 bytes, a BOM skipped and UTF-16/32 transcoded,
    with every run of digits checked against :data:`MAX_DIGITS`."""
    check_file(path)
    encoding = _encoding_of(path)
    raw: BinaryIO = path.open("rb")
    offset: int | None = 0
    if encoding == "utf-8-sig":
        offset = raw.seek(len(codecs.BOM_UTF8))
    elif encoding != "utf-8":
        # Offsets in the transcoded text are not the file's.
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        raw, offset = cast(BinaryIO, _Utf8Stream(text)), None
    return cast(BinaryIO, _DigitGuard(path, raw, offset))


def open_text(path: Path) -> IO[str]:
    """Open ``path`` as text, decoded by its BOM (UTF-8 when it has none)."""
    check_file(path)
    encoding = _encoding_of(path)
    return path.open("r", encoding=encoding, errors="strict", newline="")


def _json_path(frames: list[list[Any]]) -> str:
    parts = []
    for kind, at in frames:
        if kind == "map" and at is not None:
            parts.append(f".{str(at)[:64]}")
        elif kind == "array" and at >= 0:
            parts.append(f"[{at}]")
    if len(parts) > 12:
        parts = [*parts[:6], f"...({len(parts) - 12} more)...", *parts[-6:]]
    return "$" + "".join(parts)


def prescan(path: Path, on_event: Callable[[str, Any, int], None] | None = None) -> None:
    """Read the whole file once: well formed, one value, nesting within limits.

    This runs before a reader streams anything, so a truncated or malformed
    file fails in ``read()`` rather than half way through the findings, and
    a deeply nested one never reaches the prefix-building parser (whose
    memory grows with the square of the depth). ``on_event`` sees each
    (event, value, depth) if given.
    """
    depth = 0
    limit = Limits.DEPTH
    with open_json(path) as stream:
        try:
            for event, value in ijson.basic_parse(stream, use_float=False):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > limit:
                        raise fail(
                            path,
                            _locate(path)[1] or None,
                            f"JSON nested deeper than {limit} levels; refusing to parse it.",
                        )
                elif event in ("end_map", "end_array"):
                    depth -= 1
                if on_event is not None:
                    on_event(event, value, depth)
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise json_error(path, exc) from None


def _locate(path: Path) -> tuple[str, str]:
    """Re-read ``path`` slowly to find where it breaks: (problem, place).

    Uses ijson's pure-Python parser, which reports character offsets, and
    tracks the JSON path itself so memory stays linear in the depth.
    """
    frames: list[list[Any]] = []
    try:
        with open_json(path) as stream:
            # Offsets in this parser's messages count decoded characters.
            for event, value in ijson_python.basic_parse(stream):
                if event == "map_key":
                    frames[-1][1] = value
                    continue
                if event in ("end_map", "end_array"):
                    frames.pop()
                    continue
                if frames and frames[-1][0] == "array":
                    frames[-1][1] += 1
                if event == "start_map":
                    frames.append(["map", None])
                elif event == "start_array":
                    frames.append(["array", -1])
                if len(frames) > Limits.DEPTH:
                    return ("too deep", _json_path(frames))
    except (ijson.JSONError, ValueError) as exc:
        # json.JSONDecodeError from the pure-Python backend is a ValueError too.
        message = str(exc).splitlines()[0] if str(exc) else ""
        where = _json_path(frames)
        offset = re.search(r" at (\d+)", message)
        if offset:
            line, column = _line_column(path, int(offset.group(1)))
            return (message, f"line {line}, column {column} ({where})")
        return (message, where)
    except UnicodeDecodeError as exc:
        return (str(exc), "")
    return ("", "")


def _line_column(path: Path, offset: int) -> tuple[int, int]:
    line, column = 1, 1
    # Decoded here rather than through io.TextIOWrapper, which needs a real
    # binary file and not the stream open_json returns.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open_json(path) as stream:
        remaining = offset
        while remaining > 0:
            data = stream.read(1 << 16)
            if not data:
                break
            chunk = decoder.decode(data)[:remaining]
            remaining -= len(chunk)
            newlines = chunk.count("\n")
            if newlines:
                line += newlines
                column = len(chunk) - chunk.rfind("\n")
            else:
                column += len(chunk)
    return line, column


_SCAN_LIMIT = 64 << 20


def _first_invalid_utf8(path: Path) -> str | None:
    """'byte N (line L)' of the first byte that is not UTF-8, read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed, lines = 0, 1
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    # The decoder may hold back up to 3 bytes of the chunk before.
                    start = max(0, exc.start - len(exc.object) + len(chunk))
                    offset = consumed + start
                    lines += chunk[:start].count(b"\n")
                    return f"byte {offset} (line {lines})"
                consumed += len(chunk)
                lines += chunk.count(b"\n")
    except OSError:
        return None
    return None


_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
"""An escaped high surrogate with no low one after it, or a low one alone."""

LONE_SURROGATE_PROBLEM = (
    "holds a string with a lone UTF-16 surrogate escape (such as \\ud800), which is not "
    "valid Unicode; the scanner's output is corrupt."
)


def has_lone_surrogate(text: str) -> bool:
    """Whether JSON text escapes a lone surrogate (parsers accept it; UTF-8 cannot hold it)."""
    if "\\ud" not in text and "\\uD" not in text:
        return False
    return _LONE_SURROGATE.search(text.encode("utf-8", "surrogatepass")) is not None


def _lone_surrogate(path: Path) -> str | None:
    """'line L' of the first escaped lone surrogate, for files of moderate size."""
    try:
        if path.stat().st_size > _SCAN_LIMIT:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    found = _LONE_SURROGATE.search(data)
    if found is None:
        return None
    line = data.count(b"\n", 0, found.start()) + 1
    return f"line {line}"


def _second_value(path: Path) -> str | None:
    """'line L' where a second JSON value starts, for files of moderate size."""
    try:
        if path.stat().st_size > _SCAN_LIMIT:
            return None
        text = path.read_text(encoding="utf-8-sig")
        _, end = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip()))
    except (OSError, ValueError):
        return None
    rest = text[end:]
    start = end + len(rest) - len(rest.lstrip())
    return f"line {text.count(chr(10), 0, start) + 1}" if start < len(text) else None


def json_error(path: Path, exc: Exception) -> InputError:
    """Turn a parser failure into a message with place and likely cause."""
    if isinstance(exc, UnicodeDecodeError):
        utf8 = _encoding_of(path) in ("utf-8", "utf-8-sig")
        place = _first_invalid_utf8(path) if utf8 else f"byte {exc.start}"
        if place is None:
            # The bytes are UTF-8; a string's escape decoded to a lone surrogate.
            return fail(path, _lone_surrogate(path), LONE_SURROGATE_PROBLEM)
        return fail(
            path,
            place,
            "is not valid UTF-8 text; re-encode the report as UTF-8 (or UTF-16 with a BOM).",
        )
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "invalid bytes in UTF8" in detail:
        return fail(
            path,
            _first_invalid_utf8(path),
            "is not valid UTF-8 text; re-encode the report as UTF-8 (or UTF-16 with a BOM).",
        )
    problem, place = _locate(path)
    if "trailing garbage" in detail or ("Additional data" in problem and "error" not in detail):
        return fail(
            path,
            _second_value(path) or place or None,
            "holds more than one JSON value, one after another; this looks like JSON "
            "Lines, so give --format jsonl if it holds trailseal findings.",
        )
    if "premature EOF" in detail or ("Incomplete JSON" in problem and "error" not in detail):
        return fail(
            path,
            place or "the end of the file",
            "the JSON ends before the document is complete; the file is probably "
            "truncated (a scanner killed mid-write, or a partial upload).",
        )
    return fail(path, place or None, f"malformed JSON ({detail}).")


def stream_results(
    path: Path, report: Report, build: Callable[[dict[str, Any], Sanitizer], Finding | None]
) -> Iterator[tuple[int, Finding]]:
    """Stream a report's top-level ``results`` array (Bandit, Semgrep) as findings."""
    return stream_objects(
        path, "results.item", lambda index: f"$.results[{index}]", "a result", report, build
    )


def stream_objects(
    path: Path,
    prefix: str,
    where: Callable[[int], str],
    what: str,
    report: Report,
    build: Callable[[dict[str, Any], Sanitizer], Finding | None],
) -> Iterator[tuple[int, Finding]]:
    """Stream the objects at ``prefix`` (an ijson prefix) as findings of run 0.

    ``build`` turns one object into a finding (or None to skip it); ``where``
    names an object's place for errors. The sanitizer's warnings join the
    report's once the stream is used up.
    """
    sanitizer = Sanitizer()
    with open_json(path) as stream:
        try:
            for index, item in enumerate(ijson.items(stream, prefix, use_float=False)):
                if not isinstance(item, dict):
                    raise fail(path, where(index), f"{what} must be a JSON object.")
                finding = build(item, sanitizer)
                if finding is not None:
                    yield 0, finding
        except ijson.JSONError as exc:
            raise json_error(path, exc) from None
    report.warnings.extend(sanitizer.warnings())


class Sanitizer:
    """Makes untrusted values safe to record, counting what it had to cut."""

    def __init__(self) -> None:
        self.cut: Counter[str] = Counter()

    def path(self, value: Any, repo_root: str | None) -> str | None:
        """A location path from an artifact: normalised (repository-relative,
        forward slashes) and capped; None when absent or not a string."""
        # identity imports this module, so its path rules are imported here.
        from ledger.ingest.identity import normalise_path

        if not isinstance(value, str) or not value:
            return None
        return self.text(normalise_path(value, repo_root=repo_root), Limits.PATH, "location.path")

    def text(self, value: Any, limit: int, field: str) -> str | None:
        """A string capped at ``limit`` characters; None for null or empty."""
        if value is None:
            return None
        if isinstance(value, str):
            text = value
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            text = str(value)
        else:
            return None
        if len(text) > limit:
            self.cut[field] += 1
            return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK
        return text or None

    def exact(self, value: Any, field: str = "properties", depth: int = 0) -> Any:
        """A JSON value with exact numbers: fractions and huge integers as text."""
        cls = type(value)
        if cls is str:
            if len(value) > Limits.PROPERTY:
                self.cut[field] += 1
                return value[: Limits.PROPERTY - len(TRUNCATION_MARK)] + TRUNCATION_MARK
            return value
        if cls is bool or value is None:
            return value
        if cls is int:
            return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
        if cls is Decimal or cls is float:
            return str(value)
        if depth >= Limits.DEPTH:
            self.cut[field] += 1
            return TRUNCATION_MARK
        if cls is dict:
            return {str(k): self.exact(v, field, depth + 1) for k, v in value.items()}
        if cls is list or cls is tuple:
            if len(value) > Limits.LIST:
                self.cut[field] += 1
                value = value[: Limits.LIST]
            return [self.exact(v, field, depth + 1) for v in value]
        return str(value)

    def warnings(self) -> list[str]:
        """One warning per field that was cut."""
        return [
            f"{count} value(s) of '{field}' exceeded trailseal's size caps and were "
            f"truncated (see ledger.ingest.base.Limits)"
            for field, count in sorted(self.cut.items())
        ]


def integer(value: Any) -> int | None:
    """A positive integer from a line or column field, or None."""
    if type(value) is int and 1 <= value <= MAX_SAFE_INTEGER:
        return value
    if isinstance(value, str) and value.isdigit():
        number = int(value)
        return number if 1 <= number <= MAX_SAFE_INTEGER else None
    return None


def severity_from_score(value: Any) -> Severity | None:
    """A CVSS-like score (0-10) as a severity: >=9 critical, >=7 high, >=4 medium."""
    try:
        score = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    if not score.is_finite() or score < 0 or score > 10:
        return None
    if score >= 9:
        return "critical"
    if score >= 7:
        return "high"
    if score >= 4:
        return "medium"
    if score > 0:
        return "low"
    return "info"


_CWE = re.compile(r"(?i)\bcwe[-_/ :]*(\d{1,6})\b")


def cwe_ids(values: Iterable[Any]) -> list[str]:
    """CWE identifiers named in tags, metadata or numbers, as 'CWE-79', in order."""
    found: list[str] = []
    for value in values:
        if type(value) is int:
            ids = [str(value)] if value > 0 else []
        elif isinstance(value, str):
            ids = _CWE.findall(value[:256])
            if not ids and value.isdigit() and value != "0":
                ids = [value]
        else:
            continue
        for number in ids:
            cwe = f"CWE-{int(number)}"
            if cwe not in found:
                found.append(cwe)
    return found


PLACEHOLDER_FINGERPRINTS = frozenset(
    {"", "requires login", "none", "null", "n/a", "na", "0", "todo", "unknown", "-"}
)
"""Values tools write where a fingerprint would be (Semgrep logged out writes
'requires login')."""


def is_placeholder(fingerprint: str) -> bool:
    """Whether a fingerprint is a known stand-in rather than a real value."""
    return fingerprint.strip().lower() in PLACEHOLDER_FINGERPRINTS


def untrusted(values: Iterable[str]) -> set[str]:
    """Fingerprints repeated among ``values``, and placeholders."""
    seen: set[str] = set()
    bad: set[str] = set()
    for value in values:
        if value in seen or is_placeholder(value):
            bad.add(value)
        seen.add(value)
    return bad


SECRET_TOOLS = (
    "gitleaks",
    "trufflehog",
    "detect-secrets",
    "ggshield",
    "gitguardian",
    "secretlint",
    "talisman",
    "noseyparker",
    "nosey parker",
    "whispers",
    "kingfisher",
)
"""Tools whose every result is a leaked secret (matched in the lower-cased tool name)."""

SECRET_CWES = frozenset({"CWE-259", "CWE-260", "CWE-321", "CWE-798"})
"""Hard-coded password, password in configuration, hard-coded key, hard-coded credentials."""


def is_secret_tool(tool: str) -> bool:
    """Whether ``tool`` is a secret scanner, so all its results hold secrets."""
    lowered = tool.lower()
    return any(name in lowered for name in SECRET_TOOLS)


def is_secret_rule(tags: Iterable[Any], cwes: Iterable[str]) -> bool:
    """Whether a rule reports secrets: a tag naming secrets, credentials or
    passwords, or one of :data:`SECRET_CWES`. Over-matching only costs
    readability (the snippet is replaced by its digest); under-matching
    would record a secret, so the test is broad."""
    for tag in tags:
        if isinstance(tag, str):
            lowered = tag.lower()
            if "secret" in lowered or "credential" in lowered or "password" in lowered:
                return True
    return any(cwe in SECRET_CWES for cwe in cwes)


def make_location(
    path: str | None,
    *,
    start_line: Any = None,
    end_line: Any = None,
    start_column: Any = None,
    snippet: str | None = None,
    logical: str | None = None,
) -> Location | None:
    """A Location from values already capped; numbers checked here."""
    if not path:
        if not logical:
            return None
        path = logical
    start = integer(start_line)
    end = integer(end_line)
    if start is not None and end is not None and end < start:
        end = None
    return _construct(
        Location,
        {
            "path": path,
            "start_line": start,
            "end_line": end,
            "start_column": integer(start_column),
            "snippet": snippet,
            "logical": logical,
        },
    )


def make_finding(
    *,
    tool: str,
    rule_id: str,
    severity: Severity,
    title: str,
    message: str | None = None,
    location: Location | None = None,
    fingerprint: str | None = None,
    cwe: list[str] | None = None,
    category: Category = "code",
    help_uri: str | None = None,
    suppressions: list[Suppression] | None = None,
    properties: dict[str, Any] | None = None,
) -> Finding:
    """Build a Finding without re-validating it.

    Callers pass strings already capped by :class:`Sanitizer`, a severity
    and category from the schema's literals, and properties made exact by
    :meth:`Sanitizer.exact`; the test suite checks every reader's output
    against full validation.
    """
    return _construct(
        Finding,
        {
            "tool": tool or "unknown",
            "rule_id": rule_id or "unidentified",
            "severity": severity,
            "title": title,
            "message": message,
            "location": location,
            "fingerprint": fingerprint,
            "cwe": cwe or [],
            "category": category,
            "help_uri": help_uri,
            "suppressions": suppressions or [],
            "properties": properties or {},
        },
    )


_T = TypeVar("_T", bound=BaseModel)


def _construct(cls: type[_T], values: dict[str, Any]) -> _T:
    """What ``model_construct`` does for a model whose every field is given,
    without its per-field default handling (a third of a result's cost)."""
    instance = cls.__new__(cls)
    _set = object.__setattr__
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(values))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
