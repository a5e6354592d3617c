"""Access log readers: the formats servers and load balancers write, plain or gzip.

Formats (``--format``, detected from the first non-blank line when unset):

- ``combined``: NCSA Common and Combined Log Format as Apache and nginx
  write it, with whatever a custom format appends (``$request_time``,
  upstream fields, ingress-nginx's, Traefik's), Apache ``vhost_combined``'s
  leading ``host:port``, and a logged X-Forwarded-For chain;
- ``jsonl``: one JSON object per line; field names come from ``--field`` or
  are found among those nginx/Apache JSON formats, Traefik, Caddy and
  Google Cloud load balancer / Cloud Run entries (``httpRequest``) use;
- ``w3c``: W3C extended format with its ``#Fields:`` directive (IIS,
  CloudFront standard logs);
- ``alb`` and ``elb``: AWS Application and Classic Load Balancer logs;
- ``envoy``: Envoy's default format and Istio's extension of it.

Every reader streams: one line in memory at a time, whatever the file size.
A line that cannot be read (not JSON, no time, a request line that is not
HTTP) is skipped and counted, because one torn line must not discard a
day of traffic; a file in which none of the first :data:`PROBE_LINES`
non-blank lines is a request, or which holds no request at all, is not an
access log and is refused with :class:`~ledger.errors.InputError`.

Subjects come from the log's user field (``sub`` in JSON Lines, ``%u`` in
Combined Log Format, ``cs-username`` in W3C) or, failing that, from the
payload of a bearer token written into the line. The token's signature is
never checked: the payload only attributes a request, it proves nothing,
and findings say which source named the subject. Tokens are credentials,
so no message quotes a line. Every string taken from a line passes through
:func:`printable`: logs hold what strangers sent.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import gzip
import hashlib
import ipaddress
import math
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal, get_args

import orjson

from ledger.errors import InputError
from ledger.text import printable

LogFormat = Literal["jsonl", "combined", "w3c", "alb", "elb", "envoy"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)

PROBE_LINES = 64
"""Non-blank lines read before a file with no readable request is refused."""

MAX_LINE = 1 << 20
"""Longest line read (1 MiB); longer lines are skipped without being held."""

MAX_SUBJECT = 256
"""Longest subject kept as is; a longer one is cut and given a digest suffix."""

CANONICAL_FIELDS = ("time", "method", "path", "status", "sub", "ip", "token")
"""Fields a JSON Lines record is read for; ``--field`` maps other names to them."""

JSON_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "time": (
        "time", "timestamp", "ts", "@timestamp", "time_iso8601", "time_local", "StartUTC",
        "start_time", "datetime", "date",
    ),
    "method": (
        "method", "request_method", "RequestMethod", "request.method",
        "httpRequest.requestMethod", "verb", "http_method",
    ),
    "path": (
        "path", "request_uri", "RequestPath", "request.uri", "httpRequest.requestUrl", "request",
        "uri", "url", "request_path", "requestUri",
    ),
    "status": (
        "status", "status_code", "DownstreamStatus", "httpRequest.status", "response",
        "response_code", "statusCode", "code",
    ),
    "sub": ("sub", "user_id", "user", "userId", "remote_user", "username", "ClientUsername"),
    "ip": (
        "ip", "client_ip", "remote_addr", "remote_ip", "ClientHost", "request.client_ip",
        "request.remote_ip", "httpRequest.remoteIp", "clientip", "client",
    ),
    "token": (
        "token", "authorization", "http_authorization", "request_Authorization",
        "request.headers.Authorization",
    ),
    "xff": (
        "x_forwarded_for", "http_x_forwarded_for", "xff", "request_X-Forwarded-For",
    ),
}  # fmt: skip
"""Where a JSON Lines record is looked at for each field, first match wins."""

_GZIP_MAGIC = b"\x1f\x8b"
_LAST_TIME = 253_402_300_800.0  # 10000-01-01T00:00:00Z
_BOM = b"\xef\xbb\xbf"
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
# [%v:%p ]%h %l %u %t "%r" %>s %b, then whatever the server appends (referer,
# agent, X-Forwarded-For, timings...). The optional first field is Apache
# vhost_combined's host:port; '[' fixes where the others are.
_COMBINED = re.compile(
    rb'(?:\S+ )?(\S+) \S+ (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) \S+(.*)', re.DOTALL
)
_ENVOY = re.compile(rb'\[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{1,3}|-)(.*)', re.DOTALL)
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_FIELD = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')
_ADDRESS_LIST = re.compile(rb"[0-9A-Fa-f:.\[\], ]+")
_ISO_START = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
_ALB_TYPES = frozenset((b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"))
_REQUEST_LINE = re.compile(r"[A-Z]+ \S")
_NGINX_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")


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


def detect_format(line: bytes) -> LogFormat:
    """The format a log's first non-blank line is written in."""
    text = line.lstrip(b" \t")
    head = text[:1]
    if head == b"{":
        return "jsonl"
    if head == b"#":
        return "w3c"
    if head == b"[" and text[1:2].isdigit():
        return "envoy"
    first, _, rest = text.partition(b" ")
    if first in _ALB_TYPES and _ISO_START.match(rest):
        return "alb"
    if _ISO_START.match(first):
        return "elb"
    return "combined"


def read_requests(
    path: Path,
    fmt: LogFormat | None,
    fields: Mapping[str, str] | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Request]:
    """Stream the requests of one access log.

    ``fmt`` None detects the format from the first non-blank line. ``fields``
    maps canonical names (:data:`CANONICAL_FIELDS`) to the names this log
    uses, for JSON Lines; unmapped names are looked for under the names
    common servers use (:data:`JSON_FIELD_NAMES`). Fills ``stats`` as it goes.
    """
    with open_log(path) as stream:
        lines = _without_bom(_lines(path, stream))
        probe: list[tuple[int, bytes | None]] = []
        for item in lines:
            probe.append(item)
            if item[1] is None or item[1].strip():
                break
        if not any(line is not None and line.strip() for _, line in probe):
            raise InputError(f"{path}: the file is empty; there are no requests to analyse")
        first = probe[-1][1]
        head = first.lstrip() if first is not None else b""
        if head[:1] == b"[" and (fmt == "jsonl" or (fmt is None and not head[1:2].isdigit())):
            raise InputError(
                f"{path}: line {probe[-1][0]}: a JSON array, not JSON Lines. Write one "
                "request object per line, e.g. jq -c '.[]' FILE > FILE.jsonl"
            )
        fmt = fmt or (detect_format(first) if first is not None else "combined")
        st = stats if stats is not None else ReadStats(path, fmt)
        st.format = fmt
        parse = _parser(fmt, fields or {})
        nonblank = 0
        for lineno, raw in _chain(probe, lines):
            st.lines = lineno
            if raw is None:
                st.skip(lineno, f"longer than {MAX_LINE} bytes")
                continue
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            nonblank += 1
            try:
                request = parse(line)
            except _Malformed as exc:
                st.skip(lineno, str(exc))
            else:
                if request is None:
                    pass
                elif not 0 <= request.time < _LAST_TIME:
                    st.skip(lineno, "the time is outside years 1970 to 9999")
                else:
                    st.requests += 1
                    yield request
            if nonblank == PROBE_LINES and st.requests == 0:
                break
        if st.requests == 0:
            where = (
                f"line {st.first_skipped[0]}: {st.first_skipped[1]}"
                if st.first_skipped
                else "no request line"
            )
            raise InputError(
                f"{path}: not a {fmt} access log ({where}). Check the file and the "
                "--format and --field options."
            )


def _without_bom(
    lines: Iterator[tuple[int, bytes | None]],
) -> Iterator[tuple[int, bytes | None]]:
    """The lines, the first without a UTF-8 byte order mark (Windows tools write one)."""
    for lineno, line in lines:
        if lineno == 1 and line is not None and line.startswith(_BOM):
            line = line[len(_BOM) :]  # noqa: PLW2901
        yield lineno, line


def _chain(
    head: list[tuple[int, bytes | None]], rest: Iterator[tuple[int, bytes | None]]
) -> Iterator[tuple[int, bytes | None]]:
    yield from head
    yield from rest


class _Malformed(ValueError):
    """One line is not a request; the reason says why without quoting it."""


Parser = Callable[[bytes], "Request | None"]


def _parser(fmt: LogFormat, fields: Mapping[str, str]) -> Parser:
    if fmt == "jsonl":
        return _JsonLines(fields)
    if fmt == "w3c":
        return _W3C()
    return {
        "combined": _parse_combined,
        "alb": _parse_alb,
        "elb": _parse_elb,
        "envoy": _parse_envoy,
    }[fmt]


# --- text shared by every format --------------------------------------------


def _subject(value: str) -> str:
    """A subject as findings carry it: printable and at most :data:`MAX_SUBJECT` long."""
    value = printable(value)
    if len(value) <= MAX_SUBJECT:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[: MAX_SUBJECT - 20]}...{digest}"


def client_address(value: str | None) -> str | None:
    """An address without its port: '203.0.113.5:4711', '[2001:db8::1]:443' and
    '2001:db8::1' give the bare address; '-' and '' give None."""
    if not value or value == "-":
        return None
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        return printable(value[1:end]) if end > 0 else None
    colons = value.count(":")
    if colons == 1:
        value = value.partition(":")[0]
    elif colons > 1 and _parse_ip(value) is None:
        head, _, port = value.rpartition(":")
        if port.isdigit() and _parse_ip(head) is not None:
            value = head
    return printable(value) if value else None


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def forwarded_client(remote: str | None, chain: str | None) -> str | None:
    """The client behind proxies, from the peer address and an X-Forwarded-For chain.

    Each proxy appends the address it saw, so the chain is read from the
    right: loopback, link-local and private-network hops (RFC 1918, RFC
    4193) are taken for the site's own proxies and passed over; the first
    other address is the client. Entries left of it are whatever the client
    sent, so a forged chain changes nothing. When every hop is private the
    first one is the client: an internal caller behind internal proxies. Only the
    last :data:`MAX_HOPS` entries are read, so a chain of thousands costs no more.
    """
    if not chain or chain == "-":
        return remote
    # Only the nearest hops are read: entries further left are the client's to write.
    parts = chain.rsplit(",", MAX_HOPS)[-MAX_HOPS:]
    hops = [h for h in (client_address(p) for p in parts) if h]
    if remote is not None:
        hops.append(remote)
    for hop in reversed(hops):
        ip = _parse_ip(hop)
        if ip is not None and not _is_proxy(ip):
            return hop
    return hops[0] if hops else remote


MAX_HOPS = 64
"""X-Forwarded-For entries read from the right; a longer chain is cut on its left."""

_PROXY_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def _is_proxy(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if ip.is_loopback or ip.is_link_local:
        return True
    return any(ip.version == n.version and ip in n for n in _PROXY_NETWORKS)


def _xff_field(fields: list[bytes]) -> str | None:
    """The first quoted field that is a list of addresses: X-Forwarded-For."""
    for value in fields:
        if value and _ADDRESS_LIST.fullmatch(value) and value != b"-":
            text = value.decode("ascii")
            nearest = text.rsplit(",", MAX_HOPS)[-MAX_HOPS:]
            if all(_parse_ip(client_address(p) or "") is not None for p in nearest):
                return text
    return None


def _request_line(request: bytes) -> tuple[str, str]:
    """Method and target of ``GET /x HTTP/1.1``; spaces inside the target are kept."""
    parts = request.split(b" ")
    if len(parts) >= 3 and parts[-1].startswith(b"HTTP/"):
        method, target = parts[0], b" ".join(parts[1:-1])
    elif len(parts) == 2:
        method, target = parts
    else:
        raise _Malformed("the request line is not 'METHOD PATH PROTOCOL'")
    if not target or not method.isalpha():
        raise _Malformed("the request line is not 'METHOD PATH PROTOCOL'")
    return method.decode("ascii"), printable(target.decode("utf-8", "replace"))


def _tokens(rest: bytes) -> list[bytes]:
    """The space-separated fields of a line, a quoted field as one (quotes dropped)."""
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _FIELD.finditer(rest)]


def _token_in(text: bytes) -> tuple[str | None, str]:
    found = _JWT.search(text)
    if found is None:
        return None, "none"
    subject = token_subject(found.group(1))
    return (_subject(subject), "token") if subject else (None, "none")


def _iso_time(text: str) -> float:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed("the time is not ISO 8601") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _status(value: bytes) -> int:
    if not value.isdigit() or len(value) != 3:
        raise _Malformed("no HTTP status")
    return int(value)


# --- Combined Log Format and its relatives -----------------------------------


def _parse_combined(line: bytes) -> Request:
    match = _COMBINED.match(line)
    if match is None:
        raise _Malformed("not in Combined Log Format")
    host, user, stamp, request, status, rest = match.groups()
    method, target = _request_line(request)
    subject: str | None = None
    source = "none"
    if user != b"-":
        subject, source = _subject(user.decode("utf-8", "replace")), "field"
    else:
        subject, source = _token_in(rest)
    remote = client_address(host.decode("utf-8", "replace"))
    if b'"' in rest:
        remote = forwarded_client(remote, _xff_field(_QUOTED.findall(rest)))
    return Request(
        time=_clf_time(stamp),
        method=method,
        path=target,
        status=int(status),
        subject=subject,
        subject_source=source,
        ip=remote,
    )


def _clf_time(stamp: bytes) -> float:
    """Parse ``10/Oct/2000:13:55:36 -0700`` without strptime, which is slow.

    An ISO 8601 stamp (nginx ``$time_iso8601``) is read too.
    """
    try:
        text = stamp.decode("ascii")
        day, mon, rest = text.split("/", 2)
        year, hh, mm, ss_zone = rest.split(":", 3)
        ss, zone = ss_zone.split(" ")
        offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (-1 if zone[0] == "-" else 1)
        secs = calendar.timegm((int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss)))
    except (ValueError, KeyError, IndexError, OverflowError, UnicodeDecodeError):
        # OverflowError: a year beyond the C integer ``datetime`` takes.
        if _ISO_START.match(stamp):
            return _iso_time(stamp.decode("ascii", "replace"))
        raise _Malformed("the [time] field is not dd/Mon/yyyy:hh:mm:ss +zzzz") from None
    return float(secs - offset)


# --- AWS load balancers --------------------------------------------------------


def _parse_alb(line: bytes) -> Request:
    """AWS Application Load Balancer: ``type time elb client:port target:port
    3 timings elb_status target_status 2 sizes "request" "user_agent" ...``."""
    fields = _tokens(line)
    if len(fields) < 13:
        raise _Malformed("not an ALB access log entry (too few fields)")
    return _load_balancer(fields[1], fields[3], fields[8], fields[12])


def _parse_elb(line: bytes) -> Request:
    """AWS Classic Load Balancer: the ALB fields without the leading type."""
    fields = _tokens(line)
    if len(fields) < 12:
        raise _Malformed("not a Classic ELB access log entry (too few fields)")
    return _load_balancer(fields[0], fields[2], fields[7], fields[11])


def _load_balancer(stamp: bytes, client: bytes, status: bytes, request: bytes) -> Request:
    if request.startswith(b"- "):
        raise _Malformed("a TCP or unparsed request, not HTTP")
    method, target = _request_line(request)
    return Request(
        time=_iso_time(stamp.decode("ascii", "replace")),
        method=method,
        path=target,
        status=_status(status),
        subject=None,
        subject_source="none",
        ip=client_address(client.decode("ascii", "replace")),
    )


# --- Envoy and Istio ---------------------------------------------------------


def _parse_envoy(line: bytes) -> Request:
    """Envoy's default format, and Istio's, which adds fields after the same start:
    ``[START_TIME] "METHOD PATH PROTOCOL" CODE FLAGS ... "X-FORWARDED-FOR" ...``."""
    match = _ENVOY.match(line)
    if match is None:
        raise _Malformed("not in Envoy's access log format")
    stamp, request, status, rest = match.groups()
    method, target = _request_line(request)
    # X-Forwarded-For is the first quoted field (Envoy) or the second (Istio);
    # later ones hold the upstream host, an address too.
    chain = _xff_field(_QUOTED.findall(rest)[:2])
    remote: str | None = None
    # Istio: UPSTREAM_CLUSTER UPSTREAM_LOCAL DOWNSTREAM_LOCAL DOWNSTREAM_REMOTE ...
    tail = rest.rpartition(b'"')[2].split()
    if len(tail) >= 5:
        remote = client_address(tail[3].decode("ascii", "replace"))
    return Request(
        time=_iso_time(stamp.decode("ascii", "replace")),
        method=method,
        path=target,
        status=int(status) if status.isdigit() else 0,
        subject=None,
        subject_source="none",
        ip=forwarded_client(remote, chain),
    )


# --- W3C extended: IIS, CloudFront --------------------------------------------


class _W3C:
    """W3C extended log format: ``#Fields:`` names the columns of the lines after it.

    IIS separates columns with spaces (and writes a new header block on each
    restart), CloudFront with tabs. Times are UTC.
    """

    def __init__(self) -> None:
        self.columns: dict[str, int] | None = None
        self.width = 0
        """How many fields ``#Fields`` names, a repeated name counted each time."""

    def __call__(self, line: bytes) -> Request | None:
        if line.startswith(b"#"):
            if line.startswith(b"#Fields:"):
                names = line[len(b"#Fields:") :].split()
                self.columns = {
                    n.decode("ascii", "replace").lower(): i for i, n in enumerate(names)
                }
                self.width = len(names)
                if not {"cs-uri-stem", "sc-status"} <= self.columns.keys():
                    self.columns = None
                    raise _Malformed("the #Fields directive names no cs-uri-stem or sc-status")
            return None
        columns = self.columns
        if columns is None:
            raise _Malformed("a W3C log line before any #Fields directive")
        values = line.split(b"\t") if b"\t" in line else line.split(b" ")
        if len(values) < self.width:
            raise _Malformed(f"{len(values)} fields where #Fields names {self.width}")

        def get(name: str) -> str | None:
            index = columns.get(name)
            if index is None:
                return None
            value = values[index].decode("utf-8", "replace")
            return None if value in ("-", "") else value

        date, clock = get("date"), get("time")
        if date is None or clock is None:
            raise _Malformed("no date and time")
        target = get("cs-uri-stem") or "/"
        query = get("cs-uri-query")
        if query:
            target = f"{target}?{query}"
        user = get("cs-username")
        remote = client_address(get("c-ip"))
        chain = get("x-forwarded-for") or get("cs(x-forwarded-for)")
        return Request(
            time=_iso_time(f"{date}T{clock}+00:00"),
            method=printable(get("cs-method") or "GET"),
            path=printable(target),
            status=_status((get("sc-status") or "").encode()),
            subject=_subject(user) if user else None,
            subject_source="field" if user else "none",
            ip=forwarded_client(remote, chain),
        )


# --- JSON Lines ------------------------------------------------------------------


class _JsonLines:
    """One JSON object per line; field names from ``--field`` or the usual ones.

    The names are settled on the first object that has a path and a status,
    then read the same way on every line: this runs once per line of a
    huge log.
    """

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.given = dict(fields)
        self.names: dict[str, str | None] | None = None

    def __call__(self, line: bytes) -> Request:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = _nginx_escaped(line)
        if type(record) is not dict:
            raise _Malformed("not a JSON object")
        names = self.names or self._settle(record)
        target = _get(record, names["path"]) if names["path"] else None
        method: Any = None
        if isinstance(target, str) and _REQUEST_LINE.match(target):
            method, target = _request_line(target.encode("utf-8", "replace"))
        if not isinstance(target, str) or not target:
            raise _Malformed(f"no '{names['path'] or 'path'}' string")
        status = _get(record, names["status"]) if names["status"] else None
        # An integer or a string of three ASCII digits, as the text formats
        # require: not true, 2.5, 1e308 or digits of another script.
        if type(status) is str and status.isascii() and status.isdigit() and len(status) == 3:
            code = int(status)
        elif type(status) is int and 100 <= status <= 999:
            code = status
        else:
            raise _Malformed(f"'{names['status'] or 'status'}' is not an HTTP status")
        subject = _get(record, names["sub"]) if names["sub"] else None
        source = "field"
        if subject in (None, "", "-") or isinstance(subject, dict | list):
            subject, source = None, "none"
            token = _get(record, names["token"]) if names["token"] else None
            if isinstance(token, list) and token:
                token = token[0]
            if isinstance(token, str):
                subject, source = _token_in(token.encode("utf-8", "replace"))
        if method is None and names["method"]:
            method = _get(record, names["method"])
        ip = _get(record, names["ip"]) if names["ip"] else None
        remote = client_address(str(ip)) if ip not in (None, "", "-") else None
        if names["xff"]:
            chain = _get(record, names["xff"])
            if isinstance(chain, list):
                chain = ",".join(str(c) for c in chain)
            remote = forwarded_client(remote, chain if isinstance(chain, str) else None)
        time_name = names["time"] or "time"
        return Request(
            time=parse_time(_get(record, time_name), time_name),
            method=printable(method) if isinstance(method, str) else "GET",
            path=printable(target),
            status=code,
            subject=_subject(str(subject)) if subject is not None else None,
            subject_source=source,
            ip=remote,
        )

    def _settle(self, record: dict[str, Any]) -> dict[str, str | None]:
        names: dict[str, str | None] = {}
        for canonical in (*CANONICAL_FIELDS, "xff"):
            if canonical in self.given:
                names[canonical] = self.given[canonical]
                continue
            names[canonical] = next(
                (n for n in JSON_FIELD_NAMES[canonical] if _fits(canonical, _get(record, n))),
                None,
            )
        missing = [n for n in ("path", "status") if names[n] is None]
        if missing:
            raise _Malformed(
                f"no {' or '.join(missing)} field under any usual name; "
                f"name it with --field {missing[0]}=NAME"
            )
        self.names = names
        return names


def _fits(canonical: str, value: Any) -> bool:
    """Whether ``value`` can be the ``canonical`` field: a request target looks like one."""
    if value is None:
        return False
    if canonical == "path":
        return isinstance(value, str) and (
            value.startswith("/") or bool(_REQUEST_LINE.match(value)) or value.startswith("http")
        )
    if canonical == "status":
        return isinstance(value, int | str) and str(value).isdigit()
    return not isinstance(value, dict)


def _nginx_escaped(line: bytes) -> Any:
    r"""nginx's default escaping writes ``\xNN``, which JSON does not allow: read the
    bytes it stands for (UTF-8, else one code point each) so the line is kept.
    Anything else that is not JSON is refused."""
    if b"\\x" in line:
        for unescape in (_nginx_bytes, _nginx_code_points):
            try:
                return orjson.loads(_NGINX_ESCAPE.sub(unescape, line))
            except orjson.JSONDecodeError:
                continue
    raise _Malformed("not a JSON object")


def _nginx_bytes(match: re.Match[bytes]) -> bytes:
    code = int(match.group(1), 16)
    return bytes((code,)) if code >= 0x80 else b"\\u00" + match.group(1)


def _nginx_code_points(match: re.Match[bytes]) -> bytes:
    return b"\\u00" + match.group(1)


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
    """Epoch seconds from an RFC 3339 string, a CLF stamp or an epoch number (s, ms or µs)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            if "/" in value:
                return _clf_time(value.encode("ascii", "replace"))
            try:
                stamp = datetime.fromisoformat(value)
            except ValueError:
                raise _Malformed(f"'{name}' is neither RFC 3339 nor an epoch") from None
            if stamp.tzinfo is None:
                raise _Malformed(f"'{name}' has no UTC offset") from None
            return stamp.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(f"no '{name}'")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise _Malformed(f"'{name}' is out of range") from None
    if not math.isfinite(number):
        raise _Malformed(f"no '{name}'")
    # Magnitude tells the unit: seconds until the year 5138.
    if number > 1e17:
        return number / 1e9
    if number > 1e14:
        return number / 1e6
    if number > 1e11:
        return number / 1e3
    return number


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
