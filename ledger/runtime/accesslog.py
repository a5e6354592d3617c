"""Access log readers: JSON Lines and Combined Log Format, plain or gzip.

Both readers stream: one line in memory at a time, whatever the file size.
A line that cannot be read (not JSON, no time, a request line that is not
HTTP) is skipped and counted, because one torn line must not discard a
day of traffic; a file in which none of the first :data:`PROBE_LINES`
non-blank lines is a request, or which holds no request at all, is not an
access log and is refused with :class:`~ledger.errors.InputError`.

Subjects come from the log's user field (``sub`` in JSON Lines, ``%u`` in
Combined Log Format) or, failing that, from the payload of a bearer token
written into the line. The token's signature is never checked: the payload
only attributes a request, it proves nothing, and findings say which source
named the subject. Tokens are credentials, so no message quotes a line.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import gzip
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from ledger.errors import InputError

LogFormat = Literal["jsonl", "combined"]

PROBE_LINES = 64
"""Non-blank lines read before a file with no readable request is refused."""

MAX_LINE = 1 << 20
"""Longest line read (1 MiB); longer lines are skipped without being held."""

CANONICAL_FIELDS = ("time", "method", "path", "status", "sub", "ip", "token")
"""Fields a JSON Lines record is read for; ``--field`` maps other names to them."""

_GZIP_MAGIC = b"\x1f\x8b"
# The lookbehind makes a match start only where a run of base64url starts:
# without it a long run of 'eyJ' restarts the scan at every third byte,
# which costs minutes on one hostile 1 MiB line.
_JWT = re.compile(rb"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.(eyJ[A-Za-z0-9_-]+)\.")
MAX_TOKEN_PAYLOAD = 16_384
"""Longest token payload decoded for a subject; longer ones attribute nothing."""
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# %h %l %u %t "%r" %>s %b, then whatever the server appends (referer, agent, ...).
_COMBINED = re.compile(
    rb'(\S+) \S+ (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) \S+(.*)', re.DOTALL
)


@dataclass(slots=True)
class Request:
    """One logged HTTP request, reduced to what the enumeration rules read."""

    time: float
    """Seconds since the Unix epoch, UTC."""
    method: str
    path: str
    status: int
    subject: str | None
    """Who made the request: the authenticated subject, or None if anonymous."""
    subject_source: str
    """Where ``subject`` came from: 'field', 'token' (unverified payload) or 'none'."""
    ip: str | None


@dataclass
class ReadStats:
    """What reading one file produced; skipped lines are reported, not fatal."""

    path: Path
    format: LogFormat
    lines: int = 0
    requests: int = 0
    skipped: int = 0
    first_skipped: tuple[int, str] | None = None
    """Line number and reason of the first skipped line."""
    warnings: list[str] = field(default_factory=list)

    def skip(self, lineno: int, reason: str) -> None:
        """Count an unreadable line, keeping the first one for the report."""
        self.skipped += 1
        if self.first_skipped is None:
            self.first_skipped = (lineno, reason)


def open_log(path: Path) -> IO[bytes]:
    """Open ``path`` for reading, decompressing it if its first bytes are gzip's."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an access log file")
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened: {exc.strerror or exc}") from exc
    # The name may lie (rotated 'access.log.1' files are often compressed),
    # so the magic number decides.
    if raw.read(2) == _GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def _lines(path: Path, stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, line); None stands for a line over :data:`MAX_LINE`."""
    lineno = 0
    try:
        while True:
            line = stream.readline(MAX_LINE)
            if not line:
                return
            lineno += 1
            if len(line) == MAX_LINE and not line.endswith(b"\n"):
                # Drain the rest so an endless line costs no memory.
                while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                    pass
                yield lineno, None
                continue
            yield lineno, line
    except EOFError as exc:
        raise InputError(
            f"{path}: the gzip stream ends early after line {lineno}; the file is "
            "truncated. Re-copy or decompress it and try again."
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{path}: corrupt gzip data after line {lineno} ({exc}); the file cannot be read."
        ) from exc


def read_requests(
    path: Path,
    fmt: LogFormat | None,
    fields: Mapping[str, str] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Request]:
    """Stream the requests of one access log.

    ``fmt`` None detects the format from the first non-blank line. ``fields``
    maps canonical names (:data:`CANONICAL_FIELDS`) to the names this log
    uses, for JSON Lines. Fills ``stats`` as it goes.
    """
    fieldmap = {name: name for name in CANONICAL_FIELDS}
    fieldmap.update(fields or {})
    with open_log(path) as stream:
        lines = _lines(path, stream)
        probe: list[tuple[int, bytes | None]] = []
        for item in lines:
            probe.append(item)
            if item[1] is None or item[1].strip():
                break
        if not any(line is not None and line.strip() for _, line in probe):
            raise InputError(f"{path}: the file is empty; there are no requests to analyse")
        first = probe[-1][1]
        detected: LogFormat = (
            "jsonl" if first is not None and first.lstrip()[:1] == b"{" else ("combined")
        )
        fmt = fmt or detected
        st = stats if stats is not None else ReadStats(path, fmt)
        st.format = fmt
        parse = _jsonl_parser(fieldmap) if fmt == "jsonl" else _parse_combined
        nonblank = 0
        for lineno, line in _chain(probe, lines):
            st.lines = lineno
            if line is None:
                st.skip(lineno, f"longer than {MAX_LINE} bytes")
            elif line.strip():
                nonblank += 1
                try:
                    request = parse(line)
                except _Malformed as exc:
                    st.skip(lineno, str(exc))
                else:
                    st.requests += 1
                    yield request
            if nonblank == PROBE_LINES and st.requests == 0:
                break
        if st.requests == 0:
            where = f"line {st.first_skipped[0]}: {st.first_skipped[1]}" if st.first_skipped else ""
            raise InputError(
                f"{path}: not a {fmt} access log ({where}). Check the file and the "
                "--format and --field options."
            )


def _chain(
    head: list[tuple[int, bytes | None]], rest: Iterator[tuple[int, bytes | None]]
) -> Iterator[tuple[int, bytes | None]]:
    yield from head
    yield from rest


class _Malformed(ValueError):
    """One line is not a request; the reason says why without quoting it."""


def _jsonl_parser(fieldmap: Mapping[str, str]) -> Any:
    f_time, f_method, f_path = fieldmap["time"], fieldmap["method"], fieldmap["path"]
    f_status, f_sub, f_ip, f_token = (fieldmap[n] for n in ("status", "sub", "ip", "token"))
    # Plain names are read with dict.get: this runs once per line of a huge log.
    dotted = any("." in name for name in fieldmap.values())
    get: Any = _get if dotted else dict.get

    def parse(line: bytes) -> Request:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _Malformed("not a JSON object") from exc
        if type(record) is not dict:
            raise _Malformed("not a JSON object")
        path = get(record, f_path)
        if not isinstance(path, str) or not path:
            raise _Malformed(f"no '{f_path}' string")
        status = get(record, f_status)
        try:
            code = int(status)
        except (TypeError, ValueError):
            raise _Malformed(f"'{f_status}' is not an HTTP status") from None
        subject = get(record, f_sub)
        source = "field"
        if subject in (None, "", "-"):
            subject, source = None, "none"
            token = get(record, f_token)
            if isinstance(token, str) and (found := _JWT.search(token.encode())):
                subject = token_subject(found.group(1))
                source = "token" if subject else "none"
        method = get(record, f_method)
        ip = get(record, f_ip)
        return Request(
            time=parse_time(get(record, f_time), f_time),
            method=method if isinstance(method, str) else "GET",
            path=path,
            status=code,
            subject=str(subject) if subject is not None else None,
            subject_source=source,
            ip=str(ip) if ip not in (None, "", "-") else None,
        )

    return parse


def _get(record: dict[str, Any], name: str) -> Any:
    """Read a field; a dotted name reaches into nested objects (``auth.sub``)."""
    if name in record or "." not in name:
        return record.get(name)
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_time(value: Any, name: str = "time") -> float:
    """Epoch seconds from an RFC 3339 string or an epoch number (s, ms or µs)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            try:
                stamp = datetime.fromisoformat(value)
            except ValueError:
                raise _Malformed(f"'{name}' is neither RFC 3339 nor an epoch") from None
            if stamp.tzinfo is None:
                raise _Malformed(f"'{name}' has no UTC offset") from None
            return stamp.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"no '{name}'")
    # Magnitude tells the unit: seconds until the year 5138.
    if value > 1e14:
        return value / 1e6
    if value > 1e11:
        return value / 1e3
    return float(value)


def _parse_combined(line: bytes) -> Request:
    match = _COMBINED.match(line)
    if match is None:
        raise _Malformed("not in Combined Log Format")
    host, user, stamp, request, status, rest = match.groups()
    parts = request.split(b" ")
    if len(parts) != 3 or not parts[1]:
        raise _Malformed("the request line is not 'METHOD PATH PROTOCOL'")
    subject: str | None = None
    source = "none"
    if user != b"-":
        subject, source = user.decode("utf-8", "replace"), "field"
    elif found := _JWT.search(rest):
        subject = token_subject(found.group(1))
        source = "token" if subject else "none"
    return Request(
        time=_clf_time(stamp),
        method=parts[0].decode("ascii", "replace"),
        path=parts[1].decode("utf-8", "replace"),
        status=int(status),
        subject=subject,
        subject_source=source,
        ip=host.decode("ascii", "replace") if host != b"-" else None,
    )


def _clf_time(stamp: bytes) -> float:
    """Parse ``10/Oct/2000:13:55:36 -0700`` without strptime, which is slow."""
    try:
        text = stamp.decode("ascii")
        day, mon, rest = text.split("/", 2)
        year, hh, mm, ss_zone = rest.split(":", 3)
        ss, zone = ss_zone.split(" ")
        offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (-1 if zone[0] == "-" else 1)
        secs = calendar.timegm((int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        raise _Malformed("the [time] field is not dd/Mon/yyyy:hh:mm:ss +zzzz") from None
    return float(secs - offset)


def token_subject(payload: bytes) -> str | None:
    """The ``sub`` claim of a JWT payload segment, unverified; None if unreadable.

    Only attributes the request to someone: the signature is not checked and
    the value is reported as coming from a token. Payloads over
    :data:`MAX_TOKEN_PAYLOAD` bytes are not read, nor kept in the cache.
    """
    if len(payload) > MAX_TOKEN_PAYLOAD:
        return None
    return _token_subject(payload)


@lru_cache(maxsize=4096)
def _token_subject(payload: bytes) -> str | None:
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and sub else None
