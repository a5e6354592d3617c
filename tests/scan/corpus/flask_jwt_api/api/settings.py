import os
from datetime import timedelta

JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", "super-secret")  # expect: JWT011
JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
JWT_DECODE_LEEWAY = timedelta(minutes=30)  # expect: JWT009
JWT_TOKEN_LOCATION = ["headers"]
SQLALCHEMY_DATABASE_URI = os.environ["DATABASE_URL"]
