"""Trivy's JSON report (``trivy ... --format json``, SchemaVersion 2).

Shape: ``{"SchemaVersion": 2, "ArtifactName", "Results": [{"Target",
"Class", "Type", "Vulnerabilities": [...], "Misconfigurations": [...],
"Secrets": [...]}]}``. Vulnerabilities become ``dependency`` findings,
failed misconfiguration checks ``configuration`` findings, and secrets
``secret`` findings whose ``Match`` is replaced by a keyed digest; the
surrounding ``Code.Lines`` of a secret are dropped, because Trivy masks
only the matched line and its neighbours may hold other secrets.

Results are streamed one ``Results`` entry (one target) at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ijson

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    Sanitizer,
    cwe_ids,
    fail,
    head_text,
    json_error,
    make_finding,
    make_location,
    open_json,
    prescan,
    untrusted,
)
from schemas.finding import Finding, Severity

SEVERITIES: dict[str, Severity] = {
    "CRITICAL": "critical",
    "HIGH": "high",
    "MEDIUM": "medium",
    "LOW": "low",
    "UNKNOWN": "info",
}


class TrivyReader:
    """Trivy JSON reports: vulnerabilities, misconfigurations and secrets."""

    name: ClassVar[str] = "trivy"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        return (
            text.startswith("{")
            and '"SchemaVersion"' in text
            and ('"ArtifactName"' in text or '"Results"' in text)
        )

    def read(self, path: Path, options: ReadOptions) -> Report:
        prescan(path)
        with open_json(path) as stream:
            version = next(ijson.items(stream, "Trivy.Version"), None)
        with open_json(path) as stream:
            schema = next(ijson.items(stream, "SchemaVersion"), None)
        if schema != 2:
            raise fail(
                path, "$.SchemaVersion", f"is {schema!r}; only Trivy's SchemaVersion 2 is read."
            )
        with open_json(path) as stream:
            fingerprints = [
                fp
                for fp in ijson.items(stream, "Results.item.Vulnerabilities.item.Fingerprint")
                if isinstance(fp, str)
            ]
        run = RunInfo(
            tool="trivy",
            tool_version=version[: Limits.IDENTIFIER] if isinstance(version, str) else None,
        )
        report = Report(
            format=self.name,
            runs=[run],
            findings=iter(()),
            untrusted_fingerprints=untrusted(fingerprints),
        )
        report.findings = _findings(path, options, report)
        return report


def _findings(path: Path, options: ReadOptions, report: Report) -> Iterator[tuple[int, Finding]]:
    sanitizer = Sanitizer()
    skipped = 0
    with open_json(path) as stream:
        try:
            for index, result in enumerate(ijson.items(stream, "Results.item", use_float=False)):
                if not isinstance(result, dict):
                    raise fail(path, f"$.Results[{index}]", "a result must be a JSON object.")
                target = result.get("Target")
                target_path = sanitizer.path(target, options.repo_root)
                for vuln in _dicts(result.get("Vulnerabilities")):
                    yield 0, _vulnerability(vuln, target_path, result, sanitizer)
                for check in _dicts(result.get("Misconfigurations")):
                    if str(check.get("Status", "FAIL")).upper() != "FAIL":
                        skipped += 1
                        continue
                    yield 0, _misconfiguration(check, target_path, result, sanitizer)
                for secret in _dicts(result.get("Secrets")):
                    yield 0, _secret(secret, target_path, options, sanitizer)
        except ijson.JSONError as exc:
            raise json_error(path, exc) from None
    if skipped:
        report.warnings.append(f"{skipped} passed or exempted misconfiguration check(s) skipped")
    report.warnings.extend(sanitizer.warnings())


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _severity(value: Any) -> Severity:
    return SEVERITIES.get(str(value).upper(), "info")


def _vulnerability(
    vuln: dict[str, Any], target: str | None, result: dict[str, Any], sanitizer: Sanitizer
) -> Finding:
    vuln_id = sanitizer.text(vuln.get("VulnerabilityID"), Limits.IDENTIFIER, "rule_id")
    vuln_id = vuln_id or "unidentified"
    package = vuln.get("PkgName") if isinstance(vuln.get("PkgName"), str) else None
    pkg_path = vuln.get("PkgPath") if isinstance(vuln.get("PkgPath"), str) else None
    title = vuln.get("Title") if isinstance(vuln.get("Title"), str) else None
    identifier = vuln.get("PkgIdentifier")
    references = vuln.get("References")
    properties = {
        "package": package,
        "package_path": pkg_path,
        "installed_version": vuln.get("InstalledVersion"),
        "fixed_version": vuln.get("FixedVersion"),
        "status": vuln.get("Status"),
        "purl": identifier.get("PURL") if isinstance(identifier, dict) else None,
        "severity_source": vuln.get("SeveritySource"),
        "vendor_severity": vuln.get("VendorSeverity"),
        "cvss": vuln.get("CVSS"),
        "references": references[:20] if isinstance(references, list) else None,
        "published": vuln.get("PublishedDate"),
        "last_modified": vuln.get("LastModifiedDate"),
        "target_class": result.get("Class"),
        "target_type": result.get("Type"),
    }
    # The message leaves out the installed version, so an upgrade that is
    # still vulnerable keeps the finding's identity.
    return make_finding(
        tool="trivy",
        rule_id=vuln_id,
        severity=_severity(vuln.get("Severity")),
        title=sanitizer.text(title, Limits.TITLE, "title") or vuln_id,
        message=sanitizer.text(
            f"{package}: {title}" if package and title else title or package,
            Limits.TEXT,
            "message",
        ),
        location=make_location(
            target,
            logical=sanitizer.text(
                f"{pkg_path}:{package}" if pkg_path else package, Limits.TEXT, "location.logical"
            ),
        ),
        fingerprint=sanitizer.text(vuln.get("Fingerprint"), Limits.IDENTIFIER, "fingerprint"),
        cwe=cwe_ids(vuln.get("CweIDs") or []),
        category="dependency",
        help_uri=sanitizer.text(vuln.get("PrimaryURL"), Limits.PATH, "help_uri"),
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )


def _misconfiguration(
    check: dict[str, Any], target: str | None, result: dict[str, Any], sanitizer: Sanitizer
) -> Finding:
    rule_id = check.get("AVDID") or check.get("ID")
    rule_id = sanitizer.text(rule_id, Limits.IDENTIFIER, "rule_id") or "unidentified"
    cause = _obj(check.get("CauseMetadata"))
    code = _obj(cause.get("Code"))
    lines = [
        str(line["Content"])
        for line in _dicts(code.get("Lines"))
        if line.get("IsCause") and isinstance(line.get("Content"), str)
    ]
    references = check.get("References")
    properties = {
        "id": check.get("ID"),
        "type": check.get("Type"),
        "namespace": check.get("Namespace"),
        "resolution": check.get("Resolution"),
        "description": check.get("Description"),
        "references": references[:20] if isinstance(references, list) else None,
        "provider": cause.get("Provider"),
        "service": cause.get("Service"),
        "resource": cause.get("Resource"),
        "target_type": result.get("Type"),
    }
    return make_finding(
        tool="trivy",
        rule_id=rule_id,
        severity=_severity(check.get("Severity")),
        title=sanitizer.text(check.get("Title"), Limits.TITLE, "title") or rule_id,
        message=sanitizer.text(check.get("Message"), Limits.TEXT, "message"),
        location=make_location(
            target,
            start_line=cause.get("StartLine"),
            end_line=cause.get("EndLine"),
            snippet=sanitizer.text("\n".join(lines) or None, Limits.TEXT, "location.snippet"),
            logical=sanitizer.text(cause.get("Resource"), Limits.TEXT, "location.logical"),
        ),
        category="configuration",
        help_uri=sanitizer.text(check.get("PrimaryURL"), Limits.PATH, "help_uri"),
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )


def _secret(
    secret: dict[str, Any], target: str | None, options: ReadOptions, sanitizer: Sanitizer
) -> Finding:
    rule_id = sanitizer.text(secret.get("RuleID"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    match = secret.get("Match")
    title = sanitizer.text(secret.get("Title"), Limits.TITLE, "title") or rule_id
    properties = {"secret_category": secret.get("Category")}
    return make_finding(
        tool="trivy",
        rule_id=rule_id,
        severity=_severity(secret.get("Severity")),
        title=title,
        message=title,
        location=make_location(
            target,
            start_line=secret.get("StartLine"),
            end_line=secret.get("EndLine"),
            snippet=options.redact(match) if isinstance(match, str) and match else None,
        ),
        cwe=["CWE-798"],
        category="secret",
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )
