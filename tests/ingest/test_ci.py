from __future__ import annotations

import pytest

from ledger.ingest.ci import ci_from_env


def test_github_actions_pull_request():
    ctx = ci_from_env(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/service",
            "GITHUB_SHA": "a" * 40,
            "GITHUB_REF_NAME": "12/merge",
            "GITHUB_HEAD_REF": "feature/x",
            "GITHUB_RUN_ID": "99",
            "GITHUB_RUN_ATTEMPT": "2",
            "GITHUB_SERVER_URL": "https://github.com",
        }
    )
    assert (ctx.provider, ctx.repository, ctx.branch) == (
        "github-actions",
        "acme/service",
        "feature/x",
    )
    assert ctx.pipeline_run == "99.2"
    assert ctx.run_url == "https://github.com/acme/service/actions/runs/99/attempts/2"


def test_gitlab():
    ctx = ci_from_env(
        {
            "GITLAB_CI": "true",
            "CI_PROJECT_PATH": "group/sub/project",
            "CI_COMMIT_SHA": "b" * 40,
            "CI_COMMIT_REF_NAME": "main",
            "CI_PIPELINE_ID": "1234",
            "CI_JOB_URL": "https://gitlab.example.com/group/sub/project/-/jobs/5",
        }
    )
    assert ctx.repository == "group/sub/project" and ctx.branch == "main"
    assert ctx.pipeline_run == "1234" and ctx.run_url.endswith("/jobs/5")


def test_jenkins_drops_credentials_and_origin_prefix():
    ctx = ci_from_env(
        {
            "JENKINS_URL": "https://ci.example.com/",
            "GIT_URL": "https://user:s3cret@git.example.com/acme/service.git",
            "GIT_COMMIT": "c" * 40,
            "GIT_BRANCH": "origin/release",
            "BUILD_TAG": "jenkins-service-17",
            "BUILD_URL": "https://bot:tok@ci.example.com/job/service/17/",
        }
    )
    assert ctx.repository == "acme/service" and ctx.branch == "release"
    assert ctx.run_url == "https://ci.example.com/job/service/17/"
    assert "s3cret" not in ctx.model_dump_json() and "tok" not in (ctx.run_url or "")


def test_circleci():
    ctx = ci_from_env(
        {
            "CIRCLECI": "true",
            "CIRCLE_PROJECT_USERNAME": "acme",
            "CIRCLE_PROJECT_REPONAME": "service",
            "CIRCLE_SHA1": "d" * 40,
            "CIRCLE_BRANCH": "main",
            "CIRCLE_WORKFLOW_ID": "wf-1",
            "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/service/8",
        }
    )
    assert (ctx.repository, ctx.pipeline_run) == ("acme/service", "wf-1")


def test_buildkite_scp_repo_and_job_url():
    ctx = ci_from_env(
        {
            "BUILDKITE": "true",
            "BUILDKITE_REPO": "git@github.com:acme/service.git",
            "BUILDKITE_COMMIT": "e" * 40,
            "BUILDKITE_BRANCH": "main",
            "BUILDKITE_BUILD_ID": "uuid-1",
            "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/service/builds/3",
            "BUILDKITE_JOB_ID": "job-9",
        }
    )
    assert ctx.repository == "acme/service"
    assert ctx.run_url == "https://buildkite.com/acme/service/builds/3#job-9"


def test_azure_pipelines():
    ctx = ci_from_env(
        {
            "TF_BUILD": "True",
            "BUILD_REPOSITORY_NAME": "acme/service",
            "BUILD_SOURCEVERSION": "f" * 40,
            "BUILD_SOURCEBRANCH": "refs/heads/feature/y",
            "BUILD_BUILDID": "77",
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
            "SYSTEM_TEAMPROJECT": "Platform",
        }
    )
    assert ctx.branch == "feature/y" and ctx.pipeline_run == "77"
    assert ctx.run_url == "https://dev.azure.com/acme/Platform/_build/results?buildId=77"


def test_outside_ci_is_empty():
    assert ci_from_env({"HOME": "/root"}).provider is None


@pytest.mark.parametrize(
    "env",
    [
        {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com\x1b[31m"},
        {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://u:p@github.com:99999999"},
        {"GITLAB_CI": "true", "CI_PROJECT_URL": "https://[x", "CI_PIPELINE_URL": "https://["},
        {"JENKINS_URL": "x", "GIT_URL": "https://[x/y.git", "BUILD_URL": "http://h:x/"},
        {
            "CIRCLECI": "true",
            "CIRCLE_REPOSITORY_URL": "https://[x",
            "CIRCLE_BUILD_URL": "http://[/",
        },
        {
            "BUILDKITE": "true",
            "BUILDKITE_REPO": "https://[x/y.git",
            "BUILDKITE_BUILD_URL": "http://[",
        },
        {
            "TF_BUILD": "true",
            "BUILD_REPOSITORY_URI": "https://[x",
            "SYSTEM_COLLECTIONURI": "http://[",
        },
    ],
)
def test_malformed_urls_in_the_environment_are_dropped(env):
    # urlsplit raises ValueError on these; the context must still be read.
    env = {"GITHUB_REPOSITORY": "acme/service", "GITHUB_RUN_ID": "1", **env}
    ctx = ci_from_env({**env, "SYSTEM_TEAMPROJECT": "p", "BUILD_BUILDID": "1"})
    assert ctx.provider is not None
    assert ctx.run_url is None or "[" not in ctx.run_url


def test_repository_root_is_the_ci_checkout(tmp_path):
    from ledger.ingest.ci import repository_root

    jenkins = {"JENKINS_URL": "https://ci.example", "WORKSPACE": "/var/jenkins/ws/app@2"}
    assert repository_root(jenkins, tmp_path) == "/var/jenkins/ws/app@2"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/home/runner/work/app/app"}
    assert repository_root(github, tmp_path) == "/home/runner/work/app/app"
    circle = {"CIRCLECI": "true", "CIRCLE_WORKING_DIRECTORY": "~/project", "HOME": "/home/ci"}
    assert repository_root(circle, tmp_path) == "/home/ci/project"
    azure = {"TF_BUILD": "True", "BUILD_SOURCESDIRECTORY": "D:\\a\\1\\s"}
    assert repository_root(azure, tmp_path) == "D:\\a\\1\\s"


def test_repository_root_outside_ci_is_the_enclosing_git_work_tree(tmp_path):
    from ledger.ingest.ci import repository_root

    assert repository_root({}, tmp_path) is None
    (tmp_path / ".git").mkdir()
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert repository_root({}, tmp_path / "src" / "pkg") == str(tmp_path)
    # A CI variable that is not an absolute path is no root; the work tree is.
    gitlab = {"GITLAB_CI": "true", "CI_PROJECT_DIR": "relative/dir"}
    assert repository_root(gitlab, tmp_path / "src") == str(tmp_path)


def test_repository_root_of_odd_checkouts(tmp_path):
    from ledger.ingest.ci import repository_root

    # Another user's home is not guessed from '~name'; the work tree is used instead.
    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/app\n")  # a worktree
    circle = {"CIRCLECI": "true", "CIRCLE_WORKING_DIRECTORY": "~other/project", "HOME": "/h"}
    assert repository_root(circle, tmp_path / "src") == str(tmp_path)
    circle["CIRCLE_WORKING_DIRECTORY"] = "~"
    assert repository_root(circle, tmp_path) == "/h"
    # A current directory removed under the process has no work tree.
    assert repository_root({}, None) is None
