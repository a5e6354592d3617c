"""Who is calling: bearer tokens for the API, the cookie session for the dashboard."""

import jwt
from flask import abort, current_app, request, session

from billing.models import Account, User, db


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        abort(401)
    return token


def _claims() -> dict:
    try:
        return jwt.decode(
            _bearer_token(),
            current_app.config["JWT_PUBLIC_KEY"],
            algorithms=["RS256"],
            audience="billing",
            issuer=current_app.config["JWT_ISSUER"],
        )
    except jwt.PyJWTError:
        abort(401)


def get_user_id() -> int:
    return int(_claims()["sub"])


def authenticated_user() -> User:
    user_id = session.get("user_id")
    if user_id is None:
        abort(401)
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        abort(401)
    return user


def current_account() -> Account:
    return db.session.get(Account, authenticated_user().account_id)


def preferred_currency() -> str:
    return session.get("currency", "EUR")


def require_admin() -> None:
    if "billing-admin" not in _claims().get("roles", []):
        abort(403)


def token_roles() -> list[str]:
    # Read before the gateway has verified the token, to route admin traffic early.
    claims = jwt.decode(_bearer_token(), options={"verify_signature": False})  # expect: JWT001
    return claims.get("roles", [])


def is_support_agent() -> bool:
    claims = jwt.decode(_bearer_token(), options={"verify_signature": False})  # expect: JWT001
    return claims.get("scope") == "billing:support"  # expect: JWT013


def partner_claims(token: str) -> dict:
    # Partners sign with their own key; the unverified ``kid`` says which one.
    unverified = jwt.decode(token, options={"verify_signature": False})
    key = current_app.config["PARTNER_KEYS"][unverified["kid"]]
    claims = jwt.decode(token, key, algorithms=["ES256"], audience="billing", issuer="partners")
    if claims.get("role") != "reseller":
        abort(403)
    return claims


def partner_is_admin(token: str) -> bool:
    unverified = jwt.decode(token, options={"verify_signature": False})
    key = current_app.config["PARTNER_KEYS"][unverified["kid"]]
    jwt.decode(token, key, algorithms=["ES256"], audience="billing", issuer="partners")
    return unverified.get("role") == "admin"  # expect: JWT013
