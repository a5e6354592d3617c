"""Runtime findings: object-id enumeration in access logs, and signing-key drift.

Two checks whose evidence only exists while a system runs, recorded in the
same ledger as scanner findings:

- :func:`scan_logs` reads access logs (JSON Lines or Combined Log Format,
  plain or gzip, streamed) and reports the ENUM rules of
  :mod:`ledger.runtime.enumeration`;
- :func:`check_drift` compares the keys each service trusts with the
  current JWKS and reports the KEY rules of :mod:`ledger.runtime.drift`;
  :func:`public_jwks` is the key set as it may be recorded.
"""

from __future__ import annotations

from ledger.runtime.logs import TOOL, LogScan, scan_logs
from ledger.runtime.policy import EnumerationPolicy, load_policy

__all__ = ["TOOL", "EnumerationPolicy", "LogScan", "load_policy", "scan_logs"]
