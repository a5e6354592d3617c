"""partialFingerprints survive lines moving, and tell repeated findings apart."""

from __future__ import annotations

from pathlib import Path

from ledger.scan import scan

SOURCE = """\
import jwt

def a(token):
    return jwt.decode(token, verify=False)

def b(token):
    return jwt.decode(token, verify=False)
"""


def _prints(root: Path) -> list[tuple[int, str]]:
    return [(f.line, f.fingerprint) for f in scan([root]).findings]


def test_blank_lines_above_keep_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(SOURCE, "utf-8")
    before = _prints(tmp_path)
    (tmp_path / "svc.py").write_text("\n\n\n" + SOURCE, "utf-8")
    after = _prints(tmp_path)
    assert [line + 3 for line, _ in before] == [line for line, _ in after]
    assert [fp for _, fp in before] == [fp for _, fp in after]


def test_identical_lines_in_different_functions_differ(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(SOURCE, "utf-8")
    prints = [fp for _, fp in _prints(tmp_path)]
    assert len(prints) == 2 and prints[0] != prints[1]


def test_changed_code_changes_the_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(SOURCE, "utf-8")
    before = _prints(tmp_path)
    (tmp_path / "svc.py").write_text(SOURCE.replace("(token, verify", "(tok, verify"), "utf-8")
    assert _prints(tmp_path)[0][1] != before[0][1]
