"""Static analysis of Python web services for JWT misuse and broken object-level
authorisation (BOLA), with SARIF 2.1.0 output.

Source is parsed, never imported or run. :func:`scan` returns a
:class:`ScanReport`; :func:`write_sarif` renders it for GitHub code scanning
and for ``trailseal ingest``.
"""

from __future__ import annotations

from ledger.scan.engine import ScanFinding, ScanReport, scan
from ledger.scan.rules import RULES, SEVERITY_ORDER, Rule
from ledger.scan.sarif import to_findings, to_sarif, write_sarif

__all__ = [
    "RULES",
    "SEVERITY_ORDER",
    "Rule",
    "ScanFinding",
    "ScanReport",
    "scan",
    "to_findings",
    "to_sarif",
    "write_sarif",
]
