"""``trailseal export``, ``verify-pack``, ``accept`` and ``triage`` through the CLI."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
TODAY_WIDE = ("--from", "2000-01-01", "--to", "2999-12-31")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    for name in ("TRAILSEAL_DB", "TRAILSEAL_SIGNING_KEY", "TRAILSEAL_REDACTION_KEY", "USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / "home"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    assert invoke("init", "--origin", "cli.test/ledger").exit_code == 0
    for name in ("bandit_toy_app.json", "gitleaks_v8_four_leaks.json"):
        result = invoke("ingest", "--repo", "acme/app", "--commit", "c1", str(FIXTURES / name))
        assert result.exit_code == 0, result.output
    return invoke


def identities(run) -> list[str]:  # type: ignore[no-untyped-def]
    result = run("findings", "--json")
    return [json.loads(line)["identity"] for line in result.stdout.splitlines() if line]


def test_export_then_verify_pack(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = identities(run)[:2]
    accepted = run(
        "accept",
        first[:12],
        "--approver",
        "cto",
        "--justification",
        "lab only",
        "--expires",
        "2999-01-01",
    )
    assert accepted.exit_code == 0 and "risk acceptance" in accepted.stderr
    triaged = run("triage", second[:12], "--decision", "confirmed", "--note", "real")
    assert triaged.exit_code == 0
    assert json.loads(run("findings", "--json", "--status", "accepted").stdout)["identity"] == first

    out = tmp_path / "pack.zip"
    result = run("export", *TODAY_WIDE, "--out", str(out), "--organisation", "Acme", "--by", "me")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}\n"
    assert "trust on first use" in result.stderr
    # What to hand over: the pack, and the key the export was verified with.
    pinned = (tmp_path / "home" / "verifier.pub").read_text(encoding="ascii").strip()
    assert result.stderr.splitlines()[-1] == (
        f"hand the auditor {out.resolve()} and, through another channel than the pack, "
        f"the verifier key {pinned}; VERIFY.md in the pack says how to check it"
    )

    key = str(tmp_path / "home" / "verifier.pub")
    checked = run("verify-pack", str(out), "--trusted-key", key)
    assert checked.exit_code == 0 and checked.stderr.startswith("OK: ")

    # The export is itself an entry naming the pack's digest.
    log = json.loads(run("log", "--json", "-n", "1").stdout)
    assert log["kind"] == "export" and log["body"]["by"] == "me"
    import hashlib

    assert log["body"]["pack"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_verify_pack_names_the_altered_member(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "pack.zip"
    assert run("export", *TODAY_WIDE, "--out", str(out)).exit_code == 0
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b" " if info.filename == "VERIFY.md" else data)
    key = str(tmp_path / "home" / "verifier.pub")
    result = run("verify-pack", str(bad), "--trusted-key", key)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"FAIL: {bad}: VERIFY.md: its SHA-256 or size differs")
    assert run("verify-pack", str(tmp_path / "none.zip"), "--trusted-key", key).exit_code == 2
    assert run("verify-pack", str(out), "--trusted-key", "nonsense").exit_code == 2
    # Bytes hidden after the last member, every member intact: exit 1, named.
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as archive:
        directory = archive.start_dir
    hidden = raw[:directory] + b"hidden" + raw[directory:]
    end = len(hidden) - 22
    offset = (directory + 6).to_bytes(4, "little")
    bad.write_bytes(hidden[: end + 16] + offset + hidden[end + 20 :])
    result = run("verify-pack", str(bad), "--trusted-key", key)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"FAIL: {bad}: (zip): holds 6 byte(s) after manifest.sig: it is not the pack as written"
    )


def test_export_refuses_a_tampered_ledger(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = sqlite3.connect(tmp_path / "home" / "ledger.db")
    db.execute(
        "UPDATE entries SET body = CAST(REPLACE(CAST(body AS TEXT), 'B', 'C') AS BLOB) "
        "WHERE seq = 1"
    )
    db.commit()
    db.close()
    out = tmp_path / "pack.zip"
    result = run("export", *TODAY_WIDE, "--out", str(out))
    assert result.exit_code == 1
    assert "no evidence pack was written" in result.stderr
    assert not out.exists()


def test_usage_errors(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = str(tmp_path / "p.zip")
    assert run("export", "--from", "2025-13-01", "--to", "2025-01-01", "--out", out).exit_code == 2
    assert run("export", "--from", "2025-02-01", "--to", "2025-01-01", "--out", out).exit_code == 2
    assert run("export", *TODAY_WIDE, "--out", out, "--sla", "critical").exit_code == 2
    assert run("triage", "0123456789", "--decision", "maybe").exit_code == 2
    assert run("accept", "zz", "--approver", "a", "--justification", "b").exit_code == 2


def test_export_to_a_directory_or_an_unwritable_place_is_a_usage_error(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    before = run("log", "--json", "-n", "1").stdout
    result = run("export", *TODAY_WIDE, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --out {tmp_path} is a directory")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("export", *TODAY_WIDE, "--out", str(blocker / "pack.zip"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(f"error: --out {blocker / 'pack.zip'}: ")
    assert "nothing was recorded" in result.stderr
    # Neither attempt recorded an export.
    assert run("log", "--json", "-n", "1").stdout == before


def test_export_with_an_empty_trusted_key_writes_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "pack.zip"
    result = run("export", *TODAY_WIDE, "--out", str(out), "--trusted-key", "")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --trusted-key is empty")
    assert not out.exists()


def test_one_identity_in_two_scopes_is_told_apart_by_its_scope(run) -> None:  # type: ignore[no-untyped-def]
    # Bandit's SARIF and its JSON name the tool differently: two scopes, one identity.
    sarif = str(FIXTURES / "bandit_toy_app.sarif")
    assert run("ingest", "--repo", "acme/app", "--commit", "c1", sarif).exit_code == 0
    rows = [json.loads(line) for line in run("findings", "--json").stdout.splitlines()]
    by_identity: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_identity.setdefault(row["identity"], []).append(row)
    shared = next(group for group in by_identity.values() if len(group) == 2)
    identity = shared[0]["identity"]

    ambiguous = run("triage", identity[:12], "--decision", "confirmed")
    assert ambiguous.exit_code == 2
    named = sorted(f"{identity[:12]}@{row['scope'][:6]}" for row in shared)
    assert all(name in ambiguous.stderr for name in named), ambiguous.stderr
    assert "IDENTITY@SCOPE" in ambiguous.stderr
    # Neither more digits nor --repo can separate them; the scope can.
    assert run("triage", identity, "--decision", "confirmed").exit_code == 2
    assert (
        run("triage", identity[:12], "--repo", "acme/app", "--decision", "confirmed").exit_code == 2
    )
    chosen = run("triage", named[0], "--decision", "confirmed")
    assert chosen.exit_code == 0, chosen.stderr
    assert "IDENTITY@SCOPE" in run("accept", "--help").stdout


def test_sla_errors_name_the_option_or_table(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = str(tmp_path / "p.zip")
    result = run("export", *TODAY_WIDE, "--out", out, "--sla", "urgent=3")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --sla: unknown severity 'urgent'; expected one of ")
    assert run("export", *TODAY_WIDE, "--out", out, "--sla", "high=0").stderr.startswith(
        "error: --sla high: "
    )
    config = tmp_path / "report.toml"
    config.write_text("[sla]\ncritcal = 7\n")
    result = run("export", *TODAY_WIDE, "--out", out, "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {config}: [sla]: unknown severity 'critcal'")
    assert not Path(out).exists()
