"""``trailseal scan`` through the real CLI app: exit codes and key output lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import scan as scan_cli
from cli.main import app
from ledger.scan import scan
from tests.scan.conftest import CORPUS

if not any(c.name == "scan" for c in app.registered_commands):
    # The command is registered by cli.main; registering it here keeps these tests
    # independent of the order command modules are wired in.
    scan_cli.register(app)

VULNERABLE = """\
import jwt

def claims(token):
    return jwt.decode(token, options={"verify_signature": False})
"""
MEDIUM_ONLY = """\
import jwt

def claims(token, key):
    return jwt.decode(token, key, algorithms=["HS256"], leeway=900)
"""
SAFE = """\
import os
import jwt

def claims(token):
    return jwt.decode(token, os.environ["KEY"], algorithms=["HS256"])
"""


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _tree(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    return tmp_path


def test_clean_tree_exits_zero(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(_tree(tmp_path, svc_py=SAFE)), "--fail-on", "low"])
    assert result.exit_code == 0
    assert "scanned 0 files" in result.output  # svc_py has no .py suffix


def test_safe_file_exits_zero_with_fail_on(runner: CliRunner, tmp_path: Path) -> None:
    root = _tree(tmp_path, **{"svc.py": SAFE})
    result = runner.invoke(app, ["scan", str(root), "--fail-on", "info"])
    assert result.exit_code == 0
    assert "scanned 1 files (5 lines): 0 findings, 0 suppressed" in result.output


def test_finding_at_threshold_exits_one(runner: CliRunner, tmp_path: Path) -> None:
    root = _tree(tmp_path, **{"svc.py": VULNERABLE})
    result = runner.invoke(app, ["scan", str(root), "--fail-on", "high"])
    assert result.exit_code == 1
    assert "svc.py:4:12: JWT001 [critical]" in result.output
    assert "FAIL: findings at or above high" in result.output


def test_finding_below_threshold_exits_zero(runner: CliRunner, tmp_path: Path) -> None:
    root = _tree(tmp_path, **{"svc.py": MEDIUM_ONLY})
    result = runner.invoke(app, ["scan", str(root), "--fail-on", "critical"])
    assert result.exit_code == 0
    assert "JWT009 [medium]" in result.output


def test_without_fail_on_findings_still_exit_zero(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(_tree(tmp_path, **{"svc.py": VULNERABLE}))])
    assert result.exit_code == 0
    assert "1 findings" in result.output


def test_unknown_severity_is_an_input_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path), "--fail-on", "severe"])
    assert result.exit_code == 2
    assert "--fail-on 'severe': not a severity" in result.output


def test_missing_path_is_an_input_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_python2_file_is_skipped_with_a_warning(runner: CliRunner, tmp_path: Path) -> None:
    root = _tree(tmp_path, **{"old.py": 'print "hello"\n', "svc.py": VULNERABLE})
    result = runner.invoke(app, ["scan", str(root), "--fail-on", "critical"])
    assert result.exit_code == 1
    assert "warning: old.py: line 1: not valid Python 3" in result.output
    assert "scanned 1 files" in result.output


def test_sarif_is_written(runner: CliRunner, tmp_path: Path) -> None:
    root = _tree(tmp_path, **{"svc.py": VULNERABLE})
    out = tmp_path / "out.sarif"
    result = runner.invoke(app, ["scan", str(root / "svc.py"), "--sarif", str(out)])
    assert result.exit_code == 0
    log = json.loads(out.read_text("utf-8"))
    [run] = log["runs"]
    assert run["tool"]["driver"]["name"] == "trailseal-scan"
    assert [r["ruleId"] for r in run["results"]] == ["JWT001"]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "svc.py", "uriBaseId": "%SRCROOT%"}


_LEDGER_ENV = ("TRAILSEAL_DB", "TRAILSEAL_SIGNING_KEY", "TRAILSEAL_REDACTION_KEY",
               "TRAILSEAL_KEY_PASSPHRASE", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE",
               "CIRCLECI", "TF_BUILD", "JENKINS_URL")  # fmt: skip
"""Variables that would change what init or ingest does if the machine had them."""


def test_ingest_records_the_findings_in_the_ledger(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in _LEDGER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / ".trailseal"))
    init = runner.invoke(app, ["init"])
    assert init.exit_code == 0, init.output

    app_dir = CORPUS / "flask_notes"
    scanned = runner.invoke(app, ["scan", str(app_dir), "--ingest"])
    assert scanned.exit_code == 0, scanned.output
    expected = {
        (f.rule.id, f.path, f.line) for f in scan([app_dir]).findings if f.suppression is None
    }
    assert expected, "the corpus app must have findings to ingest"

    listed = runner.invoke(app, ["findings", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert {row["tool"] for row in rows} == {"trailseal-scan"}
    assert {row["rule_id"] for row in rows} == {rule for rule, _, _ in expected}
    assert {row["path"] for row in rows} == {path for _, path, _ in expected}
    assert {row["status"] for row in rows} == {"open"}
    assert len(rows) == len(expected)

    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0, verified.output


def test_paths_are_reported_from_the_current_directory(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Bandit and Semgrep do: 'scan src' reports src/svc.py, so the SARIF
    # locates the file from the repository root and both tools' paths agree.
    (tmp_path / "src").mkdir()
    _tree(tmp_path / "src", **{"svc.py": VULNERABLE})
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.sarif"
    result = runner.invoke(app, ["scan", "src", "--sarif", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("src/svc.py:4:")
    [run] = json.loads(out.read_text("utf-8"))["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "src/svc.py"
    # The fingerprint is that of the analysed module, wherever the scan ran from.
    monkeypatch.chdir(tmp_path / "src")
    result = runner.invoke(app, ["scan", ".", "--sarif", str(out)])
    [again] = json.loads(out.read_text("utf-8"))["runs"]
    assert (
        again["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "svc.py"
    )
    assert again["results"][0]["partialFingerprints"] == run["results"][0]["partialFingerprints"]
