"""Rendering a scan as SARIF 2.1.0, and as trailseal :class:`~schemas.finding.Finding` records.

The SARIF follows what GitHub code scanning reads: rules with help text,
``tags`` carrying ``external/cwe/cwe-N``, ``properties.security-severity``,
and ``partialFingerprints`` that survive lines moving, so alerts keep their
identity across commits (SARIF 2.1.0 section 3.27.17).
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from ledger.scan.engine import ScanFinding, ScanReport
from ledger.scan.rules import CWE_PAGE, OWASP_API1, RULES, Rule
from schemas.finding import Finding, Location, Suppression

TOOL_NAME = "trailseal-scan"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "trailsealFingerprint/v1"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def tool_version() -> str:
    """The installed trailseal version, or the source tree's when not installed."""
    try:
        return importlib.metadata.version("trailseal")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"


def to_sarif(report: ScanReport) -> dict[str, Any]:
    """The SARIF log of ``report``: one run, every rule of the catalogue."""
    rules = list(RULES.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": tool_version(),
                "semanticVersion": tool_version(),
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule.id]) for f in report.findings],
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": text}} for text in report.warnings
                ],
            }
        ],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def write_sarif(report: ScanReport, out: Path) -> None:
    """Write the SARIF log of ``report`` to ``out`` (UTF-8, sorted keys, trailing newline)."""
    out.write_text(json.dumps(to_sarif(report), indent=2, sort_keys=True) + "\n", "utf-8")


def _rule(rule: Rule) -> dict[str, Any]:
    cwe_tags = [f"external/cwe/{c.lower()}" for c in rule.cwe]
    described: dict[str, Any] = {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": _markdown(rule)},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {
            "tags": ["security", *rule.cwe, *cwe_tags],
            "security-severity": rule.security_severity,
            "precision": "high",
            "problem.severity": "error" if rule.severity in {"critical", "high"} else "warning",
        },
    }
    if rule.help_uri is not None:
        described["helpUri"] = rule.help_uri
    return described


def _markdown(rule: Rule) -> str:
    """The help text with links to the weaknesses it names."""
    links = [f"[{cwe}]({CWE_PAGE.format(cwe.removeprefix('CWE-'))})" for cwe in rule.cwe]
    if rule.family == "BOLA":
        links.append(f"[OWASP API1:2023]({OWASP_API1})")
    refs = f"\n\nReferences: {', '.join(links)}." if links else ""
    return f"**{rule.title}**\n\n{rule.help}{refs}"


def _result(finding: ScanFinding, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
        "snippet": {"text": finding.snippet},
    }
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }
    if finding.logical:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.logical, "kind": "function"}]
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.rule.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.rule.severity,
            "security-severity": finding.rule.security_severity,
        },
    }
    if finding.suppression is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": finding.suppression}]
    return result


def to_findings(report: ScanReport) -> list[Finding]:
    """The report as trailseal finding records (``category="code"``)."""
    return [
        Finding(
            tool=TOOL_NAME,
            rule_id=f.rule.id,
            severity=f.rule.severity,
            title=f.rule.title,
            message=f.message,
            location=Location(
                path=f.path,
                start_line=f.line,
                end_line=f.end_line,
                start_column=f.column,
                snippet=f.snippet,
                logical=f.logical or None,
            ),
            fingerprint=f.fingerprint,
            cwe=list(f.rule.cwe),
            category="code",
            help_uri=f.rule.help_uri,
            suppressions=[Suppression(kind="inSource", justification=f.suppression)]
            if f.suppression is not None
            else [],
        )
        for f in report.findings
    ]
