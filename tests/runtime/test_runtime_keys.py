"""JWK/PEM reading, RFC 7638 thumbprints, the recorded JWKS, and the KEY rules."""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ledger.errors import InputError
from ledger.runtime import Service, check_drift, load_jwks, load_keys, public_jwks, thumbprint

# RFC 7638 section 3.1: the worked example and its stated thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebW"
    "KRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2N"
    "cRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, *, private: bool = False) -> dict[str, Any]:
    pub = key.public_key().public_numbers()
    jwk: dict[str, Any] = {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": _b64(pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")),
        "e": _b64(pub.e.to_bytes(3, "big")),
    }
    if private:
        d = key.private_numbers().d
        jwk["d"] = _b64(d.to_bytes((d.bit_length() + 7) // 8, "big"))
    return jwk


def pem(key: Any) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "old": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "new": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "weak": rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ed": ed25519.Ed25519PrivateKey.generate(),
    }


def test_thumbprint_matches_rfc7638_example() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}

    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_pem_and_jwk_of_one_key_have_one_thumbprint(tmp_path: Path, keys: dict[str, Any]) -> None:
    for name in ("new", "ec", "ed"):
        (tmp_path / f"{name}.pem").write_bytes(pem(keys[name]))
    jwk_file = tmp_path / "new.jwk"
    jwk_file.write_text(json.dumps(rsa_jwk(keys["new"], "k2")))

    (from_pem,) = load_keys(str(tmp_path / "new.pem"))
    (from_jwk,) = load_keys(str(jwk_file))

    assert from_pem.thumbprint == from_jwk.thumbprint
    assert (from_pem.bits, from_pem.kid, from_jwk.kid) == (2048, None, "k2")
    assert load_keys(str(tmp_path / "ec.pem"))[0].kty == "EC"
    assert load_keys(str(tmp_path / "ed.pem"))[0].kty == "OKP"


def test_public_jwks_strips_private_members_and_hmac_secrets(keys: dict[str, Any]) -> None:
    secret = secrets.token_bytes(32)
    document = {
        "keys": [
            rsa_jwk(keys["new"], "k2", private=True),
            {"kty": "oct", "kid": "h1", "alg": "HS256", "k": _b64(secret)},
        ]
    }

    recorded = public_jwks(document)

    text = json.dumps(recorded)
    assert '"d"' not in text and _b64(secret) not in text
    assert recorded["keys"][0] == rsa_jwk(keys["new"], "k2")
    assert recorded["keys"][1] == {
        "kty": "oct",
        "kid": "h1",
        "alg": "HS256",
        "thumbprint": thumbprint(document["keys"][1]),
    }


def _rules(findings: list[Any]) -> set[tuple[str, str]]:
    return {(f.rule_id, f.location.path) for f in findings}


def test_rotated_key_weak_key_and_unknown_signing_key(tmp_path: Path, keys: dict[str, Any]) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_jwk(keys["new"], "k2"), rsa_jwk(keys["weak"], "k3")]}))
    (tmp_path / "old.pem").write_bytes(pem(keys["old"]))
    (tmp_path / "new.pem").write_bytes(pem(keys["new"]))
    current, _ = load_jwks(jwks)
    billing = Service("billing", load_keys(str(tmp_path / "old.pem")))
    orders = Service("orders", load_keys(str(tmp_path / "new.pem")))

    findings = check_drift(current, [billing, orders], signing_kids=["k2"])

    assert _rules(findings) == {("KEY001", "billing"), ("KEY002", "billing"), ("KEY005", "k3")}
    rotated = next(f for f in findings if f.rule_id == "KEY001")
    assert rotated.properties["thumbprint"] == billing.keys[0].thumbprint


def test_kid_reuse_missing_labels_alg_mismatch_and_shared_hmac(
    tmp_path: Path, keys: dict[str, Any]
) -> None:
    bare = rsa_jwk(keys["new"], "k2")
    del bare["use"]
    confused = {**rsa_jwk(keys["old"], "k9"), "alg": "HS256"}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [bare, confused]}))
    stale = tmp_path / "stale.jwks"
    stale.write_text(json.dumps({"keys": [rsa_jwk(keys["weak"], "k2")]}))
    secret = {"kty": "oct", "k": _b64(secrets.token_bytes(16)), "alg": "HS256"}
    print_ = thumbprint(secret)
    current, _ = load_jwks(jwks)
    services = [
        Service("gateway", load_keys(str(stale)) + load_keys(f"oct:{print_}:128")),
        Service("reports", load_keys(f"oct:{print_}"), allowed_algs=frozenset({"ES256"})),
    ]
    services[1].keys += [k for k in current if k.kid == "k2"]

    findings = check_drift(current, services)

    assert ("KEY003", "k2") in _rules(findings)
    assert ("KEY004", "k2") in _rules(findings)  # no 'use'
    # An optional label missing is a note; a missing kid, which rotation needs, is low.
    labels = {f.location.path: f.severity for f in findings if "has no" in (f.message or "")}
    assert labels == {"k2": "info"}
    unnamed = {k: v for k, v in rsa_jwk(keys["new"], "k3").items() if k != "kid"}
    jwks.write_text(json.dumps({"keys": [unnamed]}))
    (anonymous,) = load_jwks(jwks)[0]
    [missing_kid] = [f for f in check_drift([anonymous], []) if f.rule_id == "KEY004"]
    assert (missing_kid.severity, missing_kid.message.endswith("has no kid")) == ("low", True)
    assert any(
        f.rule_id == "KEY004" and f.severity == "high" and f.location.path == "k9" for f in findings
    )  # an RSA key labelled HS256
    assert ("KEY004", "reports") in _rules(findings)  # RS256 where only ES256 is allowed
    assert ("KEY006", f"oct:{print_}") in _rules(findings)
    assert ("KEY005", print_) in _rules(findings)  # 128-bit HMAC secret
    assert secret["k"] not in json.dumps([f.model_dump(mode="json") for f in findings])


def test_no_drift_no_findings(tmp_path: Path, keys: dict[str, Any]) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_jwk(keys["new"], "k2")]}))
    (tmp_path / "new.pem").write_bytes(pem(keys["new"]))
    current, _ = load_jwks(jwks)

    assert check_drift(current, [Service("orders", load_keys(str(tmp_path / "new.pem")))]) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            "holds a private key",
        ),
        (
            b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
            "not a readable PEM public key",
        ),
        (b'{"kty": "RSA", "n": "AQAB"}', "RSA key without string member(s) e"),
        (
            b'{"kty": "oct", "k": "c2VjcmV0LXZhbHVl"',
            "line 1 column 39: not valid JSON (expecting ',' delimiter)",
        ),
    ],
)
def test_bad_key_files_are_refused_without_quoting_them(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)

    with pytest.raises(InputError, match=re.escape(message)) as caught:
        load_keys(str(path))

    assert "c2VjcmV0" not in str(caught.value) and str(path) in str(caught.value)


def test_bad_fingerprints_are_refused() -> None:
    with pytest.raises(InputError, match="43-character RFC 7638 thumbprint"):
        load_keys("oct:short")
    with pytest.raises(InputError, match="must be bits"):
        load_keys("oct:" + "A" * 43 + ":many")


# RFC 7517 appendix A.1 (public keys) and RFC 8037 appendix A.2/A.3 (Ed25519),
# X25519 from RFC 8037 appendix A.6, as published.
RFC7517_A1 = {
    "keys": [
        {
            "kty": "EC",
            "crv": "P-256",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
            "use": "enc",
            "kid": "1",
        },
        {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"},
    ]
}
RFC8037_ED25519 = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_X25519 = {
    "kty": "OKP",
    "crv": "X25519",
    "kid": "Bob",
    "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08",
}


def test_published_key_sets_read_and_only_signing_keys_are_expected(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    wrap = {"kty": "oct", "alg": "A128KW", "k": "GawgguFyGrWKav7AX4VKUg"}  # RFC 7517 A.3
    keys = [*RFC7517_A1["keys"], RFC8037_ED25519, RFC8037_X25519, wrap]
    # Saved by a Windows tool: a byte order mark first.
    jwks.write_bytes(b"\xef\xbb\xbf" + json.dumps({"keys": keys}, indent=2).encode())

    current, _ = load_jwks(jwks)

    assert [k.thumbprint for k in current][1:3] == [
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",  # RFC 7638 section 3.1
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",  # RFC 8037 appendix A.3
    ]
    findings = check_drift(current, [Service("api", [])])
    # Nobody can be expected to verify with an encryption key, an X25519 key or a wrap key.
    expected = {k.thumbprint for k in current[1:3]}
    assert {f.properties["thumbprint"] for f in findings if f.rule_id == "KEY002"} == expected


def test_keys_a_set_cannot_hold_are_left_out_with_a_warning(
    tmp_path: Path, keys: dict[str, Any]
) -> None:
    jwks = tmp_path / "jwks.json"
    post_quantum = {"kty": "AKP", "alg": "ML-DSA-44", "pub": "AAAA", "kid": "pq"}
    jwks.write_text(json.dumps({"keys": [post_quantum, rsa_jwk(keys["new"], "k2")]}))
    warnings: list[str] = []

    current, _ = load_jwks(jwks, warnings)

    assert [k.kid for k in current] == ["k2"]
    assert warnings == [
        f"warning: {jwks}: keys[0]: 'kty' 'AKP' is not RSA, EC, OKP or oct; the key is left out"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            json.dumps(RFC7517_A1).encode() + b"\n<html>502 Bad Gateway</html>\n",
            "line 2 column 1: not valid JSON (data after the end of the JSON document), "
            "and not PEM either",
        ),
        (
            b"HTTP/2 200\r\ncontent-type: application/json\r\n\r\n"
            + json.dumps(RFC7517_A1).encode(),
            "line 1: starts with HTTP response headers (curl -i?); save the response body only",
        ),
        (b'{"keys": [\xff]}', "not UTF-8 text, so neither JSON nor PEM"),
    ],
)
def test_damaged_key_set_downloads_are_refused_with_where(
    tmp_path: Path, content: bytes, message: str
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(content)

    with pytest.raises(InputError) as caught:
        load_jwks(jwks)

    assert str(caught.value) == f"{jwks}: {message}"


def _certificate(key: Any) -> Any:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


def test_x5c_must_hold_the_jwk_key_and_pem_may_follow_text(
    tmp_path: Path, keys: dict[str, Any]
) -> None:
    def x5c(key: Any) -> list[str]:
        der = _certificate(key).public_bytes(serialization.Encoding.DER)
        return [base64.b64encode(der).decode()]

    good = {**rsa_jwk(keys["new"], "k2"), "x5c": x5c(keys["new"])}
    swapped = {**rsa_jwk(keys["old"], "k1"), "x5c": x5c(keys["new"])}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [good, swapped]}))
    # 'openssl x509 -text' output: a description, then the certificate.
    cert = tmp_path / "issuer.crt"
    cert.write_bytes(
        b"Certificate:\n    Data:\n        Version: 3 (0x2)\n"
        + _certificate(keys["new"]).public_bytes(serialization.Encoding.PEM)
    )
    p384 = ec.generate_private_key(ec.SECP384R1())
    p521 = tmp_path / "p521.pem"
    p521.write_bytes(pem(ec.generate_private_key(ec.SECP521R1())))

    current, _ = load_jwks(jwks)
    (from_cert,) = load_keys(str(cert))

    assert [k.x5c_mismatch for k in current] == [False, True]
    assert from_cert.thumbprint == current[0].thumbprint
    findings = check_drift(current, [Service("api", [from_cert, current[1]])])
    assert [
        (f.rule_id, f.severity, f.location.path) for f in findings if f.rule_id == "KEY004"
    ] == [("KEY004", "high", "k1")]
    assert load_keys(str(p521))[0].bits == 521
    p384_file = tmp_path / "p384.pem"
    p384_file.write_bytes(pem(p384))
    assert load_keys(str(p384_file))[0].crv == "P-384"


def test_secrets_and_hostile_kids_never_reach_the_output(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli import runtime
    from cli.main import app

    if not any(group.name == "runtime" for group in app.registered_groups):
        runtime.register(app)
    secret = _b64(b"s3cret-" * 5)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(
        json.dumps({"keys": [{"kty": "oct", "kid": "\x1b]0;x\x07\u202eh1", "k": secret}]})
    )
    service = tmp_path / "svc.jwk"
    service.write_text(json.dumps({"kty": "oct", "k": _b64(b"other-secret"), "alg": "HS256"}))

    result = CliRunner().invoke(
        app, ["runtime", "key-drift", "--jwks", str(jwks), "--service", f"api={service}"]
    )

    assert result.exit_code == 0, result.stderr
    text = result.stdout + result.stderr
    assert secret not in text and _b64(b"other-secret") not in text
    assert all(c.isprintable() or c == "\n" for c in text)
    messages = [json.loads(line)["message"] for line in result.stdout.splitlines()]
    assert any("kid \\x1b]0;x\\x07\\u202eh1 " in m for m in messages), messages
