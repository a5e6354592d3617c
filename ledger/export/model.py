"""What the auditor's report and the OSCAL file show, as plain frozen records.

The renderers (:mod:`ledger.export.pdf`, :mod:`ledger.export.oscal`) draw
from a :class:`ReportData` and nothing else: every row here is already
derived from the verified ledger, so a renderer never reads entries, never
verifies anything and never looks at the clock. Strings that came from an
artifact (titles, paths, rule ids, justifications...) are untrusted; the
renderers treat them as literal text.

SLA days per severity come from :class:`SlaPolicy`, which loads the
``[sla]`` table of a small TOML file (see :meth:`ReportConfig.load`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from ledger.errors import InputError
from schemas.finding import SEVERITIES, Category, Severity

FindingStatus = Literal["open", "fixed", "reopened", "accepted"]
"""Where a finding stands at the end of the period."""

SlaResult = Literal["met", "breached", "open-within", "open-breached"]
"""How a finding fared against its SLA: fixed in time or late, open in time or overdue."""

DEFAULT_SLA_DAYS: Mapping[Severity, int | None] = {
    "critical": 7,
    "high": 30,
    "medium": 90,
    "low": 180,
    "info": None,
}
"""Days allowed from first sighting to fix, per severity; ``info`` has no SLA."""

DEFAULT_MAX_GAP_DAYS = 7
"""A scan cadence gap is reported when a repository+tool goes longer than this."""


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Days allowed to remediate a finding, per severity (``None``: no SLA)."""

    days: Mapping[Severity, int | None] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))

    def for_severity(self, severity: Severity) -> int | None:
        """The SLA in days for ``severity``, or ``None`` when it has none."""
        return self.days.get(severity)

    def due(self, severity: Severity, first_seen: datetime) -> datetime | None:
        """When a finding first seen at ``first_seen`` must be fixed by."""
        days = self.for_severity(severity)
        return None if days is None else first_seen + timedelta(days=days)

    def evaluate(
        self,
        severity: Severity,
        first_seen: datetime,
        fixed_at: datetime | None,
        as_of: datetime,
    ) -> tuple[datetime | None, SlaResult | None]:
        """The due time and the SLA result of one finding, judged at ``as_of``.

        A fixed finding met its SLA when it was fixed at or before the due
        time; an open one is ``open-breached`` once ``as_of`` is past it.
        Severities without an SLA give ``(None, None)``.
        """
        due = self.due(severity, first_seen)
        if due is None:
            return None, None
        if fixed_at is not None:
            return due, "met" if fixed_at <= due else "breached"
        return due, "open-within" if as_of <= due else "open-breached"

    def with_overrides(
        self, overrides: Mapping[str, int | None], source: str = "override"
    ) -> SlaPolicy:
        """A copy with some severities' days replaced (e.g. from command options);
        ``source`` names where they came from in error messages."""
        days = dict(self.days)
        for name, value in overrides.items():
            days[_severity(name, source)] = _days(value, f"{source} {name}")
        return SlaPolicy(days)


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """The report's tunable rules: SLA days and the cadence gap threshold."""

    sla: SlaPolicy = field(default_factory=SlaPolicy)
    max_gap_days: int = DEFAULT_MAX_GAP_DAYS

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        sla_overrides: Mapping[str, int | None] | None = None,
        max_gap_days: int | None = None,
        overrides_source: str = "override",
    ) -> ReportConfig:
        """Read ``path`` (TOML) if given, then apply the overrides.

        The file may hold an ``[sla]`` table mapping severity names to days
        (a missing key keeps the default; ``false`` removes the SLA)
        and a ``[cadence]`` table with ``max_gap_days``::

            [sla]
            critical = 3
            high = 14

            [cadence]
            max_gap_days = 2
        """
        config = cls()
        if path is not None:
            config = cls._from_toml(path)
        if sla_overrides:
            config = ReportConfig(
                config.sla.with_overrides(sla_overrides, overrides_source), config.max_gap_days
            )
        if max_gap_days is not None:
            config = ReportConfig(config.sla, _positive(max_gap_days, "max_gap_days"))
        return config

    @classmethod
    def _from_toml(cls, path: Path) -> ReportConfig:
        try:
            with path.open("rb") as stream:
                document = tomllib.load(stream)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the report configuration: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from exc

        unknown = sorted(set(document) - {"sla", "cadence"})
        if unknown:
            raise InputError(f"{path}: unknown table(s) {', '.join(unknown)}; use [sla], [cadence]")
        sla_table = _table(document.get("sla", {}), path, "sla")
        cadence = _table(document.get("cadence", {}), path, "cadence")

        overrides: dict[str, int | None] = {}
        for name, value in sla_table.items():
            if value is False:
                overrides[name] = None
            elif isinstance(value, int) and not isinstance(value, bool):
                overrides[name] = value
            else:
                raise InputError(f"{path}: [sla] {name} must be a whole number of days or false")
        try:
            sla = SlaPolicy().with_overrides(overrides, "[sla]")
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from exc

        gap = cadence.get("max_gap_days", DEFAULT_MAX_GAP_DAYS)
        if set(cadence) - {"max_gap_days"} or not isinstance(gap, int) or isinstance(gap, bool):
            raise InputError(f"{path}: [cadence] takes one whole number, max_gap_days")
        return cls(sla, _positive(gap, f"{path}: max_gap_days"))


def _table(value: object, path: Path, name: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InputError(f"{path}: [{name}] must be a table")
    return value


def _severity(name: str, where: str) -> Severity:
    for severity in SEVERITIES:
        if severity == name:
            return severity
    raise InputError(f"{where}: unknown severity {name!r}; expected one of {', '.join(SEVERITIES)}")


def _days(value: int | None, where: str) -> int | None:
    return None if value is None else _positive(value, where)


def _positive(value: int, where: str) -> int:
    if value < 1:
        raise InputError(f"{where}: must be at least 1 day, got {value}")
    return value


# --- who, what, when --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose evidence this is and what it covers."""

    organisation: str
    description: str
    repositories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Period:
    """The audit period, both ends inclusive (UTC dates)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class GenerationBasis:
    """The signed checkpoint the report was built from.

    ``checkpoint_time`` is the time of the last entry the checkpoint covers;
    it dates the report (the PDF's creation date), so no wall clock is used.
    ``start_*`` describe the checkpoint at the period's start, when there is one.
    ``closing_seq`` and ``closing_time`` name the first verified entry dated
    at or after the period's end, when the ledger holds one: batch times only
    increase, so from then on no entry can join the period, and its figures
    hold up to the period's end (see :attr:`ReportData.as_of`).
    """

    origin: str
    tree_size: int
    root_hash: str
    key_id: str
    verifier_key: str
    checkpoint_time: datetime
    start_tree_size: int | None = None
    start_root_hash: str | None = None
    closing_seq: int | None = None
    closing_time: datetime | None = None


def period_end(period: Period) -> datetime:
    """The instant the period ends: midnight UTC after its last day."""
    return datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=UTC)


def report_moment(period: Period, checkpoint_time: datetime, closed: bool) -> datetime:
    """The instant the report's figures describe (see :attr:`ReportData.as_of`)."""
    end = period_end(period)
    return end if closed else min(checkpoint_time, end)


@dataclass(frozen=True, slots=True)
class Verification:
    """What was verified before the report was drawn, and the outcome."""

    verified: bool
    entries_checked: int
    checks: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """The ledger entry that records this export (who asked, when, at which seq)."""

    actor: str
    requested_at: datetime
    seq: int | None = None
    command: str = ""


# --- rows ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding as the register shows it, SLA already judged."""

    finding_id: str
    tool: str
    rule_id: str
    severity: Severity
    title: str
    location: str
    repository: str
    category: Category
    first_seen: datetime
    last_seen: datetime
    status: FindingStatus
    fixed_at: datetime | None
    sla_due: datetime | None
    sla_result: SlaResult | None
    artifact_sha256: str
    seq: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ScanRun:
    """One ingested artifact: a scanner run, where it ran and what it produced."""

    name: str
    tool: str
    tool_version: str | None
    format: str
    sha256: str
    repository: str | None
    commit: str | None
    branch: str | None
    pipeline_run: str | None
    run_url: str | None
    time: datetime
    successful: bool
    complete: bool
    results: int
    seq: int


@dataclass(frozen=True, slots=True)
class RiskAcceptance:
    """A decision to accept a finding's risk (or a suppression awaiting one)."""

    finding_id: str
    kind: str
    status: str
    justification: str
    approver: str | None
    expires: date | None
    seq: int
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TriageRecord:
    """The triage decision on one runtime finding."""

    finding_id: str
    decision: str
    analyst: str | None
    note: str
    time: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report and the OSCAL file show. Rows come in any order."""

    scope: Scope
    period: Period
    basis: GenerationBasis
    verification: Verification
    config: ReportConfig
    findings: tuple[FindingRow, ...]
    runs: tuple[ScanRun, ...]
    acceptances: tuple[RiskAcceptance, ...] = ()
    triage: tuple[TriageRecord, ...] = ()
    export: ExportRecord | None = None
    title: str = "Security findings evidence report"

    @property
    def period_closed(self) -> bool:
        """Whether the ledger holds an entry after the period, so none can join it."""
        return self.basis.closing_seq is not None

    @property
    def as_of(self) -> datetime:
        """The instant the figures describe: ages, due dates, cadence gaps, acceptances.

        The end of the period when the ledger shows it is over (an entry dated
        after it exists); otherwise the checkpoint's time, the last instant the
        ledger speaks for, since a period still in progress may yet gain entries.
        """
        return report_moment(self.period, self.basis.checkpoint_time, self.period_closed)
