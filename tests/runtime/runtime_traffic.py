"""Generated access-log traffic: ordinary users, legitimate bursts, known attackers.

Everything comes from one seeded ``random.Random``, so a scenario is the
same on every run. Ordinary users read their own orders and documents and
browse a shared product catalogue; two legitimate bursts (a user paging
through 200 documents in a minute, an indexer reading the whole catalogue)
look fast but are nobody else's data; five attackers each show one pattern.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T0 = 1_772_438_400  # 2026-03-02T08:00:00Z
HOURS = 4

ATTACKERS = {
    "atk-walker": {"ENUM001", "ENUM002", "ENUM004"},
    "atk-docs": {"ENUM001", "ENUM004"},
    "atk-guesser": {"ENUM003"},
    "atk-slow": {"ENUM001", "ENUM004", "ENUM005"},
    "atk-roamer": {"ENUM006"},
}
"""Each attacker and the rules its traffic is built to trip."""

PAGER = "u-007"
INDEXER = "svc-catalog-indexer"


@dataclass(order=True)
class Line:
    """One request before it is written in some log format."""

    time: float
    sub: str = field(compare=False)
    method: str = field(compare=False)
    path: str = field(compare=False)
    status: int = field(compare=False)
    ip: str = field(compare=False)


@dataclass
class Scenario:
    """The generated lines and who owns what."""

    lines: list[Line]
    users: list[str]


def generate(seed: int = 7, users: int = 120) -> Scenario:
    """Build the scenario; ``lines`` are in time order."""
    rng = random.Random(seed)
    names = [f"u-{i:03d}" for i in range(1, users + 1)]
    orders: dict[str, list[int]] = {n: [] for n in names}
    for order_id in range(10_000, 13_000):
        orders[rng.choice(names)].append(order_id)
    docs = {
        n: [
            str(uuid.UUID(int=rng.getrandbits(128), version=4))
            for _ in range(200 if n == PAGER else rng.randint(5, 30))
        ]
        for n in names
    }
    ips = {
        n: [
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            for _ in range(rng.randint(1, 3))
        ]
        for n in names
    }
    out: list[Line] = []

    # Ordinary sessions spread over the whole log.
    for name in names:
        for _ in range(rng.randint(3, 8)):
            t = T0 + rng.uniform(0, HOURS * 3600 - 900)
            ip = rng.choice(ips[name])

            def hit(path: str, status: int = 200, *, _n: str = name, _ip: str = ip) -> None:
                nonlocal t
                t += rng.uniform(1, 20)
                out.append(Line(t, _n, "GET", path, status, _ip))

            hit("/api/orders?page=1")
            for oid in rng.sample(orders[name], min(len(orders[name]), rng.randint(1, 8))):
                hit(f"/api/orders/{oid}", 404 if rng.random() < 0.02 else 200)
            for doc in rng.sample(docs[name], min(len(docs[name]), rng.randint(1, 6))):
                hit(f"/api/documents/{doc}")
            for _ in range(rng.randint(2, 10)):
                hit(f"/catalog/products/{int(rng.paretovariate(1.2)) % 800 + 1}")
            hit(f"/api/invoices/{rng.randint(500, 900)}", 403 if rng.random() < 0.05 else 200)
            hit("/api/profile")

    # Legitimate burst: the pager reads all 200 of their documents in a minute.
    t = T0 + 3600
    for doc in docs[PAGER]:
        t += 0.3
        out.append(Line(t, PAGER, "GET", f"/api/documents/{doc}", 200, ips[PAGER][0]))
    # Legitimate burst: the indexer reads the catalogue in order, 20 a second.
    t = T0 + 5400
    for product in range(1, 801):
        t += 0.05
        out.append(Line(t, INDEXER, "GET", f"/catalog/products/{product}", 200, "10.9.9.9"))

    attack = T0 + 3 * 3600
    # atk-walker: every order id in a range, four a second.
    t = attack
    for oid in range(10_000, 10_400):
        t += 0.25
        status = 404 if rng.random() < 0.05 else 200
        out.append(Line(t, "atk-walker", "GET", f"/api/orders/{oid}", status, "203.0.113.5"))
    # atk-docs: leaked document ids of other users, read over three minutes.
    leaked = [d for n in names[:30] if n != PAGER for d in docs[n][:2]]
    t = attack + 600
    for doc in leaked:
        t += 3
        out.append(Line(t, "atk-docs", "GET", f"/api/documents/{doc}", 200, "203.0.113.9"))
    # atk-guesser: random invoice numbers the API mostly refuses.
    t = attack + 900
    for _ in range(40):
        t += 1
        status = 200 if rng.random() < 0.1 else rng.choice((403, 404))
        path = f"/api/invoices/{rng.randint(10_000, 99_999)}"
        out.append(Line(t, "atk-guesser", "GET", path, status, "198.51.100.7"))
    # atk-slow: shuffled order ids, 25 a minute for twenty minutes.
    slow = list(range(11_000, 11_500))
    rng.shuffle(slow)
    t = attack + 1200
    for oid in slow:
        t += 2.4
        out.append(Line(t, "atk-slow", "GET", f"/api/orders/{oid}", 200, "198.51.100.20"))
    # atk-roamer: ordinary browsing, but from fourteen addresses in ten minutes.
    t = attack + 2400
    for i in range(14):
        t += 30
        ip = f"192.0.2.{10 + i}"
        out.append(Line(t, "atk-roamer", "GET", "/api/profile", 200, ip))
        out.append(Line(t + 1, "atk-roamer", "GET", "/api/orders?page=1", 200, ip))
    out.sort()
    return Scenario(out, names)


def _stamp(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_jsonl(lines: list[Line], path: Path, *, sub_field: str = "sub") -> Path:
    """Write JSON Lines; ``sub_field`` renames the subject field."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            record = {
                "time": _stamp(line.time),
                "method": line.method,
                "path": line.path,
                "status": line.status,
                sub_field: line.sub,
                "ip": line.ip,
            }
            out.write(json.dumps(record) + "\n")
    return path


def fake_jwt(sub: str) -> str:
    """A token-shaped string carrying ``sub``; its signature is random bytes."""

    def part(value: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'sub': sub})}.c2lnbmF0dXJl"


def write_combined(lines: list[Line], path: Path, *, tokens: bool = False) -> Path:
    """Write Combined Log Format, gzip if ``path`` ends in .gz.

    With ``tokens`` the user field is '-' and the subject travels in a
    logged ``Authorization: Bearer`` header appended after the user agent.
    """
    from datetime import UTC, datetime

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        for line in lines:
            stamp = datetime.fromtimestamp(line.time, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
            user = "-" if tokens else line.sub
            tail = f' "Bearer {fake_jwt(line.sub)}"' if tokens else ""
            out.write(
                f'{line.ip} - {user} [{stamp}] "{line.method} {line.path} HTTP/1.1" '
                f'{line.status} 512 "-" "client/1.0"{tail}\n'
            )
    return path


# --- The same traffic in the formats servers and load balancers write ----------
# Field layouts follow each format's documentation; tests/runtime/fixtures/ORIGINS
# lists the pages.

ANONYMOUS = {
    "atk-walker": "203.0.113.5",
    "atk-docs": "203.0.113.9",
    "atk-guesser": "198.51.100.7",
    "atk-slow": "198.51.100.20",
}
"""Each attacker's address, which names it in a log without a user field."""


def stable_ip(line: Line) -> str:
    """One address per ordinary user, so a log without users still tells them apart."""
    if line.sub.startswith("u-"):
        n = int(line.sub[2:])
        return f"10.1.{n}.7"
    return line.ip


def _iso(t: float, digits: int = 6) -> str:
    from datetime import UTC, datetime

    text = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: 20 + digits] + "Z"


def write_format(lines: list[Line], path: Path, fmt: str) -> Path:
    """Write ``lines`` as ``fmt``: one of :data:`FORMAT_WRITERS`."""
    with path.open("w", encoding="utf-8", newline="") as out:
        FORMAT_WRITERS[fmt](lines, out)
    return path


def _nginx_behind_lb(lines: list[Line], out: Any) -> None:
    # nginx.conf's 'main' format behind a load balancer: $remote_addr is the
    # balancer, the client is the last entry the balancer added to X-Forwarded-For.
    from datetime import UTC, datetime

    for line in lines:
        stamp = datetime.fromtimestamp(line.time, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        forged = "6.6.6.6, " if line.sub.startswith("atk-") else ""
        out.write(
            f'10.0.0.2 - {line.sub} [{stamp}] "{line.method} {line.path} HTTP/1.1" '
            f'{line.status} 512 "-" "Mozilla/5.0" "{forged}{line.ip}"\n'
        )


def _vhost_combined(lines: list[Line], out: Any) -> None:
    # Apache's vhost_combined, the server's local time (+0100).
    from datetime import datetime, timedelta, timezone

    local = timezone(timedelta(hours=1))
    for line in lines:
        stamp = datetime.fromtimestamp(line.time, local).strftime("%d/%b/%Y:%H:%M:%S +0100")
        out.write(
            f"shop.example:443 {line.ip} - {line.sub} [{stamp}] "
            f'"{line.method} {line.path} HTTP/1.1" {line.status} 512 "-" "Mozilla/5.0"\n'
        )


def _iis(lines: list[Line], out: Any) -> None:
    out.write("#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n")
    out.write(
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
        "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"
    )
    for line in lines:
        stamp = _iso(line.time, 0)
        stem, _, query = line.path.partition("?")
        out.write(
            f"{stamp[:10]} {stamp[11:19]} 10.0.0.4 {line.method} {stem} {query or '-'} 443 "
            f"{line.sub} {line.ip} Mozilla/5.0+(Windows+NT+10.0) - {line.status} 0 0 15\r\n"
        )


def _cloudfront(lines: list[Line], out: Any) -> None:
    out.write("#Version: 1.0\n")
    out.write(
        "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
        "sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type "
        "x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for "
        "ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
        "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type "
        "sc-content-type sc-content-len sc-range-start sc-range-end\n"
    )
    for line in lines:
        stamp = _iso(line.time, 0)
        stem, _, query = line.path.partition("?")
        fields = [
            stamp[:10], stamp[11:19], "SEA19-C1", "1045", stable_ip(line), line.method,
            "d111111abcdef8.cloudfront.net", stem, str(line.status), "-",
            "Mozilla/5.0%20(X11)", query or "-", "-", "Miss", "SOX4xwn4XV6Q4rgb==",
            "shop.example", "https", "126", "0.036", "-", "TLSv1.3", "TLS_AES_128_GCM_SHA256",
            "Miss", "HTTP/2.0", "-", "-", "11040", "0.036", "Miss", "application/json", "512",
            "-", "-",
        ]  # fmt: skip
        out.write("\t".join(fields) + "\n")


def _alb(lines: list[Line], out: Any) -> None:
    for line in lines:
        stamp = _iso(line.time)
        out.write(
            f"https {stamp} app/shop-lb/50dc6c495c0c9188 {stable_ip(line)}:51234 10.0.0.1:80 "
            f"0.000 0.001 0.000 {line.status} {line.status} 34 366 "
            f'"{line.method} https://shop.example:443{line.path} HTTP/1.1" "curl/8.5.0" '
            "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:"
            '123456789012:targetgroup/shop/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d9992" '
            f'"shop.example" "-" 0 {stamp} "forward" "-" "-" "10.0.0.1:80" "{line.status}" '
            '"-" "-" TID_1234abcd\n'
        )


def _elb(lines: list[Line], out: Any) -> None:
    for line in lines:
        out.write(
            f"{_iso(line.time)} shop-lb {stable_ip(line)}:2817 10.0.0.1:80 0.000073 0.001048 "
            f"0.000057 {line.status} {line.status} 0 29 "
            f'"{line.method} http://shop.example:80{line.path} HTTP/1.1" "curl/7.38.0" - -\n'
        )


def _envoy(lines: list[Line], out: Any) -> None:
    for line in lines:
        out.write(
            f'[{_iso(line.time, 3)}] "{line.method} {line.path} HTTP/1.1" {line.status} - '
            f'0 512 3 2 "{stable_ip(line)}" "curl/8.5.0" '
            '"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "shop.example" "10.0.2.1:8080"\n'
        )


def _traefik(lines: list[Line], out: Any) -> None:
    for line in lines:
        record = {
            "ClientAddr": f"{line.ip}:51234",
            "ClientHost": line.ip,
            "ClientPort": "51234",
            "ClientUsername": line.sub,
            "DownstreamContentSize": 512,
            "DownstreamStatus": line.status,
            "Duration": 1234567,
            "OriginStatus": line.status,
            "RequestHost": "shop.example",
            "RequestMethod": line.method,
            "RequestPath": line.path,
            "RequestProtocol": "HTTP/1.1",
            "RouterName": "shop@docker",
            "StartUTC": _iso(line.time, 6)[:-1] + "123Z",
            "entryPointName": "websecure",
            "level": "info",
            "msg": "",
            "time": _iso(line.time, 0),
        }
        out.write(json.dumps(record) + "\n")


def _caddy(lines: list[Line], out: Any) -> None:
    for line in lines:
        record = {
            "level": "info",
            "ts": line.time,
            "logger": "http.log.access.log0",
            "msg": "handled request",
            "request": {
                "remote_ip": "10.0.0.2",
                "remote_port": "41342",
                "client_ip": line.ip,
                "proto": "HTTP/2.0",
                "method": line.method,
                "host": "shop.example",
                "uri": line.path,
                "headers": {"User-Agent": ["curl/8.5.0"], "Authorization": ["REDACTED"]},
            },
            "bytes_read": 0,
            "user_id": line.sub,
            "duration": 0.0009,
            "size": 512,
            "status": line.status,
            "resp_headers": {"Server": ["Caddy"]},
        }
        out.write(json.dumps(record) + "\n")


def _gcp(lines: list[Line], out: Any) -> None:
    for line in lines:
        record = {
            "insertId": "1ciqgjvf5q6n5e",
            "jsonPayload": {
                "@type": "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry",
                "statusDetails": "response_sent_by_backend",
            },
            "httpRequest": {
                "requestMethod": line.method,
                "requestUrl": f"https://shop.example{line.path}",
                "requestSize": "112",
                "status": line.status,
                "responseSize": "512",
                "userAgent": "curl/8.5.0",
                "remoteIp": stable_ip(line),
                "serverIp": "10.128.0.5",
                "latency": "0.012345s",
                "protocol": "HTTP/1.1",
            },
            "resource": {"type": "http_load_balancer", "labels": {"project_id": "shop"}},
            "timestamp": _iso(line.time, 6)[:-1] + "789Z",
            "severity": "INFO",
            "logName": "projects/shop/logs/requests",
        }
        out.write(json.dumps(record) + "\n")


FORMAT_WRITERS: dict[str, Any] = {
    "nginx-behind-lb": _nginx_behind_lb,
    "apache-vhost": _vhost_combined,
    "iis": _iis,
    "cloudfront": _cloudfront,
    "alb": _alb,
    "elb": _elb,
    "envoy": _envoy,
    "traefik": _traefik,
    "caddy": _caddy,
    "gcp": _gcp,
}
WITH_USERS = {"nginx-behind-lb", "apache-vhost", "iis", "traefik", "caddy"}
"""Formats whose lines name the user; the others know addresses only."""


def write_combined_anonymous(lines: list[Line], path: Path) -> Path:
    """Combined Log Format where a subject of '-' stays anonymous."""
    return write_combined(lines, path)
