import os

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///payments.db")
JWT_SECRET = os.environ.get("JWT_SECRET", "change-me")
JWT_ALGORITHMS = ["HS256", "RS256"]
ADMIN_PASSWORD = "Sup3rSecret!"
