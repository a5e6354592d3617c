"""Helpers for the ingest reader tests: a fixed redaction key and a reader runner.

A module of its own name, not conftest: test modules import from it, and
several test directories have a conftest.
"""

from __future__ import annotations

from pathlib import Path

from ledger.ingest import registry
from ledger.ingest.base import ReadOptions, Report
from ledger.ingest.redact import make_redactor
from schemas.finding import Finding

FIXTURES = Path(__file__).parent / "fixtures"
REDACTION_KEY = bytes(range(32))


def make_options() -> ReadOptions:
    return ReadOptions(redact=make_redactor(REDACTION_KEY), repo_root="/ci/checkout")


def read_all(name: str | Path, options: ReadOptions, fmt: str | None = None):
    """Detect (or force) the format, read every finding, and check each one validates."""
    path = FIXTURES / name if isinstance(name, str) else name
    reader = registry.get_reader(fmt) if fmt else registry.detect_format(path)
    report: Report = reader.read(path, options)
    findings = list(report.findings)
    for _, finding in findings:
        # Readers build records without validation; full validation must agree.
        assert Finding.model_validate(finding.model_dump()) == finding
    return report, findings
