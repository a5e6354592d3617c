"""Trivy's JSON reports (``trivy ... --format json``).

Three shapes carry the same result objects:

* SchemaVersion 2 (Trivy 0.20 and later): ``{"SchemaVersion": 2,
  "ArtifactName", "Results": [{"Target", "Class", "Type",
  "Vulnerabilities": [...], "Misconfigurations": [...], "Secrets": [...],
  "Licenses": [...]}]}``;
* the list written before SchemaVersion 2: ``[{"Target", "Type",
  "Vulnerabilities"}]``;
* ``trivy k8s``: ``{"ClusterName", "Resources": [{"Namespace", "Kind",
  "Name", "Results": [...]}]}``, or in older releases the resources split
  into top-level ``Vulnerabilities`` and ``Misconfigurations`` lists. A
  finding's path is then the resource (``namespace/Kind/name``), since the
  same image or manifest name can run in several namespaces.

Vulnerabilities become ``dependency`` findings, as do licences that a
license scan classified; failed misconfiguration checks become
``configuration`` findings, and secrets ``secret`` findings whose
``Match`` is replaced by a keyed digest; the surrounding ``Code.Lines`` of
a secret are dropped, because Trivy masks only the matched line and its
neighbours may hold other secrets.

Results are streamed one ``Results`` entry (one target), or one k8s
resource, at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
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
from ledger.ingest.identity import redact_snippet
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
        if text.startswith("["):
            # The list written before SchemaVersion 2.
            return '"Target"' in text and ('"Vulnerabilities"' in text or '"Type"' in text)
        if not text.startswith("{"):
            return False
        if '"ClusterName"' in text:
            return any(f'"{key}"' in text for key in _K8S_LISTS)
        return '"SchemaVersion"' in text and ('"ArtifactName"' in text or '"Results"' in text)

    def read(self, path: Path, options: ReadOptions) -> Report:
        top: list[tuple[str, Any]] = []
        prescan(path, lambda event, value, depth: _top_level(top, event, value, depth))
        if top and top[0][0] == "start_array":
            sources = [_Source("item", "$", False)]
        else:
            keys = {value for event, value in top if event == "map_key"}
            if "ClusterName" in keys or "Resources" in keys:
                sources = [
                    _Source(f"{key}.item", f"$.{key}", True) for key in _K8S_LISTS if key in keys
                ]
            else:
                with open_json(path) as stream:
                    schema = next(ijson.items(stream, "SchemaVersion"), None)
                if schema != 2:
                    raise fail(
                        path,
                        "$.SchemaVersion",
                        f"is {schema!r}; Trivy's SchemaVersion 2 report, its earlier list of "
                        "results and its k8s report are read.",
                    )
                sources = [_Source("Results.item", "$.Results", False)]
        with open_json(path) as stream:
            version = next(ijson.items(stream, "Trivy.Version"), None)
        fingerprints: list[str] = []
        for source in sources:
            results = f"{source.prefix}.Results.item" if source.resources else source.prefix
            with open_json(path) as stream:
                fingerprints.extend(
                    fp
                    for fp in ijson.items(stream, f"{results}.Vulnerabilities.item.Fingerprint")
                    if isinstance(fp, str)
                )
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
        report.findings = _findings(path, sources, options, report)
        return report


_K8S_LISTS = ("Resources", "Vulnerabilities", "Misconfigurations")
"""Top-level lists of k8s resources in ``trivy k8s`` reports, new and old."""


@dataclass(frozen=True)
class _Source:
    """Where result objects are: an ijson prefix, its JSON path, and whether
    each item there is a k8s resource holding ``Results`` of its own."""

    prefix: str
    where: str
    resources: bool


def _top_level(top: list[tuple[str, Any]], event: str, value: Any, depth: int) -> None:
    """Keep the document's first event and its top-level keys."""
    if not top or (event == "map_key" and depth == 1):
        top.append((event, value))


def _findings(
    path: Path, sources: list[_Source], options: ReadOptions, report: Report
) -> Iterator[tuple[int, Finding]]:
    sanitizer = Sanitizer()
    skipped: Counter[str] = Counter()
    for source in sources:
        with open_json(path) as stream:
            try:
                items = ijson.items(stream, source.prefix, use_float=False)
                for index, item in enumerate(items):
                    where = f"{source.where}[{index}]"
                    if not isinstance(item, dict):
                        what = "k8s resource" if source.resources else "result"
                        raise fail(path, where, f"a {what} must be a JSON object.")
                    if not source.resources:
                        for finding in _result(item, None, options, sanitizer, skipped):
                            yield 0, finding
                        continue
                    resource = _resource_path(item, sanitizer)
                    for result in _dicts(item.get("Results")):
                        for finding in _result(result, resource, options, sanitizer, skipped):
                            yield 0, finding
            except ijson.JSONError as exc:
                raise json_error(path, exc) from None
    if skipped:
        report.warnings.append(
            f"{skipped['checks']} passed or exempted misconfiguration check(s) skipped"
        )
    report.warnings.extend(sanitizer.warnings())


def _resource_path(resource: dict[str, Any], sanitizer: Sanitizer) -> str | None:
    """``namespace/Kind/name`` of a k8s resource (no namespace when cluster-scoped)."""
    parts = [resource.get(key) for key in ("Namespace", "Kind", "Name")]
    text = "/".join(part for part in parts if isinstance(part, str) and part)
    return sanitizer.text(text, Limits.PATH, "location.path")


def _result(
    result: dict[str, Any],
    resource: str | None,
    options: ReadOptions,
    sanitizer: Sanitizer,
    skipped: Counter[str],
) -> Iterator[Finding]:
    """The findings of one result (one target): the resource's path if given."""
    target = sanitizer.path(result.get("Target"), options.repo_root)
    if resource is not None:
        result = {**result, "Resource": resource}
    where = resource or target
    for vuln in _dicts(result.get("Vulnerabilities")):
        yield _vulnerability(vuln, where, result, sanitizer)
    for check in _dicts(result.get("Misconfigurations")):
        if str(check.get("Status", "FAIL")).upper() != "FAIL":
            skipped["checks"] += 1
            continue
        yield _misconfiguration(check, where, result, sanitizer)
    for secret in _dicts(result.get("Secrets")):
        yield _secret(secret, where, options, sanitizer)
    for license_ in _dicts(result.get("Licenses")):
        yield _license(license_, target, resource, result, options, sanitizer)


def _k8s(result: dict[str, Any]) -> dict[str, Any]:
    """The k8s resource and the original target, for results of a k8s report."""
    if "Resource" not in result:
        return {}
    return {"k8s_resource": result["Resource"], "target": result.get("Target")}


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
        **_k8s(result),
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
        **_k8s(result),
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
            snippet=redact_snippet(options.redact, match) if isinstance(match, str) else None,
        ),
        cwe=["CWE-798"],
        category="secret",
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )


def _license(
    license_: dict[str, Any],
    target: str | None,
    resource: str | None,
    result: dict[str, Any],
    options: ReadOptions,
    sanitizer: Sanitizer,
) -> Finding:
    """A licence classified by ``--scanners license``: a package's, or a file's."""
    name = sanitizer.text(license_.get("Name"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    category = license_.get("Category") if isinstance(license_.get("Category"), str) else None
    package = license_.get("PkgName") if isinstance(license_.get("PkgName"), str) else None
    file_path = sanitizer.path(license_.get("FilePath"), options.repo_root)
    title = f"{category} license {name}" if category else f"License {name}"
    properties = {
        "license_category": category,
        "package": package or None,
        "file_path": license_.get("FilePath") or None,
        "confidence": license_.get("Confidence"),
        "link": license_.get("Link") or None,
        "target_class": result.get("Class"),
        **_k8s(result),
    }
    return make_finding(
        tool="trivy",
        rule_id=name,
        severity=_severity(license_.get("Severity")),
        title=sanitizer.text(title, Limits.TITLE, "title") or name,
        message=sanitizer.text(f"{package}: {title}" if package else title, Limits.TEXT, "message"),
        location=make_location(
            resource or file_path or target,
            logical=sanitizer.text(package or None, Limits.TEXT, "location.logical"),
        ),
        category="dependency",
        help_uri=sanitizer.text(license_.get("Link") or None, Limits.PATH, "help_uri"),
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )
