"""What the scanner knows about the whole tree before any rule runs.

Rules look at one call at a time, but the values they judge are often
defined elsewhere: a key in ``settings.py``, an options dict in a constants
module, a model's owner column in ``models.py``, a lookup in a service
function. :class:`Project` indexes those definitions across every parsed
module so the rules can follow them where they are visible.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Module:
    """One parsed source file."""

    rel: str
    """Path relative to the scanned root, forward slashes."""
    tree: ast.Module
    source: bytes
    """The file as read; decoded into lines only where a finding needs its text."""
    line_count: int
    """How many lines the decoded source has."""
    marked_lines: tuple[tuple[int, str], ...] = ()
    """Numbered lines that mention ``trailseal:``, the candidates for suppressions."""
    constants: dict[str, ast.expr] = field(default_factory=dict)
    """Module-level ``NAME = value`` bindings (the last one wins, as at import)."""
    imports: dict[str, str] = field(default_factory=dict)
    """Local name to dotted origin, e.g. ``jwt`` -> ``jose.jwt``."""
    functions: list[FunctionNode] = field(default_factory=list)
    """Every function and method, in walk order."""
    parents: Parents = field(init=False)
    """Child node to parent, for walking outwards from a call."""
    calls: list[ast.Call] = field(default_factory=list)
    """Every call in the module, in walk order, so rules need not walk again."""
    classes: list[ast.ClassDef] = field(default_factory=list)
    """Every class in the module."""
    order: list[ast.AST] = field(default_factory=list)
    """Every node in pre-order; a subtree is a slice of it (see :func:`walk`). Each node
    records its place in it and its parent in its own attributes."""
    class_bindings: list[tuple[str, ast.expr]] = field(default_factory=list)
    """Class-level ``NAME = value`` bindings, in source order, for the project index."""
    config_entries: list[tuple[str, ast.expr]] = field(default_factory=list)
    """Flask-style config entries, in source order, for the project index."""

    def __post_init__(self) -> None:
        self.parents = Parents(self.order)

    def release(self) -> None:
        """Drop the parent links and the node order: each is a reference cycle."""
        for node in self.order:
            node.__dict__.pop("_ts_parent", None)
        self.tree.__dict__.pop("_ts_order", None)
        self.order.clear()

    @property
    def is_test(self) -> bool:
        """Whether the file is test code, where fixed keys are expected."""
        parts = self.rel.split("/")
        name = parts[-1]
        return (
            name.startswith("test_")
            or name.endswith("_test.py")
            or name == "conftest.py"
            or any(part in {"tests", "test", "testing"} for part in parts[:-1])
        )

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        """The innermost function holding ``node``, if any."""
        cur = self.parents.get(node)
        while cur is not None:
            if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef):
                return cur
            cur = self.parents.get(cur)
        return None

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The innermost class holding ``node``, if any."""
        cur = self.parents.get(node)
        while cur is not None:
            if isinstance(cur, ast.ClassDef):
                return cur
            cur = self.parents.get(cur)
        return None

    def logical_name(self, node: ast.AST) -> str:
        """Dotted class and function names around ``node`` (the SARIF logical location)."""
        names: list[str] = []
        cur = self.parents.get(node)
        while cur is not None:
            if isinstance(cur, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.append(cur.name)
            cur = self.parents.get(cur)
        return ".".join(reversed(names))


class Parents:
    """A module's child-to-parent map, kept in the nodes rather than in a dict of its own
    (one entry per node of every tree). Nodes outside the module have no parent here."""

    __slots__ = ("_order",)

    def __init__(self, order: list[ast.AST]) -> None:
        self._order = order

    def get(self, node: ast.AST) -> ast.AST | None:
        """The parent of ``node`` in this module, if it has one."""
        state = getattr(node, "__dict__", None)
        if state is None:
            return None
        parent: ast.AST | None = state.get("_ts_parent")
        # Leaves record no place in the order: the module's own nodes are those whose
        # parent (or, for the module node, themselves) is at its place in this order.
        owner = node if parent is None else parent
        index = owner.__dict__.get("_ts_index")
        order = self._order
        if index is None or index >= len(order) or order[index] is not owner:
            return None
        return parent


def walk(node: ast.AST) -> list[ast.AST]:
    """``node`` and every node under it, in source order.

    For indexed trees this is a slice of the module's pre-order list, so rules may ask
    about the same subtree many times at little cost; ``ast.walk`` would rebuild it with
    a generator per node. Nodes made up by a rule fall back to ``ast.walk``.
    """
    state = node.__dict__
    start: int | None = state.get("_ts_index")
    if start is None:
        # An indexed leaf has a parent but no place of its own; made-up nodes have neither.
        return [node] if "_ts_parent" in state else list(ast.walk(node))
    # The subtree ends after its last descendant in pre-order: follow last children.
    leaf = inner = node
    while (last := leaf.__dict__.get("_ts_last")) is not None:
        inner, leaf = leaf, last
    if leaf is node:
        return [node]
    # Only the module node holds the order, so that no other node's attributes grow.
    root = node
    while (up := root.__dict__.get("_ts_parent")) is not None:
        root = up
    order: list[ast.AST] = root.__dict__["_ts_order"]
    # The last leaf records no place; it lies in the (small) subtree of its parent.
    end = order.index(leaf, inner.__dict__["_ts_index"]) + 1
    return order[start:end]


def words(node: ast.AST) -> str:
    """The names, attributes and literals under ``node``, space-separated: what a pattern
    over its source text would look at, without unparsing it."""
    out: list[str] = []
    for sub in walk(node):
        if isinstance(sub, ast.Name):
            out.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.append(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str | int):
            out.append(str(sub.value))
    return " ".join(out)


def nodes(func: ast.AST) -> list[ast.AST]:
    """Every node of a function (its body, decorators and signature), in source order."""
    return walk(func)


@dataclass(frozen=True)
class Hit:
    """One rule match, before suppression and fingerprinting."""

    rule_id: str
    module: Module
    node: ast.AST
    """The node to point at; its first line is the finding's line."""
    message: str


MAX_HELPER_DEFINITIONS = 4
"""More definitions of one name say nothing about which one a call reaches."""


@dataclass
class Project:
    """Definitions visible across all scanned modules."""

    modules: list[Module] = field(default_factory=list)
    constants: dict[str, list[tuple[Module, ast.expr]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Module- and class-level bindings by bare name, for ``settings.X`` lookups."""
    functions: dict[str, list[tuple[Module, FunctionNode]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Every function and method by bare name, for service-layer summaries."""
    config: dict[str, list[tuple[Module, ast.expr]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    """Flask-style ``app.config["K"] = v`` and ``app.config.update(K=v)`` entries."""
    imported_packages: set[str] = field(default_factory=set)
    """Top-level packages imported anywhere, to tell which libraries are in use."""
    derived: dict[str, object] = field(default_factory=dict)
    """Whole-project facts computed once on first use (models, service summaries)."""
    warnings: list[str] = field(default_factory=list)
    """What the rules left unjudged and why, for the scan's warnings."""
    _by_suffix: dict[str, Module] | None = None
    _calls_by_name: dict[str, list[tuple[Module, ast.Call]]] | None = None

    def add(self, module: Module) -> None:
        """Index one module's definitions."""
        self.modules.append(module)
        for name, value in module.class_bindings:
            self.constants[name].append((module, value))
        for name, value in module.constants.items():
            self.constants[name].append((module, value))
        for func in module.functions:
            self.functions[func.name].append((module, func))
        for key, value in module.config_entries:
            self.config[key].append((module, value))
        for origin in module.imports.values():
            self.imported_packages.add(origin.split(".", 1)[0])

    def module_named(self, dotted: str) -> Module | None:
        """The module whose path ends in the dotted name ``dotted`` (``app.core.config``)."""
        if self._by_suffix is None:
            self._by_suffix = {}
            for module in self.modules:
                parts = module.rel.removesuffix(".py").removesuffix("/__init__").split("/")
                for i in range(len(parts)):
                    self._by_suffix.setdefault(".".join(parts[i:]), module)
        return self._by_suffix.get(dotted)

    def calls_named(self, name: str) -> list[tuple[Module, ast.Call]]:
        """Every call in the tree whose called name ends in ``name``."""
        if self._calls_by_name is None:
            self._calls_by_name = defaultdict(list)
            for module in self.modules:
                for call in module.calls:
                    func = call.func
                    last = func.attr if isinstance(func, ast.Attribute) else ""
                    last = func.id if isinstance(func, ast.Name) else last
                    self._calls_by_name[last].append((module, call))
        return self._calls_by_name.get(name, [])

    def helper_definitions(self, name: str) -> list[tuple[Module, FunctionNode]]:
        """Every definition of the function ``name``, for judging a call by all of them;
        none when there are more than :data:`MAX_HELPER_DEFINITIONS`."""
        defs = self.functions.get(name, [])
        return defs if len(defs) <= MAX_HELPER_DEFINITIONS else []

    def unique_constant(self, name: str) -> tuple[Module, ast.expr] | None:
        """The one definition of ``name`` in the tree, or None when absent or ambiguous."""
        key = "constant:" + name
        if key not in self.derived:
            found = self.constants.get(name, [])
            values = {ast.dump(value) for _, value in found}
            self.derived[key] = found[-1] if len(values) == 1 else None
        result = self.derived[key]
        return result if isinstance(result, tuple) else None


_SCALAR_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "kind", "type_comment", "level", "conversion",
     "is_async", "simple", "asname", "module"}
)  # fmt: skip
"""Fields that hold strings, numbers, or the operator and context nodes CPython shares
between trees (one ``Load``, one ``Add``), which must not be indexed."""

_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold nodes; computed once per node type."""
    names: tuple[str, ...] = () if cls is ast.Constant else getattr(cls, "_fields", ())
    fields = tuple(f for f in names if f not in _SCALAR_FIELDS)
    if cls in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.alias):
        fields = tuple(f for f in fields if f != "name")
    _CHILD_FIELDS[cls] = fields
    return fields


MAX_NESTING = 100
"""The deepest syntax tree the rules are given. Hand-written code stays far below it
(the deepest file of several large web projects nests 28 levels); the rules follow
expressions recursively, so a deeper tree, such as a generated chain of thousands of
``+``, would exhaust the interpreter's stack."""


class NestingTooDeep(Exception):
    """A module whose syntax tree nests deeper than :data:`MAX_NESTING`."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def index_module(module: Module, project: Project) -> None:
    """Fill ``module``'s tables in one walk over its tree and add it to ``project``.

    Raises :class:`NestingTooDeep`, leaving ``project`` unchanged, for a tree deeper than
    :data:`MAX_NESTING`.
    """
    order = module.order
    node_type = ast.AST
    child_fields = _CHILD_FIELDS
    # One pre-order pass in source order that records parents and each node's place in
    # that order (for :func:`walk`). After parsing, this walk is most of the scanner's
    # time, so it visits each node once and dispatches on its type once.
    module.tree.__dict__["_ts_order"] = order
    todo: list[ast.AST] = [module.tree]
    depths: list[int] = [0]
    uppers: list[ast.AST | None] = [None]
    while todo:
        node = todo.pop()
        depth = depths.pop()
        upper = uppers.pop()
        cls = type(node)
        state = node.__dict__
        if upper is not None:
            state["_ts_parent"] = upper
        index = len(order)
        order.append(node)
        fields = child_fields.get(cls)
        if fields is None:
            fields = _child_fields(cls)
        if fields:
            children: list[ast.AST] = []
            for name in fields:
                value = state.get(name)
                if value.__class__ is list:
                    children += [item for item in value if isinstance(item, node_type)]
                elif isinstance(value, node_type):
                    children.append(value)
            if children:
                if depth >= MAX_NESTING:
                    raise NestingTooDeep(getattr(node, "lineno", 1))
                # Only nodes with children record their place: a leaf's subtree is itself,
                # and a stored index is an int object of its own for most nodes.
                state["_ts_index"] = index
                state["_ts_last"] = children[-1]
                children.reverse()
                todo += children
                depths += [depth + 1] * len(children)
                uppers += [node] * len(children)
        if cls in _INDEXED:
            _index_node(module, node)
    project.add(module)


_INDEXED = frozenset(
    {ast.Call, ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
     ast.Import, ast.ImportFrom}
)  # fmt: skip


def _index_node(module: Module, node: ast.AST) -> None:
    """Record a definition, a call or an import in the module's tables."""
    if isinstance(node, ast.Call):
        module.calls.append(node)
        _index_config_update(module, node)
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        if node.value is not None:
            _index_binding(module, node, module.parents.get(node))
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        module.functions.append(node)
    elif isinstance(node, ast.ClassDef):
        module.classes.append(node)
    elif isinstance(node, ast.Import | ast.ImportFrom):
        _index_import(module, node)


def _index_import(module: Module, node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            module.imports[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )
    elif node.module:
        for alias in node.names:
            module.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"


def _index_binding(
    module: Module, node: ast.Assign | ast.AnnAssign, parent: ast.AST | None
) -> None:
    assert node.value is not None
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        if isinstance(target, ast.Name) and isinstance(parent, ast.Module):
            module.constants[target.id] = node.value
        elif isinstance(target, ast.Name) and isinstance(parent, ast.ClassDef):
            # Settings classes (pydantic BaseSettings, Flask config objects, Django
            # AppConfig) are read as ``settings.NAME``; index their attributes by name.
            module.class_bindings.append((target.id, node.value))
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "config"
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            module.config_entries.append((target.slice.value, node.value))


def _index_config_update(module: Module, call: ast.Call) -> None:
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr == "update"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "config"
    ):
        for kw in call.keywords:
            if kw.arg:
                module.config_entries.append((kw.arg, kw.value))
