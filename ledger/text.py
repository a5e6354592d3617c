"""Untrusted text made safe to show.

Artifacts, access logs and key sets hold what strangers wrote; every string
from them passes through here before a terminal, a log line or a JSON Lines
reader sees it. The messages that show them count with :func:`counted`,
which gives the noun the number of its count.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with each control, format or separator character (ESC, NUL, CR,
    bidi overrides, U+2028...) written as a visible ``\\xNN``/``\\uNNNN`` escape.

    Escapes are themselves printable, so escaping twice changes nothing.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def json_line(line: str) -> str:
    """A serialised JSON value with every non-printable character as a ``\\u`` escape.

    JSON encoders escape the C0 controls only; DEL, the C1 controls (CSI is
    one), U+2028/U+2029 and bidi controls would otherwise pass raw to
    whoever reads the line. Outside strings JSON holds no such character, so
    escaping them leaves the value unchanged.
    """
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else _json_escape(c) for c in line)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def counted(n: int, noun: str) -> str:
    """``1 entry``, ``2 entries``, ``3 results``: a count with its noun in the right number."""
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{n:,} {plural}"
