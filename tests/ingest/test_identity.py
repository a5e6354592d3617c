from __future__ import annotations

import pytest

from ledger.ingest.identity import (
    finding_identity,
    normalise_message,
    normalise_path,
    normalise_snippet,
)
from schemas.finding import Finding, Location


def _finding(**changes) -> Finding:
    base = {
        "tool": "Bandit",
        "rule_id": "B602",
        "severity": "high",
        "title": "subprocess_popen_with_shell_equals_true",
        "message": "subprocess call with shell=True identified at line 15",
        "location": Location(path="src/app.py", start_line=15, snippet="call(cmd, shell=True)"),
    }
    base.update(changes)
    return Finding(**base)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("file:///ci/checkout/src/app.py", "src/app.py"),
        ("/ci/checkout/src/app.py", "src/app.py"),
        ("src%20dir/a%2Bb.py", "src dir/a+b.py"),
        ("src\\win\\file.cs", "src/win/file.cs"),
        ("./src/./app.py", "src/app.py"),
        ("src//app.py", "src/app.py"),
        ("file:///C:/agent/_work/1/s/src/Program.cs", "src/Program.cs"),
        ("https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("/elsewhere/app.py", "/elsewhere/app.py"),
    ],
)
def test_normalise_path(raw, expected):
    assert normalise_path(raw, repo_root="/ci/checkout", bases=["C:/agent/_work/1/s/"]) == expected


def test_a_file_system_root_is_no_repository_root():
    assert normalise_path("/etc/passwd", repo_root="/") == "/etc/passwd"
    assert normalise_path("C:/Windows/x.dll", repo_root="C:\\") == "C:/Windows/x.dll"
    assert normalise_path("D:\\a\\1\\s\\src\\x.cs", repo_root="D:\\a\\1\\s") == "src/x.cs"


def test_line_shift_and_reformatting_keep_identity():
    original = _finding()
    shifted = _finding(
        message="subprocess call with shell=True identified at line 27",
        location=Location(path="./src/app.py", start_line=27, snippet="call(cmd,   shell=True)\n"),
    )
    assert finding_identity(original, trust_fingerprint=False) == finding_identity(
        shifted, trust_fingerprint=False
    )


def test_black_reformatting_keeps_identity():
    # As Django 4.0.3 was reformatted with Black: quotes changed, a call split
    # one argument per line with a trailing comma added, nothing else.
    before = """            cursor.execute('SELECT %s FROM %s WHERE %s IN (%s)' % (
                quote_name('cache_key'), table,
                ', '.join(['%s'] * len(keys))),
                list(keys))"""
    after = """            cursor.execute(
                "SELECT %s FROM %s WHERE %s IN (%s)"
                % (
                    quote_name("cache_key"),
                    table,
                    ", ".join(["%s"] * len(keys)),
                ),
                list(keys),
            )"""
    assert normalise_snippet(before) == normalise_snippet(after)
    assert normalise_snippet(after) == (
        'cursor.execute("SELECT %s FROM %s WHERE %s IN (%s)" % (quote_name("cache_key"), '
        'table, ", ".join(["%s"] * len(keys))), list(keys))'
    )
    ident = finding_identity(
        _finding(location=Location(path="db.py", snippet=before)), trust_fingerprint=False
    )
    assert ident == finding_identity(
        _finding(location=Location(path="db.py", snippet=after)), trust_fingerprint=False
    )
    # Another argument is another call.
    assert normalise_snippet("f('a', b)") != normalise_snippet("f('a', c)")


def test_different_code_or_rule_or_path_changes_identity():
    ident = finding_identity(_finding(), trust_fingerprint=False)
    assert ident != finding_identity(_finding(rule_id="B603"), trust_fingerprint=False)
    other_path = _finding(location=Location(path="src/other.py", snippet="call(cmd, shell=True)"))
    assert ident != finding_identity(other_path, trust_fingerprint=False)
    other_code = _finding(location=Location(path="src/app.py", snippet="call(x, shell=True)"))
    assert ident != finding_identity(other_code, trust_fingerprint=False)


def test_message_used_when_no_snippet_with_line_numbers_removed():
    a = _finding(location=Location(path="a.py", start_line=3), message="bad thing on line 3")
    b = _finding(location=Location(path="a.py", start_line=9), message="bad thing on line 9")
    assert finding_identity(a, trust_fingerprint=False) == finding_identity(
        b, trust_fingerprint=False
    )
    assert normalise_message("see a.py:12:4 and lines 3-5") == "see a.py:N and lines N"


def test_trusted_fingerprint_is_used_and_placeholder_is_not():
    a = _finding(fingerprint="f1")
    b = _finding(fingerprint="f1", location=Location(path="moved.py", snippet="changed"))
    assert finding_identity(a, trust_fingerprint=True) == finding_identity(
        b, trust_fingerprint=True
    )
    assert finding_identity(a, trust_fingerprint=False) != finding_identity(
        b, trust_fingerprint=False
    )
    login = _finding(fingerprint="requires login")
    assert finding_identity(login, trust_fingerprint=True) == finding_identity(
        _finding(), trust_fingerprint=False
    )


def test_snippet_line_number_gutter_removed():
    assert normalise_snippet("14 x = 1\n15 y = 2\n") == "x = 1 y = 2"


def test_identity_is_hex_sha256():
    ident = finding_identity(_finding(), trust_fingerprint=False)
    assert len(ident) == 64 and int(ident, 16) >= 0


def test_absolute_paths_are_cleaned_before_the_root_is_taken_off() -> None:
    # '..', '.' and doubled separators inside an absolute path, or inside a drive
    # path, named a file under the root but were taken for one outside it.
    assert normalise_path("/ci/checkout/../checkout/src/a.py", repo_root="/ci/checkout") == (
        "src/a.py"
    )
    assert normalise_path("C:\\ws\\..\\ws\\src\\a.cs", repo_root="C:\\ws") == "src/a.cs"
    assert normalise_path("C:\\ws\\\\src\\a.cs", repo_root="c:/ws/./") == "src/a.cs"
    assert normalise_path("C:\\ws\\..\\..\\x.cs") == "C:/x.cs"
