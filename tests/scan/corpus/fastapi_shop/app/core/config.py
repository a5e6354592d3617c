import os
import secrets

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    PROJECT_NAME: str = "shop"
    SECRET_KEY: str = os.environ["SHOP_SECRET_KEY"]
    RESET_TOKEN_KEY: str = os.getenv("SHOP_RESET_KEY", "reset-token-dev-key")  # expect: JWT011
    ALGORITHM: str = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = 60 * 24 * 8
    SQLALCHEMY_DATABASE_URI: str = "postgresql+psycopg://shop@localhost/shop"
    FIRST_SUPERUSER: str = "admin@example.com"
    EMAIL_RESET_TOKEN_EXPIRE_HOURS: int = 48


settings = Settings()

# Signing key for short-lived download links, regenerated per process.
DOWNLOAD_LINK_KEY = secrets.token_hex(8)  # expect: JWT012
