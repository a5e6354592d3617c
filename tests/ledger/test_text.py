"""Counts in messages agree with their nouns; untrusted text is shown escaped."""

from __future__ import annotations

from ledger.text import counted, json_line, printable


def test_counted_agrees_with_its_noun() -> None:
    assert counted(1, "entry") == "1 entry"
    assert counted(0, "entry") == "0 entries"
    assert counted(12_000, "result") == "12,000 results"
    assert counted(2, "day") == "2 days"
    assert counted(3, "repository and tool pair") == "3 repository and tool pairs"


def test_escapes_are_visible_and_idempotent() -> None:
    hostile = "a\x1b[2J\u202eb\x00"
    shown = printable(hostile)
    assert shown == "a\\x1b[2J\\u202eb\\x00"
    assert printable(shown) == shown
    assert json_line('"\u2028"') == '"\\u2028"'
