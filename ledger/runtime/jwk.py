"""Keys as services hold them: JWKS, JWK, PEM, or an HMAC secret's fingerprint.

Every key is reduced to a :class:`KeyInfo` named by its RFC 7638
thumbprint, so the same key compares equal whether it came as PEM or JWK.
Private members are read only to compute a thumbprint or a size and are
never kept: ``KeyInfo`` holds none, :func:`public_jwks` drops them, and no
error message quotes a member's value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger.errors import InputError
from ledger.text import printable

# RFC 7638 section 3.2: the members each key type's thumbprint covers.
_REQUIRED = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_CURVE_BITS = {
    "P-256": 256,
    "P-384": 384,
    "P-521": 521,
    "secp256k1": 256,
    "Ed25519": 256,
    "Ed448": 456,
    "X25519": 256,
    "X448": 448,
}
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
# RFC 7518 section 4: key management algorithms, which encrypt and never sign.
_ENCRYPTION_ALG = re.compile(r"RSA1_5|RSA-OAEP.*|A\d+(GCM)?KW|dir|ECDH-ES.*|PBES2-.*")
_LEADING = b"\xef\xbb\xbf \t\r\n"
"""Bytes a file may start with before its content: a byte order mark and whitespace."""


@dataclass(frozen=True)
class KeyInfo:
    """One key, public facts only."""

    kty: str
    thumbprint: str
    """RFC 7638 SHA-256 thumbprint, base64url without padding."""
    kid: str | None
    alg: str | None
    use: str | None
    bits: int | None
    """RSA modulus size, curve size, or HMAC secret length in bits; None if unknown."""
    source: str
    """Where the key was read from (file and JSON path), for messages."""
    from_jwk: bool = True
    """Whether it came as a JWK, which can carry kid/use/alg, rather than PEM."""
    crv: str | None = None
    """The curve of an EC or OKP key."""
    x5c_mismatch: bool = False
    """Whether the JWK's first x5c certificate holds another key (RFC 7517 section 4.7)."""

    @property
    def can_sign(self) -> bool:
        """Whether tokens can be signed with it: not an ECDH curve, not an encryption alg."""
        if self.crv in ("X25519", "X448"):
            return False
        return self.alg is None or not _ENCRYPTION_ALG.match(self.alg)


def thumbprint(jwk: Mapping[str, Any], where: str = "key") -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``."""
    kty = jwk.get("kty")
    members = _REQUIRED.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InputError(f"{where}: 'kty' {kty!r} is not RSA, EC, OKP or oct")
    missing = [m for m in members if not isinstance(jwk.get(m), str)]
    if missing:
        raise InputError(f"{where}: {kty} key without string member(s) {', '.join(missing)}")
    # Section 3.3: members in lexicographic order, no whitespace, UTF-8.
    text = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(text.encode("utf-8")).digest())


def key_from_jwk(jwk: Any, where: str) -> KeyInfo:
    """Read one JWK object; ``where`` names it in errors."""
    if not isinstance(jwk, dict):
        raise InputError(f"{where}: a JWK must be a JSON object")
    print_ = thumbprint(jwk, where)
    kty = jwk["kty"]
    bits: int | None = None
    if kty == "RSA":
        bits = int.from_bytes(_unb64(jwk["n"], f"{where}.n"), "big").bit_length()
    elif kty == "oct":
        bits = len(_unb64(jwk["k"], f"{where}.k")) * 8
    else:
        bits = _CURVE_BITS.get(jwk["crv"])
    crv = _text(jwk, "crv")
    return KeyInfo(
        kty,
        print_,
        _text(jwk, "kid"),
        _text(jwk, "alg"),
        _text(jwk, "use"),
        bits,
        where,
        crv=crv,
        x5c_mismatch=_x5c_mismatch(jwk, print_),
    )


def _x5c_mismatch(jwk: Mapping[str, Any], print_: str) -> bool:
    """Whether the first certificate of ``x5c`` holds a key other than the JWK's own.

    An unreadable certificate counts as a mismatch: a verifier that trusts
    the chain cannot be verifying with this key.
    """
    chain = jwk.get("x5c")
    if chain is None:
        return False
    from cryptography import x509

    try:
        der = base64.b64decode(chain[0], validate=True)
        public = x509.load_der_x509_certificate(der).public_key()
        return _thumbprint_of(public, print_) != print_
    except (TypeError, IndexError, KeyError, ValueError, binascii.Error, InputError):
        return True


def load_keys(spec: str, warnings: list[str] | None = None) -> list[KeyInfo]:
    """Read what a service trusts: ``oct:THUMBPRINT[:BITS]`` or a PEM/JWK/JWKS file.

    Keys of a set that cannot be read are left out, each with a line in
    ``warnings`` (RFC 7517 section 5); a lone JWK that cannot be is refused.
    """
    if spec.startswith("oct:"):
        _, print_, *rest = spec.split(":")
        if not _THUMBPRINT.fullmatch(print_) or len(rest) > 1:
            raise InputError(
                f"{spec!r}: an HMAC fingerprint is 'oct:' and the secret's 43-character RFC 7638 "
                "thumbprint, optionally ':BITS'"
            )
        if rest and not rest[0].isdigit():
            raise InputError(f"{spec!r}: the secret length after the thumbprint must be bits")
        bits = int(rest[0]) if rest else None
        return [KeyInfo("oct", print_, None, None, None, bits, "fingerprint", from_jwk=False)]
    path = Path(spec)
    data = _read(path)
    begin = data.find(b"-----BEGIN")
    # openssl's -text output and bundles put text before the PEM block.
    if begin >= 0 and data[:begin].lstrip(_LEADING)[:1] not in (b"{", b"["):
        return [_key_from_pem(data[begin:], path)]
    document = _json(data, path)
    if isinstance(document, dict) and "keys" in document:
        return _keys_of(document, path, warnings)
    return [key_from_jwk(document, str(path))]


def load_jwks(
    path: Path, warnings: list[str] | None = None
) -> tuple[list[KeyInfo], dict[str, Any]]:
    """Read a JWKS snapshot: its keys, and the document for :func:`public_jwks`.

    Keys that cannot be read (a key type this tool does not know, a missing
    member) are left out with a line in ``warnings``, as RFC 7517 section 5
    asks of a JWK Set's reader.
    """
    document = _json(_read(path), path)
    if not isinstance(document, dict) or "keys" not in document:
        raise InputError(f"{path}: not a JWKS: expected an object with a 'keys' array")
    return _keys_of(document, path, warnings), document


def public_jwks(document: Mapping[str, Any]) -> dict[str, Any]:
    """The JWKS as it may be recorded: private members gone, HMAC keys as thumbprints.

    An RSA/EC/OKP key keeps its public members; every member RFC 7518
    section 6 marks private (d, p, q, dp, dq, qi, oth) is dropped. An oct
    key is all secret, so only kty, kid, alg, use and its thumbprint remain.
    """
    keys: list[dict[str, Any]] = []
    for index, jwk in enumerate(document.get("keys", [])):
        where = f"keys[{index}]"
        if not isinstance(jwk, dict):
            raise InputError(f"{where}: a JWK must be a JSON object")
        if jwk.get("kty") == "oct":
            kept = {m: jwk[m] for m in ("kty", "kid", "alg", "use") if m in jwk}
            kept["thumbprint"] = thumbprint(jwk, where)
        else:
            kept = {m: v for m, v in jwk.items() if m not in _PRIVATE}
        keys.append(kept)
    return {"keys": keys}


def has_private_members(document: Mapping[str, Any]) -> bool:
    """Whether any key of a JWKS carries private material (a publishing mistake)."""
    return any(
        isinstance(k, dict) and any(m in k for m in _PRIVATE) for k in document.get("keys", [])
    )


def _keys_of(document: Mapping[str, Any], path: Path, warnings: list[str] | None) -> list[KeyInfo]:
    keys = document["keys"]
    if not isinstance(keys, list):
        raise InputError(f"{path}: 'keys' must be an array of JWKs")
    found: list[KeyInfo] = []
    for index, jwk in enumerate(keys):
        try:
            found.append(key_from_jwk(jwk, f"{path}: keys[{index}]"))
        except InputError as exc:
            if warnings is None:
                raise
            warnings.append(f"warning: {exc}; the key is left out")
    return found


def _key_from_pem(data: bytes, path: Path) -> KeyInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if b"PRIVATE KEY-----" in data:
        raise InputError(
            f"{path}: holds a private key; give the service's public key (PEM 'PUBLIC KEY' "
            "or a certificate) so no secret is read"
        )
    public: object
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            public = x509.load_pem_x509_certificate(data).public_key()
        else:
            public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InputError(f"{path}: not a readable PEM public key or certificate") from exc
    # The JWK built from the key has no kid, use, alg or x5c to carry over.
    return replace(key_from_jwk(_public_jwk(public, str(path)), str(path)), from_jwk=False)


def _thumbprint_of(public: object, where: str) -> str:
    return thumbprint(_public_jwk(public, where), where)


def _public_jwk(public: object, where: str) -> dict[str, str]:
    """The public members of a ``cryptography`` public key as a JWK."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    jwk: dict[str, str]
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        jwk = {"kty": "RSA", "n": _b64(_be(numbers.n)), "e": _b64(_be(numbers.e))}
    elif isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        point = public.public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(
            public.curve.name, public.curve.name
        )
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
    elif isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        crv = "Ed25519" if isinstance(public, ed25519.Ed25519PublicKey) else "Ed448"
        jwk = {"kty": "OKP", "crv": crv, "x": _b64(raw)}
    else:
        raise InputError(f"{where}: {type(public).__name__} keys do not sign JWTs")
    return jwk


def _read(path: Path) -> bytes:
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a key file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from exc


def _json(data: bytes, path: Path) -> Any:
    head = data.lstrip(_LEADING)
    if head.startswith(b"HTTP/"):
        raise InputError(
            f"{path}: line 1: starts with HTTP response headers (curl -i?); save the "
            "response body only"
        )
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        # Not chained, and only the decoder's own words: the document may hold secrets.
        problem = (
            "data after the end of the JSON document"
            if exc.msg == "Extra data"
            else (exc.msg[0].lower() + exc.msg[1:])
        )
        raise InputError(
            f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON ({problem}), "
            "and not PEM either"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: not UTF-8 text, so neither JSON nor PEM") from None


def _text(jwk: Mapping[str, Any], name: str) -> str | None:
    value = jwk.get(name)
    return printable(value) if isinstance(value, str) and value else None


def _be(number: int) -> bytes:
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, where: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: not base64url") from None
