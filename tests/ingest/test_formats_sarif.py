from __future__ import annotations

import json

from ingest_support import FIXTURES, read_all

from ledger.ingest.formats.sarif import SarifReader


def test_bandit_sarif_from_the_real_tool(options):
    report, findings = read_all("bandit_toy_app.sarif", options)
    assert report.format == "sarif"
    assert [r.tool for r in report.runs] == ["Bandit"]
    assert report.runs[0].successful and report.runs[0].complete
    assert len(findings) == 13
    by_rule = {f.rule_id: f for _, f in findings}
    shell = by_rule["B602"]
    assert shell.severity == "high" and shell.cwe == ["CWE-78"]
    assert shell.location is not None and shell.location.path == "src/app.py"
    assert shell.location.start_line == 15
    assert shell.help_uri and shell.help_uri.startswith("https://bandit.readthedocs.io/")
    # B105 is CWE-259, a hard-coded password: a secret rule.
    password = by_rule["B105"]
    assert password.category == "secret"
    assert password.location and password.location.snippet.startswith("hmac-sha256:")


def test_semgrep_sarif_suppression_placeholder_and_secret(options):
    report, findings = read_all("semgrep_toy_app.sarif", options)
    assert report.runs[0].tool == "Semgrep OSS"
    # Logged-out Semgrep writes "requires login" for every fingerprint.
    assert "requires login" in report.untrusted_fingerprints
    suppressed = [f for _, f in findings if f.suppressions]
    assert len(suppressed) == 1 and suppressed[0].suppressions[0].kind == "inSource"
    secret = next(f for _, f in findings if f.rule_id == "python-hardcoded-aws-key")
    assert secret.category == "secret"
    assert "AKIA" not in secret.model_dump_json()


def test_extensions_levels_messages_paths_and_runs(options):
    report, findings = read_all("sarif_two_runs_extensions_suppressions.sarif", options)
    assert [r.tool for r in report.runs] == ["ExampleScanner", "SecondTool"]
    assert report.runs[0].category == "nightly/example"
    assert report.runs[0].tool_version == "3.1.0"
    assert report.runs[1].successful is False
    assert report.untrusted_fingerprints == {"dup"}
    assert [(i, f.rule_id) for i, f in findings] == [
        (0, "EXT001"),
        (0, "DRV002"),
        (0, "SECRET01"),
        (1, "X1"),
        (1, "X2"),
    ]  # the 'pass' result is skipped
    ext, drv, secret, no_location, bogus = (f for _, f in findings)

    # Rule from tool.extensions[0] by rule.index; security-severity beats level.
    assert ext.title == "SqlInjection" and ext.severity == "critical" and ext.cwe == ["CWE-89"]
    assert ext.message == "Query q built from user input at line 42"
    assert ext.location.path == "src/db layer/query.py"  # file URI made relative, %20 decoded
    assert ext.location.logical == "db.query.run"
    assert ext.suppressions[0].status == "underReview"
    assert ext.suppressions[0].justification == "tracked in ticket 7"
    assert ext.properties["baseline_state"] == "unchanged"
    assert ext.properties["result"] == {"score": "0.75", "big": "123456789012345678901234567890"}
    assert ext.fingerprint == "abc123"

    # Result level 'note' wins over the rule default; messageStrings with arguments.
    assert drv.severity == "low" and drv.message == "Call to eval()"
    assert drv.location.path == "lib/util.py"

    assert secret.category == "secret" and "AKIAIOSFODNN7EXAMPLE" not in secret.model_dump_json()
    assert secret.location.path == "config/settings.py"

    assert no_location.location is None
    assert bogus.severity == "medium" and bogus.message == "**bold** finding"
    assert any("unknown level" in w for w in report.warnings)
    assert any("no location" in w for w in report.warnings)


def test_runs_without_locations_messages_or_results(options):
    report, findings = read_all("sarif_two_runs_no_locations.sarif", options)
    assert [r.tool for r in report.runs] == ["alpha", "beta", "gamma"]
    assert [r.complete for r in report.runs] == [True, True, False]
    assert len(findings) == 2
    assert all(f.location is None and f.message is None for _, f in findings)
    assert any("no message text" in w for w in report.warnings)


def test_detection_by_content():
    head = (FIXTURES / "bandit_toy_app.sarif").read_bytes()[:65536]
    assert SarifReader().detect(head)
    assert not SarifReader().detect((FIXTURES / "bandit_toy_app.json").read_bytes())


def test_detection_when_version_follows_a_long_rules_table():
    # Bandit writes "runs" first and "version"/"$schema" last; with the rules of
    # a large project (ansible-core, Django) its rules table passes 8 KiB.
    rules = [
        {"id": f"B{n}", "name": f"check_{n}", "properties": {"tags": ["security"] * 20}}
        for n in range(100, 160)
    ]
    log = {"runs": [{"tool": {"driver": {"name": "Bandit", "rules": rules}}, "results": []}]}
    text = json.dumps(log, indent=2)[:-2] + ',\n  "version": "2.1.0"\n}'
    assert text.index('"version": "2.1.0"') > 8192
    assert SarifReader().detect(text.encode()[:65536])


def test_several_partial_fingerprints_are_not_an_identity(options):
    # Gitleaks' partialFingerprints are commit, author, e-mail, date and message:
    # none of them tells one leak from another, so the identity comes from content.
    _, findings = read_all("gitleaks_v8_sarif_partial_fingerprints.sarif", options)
    ((_, leak),) = findings
    assert leak.category == "secret"
    assert leak.fingerprint is None
    # The partial fingerprints are kept, as digests (they name people).
    assert set(leak.properties["partial_fingerprints"]) == {
        "commitSha",
        "email",
        "author",
        "date",
        "commitMessage",
    }
    assert "John Doe" not in leak.model_dump_json()


def test_security_severity_given_by_name(options, tmp_path):
    # GitLab's Semgrep-based SAST (as in DefectDojo's unittests/scans/sarif/
    # issue_10191.json) writes the severity's name where GitHub puts a score.
    def rule(rule_id: str, security_severity: str, level: str) -> dict:
        return {
            "id": rule_id,
            "defaultConfiguration": {"level": level},
            "shortDescription": {"text": rule_id},
            "properties": {"security-severity": security_severity, "tags": ["CWE-95"]},
        }

    log = {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json",
        "runs": [
            {
                "results": [
                    {"ruleId": "eval", "message": {"text": "eval"}},
                    {"ruleId": "regexp", "message": {"text": "regexp"}},
                    {"ruleId": "odd", "message": {"text": "odd"}},
                ],
                "tool": {
                    "driver": {
                        "name": "Semgrep OSS",
                        "rules": [
                            rule("eval", "Critical", "warning"),
                            rule("regexp", "LOW", "error"),
                            rule("odd", "SEVERE", "note"),
                        ],
                    }
                },
            }
        ],
        "version": "2.1.0",
    }
    path = tmp_path / "gl-sast-report.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    report, findings = read_all(path, options)
    assert [(f.rule_id, f.severity) for _, f in findings] == [
        ("eval", "critical"),
        ("regexp", "low"),
        ("odd", "low"),  # an unknown name falls back to the level, with a warning
    ]
    assert any("security-severity" in w for w in report.warnings)


def test_cwe_in_the_result_properties(options):
    # njsscan names the CWE in each result's properties; a hard-coded password
    # (CWE-798) there makes the result a secret, its snippet kept as a digest.
    _, findings = read_all("njsscan_0_2_3_two_results.sarif", options)
    random, password = (f for _, f in findings)
    assert random.cwe == ["CWE-327"] and random.category == "code"
    assert random.location and random.location.snippet.strip().startswith("var r = Math.random()")
    assert password.cwe == ["CWE-798"] and password.category == "secret"
    assert password.location and password.location.snippet.startswith("hmac-sha256:")
    assert password.severity == "high"


def test_secret_rule_titles_are_names_not_patterns(options, tmp_path):
    # Gitleaks v8 writes each rule's regular expression as its shortDescription
    # (rules as in its SARIF test data, trimmed).
    log = json.loads((FIXTURES / "gitleaks_v8_sarif_partial_fingerprints.sarif").read_text())
    log["runs"][0]["results"][0]["ruleId"] = "aws-access-key"
    path = tmp_path / "gitleaks.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    ((_, leak),) = findings
    assert leak.title == "AWS Access Key"


def test_cwe_from_relationships_to_a_cwe_taxonomy(options, tmp_path):
    # 3.53: Flawfinder and the SARIF tutorials relate rules to CWE taxonomy entries.
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Flawfinder",
                        "rules": [
                            {
                                "id": "FF1004",
                                "name": "buffer/strcpy",
                                "shortDescription": {"text": "Does not check for overflows"},
                                "relationships": [
                                    {"target": {"id": "120", "toolComponent": {"name": "CWE"}}},
                                    {"target": {"id": "9", "toolComponent": {"name": "OTHER"}}},
                                ],
                            },
                            {
                                # A pattern, but not a secret tool and no name: kept.
                                "id": "P1",
                                "shortDescription": {"text": "[a-z]{3} used"},
                            },
                        ],
                    }
                },
                "results": [
                    {"ruleId": "FF1004", "message": {"text": "strcpy"}},
                    {"ruleId": "P1", "message": {"text": "p"}},
                ],
            }
        ],
    }
    path = tmp_path / "flawfinder.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    strcpy, pattern = (f for _, f in findings)
    assert strcpy.cwe == ["CWE-120"] and strcpy.title == "Does not check for overflows"
    assert pattern.title == "[a-z]{3} used"


def test_results_after_a_long_string_are_read_whole(options, tmp_path):
    # Reads grow while inside a quote-free stretch (a 5 MB message), then
    # shrink again: every result around it must come through intact.
    results = [
        {"ruleId": "R1", "message": {"text": "first"}},
        {"ruleId": "R2", "message": {"text": "y" * 5_000_000}},
        *({"ruleId": f"R{i}", "message": {"text": f"m{i}"}} for i in range(3, 2000)),
    ]
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}, "results": results}]}
    path = tmp_path / "long.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    report, findings = read_all(path, options)
    assert [f.rule_id for _, f in findings] == [f"R{i}" for i in range(1, 2000)]
    assert findings[1][1].message.startswith("yyyy") and len(findings[1][1].message) < 40_000
    assert findings[-1][1].message == "m1999"
    assert any("truncated" in w for w in report.warnings)


def test_gitleaks_7_results_name_their_rule_in_the_message(options, tmp_path):
    # Gitleaks 7.4 SARIF (as in DefectDojo's unittests/scans/sarif/
    # gitleaks_7.5.0.sarif) gives no ruleId; its rules' ids are their names.
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Gitleaks",
                        "semanticVersion": "v7.4.0",
                        "rules": [{"id": "AWS Access Key", "name": "AWS Access Key"}],
                    }
                },
                "results": [
                    {
                        "message": {"text": "AWS Access Key secret detected"},
                        "properties": {"offender": "AKIAIOSFODNN7EXAMPLE"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "app/config.py"}}}
                        ],
                    },
                    {"message": {"text": "Something else secret detected"}},
                ],
            }
        ],
    }
    path = tmp_path / "gitleaks.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    named, unknown = (f for _, f in findings)
    assert (named.rule_id, named.title, named.category) == (
        "AWS Access Key",
        "AWS Access Key",
        "secret",
    )
    assert unknown.rule_id == "unidentified"
    assert "AKIAIOSFODNN7EXAMPLE" not in named.model_dump_json()


def test_unrated_secret_results_are_high_like_the_native_reports(options, tmp_path):
    # Gitleaks writes SARIF with no level anywhere; its native JSON reader
    # records every leak as high, and the format chosen must not change that.
    _, findings = read_all("gitleaks_v8_sarif_partial_fingerprints.sarif", options)
    ((_, leak),) = findings
    assert (leak.severity, leak.properties["level"]) == ("high", "warning")
    _, native = read_all("gitleaks_v8_four_leaks.json", options)
    assert {f.severity for _, f in native} == {"high"}

    # A level or score the log does give still decides, secret or not.
    log = json.loads((FIXTURES / "gitleaks_v8_sarif_partial_fingerprints.sarif").read_text())
    result = log["runs"][0]["results"][0]
    result["level"] = "note"
    path = tmp_path / "rated.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    assert findings[0][1].severity == "low"
    del result["level"]
    result["properties"] = {"security-severity": "9.1"}
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    assert findings[0][1].severity == "critical"

    # An unrated result of an ordinary rule stays at SARIF's default, warning.
    log["runs"][0]["tool"]["driver"]["name"] = "linter"
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        rule["shortDescription"] = {"text": "style"}
    result["ruleId"] = "style-rule"
    del result["properties"]
    path.write_text(json.dumps(log), encoding="utf-8")
    _, findings = read_all(path, options)
    assert (findings[0][1].category, findings[0][1].severity) == ("code", "medium")
