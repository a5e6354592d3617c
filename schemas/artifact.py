"""The artifact record: one file handed to trailseal, and where it came from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CIContext(BaseModel):
    """The CI run that produced an artifact, read from the environment or given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str | None = Field(default=None, description="CI system, e.g. 'github-actions'.")
    repository: str | None = Field(default=None, description="Repository, e.g. 'org/service'.")
    commit: str | None = Field(default=None, description="Commit the scan ran on.")
    branch: str | None = Field(default=None, description="Branch or ref name.")
    pipeline_run: str | None = Field(default=None, description="Pipeline run identifier.")
    run_url: str | None = Field(default=None, description="Link to the CI job or run.")


class Artifact(BaseModel):
    """A scanner or runtime artifact as ingested: its digest and provenance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the raw bytes, lowercase hex."
    )
    size: int = Field(ge=0, description="Size of the raw file in bytes.")
    name: str = Field(description="The file name as it was given on the command line.")
    format: str = Field(description="Input format, e.g. 'sarif', 'bandit', 'gitleaks'.")
    tool: str = Field(description="Name of the tool that wrote the artifact.")
    tool_version: str | None = Field(default=None, description="That tool's version.")
    category: str | None = Field(
        default=None,
        description="Automation category distinguishing runs of one tool on one "
        "repository (SARIF automationDetails.id up to its last '/').",
    )
    ci: CIContext = Field(default_factory=CIContext, description="CI provenance.")
    successful: bool = Field(
        default=True,
        description="False when the tool reported that its run failed "
        "(SARIF invocations[].executionSuccessful).",
    )
    complete: bool = Field(
        default=True,
        description="False when the artifact covers only part of a scan; an "
        "incomplete or failed run never marks findings fixed.",
    )
    results: int = Field(ge=0, description="Number of results read from the artifact.")
