"""The report's figures, checked on small hand-counted data and on the sample quarter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sample_report as sample
from sample_report import CHECKPOINT_TIME, sample_report

from ledger.errors import InputError
from ledger.export import metrics
from ledger.export.model import FindingRow, Period, ReportConfig, RiskAcceptance, ScanRun, SlaPolicy

PERIOD = Period(date(2025, 1, 6), date(2025, 1, 26))  # three whole ISO weeks
AS_OF = datetime(2025, 1, 27, 3, 0, tzinfo=UTC)
SLA = SlaPolicy()


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


def finding(
    fid: str,
    severity: str,
    first: datetime,
    fixed: datetime | None = None,
    *,
    category: str = "code",
    status: str | None = None,
) -> FindingRow:
    due, result = SLA.evaluate(severity, first, fixed, AS_OF)  # type: ignore[arg-type]
    return FindingRow(
        finding_id=fid,
        tool="semgrep",
        rule_id="python.lang.security.audit.eval-detected",
        severity=severity,  # type: ignore[arg-type]
        title="Use of eval on request data",
        location="src/app/handlers.py:42",
        repository="acme/api",
        category=category,  # type: ignore[arg-type]
        first_seen=first,
        last_seen=fixed or AS_OF,
        status=status or ("fixed" if fixed else "open"),  # type: ignore[arg-type]
        fixed_at=fixed,
        sla_due=due,
        sla_result=result,
        artifact_sha256="ab" * 32,
        seq=1,
    )


def run(tool: str, when: datetime, *, repo: str = "acme/api", ok: bool = True) -> ScanRun:
    return ScanRun(
        name=f"{tool}.sarif",
        tool=tool,
        tool_version="1.0",
        format="sarif",
        sha256="cd" * 32,
        repository=repo,
        commit=f"{when:%d}" * 20,
        branch="main",
        pipeline_run="42",
        run_url=None,
        time=when,
        successful=ok,
        complete=True,
        results=1,
        seq=when.day,
    )


FINDINGS = [
    finding("a", "critical", at(6), at(8)),  # fixed in 2 days: met
    finding("b", "critical", at(7), at(20)),  # fixed in 13 days: breached
    finding("c", "high", at(13)),  # open, 14 days old: within
    finding("d", "medium", datetime(2024, 12, 20, tzinfo=UTC)),  # before the period
    finding("e", "low", at(21), at(22), category="secret"),
    finding("f", "info", at(22)),
    finding("g", "critical", at(14), status="accepted"),  # open past its 7 days
]


def test_sla_policy_judges_met_breached_and_open() -> None:
    first = at(1)
    assert SLA.evaluate("high", first, first + timedelta(days=30), AS_OF)[1] == "met"
    assert SLA.evaluate("high", first, first + timedelta(days=30, seconds=1), AS_OF)[1] == (
        "breached"
    )
    assert SLA.evaluate("critical", first, None, AS_OF) == (
        first + timedelta(days=7),
        "open-breached",
    )
    assert SLA.evaluate("low", first, None, AS_OF)[1] == "open-within"
    assert SLA.evaluate("info", first, None, AS_OF) == (None, None)


def test_config_loads_toml_and_applies_overrides(tmp_path: Path) -> None:
    path = tmp_path / "report.toml"
    path.write_text("[sla]\ncritical = 3\ninfo = 365\nlow = false\n\n[cadence]\nmax_gap_days = 2\n")
    config = ReportConfig.load(path, sla_overrides={"high": 14})
    assert dict(config.sla.days) == {
        "critical": 3,
        "high": 14,
        "medium": 90,
        "low": None,
        "info": 365,
    }
    assert config.max_gap_days == 2
    assert ReportConfig.load().sla.for_severity("high") == 30


@pytest.mark.parametrize(
    "text",
    ["[sla]\nurgent = 1\n", "[sla]\nhigh = 0\n", "[sla]\nhigh = '30'\n", "[slas]\n", "sla = 3"],
)
def test_config_refuses_bad_tables(tmp_path: Path, text: str) -> None:
    path = tmp_path / "report.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"report\.toml"):
        ReportConfig.load(path)


def test_weekly_counts_open_opened_and_fixed() -> None:
    weeks = metrics.weekly(FINDINGS, PERIOD)
    assert [w.week_start for w in weeks] == [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
    # Week 1: d (carried in), a opened and fixed, b opened -> open: d, b.
    assert weeks[0].opened == 2 and weeks[0].fixed == 1
    assert dict(weeks[0].open_by_severity) == {
        "critical": 1,
        "high": 0,
        "medium": 1,
        "low": 0,
        "info": 0,
    }
    # Week 2: c and g opened; week 3: e, f opened, b and e fixed.
    assert (weeks[1].opened, weeks[1].fixed) == (2, 0)
    assert (weeks[2].opened, weeks[2].fixed) == (2, 2)
    assert weeks[2].open_by_severity["critical"] == 1  # g; b was fixed
    assert sum(weeks[2].open_by_severity.values()) == 4  # c, d, f, g


def test_weekly_stops_at_the_evidence_time() -> None:
    # Evidence drawn on Tuesday of the second week: the third week has no data.
    as_of = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)
    weeks = metrics.weekly(FINDINGS, PERIOD, as_of)
    assert [w.week_start for w in weeks] == [date(2025, 1, 6), date(2025, 1, 13)]
    assert weeks == metrics.weekly(FINDINGS, PERIOD)[:2]
    # Before the period even started, the first week still stands alone.
    early = metrics.weekly(FINDINGS, PERIOD, datetime(2024, 12, 1, tzinfo=UTC))
    assert [w.week_start for w in early] == [date(2025, 1, 6)]


def test_weekly_matches_a_direct_count_on_the_sample() -> None:
    data = sample_report(300)
    weeks = metrics.weekly(data.findings, data.period)
    for week in weeks:
        end = metrics.start_of(min(week.week_start + timedelta(days=7), data.period.end))
        if week.week_start + timedelta(days=7) > data.period.end:
            end = metrics.start_of(data.period.end + timedelta(days=1))
        direct = sum(
            1
            for f in data.findings
            if f.first_seen < end and (f.fixed_at is None or f.fixed_at >= end)
        )
        assert sum(week.open_by_severity.values()) == direct


def test_remediation_by_severity() -> None:
    stats = {s.severity: s for s in metrics.remediation(FINDINGS, SLA)}
    critical = stats["critical"]
    assert (critical.fixed, critical.fixed_within_sla) == (2, 1)
    assert critical.median_days == pytest.approx(2.0)
    assert critical.max_days == pytest.approx(13.0)
    assert (critical.open, critical.open_breached) == (1, 1)
    assert stats["info"].sla_days is None and stats["info"].fixed == 0
    assert stats["high"].median_days is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert metrics.percentile(values, 0.5) == 5.0
    assert metrics.percentile(values, 0.9) == 9.0
    assert metrics.percentile([3.0], 0.9) == 3.0
    assert metrics.percentile([], 0.5) is None


def test_open_by_age_buckets() -> None:
    ages = {a.severity: a for a in metrics.open_by_age(FINDINGS, AS_OF)}
    assert ages["high"].counts == (0, 1, 0, 0, 0)  # c: 14 days
    assert ages["medium"].counts == (0, 0, 1, 0, 0)  # d: 38 days
    assert ages["info"].counts == (1, 0, 0, 0, 0)
    assert ages["low"].total == 0


def test_breaches_explain_themselves_and_mention_acceptances() -> None:
    acceptance = RiskAcceptance("g", "risk-accepted", "approved", "WAF rule", "ciso", None, 99)
    result = metrics.breaches(FINDINGS, [acceptance], AS_OF)
    assert [b.finding.finding_id for b in result] == ["b", "g"]  # most overdue first
    assert result[0].explanation == "fixed 6 day(s) after the due date 2025-01-14"
    assert result[1].explanation.startswith("still accepted, 5 day(s) past the due date")
    assert "risk acceptance approved (entry 99)" in result[1].explanation


def test_cadence_finds_gaps_at_both_ends_and_between() -> None:
    runs = [
        run("trivy", at(10)),
        run("trivy", at(12)),
        run("trivy", at(15), ok=False),  # a failed run does not close the gap
        run("trivy", at(24)),
        run("semgrep", at(7)),
        run("semgrep", at(14)),
        run("semgrep", at(21)),
    ]
    rows = {r.tool: r for r in metrics.cadence(runs, PERIOD, 7, AS_OF)}
    trivy = rows["trivy"]
    assert [(g.kind, round(g.days, 1)) for g in trivy.gaps] == [("between runs", 12.0)]
    assert trivy.runs == 4 and trivy.failed == 1 and trivy.commits == 4
    assert rows["semgrep"].gaps == ()
    assert rows["semgrep"].median_interval_days == pytest.approx(7.0)

    tight = {r.tool: r for r in metrics.cadence(runs, PERIOD, 3, AS_OF)}
    assert [g.kind for g in tight["trivy"].gaps] == [
        "before first run",
        "between runs",
    ]
    assert [g.kind for g in tight["semgrep"].gaps] == [
        "between runs",
        "between runs",
        "after last run",
    ]
    idle = metrics.cadence([run("zap", datetime(2024, 12, 1, tzinfo=UTC))], PERIOD, 7, AS_OF)
    assert [g.kind for g in idle[0].gaps] == ["no runs"]


def test_cadence_counts_the_run_at_the_checkpoint_time() -> None:
    # An ingest ends with its artifact entry, so the period's last entry (whose
    # time is the report's as-of) is often a run: it is inside the period.
    last = at(20, 9)
    runs = [run("semgrep", at(6, 9)), run("semgrep", at(13, 9)), run("semgrep", last)]
    [row] = metrics.cadence(runs, PERIOD, 7, last)
    assert row.gaps == ()
    assert row.median_interval_days == pytest.approx(7.0)
    [alone] = metrics.cadence([run("zap", last)], PERIOD, 30, last)
    assert alone.gaps == ()


def test_health_changes_and_problem_runs() -> None:
    runs = [run("trivy", at(10)), run("trivy", at(11), ok=False), run("zap", at(12), repo="")]
    runs.append(replace(run("zap", at(13), repo=""), complete=False))
    health = {h.tool: h for h in metrics.health(runs)}
    assert (health["trivy"].failed, health["trivy"].partial) == (1, 0)
    assert (health["zap"].failed, health["zap"].partial) == (0, 1)
    assert [r.time.day for r in metrics.problem_runs(runs)] == [11, 13]
    changes = {c.repository: c for c in metrics.changes(runs)}
    assert changes[metrics.NO_REPOSITORY].runs == 2
    assert changes["acme/api"].commits == 2


def test_category_rows_and_runtime_triage_on_the_sample() -> None:
    data = sample_report(200)
    rows = metrics.by_category(data.findings, ("secret", "dependency"))
    assert {r.category for r in rows} == {"secret", "dependency"}
    total = sum(r.total for r in rows)
    assert total == sum(1 for f in data.findings if f.category in ("secret", "dependency"))
    pairs = metrics.runtime_triage(data.findings, data.triage)
    assert all(f.category == "runtime" for f, _ in pairs)
    assert sum(1 for _, t in pairs if t is not None) == len(data.triage)


def test_totals_on_the_sample() -> None:
    data = sample_report(200)
    totals = metrics.totals(data.findings, data.runs)
    assert totals.findings == 200
    assert totals.open + totals.fixed == 200
    assert totals.failed_runs == 3
    assert totals.repositories == 4 and totals.tools == 6
    assert data.basis.checkpoint_time == CHECKPOINT_TIME
    assert data.as_of == sample.AS_OF
