"""Recognising JWT library calls: which library, which operation, which arguments.

PyJWT (``import jwt``), python-jose (``from jose import jwt``) and authlib
(``from authlib.jose import jwt`` or a ``JsonWebToken([...])`` instance)
all spell their entry points ``jwt.decode``/``jwt.encode``; the import
decides which one a call is, and their argument lists differ.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ledger.scan.project import Module, walk
from ledger.scan.values import Scope, call_name, dotted

PYJWT = "pyjwt"
JOSE = "jose"
AUTHLIB = "authlib"
AUTHLIB_DEFAULT = "authlib-default"
"""authlib's module-level ``jwt``, which accepts every registered algorithm."""

HMAC_PREFIX = "HS"
ASYMMETRIC_PREFIXES = ("RS", "ES", "PS", "EDDSA", "ED25519")


@dataclass(frozen=True)
class JwtCall:
    """A call into a JWT library."""

    lib: str
    op: str
    """decode, encode, get_unverified_claims, get_unverified_header, PyJWKClient,
    JsonWebToken, decode_complete."""
    call: ast.Call


def classify(call: ast.Call, module: Module, scope: Scope) -> JwtCall | None:
    """What JWT operation ``call`` is, judged from the module's imports."""
    name = dotted(call.func)
    if not name or "(" in name:
        # ``jwt.encode(...).decode("utf-8")`` decodes bytes, not a token.
        return None
    head, _, rest = name.partition(".")
    origin = module.imports.get(head)
    if origin is None:
        return _instance_call(call, head, rest, scope)
    qual = f"{origin}.{rest}" if rest else origin
    op = qual.rsplit(".", 1)[-1]
    if qual.startswith("authlib.jose.jwt."):
        return JwtCall(AUTHLIB_DEFAULT, op, call)
    if qual.startswith("authlib.jose.") and op in {"JsonWebToken", "JWT"}:
        return JwtCall(AUTHLIB, "JsonWebToken", call)
    if qual.startswith("jose.jwt.") or qual.startswith("jose.jws.get_unverified"):
        return JwtCall(JOSE, op, call)
    if qual.startswith("jwt."):
        if op in {"PyJWT", "PyJWS"}:
            return None
        return JwtCall(PYJWT, op, call)
    return None


def _instance_call(call: ast.Call, head: str, rest: str, scope: Scope) -> JwtCall | None:
    """``token_codec.decode(...)`` where ``token_codec = JsonWebToken([...])`` or ``PyJWT()``."""
    if not rest or "." in rest:
        return None
    value, module = scope.resolve(ast.Name(id=head, ctx=ast.Load()))
    if not isinstance(value, ast.Call):
        return None
    ctor = dotted(value.func)
    ctor_head, _, ctor_rest = ctor.partition(".")
    origin = module.imports.get(ctor_head, "")
    qual = f"{origin}.{ctor_rest}" if ctor_rest else origin
    if qual.startswith("authlib.jose.") and call_name(value) in {"JsonWebToken", "JWT"}:
        return JwtCall(AUTHLIB, rest, call)
    if qual in {"jwt.PyJWT", "jwt.api_jwt.PyJWT"}:
        return JwtCall(PYJWT, rest, call)
    return None


def arg(call: ast.Call, index: int, name: str, kwargs: dict[str, ast.expr]) -> ast.expr | None:
    """Argument ``name`` of ``call``, given by keyword (visible ``**`` included) or position."""
    if name in kwargs:
        return kwargs[name]
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[index] if index < len(positional) else None


def algorithm_family(alg: str) -> str:
    """``hmac``, ``asymmetric``, ``none`` or ``other`` for an algorithm name."""
    upper = alg.upper()
    if upper == "NONE":
        return "none"
    if upper.startswith(HMAC_PREFIX):
        return "hmac"
    if upper.startswith(ASYMMETRIC_PREFIXES):
        return "asymmetric"
    return "other"


def reads_header_alg(expr: ast.expr, scope: Scope) -> bool:
    """Whether ``expr`` takes the algorithm from a token header (``header["alg"]``)."""
    seen = [expr]
    value, _ = scope.resolve(expr)
    seen.append(value)
    if isinstance(value, ast.List | ast.Tuple):
        seen.extend(scope.resolve(elt)[0] for elt in value.elts)
    for item in seen:
        for node in walk(item):
            if _is_alg_read(node):
                return True
            if isinstance(node, ast.Name) and node is not item:
                inner, _ = scope.resolve(node)
                if any(_is_alg_read(sub) for sub in walk(inner)):
                    return True
    return False


def _is_alg_read(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return node.slice.value == "alg"
    if isinstance(node, ast.Call) and call_name(node) == "get" and node.args:
        first = node.args[0]
        return isinstance(first, ast.Constant) and first.value == "alg"
    return False


def uses_jwt(module: Module) -> bool:
    """Whether the module imports PyJWT, python-jose or authlib."""
    return any(
        origin.split(".")[0] in {"jwt", "jose", "authlib"} for origin in module.imports.values()
    )


def decode_options(jc: JwtCall, scope: Scope) -> dict[str, ast.expr]:
    """The visible entries of a PyJWT or python-jose decode's ``options``."""
    kwargs = scope.call_kwargs(jc.call)
    return scope.dict_items(arg(jc.call, 3, "options", kwargs)) or {}


def signature_off(jc: JwtCall, scope: Scope) -> bool:
    """Whether a PyJWT or python-jose decode skips the signature check."""
    if jc.lib not in {PYJWT, JOSE}:
        return False
    kwargs = scope.call_kwargs(jc.call)
    options = decode_options(jc, scope)
    return (
        scope.literal(options.get("verify_signature")) is False
        or scope.literal(kwargs.get("verify")) is False
    )
