"""Awkward input: every file the scanner cannot analyse is skipped with a warning, and the
rest of the tree is still scanned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.scan import engine, scan
from ledger.scan.project import MAX_NESTING

VULNERABLE = """\
import jwt

def claims(token):
    return jwt.decode(token, options={"verify_signature": False})
"""


def _write(root: Path, **files: str | bytes) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
    return root


def _outcome(root: Path) -> tuple[list[tuple[str, int, str]], list[str]]:
    report = scan([root])
    return [(f.path, f.line, f.rule.id) for f in report.active], report.warnings


def test_operator_chain_too_long_for_the_parser_is_skipped(tmp_path: Path) -> None:
    # Generated modules (lookup tables, bundled assets) can hold one expression of tens
    # of thousands of terms; CPython's parser raises RecursionError or MemoryError.
    chain = "x = " + " + ".join(["1"] * 200_000) + "\n"
    unary = "y = " + "-" * 100_000 + "1\n"
    _write(tmp_path, **{"chain.py": chain, "unary.py": unary, "svc.py": VULNERABLE})
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert "chain.py: nested too deeply for the Python parser; skipped" in warnings
    assert "unary.py: nested too deeply for the Python parser; skipped" in warnings


def test_tree_deeper_than_the_rules_follow_is_skipped(tmp_path: Path) -> None:
    # Parses, but the recursive rules would run out of stack on it.
    deep = "import jwt\n\ndef f(t):\n    return jwt.decode(" + " + ".join(["t"] * 500) + ")\n"
    _write(tmp_path, **{"deep.py": deep, "svc.py": VULNERABLE})
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert warnings == [
        f"deep.py: line 4: nested more than {MAX_NESTING} levels deep (generated code?); skipped"
    ]


def test_a_skipped_deep_module_leaves_no_definitions_behind(tmp_path: Path) -> None:
    # The key is defined only in the skipped module; nothing of it may be half-indexed.
    deep = 'SECRET = "abc"\n\ndef helper():\n    return ' + " + ".join(["1"] * 300) + "\n"
    svc = "import jwt\nfrom deep import SECRET\n\ndef mint(p):\n    return jwt.encode(p, SECRET)\n"
    _write(tmp_path, **{"deep.py": deep, "svc.py": svc})
    report = scan([tmp_path])
    assert report.files == 1
    assert all(f.path == "svc.py" for f in report.findings)


def test_huge_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_FILE_BYTES", 1000)
    table = "DATA = {\n" + "".join(f"    {i}: {i},\n" for i in range(200)) + "}\n"
    _write(tmp_path, **{"table.py": table, "svc.py": VULNERABLE})
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert len(warnings) == 1
    assert warnings[0].startswith("table.py: ") and "(generated code?); skipped" in warnings[0]


def test_null_bytes_and_undeclared_latin1_are_skipped(tmp_path: Path) -> None:
    _write(
        tmp_path, **{"nul.py": b"x = 1\x00\n", "py2.py": b'x = "caf\xe9"\n', "svc.py": VULNERABLE}
    )
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert [w.split(":")[0] for w in warnings] == ["nul.py", "py2.py"]
    assert all("not valid Python 3" in w for w in warnings)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_not_read(tmp_path: Path) -> None:
    # Reading a FIFO blocks until a writer comes: the scan would hang.
    _write(tmp_path, **{"svc.py": VULNERABLE})
    os.mkfifo(tmp_path / "pipe.py")
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert warnings == ["pipe.py: not a regular file; skipped"]
    assert scan([tmp_path / "pipe.py"]).warnings == ["pipe.py: not a regular file; skipped"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_loops_and_dangling_links_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, **{"pkg/svc.py": VULNERABLE})
    (tmp_path / "pkg" / "again").symlink_to(tmp_path)  # a directory loop: not followed
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")  # a link to itself
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing.py")
    findings, warnings = _outcome(tmp_path)
    assert findings == [("pkg/svc.py", 4, "JWT001")]
    assert len(warnings) == 2
    assert warnings[0].startswith("gone.py: cannot read the file (")
    assert warnings[1].startswith("self.py: cannot read the file (")


def test_a_rule_failing_on_one_file_does_not_end_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = engine.jwt_keys.check_jwks_fetches

    def fails_on_bad(module):  # type: ignore[no-untyped-def]
        if module.rel == "bad.py":
            raise KeyError("boom")
        return real(module)

    monkeypatch.setattr(engine.jwt_keys, "check_jwks_fetches", fails_on_bad)
    _write(tmp_path, **{"bad.py": VULNERABLE, "svc.py": VULNERABLE})
    findings, warnings = _outcome(tmp_path)
    assert findings == [("svc.py", 4, "JWT001")]
    assert warnings == [
        "bad.py: the rules failed on this file (KeyError: 'boom'); its findings are missing, "
        "please report this"
    ]


def test_form_feeds_do_not_shift_lines(tmp_path: Path) -> None:
    # Form feeds separate sections in older code bases; Python does not count them as
    # line ends, so neither may the snippets and suppressions.
    source = (
        "import jwt\n\x0c\n\ndef peek(token):\n    x = 1\x0c\n"
        '    return jwt.decode(token, options={"verify_signature": False})'
        "  # trailseal: ignore[JWT001] offline debugging tool\n"
    )
    _write(tmp_path, **{"tool.py": source})
    report = scan([tmp_path])
    assert report.lines == 6
    [finding] = report.findings
    assert (finding.line, finding.column) == (6, 12)
    assert finding.snippet.startswith("return jwt.decode(token")
    assert finding.suppression == "offline debugging tool"


def test_byte_order_mark_and_coding_cookie_are_decoded(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf" + b'import jwt; c = jwt.decode(t, options={"verify_signature": False})\n'
    latin = (
        b"# -*- coding: latin-1 -*-\nimport jwt\n\n"
        b'def peek(t, caf\xe9="\xe9"): return jwt.decode(t, options={"verify_signature": False})\n'
    )
    _write(tmp_path, **{"bom.py": bom, "latin.py": latin})
    report = scan([tmp_path])
    assert report.warnings == []
    found = {f.path: (f.line, f.column, f.snippet) for f in report.active}
    assert found["bom.py"] == (
        1,
        17,
        'import jwt; c = jwt.decode(t, options={"verify_signature": False})',
    )
    line, column, snippet = found["latin.py"]
    assert (line, column) == (4, 31)
    assert snippet.startswith('def peek(t, café="é"): return jwt.decode(')


_VIEW_HEADER = """\
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import models
from django.views.generic import DetailView


class Order(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""


def test_thousands_of_classes_of_one_name_scan_in_linear_time(tmp_path: Path) -> None:
    # Every Django form and serializer has a ``class Meta``, many built on a base's
    # (``class Meta(Base.Meta)``): looking each one's bases up among all the others,
    # for every class, was quadratic and took minutes on a large tree.
    metas = "".join(f"class Meta(Base.Meta):\n    x = {i}\n" for i in range(3000))
    views = "".join(
        f"class Mixin:\n    pass\n\n\nclass V{i}(Mixin, LoginRequiredMixin, DetailView):\n"
        "    model = Order\n"
        for i in range(300)
    )
    _write(tmp_path, **{"app/views.py": _VIEW_HEADER + metas + views})
    report = scan([tmp_path])
    assert report.files == 1
    assert not report.active
    # 300 project classes named Mixin: which one a view gets cannot be followed, and
    # the view is neither reported nor silently passed over.
    unjudged = [w for w in report.warnings if "not judged" in w]
    assert len(unjudged) == 300
    assert unjudged[0].startswith("app/views.py: line ")


def test_cyclic_and_deep_inheritance_neither_recurses_nor_hangs(tmp_path: Path) -> None:
    # Bases naming each other across modules, a class listing itself through an alias,
    # a model built on itself and a chain of thousands of classes.
    chain = "".join(f"class C{i}(C{i + 1}):\n    model = Order\n" for i in range(3000))
    _write(
        tmp_path,
        **{
            "app/a.py": _VIEW_HEADER
            + "from app.b import B\n\n\nclass A(B, LoginRequiredMixin, DetailView):\n"
            "    model = Order\n",
            "app/b.py": "from app.a import A\n\n\nclass B(A):\n    pass\n",
            "app/c.py": _VIEW_HEADER.replace("class Order(", "class Order(Order, ")
            + "Alias = Gone\n\n\nclass Gone(Alias, Gone):\n    model = Order\n",
            "app/d.py": _VIEW_HEADER + chain + "class C3000(LoginRequiredMixin, DetailView):\n"
            "    pass\n",
        },
    )
    report = scan([tmp_path])
    assert report.files == 4
    assert ("app/a.py", 12, "BOLA001") in {(f.path, f.line, f.rule.id) for f in report.active}
    assert any(w.startswith("app/d.py: line ") and "not judged" in w for w in report.warnings)
