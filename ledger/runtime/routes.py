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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")

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
        cut = path.find("?")
        if cut >= 0:
            path = path[:cut]
        template: list[str] = []
        values: list[str] = []
        number: int | None = None
        for segment in path.split("/"):
            if not segment:
                continue
            kind = _shape(segment)
            # The first segment is never a slug: sites keep many files at the root.
            if kind is None and template:
                parent = "/".join(template)
                if parent in self._variable or self._learn(parent, segment):
                    kind = "{slug}"
            if kind is None:
                template.append(segment)
                continue
            template.append(kind)
            if kind == "{int}":
                number = int(segment)
                values.append(segment)
            else:
                # Hex and UUID ids are case-insensitive; slugs and tokens are not.
                values.append(segment.lower() if kind in ("{uuid}", "{hex}") else segment)
        return Route(
            template="/" + "/".join(template),
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
