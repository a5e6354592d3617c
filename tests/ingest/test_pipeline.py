"""The finding lifecycle through ``ingest_file``, on SQLite and PostgreSQL.

Each transition is an entry: ``new``, ``seen``, ``fixed`` (only when absent
from a later complete and successful run of the same scope) and
``reopened``. Artifacts are small SARIF logs written per test, so each
scenario shows exactly what changed between two runs.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ingest_support import FIXTURES, REDACTION_KEY
from typer.testing import CliRunner

from cli.main import app
from ledger.ingest.ci import ci_from_env
from ledger.ingest.pipeline import Outcome, ingest_file
from ledger.ledger import Ledger, decode_body
from ledger.note import NoteSigner
from ledger.store import tables
from ledger.verify import Verifier
from schemas.artifact import CIContext

REPO = "acme/shop"
CI = CIContext(repository=REPO, commit="0" * 40)
DIGEST = re.compile(r"hmac-sha256:[0-9a-f]{64}")


def sarif_log(
    results: list[dict[str, Any]],
    *,
    tool: str = "checker",
    version: str = "1.0",
    category: str | None = None,
    successful: bool | None = None,
    error_notification: bool = False,
    with_results: bool = True,
) -> dict[str, Any]:
    """One run of ``tool``; the run's metadata as each scenario needs it."""
    run: dict[str, Any] = {"tool": {"driver": {"name": tool, "version": version}}}
    if with_results:
        run["results"] = results
    if category is not None:
        run["automationDetails"] = {"id": f"{category}/run-1"}
    if successful is not None or error_notification:
        invocation: dict[str, Any] = {"executionSuccessful": successful is not False}
        if error_notification:
            invocation["toolExecutionNotifications"] = [
                {"level": "error", "message": {"text": "parser crashed on src/x.py"}}
            ]
        run["invocations"] = [invocation]
    return {"version": "2.1.0", "runs": [run]}


def res(
    rule: str,
    path: str,
    snippet: str,
    *,
    line: int = 1,
    suppressed: bool = False,
    level: str = "error",
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ruleId": rule,
        "level": level,
        "message": {"text": f"{rule} in {path}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line, "snippet": {"text": snippet}},
                }
            }
        ],
    }
    if suppressed:
        found["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": "test code only"}
        ]
    return found


class Runner:
    """Writes each log to a new file and ingests it into one ledger."""

    def __init__(self, ledger: Ledger, signer: NoteSigner, directory: Path) -> None:
        self.ledger = ledger
        self.signer = signer
        self.directory = directory
        self.count = 0

    def ingest(self, log: dict[str, Any] | Path, ci: CIContext = CI, **kwargs: Any) -> Outcome:
        if isinstance(log, Path):
            path = log
        else:
            self.count += 1
            path = self.directory / f"run_{self.count}.sarif"
            # A log-level property makes each run's bytes differ, as real runs' do.
            log = {**log, "properties": {"run": self.count}}
            path.write_text(json.dumps(log, indent=1), encoding="utf-8")
        return ingest_file(
            self.ledger, self.signer, path, ci=ci, redaction_key=REDACTION_KEY, **kwargs
        )

    def batch(self, outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
        """(kind, body) of each entry the outcome's batch wrote."""
        assert outcome.first_seq is not None
        stop = outcome.first_seq + outcome.entries
        rows = self.ledger.entries(outcome.first_seq, stop)
        return [(row.kind, decode_body(row) or {}) for row in rows]

    def events(self, outcome: Outcome) -> Counter[str]:
        found: Counter[str] = Counter()
        for kind, body in self.batch(outcome):
            if kind in ("finding", "finding-fixed"):
                found[body["event"]] += 1
            elif kind == "acceptance":
                found["acceptance"] += 1
        return found

    def states(self) -> dict[tuple[str, str], str]:
        """(rule_id, repository) -> status of every finding in the derived table."""
        with self.ledger.store.reading() as conn:
            rows = self.ledger.store.finding_rows(conn, None)
            return {(r["rule_id"], r["repository"]): r["status"] for r in rows}

    def entry_count(self) -> int:
        with self.ledger.store.reading() as conn:
            return self.ledger.store.entry_count(conn)

    def verify(self) -> None:
        result = Verifier(self.signer.verifier).verify(self.ledger)
        assert result.ok, result.problems


@pytest.fixture
def runner(ledger: Ledger, primary_key: NoteSigner, tmp_path: Path) -> Runner:
    return Runner(ledger, primary_key, tmp_path)


def test_lifecycle_new_seen_fixed_reopened(runner: Runner):
    a = res("A", "src/a.py", "eval(request.args['q'])")
    b = res("B", "src/b.py", "subprocess.call(cmd, shell=True)")

    first = runner.ingest(sarif_log([a, b]))
    assert first.status == "recorded"
    assert runner.events(first) == {"new": 2}
    assert runner.states() == {("A", REPO): "open", ("B", REPO): "open"}

    second = runner.ingest(sarif_log([a, b], version="1.1"))
    assert runner.events(second) == {"seen": 2}

    third = runner.ingest(sarif_log([a]))
    assert runner.events(third) == {"seen": 1, "fixed": 1}
    assert runner.states() == {("A", REPO): "open", ("B", REPO): "fixed"}

    fourth = runner.ingest(sarif_log([a, b]))
    assert runner.events(fourth) == {"seen": 1, "reopened": 1}
    assert runner.states() == {("A", REPO): "open", ("B", REPO): "reopened"}

    # A reopened finding can be fixed again, and stays fixed while absent.
    fifth = runner.ingest(sarif_log([a], version="2.0"))
    assert runner.events(fifth) == {"seen": 1, "fixed": 1}
    sixth = runner.ingest(sarif_log([a], version="2.1"))
    assert runner.events(sixth) == {"seen": 1}
    runner.verify()


def test_each_transition_is_an_entry_of_its_own(runner: Runner):
    a = res("A", "src/a.py", "eval(x)")
    runner.ingest(sarif_log([a]))
    fixed = runner.ingest(sarif_log([]))
    batch = runner.batch(fixed)
    assert [kind for kind, _ in batch] == ["finding-fixed", "artifact"]
    body = batch[0][1]
    assert body["event"] == "fixed"
    assert body["scope"]["repository"] == REPO and body["scope"]["tool"] == "checker"
    assert body["artifact"] == fixed.sha256
    artifact = batch[1][1]
    assert artifact["runs"][0]["closes_findings"] is True
    assert artifact["artifact"]["sha256"] == fixed.sha256


@pytest.mark.parametrize(
    "failing",
    [
        {"successful": False},
        {"error_notification": True},
        {"with_results": False},
    ],
    ids=["execution-unsuccessful", "error-notification", "no-results-array"],
)
def test_a_failed_or_incomplete_run_closes_nothing(runner: Runner, failing: dict[str, Any]):
    a = res("A", "src/a.py", "eval(x)")
    b = res("B", "src/b.py", "pickle.loads(data)")
    runner.ingest(sarif_log([a, b]))

    partial = runner.ingest(sarif_log([a] if failing.get("with_results", True) else [], **failing))
    assert partial.status == "recorded"
    assert runner.events(partial)["fixed"] == 0
    assert runner.states() == {("A", REPO): "open", ("B", REPO): "open"}
    artifact = runner.batch(partial)[-1][1]
    assert artifact["runs"][0]["closes_findings"] is False

    # The next complete, successful run without B does close it.
    complete = runner.ingest(sarif_log([a], successful=True))
    assert runner.events(complete)["fixed"] == 1
    runner.verify()


def test_each_warning_is_reported_once(runner: Runner):
    # The reader reports the run's warning both on the run and on the report.
    outcome = runner.ingest(sarif_log([res("A", "src/a.py", "eval(x)")], successful=False))
    assert outcome.warnings.count("run of checker reports executionSuccessful=false") == 1
    bandit = runner.ingest(FIXTURES / "bandit_with_a_file_it_could_not_parse.json")
    assert bandit.warnings == ["bandit could not scan 1 file(s); the run is partial"]


def test_a_line_shift_or_reformatting_keeps_the_identity(runner: Runner):
    before = res("A", "src/a.py", "password = request.args.get('pw')", line=10)
    first = runner.ingest(sarif_log([before]))
    shifted = res("A", "./src/a.py", "password   =  request.args.get('pw')\n", line=42)
    second = runner.ingest(sarif_log([shifted]))
    assert runner.events(second) == {"seen": 1}
    identities = {
        body["identity"]
        for outcome in (first, second)
        for kind, body in runner.batch(outcome)
        if kind == "finding"
    }
    assert len(identities) == 1
    assert list(runner.states().values()) == ["open"]


def _bandit_report(line: int, indent: int) -> dict[str, Any]:
    """A Bandit JSON report of one hard-coded empty password at ``line``."""
    code = f"{line - 1}{' ' * (indent + 1)}username = credentials\n"
    code += f"{line}{' ' * (indent + 1)}password = ''\n"
    return {
        "errors": [],
        "generated_at": "2026-01-01T00:00:00Z",
        "metrics": {},
        "results": [
            {
                "code": code,
                "filename": "lib/net/urls.py",
                "issue_confidence": "MEDIUM",
                "issue_cwe": {"id": 259},
                "issue_severity": "LOW",
                "issue_text": "Possible hardcoded password: ''",
                "line_number": line,
                "line_range": [line],
                "test_id": "B105",
                "test_name": "hardcoded_password_string",
            }
        ],
    }


def test_a_reindented_secret_keeps_its_identity(runner: Runner, tmp_path: Path):
    # As in ansible-core 2.16 to 2.17: a function's body moved out of a class,
    # so `password = ''` went from line 1474 at 20 spaces to line 655 at 12.
    # The digest recorded in place of the line must not see the indentation.
    outcomes = []
    for line, indent in ((1474, 20), (655, 12)):
        path = tmp_path / f"bandit_{line}.json"
        path.write_text(json.dumps(_bandit_report(line, indent)), encoding="utf-8")
        outcomes.append(runner.ingest(path))
    assert runner.events(outcomes[1]) == {"seen": 1}
    snippets = [
        body["finding"]["location"]["snippet"]
        for outcome in outcomes
        for kind, body in runner.batch(outcome)
        if kind == "finding"
    ]
    assert len(set(snippets)) == 1 and DIGEST.fullmatch(snippets[0])


def test_a_reindented_secret_in_sarif_keeps_its_identity(runner: Runner):
    rule = {"id": "generic-api-key", "properties": {"tags": ["secret"]}}
    outcomes = []
    for line, snippet in ((8, "        api_key = 'x1y2z3'\n"), (30, "    api_key = 'x1y2z3'")):
        log = sarif_log([res("generic-api-key", "app/settings.py", snippet, line=line)])
        log["runs"][0]["tool"]["driver"]["rules"] = [rule]
        outcomes.append(runner.ingest(log))
    assert runner.events(outcomes[1]) == {"seen": 1}


def test_a_changed_snippet_is_a_different_finding(runner: Runner):
    runner.ingest(sarif_log([res("A", "src/a.py", "eval(x)")]))
    changed = runner.ingest(sarif_log([res("A", "src/a.py", "exec(y)")]))
    assert runner.events(changed) == {"new": 1, "fixed": 1}


def test_another_repository_is_another_scope(runner: Runner):
    a = res("A", "src/a.py", "eval(x)")
    runner.ingest(sarif_log([a]))
    other = CIContext(repository="acme/billing", commit="1" * 40)
    elsewhere = runner.ingest(sarif_log([]), ci=other)
    assert runner.events(elsewhere) == {}
    there = runner.ingest(sarif_log([a], version="9"), ci=other)
    assert runner.events(there) == {"new": 1}
    assert runner.states() == {("A", REPO): "open", ("A", "acme/billing"): "open"}


def test_another_category_is_another_scope(runner: Runner):
    a = res("A", "src/a.py", "eval(x)")
    b = res("B", "api/b.py", "yaml.load(s)")
    runner.ingest(sarif_log([a], category="backend"))
    runner.ingest(sarif_log([b], category="api"))
    # A complete run of 'api' without B closes B, and leaves 'backend' alone.
    api = runner.ingest(sarif_log([], category="api", version="2"))
    assert runner.events(api) == {"fixed": 1}
    assert runner.states() == {("A", REPO): "open", ("B", REPO): "fixed"}
    # The same rule and text in another category is a separate finding.
    again = runner.ingest(sarif_log([a], category="api", version="3"))
    assert runner.events(again) == {"new": 1}
    runner.verify()


def test_another_tool_is_another_scope(runner: Runner):
    runner.ingest(sarif_log([res("A", "src/a.py", "eval(x)")], tool="one"))
    other = runner.ingest(sarif_log([], tool="two"))
    assert runner.events(other) == {}
    assert list(runner.states().values()) == ["open"]


def test_the_same_artifact_again_is_a_no_op(runner: Runner, tmp_path: Path):
    path = tmp_path / "scan.sarif"
    path.write_text(json.dumps(sarif_log([res("A", "src/a.py", "eval(x)")])), encoding="utf-8")
    first = runner.ingest(path)
    entries = runner.entry_count()
    head = runner.ledger.head()

    again = runner.ingest(path)
    assert (again.status, again.entries, again.results) == ("duplicate", 0, 0)
    assert again.sha256 == first.sha256
    assert again.first_seq == first.first_seq + first.entries - 1  # the artifact entry
    assert runner.entry_count() == entries
    assert runner.ledger.head() == head

    # A copy under another name is still the same bytes.
    copy = tmp_path / "renamed.sarif"
    copy.write_bytes(path.read_bytes())
    assert runner.ingest(copy).status == "duplicate"

    # The same bytes for another repository are that repository's evidence.
    other = runner.ingest(path, ci=CIContext(repository="acme/billing", commit="0" * 40))
    assert other.status == "recorded"
    assert runner.events(other) == {"new": 1}
    runner.verify()


def test_a_suppression_becomes_one_pending_acceptance(runner: Runner):
    a = res("A", "tests/test_a.py", "assert token == 'x'", suppressed=True)
    first = runner.ingest(sarif_log([a]))
    batch = runner.batch(first)
    acceptances = [body for kind, body in batch if kind == "acceptance"]
    assert len(acceptances) == 1
    assert acceptances[0]["suppression"] == {
        "kind": "external",
        "status": "accepted",
        "justification": "test code only",
    }
    finding = next(body for kind, body in batch if kind == "finding")
    assert acceptances[0]["identity"] == finding["identity"]

    second = runner.ingest(sarif_log([a], version="2"))
    assert runner.events(second) == {"seen": 1}
    with runner.ledger.store.reading() as conn:
        rows = list(runner.ledger.store.finding_rows(conn, None))
    # Pending, still open: never silently a false positive or fixed.
    assert [(r["status"], r["acceptance"]) for r in rows] == [("open", "pending")]
    runner.verify()


def test_a_suppression_seen_later_is_accepted_then(runner: Runner):
    runner.ingest(sarif_log([res("A", "src/a.py", "md5(x)")]))
    later = runner.ingest(sarif_log([res("A", "src/a.py", "md5(x)", suppressed=True)]))
    assert runner.events(later) == {"seen": 1, "acceptance": 1}


def test_partial_fingerprints_of_one_author_do_not_join_two_leaks(runner: Runner):
    # Gitleaks writes commit, author, e-mail, date and message as partial
    # fingerprints; a new leak by the same author is a new finding.
    author = {"author": "John Doe", "email": "jd@example.com", "commitSha": "0" * 16}
    first = res("aws-access-key", "auth.py", "AKIA-one")
    first["partialFingerprints"] = author
    second = res("aws-access-key", "other/config.py", "AKIA-two")
    second["partialFingerprints"] = author
    runner.ingest(sarif_log([first], tool="gitleaks"))
    later = runner.ingest(sarif_log([second], tool="gitleaks"))
    assert runner.events(later) == {"new": 1, "fixed": 1}


def test_a_rejected_suppression_is_no_acceptance(runner: Runner):
    # As in the SARIF tutorials' Suppressions.sarif: a result whose only
    # suppression was rejected is not suppressed; with one under review, it is.
    rejected = res("A", "src/a.py", "md5(x)")
    rejected["suppressions"] = [{"kind": "external", "status": "rejected"}]
    reviewed = res("B", "src/b.py", "md5(y)")
    reviewed["suppressions"] = [
        {"kind": "external", "status": "rejected"},
        {"kind": "external", "status": "underReview"},
    ]
    outcome = runner.ingest(sarif_log([rejected, reviewed]))
    acceptances = [body for kind, body in runner.batch(outcome) if kind == "acceptance"]
    assert [a["suppression"]["status"] for a in acceptances] == ["underReview"]


# -- secrets ----------------------------------------------------------------------


def _raw_secrets() -> list[str]:
    """Every secret value the secret fixtures hold, read from the fixtures themselves."""
    values: set[str] = set()
    v8 = json.loads((FIXTURES / "gitleaks_v8_four_leaks.json").read_text(encoding="utf-8"))
    for leak in v8:
        values.update(leak[k] for k in ("Secret", "Match") if leak.get(k))
    v7 = json.loads((FIXTURES / "gitleaks_v7_no_git_three_leaks.json").read_text(encoding="utf-8"))
    for leak in v7:
        values.add(leak["offender"])
        values.add(leak["offender"].split("'")[-1])
    trivy = json.loads((FIXTURES / "trivy_repo_two_secrets.json").read_text(encoding="utf-8"))
    for target in trivy["Results"]:
        for secret in target.get("Secrets") or []:
            values.add(secret["Match"])
            for line in secret["Code"]["Lines"]:
                # The unmasked token on a context line of the report.
                values.update(re.findall(r"ghp_[A-Za-z0-9]{36}", line["Content"]))
    assert "ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" in values
    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" in values
    return sorted(values)


SECRET_FIXTURES = (
    "gitleaks_v8_four_leaks.json",
    "gitleaks_v7_no_git_three_leaks.json",
    "trivy_repo_two_secrets.json",
)


def _dump(ledger: Ledger) -> list[str]:
    """Every value of every column of every table, as text (bytes decoded leniently)."""
    values: list[str] = []
    with ledger.store.engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                for column in row:
                    value = bytes(column) if isinstance(column, memoryview) else column
                    if isinstance(value, bytes):
                        values.append(value.decode("utf-8", "replace"))
                        values.append(value.hex())
                    else:
                        values.append(str(value))
    return values


def test_secrets_are_never_stored_raw(runner: Runner):
    for name in SECRET_FIXTURES:
        assert runner.ingest(FIXTURES / name).status == "recorded"
    dump = _dump(runner.ledger)
    assert any(DIGEST.search(value) for value in dump)
    for secret in _raw_secrets():
        leaks = [value[:80] for value in dump if secret in value]
        assert not leaks, f"{secret!r} stored in {leaks}"
        assert secret.encode().hex() not in "".join(v for v in dump if len(v) % 2 == 0)


def test_the_same_secret_gives_the_same_digest_across_runs(runner: Runner, tmp_path: Path):
    def digests(outcome: Outcome) -> list[str]:
        found = []
        for kind, body in runner.batch(outcome):
            if kind == "finding":
                found.extend(DIGEST.findall(json.dumps(body["finding"], sort_keys=True)))
        return found

    original = FIXTURES / "gitleaks_v8_four_leaks.json"
    first = runner.ingest(original)
    # The next run's report: same leaks, written differently (so not a duplicate).
    rewritten = tmp_path / "gitleaks_next_run.json"
    rewritten.write_text(json.dumps(json.loads(original.read_text(encoding="utf-8"))))
    second = runner.ingest(rewritten)
    assert second.status == "recorded"
    assert runner.events(second) == {"seen": 4}
    assert digests(first) and digests(first) == digests(second)
    # The two findings with the same leaked value share its digest.
    assert len(set(digests(first))) < len(digests(first))


# -- CI context -------------------------------------------------------------------


GITHUB_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_SHA": "a" * 40,
    "GITHUB_REF_NAME": "main",
    "GITHUB_RUN_ID": "12345",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SERVER_URL": "https://github.com",
}


def _artifact_ci(runner: Runner, outcome: Outcome) -> dict[str, Any]:
    kind, body = runner.batch(outcome)[-1]
    assert kind == "artifact"
    return dict(body["artifact"]["ci"])


def test_ci_context_from_github_actions(runner: Runner, monkeypatch: pytest.MonkeyPatch):
    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    outcome = runner.ingest(
        sarif_log([res("A", "src/a.py", "eval(x)")]), ci=ci_from_env(os.environ)
    )
    assert _artifact_ci(runner, outcome) == {
        "provider": "github-actions",
        "repository": "acme/shop",
        "commit": "a" * 40,
        "branch": "main",
        "pipeline_run": "12345.2",
        "run_url": "https://github.com/acme/shop/actions/runs/12345/attempts/2",
    }
    # The repository from CI is the finding's scope.
    assert list(runner.states()) == [("A", "acme/shop")]


def test_cli_overrides_of_the_ci_context(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``--repo`` and ``--commit`` win over what the CI environment says."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / "home"))
    for name, value in GITHUB_ENV.items():
        monkeypatch.setenv(name, value)
    cli = CliRunner()
    db = db_url
    assert cli.invoke(app, ["init", "--db", db]).exit_code == 0
    path = tmp_path / "scan.sarif"
    path.write_text(json.dumps(sarif_log([res("A", "src/a.py", "eval(x)")])), encoding="utf-8")
    out = cli.invoke(
        app,
        ["ingest", "--json", "--db", db, "--repo", "acme/fork", "--commit", "b" * 40, str(path)],
    )
    assert out.exit_code == 0, out.stderr
    opened = Ledger.open(db)
    try:
        artifact = next(decode_body(r) for r in opened.entries() if r.kind == "artifact")
        assert artifact is not None
        ci = artifact["artifact"]["ci"]
        assert (ci["repository"], ci["commit"]) == ("acme/fork", "b" * 40)
        assert (ci["provider"], ci["branch"]) == ("github-actions", "main")
    finally:
        opened.store.engine.dispose()


# -- derived state ---------------------------------------------------------------


def test_the_findings_table_is_what_the_cli_reports(
    runner: Runner, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    a = res("A", "src/a.py", "eval(x)")
    b = res("B", "src/b.py", "md5(y)", level="note", suppressed=True)
    runner.ingest(sarif_log([a, b]))
    runner.ingest(sarif_log([a], version="2"))
    runner.ingest(FIXTURES / "bandit_toy_app.sarif")
    runner.ingest(FIXTURES / "gitleaks_v8_four_leaks.json")

    with runner.ledger.store.engine.connect() as conn:
        table = [dict(row._mapping) for row in conn.execute(sa.select(tables.findings))]
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["findings", "--json", "--db", db_url])
    assert out.exit_code == 0, out.stderr
    reported = [json.loads(line) for line in out.stdout.splitlines()]

    def key(row: dict[str, Any]) -> tuple[str, str]:
        return row["scope"], row["identity"]

    assert len(reported) == len(table) == 2 + 13 + 4
    assert sorted(reported, key=key) == sorted(table, key=key)
    statuses = Counter((r["status"], r["acceptance"]) for r in reported)
    assert statuses == {("open", "none"): 18, ("fixed", "pending"): 1}
    runner.verify()


@pytest.mark.parametrize("size", ["small", "forked"])
def test_a_file_written_while_it_is_read_is_refused(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: str
):
    # The scanner is still appending when the results are read: the bytes
    # read are not those hashed, so nothing may be recorded.
    from ledger.errors import InputError
    from ledger.ingest import parallel, pipeline

    count = 10_000 if size == "forked" else 2
    results = [res("A", f"src/m{i}.py", f"eval(x{i})") for i in range(count)]
    path = tmp_path / "growing.sarif"
    path.write_text(json.dumps(sarif_log(results)), encoding="utf-8")
    assert (path.stat().st_size >= parallel.PARALLEL_FROM_BYTES) == (size == "forked")
    opened = pipeline.open_stream

    def open_then_append(*args: Any) -> Any:
        stream = opened(*args)
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n")
        return stream

    monkeypatch.setattr(pipeline, "open_stream", open_then_append)
    before = runner.ledger.head()
    with pytest.raises(InputError, match="changed while it was being read"):
        runner.ingest(path)
    assert runner.ledger.head() == before


@pytest.mark.parametrize("runs", [[], None])
def test_a_log_without_runs_is_recorded_and_closes_nothing(runner: Runner, runs: Any):
    # 3.13.4: an empty 'runs' (nothing to run) or null (the tool failed to
    # start) is valid SARIF; it is evidence of no complete scan.
    first = runner.ingest(sarif_log([res("A", "src/a.py", "eval(x)")]))
    assert first.status == "recorded"
    empty = runner.ingest({"version": "2.1.0", "runs": runs})
    assert (empty.status, empty.results, empty.entries) == ("recorded", 0, 1)
    assert any("no tool run" in w for w in empty.warnings)
    ((kind, body),) = runner.batch(empty)
    assert kind == "artifact" and body["runs"] == []
    artifact = body["artifact"]
    assert (artifact["successful"], artifact["complete"], artifact["tool"]) == (
        False,
        False,
        "none",
    )
    assert set(runner.states().values()) == {"open"}
    assert Verifier(runner.signer.verifier).verify(runner.ledger).ok
