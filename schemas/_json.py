"""JSON values that survive RFC 8785 canonicalisation unchanged.

RFC 8785 serialises numbers as IEEE 754 doubles, so a float or an integer
beyond 2**53 would come back from a canonical round trip as a different
value. Records never carry such numbers: readers of untrusted input keep
them as their original text (see :func:`ledger.canonical.loads_exact`), and
these validators refuse any that slip through rather than change them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

MAX_SAFE_INTEGER = 2**53 - 1


def check_exact(value: Any, where: str = "$") -> Any:
    """Return ``value`` unchanged if every number in it is an exact JSON integer.

    Raises ``ValueError`` naming the JSON path of the first float, oversized
    integer or non-JSON type found.
    """
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if item is None or isinstance(item, (str, bool)):
            continue
        if isinstance(item, int):
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise ValueError(f"{path}: integer {item} is outside the exact JSON range")
            continue
        if isinstance(item, float):
            raise ValueError(f"{path}: floating-point number {item!r}; carry it as a string")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{path}: object key {key!r} is not a string")
                stack.append((f"{path}.{key}", child))
            continue
        if isinstance(item, (list, tuple)):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
            continue
        raise ValueError(f"{path}: {type(item).__name__} is not a JSON value")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_exact)]
"""A JSON object whose numbers are all exact integers (no floats)."""
