"""JWT001-JWT010, JWT013, JWT014: how tokens are decoded and issued.

Checks per decode call, in order: (1) is the signature verified at all
(JWT001); (2) which algorithms are accepted (JWT002-JWT004); (3) which
claims are validated: audience, issuer, expiry, time claims, leeway
(JWT005-JWT009, RFC 8725 section 3); (4) the key (JWT011/JWT012, in
:mod:`ledger.scan.jwt_keys`). Issuing calls are checked for unsigned
tokens, missing ``exp`` and secrets in the payload.

Audience and issuer (JWT005/JWT006) are demanded only where the token
comes from an outside issuer: a public key, a JWKS or an asymmetric
algorithm. A service verifying its own HMAC tokens has one audience, and
reporting those would be noise.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from ledger.scan import jwt_keys
from ledger.scan.jwt_api import (
    AUTHLIB,
    AUTHLIB_DEFAULT,
    JOSE,
    PYJWT,
    JwtCall,
    algorithm_family,
    arg,
    classify,
    decode_options,
    reads_header_alg,
    signature_off,
    uses_jwt,
)
from ledger.scan.jwt_unverified import (
    access_decisions,
    claim_read,
    helper_verifies,
    is_payload_segment,
    on_every_path,
    only_key_selection,
    unverified_returners,
    verifying_functions,
)
from ledger.scan.project import FunctionNode, Hit, Module, Project, nodes, walk
from ledger.scan.values import UNKNOWN, Scope, call_name, dotted

MAX_LEEWAY_SECONDS = 300
_LIBRARIES = {"jwt", "jose", "authlib"}
_TIME_OPTIONS = ("verify_exp", "verify_nbf", "verify_iat")
_SENSITIVE = re.compile(
    r"(^|_)(password|passwd|pwd|secret|api_?key|private_?key|client_secret|password_hash|"
    r"hashed_password|ssn|credit_card|card_number|cvv|otp_secret|totp_secret)($|_)",
    re.IGNORECASE,
)


def check(module: Module, project: Project, scopes: dict[FunctionNode | None, Scope]) -> list[Hit]:
    """Every JWT finding in ``module``."""
    hits: list[Hit] = []
    jwt_calls: list[tuple[JwtCall, Scope]] = []
    imports_jwt = uses_jwt(module)
    for call in module.calls if imports_jwt else ():
        scope = _scope(module, project, scopes, call)
        found = classify(call, module, scope)
        if found is not None:
            jwt_calls.append((found, scope))
    verified: dict[FunctionNode | None, list[ast.Call]] = defaultdict(list)
    for jc, scope in jwt_calls:
        if jc.op in {"decode", "decode_complete"} and not signature_off(jc, scope):
            verified[scope.func].append(jc.call)

    def verified_in(call: ast.Call, scope: Scope) -> bool:
        return on_every_path(call, verified[scope.func], module)

    # A key chosen here may be handed to a helper of the project that verifies with it.
    verifiers = verifying_functions(project) if jwt_calls else frozenset()
    helped = {
        id(jc.call)
        for jc, scope in jwt_calls
        if not verified_in(jc.call, scope) and helper_verifies(jc.call, scope, verifiers)
    }
    for jc, scope in jwt_calls:
        if jc.lib in {PYJWT, JOSE} and jc.op in {"decode", "decode_complete"}:
            _decode(jc, scope, hits, verified_in(jc.call, scope) or id(jc.call) in helped)
        elif jc.lib in {PYJWT, JOSE} and jc.op == "encode":
            _encode(jc, scope, hits, payload_index=0, key_index=1)
        elif jc.lib in {AUTHLIB, AUTHLIB_DEFAULT} and jc.op == "decode":
            _authlib_decode(jc, scope, hits, project)
        elif jc.lib in {AUTHLIB, AUTHLIB_DEFAULT} and jc.op == "encode":
            _encode(jc, scope, hits, payload_index=1, key_index=2)
        elif jc.op == "JsonWebToken" and jc.call.args:
            _algorithm_list(jc.call.args[0], jc.call, scope, hits)
        elif jc.op == "get_unverified_claims":
            nearby = verified_in(jc.call, scope) or id(jc.call) in helped
            if not only_key_selection(jc.call, scope, nearby):
                hits.append(_hit("JWT013", scope, jc.call, "claims read by get_unverified_claims"))
        elif jc.op == "PyJWKClient":
            jwt_keys.check_jwks_client(jc.call, scope, hits)
    returners = unverified_returners(project)
    for call in module.calls:
        if call_name(call) in returners:
            _unverified_caller(call, returners[call_name(call)], module, project, scopes, hits)
        elif call_name(call) in {"urlsafe_b64decode", "b64decode"}:
            scope = _scope(module, project, scopes, call)
            if is_payload_segment(call, scope) and not only_key_selection(
                call, scope, verified_in(call, scope)
            ):
                hits.append(_hit("JWT013", scope, call, "JWT payload decoded by hand"))
        elif imports_jwt and call_name(call) == "validate" and _is_claims_validate(module):
            scope = _scope(module, project, scopes, call)
            _leeway(scope.call_kwargs(call).get("leeway"), call, scope, hits)
    return hits


def _unverified_caller(
    call: ast.Call,
    role_value: bool,
    module: Module,
    project: Project,
    scopes: dict[FunctionNode | None, Scope],
    hits: list[Hit],
) -> None:
    """JWT013 where a project helper hands back unverified claims and access is decided on
    them: ``if "admin" not in token_roles(): abort(403)``."""
    func = module.enclosing_function(call)
    origin = module.imports.get(dotted(call.func).split(".")[0], "")
    if func is None or func.name == call_name(call) or origin.split(".")[0] in _LIBRARIES:
        return  # the library's own ``get_unverified_claims`` is judged at the call
    decisions = access_decisions(call, func, module, role_value)
    if decisions:
        scope = _scope(module, project, scopes, call)
        message = f"a role or scope from unverified claims ({call_name(call)}) decides access"
        hits.append(_hit("JWT013", scope, decisions[0], message))


def _scope(
    module: Module, project: Project, scopes: dict[FunctionNode | None, Scope], node: ast.AST
) -> Scope:
    func = module.enclosing_function(node)
    scope = scopes.get(func)
    if scope is None:
        scope = scopes[func] = Scope(module, project, func)
    return scope


def _hit(rule: str, scope: Scope, node: ast.AST, message: str) -> Hit:
    return Hit(rule, scope.module, node, message)


def _decode(jc: JwtCall, scope: Scope, hits: list[Hit], verified_nearby: bool) -> None:
    call = jc.call
    kwargs = scope.call_kwargs(call)
    opaque = scope.has_opaque_kwargs(call)
    options = decode_options(jc, scope)

    # (1) An unverified decode is tolerated only to pick the key for a verified one,
    # or to read the expiry of a token this code holds as a client.
    if signature_off(jc, scope):
        if not only_key_selection(call, scope, verified_nearby):
            hits.append(_hit("JWT001", scope, call, "signature verification is disabled"))
        # A role read from these claims decides access even if the token is verified
        # later: the decision was taken on what the client wrote (RFC 8725 section 3.1).
        if scope.func is not None:
            decisions = access_decisions(call, scope.func, scope.module)
            if decisions:
                message = "a role or scope from unverified claims decides access"
                hits.append(_hit("JWT013", scope, decisions[0], message))
        return

    # (2) The allow-list of algorithms (RFC 8725 section 3.1).
    algorithms = arg(call, 2, "algorithms", kwargs)
    families: set[str] = set()
    if algorithms is None and not opaque:
        hits.append(_hit("JWT003", scope, call, "no algorithms= allow-list is given"))
    elif algorithms is not None:
        families = _algorithm_list(algorithms, call, scope, hits)

    # (3) Claims: audience and issuer for outside issuers, then expiry and time claims.
    external = families == {"asymmetric"} or jwt_keys.is_public_key(
        arg(call, 1, "key", kwargs), scope
    )
    checked = _manually_checked_claims(scope.func) | _claims_checked_by_helpers(call, scope)
    chosen = _options_chosen_by_caller(jc, scope)

    def disabled(option: str) -> bool:
        return option not in chosen and scope.literal(options.get(option)) is False

    for rule, kw, option, claim in (
        ("JWT005", "audience", "verify_aud", "aud"),
        ("JWT006", "issuer", "verify_iss", "iss"),
    ):
        if disabled(option):
            if claim not in checked:
                hits.append(_hit(rule, scope, call, f"{option} is disabled"))
        elif (
            external
            and claim not in checked
            and not opaque
            and (kw not in kwargs or scope.literal(kwargs[kw]) is None)
        ):
            hits.append(_hit(rule, scope, call, f"tokens from an outside issuer, no {kw}="))
    required = scope.literal(options.get("require"))
    if isinstance(required, list) and "exp" not in required:
        hits.append(_hit("JWT007", scope, call, "'require' does not list 'exp'"))
    if scope.literal(options.get("require_exp")) is False:
        hits.append(_hit("JWT007", scope, call, "require_exp is off"))
    for option in _TIME_OPTIONS:
        if disabled(option) and option.removeprefix("verify_") not in checked:
            hits.append(_hit("JWT008", scope, call, f"{option} is disabled"))
            break
    if scope.literal(kwargs.get("verify_expiration")) is False:
        hits.append(_hit("JWT008", scope, call, "verify_expiration is disabled"))
    _leeway(kwargs.get("leeway", options.get("leeway")), call, scope, hits)

    # (4) The key.
    key = arg(call, 1, "key", kwargs)
    if key is not None:
        jwt_keys.check_key(key, scope, "asymmetric" if external else "hmac", hits)


def _algorithm_list(expr: ast.expr, call: ast.Call, scope: Scope, hits: list[Hit]) -> set[str]:
    """Report JWT002-JWT004 for an allow-list; return the families it holds."""
    if reads_header_alg(expr, scope):
        hits.append(_hit("JWT003", scope, call, "algorithms are taken from the token header"))
        return set()
    value = scope.literal(expr)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return set()
    families = {algorithm_family(v) for v in value}
    if "none" in families:
        hits.append(_hit("JWT002", scope, call, "the 'none' algorithm is accepted"))
    if {"hmac", "asymmetric"} <= families:
        hits.append(_hit("JWT004", scope, call, f"mixed algorithms {sorted(value)}"))
    return families - {"none"}


def _leeway(expr: ast.expr | None, call: ast.Call, scope: Scope, hits: list[Hit]) -> None:
    seconds = scope.literal(expr)
    if isinstance(seconds, int | float) and seconds > MAX_LEEWAY_SECONDS:
        hits.append(_hit("JWT009", scope, call, f"leeway is {seconds:g} s"))


def _encode(jc: JwtCall, scope: Scope, hits: list[Hit], payload_index: int, key_index: int) -> None:
    call = jc.call
    kwargs = scope.call_kwargs(call)
    family = "hmac"
    if payload_index == 0:
        alg = scope.literal(arg(call, 2, "algorithm", kwargs))
    else:
        header = scope.dict_items(arg(call, 0, "header", kwargs)) or {}
        alg = scope.literal(header.get("alg"))
    if isinstance(alg, str):
        family = algorithm_family(alg)
        if family == "none":
            hits.append(_hit("JWT002", scope, call, "an unsigned ('none') token is issued"))
            return
    payload = arg(call, payload_index, "payload", kwargs)
    if payload is None:
        payload = kwargs.get("claims")
    if payload is not None:
        _payload(payload, call, scope, hits)
    key = arg(call, key_index, "key", kwargs)
    if key is not None:
        jwt_keys.check_key(key, scope, family, hits)


def _payload(payload: ast.expr, call: ast.Call, scope: Scope, hits: list[Hit]) -> None:
    items = scope.dict_items(payload)
    if items is None:
        return
    name = payload.id if isinstance(payload, ast.Name) else None
    if name is not None:
        items.update(_updates(scope.func, name))
    for key, value in items.items():
        attr = value.attr if isinstance(value, ast.Attribute) else ""
        if _SENSITIVE.search(key) or _SENSITIVE.search(attr) or _whole_record(value):
            hits.append(_hit("JWT014", scope, call, f"claim '{key}' carries a secret"))
            break
    if "exp" not in items and not _has_spread(payload, scope):
        hits.append(_hit("JWT007", scope, call, "the token is issued without 'exp'"))


def _has_spread(payload: ast.expr, scope: Scope) -> bool:
    value, _ = scope.resolve(payload)
    return isinstance(value, ast.Dict) and None in value.keys


def _whole_record(value: ast.expr) -> bool:
    if isinstance(value, ast.Attribute) and value.attr == "__dict__":
        return True
    return isinstance(value, ast.Call) and dotted(value.func) == "vars"


def _updates(func: FunctionNode | None, name: str) -> dict[str, ast.expr]:
    """Keys added by ``name.update({...})`` or ``name.update(k=v)`` in the function."""
    found: dict[str, ast.expr] = {}
    if func is None:
        return found
    for node in nodes(func):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"update", "setdefault"}
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name
        ):
            for kw in node.keywords:
                if kw.arg:
                    found[kw.arg] = kw.value
            for a in node.args[:1]:
                if isinstance(a, ast.Dict):
                    for k, v in zip(a.keys, a.values, strict=True):
                        if isinstance(k, ast.Constant) and isinstance(k.value, str):
                            found[k.value] = v
                elif isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found[a.value] = node
    return found


def _authlib_decode(jc: JwtCall, scope: Scope, hits: list[Hit], project: Project) -> None:
    call = jc.call
    kwargs = scope.call_kwargs(call)
    if jc.lib == AUTHLIB_DEFAULT:
        hits.append(_hit("JWT003", scope, call, "authlib's default jwt accepts every algorithm"))
    if not _validated(call, scope, project):
        hits.append(_hit("JWT010", scope, call, "claims are used without claims.validate()"))
    key = arg(call, 1, "key", kwargs)
    if jwt_keys.is_public_key(key, scope):
        claims_options = scope.dict_items(kwargs.get("claims_options")) or {}
        checked = _manually_checked_claims(scope.func)
        if "aud" not in claims_options and "aud" not in checked:
            hits.append(_hit("JWT005", scope, call, "claims_options does not check 'aud'"))
        if "iss" not in claims_options and "iss" not in checked:
            hits.append(_hit("JWT006", scope, call, "claims_options does not check 'iss'"))
    elif key is not None:
        jwt_keys.check_key(key, scope, "hmac", hits)


def _validated(call: ast.Call, scope: Scope, project: Project) -> bool:
    """Whether the claims from an authlib decode reach ``.validate()``."""
    func = scope.func
    if func is None:
        return False
    for node in nodes(func):
        if isinstance(node, ast.Call) and call_name(node) == "validate":
            return True
    returned = any(isinstance(n, ast.Return) and n.value is not None for n in nodes(func))
    if not returned:
        return False
    # The claims are handed back: a caller that validates them is enough.
    for module, other in project.calls_named(func.name):
        caller = module.enclosing_function(other)
        if caller is not None and any(
            isinstance(n, ast.Call) and call_name(n) == "validate" for n in nodes(caller)
        ):
            return True
    return False


def _is_claims_validate(module: Module) -> bool:
    return any(origin.startswith("authlib") for origin in module.imports.values())


def _claims_checked_by_helpers(call: ast.Call, scope: Scope) -> set[str]:
    """Claims compared by a project function the decoded claims are handed to, as in
    ``data = jwt.decode(...)`` then ``self._validate(data)``, which checks ``data["exp"]``.
    Every definition of the helper's name must compare the claim."""
    found: set[str] = set()
    parent = scope.module.parents.get(call)
    if scope.func is None or not isinstance(parent, ast.Assign):
        return found
    names = {t.id for t in parent.targets if isinstance(t, ast.Name)}
    for node in nodes(scope.func):
        if not isinstance(node, ast.Call) or node is call:
            continue
        values = [*node.args, *(kw.value for kw in node.keywords)]
        if not any(isinstance(v, ast.Name) and v.id in names for v in values):
            continue
        defs = scope.project.helper_definitions(call_name(node))
        if defs:
            found |= set.intersection(*(_manually_checked_claims(f) for _, f in defs))
    return found


def _options_chosen_by_caller(jc: JwtCall, scope: Scope) -> set[str]:
    """Options switched off only under an ``if`` on a parameter of the function, as in
    ``if allow_expired: options["verify_exp"] = False``: a library's or helper's caller
    decides, and the finding belongs to the caller that asks for it."""
    chosen: set[str] = set()
    options = arg(jc.call, 3, "options", scope.call_kwargs(jc.call))
    if scope.func is None or not isinstance(options, ast.Name):
        return chosen
    for node in nodes(scope.func):
        if not isinstance(node, ast.If) or not scope.params & {
            n.id for n in walk(node.test) if isinstance(n, ast.Name)
        }:
            continue
        for stmt in walk(node):
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == options.id
                        and isinstance(target.slice, ast.Constant)
                        and isinstance(target.slice.value, str)
                    ):
                        chosen.add(target.slice.value)
    return chosen


def _manually_checked_claims(func: FunctionNode | None) -> set[str]:
    """Claims the function compares itself, e.g. ``if claims["iss"] != ISSUER``."""
    found: set[str] = set()
    if func is None:
        return found
    for node in nodes(func):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                claim = claim_read(side)
                if claim:
                    found.add(claim)
    return found


__all__ = ["UNKNOWN", "check"]
