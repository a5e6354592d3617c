"""Inline suppressions: honoured with a reason, reported as SUP001 without one."""

from __future__ import annotations

from pathlib import Path

from ledger.scan import scan, to_sarif

SOURCE = """\
import jwt

def peek(token):
    return jwt.decode(token, verify=False)  # trailseal: ignore[JWT001] offline debug tool

def peek2(token):
    # trailseal: ignore[JWT001] reads a token this process minted a line earlier
    return jwt.decode(token, verify=False)

def peek3(token):
    return jwt.decode(token, verify=False)  # trailseal: ignore[JWT001]

def peek4(token):
    return jwt.decode(token, verify=False)  # trailseal: ignore[JWT003] wrong rule id
"""


def _scan(tmp_path: Path) -> list[tuple[int, str, str | None]]:
    (tmp_path / "tool.py").write_text(SOURCE, "utf-8")
    report = scan([tmp_path])
    return [(f.line, f.rule.id, f.suppression) for f in report.findings]


def test_reasoned_suppression_on_the_line_and_the_line_before(tmp_path: Path) -> None:
    results = _scan(tmp_path)
    assert (4, "JWT001", "offline debug tool") in results
    assert (8, "JWT001", "reads a token this process minted a line earlier") in results


def test_suppression_without_reason_is_reported_and_ignored(tmp_path: Path) -> None:
    results = _scan(tmp_path)
    assert (11, "JWT001", None) in results
    assert (11, "SUP001", None) in results


def test_suppression_of_another_rule_does_not_apply(tmp_path: Path) -> None:
    assert (14, "JWT001", None) in _scan(tmp_path)


def test_suppressed_results_are_marked_in_sarif(tmp_path: Path) -> None:
    (tmp_path / "tool.py").write_text(SOURCE, "utf-8")
    results = to_sarif(scan([tmp_path]))["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["suppressions"][0]["justification"] for r in suppressed] == [
        "offline debug tool",
        "reads a token this process minted a line earlier",
    ]
    assert all(s["suppressions"][0]["kind"] == "inSource" for s in suppressed)
