"""Sign-in with the partner portal (authlib)."""

import os

import requests
from authlib.jose import JsonWebKey, JsonWebToken, jwt

PORTAL_ISSUER = "https://portal.example.com"
PORTAL_KEYS = JsonWebKey.import_key_set(requests.get(f"{PORTAL_ISSUER}/oauth/jwks", timeout=5).json())  # expect: JWT016

portal_jwt = JsonWebToken(["RS256"])
loose_jwt = JsonWebToken(["HS256", "RS256"])  # expect: JWT004

CLAIMS_OPTIONS = {
    "iss": {"essential": True, "value": PORTAL_ISSUER},
    "aud": {"essential": True, "value": "billing"},
    "exp": {"essential": True},
}


def portal_user(id_token: str, jwks: dict) -> str:
    claims = portal_jwt.decode(id_token, jwks, claims_options=CLAIMS_OPTIONS)
    claims.validate(leeway=60)
    return claims["sub"]


def portal_user_unvalidated(id_token: str, jwks: dict) -> str:
    claims = portal_jwt.decode(id_token, jwks, claims_options=CLAIMS_OPTIONS)  # expect: JWT010
    return claims["sub"]


def portal_user_default(id_token: str) -> dict:
    claims = jwt.decode(id_token, PORTAL_KEYS, claims_options=CLAIMS_OPTIONS)  # expect: JWT003
    claims.validate()
    return dict(claims)


def portal_user_any_audience(id_token: str, jwks: dict) -> str:
    claims = portal_jwt.decode(  # expect: JWT005
        id_token, jwks, claims_options={"iss": {"essential": True, "value": PORTAL_ISSUER}}
    )
    claims.validate(leeway=900)  # expect: JWT009
    return claims["sub"]


def internal_claims(token: str) -> dict:
    claims = portal_jwt.decode(token, os.environ["BILLING_INTERNAL_KEY"])
    return claims


def internal_user(token: str) -> str:
    claims = internal_claims(token)
    claims.validate()
    return claims["sub"]
