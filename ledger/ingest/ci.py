"""Where an artifact was produced, read from the CI system's environment.

Each provider is recognised by the variable its documentation promises in
every job, and read only through its documented variables:

* GitHub Actions (``GITHUB_ACTIONS=true``): docs.github.com/actions/reference/variables
* GitLab CI (``GITLAB_CI=true``): docs.gitlab.com/ci/variables/predefined_variables
* Jenkins (``JENKINS_URL``): jenkins.io/doc/book/pipeline/jenkinsfile (env vars)
  and the Git plugin's ``GIT_*`` variables
* CircleCI (``CIRCLECI=true``): circleci.com/docs/variables
* Buildkite (``BUILDKITE=true``): buildkite.com/docs/pipelines/environment-variables
* Azure Pipelines (``TF_BUILD=True``): learn.microsoft.com/azure/devops/pipelines/build/variables

Values are untrusted text: they are trimmed and capped, and credentials
embedded in repository URLs (``https://user:token@host/...``) are dropped,
never recorded. A repository given as a Git URL is reduced to its path
(``org/service``), the form GitHub and GitLab give natively, so one
repository has one name whichever CI system ran the scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ledger.errors import InputError
from schemas.artifact import CIContext

_MAX = 1024
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$")


def _get(env: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to a non-blank value, trimmed and capped."""
    for name in names:
        value = env.get(name)
        if value and value.strip():
            return value.strip()[:_MAX]
    return None


def _truthy(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"true", "1", "yes"}


def repository_name(value: str | None) -> str | None:
    """``org/service`` from a Git URL, SCP-like address or plain path; no credentials."""
    if not value:
        return None
    text = value.strip()
    scp = _SCP_LIKE.match(text)
    if scp and "://" not in text:
        path = scp.group("path")
    elif "://" in text:
        try:
            path = urlsplit(text).path
        except ValueError:  # 'Invalid IPv6 URL'; CI variables are not always well formed
            return None
    else:
        path = text
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return path or None


def _strip_ref(ref: str | None) -> str | None:
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/tags/", "origin/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _safe_url(url: str | None) -> str | None:
    """A run URL without any user information."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        if parts.username or parts.password:
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
    except ValueError:  # a bracket that is no IPv6 address, a port out of range
        return None
    return parts.geturl()


def given_run_url(url: str) -> str:
    """A run URL given on the command line, stripped of any user information.

    The refusal does not quote the URL: it may hold a token.
    """
    safe = _safe_url(url)
    if safe is None:
        raise InputError("--run-url: not an absolute http or https URL")
    return safe


def _github(env: Mapping[str, str]) -> CIContext:
    server = _get(env, "GITHUB_SERVER_URL") or "https://github.com"
    repository = _get(env, "GITHUB_REPOSITORY")
    run_id = _get(env, "GITHUB_RUN_ID")
    attempt = _get(env, "GITHUB_RUN_ATTEMPT")
    url = None
    if repository and run_id:
        url = f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
        if attempt and attempt != "1":
            url += f"/attempts/{attempt}"
    # On pull requests GITHUB_REF_NAME is '<n>/merge'; the source branch is GITHUB_HEAD_REF.
    branch = _get(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME") or _strip_ref(_get(env, "GITHUB_REF"))
    return CIContext(
        provider="github-actions",
        repository=repository,
        commit=_get(env, "GITHUB_SHA"),
        branch=branch,
        pipeline_run=f"{run_id}.{attempt}" if run_id and attempt else run_id,
        run_url=_safe_url(url),
    )


def _gitlab(env: Mapping[str, str]) -> CIContext:
    return CIContext(
        provider="gitlab-ci",
        repository=_get(env, "CI_PROJECT_PATH"),
        commit=_get(env, "CI_COMMIT_SHA"),
        branch=_get(
            env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME"
        ),
        pipeline_run=_get(env, "CI_PIPELINE_ID"),
        run_url=_safe_url(_get(env, "CI_JOB_URL", "CI_PIPELINE_URL")),
    )


def _jenkins(env: Mapping[str, str]) -> CIContext:
    return CIContext(
        provider="jenkins",
        repository=repository_name(_get(env, "GIT_URL", "GIT_URL_1")),
        commit=_get(env, "GIT_COMMIT"),
        # Multibranch pipelines set BRANCH_NAME (CHANGE_BRANCH for pull requests);
        # freestyle jobs only have the Git plugin's 'origin/<branch>'.
        branch=_get(env, "CHANGE_BRANCH", "BRANCH_NAME")
        or _strip_ref(_get(env, "GIT_LOCAL_BRANCH", "GIT_BRANCH")),
        pipeline_run=_get(env, "BUILD_TAG", "BUILD_NUMBER"),
        run_url=_safe_url(_get(env, "BUILD_URL")),
    )


def _circleci(env: Mapping[str, str]) -> CIContext:
    user, name = _get(env, "CIRCLE_PROJECT_USERNAME"), _get(env, "CIRCLE_PROJECT_REPONAME")
    repository = (
        f"{user}/{name}" if user and name else repository_name(_get(env, "CIRCLE_REPOSITORY_URL"))
    )
    return CIContext(
        provider="circleci",
        repository=repository,
        commit=_get(env, "CIRCLE_SHA1"),
        branch=_get(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
        pipeline_run=_get(env, "CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
        run_url=_safe_url(_get(env, "CIRCLE_BUILD_URL")),
    )


def _buildkite(env: Mapping[str, str]) -> CIContext:
    url = _get(env, "BUILDKITE_BUILD_URL")
    job = _get(env, "BUILDKITE_JOB_ID")
    return CIContext(
        provider="buildkite",
        repository=repository_name(_get(env, "BUILDKITE_REPO")),
        commit=_get(env, "BUILDKITE_COMMIT"),
        branch=_get(env, "BUILDKITE_BRANCH"),
        pipeline_run=_get(env, "BUILDKITE_BUILD_ID", "BUILDKITE_BUILD_NUMBER"),
        run_url=_safe_url(f"{url}#{job}" if url and job else url),
    )


def _azure(env: Mapping[str, str]) -> CIContext:
    collection = _get(env, "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
    project = _get(env, "SYSTEM_TEAMPROJECT")
    build_id = _get(env, "BUILD_BUILDID")
    url = None
    if collection and project and build_id:
        url = f"{collection.rstrip('/')}/{project}/_build/results?buildId={build_id}"
    branch = _strip_ref(_get(env, "SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH"))
    return CIContext(
        provider="azure-pipelines",
        repository=repository_name(_get(env, "BUILD_REPOSITORY_NAME"))
        or repository_name(_get(env, "BUILD_REPOSITORY_URI")),
        commit=_get(env, "BUILD_SOURCEVERSION"),
        branch=branch or _get(env, "BUILD_SOURCEBRANCHNAME"),
        pipeline_run=build_id,
        run_url=_safe_url(url),
    )


_PROVIDERS: tuple[
    tuple[Callable[[Mapping[str, str]], bool], Callable[..., CIContext], str], ...
] = (
    # (detected?, read the context, the variable naming the checkout directory)
    (lambda env: _truthy(env, "GITHUB_ACTIONS"), _github, "GITHUB_WORKSPACE"),
    (lambda env: _truthy(env, "GITLAB_CI"), _gitlab, "CI_PROJECT_DIR"),
    (lambda env: _truthy(env, "BUILDKITE"), _buildkite, "BUILDKITE_BUILD_CHECKOUT_PATH"),
    # CircleCI's may start with '~'.
    (lambda env: _truthy(env, "CIRCLECI"), _circleci, "CIRCLE_WORKING_DIRECTORY"),
    (lambda env: _truthy(env, "TF_BUILD"), _azure, "BUILD_SOURCESDIRECTORY"),
    (lambda env: bool(_get(env, "JENKINS_URL")), _jenkins, "WORKSPACE"),
)
_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[/\\])")


def ci_from_env(env: Mapping[str, str]) -> CIContext:
    """The CI context of the current job, or an empty one outside CI."""
    for detected, read, _ in _PROVIDERS:
        if detected(env):
            context: CIContext = read(env)
            return context
    return CIContext()


def repository_root(env: Mapping[str, str], cwd: Path | None) -> str | None:
    """The absolute directory that artifact paths are made relative to.

    Scanners given an absolute target write absolute paths, and a CI
    workspace's path changes with the runner (Jenkins appends ``@2`` for a
    concurrent build): left as they are, the same finding would get a new
    identity on another runner. The detected CI provider's checkout
    directory is used, otherwise the Git work tree holding ``cwd`` (None when the
    current directory is gone). A ``~`` stands for ``$HOME`` only on its own or
    before a ``/``: another user's ``~name`` is not guessed.
    """
    for detected, _, variable in _PROVIDERS:
        if detected(env):
            value = _get(env, variable)
            if value and (value == "~" or value.startswith("~/")):
                home = _get(env, "HOME")
                value = home + value[1:] if home else None
            if value and _ABSOLUTE.match(value):
                return value
            break
    if cwd is None:
        return None
    for directory in (cwd, *cwd.parents):
        try:
            if (directory / ".git").exists():  # a directory, or a worktree's file
                return str(directory)
        except OSError:  # a directory above that may no longer be searched
            return None
    return None
