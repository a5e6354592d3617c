"""The core commands as CI jobs use them: exact exit codes and the lines scripts read.

Each test runs ``cli.main.app`` through typer's ``CliRunner`` in a fresh
working directory with its own ``TRAILSEAL_HOME``, so nothing leaks between
tests and no CI variables of the machine running them reach the ledger.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
VKEY = re.compile(r"^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$")
INGEST_FIELDS = {"file", "status", "format", "results", "entries", "error"}
VERIFY_FIELDS = {"status", "entries", "size", "root_hash", "first_bad_seq", "erased", "problems"}

# Variables that would change what init or ingest does if the machine had them.
_CLEARED = (
    "TRAILSEAL_DB",
    "TRAILSEAL_SIGNING_KEY",
    "TRAILSEAL_REDACTION_KEY",
    "TRAILSEAL_KEY_PASSPHRASE",
    "TRAILSEAL_LOG",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TF_BUILD",
    "JENKINS_URL",
)

Run = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    directory = tmp_path / ".trailseal"
    monkeypatch.setenv("TRAILSEAL_HOME", str(directory))
    return directory


@pytest.fixture
def run(home: Path) -> Run:
    runner = CliRunner()

    def invoke(*args: str | Path, code: int | None = 0) -> Result:
        result = runner.invoke(app, [str(a) for a in args])
        if code is not None:
            assert result.exit_code == code, (
                f"trailseal {' '.join(map(str, args))}: exit {result.exit_code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result

    return invoke


@pytest.fixture
def vkey(run: Run) -> str:
    """An initialised ledger; its verifier key as init printed it."""
    return run("init").stdout.splitlines()[-1]


def sarif(results: list[dict[str, Any]], *, tool: str = "checker", **run: Any) -> str:
    """A SARIF 2.1.0 log of one run."""
    document = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": tool, "version": "1.0"}}, "results": results, **run}],
    }
    return json.dumps(document, indent=1)


def result(rule: str, path: str, text: str, *, level: str = "error", line: int = 1) -> dict:
    return {
        "ruleId": rule,
        "level": level,
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line, "snippet": {"text": text}},
                }
            }
        ],
    }


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def db_file(home: Path) -> Path:
    return home / "ledger.db"


def sql(home: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_file(home)) as conn:
        return conn.execute(statement, params).fetchall()


# -- init ----------------------------------------------------------------------


def test_init_prints_the_verifier_key_last_and_writes_the_key_files(run: Run, home: Path):
    out = run("init")
    last = out.stdout.splitlines()[-1]
    assert VKEY.match(last), last
    assert (home / "verifier.pub").read_text(encoding="ascii").strip() == last
    signing = home / "signing.key"
    assert stat.S_IMODE(signing.stat().st_mode) == 0o600
    assert signing.read_text(encoding="ascii").startswith("PRIVATE+KEY+")
    assert stat.S_IMODE((home / "redaction.key").stat().st_mode) == 0o600
    assert db_file(home).is_file()
    # Key material goes to files only, never to the terminal.
    assert "PRIVATE" not in out.stdout + out.stderr


def test_init_with_a_passphrase_encrypts_the_signing_key(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TRAILSEAL_KEY_PASSPHRASE", "correct horse battery staple")
    out = run("init")
    assert "(encrypted)" in out.stderr
    text = (home / "signing.key").read_text(encoding="ascii")
    assert "PRIVATE+KEY" not in text
    assert json.loads(text)["kdf"] == "argon2id"
    assert stat.S_IMODE((home / "signing.key").stat().st_mode) == 0o600

    # Signing needs the passphrase: with it ingest works, without it exit 2.
    good = write(Path("a.sarif"), sarif([result("R1", "src/a.py", "x = 1")]))
    run("ingest", good)
    monkeypatch.delenv("TRAILSEAL_KEY_PASSPHRASE")
    other = write(Path("b.sarif"), sarif([result("R2", "src/b.py", "y = 2")]))
    refused = run("ingest", other, code=2)
    assert "TRAILSEAL_KEY_PASSPHRASE" in refused.stderr
    monkeypatch.setenv("TRAILSEAL_KEY_PASSPHRASE", "wrong")
    assert "wrong passphrase" in run("ingest", other, code=2).stderr


def test_a_second_init_is_refused_and_keeps_the_first_key(run: Run, home: Path, vkey: str):
    key = (home / "signing.key").read_bytes()
    out = run("init", code=2)
    assert "already holds a trailseal ledger; nothing was changed" in out.stderr
    assert "init runs once" in out.stderr
    assert out.stdout == ""
    assert (home / "signing.key").read_bytes() == key
    assert (home / "verifier.pub").read_text(encoding="ascii").strip() == vkey


@pytest.mark.parametrize(
    "args",
    [["log"], ["checkpoint"], ["findings"], ["ingest", "x.sarif"], ["prove", "inclusion", "0"]],
)
def test_a_command_without_a_ledger_says_where_it_looked(run: Run, home: Path, args):
    home.mkdir()
    out = run(*args, code=2)
    assert str(home / "ledger.db") in out.stderr
    assert "trailseal init" in out.stderr
    assert out.stdout == ""


def test_no_ledger_directory_at_all_says_to_run_init(run: Run, home: Path):
    out = run("log", code=2)
    assert "trailseal init" in out.stderr


def test_a_command_in_a_subdirectory_names_the_ledger_above(
    run: Run, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("TRAILSEAL_HOME")
    run("init")
    assert (tmp_path / ".trailseal" / "ledger.db").is_file()
    (tmp_path / "src" / "app").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "app")
    out = run("log", code=2)
    found = tmp_path.resolve() / ".trailseal"
    assert f"the ledger is in {found}" in out.stderr
    assert f"TRAILSEAL_HOME={found}" in out.stderr
    assert "trailseal init" not in out.stderr
    # Given a database, or TRAILSEAL_HOME, the message stays as it was.
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / "elsewhere"))
    assert "trailseal init" in run("log", code=2).stderr


def test_verify_without_a_ledger_says_to_run_init(run: Run, home: Path):
    home.mkdir()
    out = run("verify", code=2)
    assert "trailseal init" in out.stderr


# -- ingest ---------------------------------------------------------------------


def test_ingest_json_reports_each_file(run: Run, vkey: str):
    good = write(Path("good.sarif"), sarif([result("R1", "src/a.py", "eval(x)")]))
    bad = write(Path("bad.sarif"), '{"version": "2.1.0", "runs": [')
    out = run("ingest", "--json", good, FIXTURES / "gitleaks_v8_four_leaks.json", bad, good, code=2)
    reports = json_lines(out.stdout)
    assert [r["file"] for r in reports] == [
        "good.sarif",
        str(FIXTURES / "gitleaks_v8_four_leaks.json"),
        "bad.sarif",
        "good.sarif",
    ]
    for report in reports:
        assert set(report) >= INGEST_FIELDS
    first, leaks, rejected, again = reports
    assert {k: first[k] for k in INGEST_FIELDS - {"file"}} == {
        "status": "recorded",
        "format": "sarif",
        "results": 1,
        "entries": 2,
        "error": None,
    }
    assert (leaks["status"], leaks["format"], leaks["results"], leaks["entries"]) == (
        "recorded",
        "gitleaks",
        4,
        5,
    )
    assert rejected["status"] == "rejected"
    assert rejected["entries"] == 0
    assert "bad.sarif" in rejected["error"]
    assert (again["status"], again["entries"], again["error"]) == ("duplicate", 0, None)
    assert "rejected: bad.sarif" in out.stderr
    assert "duplicate: good.sarif" in out.stderr
    run("verify", "--trusted-key", vkey)


def test_ingest_all_recorded_or_duplicate_exits_zero(run: Run, vkey: str):
    good = write(Path("good.sarif"), sarif([result("R1", "src/a.py", "eval(x)")]))
    run("ingest", good)
    out = run("ingest", "--json", good)
    assert json_lines(out.stdout)[0]["status"] == "duplicate"


def _bandit_under(root: str, name: str) -> Path:
    """Bandit's report of the toy app as if it had been run on an absolute path."""
    report = json.loads((FIXTURES / "bandit_toy_app.json").read_text(encoding="utf-8"))
    for item in report["results"]:
        item["filename"] = f"{root}/{item['filename']}"
    return write(Path(name), json.dumps(report))


def test_absolute_paths_keep_identities_across_ci_workspaces(
    run: Run, vkey: str, monkeypatch: pytest.MonkeyPatch
):
    # A concurrent Jenkins build checks out into 'app@2': same findings, other paths.
    monkeypatch.setenv("JENKINS_URL", "https://ci.example.com/")
    monkeypatch.setenv("GIT_URL", "https://git.example.com/acme/app.git")
    counts = []
    builds = (("/var/jenkins/ws/app", "a" * 40), ("/var/jenkins/ws/app@2", "b" * 40))
    for workspace, commit in builds:
        monkeypatch.setenv("WORKSPACE", workspace)
        monkeypatch.setenv("GIT_COMMIT", commit)
        out = run("ingest", "--json", _bandit_under(workspace, "bandit.json"))
        counts.append(json_lines(out.stdout)[0]["counts"])
    assert counts == [{"new": 13}, {"seen": 13}]
    paths = {f["path"] for f in json_lines(run("findings", "--json").stdout)}
    assert paths == {"src/app.py", "src/settings.py"}


def test_repo_root_option_makes_paths_relative(run: Run, vkey: str, tmp_path: Path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    report = _bandit_under(str(checkout), "bandit.json")
    run("ingest", "--repo", "acme/app", "--repo-root", checkout, report)
    paths = {f["path"] for f in json_lines(run("findings", "--json").stdout)}
    assert paths == {"src/app.py", "src/settings.py"}


# -- verify ---------------------------------------------------------------------


@pytest.fixture
def populated(run: Run, vkey: str) -> str:
    """A ledger with two artifacts: bandit's SARIF and a gitleaks report."""
    run("ingest", FIXTURES / "bandit_toy_app.sarif")
    run("ingest", FIXTURES / "gitleaks_v8_four_leaks.json")
    return vkey


def test_verify_intact(run: Run, populated: str):
    out = run("verify")
    assert "trust on first use" in out.stderr
    assert out.stderr.splitlines()[-1].startswith("OK: ledger intact: 19 entries")
    assert out.stdout == ""


def test_verify_json(run: Run, populated: str):
    report = json.loads(run("verify", "--json").stdout)
    assert set(report) >= VERIFY_FIELDS
    assert report["status"] == "intact"
    assert (report["entries"], report["size"]) == (19, 19)
    assert report["first_bad_seq"] is None
    assert report["problems"] == []
    assert re.fullmatch(r"[0-9a-f]{64}", report["root_hash"])


def test_verify_trusted_key_as_string_and_as_file(run: Run, populated: str, tmp_path: Path):
    out = run("verify", "--trusted-key", populated)
    assert "trust on first use" not in out.stderr
    pinned = write(tmp_path / "pinned.pub", populated + "\n")
    run("verify", "--trusted-key", pinned)


def test_an_empty_trusted_key_is_a_usage_error_not_trust_on_first_use(
    run: Run, populated: str, tmp_path: Path
):
    # `--trusted-key "$TRAILSEAL_VERIFIER_KEY"` with the variable unset must not
    # fall back to the key file the ledger's writers can change.
    proof = write(tmp_path / "proof.json", run("prove", "inclusion", "0").stdout)
    for args in (["verify"], ["verify-proof", proof], ["verify-pack", tmp_path / "p.zip"]):
        for empty in ("", " "):
            out = run(*args, "--trusted-key", empty, code=2)
            assert out.stderr.startswith("error: --trusted-key is empty"), out.stderr
            assert "trust on first use" not in out.stderr
            assert "OK" not in out.stderr


def test_verify_refuses_a_key_it_was_not_given(run: Run, populated: str, tmp_path: Path):
    # Another ledger's key: every checkpoint is signed by an unknown key.
    other = tmp_path / "other"
    out = CliRunner(env={"TRAILSEAL_HOME": str(other)}).invoke(
        app, ["init", "--db", f"sqlite:///{other / 'l.db'}"]
    )
    stranger = out.stdout.splitlines()[-1]
    failed = run("verify", "--trusted-key", stranger, code=None)
    assert failed.exit_code not in (0, 2)
    assert failed.stderr.startswith("FAIL")


def test_verify_detects_an_edited_row(run: Run, home: Path, populated: str):
    row = sql(home, "SELECT body FROM entries WHERE seq = 3")[0][0]
    edited = bytes(row).replace(b'"high"', b'"low"').replace(b'"medium"', b'"low"')
    assert edited != bytes(row)
    sql(home, "UPDATE entries SET body = ? WHERE seq = 3", edited)
    out = run("verify", "--trusted-key", populated, code=1)
    assert out.stderr.startswith("FAIL (tampered): entry 3: ")
    report = json.loads(run("verify", "--json", "--trusted-key", populated, code=1).stdout)
    assert report["first_bad_seq"] == 3
    assert report["status"] != "intact"


def test_verify_detects_an_edited_derived_finding(run: Run, home: Path, populated: str):
    sql(home, "UPDATE findings SET status = 'fixed' WHERE rowid = 1")
    out = run("verify", "--trusted-key", populated, code=1)
    assert out.stderr.startswith("FAIL")


def test_verify_since_a_kept_checkpoint(run: Run, home: Path, populated: str):
    kept = Path("kept.checkpoint")
    kept.write_text(run("checkpoint").stdout, encoding="utf-8")
    run("ingest", FIXTURES / "trivy_repo_two_secrets.json")
    out = run("verify", "--since", kept, "--trusted-key", populated)
    assert out.stderr.rstrip().endswith("; consistent with 1 kept checkpoint")

    # Roll the ledger back to before the kept checkpoint: drop the tail rows.
    sql(home, "DELETE FROM entries WHERE seq >= 14")
    sql(home, "DELETE FROM checkpoints WHERE size > 14")
    rolled = run("verify", "--since", kept, "--trusted-key", populated, code=None)
    assert rolled.exit_code not in (0, 2)
    assert rolled.stderr.startswith("FAIL")
    # Without the kept checkpoint the shorter ledger is self-consistent, which
    # is exactly why a checkpoint must be kept elsewhere.


def test_verify_incremental_says_what_it_checked(run: Run, home: Path, populated: str):
    first = run("verify", "--incremental", "--trusted-key", populated)
    assert first.stderr.startswith("OK: ledger intact: 19 entries")
    assert (home / "verify-state.json").is_file()
    again = run("verify", "--incremental", "--trusted-key", populated)
    assert again.stderr.startswith(
        "OK: ledger intact: no new entries since the last verification, signed root "
    )
    assert "at size 19 " in again.stderr
    run("ingest", FIXTURES / "trivy_repo_two_secrets.json")
    grown = run("verify", "--incremental", "--trusted-key", populated)
    assert grown.stderr.startswith("OK: ledger intact: entries 19..")
    assert "since the last verification" in grown.stderr


def test_verify_since_an_unreadable_checkpoint_is_usage_error(run: Run, populated: str):
    out = run("verify", "--since", "missing.checkpoint", "--trusted-key", populated, code=2)
    assert "missing.checkpoint" in out.stderr


# -- checkpoint, log, findings --------------------------------------------------------


def test_checkpoint_is_a_c2sp_signed_note(run: Run, populated: str):
    text = run("checkpoint").stdout
    body, _, signatures = text.partition("\n\n")
    origin, size, root = body.split("\n")
    assert populated.startswith(origin + "+")
    assert size == "19"
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", root)
    lines = signatures.splitlines()
    assert lines, text
    for line in lines:
        assert re.fullmatch(rf"\u2014 {re.escape(origin)} [A-Za-z0-9+/]+=*", line), line
    assert text.endswith("\n")


def test_log_json_newest_first(run: Run, populated: str):
    entries = json_lines(run("log", "--json", "-n", "100").stdout)
    assert [e["seq"] for e in entries] == list(range(18, -1, -1))
    assert entries[0]["kind"] == "artifact"
    assert {"seq", "kind", "time", "leaf_hash", "erased", "body"} <= set(entries[0])
    assert [e["seq"] for e in json_lines(run("log", "--json").stdout)][:2] == [18, 17]
    assert len(run("log", "-n", "3").stdout.splitlines()) == 3


def test_findings_filters(run: Run, vkey: str):
    first = sarif(
        [
            result("R-crit", "src/a.py", "exec(payload)", level="error"),
            result("R-low", "src/b.py", "print(debug)", level="note"),
            result("R-med", "src/c.py", "assert user", level="warning"),
        ]
    )
    second = sarif(
        [
            result("R-crit", "src/a.py", "exec(payload)", level="error", line=5),
            result("R-med", "src/c.py", "assert user", level="warning"),
        ]
    )
    run("ingest", write(Path("one.sarif"), first))
    run("ingest", write(Path("two.sarif"), second))
    run("ingest", FIXTURES / "gitleaks_v8_four_leaks.json")

    rows = json_lines(run("findings", "--json").stdout)
    assert len(rows) == 7
    by_rule = {r["rule_id"]: r for r in rows if r["tool"] == "checker"}
    assert {k: v["status"] for k, v in by_rule.items()} == {
        "R-crit": "open",
        "R-low": "fixed",
        "R-med": "open",
    }
    fixed = json_lines(run("findings", "--json", "--status", "fixed").stdout)
    assert [r["rule_id"] for r in fixed] == ["R-low"]
    opened = json_lines(run("findings", "--json", "--status", "open").stdout)
    assert "R-low" not in {r["rule_id"] for r in opened} and len(opened) == 6
    medium = json_lines(run("findings", "--json", "--severity", "medium").stdout)
    assert [r["rule_id"] for r in medium] == ["R-med"]
    leaks = json_lines(run("findings", "--json", "--tool", "gitleaks").stdout)
    assert len(leaks) == 4 and {r["tool"] for r in leaks} == {"gitleaks"}

    text = run("findings", "--tool", "checker")
    assert len(text.stdout.splitlines()) == 3
    assert text.stderr.strip() == "3 findings"
    assert "R-low" in run("findings", "--status", "fixed").stdout
    assert "--status" in run("findings", "--status", "closed", code=2).stderr
    assert "--severity" in run("findings", "--severity", "urgent", code=2).stderr


# -- proofs, keys, erasure --------------------------------------------------------------


def test_prove_inclusion_and_verify_proof(run: Run, populated: str, tmp_path: Path):
    proof = tmp_path / "proof.json"
    proof.write_text(run("prove", "inclusion", "3").stdout, encoding="utf-8")
    out = run("verify-proof", proof, "--trusted-key", populated)
    assert out.stderr.startswith("OK: entry 3 is in")

    document = json.loads(proof.read_text(encoding="utf-8"))
    document["index"] = 4
    altered = write(tmp_path / "altered.json", json.dumps(document))
    assert run("verify-proof", altered, "--trusted-key", populated, code=1).stderr.startswith(
        "FAIL"
    )

    document = json.loads(proof.read_text(encoding="utf-8"))
    document["envelope"] = document["envelope"].replace('"kind":"finding"', '"kind":"findinG"')
    altered = write(tmp_path / "altered_envelope.json", json.dumps(document))
    run("verify-proof", altered, "--trusted-key", populated, code=1)

    tlog = tmp_path / "proof.tlog"
    tlog.write_text(
        run("prove", "inclusion", "3", "--format", "tlog-proof").stdout, encoding="utf-8"
    )
    run("verify-proof", tlog, "--trusted-key", populated)


def test_verify_proof_with_another_key_fails(run: Run, populated: str, tmp_path: Path):
    proof = tmp_path / "proof.json"
    proof.write_text(run("prove", "inclusion", "0").stdout, encoding="utf-8")
    origin = populated.split("+", 1)[0]
    other = CliRunner(env={"TRAILSEAL_HOME": str(tmp_path / "o")}).invoke(
        app, ["init", "--origin", origin, "--db", f"sqlite:///{tmp_path / 'o.db'}"]
    )
    stranger = other.stdout.splitlines()[-1]
    assert stranger != populated
    run("verify-proof", proof, "--trusted-key", stranger, code=1)


def test_keys_rotate_keeps_the_pinned_key_valid(run: Run, home: Path, populated: str):
    out = run("keys", "rotate")
    new = out.stdout.splitlines()[-1]
    assert VKEY.match(new) and new != populated
    assert stat.S_IMODE((home / "signing.key").stat().st_mode) == 0o600
    # Entries signed by the new key only, after the rotation.
    run("ingest", FIXTURES / "trivy_repo_two_secrets.json")
    run("verify", "--trusted-key", populated)
    # The new key alone did not sign the earlier checkpoints: exit 6, unknown key.
    assert "unknown-key" in run("verify", "--trusted-key", new, code=6).stderr


def test_erase_keeps_the_ledger_verifiable(run: Run, populated: str):
    out = run("erase", "3", "--reason", "personal data", "--by", "dpo")
    assert "erased the content of entry 3" in out.stderr
    report = json.loads(run("verify", "--json", "--trusted-key", populated).stdout)
    assert report["status"] == "intact"
    assert 3 in report["erased"]
    entries = {e["seq"]: e for e in json_lines(run("log", "--json", "-n", "100").stdout)}
    assert entries[3]["erased"] is True and entries[3]["body"] is None
    erasure = entries[max(entries)]
    assert erasure["kind"] == "erasure"
    assert erasure["body"]["reason"] == "personal data" and erasure["body"]["by"] == "dpo"
    assert "(content erased)" in run("log", "-n", "100").stdout
    run("erase", "3", "--reason", "again", code=2)


# -- PostgreSQL -------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_init_ingest_verify(run: Run, home: Path, pg_url: str):
    vkey = run("init", "--db", pg_url).stdout.splitlines()[-1]
    assert not db_file(home).exists()
    out = run("ingest", "--json", "--db", pg_url, FIXTURES / "bandit_toy_app.sarif")
    assert json_lines(out.stdout)[0]["status"] == "recorded"
    again = run("ingest", "--json", "--db", pg_url, FIXTURES / "bandit_toy_app.sarif")
    assert json_lines(again.stdout)[0]["status"] == "duplicate"
    report = json.loads(run("verify", "--json", "--db", pg_url, "--trusted-key", vkey).stdout)
    assert (report["status"], report["entries"]) == ("intact", 14)
    assert len(json_lines(run("findings", "--json", "--db", pg_url).stdout)) == 13
    assert "already" in run("init", "--db", pg_url, code=2).stderr
