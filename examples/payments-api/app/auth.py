import jwt
from flask import abort, request

from app import settings


def current_user_id():
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ")
    try:
        claims = jwt.decode(token, settings.JWT_SECRET, algorithms=settings.JWT_ALGORITHMS)
    except jwt.InvalidTokenError:
        abort(401)
    return claims["sub"]


def is_admin():
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims.get("role") == "admin"
