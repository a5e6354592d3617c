"""SARIF output validates against the SARIF 2.1.0 schema and carries what GitHub reads."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from ledger.scan import RULES, scan, to_findings, to_sarif
from tests.scan.conftest import CORPUS

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text("utf-8"))


def test_corpus_sarif_is_schema_valid() -> None:
    log = to_sarif(scan([CORPUS / "jwt_services"]))
    jsonschema.validate(log, SCHEMA)
    assert log["runs"][0]["results"], "the corpus must produce results to validate"


def test_schema_rejects_a_broken_log() -> None:
    log = to_sarif(scan([CORPUS / "jwt_services"]))
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    try:
        jsonschema.validate(log, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("a startLine of 0 must fail validation")


def test_rules_carry_help_cwe_and_security_severity() -> None:
    driver = to_sarif(scan([CORPUS / "flask_notes"]))["runs"][0]["tool"]["driver"]
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert set(by_id) == set(RULES)
    assert "JWT015" not in by_id
    bola = by_id["BOLA001"]
    assert bola["properties"]["security-severity"] == "8.0"
    assert "external/cwe/cwe-639" in bola["properties"]["tags"]
    assert bola["help"]["text"]
    assert by_id["JWT001"]["properties"]["security-severity"] == "9.5"


def test_help_links_point_to_public_references() -> None:
    driver = to_sarif(scan([CORPUS / "flask_notes"]))["runs"][0]["tool"]["driver"]
    by_id = {rule["id"]: rule for rule in driver["rules"]}
    assert "informationUri" not in driver
    assert by_id["JWT001"]["helpUri"] == "https://cwe.mitre.org/data/definitions/347.html"
    assert by_id["JWT011"]["helpUri"] == "https://cwe.mitre.org/data/definitions/321.html"
    assert by_id["BOLA005"]["helpUri"] == (
        "https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"
    )
    assert "helpUri" not in by_id["SUP001"]
    for rule in driver["rules"]:
        uri = rule.get("helpUri", "https://cwe.mitre.org/")
        assert uri.startswith(("https://cwe.mitre.org/", "https://owasp.org/API-Security/"))
        assert rule["help"]["text"] and rule["help"]["text"] in rule["help"]["markdown"]
    markdown = by_id["BOLA001"]["help"]["markdown"]
    assert "(https://cwe.mitre.org/data/definitions/639.html)" in markdown


def test_results_are_relative_with_fingerprints() -> None:
    run = to_sarif(scan([CORPUS / "fastapi_shop"]))["runs"][0]
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("app/") and "\\" not in uri
        assert len(result["partialFingerprints"]["trailsealFingerprint/v1"]) == 32


def test_findings_map_to_records() -> None:
    records = to_findings(scan([CORPUS / "django_docs"]))
    bola5 = [r for r in records if r.rule_id == "BOLA005"]
    assert len(bola5) == 2
    assert bola5[0].tool == "trailseal-scan"
    assert bola5[0].category == "code"
    assert bola5[0].cwe == ["CWE-639", "CWE-285"]
    assert bola5[0].location is not None and bola5[0].location.path == "documents/views.py"
