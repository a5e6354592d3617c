"""Semgrep's native JSON report (``semgrep --json``).

Shape: ``{"version", "results": [{check_id, path, start, end, extra:
{message, severity, metadata, lines, fingerprint, is_ignored}}], "errors",
"paths"}``. Logged out, Semgrep writes ``"requires login"`` in place of
both ``lines`` and ``fingerprint``; neither is then used for identity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ijson

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    Sanitizer,
    cwe_ids,
    head_text,
    is_placeholder,
    is_secret_rule,
    make_finding,
    make_location,
    open_json,
    prescan,
    stream_results,
    untrusted,
)
from ledger.ingest.identity import redact_snippet
from schemas.finding import Finding, Severity, Suppression

SEVERITIES: dict[str, Severity] = {
    "CRITICAL": "critical",
    "ERROR": "high",
    "HIGH": "high",
    "WARNING": "medium",
    "MEDIUM": "medium",
    "INFO": "low",
    "LOW": "low",
    "INVENTORY": "info",
    "EXPERIMENT": "info",
}


_NO_RESULTS = re.compile(r'"results"\s*:\s*\[\s*\]')


class SemgrepReader:
    """Semgrep JSON reports."""

    name: ClassVar[str] = "semgrep"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith("{") or '"generated_at"' in text:
            return False
        if '"check_id"' in text:
            return True
        # Versions before "paths" was added wrote just results and errors; with
        # no result there is no check_id either.
        return '"errors"' in text and (
            ('"paths"' in text and '"results"' in text) or _NO_RESULTS.search(text) is not None
        )

    def read(self, path: Path, options: ReadOptions) -> Report:
        prescan(path)
        with open_json(path) as stream:
            version = next(ijson.items(stream, "version"), None)
        with open_json(path) as stream:
            errors = list(ijson.items(stream, "errors.item", use_float=False))
        with open_json(path) as stream:
            fingerprints = [
                fp
                for fp in ijson.items(stream, "results.item.extra.fingerprint")
                if isinstance(fp, str)
            ]
        # An error, or a warning that names a file (a syntax error that made
        # Semgrep skip part of it, a rule that timed out on it), means the
        # target was not fully scanned: the run must not close findings.
        blocking = [
            e
            for e in errors
            if isinstance(e, dict) and (e.get("level") == "error" or e.get("path") is not None)
        ]
        warnings = []
        if blocking:
            warnings.append(
                f"semgrep reported {len(blocking)} error(s) or skipped part(s) of files; "
                "the run is partial"
            )
        run = RunInfo(
            tool="semgrep",
            tool_version=str(version)[: Limits.IDENTIFIER] if isinstance(version, str) else None,
            complete=not blocking,
            warnings=tuple(warnings),
        )
        report = Report(
            format=self.name,
            runs=[run],
            findings=iter(()),
            warnings=list(warnings),
            untrusted_fingerprints=untrusted(fingerprints),
        )
        report.findings = _findings(path, options, report)
        return report


def _findings(path: Path, options: ReadOptions, report: Report) -> Iterator[tuple[int, Finding]]:
    return stream_results(
        path, report, lambda result, sanitizer: _finding(result, options, sanitizer)
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _finding(result: dict[str, Any], options: ReadOptions, sanitizer: Sanitizer) -> Finding:
    check_id = sanitizer.text(result.get("check_id"), Limits.IDENTIFIER, "rule_id")
    check_id = check_id or "unidentified"
    extra = _obj(result.get("extra"))
    metadata = _obj(extra.get("metadata"))
    tags = [t for t in _list(metadata.get("tags")) if isinstance(t, str)]
    cwe = cwe_ids(_list(metadata.get("cwe")))
    secret = (
        is_secret_rule([*tags, str(metadata.get("category", ""))], cwe) or ".secrets." in check_id
    )

    lines = extra.get("lines")
    snippet = lines if isinstance(lines, str) and not is_placeholder(lines) else None
    message = extra.get("message") if isinstance(extra.get("message"), str) else None
    if secret:
        snippet = redact_snippet(options.redact, snippet)
        message = options.redact(message) if message else None
    start, end = _obj(result.get("start")), _obj(result.get("end"))
    raw_path = result.get("path")
    location = make_location(
        sanitizer.path(raw_path, options.repo_root),
        start_line=start.get("line"),
        end_line=end.get("line"),
        start_column=start.get("col"),
        snippet=sanitizer.text(snippet, Limits.TEXT, "location.snippet"),
    )
    suppressions = []
    if extra.get("is_ignored") is True:
        suppressions.append(Suppression.model_construct(kind="inSource", status="accepted"))
    references = _list(metadata.get("references"))
    properties = {
        "semgrep_severity": extra.get("severity"),
        "confidence": metadata.get("confidence"),
        "likelihood": metadata.get("likelihood"),
        "impact": metadata.get("impact"),
        "category": metadata.get("category"),
        "tags": tags or None,
        "references": references or None,
        "validation_state": extra.get("validation_state"),
    }
    fingerprint = extra.get("fingerprint")
    title = check_id.rsplit(".", 1)[-1]
    return make_finding(
        tool="semgrep",
        rule_id=check_id,
        severity=SEVERITIES.get(str(extra.get("severity")).upper(), "medium"),
        title=sanitizer.text(title, Limits.TITLE, "title") or check_id,
        message=sanitizer.text(message, Limits.TEXT, "message"),
        location=location,
        fingerprint=sanitizer.text(fingerprint, Limits.IDENTIFIER, "fingerprint"),
        cwe=cwe,
        category="secret" if secret else "code",
        help_uri=sanitizer.text(
            metadata.get("source") or (references[0] if references else None),
            Limits.PATH,
            "help_uri",
        ),
        suppressions=suppressions,
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
