"""Token helpers the way SDKs and framework extensions write them."""

import jwt

from gateway.client import KEYS, public_key_for


def get_unverified_claims(token: str) -> dict:
    """Claims without verification, for routing only; callers verify before trusting."""
    return jwt.decode(token, options={"verify_signature": False})


def session_expiry(id_token: str, fallback: int) -> int:
    exp = jwt.decode(id_token, options={"verify_signature": False}).get("exp")
    return min(fallback, int(exp)) if exp is not None else fallback


def legacy_token(user_id: int, key: str, expires: int) -> str:
    # PyJWT 1.x returned bytes from encode.
    return jwt.encode({"sub": str(user_id), "exp": expires}, key, algorithm="HS256").decode("utf-8")


def _verify(token: str, key: str, audience: str, issuer: str) -> dict:
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)


def decode_with_rotating_keys(token: str, audience: str, issuer: str) -> dict:
    unverified = jwt.decode(token, options={"verify_signature": False})
    key = KEYS.get(unverified["iss"]) or public_key_for(unverified["iss"])
    return _verify(token, key, audience, issuer)
