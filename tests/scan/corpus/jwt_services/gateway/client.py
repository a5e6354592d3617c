"""HTTP client for the billing API; refreshes its own access token before expiry."""

import time

import httpx
import jwt


class BillingClient:
    def __init__(self, base_url: str, refresh_token: str) -> None:
        self.base_url = base_url
        self.refresh_token = refresh_token
        self.access_token: str | None = None

    def _expired(self) -> bool:
        if self.access_token is None:
            return True
        claims = jwt.decode(self.access_token, options={"verify_signature": False})
        return claims["exp"] < time.time() + 30

    def headers(self) -> dict[str, str]:
        if self._expired():
            response = httpx.post(f"{self.base_url}/token", data={"refresh_token": self.refresh_token})
            self.access_token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.access_token}"}
