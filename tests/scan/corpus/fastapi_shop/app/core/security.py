from datetime import datetime, timedelta, timezone
from typing import Any

from jose import jwt
from passlib.context import CryptContext

from app.core.config import DOWNLOAD_LINK_KEY, settings

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")


def create_access_token(subject: str | Any, expires_delta: timedelta) -> str:
    expire = datetime.now(timezone.utc) + expires_delta
    to_encode = {"exp": expire, "sub": str(subject)}
    encoded_jwt = jwt.encode(to_encode, settings.SECRET_KEY, algorithm=settings.ALGORITHM)
    return encoded_jwt


def decode_access_token(token: str) -> dict[str, Any]:
    return jwt.decode(token, settings.SECRET_KEY, algorithms=[settings.ALGORITHM])


def generate_password_reset_token(user) -> str:
    delta = timedelta(hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS)
    now = datetime.now(timezone.utc)
    # The hash makes the token single-use: it stops matching once the password changes.
    claims = {"exp": now + delta, "nbf": now, "sub": user.email, "pwh": user.hashed_password}
    return jwt.encode(claims, settings.RESET_TOKEN_KEY, algorithm="HS256")  # expect: JWT014


def verify_password_reset_token(token: str) -> str | None:
    try:
        decoded = jwt.decode(token, settings.RESET_TOKEN_KEY, algorithms=["HS256"])
    except jwt.JWTError:
        return None
    return str(decoded["sub"])


def signed_download_link(path: str) -> str:
    token = jwt.encode({"path": path}, DOWNLOAD_LINK_KEY, algorithm="HS256")  # expect: JWT007
    return f"/downloads?token={token}"


def read_download_link(token: str) -> str:
    return jwt.decode(token, DOWNLOAD_LINK_KEY, algorithms=["HS256"])["path"]


def verify_password(plain_password: str, hashed_password: str) -> bool:
    return pwd_context.verify(plain_password, hashed_password)
