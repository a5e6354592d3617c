"""JWT011, JWT012, JWT016 and framework settings: the keys tokens are signed with.

A key finding points at the line where the key is written (the literal in
``settings.py``, the default of ``os.getenv``), not at every call that
uses it, so one hardcoded key is one finding. Test code is skipped: fixed
keys there are expected.
"""

from __future__ import annotations

import ast

from ledger.scan.jwt_api import algorithm_family
from ledger.scan.project import Hit, Module, Project
from ledger.scan.values import Scope, call_name, dotted, env_default

MIN_HMAC_BYTES = 32
"""RFC 7518 section 3.2: an HS256 key at least as long as the hash output."""

MAX_JWKS_LIFESPAN = 86400

TUTORIAL_KEYS = frozenset(
    {
        "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
        "super-secret",
        "secret",
        "secret-key",
        "your-secret-key",
        "your_secret_key",
        "changeme",
        "change-me",
        "mysecret",
        "supersecret",
    }
)
"""Keys copied from framework documentation and tutorials, found in real deployments."""

_RANDOM_BYTES = {"token_bytes": 1.0, "urandom": 1.0, "token_hex": 2.0, "token_urlsafe": 1.3}
_GUESSABLE = {"random", "randint", "getrandbits", "uuid1", "time", "gethostname", "choice"}
_HTTP_GETS = {"requests.get", "httpx.get", "urlopen", "urllib.request.urlopen", "request.urlopen"}
_JWKS_HINTS = ("jwks", ".well-known", "/certs", "jwk")


def is_public_key(expr: ast.expr | None, scope: Scope) -> bool:
    """Whether a decode key is a public key or comes from a JWKS: an outside issuer."""
    if expr is None:
        return False
    value, _ = scope.resolve(expr)
    if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
        text = value.value if isinstance(value.value, str) else value.value.decode("latin-1")
        return "PUBLIC KEY" in text or "CERTIFICATE" in text
    text = (dotted(expr) + " " + ast.unparse(value)).lower()
    return any(hint in text for hint in ("public", "jwk", "signing_key", "pem", "cert"))


def check_key(expr: ast.expr, scope: Scope, family: str, hits: list[Hit]) -> None:
    """JWT011/JWT012 for the key ``expr``, judged where its value is defined."""
    value, module = scope.resolve(expr)
    if module.is_test:
        return
    if module is not scope.module:
        scope = Scope(module, scope.project, None)
    _judge(value, module, scope, family, hits, depth=0)


def _judge(
    value: ast.expr, module: Module, scope: Scope, family: str, hits: list[Hit], depth: int
) -> None:
    if depth > 4:
        return
    if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
        _literal_key(value, module, family, hits, "is written in the source")
    elif isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        for fallback in value.values[1:]:
            inner, inner_module = scope.resolve(fallback)
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str | bytes):
                _literal_key(inner, inner_module, family, hits, "is the fallback of a lookup")
    elif isinstance(value, ast.IfExp):
        for branch in (value.body, value.orelse):
            inner, inner_module = scope.resolve(branch)
            _judge(inner, inner_module, scope, family, hits, depth + 1)
    elif isinstance(value, ast.Call):
        default = env_default(value)
        if default is not None:
            inner, inner_module = scope.resolve(default)
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str | bytes):
                _literal_key(inner, inner_module, family, hits, "is the default of an env lookup")
            return
        if isinstance(value.func, ast.Attribute) and value.func.attr in {"encode", "strip"}:
            inner, inner_module = scope.resolve(value.func.value)
            _judge(inner, inner_module, scope, family, hits, depth + 1)
        elif call_name(value) in {"str", "bytes", "bytearray"} and value.args:
            inner, inner_module = scope.resolve(value.args[0])
            _judge(inner, inner_module, scope, family, hits, depth + 1)
        elif family == "hmac":
            _generated_key(value, module, scope, hits)


def _literal_key(
    node: ast.Constant, module: Module, family: str, hits: list[Hit], how: str
) -> None:
    raw = node.value
    if not isinstance(raw, str | bytes):
        return
    text = raw if isinstance(raw, str) else raw.decode("latin-1")
    if module.is_test or "PUBLIC KEY" in text or "CERTIFICATE" in text:
        return
    detail = ""
    if text in TUTORIAL_KEYS:
        detail = "; it is a well-known tutorial key"
    elif family == "hmac" and len(text.encode()) < MIN_HMAC_BYTES:
        detail = f"; it is also only {len(text.encode())} bytes"
    hits.append(Hit("JWT011", module, node, f"the signing key {how}{detail}"))


def _generated_key(call: ast.Call, module: Module, scope: Scope, hits: list[Hit]) -> None:
    name = call_name(call)
    head = dotted(call.func).split(".")[0]
    if name in _RANDOM_BYTES and head in {"secrets", "os", name}:
        size = scope.literal(call.args[0]) if call.args else 32
        if isinstance(size, int) and size * _RANDOM_BYTES[name] < MIN_HMAC_BYTES:
            hits.append(Hit("JWT012", module, call, f"the HMAC key is {name}({size})"))
    elif name in _GUESSABLE and head in {"random", "uuid", "time", "socket", name}:
        hits.append(Hit("JWT012", module, call, f"the HMAC key comes from {head}.{name}()"))


def check_jwks_client(call: ast.Call, scope: Scope, hits: list[Hit]) -> None:
    """JWT016 for ``PyJWKClient(url, cache_keys=True)``: an lru_cache with no expiry."""
    kwargs = scope.call_kwargs(call)
    if scope.literal(kwargs.get("cache_keys")) is True:
        hits.append(Hit("JWT016", scope.module, call, "cache_keys=True caches keys forever"))
    lifespan = scope.literal(kwargs.get("lifespan"))
    if isinstance(lifespan, int | float) and lifespan > MAX_JWKS_LIFESPAN:
        hits.append(Hit("JWT016", scope.module, call, f"JWKS lifespan is {lifespan:g} s"))


def check_jwks_fetches(module: Module) -> list[Hit]:
    """JWT016 for key sets fetched at import time or inside an unbounded cache."""
    hits: list[Hit] = []
    for call in module.calls:
        if dotted(call.func) not in _HTTP_GETS and not _client_get(call):
            continue
        if not _mentions_jwks(call, module):
            continue
        func = module.enclosing_function(call)
        if func is None:
            hits.append(Hit("JWT016", module, call, "the key set is fetched once at import"))
        elif any(_forever_cache(d) for d in func.decorator_list):
            hits.append(Hit("JWT016", module, func, "the key set is cached without expiry"))
    return hits


def _client_get(call: ast.Call) -> bool:
    name = dotted(call.func)
    return name.endswith(".get") and name.split(".")[0] in {"requests", "httpx", "session"}


def _mentions_jwks(call: ast.Call, module: Module) -> bool:
    texts = [ast.unparse(a) for a in call.args]
    for a in call.args:
        if isinstance(a, ast.Name) and a.id in module.constants:
            texts.append(ast.unparse(module.constants[a.id]))
    func = module.enclosing_function(call)
    if func is not None:
        texts.append(func.name)
    return any(hint in text.lower() for text in texts for hint in _JWKS_HINTS)


def _forever_cache(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return dotted(target).split(".")[-1] in {"lru_cache", "cache", "cached_property"}


def check_settings(project: Project) -> list[Hit]:
    """Keys and lifetimes configured for flask-jwt-extended and DRF SimpleJWT."""
    hits: list[Hit] = []
    if "flask_jwt_extended" in project.imported_packages:
        algorithm = _setting(project, "JWT_ALGORITHM")
        family = "hmac"
        if algorithm is not None:
            alg = Scope(algorithm[0], project, None).literal(algorithm[1])
            family = algorithm_family(alg) if isinstance(alg, str) else "hmac"
        keys = _setting(project, "JWT_SECRET_KEY") or _setting(project, "SECRET_KEY")
        if keys is not None and family == "hmac":
            check_key(keys[1], Scope(keys[0], project, None), family, hits)
        expires = _setting(project, "JWT_ACCESS_TOKEN_EXPIRES")
        if expires is not None and Scope(expires[0], project, None).literal(expires[1]) is False:
            hits.append(Hit("JWT007", expires[0], expires[1], "access tokens never expire"))
        leeway = _setting(project, "JWT_DECODE_LEEWAY")
        if leeway is not None:
            _setting_leeway(leeway[0], leeway[1], project, hits)
    if "rest_framework_simplejwt" in project.imported_packages or _names_simplejwt(project):
        simple = project.unique_constant("SIMPLE_JWT")
        items = Scope(simple[0], project, None).dict_items(simple[1]) if simple else None
        items = items or {}
        if "SIGNING_KEY" in items and simple is not None:
            check_key(items["SIGNING_KEY"], Scope(simple[0], project, None), "hmac", hits)
        elif (secret := project.unique_constant("SECRET_KEY")) is not None:
            check_key(secret[1], Scope(secret[0], project, None), "hmac", hits)
        if "LEEWAY" in items and simple is not None:
            _setting_leeway(simple[0], items["LEEWAY"], project, hits)
    return hits


def _setting(project: Project, name: str) -> tuple[Module, ast.expr] | None:
    """The application's value of a setting; test configuration is not deployed."""
    entries = [entry for entry in project.config.get(name, []) if not entry[0].is_test]
    if entries:
        return entries[-1]
    found = project.unique_constant(name)
    return found if found is not None and not found[0].is_test else None


def _setting_leeway(module: Module, expr: ast.expr, project: Project, hits: list[Hit]) -> None:
    seconds = Scope(module, project, None).literal(expr)
    if isinstance(seconds, int | float) and seconds > 300:
        hits.append(Hit("JWT009", module, expr, f"leeway is {seconds:g} s"))


def _names_simplejwt(project: Project) -> bool:
    installed = project.unique_constant("INSTALLED_APPS")
    return installed is not None and "rest_framework_simplejwt" in ast.unparse(installed[1])
