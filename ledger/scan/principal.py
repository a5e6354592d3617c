"""The authenticated principal: framework names for it, and the project's own helpers.

Handlers seldom name the framework's user directly; services write a helper
(``current_user_id()``, ``authenticated_user()``, ``require_account()``) that
decodes the bearer token or reads the session and returns the subject or the
user's row. A project function is such a helper, whatever its name, when

1. its body reads a principal source: a JWT library decode, an identity key of
   ``flask.session``, the ``Authorization`` header, a framework principal
   (``current_user``, ``request.user``, ``get_jwt_identity()``), or, one call
   deep, another function of the project that returns one; and
2. it returns a value derived from that source that still names the caller: the
   claims, an identity claim, a row looked up by it. A role, a locale or a yes/no
   answer derived from the token is not the principal.
"""

from __future__ import annotations

import ast
import re

from ledger.scan.jwt_api import classify, uses_jwt
from ledger.scan.project import FunctionNode, Module, Project, nodes
from ledger.scan.values import Scope, call_name, dotted

PRINCIPAL_EXPRS = ("current_user", "request.user", "self.request.user", "g.user",
                   "g.current_user", "current_identity", "flask_login.current_user")  # fmt: skip
PRINCIPAL_NAMES = {"current_user", "current_identity"}
PRINCIPAL_ATTRS = {"user", "current_user"}
PRINCIPAL_CALLS = {"get_jwt_identity", "get_current_user", "get_jwt", "current_user"}

_IDENTITY = re.compile(
    r"_?(sub|id|pk|uid|uuid|identity|email|username|login|user|account|tenant|org|"
    r"organi[sz]ation|owner|member|customer|principal|profile|subject)(_?(id|pk|uuid|name))?",
    re.IGNORECASE,
)
"""Claims, session keys and attributes that name the caller (``sub``, ``user_id``)."""
_AUTH_HEADERS = {"authorization", "http_authorization", "x-auth-token", "x-access-token"}
_HEADERS = {"request.headers", "self.request.headers", "request.META", "self.request.META"}
_DECODES = {"decode", "decode_complete", "get_unverified_claims"}
_CONVERSIONS = {"int", "str", "UUID"}
_GENERIC = {"get", "post", "put", "patch", "delete", "filter", "first", "all", "one", "save",
            "query", "execute", "load", "loads", "dumps", "run", "main", "__init__", "__call__",
            "decode", "encode", "validate", "create", "update", "list", "dispatch"}  # fmt: skip
"""Names too common to say which function a call reaches."""
_LOOKUP = re.compile(r"_?(get|load|fetch|find|lookup|select|filter|where|first|one|scalar)")
"""Calls that look a row up: ``db.session.get(User, uid)``, ``load_user(uid)``."""
_PREDICATES = ("is_", "has_", "can_", "check")
_MAX_DEFINITIONS = 4


def returns_principal(name: str, project: Project, follow: bool = True) -> bool:
    """Whether a call to the project's function ``name`` yields the authenticated principal.

    Every non-test definition of the name must qualify, so a name shared by unrelated
    methods says nothing. With ``follow``, the helper may get the principal from
    another helper, one call deep.
    """
    key = "principal_helpers" if follow else "principal_sources"
    cache = project.derived.setdefault(key, {})
    assert isinstance(cache, dict)
    found = cache.get(name)
    if isinstance(found, bool):
        return found
    cache[name] = False  # a recursive helper does not vouch for itself
    defs = [(m, f) for m, f in project.functions.get(name, ()) if not m.is_test]
    result = (
        name not in _GENERIC
        and 0 < len(defs) <= _MAX_DEFINITIONS
        and all(_Flow(module, func, project, follow).returns_principal() for module, func in defs)
    )
    cache[name] = result
    return result


class _Flow:
    """Which values of one function are derived from the principal."""

    def __init__(self, module: Module, func: FunctionNode, project: Project, follow: bool) -> None:
        self.module = module
        self.func = func
        self.project = project
        self.follow = follow
        args = func.args
        self.params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        self.names: set[str] = set()
        self._scope: Scope | None = None

    def returns_principal(self) -> bool:
        body = nodes(self.func)
        assigns = [n for n in body if isinstance(n, ast.Assign | ast.AnnAssign)]
        # Two passes reach ``claims = decode(...)`` then ``uid = claims["sub"]``.
        for _ in range(2):
            for node in assigns:
                if node.value is None or not self.principal(node.value):
                    continue
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    elts = target.elts if isinstance(target, ast.Tuple) else [target]
                    self.names.update(e.id for e in elts if isinstance(e, ast.Name))
        return any(
            isinstance(node, ast.Return) and node.value is not None and self.principal(node.value)
            for node in body
        )

    def principal(self, expr: ast.expr) -> bool:
        """Whether ``expr`` still names the caller: the claims, the subject, the user row."""
        if isinstance(expr, ast.Name):
            return expr.id in self.names or (
                expr.id in PRINCIPAL_NAMES and expr.id not in self.params
            )
        if isinstance(expr, ast.Await | ast.Starred):
            return self.principal(expr.value)
        if isinstance(expr, ast.Attribute):
            name = dotted(expr)
            if name in PRINCIPAL_EXPRS and name not in self.params:
                return True
            if name in {"request.authorization", "self.request.auth"}:
                return True
            return bool(_IDENTITY.fullmatch(expr.attr)) and self.principal(expr.value)
        if isinstance(expr, ast.Subscript):
            key = expr.slice.value if isinstance(expr.slice, ast.Constant) else None
            return self._keyed(expr.value, key)
        if isinstance(expr, ast.Call):
            return self._call(expr)
        if isinstance(expr, ast.IfExp):
            return self.principal(expr.body) or self.principal(expr.orelse)
        if isinstance(expr, ast.BoolOp):
            return any(self.principal(value) for value in expr.values)
        return False  # comparisons, negations and literals are answers, not the caller

    def _keyed(self, base: ast.expr, key: object) -> bool:
        """``base[key]`` or ``base.get(key)``: a session or header entry, or a claim."""
        if self._flask_session(base):
            return isinstance(key, str) and bool(_IDENTITY.fullmatch(key))
        if dotted(base) in _HEADERS:
            return isinstance(key, str) and key.lower() in _AUTH_HEADERS
        if not self.principal(base):
            return False
        # ``header.split()[1]`` keeps the token; ``claims["role"]`` is no longer the caller.
        return not isinstance(key, str) or bool(_IDENTITY.fullmatch(key))

    def _call(self, call: ast.Call) -> bool:
        name = call_name(call)
        func = call.func
        if name in _CONVERSIONS and call.args:
            return self.principal(call.args[0])
        if name == "get" and isinstance(func, ast.Attribute) and call.args:
            base, first = func.value, call.args[0]
            if self._flask_session(base) or dotted(base) in _HEADERS or self.principal(base):
                return self._keyed(base, first.value if isinstance(first, ast.Constant) else None)
        if name in PRINCIPAL_CALLS or (name in _DECODES and self._jwt_decode(call)):
            return True
        if name.startswith(_PREDICATES):
            return False  # ``user.has_role("admin")`` answers a question about the caller
        if (
            self.follow
            and name != self.func.name
            and name in self.project.functions
            and returns_principal(name, self.project, follow=False)
        ):
            return True
        # A method of the principal, or a row looked up by it; not any call it is given:
        # ``flag_set(flag, user)`` and ``Response(user=...)`` are about it, not it.
        if isinstance(func, ast.Attribute) and self.principal(func.value):
            return True
        values = [*call.args, *(kw.value for kw in call.keywords)]
        return bool(_LOOKUP.match(name)) and any(self.principal(value) for value in values)

    def _flask_session(self, base: ast.expr) -> bool:
        if isinstance(base, ast.Name) and base.id == "session":
            return self.module.imports.get("session") == "flask.session"
        return dotted(base) == "flask.session"

    def _jwt_decode(self, call: ast.Call) -> bool:
        if not uses_jwt(self.module):
            return False
        if self._scope is None:
            self._scope = Scope(self.module, self.project, self.func)
        found = classify(call, self.module, self._scope)
        return found is not None and found.op in _DECODES
