"""Validates access tokens issued by the company's identity provider."""

import functools
import logging
import os

import jwt
import requests
from jwt import PyJWKClient

log = logging.getLogger(__name__)

ISSUER = os.environ["OIDC_ISSUER"]
AUDIENCE = os.environ.get("OIDC_AUDIENCE", "gateway")
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"

DECODE_OPTIONS = {"require": ["exp", "iat", "sub"], "verify_aud": True}
LEGACY_OPTIONS = {"verify_exp": False}

jwks_client = PyJWKClient(JWKS_URL, cache_jwk_set=True, lifespan=600)
legacy_jwks_client = PyJWKClient(JWKS_URL, cache_keys=True)  # expect: JWT016

_STATIC_KEYS = requests.get(JWKS_URL, timeout=5).json()  # expect: JWT016


@functools.lru_cache(maxsize=1)
def fetch_jwks():  # expect: JWT016
    return requests.get(JWKS_URL, timeout=5).json()


def verify_access_token(token: str) -> dict:
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options=DECODE_OPTIONS,
    )


def verify_partner_token(token: str) -> dict:
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(token, signing_key.key, algorithms=["RS256", "ES256"])  # expect: JWT005 JWT006


def verify_legacy_token(token: str) -> dict:
    key = legacy_jwks_client.get_signing_key_from_jwt(token).key
    kwargs = {"audience": AUDIENCE, "issuer": ISSUER, "options": LEGACY_OPTIONS}
    return jwt.decode(token, key, algorithms=["RS256"], **kwargs)  # expect: JWT008


def verify_any_alg(token: str, public_key: str) -> dict:
    header = jwt.get_unverified_header(token)
    return jwt.decode(  # expect: JWT003
        token, public_key, algorithms=[header["alg"]], audience=AUDIENCE, issuer=ISSUER
    )


def verify_mixed(token: str, key: str) -> dict:
    return jwt.decode(token, key, algorithms=["HS256", "RS256"])  # expect: JWT004


def tenant_of(token: str) -> str:
    # Route to the tenant's own issuer, then verify against that issuer's keys.
    unverified = jwt.decode(token, options={"verify_signature": False})
    issuer = unverified["iss"]
    client = PyJWKClient(f"{issuer}/.well-known/jwks.json")
    key = client.get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=issuer)
    return claims["tenant"]


def is_admin(token: str) -> bool:
    claims = jwt.decode(token, options={"verify_signature": False})  # expect: JWT001
    return "admin" in claims.get("roles", [])  # expect: JWT013


def debug_claims(token: str) -> dict:
    return jwt.decode(token, verify=False)  # expect: JWT001


def verify_with_slack(token: str) -> dict:
    key = jwks_client.get_signing_key_from_jwt(token).key
    return jwt.decode(  # expect: JWT009
        token, key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER, leeway=3600
    )


def verify_internal(token: str) -> dict:
    return jwt.decode(token, os.environ["INTERNAL_JWT_KEY"], algorithms=["HS256"])


def verify_no_alg(token: str) -> dict:
    return jwt.decode(token, os.environ["INTERNAL_JWT_KEY"])  # expect: JWT003


def verify_optional_claims(token: str) -> dict:
    return jwt.decode(  # expect: JWT007
        token, os.environ["INTERNAL_JWT_KEY"], algorithms=["HS512"], options={"require": ["sub"]}
    )
