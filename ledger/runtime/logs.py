"""Scanning access logs: files in, ENUM findings out.

:func:`scan_logs` streams every file through one
:class:`~ledger.runtime.enumeration.Detector` (files are read in the order
given, so give rotated logs oldest first) and turns what stands at the end
into :class:`~schemas.finding.Finding` records.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ledger.errors import InputError
from ledger.runtime.accesslog import LogFormat, ReadStats, read_requests
from ledger.runtime.enumeration import Detector, Episode
from ledger.runtime.policy import EnumerationPolicy, ratio
from ledger.text import json_line
from schemas.finding import Finding, Location, Severity

TOOL = "trailseal-runtime"
"""The ``tool`` of every runtime finding."""

_log = logging.getLogger(__name__)

_RULES: dict[str, tuple[Severity, str, list[str]]] = {
    "ENUM001": ("medium", "One subject read many distinct object ids on a route", ["CWE-639"]),
    "ENUM002": ("high", "One subject walked sequential object ids", ["CWE-639"]),
    "ENUM003": (
        "medium",
        "Most of one subject's requests for object ids were refused or missing",
        ["CWE-639"],
    ),
    "ENUM004": ("high", "One subject read objects first seen for other subjects", ["CWE-639"]),
    "ENUM005": ("medium", "One subject requested new object ids at a sustained rate", ["CWE-799"]),
    "ENUM006": ("medium", "One subject's requests came from many addresses", ["CWE-294"]),
}


@dataclass
class LogScan:
    """The outcome of :func:`scan_logs`: findings and what was read."""

    findings: list[Finding]
    files: list[ReadStats] = field(default_factory=list)
    unattributed: int = 0
    """Requests with neither a subject nor an address, left out of every rule."""

    def summary(self) -> str:
        """One line for stderr: lines read, lines skipped, findings."""
        lines = sum(f.lines for f in self.files)
        requests = sum(f.requests for f in self.files)
        text = f"{requests} requests in {lines} lines of {len(self.files)} file(s)"
        skipped = [f for f in self.files if f.skipped]
        if skipped:
            first = skipped[0]
            where = (
                f"{first.path} line {first.first_skipped[0]}: {first.first_skipped[1]}"
                if (first.first_skipped)
                else str(first.path)
            )
            text += (
                f"; {sum(f.skipped for f in skipped)} unreadable line(s) skipped (first: {where})"
            )
        return f"{text}; {len(self.findings)} finding(s)"


def scan_logs(
    paths: Iterable[Path],
    policy: EnumerationPolicy,
    fmt: LogFormat | None = None,
    fields: Mapping[str, str] | None = None,
) -> LogScan:
    """Read every log and return the ENUM findings.

    Raises :class:`~ledger.errors.InputError` for a file that cannot be read
    or is not an access log; skips and counts single unreadable lines.
    """
    detector = Detector(policy)
    scan = LogScan(findings=[])
    for path in paths:
        stats = ReadStats(path, fmt or "jsonl")
        scan.files.append(stats)
        for request in read_requests(path, fmt, fields, stats):
            detector.observe(request)
        if stats.skipped:
            _log.warning("%s: skipped %d unreadable line(s)", path, stats.skipped)
        _log.info("%s: %d requests in %d lines", path, stats.requests, stats.lines)
    scan.unattributed = detector.unattributed
    scan.findings = [finding(e, policy) for e in detector.finish()]
    return scan


def to_jsonl(findings: Iterable[Finding]) -> Iterator[str]:
    """Each finding as one line of JSON, the form ``trailseal ingest`` reads."""
    for item in findings:
        yield json_line(
            orjson.dumps(item.model_dump(mode="json", exclude_none=True)).decode("utf-8")
        )


def write_jsonl(
    findings: Iterable[Finding], path: Path, run: dict[str, object] | None = None
) -> None:
    """Write :func:`to_jsonl` lines to ``path``, after a run header line if given
    (``{"trailseal_run": run}``, see :mod:`ledger.ingest.formats.jsonl`)."""
    try:
        with path.open("w", encoding="utf-8") as stream:
            if run is not None:
                stream.write(orjson.dumps({"trailseal_run": run}).decode("utf-8") + "\n")
            for line in to_jsonl(findings):
                stream.write(line + "\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the findings: {exc.strerror or exc}") from exc


def finding(episode: Episode, policy: EnumerationPolicy) -> Finding:
    """The :class:`Finding` for one episode; every number in it is an integer."""
    severity, title, cwe = _RULES[episode.rule]
    counts = episode.counts
    properties: dict[str, object] = {
        "subject": episode.subject,
        "subject_source": episode.subject_source,
        "window_start": _stamp(episode.start),
        "window_end": _stamp(episode.end),
        "sample_ids": episode.samples,
        **counts,
        **episode.detail,
    }
    if episode.rule == "ENUM003" and counts.get("requests"):
        properties["miss_ratio"] = ratio(counts["misses"] / counts["requests"])
    digest = hashlib.sha256(
        f"{episode.rule}\0{episode.subject}\0{episode.route}".encode()
    ).hexdigest()
    return Finding(
        tool=TOOL,
        rule_id=episode.rule,
        severity=severity,
        title=title,
        message=_message(episode, policy),
        location=Location(path=episode.route, logical=episode.route),
        fingerprint=digest,
        cwe=cwe,
        category="runtime",
        properties=properties,
    )


def _message(episode: Episode, policy: EnumerationPolicy) -> str:
    c, who, route = episode.counts, episode.subject, episode.route
    span = f"between {_stamp(episode.start)} and {_stamp(episode.end)}"
    if episode.rule == "ENUM001":
        return (
            f"{who} requested {c['distinct_ids']} distinct ids on {route} {span}, "
            f"{c['unowned_requests']} of {c['requests']} requests missing or others' ids"
        )
    if episode.rule == "ENUM002":
        return f"{who} walked ids on {route} in steps of {c['step']} {span}"
    if episode.rule == "ENUM003":
        return f"{c['misses']} of {who}'s {c['requests']} requests on {route} missed {span}"
    if episode.rule == "ENUM004":
        return (
            f"{who} read {c['foreign_ids']} ids on {route} first seen for "
            f"{c['owners']} other subjects {span}"
        )
    if episode.rule == "ENUM005":
        return (
            f"{who} requested at least {policy.velocity_ids_per_minute} new ids a minute "
            f"on {route} for {c['minutes']} minutes {span}"
        )
    return f"{who} was seen from {c['addresses']} addresses {span}"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
