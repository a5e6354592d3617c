"""From a verified ledger to :class:`~ledger.export.model.ReportData` for one period.

The report is replayed from the entries, never read from the derived tables:
those show the ledger's state *now*, while an auditor needs the state at the
end of the period, and needs it to follow from entries they can check. The
period ``[from, to]`` (UTC dates, both inclusive) selects the entries whose
time falls in it; because the entries of a batch share one time and batch
times strictly increase, that range begins and ends on batch boundaries, so
a signed checkpoint seals the ledger just before the period (``start_size``)
and at its last entry (``end_size``).

What becomes of each entry kind, replayed in order up to ``end_size``:

- ``artifact`` in the period: a :class:`ScanRun` (time = the entry's time);
- ``finding`` / ``finding-fixed``: the lifecycle of one finding identity
  (first seen = time of its ``new`` event, last seen, status, fixed at, the
  artifact of its latest observation); a finding is reported when it had an
  event in the period or was still open when the period began;
- ``acceptance``: a :class:`RiskAcceptance` (tool suppressions are
  ``pending``, approvals recorded by ``trailseal accept`` are ``approved``);
- ``triage``: a :class:`TriageRecord`.

An erased body is replayed from what its erasure entry kept
(:func:`ledger.ledger.retained_after_erasure`) and marked as erased.

The two writers of decision entries, :func:`record_acceptance` and
:func:`record_triage`, live here beside the reader of those bodies.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import orjson

from ledger.errors import InputError, VerificationError
from ledger.export.model import (
    FindingRow,
    FindingStatus,
    GenerationBasis,
    Period,
    ReportConfig,
    ReportData,
    RiskAcceptance,
    ScanRun,
    Scope,
    TriageRecord,
    Verification,
    period_end,
    report_moment,
)
from ledger.ingest.pipeline import record_document
from ledger.ledger import ERASED_TEXT, ERASURE_KIND, Clock, Ledger, parse_time, utc_now
from ledger.note import CheckpointBody, NoteSigner, NoteVerifier, parse_note
from ledger.proof import follow_rotations
from ledger.store import EntryRow
from ledger.trust import ROTATION_KIND
from schemas.finding import SEVERITIES, Severity

log = logging.getLogger(__name__)

TRIAGE_KIND = "triage"
ACCEPTANCE_KIND = "acceptance"
TRIAGE_DECISIONS = ("confirmed", "false-positive", "mitigated", "investigating")
ID_LENGTH = 12
"""Hex digits of a finding identity shown as its id in the report."""


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What to export: the period, whose evidence it is, and the report's rules."""

    period: Period
    scope: Scope
    config: ReportConfig = field(default_factory=ReportConfig)

    @property
    def repositories(self) -> frozenset[str]:
        """Repositories the report is limited to (empty: all)."""
        return frozenset(self.scope.repositories)


@dataclass(frozen=True, slots=True)
class Derivation:
    """The report data and the ledger range it was replayed from."""

    data: ReportData
    start_size: int
    end_size: int
    start_note: str
    end_note: str
    key_rotations: tuple[dict[str, Any], ...]
    signer_key: NoteVerifier


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class _Finding:
    """One identity's lifecycle as replayed so far."""

    scope: dict[str, Any]
    identity: str
    first_seen: datetime
    first_seq: int
    last_seen: datetime
    status: str = "open"
    fixed_at: datetime | None = None
    finding: dict[str, Any] = field(default_factory=dict)
    artifact: str = ""
    erased: list[int] = field(default_factory=list)
    in_period: bool = False
    open_at_start: bool = False


class _Replay:
    """Folds entries into runs, findings and decisions; see the module docstring."""

    def __init__(self, options: ExportOptions, erasures: Mapping[int, Any]) -> None:
        self.options = options
        self.erasures = erasures
        self.repositories = options.repositories
        self.findings: dict[tuple[str, str], _Finding] = {}
        self.runs: list[ScanRun] = []
        self.acceptances: list[tuple[tuple[str, str], RiskAcceptance]] = []
        self.triage: list[tuple[tuple[str, str], TriageRecord]] = []
        self.start_size: int | None = None

    def body(self, row: EntryRow) -> tuple[dict[str, Any] | None, bool]:
        """The entry's body (or what its erasure kept) and whether it was erased."""
        if row.body is not None:
            value = orjson.loads(row.body)
            return (value if isinstance(value, dict) else None), False
        kept = self.erasures.get(row.seq)
        return (kept if isinstance(kept, dict) else None), True

    def mark_start(self, seq: int) -> None:
        """The period begins at entry ``seq``: note which findings are open then."""
        self.start_size = seq
        for item in self.findings.values():
            item.open_at_start = item.status != "fixed"

    def apply(self, row: EntryRow) -> None:
        body, erased = self.body(row)
        if body is None:
            return
        moment = parse_time(row.time)
        try:
            if row.kind == "artifact":
                self._artifact(row.seq, moment, body, erased)
            elif row.kind in ("finding", "finding-fixed"):
                self._finding(row.seq, row.kind, moment, body, erased)
            elif row.kind == ACCEPTANCE_KIND:
                self._acceptance(row.seq, moment, body, erased)
            elif row.kind == TRIAGE_KIND:
                self._triage(row.seq, moment, body)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise VerificationError(
                f"entry {row.seq}: a {row.kind} body lacks or garbles {exc}; the ledger "
                f"verified, so this body has a shape the report does not know"
            ) from exc

    def _wanted(self, repository: str | None) -> bool:
        return not self.repositories or (repository or "") in self.repositories

    def _artifact(self, seq: int, moment: datetime, body: dict[str, Any], erased: bool) -> None:
        if self.start_size is None:
            return
        artifact = body["artifact"]
        ci = artifact.get("ci") or {}
        if not self._wanted(ci.get("repository")):
            return
        self.runs.append(
            ScanRun(
                name=ERASED_TEXT if erased else str(artifact.get("name", "")),
                tool=ERASED_TEXT if erased else str(artifact.get("tool", "")),
                tool_version=artifact.get("tool_version"),
                format=ERASED_TEXT if erased else str(artifact.get("format", "")),
                sha256=str(artifact["sha256"]),
                repository=ci.get("repository"),
                commit=ci.get("commit"),
                branch=ci.get("branch"),
                pipeline_run=ci.get("pipeline_run"),
                run_url=ci.get("run_url"),
                time=moment,
                successful=bool(artifact.get("successful", True)),
                complete=bool(artifact.get("complete", True)),
                results=int(artifact.get("results", 0)),
                seq=seq,
            )
        )

    def _finding(
        self, seq: int, kind: str, moment: datetime, body: dict[str, Any], erased: bool
    ) -> None:
        scope, identity = body["scope"], str(body["identity"])
        key = (str(scope["id"]), identity)
        event = body["event"]
        item = self.findings.get(key)
        if item is None:
            # Verification replayed the lifecycle: the first event is ``new``.
            item = _Finding(scope, identity, moment, seq, moment)
            self.findings[key] = item
        if erased:
            item.erased.append(seq)
        if self.start_size is not None:
            item.in_period = True
        if kind == "finding":
            item.finding = body["finding"]
            item.last_seen = moment
        item.artifact = str(body.get("artifact", item.artifact))
        if event == "fixed":
            item.status, item.fixed_at = "fixed", moment
        elif event == "reopened":
            item.status, item.fixed_at = "reopened", None

    def _acceptance(self, seq: int, moment: datetime, body: dict[str, Any], erased: bool) -> None:
        key = (str(body["scope"]["id"]), str(body["identity"]))
        if body.get("event") == "accepted":
            expires = body.get("expires")
            acceptance = RiskAcceptance(
                finding_id="",
                kind="risk-accepted",
                status="approved",
                justification=ERASED_TEXT if erased else str(body.get("justification", "")),
                approver=ERASED_TEXT if erased else body.get("approver"),
                expires=date.fromisoformat(expires) if isinstance(expires, str) else None,
                seq=seq,
                recorded_at=moment,
            )
        else:
            suppression = body.get("suppression") or {}
            why = suppression.get("justification") or (
                f"suppressed by the tool ({suppression.get('kind', 'unknown')}), no reason given"
            )
            acceptance = RiskAcceptance(
                finding_id="",
                kind="suppression",
                status="pending",
                justification=ERASED_TEXT if erased else str(why).strip(),
                approver=None,
                expires=None,
                seq=seq,
                recorded_at=moment,
            )
        self.acceptances.append((key, acceptance))

    def _triage(self, seq: int, moment: datetime, body: dict[str, Any]) -> None:
        key = (str(body["scope"]["id"]), str(body["identity"]))
        record = TriageRecord(
            finding_id="",
            decision=str(body["decision"]),
            analyst=body.get("analyst"),
            note=str(body.get("note", "")),
            time=moment,
            seq=seq,
        )
        self.triage.append((key, record))

    # -- rows -------------------------------------------------------------------

    def rows(
        self, as_of: datetime
    ) -> tuple[list[FindingRow], list[RiskAcceptance], list[TriageRecord]]:
        """Findings, acceptances and triage of the reported findings, judged at ``as_of``."""
        reported = {
            key: item
            for key, item in self.findings.items()
            if (item.in_period or item.open_at_start) and self._wanted(item.scope.get("repository"))
        }
        ids = _finding_ids(reported)
        in_force = {
            key
            for key, a in self.acceptances
            if a.status == "approved" and (a.expires is None or a.expires >= as_of.date())
        }
        sla = self.options.config.sla
        findings = []
        for key, item in reported.items():
            finding = item.finding
            severity = _severity(finding.get("severity"))
            status: FindingStatus = "fixed" if item.status == "fixed" else "open"
            if item.status == "reopened":
                status = "reopened"
            if status != "fixed" and key in in_force:
                status = "accepted"
            due, result = sla.evaluate(severity, item.first_seen, item.fixed_at, as_of)
            erased = ", ".join(map(str, item.erased))
            note = f"content erased (entry {erased})" if erased else ""
            findings.append(
                FindingRow(
                    finding_id=ids[key],
                    tool=str(item.scope.get("tool") or finding.get("tool") or ""),
                    rule_id=str(finding.get("rule_id", "")),
                    severity=severity,
                    title=str(finding.get("title", "")),
                    location=_location(finding.get("location")),
                    repository=str(item.scope.get("repository") or ""),
                    category=finding.get("category", "code"),
                    first_seen=item.first_seen,
                    last_seen=item.last_seen,
                    status=status,
                    fixed_at=item.fixed_at,
                    sla_due=due,
                    sla_result=result,
                    artifact_sha256=item.artifact,
                    seq=item.first_seq,
                    note=note,
                )
            )
        acceptances = [_named(a, ids[key]) for key, a in self.acceptances if key in ids]
        triage = [_named(t, ids[key]) for key, t in self.triage if key in ids]
        return findings, acceptances, triage


def _named(record: Any, finding_id: str) -> Any:
    from dataclasses import replace

    return replace(record, finding_id=finding_id)


def _finding_ids(findings: Mapping[tuple[str, str], _Finding]) -> dict[tuple[str, str], str]:
    """Short ids: the identity's first hex digits, with the scope's when two scopes share them."""
    prefixes: dict[str, int] = {}
    for _, identity in findings:
        prefixes[identity[:ID_LENGTH]] = prefixes.get(identity[:ID_LENGTH], 0) + 1
    return {
        (scope, identity): identity[:ID_LENGTH]
        if prefixes[identity[:ID_LENGTH]] == 1
        else f"{identity[:ID_LENGTH]}@{scope[:6]}"
        for scope, identity in findings
    }


def _severity(value: object) -> Severity:
    for severity in SEVERITIES:
        if severity == value:
            return severity
    return "info"


def _location(location: object) -> str:
    if not isinstance(location, dict):
        return ""
    path = str(location.get("path", ""))
    line = location.get("start_line")
    return f"{path}:{line}" if isinstance(line, int) else path


def _erasures(ledger: Ledger) -> dict[int, Any]:
    with ledger.store.reading() as conn:
        rows = ledger.store.entries_of_kinds(conn, (ERASURE_KIND,))
    kept: dict[int, Any] = {}
    for row in rows:
        if row.body is not None:
            body = orjson.loads(row.body)
            kept[int(body["seq"])] = body.get("retained")
    return kept


def key_rotations(ledger: Ledger, before: int) -> tuple[dict[str, Any], ...]:
    """The key-rotation statements before tree size ``before``, in order (for
    verifiers pinned earlier: the last successor signs the checkpoint there)."""
    with ledger.store.reading() as conn:
        rows = ledger.store.entries_of_kinds(conn, (ROTATION_KIND,))
    return tuple(
        orjson.loads(row.body) for row in rows if row.body is not None and row.seq < before
    )


def signing_key(note: str, keys: Iterable[NoteVerifier], what: str) -> NoteVerifier:
    """The first of ``keys`` whose valid signature ``note`` carries."""
    parsed = parse_note(note)
    for key in keys:
        if parsed.verified_by(key):
            return key
    raise VerificationError(f"{what} is not signed by the trusted key or its successors")


def derive(
    ledger: Ledger,
    options: ExportOptions,
    trusted: NoteVerifier,
    verified_size: int,
) -> Derivation:
    """Replay the ledger up to the period's end checkpoint into :class:`ReportData`.

    ``verified_size`` is the tree size a :class:`~ledger.verify.Verifier` run
    just found intact with ``trusted``; entries beyond it are not read, so
    nothing unverified reaches the report.
    """
    period = options.period
    start = start_of(period.start)
    end = period_end(period)
    replay = _Replay(options, _erasures(ledger))

    # (1) one pass from entry 0: replay everything before the period's end. The
    # first entry dated after it closes the period: batch times only increase.
    end_size, last_time = 0, None
    closing: tuple[int, datetime] | None = None
    for row in ledger.entries(0, verified_size):
        moment = parse_time(row.time)
        if moment >= end:
            closing = (row.seq, moment)
            break
        if replay.start_size is None and moment >= start:
            replay.mark_start(row.seq)
        replay.apply(row)
        end_size, last_time = row.seq + 1, moment
    if replay.start_size is None:
        replay.mark_start(end_size)
    start_size = replay.start_size if replay.start_size is not None else end_size

    # (2) the checkpoints sealing the ledger before the period and at its end.
    with ledger.store.reading() as conn:
        start_row = ledger.store.checkpoint_at(conn, start_size)
        end_row = ledger.store.checkpoint_at(conn, end_size)
    for size, found in ((start_size, start_row), (end_size, end_row)):
        if found is None:
            raise VerificationError(
                f"there is no signed checkpoint at tree size {size}, where the period "
                f"{period.start} to {period.end} begins or ends; verify the ledger"
            )
    assert start_row is not None and end_row is not None
    rotations = key_rotations(ledger, end_size)
    keys = follow_rotations([trusted], list(rotations))
    signer_key = signing_key(end_row.note, keys, f"the checkpoint at size {end_size}")
    signing_key(start_row.note, keys, f"the checkpoint at size {start_size}")
    end_body = CheckpointBody.parse(parse_note(end_row.note).text)
    start_body = CheckpointBody.parse(parse_note(start_row.note).text)

    # (3) rows judged at the period's end if the ledger shows it is over, else at
    # the checkpoint's time: the report's only clocks.
    checkpoint_time = last_time if last_time is not None else start
    as_of = report_moment(period, checkpoint_time, closing is not None)
    findings, acceptances, triage = replay.rows(as_of)
    data = ReportData(
        scope=options.scope,
        period=period,
        basis=GenerationBasis(
            origin=end_body.origin,
            tree_size=end_size,
            root_hash=base64.b64encode(end_body.root_hash).decode(),
            key_id=signer_key.key_id_hex,
            verifier_key=signer_key.vkey(),
            checkpoint_time=checkpoint_time,
            start_tree_size=start_size,
            start_root_hash=base64.b64encode(start_body.root_hash).decode(),
            closing_seq=None if closing is None else closing[0],
            closing_time=None if closing is None else closing[1],
        ),
        verification=Verification(
            verified=True,
            entries_checked=end_size,
            checks=(
                "every entry's leaf hash, chain link and body hash, every checkpoint "
                "signature and Merkle root, and the derived state were verified before "
                "this export",
                f"checkpoint at size {end_size} signed by key {signer_key.key_id_hex}, "
                f"reachable from the trusted key {trusted.key_id_hex}",
                f"checkpoint at size {start_size} (period start) is a prefix of it "
                "(RFC 9162 consistency proof in the pack)",
                f"{end_size - start_size:,} entries of the period carried in the pack, "
                "each with an inclusion proof",
            ),
        ),
        config=options.config,
        findings=tuple(findings),
        runs=tuple(replay.runs),
        acceptances=tuple(acceptances),
        triage=tuple(triage),
    )
    log.info(
        "derived report: entries %d..%d, %d findings, %d runs",
        start_size,
        end_size - 1,
        len(findings),
        len(replay.runs),
    )
    return Derivation(
        data, start_size, end_size, start_row.note, end_row.note, rotations, signer_key
    )


# --- decisions: risk acceptance and triage -------------------------------------------


def find_finding(ledger: Ledger, identity: str, repository: str | None = None) -> dict[str, Any]:
    """The current derived row of the finding whose identity starts with ``identity``."""
    prefix = identity.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix.split("@")[0]):
        raise InputError(
            f"{identity!r} is not a finding identity: give at least 8 hex digits, as "
            "'trailseal findings' or the report's register shows them"
        )
    prefix, _, scope_prefix = prefix.partition("@")
    with ledger.store.reading() as conn:
        rows = [
            row
            for row in ledger.store.finding_rows(conn)
            if str(row["identity"]).startswith(prefix)
            and str(row["scope"]).startswith(scope_prefix)
            and (repository is None or row["repository"] == repository)
        ]
    if not rows:
        raise InputError(f"no finding has an identity starting with {prefix}")
    if len(rows) > 1:
        # The same identity in several scopes (one tool under two names, two
        # categories, two repositories): IDENTITY@SCOPE, as the report's
        # register writes it, tells them apart where more digits cannot.
        where = ", ".join(
            sorted(
                f"{r['identity'][:ID_LENGTH]}@{r['scope'][:6]} "
                f"({r['tool']} in {r['repository'] or '-'})"
                for r in rows
            )
        )
        raise InputError(
            f"{len(rows)} findings match {identity.strip()}: {where}; give one of these "
            "IDENTITY@SCOPE forms, more digits, or --repo"
        )
    return rows[0]


def _scope(row: Mapping[str, Any]) -> dict[str, Any]:
    # The scope as ingest wrote it; the derived row keeps its parts.
    return {"id": row["scope"], "repository": row["repository"] or None, "tool": row["tool"]}


def record_acceptance(
    ledger: Ledger,
    signer: NoteSigner,
    row: Mapping[str, Any],
    *,
    approver: str,
    justification: str,
    expires: date | None = None,
    clock: Clock = utc_now,
) -> int:
    """Append an approved risk acceptance for a finding; returns its sequence number."""
    if not approver.strip() or not justification.strip():
        raise InputError("a risk acceptance needs an approver and a justification")
    if row["status"] == "fixed":
        raise InputError(f"finding {row['identity'][:ID_LENGTH]} is fixed; nothing to accept")
    body: dict[str, Any] = {
        "scope": _scope(row),
        "identity": row["identity"],
        "artifact": row["artifact"],
        "event": "accepted",
        "approver": approver,
        "justification": justification,
    }
    if expires is not None:
        body["expires"] = expires.isoformat()
    return record_document(ledger, signer, ACCEPTANCE_KIND, body, clock)


def record_triage(
    ledger: Ledger,
    signer: NoteSigner,
    row: Mapping[str, Any],
    *,
    decision: str,
    note: str = "",
    analyst: str | None = None,
    clock: Clock = utc_now,
) -> int:
    """Append a triage decision on a finding; returns its sequence number."""
    if decision not in TRIAGE_DECISIONS:
        raise InputError(f"--decision {decision!r}: use one of {', '.join(TRIAGE_DECISIONS)}")
    body: dict[str, Any] = {
        "scope": _scope(row),
        "identity": row["identity"],
        "decision": decision,
        "note": note,
    }
    if analyst:
        body["analyst"] = analyst
    return record_document(ledger, signer, TRIAGE_KIND, body, clock)
