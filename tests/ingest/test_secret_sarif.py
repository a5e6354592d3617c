"""A secret rule's values never reach the ledger in clear, however deep they sit."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ledger.ingest.pipeline import ingest_file
from ledger.ledger import Ledger
from ledger.note import NoteSigner
from schemas.artifact import CIContext

SECRETS = ["AKIANESTEDSECRET1234", "ghp_LISTSECRETVALUE000000", "FPSECRETVALUE99", "STRPROPSECRET"]


def _sarif(path: Path) -> Path:
    rule = {"id": "aws-key", "properties": {"tags": ["secret"]}}
    result = {
        "ruleId": "aws-key",
        "message": {"text": f"found {SECRETS[3]}"},
        "properties": {
            "match": {"value": SECRETS[0]},
            "list": [SECRETS[1]],
            "raw": SECRETS[3],
        },
        "partialFingerprints": {"secretHash": SECRETS[2]},
        "fingerprints": {"value/v1": SECRETS[2]},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "config/prod.env"}}}],
    }
    log = {
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": {"name": "secretscan", "rules": [rule]}}, "results": [result]}
        ],
    }
    path.write_text(json.dumps(log))
    return path


def test_nested_secret_values_and_fingerprints_are_digests(
    tmp_path: Path, primary_key: NoteSigner
) -> None:
    db = tmp_path / "ledger.db"
    ledger = Ledger.create(f"sqlite:///{db}", "test.trailseal.invalid/ledger", primary_key)
    sarif = _sarif(tmp_path / "secrets.sarif")
    for _ in range(2):  # the same leak twice keeps one identity
        outcome = ingest_file(
            ledger, primary_key, sarif, ci=CIContext(repository="acme/app"), redaction_key=b"k" * 32
        )
    assert outcome.status == "duplicate"
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for secret in SECRETS:
        assert secret not in dump
        assert secret.encode().hex() not in dump.lower()
    assert b"hmac-sha256:".hex() in dump.lower()


def test_a_rule_index_pointing_away_from_a_secret_rule_still_redacts(
    tmp_path: Path, primary_key: NoteSigner
) -> None:
    rules = [{"id": "style"}, {"id": "aws-key", "properties": {"tags": ["secret"]}}]
    result = {
        "ruleId": "aws-key",
        "ruleIndex": 0,
        "message": {"text": f"key {SECRETS[0]}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "a.env"},
                    "region": {"startLine": 1, "snippet": {"text": f"KEY={SECRETS[0]}"}},
                }
            }
        ],
    }
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "scan", "rules": rules}}, "results": [result]}],
    }
    sarif = tmp_path / "mixed.sarif"
    sarif.write_text(json.dumps(log))
    db = tmp_path / "ledger.db"
    ledger = Ledger.create(f"sqlite:///{db}", "test.trailseal.invalid/ledger", primary_key)
    ingest_file(ledger, primary_key, sarif, ci=CIContext(), redaction_key=b"k" * 32)
    dump = "\n".join(sqlite3.connect(db).iterdump()).lower()
    assert SECRETS[0].encode().hex().lower() not in dump
