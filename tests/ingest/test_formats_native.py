from __future__ import annotations

import json

from ingest_support import read_all


def test_bandit_json(options):
    report, findings = read_all("bandit_toy_app.json", options)
    assert report.format == "bandit" and report.runs[0].tool == "bandit"
    assert len(findings) == 13
    shell = next(f for _, f in findings if f.rule_id == "B602")
    assert shell.severity == "high" and shell.cwe == ["CWE-78"]
    # Only the flagged line, without Bandit's line-number gutter or context lines.
    assert (
        shell.location.snippet
        == '    return subprocess.call("generate-report " + name, shell=True)'
    )
    assert shell.properties["confidence"] == "HIGH"
    passwords = [f for _, f in findings if f.rule_id in ("B105", "B107")]
    assert passwords and all(f.category == "secret" for f in passwords)
    dumped = json.dumps([f.model_dump() for _, f in findings])
    assert "hunter2" not in dumped and "changeme-fake" not in dumped


def test_semgrep_json(options):
    report, findings = read_all("semgrep_toy_app.json", options)
    assert report.format == "semgrep" and report.runs[0].tool_version == "1.185.0"
    assert report.untrusted_fingerprints == {"requires login"}
    assert len(findings) == 4
    shell = findings[0][1]
    assert shell.rule_id == "python-subprocess-shell-true" and shell.severity == "high"
    assert shell.location.snippet is None  # "requires login" is not source text
    assert shell.cwe == ["CWE-78"]
    secret = findings[3][1]
    assert secret.category == "secret" and "AKIA" not in secret.model_dump_json()


def test_semgrep_empty_report_without_paths(options):
    # Older Semgrep wrote only results and errors; an empty one has no check_id.
    report, findings = read_all("semgrep_old_empty_no_paths.json", options)
    assert report.format == "semgrep" and findings == []
    assert report.runs[0].complete


def test_semgrep_skipped_file_makes_the_run_partial(options, tmp_path):
    # As Semgrep 1.45 writes a file it could only partly parse: level "warn".
    report = {
        "version": "1.45.0",
        "results": [],
        "errors": [
            {
                "code": 3,
                "level": "warn",
                "type": ["PartialParsing", [{"path": "src/broken.py"}]],
                "message": "Syntax error at line src/broken.py:3",
                "path": "src/broken.py",
            },
            {"code": 2, "level": "warn", "type": "Rule warning", "message": "deprecated key"},
        ],
        "paths": {"scanned": ["src/broken.py"]},
    }
    path = tmp_path / "semgrep.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    read, findings = read_all(path, options)
    assert findings == [] and not read.runs[0].complete
    assert any("partial" in w for w in read.warnings)
    # A warning about the rules alone leaves the run complete.
    report["errors"] = report["errors"][1:]
    path.write_text(json.dumps(report), encoding="utf-8")
    read, _ = read_all(path, options)
    assert read.runs[0].complete


def test_gitleaks_v8(options):
    report, findings = read_all("gitleaks_v8_four_leaks.json", options)
    assert report.format == "gitleaks" and len(findings) == 4
    api = findings[3][1]
    assert api.rule_id == "generic-api-key" and api.category == "secret"
    assert api.location.path == "tests/api.py" and api.location.start_line == 21
    assert api.properties["secret"].startswith("hmac-sha256:")
    assert api.properties["entropy"] == "4.132944"  # exact, never a float
    assert api.fingerprint is None  # Gitleaks' fingerprint embeds the line number
    dumped = json.dumps([f.model_dump() for _, f in findings])
    assert "dfjksdjfs3294dfjlsdaf213" not in dumped and "secretAWSsecret" not in dumped
    # The same secret twice gives the same digest.
    assert findings[0][1].location.snippet == findings[1][1].location.snippet


def test_gitleaks_v7(options):
    _, findings = read_all("gitleaks_v7_no_git_three_leaks.json", options)
    assert len(findings) == 3
    assert findings[0][1].rule_id == "AWS Access Key"
    assert findings[0][1].properties["tags"] == ["key", "AWS"]
    dumped = json.dumps([f.model_dump() for _, f in findings])
    assert "AKIAIOSFODNN7EXAMPLE" not in dumped and "wJalrXUtnFEMI" not in dumped


def test_trivy_vulnerabilities(options):
    report, findings = read_all("trivy_pip_two_vulnerabilities.json", options)
    assert report.format == "trivy" and len(findings) == 2
    first = findings[0][1]
    assert first.category == "dependency" and first.rule_id == "CVE-2019-14806"
    assert first.severity == "high" and first.cwe == ["CWE-331"]
    assert first.location.path == "requirements.txt" and first.location.logical == "Werkzeug"
    assert first.properties["cvss"]["nvd"]["V3Score"] == "7.5"
    assert first.fingerprint.startswith("sha256:")


def test_trivy_misconfiguration(options):
    _, findings = read_all("trivy_dockerfile_one_misconfiguration.json", options)
    ((_, check),) = findings
    assert check.category == "configuration" and check.rule_id == "AVD-DS-0002"
    assert check.location.path == "Dockerfile"


def test_trivy_secrets_drop_context_lines(options):
    _, findings = read_all("trivy_repo_two_secrets.json", options)
    assert [f.category for _, f in findings] == ["secret", "secret"]
    assert findings[0][1].severity == "critical"
    # A neighbouring line in Code.Lines holds an unmasked token; nothing of it is kept.
    dumped = json.dumps([f.model_dump() for _, f in findings])
    assert "ghp_" not in dumped and "AWS_ACCESS_KEY_ID=" not in dumped


def test_trivy_list_before_schema_version_2(options):
    # Trivy before 0.20 wrote a bare list of results, with no SchemaVersion.
    report, findings = read_all("trivy_legacy_list_two_targets.json", options)
    assert report.format == "trivy" and len(findings) == 3
    lodash = findings[0][1]
    assert (lodash.rule_id, lodash.severity, lodash.category) == (
        "CVE-2018-16487",
        "high",
        "dependency",
    )
    assert lodash.location.path == "node-app/package-lock.json"
    assert lodash.location.logical == "lodash"
    assert findings[2][1].location.path == "trivy-ci-test (alpine 3.7.1)"


def test_trivy_k8s_cluster_reports(options):
    # Older `trivy k8s`: resources listed under top-level Vulnerabilities and
    # Misconfigurations; the path is the resource, the image a property.
    report, findings = read_all(
        "trivy_k8s_cluster_old_vulnerabilities_misconfigurations.json", options
    )
    assert report.format == "trivy"
    assert [(f.rule_id, f.location.path) for _, f in findings] == [
        ("CVE-2020-27350", "default/Deployment/redis-follower"),
        ("CVE-2011-3374", "default/Deployment/redis-follower"),
        ("CVE-2020-27350", "default/Deployment/redis-leader"),
        ("KSV012", "default/Deployment/redis-leader"),
        ("KSV014", "default/Deployment/redis-leader"),
    ]
    apt = findings[0][1]
    assert apt.location.logical == "apt"
    assert apt.properties["target"] == "gcr.io/google_samples/gb-redis-follower:v2 (debian 10.4)"
    assert findings[3][1].location.start_line == 132
    # Newer `trivy k8s`: one Resources list.
    _, findings = read_all("trivy_k8s_cluster_resources.json", options)
    assert [(f.rule_id, f.category, f.location.path) for _, f in findings] == [
        ("AVD-KSV-0116", "configuration", "default/Service/kubernetes"),
        ("AVD-KSV-0116", "configuration", "default/Service/httpbin"),
    ]


def test_trivy_licenses(options):
    report, findings = read_all("trivy_image_licenses.json", options)
    assert report.format == "trivy" and len(findings) == 4
    gpl = findings[0][1]
    assert (gpl.rule_id, gpl.severity, gpl.category) == ("GPL-2.0", "high", "dependency")
    assert gpl.title == "restricted license GPL-2.0"
    assert gpl.location.path == "OS Packages" and gpl.location.logical == "alpine-baselayout"
    loose = findings[3][1]
    assert loose.location.path == "/etc/ssl/misc/CA.pl" and loose.severity == "low"


def test_zap_json_and_xml_agree(options):
    _, from_json = read_all("zap_traditional_one_alert_two_instances.json", options)
    report, from_xml = read_all("zap_traditional_one_alert_two_instances.xml", options)
    assert report.format == "zap" and report.runs[0].tool_version == "Dev Build"
    assert len(from_json) == len(from_xml) == 2
    for (_, a), (_, b) in zip(from_json, from_xml, strict=True):
        assert (a.rule_id, a.severity, a.category, a.cwe) == ("1", "high", "dynamic", ["CWE-123"])
        assert (a.rule_id, a.location, a.title) == (b.rule_id, b.location, b.title)
    assert from_json[0][1].location.path == "http://example.com/example_3"
    assert from_json[0][1].location.logical == "GET Test Param"


def test_zap_before_instances_one_alert_per_url(options):
    # ZAP 2.4 wrote each alert once per URL, with the URL on the alert itself.
    report, findings = read_all("zap_2.4.3_unmerged_alerts_without_instances.xml", options)
    assert report.runs[0].tool_version == "2.4.3"
    assert [(f.rule_id, f.severity, f.location.path) for _, f in findings] == [
        ("10016", "low", "http://localhost:8080/bodgeit"),
        ("10020", "medium", "http://localhost:8080/bodgeit"),
        ("10016", "low", "http://localhost:8080/robots.txt"),
    ]


def test_jsonl(options):
    report, findings = read_all("jsonl_three_findings.jsonl", options)
    assert report.format == "jsonl"
    assert [r.tool for r in report.runs] == ["custom-check", "other-check"]
    assert [i for i, _ in findings] == [0, 0, 1]
    assert findings[0][1].properties == {"score": "7.5"}
    assert findings[2][1].location.snippet.startswith("hmac-sha256:")
