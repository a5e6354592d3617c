"""BOLA001-BOLA005: objects served to users who do not own them (OWASP API1:2023).

For each handler that knows its caller, every lookup of an owned model is
judged by four questions, in order:

1. Is the lookup keyed by a value the client chose? If not, it is not BOLA.
2. Is the query itself bound to the principal (``owner_id=current_user.id``,
   ``request.user.things.get(...)``) or to a parent the handler loaded?
3. Is there a check after the fetch: a comparison with the principal, or a
   permission or policy call given the object?
4. Did the handler load a parent first? Then an unbound child is BOLA004;
   otherwise a read is BOLA001 and a write or delete BOLA002.

Lookups hidden in a service layer are followed one call deep through
summaries of the project's own functions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ledger.scan import bola_django, bola_drf
from ledger.scan.handlers import Handler, find_handlers
from ledger.scan.orm import SECRET_FIELD, USER_FIELDS, Models, collect_models
from ledger.scan.project import FunctionNode, Hit, Module, Project, nodes, walk
from ledger.scan.values import Scope, call_name, dotted

_CHECK_CALL = re.compile(
    r"check|ensure|assert|authori[sz]e|require|verify|enforce|^can_|^allow|allowed|permi|has_perm|"
    r"owner|owns|policy",
    re.IGNORECASE,
)
_WRITE_CALLS = {"delete", "update", "save", "merge", "soft_delete", "remove"}
_GENERIC_NAMES = {"get", "post", "put", "patch", "delete", "filter", "first", "all", "update",
                  "save", "query", "execute", "scalars", "one", "list", "create",
                  "copy"}  # fmt: skip
_LOOKUPS = {"get", "get_or_404", "query", "select", "get_object_or_404", "first_or_404",
            "update", "delete"}  # fmt: skip
_SERVICE_PRINCIPALS = {"user", "current_user", "owner", "owner_id", "user_id", "tenant_id",
                       "requester", "actor", "account", "account_id", "principal"}  # fmt: skip


@dataclass(frozen=True)
class Fetch:
    """One lookup of an owned model inside a function."""

    model: str
    call: ast.Call
    names: frozenset[str]
    """Local names the fetched object (or query) is bound to, directly or onwards."""
    write: bool
    scoped_inside: bool = False
    """The lookup is a service call that scopes or checks it itself."""


def check(module: Module, project: Project, scopes: dict[FunctionNode | None, Scope]) -> list[Hit]:
    """Every BOLA finding in ``module``."""
    models = _models(project)
    hits: list[Hit] = []
    if not models.by_name:
        return hits
    for handler in find_handlers(module, project):
        if handler.knows_principal and not handler.admin_only:
            _handler(handler, models, project, hits)
    hits.extend(bola_drf.check_views(module, models, project))
    hits.extend(bola_django.check_views(module, models, project))
    return hits


def _models(project: Project) -> Models:
    found = project.derived.get("models")
    if not isinstance(found, Models):
        found = project.derived["models"] = collect_models(project)
    return found


def _handler(handler: Handler, models: Models, project: Project, hits: list[Hit]) -> None:
    owner_hits = _owner_from_request(handler, models)
    hits.extend(owner_hits)
    owner_values = {id(h.node) for h in owner_hits}
    if handler.object_permission:
        return
    fetches = _fetches(handler, models, _summaries(project, models))
    for index, fetch in enumerate(fetches):
        if any(id(n) in owner_values for n in walk(fetch.call)):
            continue
        if fetch.scoped_inside or handler.refs_principal(fetch.call) or _checked(handler, fetch):
            continue
        if _by_secret(fetch.call) or _relates(handler, fetch):
            continue
        if _checked_by_helper(handler, fetch, project):
            continue
        parents = set(models.parent_models(models.by_name[fetch.model]).values())
        earlier = [f for f in fetches[:index] if f.model in parents]
        if earlier:
            if not any(_bound_to(fetch, parent, handler) for parent in earlier):
                hits.append(Hit("BOLA004", handler.module, fetch.call,
                                f"{fetch.model} is not required to belong to its "
                                f"{earlier[0].model}"))  # fmt: skip
            continue
        rule, verb = ("BOLA002", "changed") if fetch.write else ("BOLA001", "read")
        message = f"{fetch.model} is {verb} by a request id with no owner check"
        hits.append(Hit(rule, handler.module, fetch.call, message))


Summary = tuple[str, bool, bool]
"""A service function's lookup: model, whether it writes, whether it scopes itself."""


def _fetches(handler: Handler, models: Models, summaries: dict[str, Summary]) -> list[Fetch]:
    found: list[Fetch] = []
    parents = handler.module.parents
    # Most functions name no model and call no service lookup: skip them in one pass.
    named = {
        n.id if isinstance(n, ast.Name) else n.attr
        for n in nodes(handler.func)
        if isinstance(n, ast.Name | ast.Attribute)
    }
    if named.isdisjoint(models.by_name) and named.isdisjoint(summaries):
        return found
    for node in sorted(
        (n for n in nodes(handler.func) if isinstance(n, ast.Call)),
        key=lambda n: (n.lineno, n.col_offset),
    ):
        outer = parents.get(node)
        if isinstance(outer, ast.Attribute) or (
            isinstance(outer, ast.Call) and node in outer.args and _outer_query(outer)
        ):
            continue  # judged as part of the enclosing call chain
        model, write, scoped = _model_of(node, models, summaries)
        if model is None or not models.owned(model) or not handler.is_tainted(node):
            continue
        names = _bound_names(node, handler)
        write = write or _mutated(names, handler.func) or call_name(node) in _WRITE_CALLS
        found.append(Fetch(model, node, frozenset(names), write, scoped))
    return found


def _outer_query(call: ast.Call) -> bool:
    return call_name(call) in {"scalars", "execute", "scalar", "get_object_or_404", "list"}


def _model_of(
    call: ast.Call, models: Models, summaries: dict[str, Summary]
) -> tuple[str | None, bool, bool]:
    """The model an ORM expression reads, whether the chain writes, whether it is scoped."""
    name = call_name(call)
    receiver = dotted(call.func.value) if isinstance(call.func, ast.Attribute) else ""
    if name in summaries and name not in _GENERIC_NAMES and not receiver.startswith("request."):
        model, write, scoped = summaries[name]
        return model, write, scoped
    write = False
    for node in walk(call):
        if isinstance(node, ast.Call) and call_name(node) == "none":
            return None, False, False  # ``Model.objects.none()`` selects no row at all
        if isinstance(node, ast.Call) and call_name(node) in {"delete", "update"}:
            write = True
        if isinstance(node, ast.Attribute) and node.attr in {"query", "objects"}:
            base = dotted(node.value)
            if base in models.by_name:
                return base, write, False
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Name)
            and call_name(node) in _LOOKUPS
            and node.args[0].id in models.by_name
            and (call_name(node) not in {"get", "get_or_404"} or len(node.args) > 1)
        ):
            return node.args[0].id, write, False
    return None, False, False


def _bound_names(call: ast.Call, handler: Handler) -> set[str]:
    """Names the result flows into: ``stmt = select(...)``, ``res = s.execute(stmt)``..."""
    names: set[str] = set()
    stmt = handler.module.parents.get(call)
    while stmt is not None and not isinstance(stmt, ast.stmt):
        stmt = handler.module.parents.get(stmt)
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names = {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
    flows = [n for n in nodes(handler.func) if isinstance(n, ast.Assign | ast.For | ast.AsyncFor)]
    for _ in range(2):
        for node in flows:
            if node.lineno < call.lineno:
                continue
            if isinstance(node, ast.Assign) and _mentions(node.value, names):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.For | ast.AsyncFor) and _mentions(node.iter, names):
                names.update(n.id for n in walk(node.target) if isinstance(n, ast.Name))
    return names


def _mentions(node: ast.AST, names: set[str] | frozenset[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in walk(node))


def _mutated(names: set[str], func: FunctionNode) -> bool:
    """Whether the handler changes the fetched object: sets a field, saves, updates or
    deletes it, or hands it back to the session (``session.add(obj)`` before a commit)."""
    for node in nodes(func):
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and _mentions(t.value, names) for t in targets):
                return True
        elif isinstance(node, ast.Call):
            name = call_name(node)
            on_obj = isinstance(node.func, ast.Attribute) and _mentions(node.func.value, names)
            given = any(_mentions(a, names) for a in node.args)
            if name in _WRITE_CALLS and (on_obj or given):
                return True
            if on_obj and name.endswith("_update"):
                return True  # ``obj.sqlmodel_update(data)``
            if name in {"add", "add_all"} and given and _session(node):
                return True
            if name == "setattr" and node.args and _mentions(node.args[0], names):
                return True
    return False


def _session(call: ast.Call) -> bool:
    """Whether a call's receiver is an ORM session (``session``, ``db.session``, ``db``)."""
    if not isinstance(call.func, ast.Attribute):
        return False
    last = dotted(call.func.value).split(".")[-1].lower()
    return "session" in last or last in {"db", "s", "sess"}


def _checked(handler: Handler, fetch: Fetch) -> bool:
    """Step 3: a comparison with the principal or a permission call on the object.

    The check may be of another row looked up by the same request id (``obj =
    get_object_or_404(model, pk=oid)`` checked, then sessions filtered by ``oid``).
    """
    ids = _tainted_names(fetch.call, handler)
    keys = set(fetch.names) | ids
    for node in nodes(handler.func):
        if (
            isinstance(node, ast.Assign)
            and node.value is not fetch.call
            and _mentions(node.value, ids)
        ):
            keys.update(n.id for t in node.targets for n in walk(t) if isinstance(n, ast.Name))
    return any(
        node is not fetch.call and _checks(node, keys, handler)
        for node in nodes(handler.func)
        if isinstance(node, ast.Compare | ast.Call)
    )


def _checks(
    node: ast.Compare | ast.Call, keys: set[str] | frozenset[str], handler: Handler
) -> bool:
    """Whether ``node`` checks the object named by ``keys`` against the caller.

    A permission call given the object counts (``check_access(doc)``). A call given the
    object and the caller counts when its name asks a question of them (``can_edit``,
    ``has_perm``, ``user_owns``), or when the request stops unless it answers yes
    (``if not doc.members.filter(id=user.id).exists(): raise``); rendering or logging
    both is no check. A comparison with the caller counts unless it is data handed on
    (``render(..., {"mine": doc.owner == user})``).
    """
    if not _mentions(node, keys):
        return False
    if isinstance(node, ast.Call) and _CHECK_CALL.search(call_name(node)):
        return True
    if not handler.refs_principal(node):
        return False
    if isinstance(node, ast.Call) and _asks(call_name(node)):
        return True
    if isinstance(node, ast.Compare) and not _handed_on(node, handler.module):
        return True
    return _guards(node, handler)


_QUESTION_WORDS = frozenset(
    {"check", "checks", "can", "has", "allow", "allows", "allowed", "permit", "permits",
     "permitted", "authorize", "authorise", "authorized", "authorised", "own", "owns", "owner",
     "owned", "assert", "verify", "ensure", "require", "requires", "enforce", "permission",
     "permissions", "perm", "perms", "policy", "accessible", "may"}
)  # fmt: skip
"""Words of a function name that ask whether the caller may use an object."""


def _words(name: str) -> list[str]:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")


def _asks(name: str) -> bool:
    words = _words(name)
    return bool(_QUESTION_WORDS.intersection(words)) or words[:1] == ["is"]


def _by_secret(call: ast.Call) -> bool:
    """A lookup that also needs a secret the client holds (``secret_key=key``): the link
    itself is the permission, as in an emailed ticket or unsubscribe link."""
    return any(
        kw.arg is not None and SECRET_FIELD.search(kw.arg.split("__")[0]) is not None
        for node in walk(call)
        if isinstance(node, ast.Call)
        for kw in node.keywords
    )


_RELATION_CHANGES = {"add", "remove", "append", "discard", "set"}
_RELATION_WORDS = frozenset(
    {"vote", "upvote", "downvote", "unvote", "like", "unlike", "follow", "unfollow",
     "subscribe", "unsubscribe", "watch", "unwatch", "track", "untrack", "star", "unstar",
     "bookmark", "unbookmark", "flag", "report", "rate", "favourite", "favorite", "react"}
)  # fmt: skip
"""Verbs of a caller's own relation to shared content."""


def _relates(handler: Handler, fetch: Fetch) -> bool:
    """Whether the caller acts on the object as shared content: records its own relation
    to it (``current_user.track_topic(topic)``, ``review.vote_up(user)``,
    ``item.voted_by.add(user)``) or saves a row of its own about it
    (``form.save(current_user, post)``, ``Comment.objects.create(author=user, task=task)``).
    """
    for node in nodes(handler.func):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        values = [*node.args, *(kw.value for kw in node.keywords)]
        given = any(_mentions(v, fetch.names) for v in values)
        by_caller = any(handler.refs_principal(v) for v in values)
        if _RELATION_WORDS.intersection(_words(node.func.attr)) and (
            (given and handler.refs_principal(receiver) and not _mentions(receiver, fetch.names))
            or (by_caller and _mentions(receiver, fetch.names))
        ):
            return True  # ``current_user.track_topic(topic)``, ``review.vote_up(user)``
        if (
            node.func.attr in _RELATION_CHANGES
            and isinstance(receiver, ast.Attribute)
            and _mentions(receiver, fetch.names)
            and by_caller
        ):
            return True
        if (
            node.func.attr in {"save", "create"}
            and given
            and by_caller
            and not _mentions(receiver, fetch.names)
        ):
            return True
    return False


def _handed_on(node: ast.AST, module: Module) -> bool:
    """Whether ``node`` is a value passed to a call or put in a container, not a test."""
    cur = module.parents.get(node)
    while cur is not None and not isinstance(cur, ast.stmt):
        if isinstance(cur, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.keyword):
            return True
        if isinstance(cur, ast.Call) and not _asks(call_name(cur)):
            return True
        cur = module.parents.get(cur)
    return False


def _guards(node: ast.AST, handler: Handler) -> bool:
    """Whether the request stops unless ``node`` says yes: it is the test of an ``if``
    (or an ``assert``) whose branch leaves, or is stored in a name such a test reads."""
    module = handler.module
    stmt = module.parents.get(node)
    while stmt is not None and not isinstance(stmt, ast.stmt):
        stmt = module.parents.get(stmt)
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.If | ast.While) and any(n is node for n in walk(stmt.test)):
        return _leaves(stmt.body) or _leaves(stmt.orelse)
    if isinstance(stmt, ast.Assign):
        names = {n.id for t in stmt.targets for n in walk(t) if isinstance(n, ast.Name)}
        return any(
            isinstance(other, ast.If)
            and other.lineno > stmt.lineno
            and _mentions(other.test, names)
            and (_leaves(other.body) or _leaves(other.orelse))
            for other in nodes(handler.func)
        )
    return False


def _leaves(body: list[ast.stmt]) -> bool:
    """Whether a block ends the request early: raise, return, or ``abort()``."""
    return any(
        isinstance(node, ast.Raise | ast.Return)
        or (isinstance(node, ast.Call) and call_name(node) in {"abort", "Http404"})
        for stmt in body
        for node in walk(stmt)
    )


def _checked_by_helper(handler: Handler, fetch: Fetch, project: Project) -> bool:
    """Step 3 one call deep: the object is handed to a project function that checks it,
    as in ``return self.resolve(request, uri, task)`` where ``resolve`` refuses unless
    ``instance.has_permission(request.user)``. Every definition of the name must check."""
    for node in nodes(handler.func):
        if not isinstance(node, ast.Call) or node is fetch.call:
            continue
        positions = [
            i for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in fetch.names
        ]
        keywords = {
            kw.arg
            for kw in node.keywords
            if kw.arg and isinstance(kw.value, ast.Name) and kw.value.id in fetch.names
        }
        name = call_name(node)
        defs = project.helper_definitions(name)
        if (
            (positions or keywords)
            and name not in _GENERIC_NAMES
            and defs
            and all(
                _parameter_checked(module, func, node, positions, keywords) for module, func in defs
            )
        ):
            return True
    return False


def _parameter_checked(
    module: Module, func: FunctionNode, call: ast.Call, positions: list[int], keywords: set[str]
) -> bool:
    params = [a.arg for a in [*func.args.posonlyargs, *func.args.args]]
    if isinstance(call.func, ast.Attribute) and params[:1] in (["self"], ["cls"]):
        params = params[1:]
    names = {params[i] for i in positions if i < len(params)} | keywords
    if not names:
        return False
    helper = Handler(func, module)
    return any(
        _checks(node, names, helper)
        for node in nodes(func)
        if isinstance(node, ast.Compare | ast.Call)
    )


def _tainted_names(call: ast.Call, handler: Handler) -> set[str]:
    return {n.id for n in walk(call) if isinstance(n, ast.Name) and n.id in handler.tainted}


def _bound_to(child: Fetch, parent: Fetch, handler: Handler) -> bool:
    """Whether the child lookup or a later check ties the child to the loaded parent."""
    keys = set(parent.names) | _tainted_names(parent.call, handler)
    if _mentions(child.call, keys):
        return True
    return any(
        isinstance(node, ast.Compare) and _mentions(node, keys) and _mentions(node, child.names)
        for node in nodes(handler.func)
    )


def _owner_from_request(handler: Handler, models: Models) -> list[Hit]:
    """BOLA003: a user column of a row written or queried with a value the client sent.

    Only ORM calls count (a model built, a ``create``/``filter``/``where``): passing an
    owner id to an audit log or to a permission check is not deciding whose row it is.
    Only columns naming a user count: a team or workspace id in the path names the
    parent being browsed, whose membership check is a question for BOLA001.
    """
    hits: list[Hit] = []
    for node in nodes(handler.func):
        if not isinstance(node, ast.Call) or not _is_orm_call(node, models):
            continue
        values = [kw.value for kw in node.keywords if kw.arg in USER_FIELDS]
        values += [
            side
            for arg in node.args
            if isinstance(arg, ast.Compare)
            and isinstance(arg.left, ast.Attribute)
            and arg.left.attr in USER_FIELDS
            for side in arg.comparators
        ]
        for value in values:
            if handler.carries(value):
                if not _compared_with_principal(value, handler) and not _result_checked(
                    node, handler
                ):
                    message = f"owner taken from the request ({ast.unparse(value)})"
                    hits.append(Hit("BOLA003", handler.module, value, message))
                break
    return hits


_ORM_SINKS = {"filter", "filter_by", "where", "get", "create", "get_or_create",
              "update_or_create", "update", "exclude", "get_object_or_404", "first_or_404",
              "get_or_404", "one_or_404", "insert", "values"}  # fmt: skip


def _is_orm_call(call: ast.Call, models: Models) -> bool:
    """A model built, or a query method given the column (``filter_by``, ``where``...)."""
    name = call_name(call)
    return name in _ORM_SINKS or (isinstance(call.func, ast.Name) and name in models.by_name)


def _result_checked(call: ast.Call, handler: Handler) -> bool:
    """``member = get_object_or_404(qs, user=user_pk)`` then a permission check on it."""
    names = _bound_names(call, handler)
    inside = {id(n) for n in walk(call)}
    return any(
        isinstance(node, ast.Compare | ast.Call)
        and id(node) not in inside
        and _checks(node, names, handler)
        for node in nodes(handler.func)
    )


def _compared_with_principal(value: ast.expr, handler: Handler) -> bool:
    names = {n.id for n in walk(value) if isinstance(n, ast.Name)}
    return any(
        isinstance(node, ast.Compare) and _mentions(node, names) and handler.refs_principal(node)
        for node in nodes(handler.func)
    )


def _summaries(project: Project, models: Models) -> dict[str, Summary]:
    """Service functions that look up an owned model by one of their parameters."""
    cached = project.derived.get("summaries")
    if isinstance(cached, dict):
        return cached
    found: dict[str, Summary] = {}
    ambiguous: set[str] = set()
    for name, defs in project.functions.items():
        for module, func in defs:
            args = func.args
            params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            if name.startswith("test"):
                continue
            principals = params & _SERVICE_PRINCIPALS
            pseudo = Handler(
                func, module, principal_names=principals,
                tainted=params - principals - {"self", "cls", "db", "session"},
            )  # fmt: skip
            for fetch in _fetches(pseudo, models, {}):
                safe = pseudo.refs_principal(fetch.call) or _checked(pseudo, fetch)
                summary = (fetch.model, fetch.write, safe)
                if name in found and found[name] != summary:
                    ambiguous.add(name)
                found[name] = summary
                break
    for name in ambiguous:
        found.pop(name, None)
    project.derived["summaries"] = found
    return found
