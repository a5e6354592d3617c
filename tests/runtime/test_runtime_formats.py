"""Real-world log formats: documented samples parse, and the same traffic in every
format finds the same attackers and nobody else."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_traffic import (
    ANONYMOUS,
    ATTACKERS,
    FORMAT_WRITERS,
    WITH_USERS,
    Scenario,
    write_format,
)

from ledger.runtime import EnumerationPolicy, scan_logs
from ledger.runtime.accesslog import ReadStats, read_requests

FIXTURES = Path(__file__).parent / "fixtures"

# (file, detected format, [(method, path, status, subject, address)], lines skipped)
SAMPLES = [
    (
        "nginx_main_xff.log",
        "combined",
        [
            ("GET", "/api/orders/10001", 200, None, "198.51.100.23"),
            # The balancer (10.0.0.5) appended 203.0.113.77; 1.2.3.4 is the client's claim.
            ("GET", "/api/orders?id=10002", 404, None, "203.0.113.77"),
        ],
        0,
    ),
    (
        "nginx_timed.log",
        "combined",
        [
            ("GET", "/api/orders/10001?expand=items", 200, "alice", "203.0.113.7"),
            (
                "GET",
                "/api/documents/9f1c3e2a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                403,
                None,
                "2001:db8:85a3::8a2e:370:7334",
            ),
        ],
        0,
    ),
    (
        "apache_common.log",
        "combined",
        [
            ("GET", "/apache_pb.gif", 200, "frank", "127.0.0.1"),
            ("GET", "/invoices/4711.pdf", 404, None, "192.0.2.44"),
        ],
        0,
    ),
    (
        "apache_combined.log",
        "combined",
        [("GET", "/apache_pb.gif", 200, "frank", "127.0.0.1")],
        0,
    ),
    (
        "apache_vhost_combined.log",
        "combined",
        [
            ("GET", "/users/42/profile", 200, "bob", "192.0.2.10"),
            ("POST", "/api/orders", 201, None, "2001:db8::17"),
        ],
        0,
    ),
    (
        "ingress_nginx.log",
        "combined",
        [
            ("GET", "/api/orders/10001", 200, None, "10.244.0.1"),
            ("GET", "/healthz", 200, None, "10.244.0.1"),
        ],
        0,
    ),
    (
        "iis_w3c.log",
        "w3c",
        [
            ("GET", "/api/orders/10001", 200, "CONTOSO\\alice", "198.51.100.23"),
            ("GET", "/Orders/Details.aspx?id=10002", 404, None, "2001:db8::2"),
        ],
        0,
    ),
    (
        "cloudfront.log",
        "w3c",
        [
            ("GET", "/api/orders/10001", 200, None, "192.0.2.100"),
            ("GET", "/api/users/j%C3%BCrgen/profile?id=7", 403, None, "2001:db8::1"),
        ],
        0,
    ),
    (
        "alb.log",
        "alb",
        [
            ("GET", "http://www.example.com:80/api/orders/10001", 200, None, "192.168.131.39"),
            (
                "GET",
                "https://www.example.com:443/api/orders?id=10002",
                404,
                None,
                "2001:db8:1234::1",
            ),
        ],
        1,  # the third entry is a request the balancer could not parse
    ),
    (
        "elb_classic.log",
        "elb",
        [
            ("GET", "http://www.example.com:80/api/orders/10001", 200, None, "192.168.131.39"),
            ("GET", "https://www.example.com:443/api/orders/10002", 404, None, "192.168.131.39"),
        ],
        0,
    ),
    (
        "envoy_default.log",
        "envoy",
        [
            ("POST", "/api/v1/locations", 204, None, "10.0.35.28"),
            ("GET", "/api/orders/10001", 404, None, "198.51.100.9"),
        ],
        0,
    ),
    ("istio.log", "envoy", [("GET", "/status/418", 418, None, "10.44.1.23")], 0),
    (
        "gcp_lb.jsonl",
        "jsonl",
        [
            ("GET", "https://shop.example/api/orders/10001", 200, None, "203.0.113.80"),
            ("GET", "https://api-abc123-ew.a.run.app/api/orders/10002", 404, None, "2001:db8:4::5"),
        ],
        0,
    ),
    (
        "traefik.jsonl",
        "jsonl",
        [
            ("GET", "/api/orders/10001", 200, None, "192.0.2.50"),
            ("GET", "/api/orders/10002?x=1", 404, "alice", "192.0.2.50"),
        ],
        0,
    ),
    (
        "caddy.jsonl",
        "jsonl",
        [
            ("GET", "/api/orders/10001", 200, None, "198.51.100.4"),
            ("GET", "/api/orders/10002", 404, "bob", "2001:db8::9"),
        ],
        0,
    ),
    (
        "nginx_json.jsonl",
        "jsonl",
        [
            ("GET", "/api/orders/10001", 200, None, "198.51.100.23"),
            # nginx's default escaping (\xC3\xBC) read back as the UTF-8 it stands for.
            ("GET", "/api/users/jürgen", 404, "carol", "10.0.0.5"),
        ],
        0,
    ),
]


@pytest.mark.parametrize(
    ("name", "fmt", "expected", "skipped"), SAMPLES, ids=[s[0] for s in SAMPLES]
)
def test_documented_samples_parse(
    name: str, fmt: str, expected: list[tuple[object, ...]], skipped: int
) -> None:
    stats = ReadStats(FIXTURES / name, "jsonl")

    requests = list(read_requests(FIXTURES / name, None, None, stats))

    assert stats.format == fmt
    assert [(r.method, r.path, r.status, r.subject, r.ip) for r in requests] == expected
    assert stats.skipped == skipped


def test_every_sample_has_its_origin_noted() -> None:
    origins = (FIXTURES / "ORIGINS").read_text()
    for name, *_ in SAMPLES:
        assert f"\n{name}:" in origins or origins.startswith(f"{name}:"), name


@pytest.mark.parametrize("fmt", sorted(FORMAT_WRITERS))
def test_the_same_attackers_are_found_in_every_format(
    tmp_path: Path, scenario: Scenario, fmt: str
) -> None:
    log = write_format(scenario.lines, tmp_path / f"access.{fmt}", fmt)

    scan = scan_logs([log], EnumerationPolicy())

    found: dict[str, set[str]] = {}
    for finding in scan.findings:
        found.setdefault(finding.properties["subject"], set()).add(finding.rule_id)
    if fmt in WITH_USERS:
        expected = ATTACKERS
    else:
        # Without a user field each address is a subject; ENUM006 cannot apply.
        expected = {f"anonymous@{ip}": ATTACKERS[name] for name, ip in ANONYMOUS.items()}
    assert found == expected
    assert scan.files[0].requests == len(scenario.lines)
    assert scan.files[0].skipped == 0
