"""Runtime findings recorded in a real ledger: scopes and closing rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / ".trailseal"))
    for name in ("TRAILSEAL_DB", "TRAILSEAL_SIGNING_KEY", "TRAILSEAL_REDACTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path


def _log(path: Path, walker: bool) -> Path:
    """Ordinary users reading their own orders, and optionally one id walker."""
    lines = []
    for user in range(20):
        for k in range(10):
            lines.append(
                {
                    "time": f"2026-12-01T10:{user:02d}:{k * 3:02d}Z",
                    "method": "GET",
                    "path": f"/api/orders/{1000 + user * 50 + k % 3}",
                    "status": 200,
                    "sub": f"user{user}",
                    "ip": f"192.0.2.{user}",
                }
            )
    if walker:
        for k in range(90):
            lines.append(
                {
                    "time": f"2026-12-01T11:00:{k % 60:02d}.{k:03d}Z",
                    "method": "GET",
                    "path": f"/api/orders/{1000 + k}",
                    "status": 404 if k % 3 == 0 else 200,
                    "sub": "mallory",
                    "ip": "198.51.100.7",
                }
            )
    lines.sort(key=lambda line: str(line["time"]))
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _findings() -> list[dict[str, object]]:
    result = runner.invoke(app, ["findings", "--json"])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_enumeration_findings_are_not_closed_by_a_quieter_log(workdir: Path) -> None:
    first = runner.invoke(
        app, ["runtime", "logs", str(_log(workdir / "a.jsonl", True)), "--ingest"]
    )
    assert first.exit_code == 0, first.stderr
    found = _findings()
    assert found and {row["status"] for row in found} == {"open"}
    assert {row["tool"] for row in found} == {"trailseal-runtime"}

    quiet = runner.invoke(
        app, ["runtime", "logs", str(_log(workdir / "b.jsonl", False)), "--ingest"]
    )
    assert quiet.exit_code == 0, quiet.stderr
    assert [row["status"] for row in _findings()] == [row["status"] for row in found]
    assert runner.invoke(app, ["verify"]).exit_code == 0


def _rsa_jwk(key: object, kid: str) -> dict[str, str]:
    import base64

    numbers = key.public_key().public_numbers()  # type: ignore[attr-defined]

    def b64(n: int) -> str:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": b64(numbers.n),
        "e": b64(numbers.e),
    }


def test_key_drift_closes_when_the_service_stops_trusting_the_old_key(workdir: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    old = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (workdir / "current.json").write_text(json.dumps({"keys": [_rsa_jwk(new, "k2")]}))
    (workdir / "service.json").write_text(
        json.dumps({"keys": [_rsa_jwk(new, "k2"), _rsa_jwk(old, "k1")]})
    )
    (workdir / "old.pem").write_bytes(
        old.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    drift = ["runtime", "key-drift", "--jwks", "current.json", "--ingest", "--service"]

    stale = runner.invoke(app, [*drift, "billing=service.json"])
    assert stale.exit_code == 0, stale.stderr
    open_rules = {row["rule_id"] for row in _findings() if row["status"] == "open"}
    assert "KEY001" in open_rules

    clean = {"keys": [_rsa_jwk(new, "k2")]}
    (workdir / "service.json").write_text(json.dumps(clean))
    fixed = runner.invoke(app, [*drift, "billing=service.json"])
    assert fixed.exit_code == 0, fixed.stderr
    statuses = {row["rule_id"]: row["status"] for row in _findings()}
    assert statuses["KEY001"] == "fixed"
    log = runner.invoke(app, ["log", "--json", "-n", "50"])
    kinds = [json.loads(line)["kind"] for line in log.stdout.splitlines()]
    assert kinds.count("jwks") == 2
    assert runner.invoke(app, ["verify"]).exit_code == 0
