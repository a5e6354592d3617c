"""The KEY rules: what services trust, against the key set in force now.

Keys are compared by RFC 7638 thumbprint, never by kid: a kid is a label
the issuer may reuse, the thumbprint is the key.

- KEY001 a service trusts a key that is not in the current set: a rotated
  key still accepted, so whoever holds it can still mint tokens.
- KEY002 a current signing key is unknown to a service: tokens signed
  with it will be refused there, or the service is pinned to an old set.
- KEY003 one kid names two different keys (RFC 7517 section 4.5 expects
  kids to tell keys apart; a verifier picking by kid may pick wrong).
- KEY004 a key without kid (low), or without use or alg (info); an alg the
  service does not allow; an alg that does not fit the key type (RFC 8725
  section 3.1); or an x5c certificate that holds another key (RFC 7517
  section 4.7).
- KEY005 RSA under 2048 bits (NIST SP 800-131A) or an HMAC secret under
  256 bits (RFC 7518 section 3.2).
- KEY006 one HMAC secret shared by several services: any of them can
  forge tokens every other one accepts.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger.runtime.jwk import KeyInfo
from ledger.runtime.logs import TOOL
from schemas.finding import Finding, Location, Severity

_RULES: dict[str, tuple[str, list[str]]] = {
    "KEY001": ("A service trusts a key that is not in the current key set", ["CWE-324"]),
    "KEY002": ("A current signing key is unknown to a service", []),
    "KEY003": ("One key id names two different keys", ["CWE-347"]),
    "KEY004": ("A key lacks kid, use or alg, or has an alg it should not", ["CWE-347"]),
    "KEY005": ("A key is too short", ["CWE-326"]),
    "KEY006": ("One HMAC secret is shared by several services", ["CWE-323"]),
}
_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "HS": "oct", "Ed": "OKP"}


@dataclass
class Service:
    """One service and the keys it accepts tokens from."""

    name: str
    keys: list[KeyInfo] = field(default_factory=list)
    allowed_algs: frozenset[str] | None = None
    """Algorithms the service accepts; None when not told."""


def check_drift(
    current: list[KeyInfo], services: Iterable[Service], signing_kids: Iterable[str] = ()
) -> list[Finding]:
    """Compare each service's keys with the ``current`` JWKS and return KEY findings.

    ``signing_kids`` names the keys tokens are signed with now; empty means
    every current key whose ``use`` is 'sig' or unset and that can sign (not
    an X25519/X448 key, not a key-encryption alg such as RSA-OAEP or A128KW).
    """
    services = list(services)
    found: list[Finding] = []
    current_prints = {k.thumbprint for k in current}
    wanted = set(signing_kids)
    signing = [
        k
        for k in current
        if k.use in (None, "sig") and k.can_sign and (not wanted or k.kid in wanted)
    ]

    for service in services:
        trusted = {k.thumbprint for k in service.keys}
        # KEY001: still trusting a key the issuer no longer publishes.
        for key in _unique(service.keys):
            if key.thumbprint not in current_prints:
                found.append(
                    _finding(
                        "KEY001",
                        "high",
                        service.name,
                        key,
                        service.name,
                        f"{service.name} trusts {_name(key)}, which the current "
                        "key set does not hold; it was rotated out or never issued",
                    )
                )
        # KEY002: the issuer signs with a key this service cannot verify.
        for key in signing:
            if key.thumbprint not in trusted:
                found.append(
                    _finding(
                        "KEY002",
                        "medium",
                        service.name,
                        key,
                        service.name,
                        f"{service.name} does not trust the current signing key {_name(key)}",
                    )
                )
        # KEY004 (service side): algorithms the service said it refuses.
        if service.allowed_algs is not None:
            for key in _unique(service.keys):
                if key.alg and key.alg not in service.allowed_algs:
                    allowed = ",".join(sorted(service.allowed_algs))
                    found.append(
                        _finding(
                            "KEY004",
                            "medium",
                            service.name,
                            key,
                            service.name,
                            f"{_name(key)} at {service.name} has alg {key.alg}, "
                            f"which the service does not allow ({allowed})",
                        )
                    )

    everywhere = [("jwks", k) for k in current] + [(s.name, k) for s in services for k in s.keys]
    # KEY003: a kid that means two keys.
    by_kid: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for holder, key in everywhere:
        if key.kid:
            by_kid[key.kid][key.thumbprint].append(holder)
    for kid, prints in sorted(by_kid.items()):
        if len(prints) > 1:
            found.append(
                Finding(
                    tool=TOOL,
                    rule_id="KEY003",
                    severity="high",
                    title=_RULES["KEY003"][0],
                    message=f"kid {kid} names {len(prints)} different keys",
                    location=Location(path=kid),
                    fingerprint=_digest("KEY003", kid, *sorted(prints)),
                    cwe=_RULES["KEY003"][1],
                    category="runtime",
                    properties={
                        "kid": kid,
                        "thumbprints": sorted(prints),
                        "holders": sorted({h for hs in prints.values() for h in hs}),
                    },
                )
            )

    seen: set[str] = set()
    for holder, key in everywhere:
        if key.thumbprint in seen:
            continue
        seen.add(key.thumbprint)
        where = key.kid or key.thumbprint
        # KEY004 (key side): missing labels, or an alg for another key type.
        missing = [m for m in ("kid", "use", "alg") if key.from_jwk and not getattr(key, m)]
        if missing:
            # Without a kid a verifier cannot pick the key across a rotation.
            # use and alg are optional (RFC 7517 sections 4.2 and 4.4) and big
            # issuers leave alg out, so their absence alone is only noted.
            severity: Severity = "low" if "kid" in missing else "info"
            message = f"{_name(key)} has no {', '.join(missing)}"
            found.append(_finding("KEY004", severity, where, key, holder, message))
        family = _FAMILY.get((key.alg or "")[:2])
        if key.alg == "none" or (family is not None and family != key.kty):
            found.append(
                _finding(
                    "KEY004",
                    "high",
                    where,
                    key,
                    holder,
                    f"{_name(key)} is a {key.kty} key labelled alg {key.alg}",
                )
            )
        if key.x5c_mismatch:
            found.append(
                _finding(
                    "KEY004",
                    "high",
                    where,
                    key,
                    holder,
                    f"{_name(key)} has an x5c certificate that holds another key, or none "
                    "that can be read",
                )
            )
        # KEY005: too short to resist brute force.
        floor = {"RSA": 2048, "oct": 256}.get(key.kty)
        if floor and key.bits is not None and key.bits < floor:
            found.append(
                _finding(
                    "KEY005",
                    "high",
                    where,
                    key,
                    holder,
                    f"{_name(key)} is {key.bits} bits, under {floor}",
                )
            )

    # KEY006: one HMAC secret in several services.
    sharing: dict[str, set[str]] = defaultdict(set)
    for service in services:
        for key in service.keys:
            if key.kty == "oct":
                sharing[key.thumbprint].add(service.name)
    for print_, names in sorted(sharing.items()):
        if len(names) > 1:
            found.append(
                Finding(
                    tool=TOOL,
                    rule_id="KEY006",
                    severity="high",
                    title=_RULES["KEY006"][0],
                    message=f"{len(names)} services share one HMAC secret: "
                    + ", ".join(sorted(names)),
                    location=Location(path=f"oct:{print_}"),
                    fingerprint=_digest("KEY006", print_),
                    cwe=_RULES["KEY006"][1],
                    category="runtime",
                    properties={"thumbprint": print_, "services": sorted(names)},
                )
            )
    return found


def _finding(
    rule: str, severity: Severity, path: str, key: KeyInfo, holder: str, message: str
) -> Finding:
    title, cwe = _RULES[rule]
    properties: dict[str, object] = {"thumbprint": key.thumbprint, "kty": key.kty, "holder": holder}
    for name in ("kid", "alg", "use", "bits"):
        if getattr(key, name) is not None:
            properties[name] = getattr(key, name)
    return Finding(
        tool=TOOL,
        rule_id=rule,
        severity=severity,
        title=title,
        message=message,
        location=Location(path=path),
        fingerprint=_digest(rule, path, key.thumbprint, message),
        cwe=cwe,
        category="runtime",
        properties=properties,
    )


def _unique(keys: Iterable[KeyInfo]) -> list[KeyInfo]:
    seen: dict[str, KeyInfo] = {}
    for key in keys:
        seen.setdefault(key.thumbprint, key)
    return list(seen.values())


def _name(key: KeyInfo) -> str:
    label = f"kid {key.kid}" if key.kid else "a key without kid"
    return f"{label} ({key.kty}, thumbprint {key.thumbprint})"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
