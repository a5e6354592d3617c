"""The ``trailseal runtime`` commands driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from runtime_traffic import ATTACKERS, Scenario, write_combined, write_jsonl
from test_runtime_keys import pem, rsa_jwk
from typer.testing import CliRunner

runner = CliRunner()


def test_logs_prints_findings_on_stdout_and_a_summary_on_stderr(
    app: typer.Typer, tmp_path: Path, scenario: Scenario
) -> None:
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl", sub_field="user_id")

    result = runner.invoke(app, ["runtime", "logs", str(log), "--field", "sub=user_id"])

    assert result.exit_code == 0, result.stderr
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    assert {f["properties"]["subject"] for f in findings} == set(ATTACKERS)
    assert result.stderr == (
        f"{len(scenario.lines)} requests in {len(scenario.lines)} lines of 1 file(s); "
        f"{len(findings)} finding(s)\n"
    )


def test_logs_out_file_and_thresholds_from_config_and_set(
    app: typer.Typer, tmp_path: Path, scenario: Scenario
) -> None:
    log = write_combined(scenario.lines, tmp_path / "access.log.gz")
    config = tmp_path / "thresholds.toml"
    config.write_text("[enumeration]\naddress_min_count = 20\n")
    out = tmp_path / "findings.jsonl"

    result = runner.invoke(
        app,
        [
            "runtime",
            "logs",
            str(log),
            "--format",
            "combined",
            "--config",
            str(config),
            "--set",
            "miss_ratio=0.99",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    header, *lines = out.read_text().splitlines()
    assert json.loads(header)["trailseal_run"]["category"] == "runtime-logs"
    subjects = {json.loads(line)["properties"]["subject"] for line in lines}
    assert subjects == set(ATTACKERS) - {"atk-roamer", "atk-guesser"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "miss_ratio=2"],
            "error: --set miss_ratio: 'miss_ratio' must be a ratio in (0, 1], not '2'\n",
        ),
        (["--set", "window=5"], "error: --set window: unknown threshold 'window'; known names: "),
        (
            ["--field", "who=user"],
            "error: --field 'who=user': expected NAME=SOURCE with NAME one "
            "of time, method, path, status, sub, ip, token\n",
        ),
        (
            ["--format", "xml"],
            "error: --format 'xml': expected one of jsonl, combined, w3c, alb, elb, envoy\n",
        ),
    ],
)
def test_logs_bad_options_exit_2(
    app: typer.Typer, tmp_path: Path, args: list[str], message: str
) -> None:
    log = tmp_path / "a.jsonl"
    log.write_text('{"time": 1, "path": "/a/1", "status": 200, "sub": "s"}\n')

    result = runner.invoke(app, ["runtime", "logs", str(log), *args])

    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_logs_unreadable_inputs_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)

    for path, message in [
        (empty, f"error: {empty}: the file is empty; there are no requests to analyse\n"),
        (tmp_path, f"error: {tmp_path}: is a directory, not an access log file\n"),
        (
            junk,
            f"error: {junk}: not a combined access log (line 1: not in Combined Log "
            "Format). Check the file and the --format and --field options.\n",
        ),
    ]:
        result = runner.invoke(app, ["runtime", "logs", str(path)])
        assert (result.exit_code, result.stderr, result.stdout) == (2, message, "")


def test_logs_ingest_without_out_records_a_temporary_file(
    app: typer.Typer, tmp_path: Path, scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.ingest

    seen: list[tuple[list[str], str | None, dict[str, Any]]] = []

    def ingest_paths(paths: list[Path], fmt: str | None, **options: Any) -> int:
        seen.append(([p.read_text() for p in paths], fmt, options))
        return 0

    monkeypatch.setattr(cli.ingest, "ingest_paths", ingest_paths)
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")

    result = runner.invoke(app, ["runtime", "logs", str(log), "--ingest"])

    assert result.exit_code == 0, result.stderr
    ((texts, fmt, options),) = seen
    header, *records = texts[0].splitlines()
    assert fmt == "jsonl" and len(records) == 10 and options == {}
    assert json.loads(header) == {
        "trailseal_run": {
            "tool": "trailseal-runtime",
            "category": "runtime-logs",
            "complete": False,
        }
    }
    assert result.stdout == ""


def test_key_drift_records_public_jwks_and_findings(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    import cli.ingest

    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_jwk(new, "k2", private=True)]}))
    (tmp_path / "old.pem").write_bytes(pem(old))
    (tmp_path / "new.pem").write_bytes(pem(new))
    snapshots: list[tuple[str, str, dict[str, Any]]] = []
    ingested: list[str] = []
    monkeypatch.setattr(
        cli.ingest,
        "record_snapshot",
        lambda kind, name, document: snapshots.append((kind, name, document)),
    )
    monkeypatch.setattr(
        cli.ingest,
        "ingest_paths",
        lambda paths, fmt, **options: ingested.append(paths[0].read_text()) or 0,
    )
    out = tmp_path / "drift.jsonl"

    result = runner.invoke(
        app,
        [
            "runtime",
            "key-drift",
            "--jwks",
            str(jwks),
            "--service",
            f"billing={tmp_path}/old.pem",
            "--service",
            f"orders={tmp_path}/new.pem",
            "--out",
            str(out),
            "--ingest",
        ],
    )

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {jwks} publishes private key members; only public members are recorded",
        "1 current key(s), 2 service(s); 2 finding(s)",
    ]
    ((kind, name, document),) = snapshots
    assert (kind, name) == ("jwks", "jwks.json")
    assert document == {"keys": [rsa_jwk(new, "k2")]}
    header, *lines = out.read_text().splitlines()
    assert json.loads(header)["trailseal_run"] == {
        "tool": "trailseal-runtime",
        "category": "runtime-key-drift",
        "complete": True,
    }
    rules = [json.loads(line)["rule_id"] for line in lines]
    assert sorted(rules) == ["KEY001", "KEY002"]
    assert ingested == [out.read_text()]


def test_key_drift_bad_service_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')

    result = runner.invoke(
        app, ["runtime", "key-drift", "--jwks", str(jwks), "--service", f"billing={tmp_path}"]
    )

    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {tmp_path}: is a directory, not a key file\n",
    )


def test_hostile_log_strings_reach_no_output_raw(app: typer.Typer, tmp_path: Path) -> None:
    # A walker whose user name and path carry terminal escapes, a C1 CSI, a bidi
    # override, NUL and invalid UTF-8, in a CRLF log with 1 MiB lines in between.
    evil_user = "mal\x1b[2Jlory\u202e".encode() + b"\xff\x00"
    log = tmp_path / "access.log"
    with log.open("wb") as out:
        for i in range(40):
            stamp = f"02/Mar/2026:08:00:{i:02d} +0000".encode()
            path = f"/api/orders/{1000 + i}".encode() + b"/\x1b]0;pwned\x07\xc2\x9b"
            out.write(
                b"203.0.113.5 - "
                + evil_user.replace(b" ", b"")
                + b" ["
                + stamp
                + b'] "GET '
                + path
                + b' HTTP/1.1" 404 0 "-" "\x1b[31m"\r\n'
            )
            if i % 10 == 0:
                out.write(b"x" * (1 << 20) + b"\r\n")
                out.write(
                    b'203.0.113.5 - - [02/Mar/2026:08:00:00 +0000] "' + b"A" * 1_000_000 + b'"\r\n'
                )
    jsonl = tmp_path / "access.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(
                {
                    "time": 1_772_438_400 + i,
                    "path": f"/api/orders/{1000 + i}",
                    "status": 404,
                    "sub": "eve\u009b\u2028\u202e\x00",
                }
            )
            for i in range(40)
        )
    )

    expected = {log: "mal\\x1b[2Jlory\\u202e\ufffd\\x00", jsonl: "eve\\x9b\\u2028\\u202e\\x00"}
    for path in (log, jsonl):
        result = runner.invoke(app, ["runtime", "logs", str(path)])

        assert result.exit_code == 0, result.stderr
        text = result.stdout + result.stderr
        assert all(c.isprintable() or c == "\n" for c in text), repr(text[:300])
        findings = [json.loads(line) for line in result.stdout.splitlines()]
        assert findings, result.stderr
        for finding in findings:
            for value in (
                finding["message"],
                finding["properties"]["subject"],
                finding["location"]["path"],
            ):
                assert value.isprintable(), value
        # Escaped visibly, not dropped: the finding still names who it was.
        assert {f["properties"]["subject"] for f in findings} == {expected[path]}
