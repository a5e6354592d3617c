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
