"""RFC 8785 (JSON Canonicalization Scheme) bytes, and exact JSON reading.

Entries are hashed over these bytes, computed once when appended and stored
verbatim; verification hashes the stored bytes and never re-serialises.

Only values whose canonical form is exact are accepted: strings, booleans,
null, integers within +/-(2**53 - 1), lists and objects. A float or a larger
integer would be rounded by RFC 8785's IEEE 754 number rule, so it is
refused; readers of untrusted files use :func:`loads_exact`, which keeps such
numbers as their original text instead.

orjson does the serialising: with sorted keys, strict 53-bit integers and
its escaping it writes RFC 8785 output for these values, except that it
sorts keys by code point where RFC 8785 sorts by UTF-16 code unit. The two
orders differ only for keys holding characters beyond U+FFFF, so objects
with such keys are re-ordered here first (RFC 8785 section 3.2.3).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ledger.errors import InputError

_MAX = 2**53 - 1
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


class CanonicalizationError(InputError):
    """A value has no exact RFC 8785 form."""


def dumps(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``."""
    try:
        if _needs_utf16_sort(value):
            # orjson would sort these keys by code point again, so the
            # re-ordered object is written with its order kept.
            return orjson.dumps(_utf16_sorted(value), option=orjson.OPT_STRICT_INTEGER)
        return orjson.dumps(value, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise CanonicalizationError(f"value has no exact canonical JSON form: {exc}") from exc


def _needs_utf16_sort(value: Any) -> bool:
    """Check numbers are exact, and report whether any key is beyond the BMP.

    Leaves are checked where they stand rather than pushed on the stack:
    most of a record is strings, and this walk runs once per entry.
    """
    found = False
    stack = [value]
    while stack:
        item = stack.pop()
        cls = type(item)
        if cls is dict:
            for key, child in item.items():
                if type(key) is not str:
                    raise CanonicalizationError(f"object key {key!r} is not a string")
                if not key.isascii() and max(key) > "\uffff":
                    found = True
                kind = type(child)
                if kind is str or child is None or kind is bool:
                    continue
                if kind is dict or kind is list or kind is tuple:
                    stack.append(child)
                else:
                    _check_scalar(child)
        elif cls is list or cls is tuple:
            for child in item:
                kind = type(child)
                if kind is str or child is None or kind is bool:
                    continue
                if kind is dict or kind is list or kind is tuple:
                    stack.append(child)
                else:
                    _check_scalar(child)
        else:
            _check_scalar(item)
    return found


def _check_scalar(item: Any) -> None:
    cls = type(item)
    if cls is str or item is None or cls is bool:
        return
    if cls is int:
        if not -_MAX <= item <= _MAX:
            raise CanonicalizationError(f"integer {item} is outside the exact JSON range")
    elif cls is float:
        raise CanonicalizationError(f"floating-point number {item!r} is not allowed")
    else:
        raise CanonicalizationError(f"{cls.__name__} is not a JSON value")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _utf16_sorted(value: Any) -> Any:
    """Rebuild ``value`` with object keys in UTF-16 code unit order."""
    if isinstance(value, dict):
        return {k: _utf16_sorted(value[k]) for k in sorted(value, key=_utf16_key)}
    if isinstance(value, (list, tuple)):
        return [_utf16_sorted(v) for v in value]
    return value


def _int_or_text(text: str) -> int | str:
    number = int(text)
    return number if -_MAX <= number <= _MAX else text


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON keeping every number exact.

    Integers within the exact range become ``int``; every other number
    (fractions, exponents, large integers) stays as its source text, so a
    CVSS score of ``7.5`` is carried as ``"7.5"`` and never rounded.
    Raises ``ValueError`` (``json.JSONDecodeError``) on malformed input.
    """
    return json.loads(data, parse_float=str, parse_int=_int_or_text, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
