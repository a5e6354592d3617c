"""Report data replayed from a real ledger: lifecycle, runs, decisions, erasure, period.

The ledger is built by ingesting the real scanner outputs in
tests/ingest/fixtures at fixed times; :func:`build_ledger` is shared with the
pack and CLI tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ledger.export import metrics
from ledger.export.derive import (
    Derivation,
    ExportOptions,
    derive,
    find_finding,
    record_acceptance,
    record_triage,
)
from ledger.export.model import Period, Scope
from ledger.ingest.pipeline import ingest_file
from ledger.ledger import Ledger
from ledger.note import NoteSigner
from ledger.verify import Verifier
from schemas.artifact import CIContext

FIXTURES = Path(__file__).parent.parent / "ingest" / "fixtures"
REDACTION_KEY = bytes(range(32))
PERIOD = Period(date(2025, 1, 1), date(2025, 3, 31))
APP, API = "acme/app", "acme/api"
RUNTIME_ALERT = {
    "tool": "falco",
    "rule_id": "Terminal shell in container",
    "severity": "high",
    "title": "Shell spawned in a container of the worker pod",
    "category": "runtime",
    "location": {"path": "k8s://prod/ledger-worker-7d9f8c6b5-x2x4k"},
}


def at(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, 9, 30, tzinfo=UTC)


def ingest(ledger: Ledger, key: NoteSigner, path: Path, when: datetime, repo: str = APP) -> None:
    ci = CIContext(
        provider="github-actions",
        repository=repo,
        commit=f"{when:%m%d}" * 10,
        branch="main",
        pipeline_run=f"{when:%Y%m%d}",
        run_url=f"https://ci.example.test/{repo}/runs/{when:%Y%m%d}",
    )
    outcome = ingest_file(ledger, key, path, ci=ci, redaction_key=REDACTION_KEY, clock=lambda: when)
    assert outcome.status == "recorded", outcome


def bandit_without(tmp: Path, drop: tuple[int, ...], name: str) -> Path:
    """The real Bandit report with some results removed (their issues were fixed)."""
    document = json.loads((FIXTURES / "bandit_toy_app.json").read_text())
    document["results"] = [r for i, r in enumerate(document["results"]) if i not in drop]
    path = tmp / name
    path.write_text(json.dumps(document, indent=1))
    return path


@dataclass
class Built:
    ledger: Ledger
    key: NoteSigner
    erased_seq: int
    accepted: str
    triaged: str


def build_ledger(ledger: Ledger, key: NoteSigner, tmp: Path) -> Built:
    """A quarter of evidence, with a bit of everything the report shows."""
    # Before the period: the first Bandit run; its findings are open at the start.
    ingest(ledger, key, FIXTURES / "bandit_toy_app.json", at(12, 20, 2024))
    # Two issues fixed, then one comes back (reopened) and one stays fixed.
    ingest(ledger, key, bandit_without(tmp, (0, 1), "bandit_fixed.json"), at(1, 10))
    ingest(ledger, key, bandit_without(tmp, (1,), "bandit_reopened.json"), at(1, 20))
    ingest(ledger, key, FIXTURES / "semgrep_toy_app.sarif", at(1, 25))
    # Two runs, one failed, and results suppressed in source.
    ingest(ledger, key, FIXTURES / "sarif_two_runs_extensions_suppressions.sarif", at(2, 1), API)
    ingest(ledger, key, FIXTURES / "gitleaks_v8_four_leaks.json", at(2, 5))
    ingest(ledger, key, FIXTURES / "trivy_pip_two_vulnerabilities.json", at(2, 10), API)
    # A runtime alert, recorded as a JSON Lines finding.
    runtime = tmp / "falco.jsonl"
    runtime.write_text(json.dumps(RUNTIME_ALERT) + "\n")
    ingest(ledger, key, runtime, at(2, 12))

    # Decisions: an approved acceptance and a triage.
    with ledger.store.reading() as conn:
        rows = [r for r in ledger.store.finding_rows(conn) if r["status"] != "fixed"]
    high = next(r for r in rows if r["tool"] == "trivy")
    alert = next(r for r in rows if r["category"] == "runtime")
    record_acceptance(
        ledger,
        key,
        find_finding(ledger, high["identity"][:12]),
        approver="dana.okafor@acme.test",
        justification="Not reachable: the vulnerable parser is never called.",
        expires=date(2025, 9, 30),
        clock=lambda: at(2, 15),
    )
    record_triage(
        ledger,
        key,
        find_finding(ledger, alert["identity"][:12]),
        decision="false-positive",
        note="The on-call engineer's recorded debug session.",
        analyst="secops",
        clock=lambda: at(2, 16),
    )
    # Erase one semgrep finding's content (say, it quoted personal data).
    target = next(
        row.seq
        for row in ledger.entries()
        if row.kind == "finding" and b"Semgrep" in (row.body or b"")
    )
    ledger.erase(key, target, "quoted personal data", "dpo@acme.test", clock=lambda: at(2, 20))
    # After the period: must not show.
    ingest(ledger, key, FIXTURES / "trivy_repo_two_secrets.json", at(4, 5))
    return Built(ledger, key, target, high["identity"], alert["identity"])


def derive_period(
    built: Built, period: Period = PERIOD, repositories: tuple[str, ...] = ()
) -> Derivation:
    result = Verifier(built.key.verifier).verify(built.ledger)
    assert result.ok, result.problems
    options = ExportOptions(period, Scope("Acme", "Everything", repositories))
    return derive(built.ledger, options, built.key.verifier, result.size)


@pytest.fixture
def built(sqlite_ledger: Ledger, primary_key: NoteSigner, tmp_path: Path) -> Built:
    return build_ledger(sqlite_ledger, primary_key, tmp_path)


def test_lifecycle_is_replayed_to_the_period_end(built: Built) -> None:
    d = derive_period(built)
    rows = {f.finding_id: f for f in d.data.findings}
    bandit = [f for f in rows.values() if f.tool == "Bandit" or f.tool.lower() == "bandit"]
    statuses = sorted(f.status for f in bandit)
    assert statuses.count("fixed") == 1
    assert statuses.count("reopened") == 1
    fixed = next(f for f in bandit if f.status == "fixed")
    assert fixed.fixed_at == at(1, 10)
    assert fixed.first_seen == at(12, 20, 2024)
    assert fixed.sla_result in ("met", "breached")
    reopened = next(f for f in bandit if f.status == "reopened")
    assert reopened.fixed_at is None and reopened.last_seen == at(1, 20)
    # The checkpoint time is the last entry of the period: the erasure. An entry
    # dated after the period (April's Trivy run) shows it over: figures hold to its end.
    assert d.data.basis.checkpoint_time == at(2, 20)
    assert d.data.basis.closing_seq == d.end_size
    assert d.data.basis.closing_time == at(4, 5)
    assert d.data.as_of == datetime(2025, 4, 1, tzinfo=UTC)
    assert d.data.basis.tree_size == d.end_size


def test_runs_failed_run_and_period_bounds(built: Built) -> None:
    d = derive_period(built)
    times = sorted(r.time for r in d.data.runs)
    assert times[0] == at(1, 10) and times[-1] == at(2, 12)
    failed = [r for r in d.data.runs if not r.successful]
    assert len(failed) == 1 and failed[0].repository == API
    assert all(r.commit and r.run_url for r in d.data.runs)
    assert d.start_size > 0 and d.end_size > d.start_size


def test_acceptances_triage_and_erasure(built: Built) -> None:
    d = derive_period(built)
    kinds = sorted((a.kind, a.status) for a in d.data.acceptances)
    assert ("risk-accepted", "approved") in kinds
    assert ("suppression", "pending") in kinds
    approved = next(a for a in d.data.acceptances if a.status == "approved")
    assert approved.approver == "dana.okafor@acme.test"
    assert approved.expires == date(2025, 9, 30)
    accepted_row = next(f for f in d.data.findings if f.finding_id == approved.finding_id)
    assert accepted_row.status == "accepted"
    (triage,) = d.data.triage
    assert triage.decision == "false-positive" and triage.analyst == "secops"
    erased = [f for f in d.data.findings if f.note.startswith("content erased")]
    assert len(erased) == 1
    assert erased[0].title == "(erased)" and str(built.erased_seq) in erased[0].note


def test_repository_filter(built: Built) -> None:
    d = derive_period(built, repositories=(API,))
    assert {f.repository for f in d.data.findings} == {API}
    assert {r.repository for r in d.data.runs} == {API}


def test_empty_period_before_any_entry(built: Built) -> None:
    d = derive_period(built, Period(date(2024, 1, 1), date(2024, 1, 31)))
    assert d.start_size == d.end_size == 0
    assert not d.data.findings and not d.data.runs


def test_quiet_period_still_reports_open_findings(built: Built) -> None:
    d = derive_period(built, Period(date(2025, 3, 1), date(2025, 3, 31)))
    assert d.start_size == d.end_size
    assert not d.data.runs
    assert d.data.findings and all(f.status != "fixed" for f in d.data.findings)


def test_status_agrees_with_the_derived_tables_at_the_head(built: Built) -> None:
    d = derive_period(built, Period(date(2024, 1, 1), date(2025, 12, 31)))
    with built.ledger.store.reading() as conn:
        stored = {r["identity"][:12]: r["status"] for r in built.ledger.store.finding_rows(conn)}
    for row in d.data.findings:
        want = stored[row.finding_id.split("@")[0]]
        assert row.status == want or (row.status == "accepted" and want != "fixed")


def test_decisions_need_a_known_finding(built: Built) -> None:
    from ledger.errors import InputError

    with pytest.raises(InputError, match="no finding"):
        find_finding(built.ledger, "0123456789ab")
    with pytest.raises(InputError, match="8 hex"):
        find_finding(built.ledger, "xyz")
    row = find_finding(built.ledger, built.triaged[:10])
    with pytest.raises(InputError, match="decision"):
        record_triage(built.ledger, built.key, row, decision="shrug")


def test_derive_on_both_backends(ledger: Ledger, primary_key: NoteSigner, tmp_path: Path) -> None:
    d = derive_period(build_ledger(ledger, primary_key, tmp_path))
    assert len(d.data.findings) > 10
    assert d.data.basis.checkpoint_time == at(2, 20)
    assert d.data.as_of == datetime(2025, 4, 1, tzinfo=UTC)


def test_scanning_that_stops_leaves_a_gap_to_the_period_end(
    sqlite_ledger: Ledger, primary_key: NoteSigner
) -> None:
    # Semgrep runs weekly, then stops mid-December; the next entry is in January.
    for day in (1, 8, 14):
        ingest(sqlite_ledger, primary_key, FIXTURES / "semgrep_toy_app.sarif", at(12, day))
    ingest(sqlite_ledger, primary_key, FIXTURES / "bandit_toy_app.json", at(1, 6, 2026))
    december = Period(date(2025, 12, 1), date(2025, 12, 31))
    d = derive_period(Built(sqlite_ledger, primary_key, 0, "", ""), december)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    assert d.data.period_closed and d.data.as_of == end
    assert d.data.basis.checkpoint_time == at(12, 14)
    [row] = metrics.cadence(d.data.runs, december, 7, d.data.as_of)
    [gap] = row.gaps
    assert (gap.start, gap.end, gap.kind) == (at(12, 14), end, "after last run")
    # Open findings are judged at the period's end too: a critical one first seen
    # on 1 December (7-day SLA) is past due however late in the month it is read.
    ages = metrics.open_by_age(d.data.findings, d.data.as_of)
    assert sum(a.total for a in ages) == sum(1 for f in d.data.findings if f.fixed_at is None)
    due = [f for f in d.data.findings if f.sla_due is not None and f.sla_due < end]
    assert due and all(f.sla_result == "open-breached" for f in due)


def test_a_period_still_in_progress_is_judged_at_its_last_entry(
    sqlite_ledger: Ledger, primary_key: NoteSigner
) -> None:
    for day in (1, 8, 14):
        ingest(sqlite_ledger, primary_key, FIXTURES / "semgrep_toy_app.sarif", at(12, day))
    december = Period(date(2025, 12, 1), date(2025, 12, 31))
    d = derive_period(Built(sqlite_ledger, primary_key, 0, "", ""), december)
    # Nothing after 14 December: the ledger cannot say the rest of the month was silent.
    assert not d.data.period_closed and d.data.basis.closing_seq is None
    assert d.data.as_of == d.data.basis.checkpoint_time == at(12, 14)
    [row] = metrics.cadence(d.data.runs, december, 7, d.data.as_of)
    assert row.gaps == ()
