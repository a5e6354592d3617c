"""ENUM rules on generated traffic: attackers found, ordinary users and bursts not."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_traffic import ATTACKERS, INDEXER, Line, Scenario, generate, write_jsonl

from ledger.runtime import EnumerationPolicy, scan_logs
from schemas.finding import Finding


def _by_subject(findings: list[Finding]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in findings:
        found.setdefault(finding.properties["subject"], set()).add(finding.rule_id)
    return found


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_exactly_the_attackers_are_found(tmp_path: Path, seed: int) -> None:
    scenario = generate(seed=seed)
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")

    scan = scan_logs([log], EnumerationPolicy())

    assert _by_subject(scan.findings) == ATTACKERS
    assert scan.files[0].requests == len(scenario.lines)
    assert scan.files[0].skipped == 0


def test_findings_name_subject_route_window_counts_and_samples(
    tmp_path: Path, scenario: Scenario
) -> None:
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")

    findings = scan_logs([log], EnumerationPolicy()).findings

    walk = next(f for f in findings if f.rule_id == "ENUM002")
    assert walk.location is not None and walk.location.path == "/api/orders/{int}"
    assert walk.properties["subject"] == "atk-walker"
    assert walk.properties["step"] == 1
    assert walk.properties["window_start"] == "2026-03-02T11:00:00Z"
    assert walk.properties["sample_ids"] == ["10000", "10001", "10002", "10003", "10004"]
    foreign = next(
        f for f in findings if f.rule_id == "ENUM004" and f.properties["subject"] == "atk-docs"
    )
    assert foreign.location is not None and foreign.location.path == "/api/documents/{uuid}"
    assert foreign.properties["foreign_ids"] >= 5 and foreign.properties["owners"] >= 3
    assert len(foreign.properties["sample_ids"]) == 5
    for finding in findings:
        assert finding.tool == "trailseal-runtime" and finding.category == "runtime"
        # The ledger's canonical JSON refuses floats anywhere in a record.
        assert "float" not in repr([type(v) for v in finding.properties.values()])


def test_legitimate_bursts_are_silent_for_the_stated_reasons(
    tmp_path: Path, scenario: Scenario
) -> None:
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")
    # Declaring the catalogue private makes the indexer's ordered read a walk:
    # it is the route being shared, not the rules being blind, that keeps it quiet.
    private = EnumerationPolicy(shared_min_subjects=10_000)

    findings = scan_logs([log], private).findings

    assert "ENUM002" in _by_subject(findings)[INDEXER]
    # The pager's minute of 200 documents is theirs alone: nothing on that route.
    documents = [f for f in findings if f.location and f.location.path == "/api/documents/{uuid}"]
    assert {f.properties["subject"] for f in documents} == {"atk-docs"}


def test_paging_through_own_objects_fires_once_they_are_someone_elses(tmp_path: Path) -> None:
    # The same 200-document minute, but the documents were first read by
    # three other users: now it is a trespass, and the rules must say so.
    docs = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(200)]
    owners = ["alice", "bob", "carol"]
    lines = [
        Line(1_000.0 + i, owners[i % 3], "GET", f"/api/documents/{d}", 200, "10.0.0.1")
        for i, d in enumerate(docs)
    ]
    lines += [
        Line(2_000.0 + i * 0.3, "mallory", "GET", f"/api/documents/{d}", 200, "10.0.0.9")
        for i, d in enumerate(docs)
    ]
    log = write_jsonl(lines, tmp_path / "access.jsonl")

    found = _by_subject(scan_logs([log], EnumerationPolicy()).findings)

    assert found == {"mallory": {"ENUM001", "ENUM004"}}


def test_owner_is_not_blamed_for_ids_an_attacker_touched_first(tmp_path: Path) -> None:
    walk = [
        Line(
            100.0 + i, "mallory", "GET", f"/api/orders/{n}", 404 if n % 7 == 0 else 200, "10.0.0.9"
        )
        for i, n in enumerate(range(500, 560))
    ]
    # Later the real owners read their orders, which mallory reached first.
    owners = [
        Line(5_000.0 + i * 40, f"user-{i % 6}", "GET", f"/api/orders/{n}", 200, "10.0.1.1")
        for i, n in enumerate(range(500, 560))
        if n % 7
    ]
    log = write_jsonl(walk + owners, tmp_path / "access.jsonl")

    found = _by_subject(scan_logs([log], EnumerationPolicy()).findings)

    assert set(found) == {"mallory"}
    assert "ENUM002" in found["mallory"]


def test_thresholds_are_configurable(tmp_path: Path, scenario: Scenario) -> None:
    log = write_jsonl(scenario.lines, tmp_path / "access.jsonl")
    strict = EnumerationPolicy(address_min_count=15)

    found = _by_subject(scan_logs([log], strict).findings)

    assert "atk-roamer" not in found


def test_route_templates_replace_ids() -> None:
    from ledger.runtime.routes import RouteTemplates

    routes = RouteTemplates(slug_min_values=3)
    uuid = "9F1C3E2A-1B2C-4D5E-8F90-A1B2C3D4E5F6"

    assert routes.split(f"/api/orders/42/items/{uuid}?x=1").template == (
        "/api/orders/{int}/items/{uuid}"
    )
    assert routes.split(f"/o/42/i/{uuid}").object_id == f"42/{uuid.lower()}"
    assert routes.split("/blobs/5f2b9c0e1a7d4e3b9c8a7d6e").template == "/blobs/{hex}"
    assert routes.split("/s/01HV3K8Z9Q2WJ7X5N4M6P8R0T2/").template == "/s/{token}"
    assert routes.split("/api/payment-methods").template == "/api/payment-methods"
    for name in ("alice", "bob", "carol", "dave"):
        route = routes.split(f"/users/{name}/profile")
    assert route.template == "/users/{slug}/profile" and route.object_id == "dave"
    assert routes.split("/users/erin/profile").template == "/users/{slug}/profile"
