"""The evidence as an OSCAL assessment-results document (OSCAL 1.1.2, JSON).

Mapping, from the same :class:`ReportData` the PDF is drawn from:

- ``metadata``: the organisation as a party; the checkpoint (origin, tree size,
  root hash, key id) as properties; ``last-modified`` is the checkpoint time.
- ``back-matter``: one resource per artifact, named by its SHA-256 with an
  RFC 6920 ``ni:`` URI, and one describing how the evidence was collected,
  which ``import-ap`` points to (trailseal has no separate assessment plan).
- one ``result`` for the period, reviewing the SOC 2 criteria the evidence
  serves; ``observations`` for each scan run, finding, cadence gap, risk
  acceptance and triage decision; one ``finding`` per criterion whose state
  is an automated reading of the evidence, not an auditor's conclusion.

Every UUID is a version 5 UUID of the content it names, so the same data
always gives the same document. Untrusted strings keep their text but lose
control and bidirectional characters (shown as ``[U+XXXX]``), and property
values are trimmed to fit OSCAL's string pattern.
"""

from __future__ import annotations

import base64
import json
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, time
from typing import Any

from ledger.export import metrics
from ledger.export.model import FindingRow, ReportData, ScanRun

OSCAL_VERSION = "1.1.2"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://trailseal.dev/ns/oscal")
PROPS_NS = "https://trailseal.dev/ns/oscal"

CRITERIA = ("cc3.2", "cc4.2", "cc6.8", "cc7.1", "cc7.2", "cc7.3", "cc7.4", "cc8.1")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def clean(text: str | None) -> str:
    """``text`` with control, format (bidi, zero-width), line and paragraph
    separator and unassigned characters marked."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():
        return text
    return "".join(f"[U+{ord(c):04X}]" if unicodedata.category(c) in _MARKED else c for c in text)


_MARKED = frozenset({"Cc", "Cf", "Cn", "Cs", "Zl", "Zp"})


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _props(pairs: Iterable[tuple[str, object]]) -> list[dict[str, str]]:
    """OSCAL properties in our namespace, skipping empty values."""
    props = []
    for name, value in pairs:
        text = clean(str(value)).strip() if value is not None else ""
        if text:
            props.append({"name": name, "ns": PROPS_NS, "value": text})
    return props


def _ni(sha256: str) -> str:
    """RFC 6920 named-information URI for a SHA-256 hex digest."""
    raw = bytes.fromhex(sha256)
    return "ni:///sha-256;" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _with(obj: dict[str, Any], **optional: Any) -> dict[str, Any]:
    # OSCAL arrays have minItems 1 and strings a non-blank pattern: leave empties out.
    obj.update({k.replace("_", "-"): v for k, v in optional.items() if v})
    return obj


# --- observations -----------------------------------------------------------------


def _artifact_resource(run: ScanRun) -> str:
    return _uuid("artifact", run.sha256)


def _run_observation(run: ScanRun) -> dict[str, Any]:
    outcome = "failed" if not run.successful else ("partial" if not run.complete else "complete")
    return _with(
        {
            "uuid": _uuid("run", run.sha256, run.seq),
            "title": clean(f"{run.tool} run on {run.repository or 'unknown repository'}"),
            "description": clean(
                f"{run.tool} {run.tool_version or ''} scanned {run.repository or '?'} at commit "
                f"{run.commit or '?'}; outcome {outcome}, {run.results} result(s). Recorded as "
                f"ledger entry {run.seq}."
            ),
            "methods": ["TEST"],
            "collected": _stamp(run.time),
        },
        props=_props(
            [
                ("tool", run.tool),
                ("tool-version", run.tool_version),
                ("format", run.format),
                ("repository", run.repository),
                ("commit", run.commit),
                ("branch", run.branch),
                ("pipeline-run", run.pipeline_run),
                ("outcome", outcome),
                ("results", run.results),
                ("ledger-seq", run.seq),
                ("artifact-sha256", run.sha256),
            ]
        ),
        relevant_evidence=[
            {
                "href": f"#{_artifact_resource(run)}",
                "description": clean(f"Artifact {run.name}, SHA-256 {run.sha256}"),
            }
        ],
    )


def _finding_observation(row: FindingRow, artifacts: set[str]) -> dict[str, Any]:
    evidence = []
    if row.artifact_sha256 in artifacts:
        evidence.append(
            {
                "href": f"#{_uuid('artifact', row.artifact_sha256)}",
                "description": f"Artifact with SHA-256 {row.artifact_sha256}",
            }
        )
    return _with(
        {
            "uuid": _finding_uuid(row),
            "title": clean(row.title) or clean(row.rule_id),
            "description": clean(
                f"{row.severity} {row.category} finding {row.finding_id}: {row.tool} rule "
                f"{row.rule_id} at {row.location or 'no location'}; status {row.status}."
            ),
            "methods": ["TEST"],
            "types": ["finding"],
            "collected": _stamp(row.first_seen),
        },
        props=_props(
            [
                ("finding-id", row.finding_id),
                ("tool", row.tool),
                ("rule-id", row.rule_id),
                ("severity", row.severity),
                ("category", row.category),
                ("repository", row.repository),
                ("location", row.location),
                ("status", row.status),
                ("first-seen", _stamp(row.first_seen)),
                ("last-seen", _stamp(row.last_seen)),
                ("fixed-at", row.fixed_at and _stamp(row.fixed_at)),
                ("sla-due", row.sla_due and _stamp(row.sla_due)),
                ("sla-result", row.sla_result),
                ("ledger-seq", row.seq),
                ("artifact-sha256", row.artifact_sha256),
            ]
        ),
        relevant_evidence=evidence,
    )


def _finding_uuid(row: FindingRow) -> str:
    return _uuid("finding", row.finding_id)


# --- the document -----------------------------------------------------------------


class _Builder:
    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.runs = sorted(data.runs, key=lambda r: (r.time, r.seq))
        self.findings = metrics.sort_findings(data.findings)
        self.observations: list[dict[str, Any]] = []
        self.artifacts = {r.sha256 for r in self.runs}

    def observe(self, observation: dict[str, Any]) -> str:
        self.observations.append(observation)
        return str(observation["uuid"])

    def document(self) -> dict[str, Any]:
        data, basis = self.data, self.data.basis
        org = _uuid("party", data.scope.organisation)
        plan = _uuid("plan", basis.origin)
        start = datetime.combine(data.period.start, time.min, tzinfo=basis.checkpoint_time.tzinfo)
        # The end of the period if the ledger shows it is over, else the checkpoint's time.
        end = max(data.as_of, start)

        run_ids = {(r.sha256, r.seq): self.observe(_run_observation(r)) for r in self.runs}
        # Finding observations are the bulk of the document: they are made one
        # at a time while it is written (see all_observations()), never all at once.
        finding_ids = {f.finding_id: _finding_uuid(f) for f in self.findings}
        findings = self.criteria(run_ids, finding_ids, start, end)
        observed = len(self.observations) + len(self.findings)

        result = _with(
            {
                "uuid": _uuid("result", basis.origin, basis.root_hash, data.period.start),
                "title": f"Security findings evidence, {data.period.start} to {data.period.end}",
                "description": clean(
                    f"Scanner runs and findings recorded in the ledger {basis.origin} for "
                    f"{data.scope.organisation}, as committed to by the signed checkpoint of "
                    f"{basis.tree_size} entries with root hash {basis.root_hash}."
                ),
                "start": _stamp(start),
                "end": _stamp(end),
                "reviewed-controls": {
                    "control-selections": [
                        {
                            "description": "AICPA 2017 Trust Services Criteria (SOC 2)",
                            "include-controls": [{"control-id": c} for c in CRITERIA],
                        }
                    ]
                },
            },
            observations=_OBSERVATIONS if observed else None,
            findings=findings,
        )
        resources: list[dict[str, Any]] = [
            {
                "uuid": plan,
                "title": "trailseal evidence collection",
                "description": "Scanner outputs from CI and runtime checks are recorded as "
                "entries of an append-only, signed Merkle-tree ledger; this document and the "
                "accompanying report are derived from a verified checkpoint of it.",
            }
        ]
        resources += [
            {
                "uuid": _artifact_resource(run),
                "title": clean(run.name) or run.sha256,
                "rlinks": [
                    {
                        "href": _ni(run.sha256),
                        "hashes": [{"algorithm": "SHA-256", "value": run.sha256}],
                    }
                ],
            }
            for run in {r.sha256: r for r in self.runs}.values()
        ]
        return {
            "assessment-results": {
                "uuid": _uuid("assessment-results", basis.origin, basis.root_hash, data.period),
                "metadata": {
                    "title": clean(f"{data.title}: {data.scope.organisation}"),
                    "last-modified": _stamp(basis.checkpoint_time),
                    "version": f"{basis.tree_size}",
                    "oscal-version": OSCAL_VERSION,
                    "props": _props(
                        [
                            ("ledger-origin", basis.origin),
                            ("tree-size", basis.tree_size),
                            ("root-hash", basis.root_hash),
                            ("key-id", basis.key_id),
                            ("verified", "true" if data.verification.verified else "false"),
                        ]
                    ),
                    "parties": [
                        _with(
                            {"uuid": org, "type": "organization"},
                            name=clean(data.scope.organisation).strip(),
                        )
                    ],
                },
                "import-ap": {"href": f"#{plan}"},
                "results": [result],
                "back-matter": {"resources": resources},
            }
        }

    def criteria(
        self,
        run_ids: dict[tuple[str, int], str],
        finding_ids: dict[str, str],
        start: datetime,
        end: datetime,
    ) -> list[dict[str, Any]]:
        """One OSCAL finding per criterion, with the observations that bear on it."""
        data = self.data
        cadence = metrics.cadence(self.runs, data.period, data.config.max_gap_days, data.as_of)
        gap_ids = [
            self.observe(
                {
                    "uuid": _uuid("gap", row.repository, row.tool, gap.start),
                    "title": clean(f"Cadence gap: {row.tool} on {row.repository}"),
                    "description": clean(
                        f"No successful {row.tool} run on {row.repository} for {gap.days:.1f} "
                        f"days ({gap.kind}), longer than the {data.config.max_gap_days}-day rule."
                    ),
                    "methods": ["EXAMINE"],
                    "collected": _stamp(gap.end),
                }
            )
            for row in cadence
            for gap in row.gaps
        ]
        as_of = data.as_of.date()
        acceptance_ids, weak_acceptances = [], 0
        for a in sorted(data.acceptances, key=lambda a: a.seq):
            weak = not a.approver or (a.expires is not None and a.expires < as_of)
            weak_acceptances += weak
            acceptance_ids.append(
                self.observe(
                    _with(
                        {
                            "uuid": _uuid("acceptance", a.finding_id, a.seq),
                            "title": clean(f"Risk acceptance for {a.finding_id}"),
                            "description": clean(
                                f"{a.kind}, {a.status}, approver {a.approver or 'none'}, "
                                f"expires {a.expires or 'never'}: {a.justification}"
                            ),
                            "methods": ["EXAMINE"],
                            "collected": _stamp(a.recorded_at or data.as_of),
                        },
                        props=_props([("ledger-seq", a.seq), ("status", a.status)]),
                    )
                )
            )
        triaged = {t.finding_id for t in data.triage}
        triage_ids = [
            self.observe(
                {
                    "uuid": _uuid("triage", t.finding_id, t.seq),
                    "title": clean(f"Triage of {t.finding_id}: {t.decision}"),
                    "description": clean(f"{t.decision} by {t.analyst or 'unknown'}: {t.note}"),
                    "methods": ["EXAMINE"],
                    "collected": _stamp(t.time),
                }
            )
            for t in sorted(data.triage, key=lambda t: (t.time, t.seq))
        ]

        problems = [r for r in self.runs if not (r.successful and r.complete)]
        late = [f for f in self.findings if f.sla_result in ("breached", "open-breached")]
        kinds = [f for f in self.findings if f.category in ("secret", "dependency")]
        runtime = [f for f in self.findings if f.category == "runtime"]
        no_commit = [r for r in self.runs if not r.commit]

        def runs(rows: Iterable[ScanRun]) -> list[str]:
            return [run_ids[(r.sha256, r.seq)] for r in rows]

        def rows(items: Iterable[FindingRow]) -> list[str]:
            return [finding_ids[f.finding_id] for f in items]

        late_kinds = [f for f in kinds if f.sla_result == "open-breached"]
        checks = [
            (
                "cc7.1",
                not gap_ids and bool(self.runs),
                f"{len(self.runs)} scanner runs; {len(gap_ids)} cadence gap(s) over "
                f"{data.config.max_gap_days} days.",
                runs(self.runs) + gap_ids,
            ),
            (
                "cc7.2",
                not problems,
                f"{len(problems)} failed or partial scanner run(s).",
                runs(problems),
            ),
            (
                "cc4.2",
                not late,
                f"{len(late)} finding(s) missed their remediation SLA.",
                rows(late),
            ),
            (
                "cc7.4",
                not late,
                f"{len(late)} finding(s) missed their remediation SLA.",
                rows(late),
            ),
            (
                "cc3.2",
                not weak_acceptances,
                f"{len(acceptance_ids)} risk acceptance(s), {weak_acceptances} without an approver "
                "or expired.",
                acceptance_ids,
            ),
            (
                "cc8.1",
                not no_commit and bool(self.runs),
                f"{len(self.runs) - len(no_commit)} of {len(self.runs)} runs name their commit.",
                runs(no_commit),
            ),
            (
                "cc6.8",
                not late_kinds,
                f"{len(kinds)} secret or dependency finding(s), {len(late_kinds)} open past SLA.",
                rows(late_kinds or kinds),
            ),
            (
                "cc7.3",
                all(f.finding_id in triaged for f in runtime),
                f"{len(runtime)} runtime finding(s), "
                f"{sum(1 for f in runtime if f.finding_id not in triaged)} without triage.",
                rows(runtime) + triage_ids,
            ),
        ]
        findings = []
        for control, satisfied, summary, related in checks:
            findings.append(
                _with(
                    {
                        "uuid": _uuid("criterion", control, data.basis.root_hash),
                        "title": f"{control.upper()} evidence",
                        "description": summary,
                        "target": {
                            "type": "objective-id",
                            "target-id": control,
                            "status": {"state": "satisfied" if satisfied else "not-satisfied"},
                        },
                    },
                    remarks="Automated reading of the ledger evidence for "
                    f"{_stamp(start)} to {_stamp(end)}; the auditor's conclusion governs.",
                    related_observations=[{"observation-uuid": u} for u in related],
                )
            )
        return findings

    def all_observations(self) -> Iterator[dict[str, Any]]:
        """Every observation in document order: runs, findings, then the rest.

        Call after :meth:`document`, which makes all but the findings'.
        """
        runs = len(self.runs)
        yield from self.observations[:runs]
        for row in self.findings:
            yield _finding_observation(row, self.artifacts)
        yield from self.observations[runs:]


_OBSERVATIONS = "\x00observations\x00"
"""Stands for the observations list in a document until it is written."""


def assessment_results(data: ReportData) -> dict[str, Any]:
    """The OSCAL assessment-results document for ``data``, as a JSON-ready dict."""
    builder = _Builder(data)
    document = builder.document()
    for result in document["assessment-results"]["results"]:
        if "observations" in result:
            result["observations"] = list(builder.all_observations())
    return document


def render_oscal(data: ReportData) -> bytes:
    """The document as UTF-8 JSON bytes; the same data always gives the same bytes."""
    text = json.dumps(assessment_results(data), indent=1, ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def oscal_chunks(data: ReportData) -> Iterator[bytes]:
    """The same document as compact UTF-8 JSON, written a slice at a time.

    Holds one observation in memory at a time, not the document: at 100,000
    findings the indented :func:`render_oscal` needs gigabytes, this a few
    hundred megabytes at most (the rows themselves).
    """
    builder = _Builder(data)
    document = builder.document()
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    marker = json.dumps(_OBSERVATIONS)
    head, found, tail = text.partition(marker)
    yield head.encode("utf-8")
    if found:
        batch: list[str] = ["["]
        for i, observation in enumerate(builder.all_observations()):
            if i:
                batch.append(",")
            batch.append(json.dumps(observation, ensure_ascii=False, separators=(",", ":")))
            if len(batch) >= 2000:
                yield "".join(batch).encode("utf-8")
                batch = []
        batch.append("]")
        yield "".join(batch).encode("utf-8")
    yield tail.encode("utf-8") + b"\n"
