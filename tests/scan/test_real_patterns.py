"""Patterns met in published web projects and JWT libraries, written from scratch.

Each test names the shape of real code it mirrors; none copies it. The fixtures
are as small as the rule needs: the finding or its absence is the point.
"""

from __future__ import annotations

from pathlib import Path

from ledger.scan import scan


def _findings(root: Path, **files: str) -> set[tuple[str, int, str]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return {(f.path, f.line, f.rule.id) for f in scan([root]).active}


UNVERIFIED_PEEK = """\
import jwt
from jwt import PyJWKClient


def test_issued_token_carries_the_user():
    claims = jwt.decode(issued["access"], options={"verify_signature": False})
    assert claims["role"] == "admin"
    assert jwt.decode(issued["access"], public_key)["sub"] == "1"
    client = PyJWKClient(url, cache_keys=True)
"""


def test_test_code_is_not_reported(tmp_path: Path) -> None:
    # Library and application test suites decode the tokens they issued without
    # verification to look at the claims, decode without pinning algorithms, and
    # build key clients with caching on; none of it runs in a service.
    found = _findings(
        tmp_path,
        **{"tests/test_tokens.py": UNVERIFIED_PEEK, "app/tokens.py": UNVERIFIED_PEEK},
    )
    assert found
    assert {path for path, _, _ in found} == {"app/tokens.py"}


def test_settings_of_test_configuration_are_not_reported(tmp_path: Path) -> None:
    # A test configuration switches token expiry off to keep fixtures valid.
    app = "from flask_jwt_extended import JWTManager\n\napp.config['JWT_SECRET_KEY'] = key()\n"
    conf = "def app():\n    app.config['JWT_ACCESS_TOKEN_EXPIRES'] = False\n"
    assert _findings(tmp_path, **{"svc/app.py": app, "tests/conftest.py": conf}) == set()
