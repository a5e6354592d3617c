"""Bandit's native JSON report (``bandit -f json``).

Shape: ``{"errors": [...], "generated_at": ..., "metrics": {...},
"results": [...]}``; each result names ``test_id``, ``issue_severity``,
``issue_confidence``, ``issue_cwe``, ``filename``, ``line_range`` and
``code`` (the flagged lines with context, each prefixed by its number).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ijson

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    SECRET_CWES,
    Sanitizer,
    cwe_ids,
    head_text,
    integer,
    json_error,
    make_finding,
    make_location,
    open_json,
    prescan,
    stream_results,
)
from ledger.ingest.identity import redact_snippet
from schemas.finding import Finding, Severity

SEVERITIES: dict[str, Severity] = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
# Hard-coded password string, function argument and default argument.
SECRET_TESTS = frozenset({"B105", "B106", "B107"})


class BanditReader:
    """Bandit JSON reports."""

    name: ClassVar[str] = "bandit"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        return text.startswith("{") and '"generated_at"' in text and '"metrics"' in text

    def read(self, path: Path, options: ReadOptions) -> Report:
        prescan(path)
        with open_json(path) as stream:
            try:
                errors = list(ijson.items(stream, "errors.item", use_float=False))
            except ijson.JSONError as exc:
                raise json_error(path, exc) from None
        warnings = []
        if errors:
            warnings.append(f"bandit could not scan {len(errors)} file(s); the run is partial")
        run = RunInfo(tool="bandit", complete=not errors, warnings=tuple(warnings))
        report = Report(format=self.name, runs=[run], findings=iter(()), warnings=list(warnings))
        report.findings = _findings(path, options, report)
        return report


def _snippet(result: dict[str, Any]) -> str | None:
    """The flagged lines from ``code``, without the context lines or numbers."""
    code = result.get("code")
    if not isinstance(code, str):
        return None
    wanted = {n for n in result.get("line_range") or [] if type(n) is int}
    kept = []
    for line in code.splitlines():
        number, _, text = line.partition(" ")
        if number.isdigit() and (not wanted or int(number) in wanted):
            kept.append(text)
    return "\n".join(kept) or None


def _findings(path: Path, options: ReadOptions, report: Report) -> Iterator[tuple[int, Finding]]:
    return stream_results(
        path, report, lambda result, sanitizer: _finding(result, options, sanitizer)
    )


def _finding(result: dict[str, Any], options: ReadOptions, sanitizer: Sanitizer) -> Finding:
    test_id = sanitizer.text(result.get("test_id"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    cwe_raw = result.get("issue_cwe")
    cwe = cwe_ids([cwe_raw.get("id")] if isinstance(cwe_raw, dict) else [])
    secret = test_id in SECRET_TESTS or any(c in SECRET_CWES for c in cwe)
    snippet = _snippet(result)
    message = result.get("issue_text")
    if secret:
        # Bandit quotes the password it found in both the code and the message.
        snippet = redact_snippet(options.redact, snippet)
        message = options.redact(message) if isinstance(message, str) else None
    filename = result.get("filename")
    lines = [n for n in result.get("line_range") or [] if type(n) is int]
    column = result.get("col_offset")
    location = make_location(
        sanitizer.path(filename, options.repo_root),
        start_line=result.get("line_number"),
        end_line=max(lines) if lines else None,
        start_column=column + 1 if type(column) is int and column >= 0 else None,
        snippet=sanitizer.text(snippet, Limits.TEXT, "location.snippet"),
    )
    test_name = result.get("test_name")
    properties = {
        "confidence": result.get("issue_confidence"),
        "test_name": test_name,
        "end_column": integer(result.get("end_col_offset")),
    }
    return make_finding(
        tool="bandit",
        rule_id=test_id,
        severity=SEVERITIES.get(str(result.get("issue_severity")).upper(), "info"),
        title=sanitizer.text(test_name, Limits.TITLE, "title") or test_id,
        message=sanitizer.text(message, Limits.TEXT, "message"),
        location=location,
        cwe=cwe,
        category="secret" if secret else "code",
        help_uri=sanitizer.text(result.get("more_info"), Limits.PATH, "help_uri"),
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )
