"""Following values to where they are defined: locals, constants, settings, dicts.

A rule asks "what is the ``options`` of this ``jwt.decode``?" and the answer
is often a name bound three lines up, a module constant, a dict spread in
with ``**``, or ``settings.JWT_OPTIONS`` defined in another file. A
:class:`Scope` answers such questions for one function (or a module's top
level), returning the defining expression and the module it lives in, so a
finding can point at the line where the value was written.

Resolution is deliberately conservative: when a name has several candidate
definitions that disagree, the value is unknown and rules stay silent.
"""

from __future__ import annotations

import ast
from typing import Any

from ledger.scan.project import FunctionNode, Module, Project, nodes

UNKNOWN: Any = object()
"""Marker for a value that cannot be determined statically."""

_MAX_DEPTH = 8
_SETTINGS_NAMES = {"settings", "config", "conf", "cfg", "app_settings", "CONFIG", "SETTINGS"}
_ENV_FUNCS = {"getenv", "get", "config", "env", "str", "setdefault"}

Resolved = tuple[ast.expr, Module]


class Scope:
    """Value lookups for code inside one function (or at module level)."""

    def __init__(self, module: Module, project: Project, func: FunctionNode | None) -> None:
        self.module = module
        self.project = project
        self.func = func
        self._locals: dict[str, list[ast.expr]] = {}
        self.params: set[str] = set()
        if func is not None:
            args = func.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                self.params.add(arg.arg)
            for node in nodes(func):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self._locals.setdefault(target.id, []).append(node.value)
                elif (
                    isinstance(node, ast.AnnAssign | ast.NamedExpr)
                    and node.value is not None
                    and isinstance(node.target, ast.Name)
                ):
                    self._locals.setdefault(node.target.id, []).append(node.value)

    def local_values(self, name: str) -> list[ast.expr]:
        """Every expression assigned to local ``name`` in this function."""
        return self._locals.get(name, [])

    def resolve(self, expr: ast.expr, depth: int = 0) -> Resolved:
        """Follow names and settings attributes to the defining expression."""
        module = self.module
        while depth < _MAX_DEPTH:
            depth += 1
            nxt = self._step(expr, module)
            if nxt is None:
                break
            expr, module = nxt
        return expr, module

    def _step(self, expr: ast.expr, module: Module) -> Resolved | None:
        if isinstance(expr, ast.Name):
            if module is self.module and expr.id in self.params:
                return None
            if module is self.module:
                values = self._locals.get(expr.id, [])
                if len(values) == 1:
                    return values[0], module
                if values:
                    return None
            if expr.id in module.constants:
                return module.constants[expr.id], module
            if expr.id in module.imports or module is not self.module:
                found = self.project.unique_constant(expr.id)
                return (found[1], found[0]) if found else None
            return None
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, module)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
            key = expr.slice.value
            base = expr.value
            if isinstance(base, ast.Attribute) and base.attr == "config" and isinstance(key, str):
                entries = self.project.config.get(key, [])
                if len({ast.dump(v) for _, v in entries}) == 1:
                    return entries[-1][1], entries[-1][0]
                found = self.project.unique_constant(key)
                return (found[1], found[0]) if found else None
            items = self.dict_items(base)
            if items is not None and isinstance(key, str) and key in items:
                return items[key], module
        return None

    def _attribute(self, expr: ast.Attribute, module: Module) -> Resolved | None:
        base = expr.value
        if not isinstance(base, ast.Name):
            return None
        if base.id in _SETTINGS_NAMES or expr.attr.isupper():
            origin = module.imports.get(base.id, "")
            other = self.project.module_named(origin) if origin else None
            if other is not None and expr.attr in other.constants:
                return other.constants[expr.attr], other
            found = self.project.unique_constant(expr.attr)
            if found is not None:
                return found[1], found[0]
        return None

    def literal(self, expr: ast.expr | None) -> Any:
        """The Python value of ``expr`` when it resolves to literals, else UNKNOWN."""
        if expr is None:
            return UNKNOWN
        value, _ = self.resolve(expr)
        if isinstance(value, ast.Constant):
            return value.value
        if isinstance(value, ast.List | ast.Tuple | ast.Set):
            items = [self.literal(elt) for elt in value.elts]
            return UNKNOWN if any(item is UNKNOWN for item in items) else items
        if isinstance(value, ast.Call):
            inner = pydantic_default(value)
            if inner is not None:
                return self.literal(inner)
            if _call_name(value) == "timedelta":
                return _timedelta_seconds(self, value)
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
            left, right = self.literal(value.left), self.literal(value.right)
            if isinstance(left, int | float) and isinstance(right, int | float):
                return left * right
        return UNKNOWN

    def dict_items(self, expr: ast.expr | None) -> dict[str, ast.expr] | None:
        """The string-keyed entries of a dict the expression resolves to, else None.

        Handles dict displays, ``dict(k=v)``, ``{**BASE, "k": v}`` and later
        ``name["k"] = v`` stores on a local dict.
        """
        if expr is None:
            return None
        name = expr.id if isinstance(expr, ast.Name) else None
        value, _ = self.resolve(expr)
        items: dict[str, ast.expr] | None = None
        if isinstance(value, ast.Dict):
            items = {}
            for key, val in zip(value.keys, value.values, strict=True):
                if key is None:
                    spread = self.dict_items(val)
                    if spread is None:
                        return None
                    items.update(spread)
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    items[key.value] = val
        elif isinstance(value, ast.Call) and _call_name(value) == "dict" and not value.args:
            items = self.call_kwargs(value)
        if items is not None and name is not None and self.func is not None:
            items.update(self._subscript_stores(name))
        return items

    def _subscript_stores(self, name: str) -> dict[str, ast.expr]:
        stores: dict[str, ast.expr] = {}
        assert self.func is not None
        for node in nodes(self.func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == name
                        and isinstance(target.slice, ast.Constant)
                        and isinstance(target.slice.value, str)
                    ):
                        stores[target.slice.value] = node.value
        return stores

    def call_kwargs(self, call: ast.Call) -> dict[str, ast.expr]:
        """Keyword arguments of ``call``, with ``**mapping`` spreads resolved where visible."""
        result: dict[str, ast.expr] = {}
        for kw in call.keywords:
            if kw.arg is not None:
                result[kw.arg] = kw.value
                continue
            spread = self.dict_items(kw.value)
            if spread is not None:
                result.update(spread)
        return result

    def has_opaque_kwargs(self, call: ast.Call) -> bool:
        """Whether ``call`` spreads a ``**mapping`` whose contents are not visible."""
        return any(kw.arg is None and self.dict_items(kw.value) is None for kw in call.keywords)


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def call_name(call: ast.Call) -> str:
    """The last component of the called name: ``decode`` for ``jwt.decode(...)``."""
    return _call_name(call)


def dotted(expr: ast.expr) -> str:
    """``a.b.c`` for a chain of attributes on a name, else an empty string."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    if isinstance(expr, ast.Call):
        inner = dotted(expr.func)
        return f"{inner}()." + ".".join(reversed(parts)) if inner and parts else ""
    return ""


def env_default(call: ast.Call) -> ast.expr | None:
    """The default of an environment lookup (``os.getenv("K", "dev")``), if it has one."""
    name = dotted(call.func)
    is_env = name in {"os.getenv", "getenv", "os.environ.get", "environ.get"} or (
        name.split(".")[-1] in _ENV_FUNCS and name.split(".")[0] in {"env", "config", "environ"}
    )
    if not is_env or not call.args:
        return None
    for kw in call.keywords:
        if kw.arg == "default":
            return kw.value
    return call.args[1] if len(call.args) > 1 else None


def pydantic_default(call: ast.Call) -> ast.expr | None:
    """The default of a pydantic ``Field(...)``, which settings classes use for values."""
    if _call_name(call) != "Field":
        return None
    for kw in call.keywords:
        if kw.arg == "default":
            return kw.value
    if call.args and not (isinstance(call.args[0], ast.Constant) and call.args[0].value is ...):
        return call.args[0]
    return None


def _timedelta_seconds(scope: Scope, call: ast.Call) -> Any:
    factors = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "weeks": 604800}
    total = 0.0
    for kw in call.keywords:
        value = scope.literal(kw.value)
        if kw.arg not in factors or not isinstance(value, int | float):
            return UNKNOWN
        total += factors[kw.arg] * value
    if call.args:
        days = scope.literal(call.args[0])
        if not isinstance(days, int | float):
            return UNKNOWN
        total += days * 86400
    return total
