"""A realistic ReportData for the report tests and the benchmark.

One quarter of scans by six tools over four repositories of a payments
company: fixed, open, reopened and accepted findings, SLA breaches, a cadence
gap, a failed and a partial run, risk acceptances and runtime triage. Built
from a seeded random generator, so every call with the same arguments gives
the same data.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta

from ledger.export.model import (
    ExportRecord,
    FindingRow,
    GenerationBasis,
    Period,
    ReportConfig,
    ReportData,
    RiskAcceptance,
    ScanRun,
    Scope,
    TriageRecord,
    Verification,
)
from schemas.finding import Category, Severity

PERIOD = Period(date(2025, 1, 1), date(2025, 3, 31))
CHECKPOINT_TIME = datetime(2025, 3, 31, 22, 14, 9, tzinfo=UTC)
"""The period's last entry; the ledger holds a later one, so figures are as of AS_OF."""
AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
CLOSING_TIME = datetime(2025, 4, 1, 2, 14, 9, tzinfo=UTC)

REPOSITORIES = ("acme/payments-api", "acme/web-checkout", "acme/infra-live", "acme/ledger-worker")

# tool -> (version, format, category, repositories, days between runs)
TOOLS: dict[str, tuple[str, str, Category, tuple[str, ...], int]] = {
    "semgrep": ("1.92.0", "sarif", "code", REPOSITORIES[:2] + REPOSITORIES[3:], 2),
    "gitleaks": ("8.21.2", "gitleaks", "secret", REPOSITORIES, 3),
    "trivy": ("0.57.1", "sarif", "dependency", REPOSITORIES[:2] + REPOSITORIES[3:], 3),
    "checkov": ("3.2.334", "sarif", "configuration", REPOSITORIES[2:3], 4),
    "zap": ("2.15.0", "sarif", "dynamic", REPOSITORIES[1:2], 7),
    "falco": ("0.39.2", "falco", "runtime", REPOSITORIES[3:], 5),
}

RULES: dict[str, list[tuple[str, str, str]]] = {
    "semgrep": [
        (
            "python.django.security.injection.sql.sql-injection-db-cursor-execute",
            "SQL query built from request data",
            "src/payments/views/refunds.py:{n}",
        ),
        (
            "python.lang.security.audit.insecure-hash-algorithm-md5",
            "Insecure hash algorithm MD5",
            "src/payments/idempotency.py:{n}",
        ),
        (
            "javascript.express.security.audit.xss.direct-response-write",
            "Response written from unescaped user input",
            "server/routes/receipt.js:{n}",
        ),
        (
            "python.requests.security.disabled-cert-validation",
            "TLS certificate validation disabled",
            "src/worker/clients/bank.py:{n}",
        ),
    ],
    "gitleaks": [
        ("aws-access-token", "AWS access key in source", "deploy/scripts/backfill.sh:{n}"),
        ("stripe-access-token", "Stripe secret key in configuration", "config/staging.env:{n}"),
        ("generic-api-key", "Generic API key", "tests/fixtures/merchant.json:{n}"),
    ],
    "trivy": [
        ("CVE-2024-3651", "idna: potential DoS via resource consumption", "requirements.txt"),
        ("CVE-2024-35195", "requests: session keeps verify=False", "requirements.txt"),
        ("CVE-2024-4068", "braces: fails to limit characters it can handle", "package-lock.json"),
        ("GHSA-952p-6rrq-rcjv", "micromatch: ReDoS in braces pattern", "package-lock.json"),
    ],
    "checkov": [
        ("CKV_AWS_20", "S3 bucket allows public read", "modules/statements/s3.tf:{n}"),
        ("CKV_AWS_79", "Instance metadata service v1 enabled", "modules/workers/ec2.tf:{n}"),
        ("CKV2_AWS_6", "S3 bucket lacks a public access block", "modules/exports/s3.tf:{n}"),
    ],
    "zap": [
        ("10202", "Absence of anti-CSRF tokens", "https://checkout.staging.acme.test/pay"),
        ("10038", "Content Security Policy header not set", "https://checkout.staging.acme.test/"),
    ],
    "falco": [
        (
            "Terminal shell in container",
            "Shell spawned in ledger-worker pod",
            "k8s://prod/ledger-worker-7d9f8c6b5-x2x4k",
        ),
        (
            "Read sensitive file untrusted",
            "Process read /etc/shadow",
            "k8s://prod/ledger-worker-7d9f8c6b5-q8m2n",
        ),
    ],
}

SEVERITY_WEIGHTS: tuple[tuple[Severity, int], ...] = (
    ("critical", 4),
    ("high", 16),
    ("medium", 40),
    ("low", 30),
    ("info", 10),
)


def _hex(*parts: object, length: int = 64) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:length]


def _runs() -> list[ScanRun]:
    runs: list[ScanRun] = []
    start = datetime(2024, 12, 30, 6, 0, tzinfo=UTC)
    for tool, (version, fmt, _category, repositories, every) in sorted(TOOLS.items()):
        for repository in repositories:
            offset = len(repository) % every
            day = offset
            while start + timedelta(days=day) < CHECKPOINT_TIME:
                when = start + timedelta(
                    days=day, hours=len(tool), minutes=17 * len(repository) % 60
                )
                # checkov on infra-live was switched off for two weeks in February.
                skipped = tool == "checkov" and date(2025, 2, 3) <= when.date() <= date(2025, 2, 17)
                if not skipped:
                    i = len(runs)
                    runs.append(
                        ScanRun(
                            name=f"{tool}-{repository.split('/')[1]}-{when:%Y%m%d}.{fmt}",
                            tool=tool,
                            tool_version=version,
                            format=fmt,
                            sha256=_hex("artifact", tool, repository, when),
                            repository=repository,
                            commit=_hex("commit", repository, day, length=40),
                            branch="main",
                            pipeline_run=f"{9_100_000_000 + i * 7919}",
                            run_url=f"https://github.com/{repository}/actions/runs/"
                            f"{9_100_000_000 + i * 7919}",
                            time=when,
                            # one trivy run crashed, one semgrep run timed out half-way
                            successful=not (tool == "trivy" and day == 39 + offset),
                            complete=not (tool == "semgrep" and day == 50 + offset),
                            results=0,
                            seq=0,
                        )
                    )
                day += every
    runs.sort(key=lambda r: (r.time, r.tool, r.repository or ""))
    return [_with_seq(r, 3 + i * 40) for i, r in enumerate(runs)]


def _with_seq(run: ScanRun, seq: int) -> ScanRun:
    from dataclasses import replace

    return replace(run, seq=seq)


def sample_report(
    findings: int = 80, *, seed: int = 7, extra: tuple[FindingRow, ...] = ()
) -> ReportData:
    """The sample quarter with ``findings`` generated findings (plus ``extra`` rows)."""
    rng = random.Random(seed)
    config = ReportConfig()
    runs = _runs()
    by_pair: dict[tuple[str, str], list[ScanRun]] = {}
    for run in runs:
        by_pair.setdefault((run.tool, run.repository or ""), []).append(run)
    pairs = sorted(by_pair)
    severities = [s for s, _ in SEVERITY_WEIGHTS]
    weights = [w for _, w in SEVERITY_WEIGHTS]

    rows: list[FindingRow] = []
    for n in range(findings):
        tool, repository = pairs[n % len(pairs)] if n < len(pairs) else rng.choice(pairs)
        category = TOOLS[tool][2]
        rule_id, title, where = rng.choice(RULES[tool])
        severity: Severity = rng.choices(severities, weights)[0]
        pair_runs = [r for r in by_pair[(tool, repository)] if r.successful]
        first_run = rng.choice(pair_runs[: max(1, len(pair_runs) - 2)])
        first_seen = first_run.time
        fixed_at = None
        if rng.random() < 0.6:
            later = [r for r in pair_runs if r.time > first_seen and r.complete]
            if later:
                fixed_at = rng.choice(later[: max(1, len(later) // 2)]).time
        last_seen = fixed_at - timedelta(days=TOOLS[tool][4]) if fixed_at else pair_runs[-1].time
        last_seen = max(last_seen, first_seen)
        due, result = config.sla.evaluate(severity, first_seen, fixed_at, AS_OF)
        status = "fixed" if fixed_at else rng.choice(["open", "open", "open", "reopened"])
        rows.append(
            FindingRow(
                finding_id=f"F-{_hex('finding', n, length=10)}",
                tool=tool,
                rule_id=rule_id,
                severity=severity,
                title=title,
                location=where.format(n=10 + n % 400),
                repository=repository,
                category=category,
                first_seen=first_seen,
                last_seen=last_seen,
                status=status,  # type: ignore[arg-type]
                fixed_at=fixed_at,
                sla_due=due,
                sla_result=result,
                artifact_sha256=first_run.sha256,
                seq=first_run.seq + 1 + n % 30,
            )
        )

    # Two findings the organisation decided to live with, one awaiting a decision.
    acceptances = []
    open_rows = [r for r in rows if r.fixed_at is None and r.severity in ("medium", "high")]
    decisions = [
        (
            "risk-accepted",
            "approved",
            "dana.okafor@acme.test",
            date(2025, 9, 30),
            "Only reachable from the internal admin network; WAF rule 4711 blocks the pattern.",
        ),
        (
            "risk-accepted",
            "approved",
            "sam.lindqvist@acme.test",
            date(2025, 3, 15),
            "Fix depends on the vendor SDK 5.x upgrade scheduled for Q2.",
        ),
        ("suppression", "pending", None, None, "nosemgrep: test fixture, not deployed"),
    ]
    for (kind, status, approver, expires, why), row in zip(decisions, open_rows, strict=False):
        acceptances.append(
            RiskAcceptance(
                row.finding_id, kind, status, why, approver, expires, seq=(row.seq or 0) + 500
            )
        )
    accepted_ids = {a.finding_id for a in acceptances if a.status == "approved"}
    rows = [_accepted(r) if r.finding_id in accepted_ids else r for r in rows]

    runtime = [r for r in rows if r.category == "runtime"]
    triage = [
        TriageRecord(
            r.finding_id,
            decision,
            analyst,
            note,
            r.first_seen + timedelta(hours=5),
            (r.seq or 0) + 3,
        )
        for r, (decision, analyst, note) in zip(
            runtime,
            [
                (
                    "true-positive",
                    "oncall-sre",
                    "Debug shell by on-call engineer; session recorded.",
                ),
                ("false-positive", "secops", "Shadow read by the image's own healthcheck."),
                ("investigating", "secops", "Escalated to incident INC-2291."),
            ],
            strict=False,
        )
    ]

    return ReportData(
        scope=Scope(
            organisation="Acme Payments Ltd",
            description="Production payment services and the infrastructure that runs them "
            "(card-data environment excluded; covered by the PCI DSS report).",
            repositories=REPOSITORIES,
        ),
        period=PERIOD,
        basis=GenerationBasis(
            origin="ledger.acme.test/security-findings",
            tree_size=runs[-1].seq + 4000,
            root_hash="q3Jd8v0kz1cQ4mYx7yWw2S5pLr0T9eHbNfA6uVjK1xE=",
            key_id="4f1c2a9b",
            verifier_key="ledger.acme.test+4f1c2a9b+AaxV3S0b9yG7kq2Q0u3X1pD7vTn4mL8cR5wZ6eJ2fH9s",
            checkpoint_time=CHECKPOINT_TIME,
            start_tree_size=2,
            start_root_hash="mB9tYp4Q2sVw7cL1xK8dN3fR6hJ0gZ5aE2uI4oT7yW0=",
            closing_seq=runs[-1].seq + 4000,
            closing_time=CLOSING_TIME,
        ),
        verification=Verification(
            verified=True,
            entries_checked=runs[-1].seq + 4000,
            checks=(
                "hash chain intact from entry 0 to the checkpoint",
                "checkpoint signature valid for key 4f1c2a9b",
                "period start checkpoint consistent with the end checkpoint (RFC 9162)",
            ),
        ),
        config=config,
        findings=tuple(rows) + extra,
        runs=tuple(runs),
        acceptances=tuple(acceptances),
        triage=tuple(triage),
        export=ExportRecord(
            actor="compliance@acme.test",
            requested_at=datetime(2025, 4, 2, 9, 30, tzinfo=UTC),
            seq=runs[-1].seq + 4001,
            command="trailseal export --from 2025-01-01 --to 2025-03-31",
        ),
    )


def _accepted(row: FindingRow) -> FindingRow:
    from dataclasses import replace

    return replace(row, status="accepted")
