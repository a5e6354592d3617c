"""Which models have an owner: SQLAlchemy, Flask-SQLAlchemy, SQLModel and Django.

A model is *owned* when a column points at the user, tenant or account
(a foreign key to such a table, or a column named ``owner_id``,
``user_id``, ``tenant_id``...), or when it points at an owned parent. A
model with neither is a catalogue (products, countries, plans): reading it
by id is not a broken-authorisation finding whoever asks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from ledger.scan.project import Project, walk
from ledger.scan.values import call_name, dotted

PRINCIPAL_TABLES = frozenset(
    {"user", "account", "tenant", "organization", "organisation", "org", "team", "customer",
     "workspace", "company", "member", "auth_user", "profile", "auth.user", "auth_user_model"}
)  # fmt: skip
OWNER_FIELDS = frozenset(
    {"owner", "owner_id", "user", "user_id", "created_by", "created_by_id", "author",
     "author_id", "tenant", "tenant_id", "account", "account_id", "organization_id", "org_id",
     "customer", "customer_id", "workspace_id", "uploaded_by", "uploaded_by_id", "team_id"}
)  # fmt: skip
USER_FIELDS = frozenset(
    {"owner", "owner_id", "user", "user_id", "created_by", "created_by_id", "author",
     "author_id", "account", "account_id", "customer", "customer_id", "uploaded_by",
     "uploaded_by_id", "tenant", "tenant_id"}
)  # fmt: skip
"""Owner columns that name the user (or the tenant a token carries), not a group."""
_FK_CALLS = {"ForeignKey", "OneToOneField"}
_TRAIL_FIELD = re.compile(
    r"^last_|(modified|updated|edited|changed|deleted|approved|reviewed|closed|locked|"
    r"moderated|verified)_by",
)
"""Columns that record who or what last acted on a row (``last_post_user_id``,
``last_post_id``, ``modified_by``), not whose it is: a forum's last poster, or last
post, does not own the forum."""
SECRET_FIELD = re.compile(r"secret|token|(^|_)key$|hash|nonce|signature", re.IGNORECASE)
"""Columns holding a secret the client must present (``secret_key``, ``share_token``): a
row looked up by one is reached through a link that is itself the permission."""


@dataclass
class ModelInfo:
    """What the scanner knows of one ORM model."""

    name: str
    owner_fields: set[str] = field(default_factory=set)
    parents: dict[str, str] = field(default_factory=dict)
    """Foreign-key field to the referenced table or model name (not a principal)."""


@dataclass
class Models:
    """All models of the project, with ownership resolved through parents."""

    by_name: dict[str, ModelInfo] = field(default_factory=dict)
    by_table: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> ModelInfo | None:
        """The model called ``name`` (class name), if defined in the scanned tree."""
        return self.by_name.get(name)

    def parent_models(self, model: ModelInfo) -> dict[str, str]:
        """Foreign-key field to parent model class name, for fields that resolve."""
        out: dict[str, str] = {}
        for fk, target in model.parents.items():
            key = target.lower()
            name = self.by_table.get(key) or self.by_table.get(key.removesuffix("s"))
            if name is None and target in self.by_name:
                name = target
            if name is not None:
                out[fk] = name
        return out

    def owned(self, name: str, depth: int = 0) -> bool:
        """Whether rows of ``name`` belong to a user, directly or through a parent."""
        model = self.by_name.get(name)
        if model is None or depth > 5:
            return False
        if model.owner_fields:
            return True
        return any(self.owned(parent, depth + 1) for parent in self.parent_models(model).values())


def collect_models(project: Project) -> Models:
    """Read every model class in the project."""
    models = Models()
    subclasses: list[ast.ClassDef] = []
    for module in project.modules:
        for cls in module.classes:
            if not _is_model(cls):
                subclasses.append(cls)
                continue
            info = ModelInfo(cls.name)
            models.by_name[cls.name] = info
            models.by_table[cls.name.lower()] = cls.name
            for stmt in cls.body:
                _read_field(stmt, info, models)
    _inherit(subclasses, models)
    return models


def _inherit(classes: list[ast.ClassDef], models: Models) -> None:
    """Concrete models built on the project's abstract ones, as Django apps ship them
    (``class Order(AbstractOrder): pass``), with the fields they inherit."""
    for _ in range(3):  # a chain of abstract bases, a level a pass
        added = False
        for cls in classes:
            if cls.name in models.by_name:
                continue
            bases = [models.by_name.get(dotted(b).split(".")[-1]) for b in cls.bases]
            found = [b for b in bases if b is not None]
            if not found:
                continue
            info = ModelInfo(cls.name)
            for base in found:
                info.owner_fields |= base.owner_fields
                info.parents.update(base.parents)
            models.by_name[cls.name] = info
            models.by_table[cls.name.lower()] = cls.name
            for stmt in cls.body:
                _read_field(stmt, info, models)
            added = True
        if not added:
            break


def _is_model(cls: ast.ClassDef) -> bool:
    for base in cls.bases:
        name = dotted(base).split(".")[-1]
        if name.endswith(("Model", "Base")) or name in {"DeclarativeBase", "SQLModel"}:
            return True
    return any(kw.arg == "table" for kw in cls.keywords)


def _read_field(stmt: ast.stmt, info: ModelInfo, models: Models) -> None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target, value = stmt.target, stmt.value
    else:
        return
    if not isinstance(target, ast.Name):
        return
    if target.id == "__tablename__" and isinstance(value, ast.Constant):
        models.by_table[str(value.value).lower()] = info.name
        return
    fk = _foreign_key_target(value)
    if fk is None:
        return
    table = fk
    if "." in fk:
        # "users.id" names a table and column; "auth.User" an app label and a model.
        head, _, tail = fk.rpartition(".")
        table = tail if tail[:1].isupper() else head.split(".")[-1]
    normal = table.lower().removesuffix("s")
    to_principal = "auth_user_model" in fk.lower() or normal in PRINCIPAL_TABLES
    if target.id not in OWNER_FIELDS and _TRAIL_FIELD.search(target.id):
        return  # who or what touched the row last neither owns it nor is its parent
    if to_principal or target.id in OWNER_FIELDS:
        info.owner_fields.add(target.id)
        info.owner_fields.add(target.id.removesuffix("_id"))
        info.owner_fields.add(target.id.removesuffix("_id") + "_id")
    else:
        info.parents[target.id] = table


def _foreign_key_target(value: ast.expr) -> str | None:
    """The referenced table or model of a foreign-key column, if the value declares one."""
    for node in walk(value):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "foreign_key" and isinstance(kw.value, ast.Constant):
                return str(kw.value.value)
        if call_name(node) in _FK_CALLS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return first.value
            return dotted(first) or None
    return None
