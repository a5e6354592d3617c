from pydantic import Field
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    database_url: str = Field(..., alias="DATABASE_URL")
    jwt_options: dict = {"verify_exp": False, "verify_aud": False}
    currency: str = "EUR"


settings = BillingSettings()
