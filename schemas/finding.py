"""The finding record: one problem reported by one tool at one place."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas._json import JsonObject

Severity = Literal["critical", "high", "medium", "low", "info"]
"""Severity levels, most severe first."""

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")

Category = Literal["code", "secret", "dependency", "configuration", "dynamic", "runtime"]
"""What kind of evidence a finding is; the report groups by it (CC6.8, CC7.3)."""


class Location(BaseModel):
    """Where a finding was seen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(
        description="Repository-relative path with forward slashes, or a URL or "
        "package coordinate for findings that have no source file."
    )
    start_line: int | None = Field(default=None, ge=1, description="First line, 1-based.")
    end_line: int | None = Field(default=None, ge=1, description="Last line, 1-based.")
    start_column: int | None = Field(default=None, ge=1, description="First column, 1-based.")
    snippet: str | None = Field(
        default=None,
        description="Source text at the location as the tool reported it; secret values "
        "are replaced by a keyed digest before they are recorded.",
    )
    logical: str | None = Field(
        default=None,
        description="Logical location (function, class, route) when the tool names one.",
    )


class Suppression(BaseModel):
    """A tool-reported suppression, recorded as a pending risk acceptance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="How it was suppressed: 'inSource' or 'external' (SARIF).")
    status: str = Field(
        default="accepted",
        description="SARIF suppression status: 'accepted', 'underReview' or 'rejected'.",
    )
    justification: str | None = Field(default=None, description="The reason given, if any.")


class Finding(BaseModel):
    """One result reported by a scanner or a runtime check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str = Field(min_length=1, description="Name of the tool that reported it.")
    rule_id: str = Field(min_length=1, description="The tool's identifier for the rule.")
    severity: Severity = Field(description="Normalised severity.")
    title: str = Field(description="Short, one-line description of the rule or problem.")
    message: str | None = Field(default=None, description="The tool's message for this result.")
    location: Location | None = Field(default=None, description="Where it was found, if anywhere.")
    fingerprint: str | None = Field(
        default=None,
        description="The tool's own stable fingerprint, when it gives one. Identity "
        "uses it only when it is trustworthy within the report.",
    )
    cwe: list[str] = Field(
        default_factory=list, description="CWE identifiers in the form 'CWE-79'."
    )
    category: Category = Field(default="code", description="What kind of evidence this is.")
    help_uri: str | None = Field(default=None, description="Where the rule is documented.")
    suppressions: list[Suppression] = Field(
        default_factory=list, description="Suppressions the tool reported for this result."
    )
    properties: JsonObject = Field(
        default_factory=dict,
        description="Further tool-specific facts. Numbers are exact integers; anything "
        "else numeric is carried as a string.",
    )
