"""Request handlers: which functions serve requests, who the caller is, what they sent.

For each framework the scanner needs three facts about a handler: that it
is one (a route decorator, a Django view, a DRF or MethodView method), the
expressions that denote the authenticated principal (``current_user``,
``request.user``, a ``Depends(get_current_user)`` parameter,
``get_jwt_identity()``), and the values the client controls (path, query
and body parameters, ``request.args``, ``self.kwargs``), followed through
local assignments.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from ledger.scan.principal import (
    PRINCIPAL_ATTRS,
    PRINCIPAL_CALLS,
    PRINCIPAL_EXPRS,
    PRINCIPAL_NAMES,
    returns_principal,
)
from ledger.scan.project import FunctionNode, Module, Project, nodes, walk, words
from ledger.scan.values import call_name, dotted

_ROUTE_ATTRS = {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"}
_VIEW_BASES = re.compile(r"(View|APIView|ViewSet|Resource|Mixin)$")
_HANDLER_METHODS = {"get", "post", "put", "patch", "delete", "retrieve", "update",
                    "partial_update", "destroy", "list", "create"}  # fmt: skip
_PRINCIPAL_DEP = re.compile(r"user|principal|account|identity|current|auth|member|caller")
_ADMIN = re.compile(r"admin|superuser|staff|moderator", re.IGNORECASE)
_OBJECT_PERMISSION = re.compile(r"\ballows\b|\brequires\b|\bCan[A-Z]|\bcan_|policy|"
                                r"authori[sz]e|object_permission|owner", re.IGNORECASE)  # fmt: skip
_AUTH_DECORATORS = re.compile(r"login_required|jwt_required|token_required|requires_auth|"
                              r"auth_required|authenticated|permission_required")  # fmt: skip
_ROLE_DECORATORS = re.compile(r"permission_required|require_\w*perm")
"""Django model permissions (``@permission_required("docs.change_doc")``) are granted
to a role for every row of the model: who holds one may act on all of them."""
_REQUEST_SOURCES = ("request.args", "request.form", "request.json", "request.get_json",
                    "request.values", "request.view_args", "request.GET", "request.POST",
                    "request.data", "request.query_params", "self.kwargs", "request.path_params",
                    "request.query_string", "kwargs")  # fmt: skip
_SOURCE_ATTRS = {s.rsplit(".", 1)[-1] for s in _REQUEST_SOURCES}
_NOT_INPUT = {"self", "cls", "request", "db", "session", "response", "background_tasks", "req"}


@dataclass
class Handler:
    """A function that serves a request."""

    func: FunctionNode
    module: Module
    knows_principal: bool = False
    admin_only: bool = False
    object_permission: bool = False
    """A decorator decides access to the object (``@allows.requires(CanEditPost)``)."""
    principal_names: set[str] = field(default_factory=set)
    principal_calls: set[str] = field(default_factory=set)
    """Project functions that return the principal (``current_user_id()``)."""
    tainted: set[str] = field(default_factory=set)

    def refs_principal(self, node: ast.AST) -> bool:
        """Whether ``node`` mentions the authenticated principal."""
        for sub in walk(node):
            if isinstance(sub, ast.Name):
                if sub.id in self.principal_names or sub.id in PRINCIPAL_NAMES:
                    return True
            elif isinstance(sub, ast.Attribute):
                if sub.attr in PRINCIPAL_ATTRS and dotted(sub) in PRINCIPAL_EXPRS:
                    return True
            elif isinstance(sub, ast.Call):
                name = call_name(sub)
                if name in PRINCIPAL_CALLS or name in self.principal_calls:
                    return True
        return False

    def is_tainted(self, node: ast.AST) -> bool:
        """Whether ``node`` carries a value the client chose."""
        for sub in walk(node):
            if isinstance(sub, ast.Name):
                if sub.id in self.tainted or sub.id == "kwargs":
                    return True
            elif (
                isinstance(sub, ast.Attribute)
                and sub.attr in _SOURCE_ATTRS
                and dotted(sub) in _REQUEST_SOURCES
            ):
                return True
        return False

    def carries(self, expr: ast.AST) -> bool:
        """Whether the value of ``expr`` is the client's, not just computed from it.

        ``int(item_id)``, ``data["owner"]`` and ``payload.get("user_id")`` are; the result
        of ``get_flow(flow_id)`` is a row from the database, whatever id chose it.
        """
        if isinstance(expr, ast.Name):
            return expr.id in self.tainted or expr.id == "kwargs"
        if isinstance(expr, ast.Attribute | ast.Subscript):
            if isinstance(expr, ast.Attribute) and dotted(expr) in _REQUEST_SOURCES:
                return True
            return self.carries(expr.value)
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Attribute) and (
                self.carries(expr.func.value) or dotted(expr.func) in _REQUEST_SOURCES
            ):
                return True
            return call_name(expr) in _PASS_THROUGH and any(
                self.carries(a) for a in [*expr.args, *(k.value for k in expr.keywords)]
            )
        if isinstance(expr, ast.Await | ast.FormattedValue | ast.Starred):
            return self.carries(expr.value)
        if isinstance(expr, ast.IfExp):
            return self.carries(expr.body) or self.carries(expr.orelse)
        if isinstance(expr, ast.BinOp):
            return self.carries(expr.left) or self.carries(expr.right)
        if isinstance(expr, ast.BoolOp | ast.Tuple | ast.List | ast.JoinedStr):
            items = expr.values if isinstance(expr, ast.BoolOp | ast.JoinedStr) else expr.elts
            return any(self.carries(item) for item in items)
        return False


_PASS_THROUGH = {"int", "str", "UUID", "float", "dict", "list", "loads", "load", "parse_obj",
                 "model_validate", "validate", "unquote", "strip", "lower", "get_json",
                 "json", "escape", "smart_str", "force_str"}  # fmt: skip
"""Calls whose result is their argument, converted or validated: still the client's."""


def find_handlers(module: Module, project: Project) -> list[Handler]:
    """Every request handler defined in ``module``."""
    handlers: list[Handler] = []
    for func in module.functions:
        handler = _as_handler(func, module, project)
        if handler is not None:
            _principal(handler, project)
            _propagate(handler)
            handlers.append(handler)
    return handlers


def _as_handler(func: FunctionNode, module: Module, project: Project) -> Handler | None:
    cls = module.enclosing_class(func)
    params = [a.arg for a in [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]]
    handler = Handler(func, module)
    routed = False
    for dec in [*func.decorator_list, *_class_decorators(cls)]:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = dotted(target)
        if isinstance(dec, ast.Call) and name.split(".")[-1] in _ROUTE_ATTRS and "." in name:
            handler.tainted.update(p for p in params if p not in _NOT_INPUT)
            _route_dependencies(dec, handler)
            routed = True
        elif name.split(".")[-1] == "action":
            handler.tainted.update(p for p in params if p not in _NOT_INPUT)
            routed = True
        if _AUTH_DECORATORS.search(name):
            handler.knows_principal = True
        text = words(dec)
        if _ADMIN.search(text) or _ROLE_DECORATORS.search(name):
            handler.admin_only = True
        if _OBJECT_PERMISSION.search(text):
            handler.object_permission = True
    if routed:
        _fastapi_params(func, handler, project)
        return handler
    if (
        cls is not None
        and func.name in _HANDLER_METHODS
        and any(_VIEW_BASES.search(dotted(b)) for b in cls.bases)
    ):
        handler.tainted.update(p for p in params if p not in _NOT_INPUT)
        if any("LoginRequired" in dotted(b) for b in cls.bases) or _authenticated_view(
            cls, project
        ):
            handler.knows_principal = True
        if _ADMIN.search(" ".join(dotted(b) for b in cls.bases)):
            handler.admin_only = True
        return handler
    if cls is None and params[:1] == ["request"] and "views" in module.rel:
        handler.tainted.update(params[1:])
        return handler
    return None


def _class_decorators(cls: ast.ClassDef | None) -> list[ast.expr]:
    """Flask ``MethodView.decorators`` and DRF/Django ``method_decorators`` lists."""
    found: list[ast.expr] = []
    for stmt in cls.body if cls is not None else ():
        if (
            isinstance(stmt, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id in {"decorators", "method_decorators"}
                for t in stmt.targets
            )
            and isinstance(stmt.value, ast.List | ast.Tuple)
        ):
            found.extend(stmt.value.elts)
    return found


def _authenticated_view(cls: ast.ClassDef, project: Project) -> bool:
    """A DRF view whose permission classes (its own or the project default) need a login."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "permission_classes" for t in stmt.targets
        ):
            text = ast.unparse(stmt.value)
            return "AllowAny" not in text and bool(text.strip("[]() "))
    default = project.unique_constant("REST_FRAMEWORK")
    return default is not None and "IsAuthenticated" in ast.unparse(default[1])


def _route_dependencies(dec: ast.Call, handler: Handler) -> None:
    for kw in dec.keywords:
        if kw.arg == "dependencies":
            text = ast.unparse(kw.value)
            if _PRINCIPAL_DEP.search(text):
                handler.knows_principal = True
            if _ADMIN.search(text):
                handler.admin_only = True


def _fastapi_params(func: FunctionNode, handler: Handler, project: Project) -> None:
    """Parameters injected with ``Depends``: the principal and services, not input."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    pairs = list(zip(positional, [*defaults, *args.defaults], strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    for param, default in pairs:
        source = " ".join(ast.unparse(n) for n in (param.annotation, default) if n is not None)
        alias = _alias_text(param.annotation, handler.module, project)
        if "Depends(" in source or "Security(" in source or "Depends(" in alias:
            handler.tainted.discard(param.arg)
            dep = (source + alias).split("Depends(")[-1].split("Security(")[-1]
            target = dep.split(")")[0].split(",")[0].strip().rsplit(".", 1)[-1]
            if (_PRINCIPAL_DEP.search(dep.lower()) and "db" not in dep.split(")")[0].lower()) or (
                target.isidentifier() and returns_principal(target, project)
            ):
                handler.knows_principal = True
                handler.principal_names.add(param.arg)
            if _ADMIN.search(dep):
                handler.admin_only = True


def _alias_text(annotation: ast.expr | None, module: Module, project: Project) -> str:
    """The definition of a type alias such as ``CurrentUser = Annotated[User, Depends(...)]``."""
    if not isinstance(annotation, ast.Name):
        return ""
    if annotation.id in module.constants:
        return ast.unparse(module.constants[annotation.id])
    found = project.unique_constant(annotation.id)
    return ast.unparse(found[1]) if found else ""


def _principal(handler: Handler, project: Project) -> None:
    for node in nodes(handler.func):
        if isinstance(node, ast.Call):
            name = call_name(node)
            if (
                name in project.functions
                and name not in PRINCIPAL_CALLS
                and name not in handler.principal_calls
                and returns_principal(name, project)
            ):
                handler.principal_calls.add(name)
    if handler.refs_principal(handler.func):
        handler.knows_principal = True
    for node in nodes(handler.func):
        if isinstance(node, ast.Assign) and _is_principal_value(node.value, handler):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    handler.principal_names.add(target.id)
        elif isinstance(node, ast.If) and _role_guard(node.test, handler):
            # ``if not request.user.has_perm("docs.change_doc"): raise PermissionDenied``
            if _refuses(node.body):
                handler.admin_only = True
        elif isinstance(node, ast.If) and _ADMIN_GUARD.search(words(node.test)):
            # ``if not user.is_superuser: abort(403)``: only administrators get further.
            negated = isinstance(node.test, ast.UnaryOp) or any(
                isinstance(sub, ast.Compare) and any(isinstance(op, ast.NotEq) for op in sub.ops)
                for sub in walk(node.test)
            )
            if negated and _refuses(node.body):
                handler.admin_only = True


def _role_guard(test: ast.expr, handler: Handler) -> bool:
    """A negated model permission check of the caller: a permission name or action
    string (``"docs.change_doc"``, ``"change"``) and no other value to check it on."""
    if not isinstance(test, ast.UnaryOp) or not isinstance(test.op, ast.Not):
        return False
    call = test.operand
    if not isinstance(call, ast.Call) or "perm" not in call_name(call).lower():
        return False
    values = [*call.args, *(kw.value for kw in call.keywords)]
    named = [v for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    others = [v for v in values if v not in named and not handler.refs_principal(v)]
    return bool(named) and not others and handler.refs_principal(call)


_REFUSAL = re.compile(r"\b(401|403|404)\b|Forbidden|NotFound")
_ADMIN_GUARD = re.compile(r"is_(superuser|admin|staff)|role\b.*admin")


def _is_principal_value(value: ast.expr, handler: Handler) -> bool:
    """``uid = get_jwt_identity()``, ``me = request.user``, ``owner = int(current_user.id)``."""
    if isinstance(value, ast.Call) and call_name(value) in {"int", "str", "UUID"} and value.args:
        value = value.args[0]
    if isinstance(value, ast.Call):
        name = call_name(value)
        return name in PRINCIPAL_CALLS or name in handler.principal_calls
    return isinstance(value, ast.Name | ast.Attribute | ast.Subscript) and handler.refs_principal(
        value
    )


def _refuses(body: list[ast.stmt]) -> bool:
    """Whether a block ends the request: raise, abort(), or an error response."""
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node, ast.Call) and call_name(node) in {"abort", "Http404"}:
                return True
            if (
                isinstance(node, ast.Return)
                and node.value is not None
                and _REFUSAL.search(words(node.value))
            ):
                return True
    return False


def _propagate(handler: Handler) -> None:
    """Follow client values through local assignments (two passes reach most chains)."""
    assigns = [n for n in nodes(handler.func) if isinstance(n, ast.Assign)]
    for _ in range(2):
        for node in assigns:
            if handler.refs_principal(node.value) or not handler.carries(node.value):
                continue
            for target in node.targets:
                for name in walk(target):
                    if isinstance(name, ast.Name):
                        handler.tainted.add(name.id)
