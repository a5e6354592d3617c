import base64
import json
import os
from datetime import datetime, timedelta, timezone

from jose import jwt as jose_jwt

from billing.settings import settings

ALGORITHM = "HS256"
SECRET_KEY = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"  # expect: JWT011
SERVICE_KEY = os.environ["BILLING_SERVICE_KEY"]


def issue_token(user) -> str:
    payload = {
        "sub": str(user.id),
        "email": user.email,
        "exp": datetime.now(timezone.utc) + timedelta(minutes=15),
    }
    return jose_jwt.encode(payload, SECRET_KEY, algorithm=ALGORITHM)


def issue_service_token(service: str) -> str:
    claims = {"sub": service, "scope": "billing:write"}
    claims["exp"] = datetime.now(timezone.utc) + timedelta(minutes=5)
    return jose_jwt.encode(claims, SERVICE_KEY, algorithm=ALGORITHM)


def issue_api_key_token(account) -> str:
    claims = {"sub": str(account.id), "api_key": account.api_key}  # account API key travels in the token
    claims.update(exp=datetime.now(timezone.utc) + timedelta(days=1))
    return jose_jwt.encode(claims, SERVICE_KEY, algorithm=ALGORITHM)  # expect: JWT014


def unsigned_preview(claims: dict) -> str:
    return jose_jwt.encode(claims, "", algorithm="none")  # expect: JWT002


def read_token(token: str) -> dict:
    return jose_jwt.decode(token, SERVICE_KEY, algorithms=[ALGORITHM], options=settings.jwt_options)  # expect: JWT005 JWT008


def account_from_header(authorization: str) -> str:
    token = authorization.removeprefix("Bearer ")
    claims = jose_jwt.get_unverified_claims(token)  # expect: JWT013
    return claims["account_id"]


def plan_from_token(token: str) -> str:
    segment = token.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # expect: JWT013
    return payload["plan"]


def read_token_none(token: str) -> dict:
    return jose_jwt.decode(token, SERVICE_KEY, algorithms=["HS256", "none"])  # expect: JWT002


def read_token_relaxed(token: str) -> dict:
    return jose_jwt.decode(  # expect: JWT005
        token, SERVICE_KEY, algorithms=[ALGORITHM], options={"verify_aud": False, "leeway": 120}
    )
