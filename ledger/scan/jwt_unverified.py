"""JWT013 and the exceptions to JWT001: when unverified claims are tolerated.

Claims read without verification are tolerated (1) when a verified decode of the
same token follows, in the same function or in a project helper on every path after
it; (2) when only the expiry is read, by a client holding its own token; (3) inside
a function whose name says it returns unverified claims, leaving the caller to
verify. Anything else decides from claims an attacker wrote (RFC 8725 section 3.1).
"""

from __future__ import annotations

import ast
import re

from ledger.scan.jwt_api import classify, signature_off, uses_jwt
from ledger.scan.project import FunctionNode, Module, Project, nodes, walk
from ledger.scan.values import Scope, call_name

_EXPIRY_ONLY = {"exp", "iat", "nbf"}


def verifying_functions(project: Project) -> frozenset[str]:
    """Names of the project's functions that decode a token with its signature checked."""
    cached = project.derived.get("jwt_verifiers")
    if isinstance(cached, frozenset):
        return cached
    names: set[str] = set()
    for module in project.modules:
        if not uses_jwt(module):
            continue
        for func in module.functions:
            scope = Scope(module, project, func)
            for node in nodes(func):
                if isinstance(node, ast.Call) and call_name(node) in {"decode", "decode_complete"}:
                    found = classify(node, module, scope)
                    if found is not None and not signature_off(found, scope):
                        names.add(func.name)
    result = project.derived["jwt_verifiers"] = frozenset(names)
    return result


def helper_verifies(call: ast.Call, scope: Scope, verifiers: frozenset[str]) -> bool:
    """Whether every path through ``call`` goes on to a project helper that verifies.

    The helper's call must sit in no branch that ``call`` is not in: a verified decode
    behind ``if verify_signature:`` does not cover an unverified one before it.
    """
    if scope.func is None or not verifiers:
        return False
    if _statement(call, scope.module).__class__ is ast.Return:
        return False  # the unverified claims leave before any helper runs
    helpers = [
        node
        for node in nodes(scope.func)
        if isinstance(node, ast.Call) and call_name(node) in verifiers
    ]
    return on_every_path(call, helpers, scope.module)


def on_every_path(call: ast.Call, verified: list[ast.Call], module: Module) -> bool:
    """Whether one of the ``verified`` decodes of the function runs wherever ``call`` runs.

    It must sit in no branch (or branch arm) that ``call`` is not in: a verified decode
    under ``if verify_signature:`` does not cover the unverified one after the ``if``.
    When ``call`` is returned, the verified decode must come before it.
    """
    branches = _branches(call, module)
    returned = _statement(call, module).__class__ is ast.Return
    start = (call.lineno, call.col_offset)
    candidates = [
        (other, _branches(other, module))
        for other in verified
        if other is not call and (not returned or (other.lineno, other.col_offset) < start)
    ]
    # ``if iss == A: decode(key_a) else: decode(key_b)`` verifies on both arms of the if.
    arms = {arm for _, found in candidates for arm in found}
    both = {block for block, arm in arms if (block, _OTHER_ARM.get(arm, "")) in arms}
    return any(
        {(block, arm) for block, arm in found if block not in both} <= branches
        for _, found in candidates
    )


_OTHER_ARM = {"body": "orelse", "orelse": "body"}


def _statement(node: ast.AST, module: Module) -> ast.AST | None:
    holder = module.parents.get(node)
    while holder is not None and not isinstance(holder, ast.stmt):
        holder = module.parents.get(holder)
    return holder


def _branches(node: ast.AST, module: Module) -> set[tuple[int, str]]:
    """The conditional blocks around ``node`` in its function, each with the arm it is in."""
    found: set[tuple[int, str]] = set()
    prev = node
    cur = module.parents.get(node)
    while cur is not None and not isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef):
        if isinstance(cur, ast.If | ast.For | ast.AsyncFor | ast.While):
            # The test or the iterable runs on every path; each arm on some.
            if any(prev is stmt for stmt in cur.orelse):
                found.add((id(cur), "orelse"))
            elif any(prev is stmt for stmt in cur.body):
                found.add((id(cur), "body"))
        elif isinstance(cur, ast.match_case | ast.ExceptHandler):
            found.add((id(cur), "case"))
        prev = cur
        cur = module.parents.get(cur)
    return found


_UNVERIFIED_API = re.compile(r"unverified|insecure|unsafe|without_verif", re.IGNORECASE)
"""Functions whose name already warns that they return claims nobody verified."""


def claim_read(node: ast.AST) -> str | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Call) and call_name(node) == "get" and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant):
            return str(first.value)
    return None


def only_key_selection(call: ast.Call, scope: Scope, verified_nearby: bool) -> bool:
    """Whether unverified claims are only used to choose a key, or to read the expiry, or
    are handed back by a function whose name says they are unverified."""
    if verified_nearby:
        return True
    if scope.func is not None and _UNVERIFIED_API.search(scope.func.name):
        return True
    parents = scope.module.parents
    node: ast.AST = call
    parent = parents.get(node)
    # Through the JSON parse of a hand-decoded payload: ``json.loads(b64decode(p)).get(...)``.
    while True:
        if isinstance(parent, ast.Call) and call_name(parent) == "loads" and node in parent.args:
            node, parent = parent, parents.get(parent)
        elif isinstance(parent, ast.Attribute) and parent.attr == "decode":
            node = parents.get(parent) or parent
            parent = parents.get(node)
        else:
            break
    if isinstance(parent, ast.Attribute) and parent.attr == "get":
        parent = scope.module.parents.get(parent)
    if isinstance(parent, ast.Subscript | ast.Call):
        return claim_read(parent) in _EXPIRY_ONLY
    if not (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
        and scope.func is not None
    ):
        return False
    name = parent.targets[0].id
    uses = [
        n
        for n in nodes(scope.func)
        if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
    ]
    if not uses:
        return False
    for use in uses:
        holder = scope.module.parents.get(use)
        if isinstance(holder, ast.Attribute):
            holder = scope.module.parents.get(holder)
        if claim_read(holder or use) not in _EXPIRY_ONLY:
            return False
    return True


def is_payload_segment(call: ast.Call, scope: Scope) -> bool:
    """``b64decode(token.split(".")[1] + ...)``: the middle segment of a JWT."""
    parts: list[ast.AST] = [call]
    parts += [
        value
        for name in walk(call)
        if isinstance(name, ast.Name)
        for value in scope.local_values(name.id)
    ]
    for node in (sub for part in parts for sub in walk(part)):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == 1
        ):
            # ``token.split(".")[1]``, or ``parts[1]`` after ``parts = token.split(".")``.
            base = node.value
            bases = scope.local_values(base.id) if isinstance(base, ast.Name) else [base]
            if any(_splits_on_dot(b) for b in bases):
                return True
    return False


def _splits_on_dot(expr: ast.expr) -> bool:
    return (
        isinstance(expr, ast.Call)
        and call_name(expr) == "split"
        and bool(expr.args)
        and isinstance(expr.args[0], ast.Constant)
        and expr.args[0].value == "."
    )


_ACCESS_CLAIM = re.compile(
    r"role|scope|scp|admin|perm|group|staff|superuser|privilege|entitle|grant|acl",
    re.IGNORECASE,
)
"""Claims that say what the caller may do: reading them decides access."""


def access_decisions(
    call: ast.Call, func: FunctionNode, module: Module, role_value: bool = False
) -> list[ast.AST]:
    """Comparisons and branches in ``func`` that grant access on claims ``call`` returned.

    Claims from ``call`` are followed into the names bound to them (``claims = ...``,
    ``roles = claims.get("roles")``). A decision is a comparison reading a role, scope
    or permission claim (``claims["role"] == "admin"``, ``"admin" in roles``) or a branch
    on one (``if claims.get("is_admin"):``). Reading ``kid`` or ``iss`` to pick the key is
    none of these: that is the one use RFC 8725 leaves to unverified claims. With
    ``role_value``, ``call`` returns a role claim itself (``token_roles()``).
    """
    claims, access = _names(call, func, module, role_value)
    found: list[ast.AST] = []
    for node in nodes(func):
        if isinstance(node, ast.Compare) and _reads_access(node, call, claims, access, role_value):
            found.append(node)
        elif isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            test = node.test
            while isinstance(test, ast.UnaryOp | ast.BoolOp):
                # ``not claims.get("admin")`` and ``a or b`` branch on their operands.
                parts = [test.operand] if isinstance(test, ast.UnaryOp) else test.values
                test = next((p for p in parts if not isinstance(p, ast.Compare)), parts[0])
            if not isinstance(test, ast.Compare) and _reads_access(
                test, call, claims, access, role_value
            ):
                found.append(node.test)
    return found


def returned_claims(call: ast.Call, func: FunctionNode, module: Module) -> str | None:
    """What of the claims of ``call`` ``func`` hands back: ``claims``, a ``role``, or None."""
    claims, access = _names(call, func, module)
    for node in nodes(func):
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if value is call or (isinstance(value, ast.Name) and value.id in claims):
                return "claims"
            if not isinstance(value, ast.Compare) and _reads_access(value, call, claims, access):
                return "role"
    return None


def _names(
    call: ast.Call, func: FunctionNode, module: Module, role_value: bool = False
) -> tuple[set[str], set[str]]:
    """Names bound to the claims of ``call``, and names bound to a role claim of them."""
    claims: set[str] = set()
    parent = module.parents.get(call)
    if isinstance(parent, ast.Await):
        parent = module.parents.get(parent)
    if isinstance(parent, ast.Assign | ast.AnnAssign):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        claims = {t.id for t in targets if isinstance(t, ast.Name)}
    access: set[str] = set(claims) if role_value else set()
    if role_value:
        claims = set()
    for node in nodes(func):
        if (
            isinstance(node, ast.Assign)
            and not isinstance(node.value, ast.Compare)
            and _reads_access(node.value, call, claims, access, role_value)
        ):
            access.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return claims, access


def _reads_access(
    node: ast.AST, call: ast.Call, claims: set[str], access: set[str], role_value: bool = False
) -> bool:
    """Whether ``node`` reads a role, scope or permission claim of the claims of ``call``."""
    for sub in walk(node):
        if (isinstance(sub, ast.Name) and sub.id in access) or (role_value and sub is call):
            return True
        claim = claim_read(sub)
        if claim is None or not _ACCESS_CLAIM.search(claim):
            continue
        if isinstance(sub, ast.Subscript):
            base = sub.value
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            base = sub.func.value
        else:
            continue
        if base is call or (isinstance(base, ast.Name) and base.id in claims):
            return True
    return False


def unverified_returners(project: Project) -> dict[str, bool]:
    """Project functions that return claims decoded without verification.

    Maps the name to whether it returns a role claim itself (``token_roles()``) rather
    than the claims. Every non-test definition of the name must return them.
    """
    cached = project.derived.get("jwt_unverified_returners")
    if isinstance(cached, dict):
        return cached
    kinds: dict[str, set[str]] = {}
    for module in project.modules:
        if module.is_test or not uses_jwt(module):
            continue
        for call in module.calls:
            if call_name(call) not in {"decode", "get_unverified_claims"}:
                continue
            func = module.enclosing_function(call)
            if func is None:
                continue
            scope = Scope(module, project, func)
            found = classify(call, module, scope)
            if found is None or not (
                found.op == "get_unverified_claims" or signature_off(found, scope)
            ):
                continue
            kind = returned_claims(call, func, module)
            if kind is not None:
                kinds.setdefault(func.name, set()).add(kind)
    result: dict[str, bool] = {}
    for name, found_kinds in kinds.items():
        defs = [m for m, _ in project.functions.get(name, ()) if not m.is_test]
        if len(found_kinds) == 1 and len(defs) == 1:
            result[name] = found_kinds == {"role"}
    project.derived["jwt_unverified_returners"] = result
    return result
