"""Each class of unusable input fails with one message naming file, place and problem."""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ingest_support import FIXTURES, read_all

from ledger.errors import InputError
from ledger.ingest import registry
from ledger.ingest.parallel import PARALLEL_FROM_BYTES

GOOD = (FIXTURES / "bandit_toy_app.sarif").read_bytes()


def _fails(path, options, fmt=None) -> str:
    with pytest.raises(InputError) as info:
        read_all(path, options, fmt)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_truncated(tmp_path, options):
    path = tmp_path / "truncated.sarif"
    path.write_bytes(GOOD[: len(GOOD) // 2])
    assert "truncated" in _fails(path, options)


def test_malformed_names_line_and_column(tmp_path, options):
    path = tmp_path / "malformed.sarif"
    path.write_bytes(b'{"version": "2.1.0", "$schema": "sarif",\n "runs": [\n  {"tool": x}]}')
    message = _fails(path, options)
    assert "line 3, column" in message and "malformed JSON" in message


def test_empty(tmp_path, options):
    path = tmp_path / "empty.sarif"
    path.write_bytes(b"")
    assert "is empty" in _fails(path, options)


def test_directory(tmp_path, options):
    assert "directory" in _fails(tmp_path, options)


def test_deeply_nested(tmp_path, options):
    path = tmp_path / "deep.sarif"
    depth = 100_000
    path.write_bytes(
        b'{"version": "2.1.0", "runs": [{"results": [{"properties": {"a": '
        + b"[" * depth
        + b"]" * depth
        + b"}}]}]}"
    )
    assert "nested deeper" in _fails(path, options, "sarif")


def test_huge_field_is_capped_with_a_warning(tmp_path, options):
    path = tmp_path / "huge.sarif"
    text = "A" * 5_000_000
    path.write_text(
        '{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, '
        f'"results": [{{"ruleId": "R", "message": {{"text": "{text}"}}}}]}}]}}'
    )
    report, findings = read_all(path, options, "sarif")
    assert len(findings[0][1].message) == 32 * 1024
    assert any("truncated" in w for w in report.warnings)


def test_utf16_with_bom_is_decoded(tmp_path, options):
    path = tmp_path / "windows.sarif"
    path.write_bytes(GOOD.decode("utf-8").encode("utf-16"))
    _, findings = read_all(path, options)
    assert len(findings) == 13


def test_utf16_without_bom_is_refused(tmp_path, options):
    path = tmp_path / "nobom.sarif"
    path.write_bytes(GOOD.decode("utf-8").encode("utf-16-le"))
    assert "byte order mark" in _fails(path, options, "sarif")


def test_latin1_is_refused(tmp_path, options):
    path = tmp_path / "latin1.json"
    path.write_bytes('[{"RuleID": "r", "Secret": "caf\xe9"}]'.encode("latin-1"))
    assert "UTF-8" in _fails(path, options, "gitleaks")


def test_jsonl_mislabelled_json_is_detected_by_content(options):
    report, _ = read_all("jsonl_three_findings.jsonl", options)
    assert report.format == "jsonl"


def test_jsonl_forced_through_a_json_reader(options):
    message = _fails(FIXTURES / "jsonl_three_findings.jsonl", options, "semgrep")
    assert "JSON Lines" in message


def test_jsonl_bad_record_names_line_and_field(options):
    message = _fails(FIXTURES / "jsonl_bad_severity_line_2.json", options)
    assert "line 2" in message and "'severity'" in message


def test_sarif_draft_version_rejected(options):
    message = _fails(FIXTURES / "sarif_version_2_0_draft.sarif", options)
    assert "2.0.0" in message and "2.1.0" in message


def test_non_sarif_document_rejected(options):
    message = _fails(FIXTURES / "not_sarif_package.json", options, "sarif")
    assert "not a SARIF log" in message


def test_unrecognised_format(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(InputError, match="format not recognised"):
        registry.detect_format(path)


def test_xml_entity_expansion_refused(tmp_path, options):
    path = tmp_path / "laughs.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<OWASPZAPReport version="1"><site><alerts><alertitem><name>&b;</name>'
        "</alertitem></alerts></site></OWASPZAPReport>"
    )
    assert "entities" in _fails(path, options, "zap")


def test_malformed_utf16_names_line_and_column(tmp_path, options):
    path = tmp_path / "windows.sarif"
    text = '{"version": "2.1.0",\n "runs": [\n  {"tool": x}]}'
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    message = _fails(path, options)
    assert "malformed JSON" in message and "line 3, column" in message


@pytest.mark.parametrize("fmt", ["semgrep", "bandit", "gitleaks", "trivy", "zap"])
def test_number_too_long_to_convert_is_refused(tmp_path, options, fmt):
    path = tmp_path / "bignum.json"
    number = "7" * 70_000  # spans several of the parser's reads
    path.write_text(f'{{"results": [], "site": [], "n": {number}}}', encoding="utf-8")
    message = _fails(path, options, fmt)
    assert "more than 4300 digits" in message and "byte 33" in message


def test_digit_runs_up_to_the_limit_pass(tmp_path, options):
    path = tmp_path / "digits.json"
    runs = " ".join(["1" * 4300] * 40)
    path.write_text(f'{{"results": [], "errors": ["{runs}"], "n": {"9" * 4300}}}')
    _, findings = read_all(path, options, "semgrep")
    assert findings == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; its new parent may not reap it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_reader_process_ends_when_the_ingest_is_killed(tmp_path):
    # A report large enough to be read in a child process, which then blocks
    # on the full pipe while the parent is killed before reading a finding.
    result = json.loads((FIXTURES / "semgrep_toy_app.json").read_text())["results"][0]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"results": [result] * 8000, "errors": []}), encoding="utf-8")
    assert path.stat().st_size >= PARALLEL_FROM_BYTES
    script = (
        "import multiprocessing, os, sys\n"
        "from pathlib import Path\n"
        "from ledger.ingest.parallel import open_stream\n"
        "path = Path(sys.argv[1])\n"
        "open_stream('semgrep', path, bytes(32), None, path.stat().st_size)\n"
        "print(multiprocessing.active_children()[0].pid, flush=True)\n"
        "os._exit(9)\n"
    )
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("w") as stdout, err.open("w") as stderr:
        subprocess.run(
            [sys.executable, "-c", script, str(path)],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=60,
            check=False,
        )
    pid = int(out.read_text())
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the reader process outlived the killed ingest")
    assert "Traceback" not in err.read_text()


def test_xml_with_an_unknown_encoding(tmp_path, options):
    path = tmp_path / "zap.xml"
    body = (FIXTURES / "zap_traditional_one_alert_two_instances.xml").read_text().split("\n", 1)[1]
    path.write_text('<?xml version="1.0" encoding="x-unknown"?>\n' + body, encoding="utf-8")
    assert "unknown encoding" in _fails(path, options)
