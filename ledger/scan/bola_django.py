"""BOLA001/BOLA002 for Django generic class-based views.

A ``DetailView``, ``UpdateView`` or ``DeleteView`` with ``model = Order`` (or
``queryset = Order.objects.all()``) serves whichever row the URL's ``pk`` or
``slug`` names: there is no handler body to read, the lookup is the class's.
Such a view is reported when it knows its caller (a login mixin or decorator)
and serves an owned model, unless something on the class or on a project base
it inherits from scopes or gates the lookup:

- ``get_queryset`` or ``get_object`` filters by, or checks against, what the
  authenticated request carries, or filters the rows at all (``published=True``
  rows are public by design);
- ``get_object`` refuses (raises) or asks a permission question;
- ``dispatch``, ``setup`` or a handler method consults the caller;
- an object or role permission is checked: ``test_func``, ``has_permission``,
  ``get_permission_object``, ``permission_required``, ``permission_policy``, a
  permission, ownership or staff mixin, or ``method_decorator`` of a permission
  or role decorator, or such a decorator around ``as_view()`` in the URLs. Role
  gates are not BOLA, as for function views;
- the model's default manager scopes every query (django-scopes, a tenant manager);
- the row is looked up by a secret the link carries (``slug_field = "token"``);
- the view belongs to a staff area (a ``dashboard`` or ``staff`` package, a
  ``StaffOrderDetail`` class), gated as a whole where its URLs are declared.

Precision comes first: whenever a project base cannot be told apart from another
of the same name, any definition that scopes silences the view.
"""

from __future__ import annotations

import ast
import re
from collections import deque

from ledger.scan import bola_drf
from ledger.scan.bola_drf import _mentions_user, _project_classes, _stmt_name
from ledger.scan.orm import SECRET_FIELD, Models
from ledger.scan.project import Hit, Module, Project, walk
from ledger.scan.values import call_name, dotted

_READ_VIEWS = frozenset({"DetailView", "BaseDetailView"})
_WRITE_VIEWS = frozenset({"UpdateView", "BaseUpdateView", "DeleteView", "BaseDeleteView"})
_LOGIN = re.compile(r"LoginRequired|LoggedIn|login_required|Authenticated")
"""What makes a view know its caller: without a login the view is public content."""
_LOGIN_TEST = re.compile(r"request\.user\.is_(?:authenticated|anonymous)\b")
_GATE_BASE = re.compile(
    r"Permission|UserPassesTest|Staff|Superuser|Admin|Owner|Member|Access|Moderat|Manager"
)
"""Mixins that check the caller's role or its right to the object."""
_GATE_DECORATOR = re.compile(
    r"permission_required|user_passes_test|staff_member_required|superuser|admin|staff|perm"
)
_GATE_METHODS = frozenset(
    {"test_func", "has_permission", "has_object_permission", "get_permission_object",
     "check_permissions", "check_object_permissions", "get_permission_required"}
)  # fmt: skip
_GATE_ATTRS = frozenset(
    {"permission_required", "permission", "required_permission", "required_permissions",
     "permission_policy", "permission_classes", "required_scopes", "any_permission_required"}
)  # fmt: skip
_CALLER_HOOKS = ("dispatch", "setup")
_HANDLER_HOOKS = ("get", "post", "put", "patch", "delete", "form_valid", "get_context_data")
_SCOPED_LOOKUPS = ("get_queryset", "get_object")
_UNFILTERED = frozenset(
    {"all", "objects", "select_related", "prefetch_related", "order_by", "annotate", "only",
     "defer", "distinct", "using", "none"}
)  # fmt: skip
"""Queryset methods that return every row."""
_ADMIN_PATH = frozenset({"admin", "dashboard", "staff", "backoffice"})
"""Packages of a staff area, gated as a whole in its URL configuration."""
_MAX_CHAIN = 32
"""Most project classes and mixins followed up from one view; past it the view is not judged."""
_STAFF_NAME = re.compile(r"Admin|Staff|Superuser|Moderat")


def check_views(module: Module, models: Models, project: Project) -> list[Hit]:
    """Generic Django views serving an owned model by the URL's key, unscoped."""
    hits: list[Hit] = []
    parts = module.rel.removesuffix(".py").split("/")
    if _ADMIN_PATH.intersection(parts):
        return hits
    for cls in module.classes:
        if bola_drf._generic_view(cls, project):
            continue  # DRF views are BOLA005's
        chain, complete = _ancestry(cls, module, project)
        kind = _kind(chain)
        if kind is None and (complete or not isinstance(module.parents.get(cls), ast.Module)):
            continue  # not a generic view, or a nested ``class Meta`` of a form
        model = _served_model(cls, models)
        if model is None or not models.owned(model):
            continue
        if _STAFF_NAME.search(cls.name) or _by_secret(cls):
            continue
        if (complete and not _knows_caller(cls, chain, project)) or _gated(chain):
            continue
        if any(_GATE_DECORATOR.search(t) for t in _url_wrappers(project).get(cls.name, ())):
            continue  # ``staff_member_required(TheView.as_view())`` in the URLs
        if _scoped_manager(model, project):
            continue
        if not complete:  # the bases left out may make it a view, or gate it
            project.warnings.append(
                f"{module.rel}: line {cls.lineno}: {cls.name} inherits from more than "
                f"{_MAX_CHAIN} classes and mixins of the project; not judged"
            )
            continue
        rule, verb = ("BOLA002", "changed") if kind == "write" else ("BOLA001", "read")
        message = f"{model} is {verb} by a request id with no owner check"
        hits.append(Hit(rule, module, cls, message))
    return hits


Chain = list[tuple[ast.ClassDef | None, str]]
"""The class and its project ancestors, each with the base names it lists; a base the
project does not define appears once by name with no class."""


def _ancestry(cls: ast.ClassDef, module: Module, project: Project) -> tuple[Chain, bool]:
    """``cls`` and every class it inherits from inside the project, breadth first, and
    whether that is all of them: the chain holds at most :data:`_MAX_CHAIN` entries.

    A base imported from Django (``django.views.generic.DetailView``) is Django's even
    when the project defines a class of the same name. Every project class of a base's
    name counts, so an ambiguous name can only make the view more scoped.
    """
    classes = _project_classes(project)
    chain: Chain = [(cls, cls.name)]
    seen = {id(cls)}
    homes = _class_modules(project)
    queue: deque[tuple[ast.ClassDef, Module | None]] = deque([(cls, module)])
    while queue:
        current, where = queue.popleft()
        for base in current.bases:
            name = dotted(base)
            last = name.split(".")[-1]
            if not last:
                continue
            origin = where.imports.get(name.split(".")[0], "") if where is not None else ""
            defs = [] if origin.startswith("django.") else classes.get(last, [])
            new = [d for d in defs if id(d) not in seen]
            if len(chain) + max(len(new), 1) > _MAX_CHAIN:
                return chain, False
            if not new:
                chain.append((None, last))
                continue
            for found in new:
                seen.add(id(found))
                chain.append((found, last))
                queue.append((found, homes.get(id(found))))
    return chain, True


def _class_modules(project: Project) -> dict[int, Module]:
    """The module of every project class, to read the imports its bases name."""
    cached = project.derived.get("class_modules")
    if isinstance(cached, dict):
        return cached
    found = {id(cls): module for module in project.modules for cls in module.classes}
    project.derived["class_modules"] = found
    return found


_SCOPING_MANAGER = re.compile(r"Scope|Tenant|Owner|Permission|Visible|Accessible", re.I)


def _scoped_manager(model: str, project: Project) -> bool:
    """Whether the model's default manager scopes every query itself: a django-scopes
    ``ScopedManager(event="event")``, a tenant manager, or a project manager whose
    ``get_queryset`` filters. Every project class of the model's name must have one."""
    classes = _project_classes(project)
    defs = classes.get(model, [])
    if not defs:
        return False
    for cls in defs:
        manager = next(
            (
                stmt.value
                for stmt in cls.body
                if isinstance(stmt, ast.Assign | ast.AnnAssign)
                and _stmt_name(stmt) == "objects"
                and isinstance(stmt.value, ast.Call)
            ),
            None,
        )
        if manager is None:
            return False
        names = {call_name(n) for n in walk(manager) if isinstance(n, ast.Call)}
        if any(_SCOPING_MANAGER.search(n) for n in names):
            continue
        if not any(_filters_rows(d) for n in names for d in classes.get(n, [])):
            return False
    return True


def _filters_rows(manager: ast.ClassDef) -> bool:
    """A manager filtering by the current user or tenant (a thread-local, a context
    variable); a soft-delete manager hiding removed rows scopes nothing."""
    hook = next((s for s in manager.body if _stmt_name(s) == "get_queryset"), None)
    return (
        hook is not None
        and any(isinstance(n, ast.Call) and call_name(n) in _FILTERS for n in walk(hook))
        and _CURRENT.search(ast.unparse(hook)) is not None
    )


_FILTERS = frozenset({"filter", "exclude"})
_CURRENT = re.compile(r"user|tenant|owner|organi[sz]ation|current|local|scope|request", re.I)


def _by_secret(cls: ast.ClassDef) -> bool:
    """A view looking its row up by a secret the link carries (``slug_field = "token"``):
    the link itself is the permission, as for an emailed invoice or a share link."""
    for stmt in cls.body:
        if _stmt_name(stmt) in {"slug_field", "slug_url_kwarg", "pk_url_kwarg"}:
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            if (
                isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and SECRET_FIELD.search(value.value.split("__")[-1])
            ):
                return True
    return False


def _kind(chain: Chain) -> str | None:
    """Read or write, by the generic view of Django's the class inherits from. A project
    class of the name (a messaging app's own ``DeleteView(View)``) is looked into."""
    names = {name for found, name in chain if found is None}
    if names & _WRITE_VIEWS:
        return "write"
    if names & _READ_VIEWS:
        return "read"
    return None


def _served_model(cls: ast.ClassDef, models: Models) -> str | None:
    """The owned model the class itself names: ``model = X``, an unfiltered
    ``queryset = X.objects.all()``, or a ``get_queryset`` that only returns one. A
    filtered queryset chose its rows on purpose."""
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "get_queryset":
            returns = [n for n in walk(stmt) if isinstance(n, ast.Return)]
            if len(returns) == 1 and returns[0].value is not None and len(stmt.body) == 1:
                model = _unfiltered_model(returns[0].value, models)
                if model is not None:
                    return model
        name = _stmt_name(stmt)
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
        if value is None:
            continue
        if name == "model":
            model = dotted(value).split(".")[-1]
            if model in models.by_name:
                return model
        elif name == "queryset":
            return _unfiltered_model(value, models)
    return None


def _unfiltered_model(value: ast.expr, models: Models) -> str | None:
    model = _unfiltered_root(value)
    return model if model is not None and model in models.by_name else None


def _unfiltered_root(value: ast.expr) -> str | None:
    """``X`` of ``X.objects.all().select_related(...)``; None once a method filters."""
    node: ast.expr = value
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr not in _UNFILTERED:
                return None
            node = node.func.value
        elif isinstance(node, ast.Attribute) and node.attr == "objects":
            return dotted(node.value).split(".")[-1] or None
        else:
            return None


def _knows_caller(cls: ast.ClassDef, chain: Chain, project: Project) -> bool:
    """A login mixin or decorator on the view or a base, or ``login_required`` wrapped
    around ``TheView.as_view()`` in a URL configuration."""
    if any(_LOGIN.search(name) for _, name in chain[1:]):
        return True
    for found, _ in chain:
        if found is None:
            continue
        if any(_LOGIN.search(text) for text in _decorations(found)):
            return True
        dispatch = next((s for s in found.body if _stmt_name(s) == "dispatch"), None)
        if dispatch is not None and _LOGIN_TEST.search(ast.unparse(dispatch)):
            return True  # a project's own login mixin
    return any(_LOGIN.search(text) for text in _url_wrappers(project).get(cls.name, ()))


def _url_wrappers(project: Project) -> dict[str, list[str]]:
    """View class name to the text of the calls wrapping its ``as_view()`` in the URL
    configuration: ``login_required(InvoicePrint.as_view())``,
    ``permission_required("billing.view_invoice")(InvoicePrint.as_view())``."""
    cached = project.derived.get("as_view_wrappers")
    if isinstance(cached, dict):
        return cached
    found: dict[str, list[str]] = {}
    for module in project.modules:
        for call in module.calls:
            for arg in call.args:
                if (
                    isinstance(arg, ast.Call)
                    and call_name(arg) == "as_view"
                    and isinstance(arg.func, ast.Attribute)
                ):
                    name = dotted(arg.func.value).split(".")[-1]
                    found.setdefault(name, []).append(ast.unparse(call.func))
    project.derived["as_view_wrappers"] = found
    return found


def _decorations(cls: ast.ClassDef) -> list[str]:
    """The text of the class's decorators, of its ``dispatch`` decorators and of its
    ``decorators`` list."""
    found = [ast.unparse(d) for d in cls.decorator_list]
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == "dispatch":
            found.extend(ast.unparse(d) for d in stmt.decorator_list)
        elif _stmt_name(stmt) in {"decorators", "method_decorators"}:
            found.append(ast.unparse(stmt))
    return found


def _gated(chain: Chain) -> bool:
    """Whether the view or a project base scopes the lookup or checks a permission."""
    for found, name in chain:
        if found is not None and found is not chain[0][0] and _GATE_BASE.search(found.name):
            return True
        if found is None and _GATE_BASE.search(name):
            return True  # ``UserPassesTestMixin``, ``PermissionRequiredMixin``, guardian's
        if found is not None and _class_gates(found):
            return True
    return False


def _class_gates(cls: ast.ClassDef) -> bool:
    if any(_GATE_DECORATOR.search(text) for text in _decorations(cls)):
        return True
    body = {_stmt_name(stmt): stmt for stmt in cls.body}
    if _GATE_METHODS & body.keys() or _GATE_ATTRS & body.keys():
        return True
    queryset = body.get("queryset")
    if (
        isinstance(queryset, ast.Assign | ast.AnnAssign)
        and queryset.value is not None
        and _unfiltered_root(queryset.value) is None
        and _mentions_objects(queryset)
    ):
        return True  # ``queryset = Post.objects.filter(published=True)``
    for name in _SCOPED_LOOKUPS:
        hook = body.get(name)
        if isinstance(hook, ast.FunctionDef | ast.AsyncFunctionDef) and _hook_scopes(hook, body):
            return True
    for name in _CALLER_HOOKS:
        hook = body.get(name)
        if isinstance(hook, ast.FunctionDef | ast.AsyncFunctionDef) and _consults_caller(hook):
            return True
    for name in _HANDLER_HOOKS:
        hook = body.get(name)
        if isinstance(hook, ast.FunctionDef | ast.AsyncFunctionDef) and _checks_caller(hook):
            return True
    return False


def _mentions_objects(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "objects" for n in walk(stmt))


def _hook_scopes(hook: ast.FunctionDef | ast.AsyncFunctionDef, body: dict[str, ast.stmt]) -> bool:
    """``get_queryset``/``get_object`` bound to the caller, filtering rows, refusing, or
    asking a permission question; or one that never reads the URL's key."""
    if _mentions_user(hook) or bola_drf._calls_scoping_method(hook, body):
        return True
    for node in walk(hook):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call):
            name = call_name(node)
            if _CHECK.search(name):
                return True
            if (
                isinstance(node.func, ast.Attribute)
                and name not in _UNFILTERED
                and name not in _PLAIN
                and _on_queryset(node.func.value)
            ):
                return True  # ``.filter(...)``, ``.exclude(...)``, ``.visible_to(...)``
    if hook.name == "get_object":
        text = ast.unparse(hook)
        return "kwargs" not in text and "request.GET" not in text and "super()" not in text
    return False


_CHECK = re.compile(r"check|permi|has_perm|authori[sz]e|can_|allowed|owner|owns|policy")
_PLAIN = frozenset({"get_queryset", "get", "get_object", "get_object_or_404", "first", "last",
                    "count", "exists", "values", "values_list"})  # fmt: skip


def _on_queryset(node: ast.expr) -> bool:
    """Whether a call's receiver is a queryset: ``X.objects``, ``super().get_queryset()``,
    ``self.model.objects``, or a chain on one."""
    for sub in walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in {"objects", "queryset"}:
            return True
        if isinstance(sub, ast.Call) and call_name(sub) == "get_queryset":
            return True
    return False


def _consults_caller(hook: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``dispatch`` (or handler) override that reads the caller: it checks the object
    or role before the view runs, or acts on the caller's own rows."""
    text = _LOGIN_TEST.sub("", ast.unparse(hook))
    return re.search(r"request\.user\b|check_object_permissions|has_perm", text) is not None


def _checks_caller(hook: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A handler method that compares the object with the caller or refuses: stamping
    ``form.instance.editor = self.request.user`` checks nothing."""
    if not _consults_caller(hook):
        return False
    return any(
        isinstance(node, ast.Raise)
        or (isinstance(node, ast.Compare) and _consults_caller_node(node))
        or (isinstance(node, ast.Call) and _CHECK.search(call_name(node)) is not None)
        for node in walk(hook)
    )


def _consults_caller_node(node: ast.AST) -> bool:
    return re.search(r"request\.user\b", ast.unparse(node)) is not None
