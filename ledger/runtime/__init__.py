"""Runtime findings: object-id enumeration in access logs, and signing-key drift.

Two checks whose evidence only exists while a system runs, recorded in the
same ledger as scanner findings:

- :func:`scan_logs` reads access logs (Combined Log Format and its
  relatives, JSON Lines from nginx, Traefik, Caddy or Google Cloud, W3C
  from IIS or CloudFront, AWS ALB/ELB, Envoy/Istio; plain or gzip,
  streamed) and reports the ENUM rules of
  :mod:`ledger.runtime.enumeration`;
- :func:`check_drift` compares the keys each service trusts with the
  current JWKS and reports the KEY rules of :mod:`ledger.runtime.drift`;
  :func:`public_jwks` is the key set as it may be recorded.
"""

from __future__ import annotations

from ledger.runtime.drift import Service, check_drift
from ledger.runtime.jwk import KeyInfo, load_jwks, load_keys, public_jwks, thumbprint
from ledger.runtime.logs import TOOL, LogScan, scan_logs
from ledger.runtime.policy import EnumerationPolicy, load_policy

__all__ = [
    "TOOL",
    "EnumerationPolicy",
    "KeyInfo",
    "LogScan",
    "Service",
    "check_drift",
    "load_jwks",
    "load_keys",
    "load_policy",
    "public_jwks",
    "scan_logs",
    "thumbprint",
]
