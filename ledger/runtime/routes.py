"""Route templates: the ids in a request path replaced by placeholders.

``/api/orders/1042/items/7`` and ``/api/orders/1043/items/9`` are the same
route, ``/api/orders/{int}/items/{int}``, touching different objects. The
enumeration rules count objects per subject and route, so each path is
split into its template and the values of its variable segments.

A segment is an id when its shape says so (UUID, integer, hex id of eight
or more characters with a digit, an opaque token of sixteen or more letters
and digits), or when it is a slug: a position under one parent where more
than ``slug_min_values`` different literal values have been seen. Static
APIs have a handful of names under any one prefix; usernames and article
slugs keep growing. The first segment is never a slug, since sites keep
many files at the root. Until a position crosses that line its values stay
literal, so the first requests of a slug walk are counted on separate
routes; the ones after it are counted together.

Paths are read the way servers route them: an absolute URL (load
balancers log those) loses its scheme and host, the fragment and any
``;matrix`` parameters go, and each segment is percent-decoded, so
``/orders/%31%32`` and ``/orders/12`` are one object. Query parameters
named as ids (``id``, ``order_id``, ``orderId``, ``uuid``...) are ids too:
``/orders?id=12`` becomes ``/orders?id={int}``. Other parameters (paging,
sorting, tracking) are dropped. A last segment ``1042.pdf`` is the id 1042
on ``{int}.pdf``, except for the files a page loads (scripts, styles,
fonts, images), which are nobody's objects. A segment over
:data:`MAX_SEGMENT` characters, and whatever follows the first
:data:`MAX_SEGMENTS` segments, is ``{long}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ledger.text import printable

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")

# id, order_id, order-id, ORDER_ID, orderId, orderID, uuid, file_guid...
_ID_PARAM = re.compile(
    r"(?i:id|uuid|guid)|.*[_.-](?i:id|uuid|guid)|.*[a-z0-9](?:Id|ID|Uuid|UUID|Guid|GUID)"
)
# userid, orderid: ids only when the value is one, and not these words.
_LOOSE_ID_PARAM = re.compile(r"[a-z]{2,}id")
_NOT_LOOSE = frozenset(
    ("paid", "valid", "invalid", "void", "avoid", "grid", "android", "hybrid", "rapid", "fluid")
)
_NOT_ID_PARAMS = frozenset(
    (
        "sid", "session_id", "sessionid", "jsessionid", "phpsessid", "request_id",
        "requestid", "trace_id", "traceid", "span_id", "correlation_id", "correlationid",
        "client_id", "clientid", "app_id", "appid", "utm_id", "gclid", "fbclid", "msclkid",
        "dclid", "tracking_id", "device_id", "deviceid", "nonce", "state",
    )
)  # fmt: skip
_STATIC = frozenset(
    (
        "js", "mjs", "css", "map", "ico", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif",
        "woff", "woff2", "ttf", "otf", "eot",
    )
)  # fmt: skip

MAX_SEGMENT = 256
"""Longest path segment read as a name or id; longer ones become ``{long}``."""

MAX_SEGMENTS = 64
"""Path segments read; the rest of a deeper path becomes one ``{long}``. Each segment is
learned under the path before it, so an unbounded depth would cost the square of it."""

MAX_PARENTS = 50_000
"""Parents whose literal children are being counted; bounds memory on odd logs."""


@dataclass(frozen=True, slots=True)
class Route:
    """A request path split into its template and its object id."""

    template: str
    """E.g. ``/api/orders/{int}``; query string and trailing slash removed."""
    object_id: str | None
    """The variable segments joined by '/', or None for a route with no id."""
    number: int | None
    """The last integer segment, for the sequential-walk rule."""


class RouteTemplates:
    """Turns paths into :class:`Route` values, learning slug positions as it reads."""

    def __init__(self, slug_min_values: int = 50) -> None:
        self.slug_min_values = slug_min_values
        self._children: dict[str, set[str]] = {}
        self._variable: set[str] = set()

    def split(self, path: str) -> Route:
        """Return the template, object id and last number of ``path``."""
        path, _, query = _target(path).partition("?")
        template: list[str] = []
        values: list[str] = []
        number: int | None = None
        for raw in path.split("/"):
            if not raw:
                continue
            if len(template) == MAX_SEGMENTS:
                template.append("{long}")
                break
            segment = _segment(raw)
            if len(segment) > MAX_SEGMENT:
                template.append("{long}")
                continue
            kind, value, suffix = _id_of(segment)
            # The first segment is never a slug: sites keep many files at the root.
            # Nor is a page's asset: a directory of hashed bundles is nobody's objects.
            if kind is None and template and not _is_static(segment):
                parent = "/".join(template)
                if parent in self._variable or self._learn(parent, segment):
                    kind, value = "{slug}", segment
            if kind is None:
                template.append(segment)
                continue
            template.append(kind + suffix)
            if kind == "{int}":
                number = int(value)
            values.append(value)
        text = "/" + "/".join(template)
        if query:
            params = _query_ids(query)
            if params:
                text += "?" + "&".join(f"{name}={kind}" for name, kind, _ in params)
                values.extend(value for _, _, value in params)
                number = next((int(v) for _, k, v in reversed(params) if k == "{int}"), number)
        return Route(
            template=text,
            object_id="/".join(values) if values else None,
            number=number,
        )

    def _learn(self, parent: str, segment: str) -> bool:
        """Count ``segment`` under ``parent``; True once the parent is a slug position."""
        seen = self._children.get(parent)
        if seen is None:
            if len(self._children) >= MAX_PARENTS:
                # Forget the oldest half; a real slug position comes back quickly.
                for key in list(self._children)[: MAX_PARENTS // 2]:
                    del self._children[key]
            seen = self._children[parent] = set()
        seen.add(segment)
        if len(seen) > self.slug_min_values:
            self._variable.add(parent)
            del self._children[parent]
            return True
        return False


def _target(path: str) -> str:
    """The path and query of a request target: an absolute URL loses its scheme and
    host, and the fragment goes."""
    if path[:1] != "/" and "://" in path[:12]:
        after = path.find("/", path.find("://") + 3)
        path = path[after:] if after >= 0 else "/"
    cut = path.find("#")
    return path[:cut] if cut >= 0 else path


def _segment(raw: str) -> str:
    """One path segment as the server reads it: ;parameters dropped, percent-decoded,
    controls escaped."""
    cut = raw.find(";")
    if cut >= 0:
        raw = raw[:cut]
    if "%" in raw:
        raw = unquote(raw, errors="replace")
    return printable(raw)


def _id_of(segment: str) -> tuple[str | None, str, str]:
    """(placeholder, id value, suffix) of a segment; placeholder None if not an id."""
    kind = _shape(segment)
    if kind is not None:
        return kind, _id_value(kind, segment), ""
    stem, dot, extension = segment.rpartition(".")
    if dot and stem and 0 < len(extension) <= 5 and extension.isalnum():
        extension = extension.lower()
        kind = None if extension in _STATIC else _shape(stem)
        if kind is not None:
            return kind, _id_value(kind, stem), "." + extension
    return None, segment, ""


def _id_value(kind: str, value: str) -> str:
    """An id as objects are told apart: hex and UUID ids are case-insensitive; slugs,
    tokens and other values are not."""
    return value.lower() if kind in ("{uuid}", "{hex}") else value


def _is_static(segment: str) -> bool:
    return segment.rpartition(".")[2].lower() in _STATIC if "." in segment else False


def _query_ids(query: str) -> list[tuple[str, str, str]]:
    """(name, placeholder, value) of each query parameter that names an object."""
    found: list[tuple[str, str, str]] = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if not value or not name or len(name) > 64 or name.lower() in _NOT_ID_PARAMS:
            continue
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "), errors="replace")
        value = _segment(value.replace("+", " "))
        if len(value) > MAX_SEGMENT:
            continue
        kind = _shape(value)
        if _ID_PARAM.fullmatch(name):
            kind = kind or "{str}"
        elif kind is None or name in _NOT_LOOSE or not _LOOSE_ID_PARAM.fullmatch(name):
            continue
        found.append((printable(name), kind, _id_value(kind, value)))
    return sorted(found)


def _shape(segment: str) -> str | None:
    """The placeholder for a segment whose shape alone marks it as an id."""
    if segment.isascii() and segment.isdigit():
        return "{int}" if len(segment) <= 18 else "{token}"
    length = len(segment)
    if length == 36 and _UUID.fullmatch(segment):
        return "{uuid}"
    if length >= 8 and _HEX.fullmatch(segment):
        return "{hex}"
    if length >= 16 and _TOKEN.fullmatch(segment):
        return "{token}"
    return None
