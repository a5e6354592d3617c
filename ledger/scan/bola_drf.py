"""BOLA005: Django REST framework views whose queryset is not scoped to the caller.

A generic view (one built on DRF's generic views, directly or through the
project's own base classes) serving an owned model is scoped when its
``get_queryset`` (or ``get_object``, ``filter_queryset``) filters by what the
authenticated request carries, itself or through a method of the view it calls;
when it names an object-level permission class or a permission of the project's
own machinery; when a filter backend of the project filters by the user; or when
a project base class it inherits from scopes every request (in ``initial``,
``dispatch``, ``get_queryset``, ``get_object``..., by a permission it declares, or
by its permission classes while no class below sets its own).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping

from ledger.scan.orm import Models
from ledger.scan.project import Hit, Module, Project, walk
from ledger.scan.values import dotted

_DRF_GENERIC = re.compile(r"(ModelViewSet|GenericViewSet|GenericAPIView|ListAPIView|"
                          r"RetrieveAPIView|DestroyAPIView|UpdateAPIView|ListCreateAPIView|"
                          r"Retrieve\w*APIView)$")  # fmt: skip


_OBJECT_PERMISSION = re.compile(r"Owner|Admin|Staff|ObjectPermission|IsSelf|Author|Member")


def check_views(module: Module, models: Models, project: Project) -> list[Hit]:
    """BOLA005: generic views serving an owned model from an unscoped queryset."""
    hits: list[Hit] = []
    object_permissions = _object_permission_classes(project)
    for cls in module.classes:
        if not _generic_view(cls, project):
            continue
        body = {_stmt_name(s): s for s in cls.body}
        queryset = body.get("queryset")
        model = _queryset_model(queryset, models) if queryset is not None else None
        get_qs = body.get("get_queryset")
        if get_qs is not None and model is None:
            model = _queryset_model(get_qs, models)
        if model is None or not models.owned(model):
            continue
        scoped = any(
            stmt is not None and (_mentions_user(stmt) or _calls_scoping_method(stmt, body))
            for stmt in (get_qs, body.get("get_object"), body.get("filter_queryset"))
        )
        # A permission named on the view (``permission_required = "projects.view"``) is
        # checked by the project's own permission machinery against the caller.
        scoped = scoped or any(name in body for name in _DECLARED_PERMISSIONS)
        permissions = body.get("permission_classes")
        if permissions is not None:
            names = {_last(n) for n in walk(permissions)} - {""}
            scoped = scoped or any(_OBJECT_PERMISSION.search(n) for n in names)
            scoped = scoped or bool(names & object_permissions)
        backends = body.get("filter_backends")
        user_filters = project.derived.get("user_filters")
        if (
            backends is not None
            and isinstance(user_filters, set)
            and any(_last(n) in user_filters for n in walk(backends))
        ):
            scoped = True
        scoped = scoped or _inherits_scoping(cls, project, set(), permissions is not None)
        if not scoped:
            hits.append(Hit("BOLA005", module, cls, f"{model} rows are served to every user"))
    return hits


def _calls_scoping_method(hook: ast.stmt, body: dict[str, ast.stmt]) -> bool:
    """``get_queryset`` filtering by ``self.accessible_followups()``, a method of the view
    that binds the rows to ``request.user``."""
    return any(_mentions_user(method) for method in _self_calls(hook, body))


def _self_calls(
    hook: ast.AST, methods: Mapping[str, ast.stmt]
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The class's own methods that ``hook`` calls on ``self``, one call deep."""
    for node in walk(hook):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and dotted(node.func.value) == "self"
        ):
            method = methods.get(node.func.attr)
            if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                yield method


def _generic_view(cls: ast.ClassDef, project: Project) -> bool:
    """Whether ``cls`` is a DRF generic view, directly or through the project's own bases
    (at most :data:`_MAX_BASES` classes up)."""
    return id(cls) in _generic_views(project)


def _generic_views(project: Project) -> set[int]:
    """The ids of every DRF generic view of the project, found once for all classes.

    Views are found outwards from the classes that name a DRF base, one level of project
    subclasses a round, so a cycle of bases or thousands of classes of one name cost
    one pass over the classes rather than a search from each of them.
    """
    cached = project.derived.get("drf_generic_views")
    if isinstance(cached, set):
        return cached
    found: set[int] = set()
    bases_of: dict[str, list[ast.ClassDef]] = {}
    usable = {id(d) for defs in _project_classes(project).values() for d in defs}
    level: set[str] = set()
    for module in project.modules:
        for cls in module.classes:
            if any(_DRF_GENERIC.search(dotted(b)) for b in cls.bases):
                found.add(id(cls))
                if id(cls) in usable:
                    level.add(cls.name)
                continue
            for base in cls.bases:
                bases_of.setdefault(_last(base), []).append(cls)
    bases_of.pop("", None)
    for _ in range(_MAX_BASES):
        below: set[str] = set()
        for name in level:
            for cls in bases_of.pop(name, []):
                if id(cls) not in found:
                    found.add(id(cls))
                    if id(cls) in usable:
                        below.add(cls.name)
        if not below:
            break
        level = below
    project.derived["drf_generic_views"] = found
    return found


def _last(node: ast.AST) -> str:
    return dotted(node).split(".")[-1] if isinstance(node, ast.expr) else ""


def _stmt_name(stmt: ast.stmt) -> str:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return stmt.name
    if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id  # ``permission_classes: ClassVar[list] = [...]``
    return ""


def _queryset_model(stmt: ast.stmt, models: Models) -> str | None:
    for node in walk(stmt):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            base = dotted(node.value)
            if base in models.by_name:
                return base
    return None


_DECLARED_PERMISSIONS = ("permission_required", "permission", "required_permission",
                         "required_permissions", "required_scopes")  # fmt: skip


_CALLER_CONTEXT = re.compile(
    r"request\.(?!(?:data|GET|POST|FILES|query_params|body|META|method|headers|path|"
    r"query_string|content_type|stream|parser_context)\b)\w+|check_object_permissions|"
    r"for_user\("
)
"""What the authenticated request carries (its user, auth, organiser or tenant), as
opposed to what the client sent in it."""


def _mentions_user(node: ast.AST) -> bool:
    return _CALLER_CONTEXT.search(ast.unparse(node)) is not None


def _object_permission_classes(project: Project) -> set[str]:
    """Project classes that implement has_object_permission or filter by request.user."""
    cached = project.derived.get("object_permissions")
    if isinstance(cached, set):
        return cached
    found: set[str] = set()
    filters: set[str] = set()
    for module in project.modules:
        for cls in module.classes:
            methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}
            if "has_object_permission" in methods or (
                "has_permission" in methods and _mentions_user(methods["has_permission"])
            ):
                found.add(cls.name)
            if "filter_queryset" in methods and _mentions_user(methods["filter_queryset"]):
                filters.add(cls.name)
    project.derived["object_permissions"] = found
    project.derived["user_filters"] = filters
    return found


_BASE_SCOPING = re.compile(r"\brequest\.(?:user|auth)\b|check_object_permissions\(|for_user\(")
"""What a project's own view base class does to bind every query to the caller."""
_SCOPING_HOOKS = frozenset(
    {"get_queryset", "get_object", "filter_queryset", "initial", "dispatch",
     "check_permissions", "check_object_permissions"}
)  # fmt: skip
"""The DRF hooks every request of a view passes through."""
_MAX_BASES = 8


def _inherits_scoping(
    cls: ast.ClassDef, project: Project, seen: set[str], overridden: bool = False
) -> bool:
    """Whether a view base class of the project's own scopes every request to the caller.

    A project's ``ModelViewSet`` whose ``initial()`` restricts the queryset to
    ``request.user``, or whose ``get_object()`` checks object permissions, scopes every
    view built on it. Every non-test class of the base's name must do so. A base's
    ``permission_classes`` count only while no class below it sets its own
    (``overridden``): DRF reads the attribute from the nearest class, it does not add.
    """
    classes = _project_classes(project)
    for base in cls.bases:
        name = _last(base)
        defs = classes.get(name, [])
        if not defs or name in seen or len(seen) >= _MAX_BASES:
            continue
        seen.add(name)
        if all(
            _class_scopes(d, project, overridden)
            or _inherits_scoping(d, project, seen, overridden or _sets_permissions(d))
            for d in defs
        ):
            return True
    return False


def _sets_permissions(cls: ast.ClassDef) -> bool:
    return any(_stmt_name(stmt) == "permission_classes" for stmt in cls.body)


def _class_scopes(cls: ast.ClassDef, project: Project, overridden: bool = False) -> bool:
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    for name in _SCOPING_HOOKS & methods.keys():
        hook = methods[name]
        if _BASE_SCOPING.search(ast.unparse(hook)):
            return True
        # One call deep into the class's own methods: ``self.restrict_queryset(request)``.
        if any(_BASE_SCOPING.search(ast.unparse(m)) for m in _self_calls(hook, methods)):
            return True
    if any(_stmt_name(stmt) in _DECLARED_PERMISSIONS for stmt in cls.body):
        return True  # checked by the project's permission machinery, as on the view
    for stmt in [] if overridden else cls.body:
        if _stmt_name(stmt) == "permission_classes":
            names = {_last(n) for n in walk(stmt)} - {""}
            if any(_OBJECT_PERMISSION.search(n) for n in names) or (
                names & _object_permission_classes(project)
            ):
                return True
    return False


def _project_classes(project: Project) -> dict[str, list[ast.ClassDef]]:
    """Every non-test class of the project by name."""
    cached = project.derived.get("classes")
    if isinstance(cached, dict):
        return cached
    found: dict[str, list[ast.ClassDef]] = {}
    for module in project.modules:
        if not module.is_test:
            for cls in module.classes:
                found.setdefault(cls.name, []).append(cls)
    project.derived["classes"] = found
    return found
