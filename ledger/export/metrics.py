"""Figures the report draws, computed from :class:`~ledger.export.model.ReportData` rows.

Pure functions: rows in, small frozen records out, sorted so that the same
rows always give the same figures. Weeks start on Monday (ISO 8601) and are
clipped to the audit period; times are compared as given (UTC).

Counting rules, stated once:

- a finding is *open* at an instant if it was first seen at or before it and
  not fixed by then; accepted findings count as open (their risk remains);
- *time to remediate* is ``fixed_at - first_seen`` in days, for fixed findings;
- a cadence *gap* is a stretch longer than ``max_gap_days`` without a
  successful run of one repository+tool, counting the stretches from the
  period's start to the first run and from the last run to the report's
  as-of instant (:attr:`~ledger.export.model.ReportData.as_of`: the period's
  end, or the checkpoint's time for a period still in progress). Failed runs
  do not close a gap.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from ledger.export.model import (
    FindingRow,
    Period,
    RiskAcceptance,
    ScanRun,
    SlaPolicy,
    TriageRecord,
    period_end,
)
from schemas.finding import SEVERITIES, Category, Severity

DAY = 86400.0
NO_REPOSITORY = "(no repository)"

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7 days", 0, 7),
    ("8-30 days", 8, 30),
    ("31-90 days", 31, 90),
    ("91-180 days", 91, 180),
    ("over 180 days", 181, None),
)
"""Open-finding age buckets: label, first and last whole day (``None``: no upper end)."""


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def period_bounds(period: Period, as_of: datetime) -> tuple[datetime, datetime]:
    """The period as a half-open UTC interval, ending early at ``as_of`` if it is earlier."""
    start = start_of(period.start)
    end = min(period_end(period), max(as_of, start))
    return start, end


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / DAY


# --- weekly trend -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """One week of the period: what was open at its end, what opened and closed in it."""

    week_start: date
    open_by_severity: Mapping[Severity, int]
    opened: int
    fixed: int


def week_starts(period: Period) -> list[date]:
    """Mondays of every ISO week that overlaps the period, in order."""
    monday = period.start - timedelta(days=period.start.weekday())
    weeks = []
    while monday <= period.end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def weekly(
    findings: Iterable[FindingRow], period: Period, as_of: datetime | None = None
) -> list[WeekCounts]:
    """Open findings by severity at each week's end, and findings opened and fixed in it.

    Weeks that begin after ``as_of`` (the evidence's checkpoint time) are left
    out: the ledger says nothing of them yet, and repeating today's counts
    there would show a future that did not happen.

    Runs in one pass over the rows plus one over the weeks: each row lands in
    the week of its first sighting and of its fix, and open counts are running
    sums of the two.
    """
    mondays = week_starts(period)
    if as_of is not None:
        mondays = mondays[:1] + [m for m in mondays[1:] if start_of(m) <= as_of]
    period_start = start_of(period.start)
    # Week w covers [ends[w-1], ends[w]); the first starts at the period's start.
    ends = [start_of(min(m + timedelta(days=7), period.end + timedelta(days=1))) for m in mondays]
    n = len(mondays)
    opened = [0] * (n + 1)
    fixed = [0] * (n + 1)
    open_delta = {s: [0] * (n + 1) for s in SEVERITIES}

    for row in findings:
        # Index n means "after the period"; events before it fall into week 0's
        # running total but are not counted as opened or fixed within it.
        first = bisect.bisect_right(ends, row.first_seen)
        if row.first_seen >= period_start and first < n:
            opened[first] += 1
        open_delta[row.severity][first] += 1
        if row.fixed_at is not None:
            gone = bisect.bisect_right(ends, row.fixed_at)
            if row.fixed_at >= period_start and gone < n:
                fixed[gone] += 1
            open_delta[row.severity][gone] -= 1

    result = []
    running = dict.fromkeys(SEVERITIES, 0)
    for w, monday in enumerate(mondays):
        for severity in SEVERITIES:
            running[severity] += open_delta[severity][w]
        result.append(WeekCounts(monday, dict(running), opened[w], fixed[w]))
    return result


# --- remediation against SLA ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemediationStat:
    """Time to remediate for one severity, against its SLA."""

    severity: Severity
    sla_days: int | None
    fixed: int
    fixed_within_sla: int
    median_days: float | None
    p90_days: float | None
    max_days: float | None
    open: int
    open_breached: int


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values; ``None`` for no values."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(fraction * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def remediation(findings: Iterable[FindingRow], sla: SlaPolicy) -> list[RemediationStat]:
    """One :class:`RemediationStat` per severity, most severe first."""
    durations: dict[Severity, list[float]] = defaultdict(list)
    within: dict[Severity, int] = defaultdict(int)
    still_open: dict[Severity, int] = defaultdict(int)
    breached: dict[Severity, int] = defaultdict(int)
    for row in findings:
        if row.fixed_at is not None:
            durations[row.severity].append(_days(row.fixed_at - row.first_seen))
            within[row.severity] += row.sla_result == "met"
        else:
            still_open[row.severity] += 1
            breached[row.severity] += row.sla_result == "open-breached"

    stats = []
    for severity in SEVERITIES:
        values = sorted(durations[severity])
        stats.append(
            RemediationStat(
                severity=severity,
                sla_days=sla.for_severity(severity),
                fixed=len(values),
                fixed_within_sla=within[severity],
                median_days=percentile(values, 0.5),
                p90_days=percentile(values, 0.9),
                max_days=values[-1] if values else None,
                open=still_open[severity],
                open_breached=breached[severity],
            )
        )
    return stats


@dataclass(frozen=True, slots=True)
class AgeRow:
    """Open findings of one severity, counted per :data:`AGE_BUCKETS` entry."""

    severity: Severity
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """All open findings of this severity."""
        return sum(self.counts)


def open_by_age(findings: Iterable[FindingRow], as_of: datetime) -> list[AgeRow]:
    """Open findings by severity and age in whole days at ``as_of``."""
    counts = {s: [0] * len(AGE_BUCKETS) for s in SEVERITIES}
    for row in findings:
        if row.fixed_at is not None:
            continue
        age = max(0, (as_of - row.first_seen).days)
        for i, (_, low, high) in enumerate(AGE_BUCKETS):
            if age >= low and (high is None or age <= high):
                counts[row.severity][i] += 1
                break
    return [AgeRow(s, tuple(counts[s])) for s in SEVERITIES]


@dataclass(frozen=True, slots=True)
class Breach:
    """A finding that missed its SLA, with a one-line account of how."""

    finding: FindingRow
    days_over: int
    explanation: str


def breaches(
    findings: Iterable[FindingRow],
    acceptances: Iterable[RiskAcceptance],
    as_of: datetime,
) -> list[Breach]:
    """Findings fixed late or still open past their due date, most overdue first."""
    accepted: dict[str, RiskAcceptance] = {}
    for acceptance in sorted(acceptances, key=lambda a: a.seq):
        accepted[acceptance.finding_id] = acceptance

    result = []
    for row in findings:
        if row.sla_due is None or row.sla_result not in ("breached", "open-breached"):
            continue
        end = row.fixed_at if row.fixed_at is not None else as_of
        over = max(1, (end - row.sla_due).days)
        if row.fixed_at is not None:
            text = f"fixed {over} day(s) after the due date {row.sla_due:%Y-%m-%d}"
        else:
            text = f"still {row.status}, {over} day(s) past the due date {row.sla_due:%Y-%m-%d}"
        if row.finding_id in accepted:
            acceptance = accepted[row.finding_id]
            text += f"; risk acceptance {acceptance.status} (entry {acceptance.seq})"
        if row.note:
            text += f"; note: {row.note}"
        result.append(Breach(row, over, text))
    result.sort(key=lambda b: (-b.days_over, SEVERITIES.index(b.finding.severity), _key(b)))
    return result


def _key(breach: Breach) -> str:
    return breach.finding.finding_id


# --- scan cadence and health ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch without a successful run of one repository+tool."""

    start: datetime
    end: datetime
    kind: Literal["before first run", "between runs", "after last run", "no runs"]

    @property
    def days(self) -> float:
        """Length of the gap in days."""
        return _days(self.end - self.start)


@dataclass(frozen=True, slots=True)
class CadenceRow:
    """Scans of one repository by one tool over the period."""

    repository: str
    tool: str
    runs: int
    failed: int
    commits: int
    first: datetime | None
    last: datetime | None
    median_interval_days: float | None
    gaps: tuple[Gap, ...]


def _repository(run: ScanRun) -> str:
    return run.repository or NO_REPOSITORY


def cadence(
    runs: Iterable[ScanRun], period: Period, max_gap_days: int, as_of: datetime
) -> list[CadenceRow]:
    """Per repository+tool: run counts, commits, median interval and the gaps found."""
    start, end = period_bounds(period, as_of)
    limit = timedelta(days=max_gap_days)
    groups: dict[tuple[str, str], list[ScanRun]] = defaultdict(list)
    for run in runs:
        groups[(_repository(run), run.tool)].append(run)

    rows = []
    for (repository, tool), group in sorted(groups.items()):
        # The end is the checkpoint time at the latest, and a run then is in the period.
        good = sorted(r.time for r in group if r.successful and start <= r.time <= end)
        gaps: list[Gap] = []
        if not good:
            gaps.append(Gap(start, end, "no runs"))
        else:
            if good[0] - start > limit:
                gaps.append(Gap(start, good[0], "before first run"))
            gaps.extend(
                Gap(a, b, "between runs") for a, b in itertools.pairwise(good) if b - a > limit
            )
            if end - good[-1] > limit:
                gaps.append(Gap(good[-1], end, "after last run"))
        intervals = sorted(_days(b - a) for a, b in itertools.pairwise(good))
        rows.append(
            CadenceRow(
                repository=repository,
                tool=tool,
                runs=len(group),
                failed=sum(1 for r in group if not r.successful),
                commits=len({r.commit for r in group if r.commit}),
                first=min((r.time for r in group), default=None),
                last=max((r.time for r in group), default=None),
                median_interval_days=percentile(intervals, 0.5),
                gaps=tuple(gaps),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class HealthRow:
    """Run outcomes of one tool: how many ran, failed or were partial."""

    tool: str
    versions: tuple[str, ...]
    runs: int
    failed: int
    partial: int
    last_problem: datetime | None


def health(runs: Iterable[ScanRun]) -> list[HealthRow]:
    """Per tool: successful, failed and partial runs, and the latest problem."""
    groups: dict[str, list[ScanRun]] = defaultdict(list)
    for run in runs:
        groups[run.tool].append(run)
    rows = []
    for tool, group in sorted(groups.items()):
        problems = [r.time for r in group if not (r.successful and r.complete)]
        rows.append(
            HealthRow(
                tool=tool,
                versions=tuple(sorted({r.tool_version for r in group if r.tool_version})),
                runs=len(group),
                failed=sum(1 for r in group if not r.successful),
                partial=sum(1 for r in group if r.successful and not r.complete),
                last_problem=max(problems, default=None),
            )
        )
    return rows


def problem_runs(runs: Iterable[ScanRun]) -> list[ScanRun]:
    """Failed or partial runs, oldest first."""
    return sorted((r for r in runs if not (r.successful and r.complete)), key=_run_key)


def _run_key(run: ScanRun) -> tuple[datetime, int]:
    return (run.time, run.seq)


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """Scans of one repository tied to commits (CC8.1)."""

    repository: str
    runs: int
    runs_with_commit: int
    commits: int
    branches: tuple[str, ...]
    tools: tuple[str, ...]


def changes(runs: Iterable[ScanRun]) -> list[ChangeRow]:
    """Per repository: how many runs name a commit, distinct commits and branches."""
    groups: dict[str, list[ScanRun]] = defaultdict(list)
    for run in runs:
        groups[_repository(run)].append(run)
    return [
        ChangeRow(
            repository=repository,
            runs=len(group),
            runs_with_commit=sum(1 for r in group if r.commit),
            commits=len({r.commit for r in group if r.commit}),
            branches=tuple(sorted({r.branch for r in group if r.branch})),
            tools=tuple(sorted({r.tool for r in group})),
        )
        for repository, group in sorted(groups.items())
    ]


# --- findings by kind -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """Findings of one category and severity: all, open, fixed, SLA breaches."""

    category: Category
    severity: Severity
    total: int
    open: int
    fixed: int
    breached: int


def by_category(
    findings: Iterable[FindingRow], categories: Sequence[Category]
) -> list[CategoryRow]:
    """Counts per category (in the order given) and severity, omitting empty rows."""
    counts: dict[tuple[Category, Severity], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in findings:
        if row.category not in categories:
            continue
        cell = counts[(row.category, row.severity)]
        cell[0] += 1
        cell[1] += row.fixed_at is None
        cell[2] += row.fixed_at is not None
        cell[3] += row.sla_result in ("breached", "open-breached")
    return [
        CategoryRow(category, severity, *counts[(category, severity)])
        for category in categories
        for severity in SEVERITIES
        if (category, severity) in counts
    ]


def sort_findings(findings: Iterable[FindingRow]) -> list[FindingRow]:
    """The register's order: severity, then first sighting, then id."""
    return sorted(
        findings, key=lambda f: (SEVERITIES.index(f.severity), f.first_seen, f.finding_id)
    )


def runtime_triage(
    findings: Iterable[FindingRow], triage: Iterable[TriageRecord]
) -> list[tuple[FindingRow, TriageRecord | None]]:
    """Runtime findings with their latest triage decision (``None``: untriaged)."""
    latest: dict[str, TriageRecord] = {}
    for record in sorted(triage, key=lambda t: (t.time, t.seq)):
        latest[record.finding_id] = record
    runtime = sort_findings(f for f in findings if f.category == "runtime")
    return [(f, latest.get(f.finding_id)) for f in runtime]


@dataclass(frozen=True, slots=True)
class Totals:
    """Headline numbers for the executive summary."""

    findings: int
    open: int
    fixed: int
    accepted: int
    open_by_severity: Mapping[Severity, int]
    sla_met: int
    sla_breached: int
    open_breached: int
    runs: int
    failed_runs: int
    repositories: int
    tools: int


def totals(findings: Sequence[FindingRow], runs: Sequence[ScanRun]) -> Totals:
    """Counts for the summary page."""
    open_by_severity = dict.fromkeys(SEVERITIES, 0)
    results: dict[str | None, int] = defaultdict(int)
    statuses: dict[str, int] = defaultdict(int)
    for row in findings:
        statuses[row.status] += 1
        results[row.sla_result] += 1
        if row.fixed_at is None:
            open_by_severity[row.severity] += 1
    return Totals(
        findings=len(findings),
        open=sum(open_by_severity.values()),
        fixed=sum(1 for f in findings if f.fixed_at is not None),
        accepted=statuses["accepted"],
        open_by_severity=open_by_severity,
        sla_met=results["met"],
        sla_breached=results["breached"],
        open_breached=results["open-breached"],
        runs=len(runs),
        failed_runs=sum(1 for r in runs if not r.successful),
        repositories=len({_repository(r) for r in runs}),
        tools=len({r.tool for r in runs}),
    )
