"""Bad input through ``trailseal ingest``: the bad file is refused whole, the others land.

Every class of unusable file is given between two good ones, as a CI job
would pass its reports: ``trailseal ingest good.sarif BAD other_good.json``.
The command exits 2 with one paragraph naming the file, the place and the
problem; nothing of the bad file is written; both good files land whole;
the ledger still verifies.

The last part feeds hostile text (terminal escapes, NUL, bidi controls,
markup, megabyte tokens) through a SARIF log and checks that it is stored
exactly as read and never reaches the terminal raw.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ingest_support import FIXTURES
from typer.testing import CliRunner, Result

from cli.main import app
from ledger.ingest import registry
from ledger.ingest.base import ReadOptions
from ledger.ingest.redact import make_redactor
from ledger.keys import load_redaction_key
from ledger.ledger import Ledger, decode_body

GOOD = FIXTURES / "bandit_toy_app.sarif"  # 13 results, 14 entries
OTHER_GOOD = FIXTURES / "trivy_pip_two_vulnerabilities.json"  # 2 results, 3 entries
GOOD_BYTES = GOOD.read_bytes()


def _truncated(path: Path) -> str:
    path.write_bytes(GOOD_BYTES[: len(GOOD_BYTES) // 2])
    return "truncated"


def _malformed(path: Path) -> str:
    path.write_bytes(b'{"version": "2.1.0",\n "runs": [\n  {"tool": x}]}')
    return "malformed JSON"


def _empty(path: Path) -> str:
    path.write_bytes(b"")
    return "empty"


def _huge_line(path: Path) -> str:
    # One JSON Lines record of 20 million characters: over the 16 Mi line cap.
    record = {"tool": "custom-check", "rule_id": "C1", "severity": "high", "title": "t"}
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.write(json.dumps(dict(record, message="A" * 20_000_000)) + "\n")
    return "16777216"


def _huge_single_line_document(path: Path) -> str:
    # A 12 MB SARIF log on one line, broken after its giant first result.
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, ')
        handle.write('"results": [{"ruleId": "R", "message": {"text": "')
        handle.write("A" * 12_000_000)
        handle.write('"}}, {"ruleId": x}]}]}')
    return "malformed JSON"


def _deep(path: Path) -> str:
    depth = 100_000
    path.write_bytes(
        b'{"version": "2.1.0", "runs": [{"results": [{"properties": {"a": '
        + b"[" * depth
        + b"]" * depth
        + b"}}]}]}"
    )
    return "nested deeper"


def _utf16_without_bom(path: Path) -> str:
    path.write_bytes(GOOD_BYTES.decode("utf-8").encode("utf-16-le"))
    return "byte order mark"


def _latin1(path: Path) -> str:
    text = '[{"RuleID": "generic", "Secret": "caf\xe9", "File": "app/config.py"}]'
    path.write_bytes(text.encode("latin-1"))
    return "UTF-8"


def _directory(path: Path) -> str:
    path.mkdir()
    return "directory"


def _fifo(path: Path) -> str:
    # Reading a pipe nobody writes to would wait for ever.
    os.mkfifo(path)
    return "not a regular file"


def _device(path: Path) -> str:
    # /dev/zero never ends.
    path.symlink_to("/dev/zero")
    return "not a regular file"


def _missing(path: Path) -> str:
    return "no such file"


def _json_lines_as_json(path: Path) -> str:
    line = json.dumps({"version": "2.1.0", "runs": []})
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    return "JSON Lines"


def _binary(path: Path) -> str:
    path.write_bytes(bytes((i * 151 + 7) % 256 for i in range(4096)))
    return "format not recognised"


def _huge_integer(path: Path) -> str:
    # A 100,000-digit number: beyond what Python converts, and it crashed the C parser.
    body = GOOD_BYTES.rstrip()
    path.write_bytes(body[:-1] + b', "n": ' + b"9" * 100_000 + b"}")
    return "more than 4300 digits"


def _lone_surrogate_tool(path: Path) -> str:
    # A valid JSON escape, but no Unicode text: it cannot be stored as UTF-8.
    record = {"tool": "custom\ud800check", "rule_id": "C1", "severity": "high", "title": "t"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return "lone UTF-16 surrogate"


def _lone_surrogate_key(path: Path) -> str:
    # In an object key, validation would have turned it into U+FFFD silently.
    record = {"tool": "t", "rule_id": "C1", "severity": "high", "title": "t"}
    good = json.dumps(record)
    bad = json.dumps({**record, "properties": {"k\udc00": "v"}})
    path.write_text(f"{good}\n{bad}\n", encoding="utf-8")
    return "lone UTF-16 surrogate"


def _lone_surrogate_in_sarif(path: Path) -> str:
    # A pair on line 2 is a valid emoji; the low surrogate alone on line 3 is not.
    path.write_text(
        '{"version": "2.1.0",\n"runs": [{"tool": {"driver": {"name": "T\\ud83d\\ude00"}},\n'
        '"results": [{"ruleId": "R\\udc00", "message": {"text": "m"}}]}]}\n',
        encoding="utf-8",
    )
    return "lone UTF-16 surrogate"


def _whitespace(path: Path) -> str:
    path.write_bytes(b"  \n\t\n   ")
    return "only whitespace"


def _sarif_draft(path: Path) -> str:
    path.write_bytes((FIXTURES / "sarif_version_2_0_draft.sarif").read_bytes())
    return "2.1.0"


BAD_INPUTS: dict[str, tuple[str, Callable[[Path], str]]] = {
    "truncated": ("truncated.sarif", _truncated),
    "malformed": ("malformed.sarif", _malformed),
    "empty": ("empty.json", _empty),
    "huge-line": ("findings.json", _huge_line),
    "huge-single-line-document": ("huge.sarif", _huge_single_line_document),
    "deeply-nested": ("deep.sarif", _deep),
    "utf16-without-bom": ("windows.sarif", _utf16_without_bom),
    "latin1": ("gitleaks.json", _latin1),
    "directory": ("reports", _directory),
    "fifo": ("report.sarif", _fifo),
    "device": ("zero.json", _device),
    "missing": ("missing.sarif", _missing),
    "json-lines-as-json": ("sarif_logs.json", _json_lines_as_json),
    "binary": ("scan.json", _binary),
    "sarif-2.0-draft": ("draft.sarif", _sarif_draft),
    "huge-integer": ("bignum.sarif", _huge_integer),
    "lone-surrogate-tool": ("findings.jsonl", _lone_surrogate_tool),
    "lone-surrogate-sarif": ("escaped.sarif", _lone_surrogate_in_sarif),
    "lone-surrogate-key": ("keys.jsonl", _lone_surrogate_key),
    "whitespace": ("blank.sarif", _whitespace),
}

# Where the problem is, for the classes where it has a place inside the file.
PLACES = {
    "truncated": "$.runs[0].results",
    "malformed": "line 3, column",
    "huge-line": "line 2",
    "huge-single-line-document": "line 1, column 12000",
    "deeply-nested": "at nesting level 65",
    "latin1": "byte ",
    "json-lines-as-json": "line 2",
    "sarif-2.0-draft": "$.version",
    "huge-integer": "byte ",
    "lone-surrogate-tool": "line 1",
    "lone-surrogate-sarif": "line 3",
    "lone-surrogate-key": "line 2",
}
PLACE_MISSING: dict[str, str] = {}


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    for name in ("TRAILSEAL_DB", "TRAILSEAL_SIGNING_KEY", "TRAILSEAL_REDACTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TF_BUILD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("JENKINS_URL", raising=False)
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / ".trailseal"))
    runner = CliRunner()

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    assert invoke("init").exit_code == 0
    return invoke


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: the whole database as data."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(bytes(v) if isinstance(v, memoryview) else v for v in row))
                    for row in conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                )
                for name in sa.inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def _rejects(run: Callable[..., Result], tmp_path: Path, case: str) -> tuple[Result, str, str]:
    name, make = BAD_INPUTS[case]
    bad = tmp_path / name
    problem = make(bad)
    out = run("ingest", "--json", GOOD, name, OTHER_GOOD)
    return out, name, problem


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_file_is_refused_whole_and_the_others_land(
    run: Callable[..., Result], tmp_path: Path, case: str
):
    out, name, problem = _rejects(run, tmp_path, case)
    assert out.exit_code == 2, (out.stdout, out.stderr, out.exception)
    good, bad, other = (json.loads(line) for line in out.stdout.splitlines())

    # The bad file: one paragraph with the file and the problem.
    assert (bad["file"], bad["status"], bad["entries"]) == (name, "rejected", 0)
    error = bad["error"]
    assert error.startswith(name)
    assert "\n" not in error and len(error) < 600
    assert problem in error
    assert f"rejected: {error}\n" in out.stderr
    if case in PLACES and case not in PLACE_MISSING:
        assert PLACES[case] in error, error
    assert "Traceback" not in out.stderr

    # The good files around it: whole, one after the other.
    assert (good["status"], good["results"], good["entries"]) == ("recorded", 13, 14)
    assert (other["status"], other["results"], other["entries"]) == ("recorded", 2, 3)
    assert (good["first_seq"], other["first_seq"]) == (0, 14)
    url = f"sqlite:///{tmp_path / '.trailseal' / 'ledger.db'}"
    tables = _tables(url)
    assert len(tables["entries"]) == 17
    assert [row[0] for row in tables["checkpoints"]] == [0, 14, 17]
    assert sorted(row[0] for row in tables["artifacts"]) == sorted(
        [good["sha256"], other["sha256"]]
    )
    assert len(tables["findings"]) == 15

    # The bad file again, alone: not one row of any table changes.
    again = run("ingest", name)
    assert again.exit_code == 2
    assert _tables(url) == tables
    assert run("verify").exit_code == 0


@pytest.mark.parametrize("case", ["deeply-nested", "latin1", "json-lines-as-json"])
def test_the_error_names_the_place(run: Callable[..., Result], tmp_path: Path, case: str):
    name, make = BAD_INPUTS[case]
    make(tmp_path / name)
    out = run("ingest", "--json", name)
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert PLACES[case] in error, error


def test_project_json_lines_named_json_are_read_by_content(run: Callable[..., Result]):
    out = run("ingest", "--json", FIXTURES / "jsonl_bad_severity_line_2.json")
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert "line 2" in error and "'severity'" in error
    good = Path("findings.json")
    good.write_bytes((FIXTURES / "jsonl_three_findings.jsonl").read_bytes())
    report = json.loads(run("ingest", "--json", good).stdout)
    assert (report["status"], report["format"]) == ("recorded", "jsonl")


# -- hostile text -----------------------------------------------------------------

ESC = "\x1b"
HOSTILE = [
    "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m",  # title change, clear screen, colour
    "nul\x00byte",
    "bidi \u202eexe.txt\u202c and \u2066isolate\u2069",
    "<script>alert(document.cookie)</script>",
    "\r\x08\x7f carriage return, backspace, delete",
]
TOKEN = "T" * 1_000_000


def _hostile_log(*, nul: bool = True) -> dict[str, Any]:
    texts = HOSTILE if nul else [t for t in HOSTILE if "\x00" not in t]
    results = []
    for n, text in enumerate(texts):
        results.append(
            {
                "ruleId": f"rule{text}",
                "level": "error",
                "message": {"text": f"message {text} {TOKEN if n == 0 else ''}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"src/{text}.py"},
                            "region": {"startLine": n + 1, "snippet": {"text": text}},
                        },
                        "logicalLocations": [{"fullyQualifiedName": f"mod.{text}"}],
                    }
                ],
                "properties": {"note": text, "big": TOKEN},
            }
        )
    rules = [{"id": f"rule{text}", "shortDescription": {"text": f"title {text}"}} for text in texts]
    driver = {"name": f"tool{ESC}[1m", "version": "1\x00" if nul else "1", "rules": rules}
    return {"version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hostile_text_is_stored_exactly_and_never_printed_raw(
    run: Callable[..., Result],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
):
    home = tmp_path / ".trailseal"
    url = f"sqlite:///{home / 'ledger.db'}"
    if backend == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
        home = tmp_path / "pg-home"
        monkeypatch.setenv("TRAILSEAL_HOME", str(home))
        assert run("init", "--db", url).exit_code == 0
    # NUL on PostgreSQL has a test of its own below.
    nul = backend == "sqlite"
    path = tmp_path / "hostile.sarif"
    path.write_text(json.dumps(_hostile_log(nul=nul)), encoding="utf-8")

    out = run("ingest", "--json", "--db", url, path)
    assert out.exit_code == 0, (out.stdout[:2000], out.stderr[:2000], out.exception)
    assert json.loads(out.stdout)["results"] == len(HOSTILE) - (not nul)
    assert ESC not in out.stderr

    # Stored exactly as the reader produced it: no change beyond the documented caps.
    redact = make_redactor(load_redaction_key(home / "redaction.key"))
    report = registry.detect_format(path).read(path, ReadOptions(redact=redact))
    expected = [f.model_dump(mode="json", exclude_none=True) for _, f in report.findings]
    ledger = Ledger.open(url)
    try:
        stored = [
            body["finding"]
            for row in ledger.entries()
            if row.kind == "finding" and (body := decode_body(row)) is not None
        ]
    finally:
        ledger.store.engine.dispose()
    assert stored == expected
    if nul:
        assert expected[1]["rule_id"] == "rulenul\x00byte"
    assert expected[0]["location"]["path"] == f"src/{HOSTILE[0]}.py"
    assert len(expected[0]["message"]) == 32 * 1024  # the token is capped...
    assert any("truncated" in w for w in report.warnings)  # ...and said to be

    # The plain 'findings' listing has a test of its own below.
    for args in (["log", "-n", "100"], ["log", "--json"], ["findings", "--json"]):
        shown = run(*args, "--db", url)
        assert shown.exit_code == 0, (args, shown.stderr)
        assert ESC not in shown.stdout and ESC not in shown.stderr, args
        assert "\x00" not in shown.stdout, args
    assert run("verify", "--db", url).exit_code == 0


def test_hostile_text_in_log_output_is_escaped(run: Callable[..., Result], tmp_path: Path):
    path = tmp_path / "hostile.sarif"
    path.write_text(json.dumps(_hostile_log()), encoding="utf-8")
    assert run("ingest", path).exit_code == 0
    shown = run("log", "-n", "100").stdout
    for control in (ESC, "\x00", "\u202e", "\u2066", "\x07", "\x08", "\r", "\x7f"):
        assert control not in shown, repr(control)
    assert "\\x1b" in shown


def test_hostile_text_in_findings_output_is_escaped(run: Callable[..., Result], tmp_path: Path):
    path = tmp_path / "hostile.sarif"
    path.write_text(json.dumps(_hostile_log()), encoding="utf-8")
    assert run("ingest", path).exit_code == 0
    shown = run("findings").stdout
    for control in (ESC, "\x00", "\u202e", "\u2066", "\x07", "\x08", "\r", "\x7f"):
        assert control not in shown, repr(control)


@pytest.mark.postgres
def test_nul_in_a_rule_id_or_path_on_postgresql(
    run: Callable[..., Result], tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TRAILSEAL_HOME", str(tmp_path / "pg-home"))
    assert run("init", "--db", pg_url).exit_code == 0
    path = tmp_path / "nul.sarif"
    result = {
        "ruleId": "rule\x00one",
        "message": {"text": "m"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a\x00.py"}}}],
    }
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [result]}]}
    path.write_text(json.dumps(log), encoding="utf-8")
    out = run("ingest", "--db", pg_url, path)
    assert out.exit_code == 0, out.stderr


def _raw_controls(text: str) -> set[str]:
    """Characters a terminal or a line splitter could act on: every one not
    printable, line breaks between records aside."""
    return {c for c in text.replace("\n", "") if not c.isprintable()}


def test_json_output_escapes_every_control_and_keeps_the_text(
    run: Callable[..., Result], tmp_path: Path
):
    # json.dumps escapes only C0 controls: CSI (U+009B), NEL, the line and
    # paragraph separators and bidi overrides passed through raw.
    hostile = "a\u009b2J\u0085b\u2028FAKE: recorded\u2029\u202eexe\u200f\x7f\U000e0041"
    result = {
        "ruleId": f"rule{hostile}",
        "message": {"text": hostile},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"src/{hostile}.py"}}}],
    }
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": [result]}]}
    path = tmp_path / "hostile.sarif"
    path.write_text(json.dumps(log), encoding="utf-8")
    out = run("ingest", "--json", path)
    assert out.exit_code == 0, out.stderr
    for args in (["findings", "--json"], ["log", "--json"], ["findings"], ["log"]):
        shown = run(*args)
        assert shown.exit_code == 0, (args, shown.stderr)
        assert not _raw_controls(shown.stdout), (args, _raw_controls(shown.stdout))
        assert not _raw_controls(shown.stderr), (args, _raw_controls(shown.stderr))
    finding = json.loads(run("findings", "--json").stdout.splitlines()[0])
    assert hostile in json.dumps(finding, ensure_ascii=False)


def test_artifact_text_in_an_error_is_escaped(run: Callable[..., Result], tmp_path: Path):
    # The JSON path in the message quotes an object key from the file.
    path = tmp_path / "broken.json"
    path.write_bytes(
        b'{"version": "1", "results": [{"check_id": "x", '
        b'"\\u001b[31mKEY\\r\\nerror: forged\\u2028": {x}]}'
    )
    out = run("ingest", "--json", path)
    assert out.exit_code == 2
    assert not _raw_controls(out.stdout) and not _raw_controls(out.stderr), out.stderr
    assert out.stderr.count("\n") == 1 and "\\x1b[31mKEY" in out.stderr
    assert "\\x1b[31mKEY" in json.loads(out.stdout)["error"]


@pytest.mark.parametrize("source", ["--repo", "--category", "GITHUB_REPOSITORY"])
def test_provenance_that_is_not_utf8_is_refused_up_front(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
):
    # Arguments and variables that are not UTF-8 reach Python as lone surrogates.
    value = "acme/\udcff\udcfe"
    args: list[str | Path] = ["ingest", "--json", GOOD]
    if source.startswith("--"):
        args[1:1] = [source, value]
    else:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv(source, value)
    out = run(*args)
    assert out.exit_code == 2, (out.stdout, out.stderr, out.exception)
    expected = source if source.startswith("--") else "repository (from the environment)"
    assert expected in out.stderr and "not valid UTF-8" in out.stderr
    assert "Traceback" not in out.stderr and not _raw_controls(out.stderr)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    entries = [json.loads(line) for line in run("log", "--json").stdout.splitlines()]
    assert not [e for e in entries if e["kind"] in ("artifact", "finding")]


def test_run_url_option_loses_its_credentials(run: Callable[..., Result], tmp_path: Path):
    out = run("ingest", "--run-url", "https://bot:t0ken@ci.example.com/runs/7", GOOD)
    assert out.exit_code == 0, out.stderr
    url = f"sqlite:///{tmp_path / '.trailseal' / 'ledger.db'}"
    assert "t0ken" not in repr(_tables(url))
    shown = run("log", "--json").stdout
    assert '"run_url": "https://ci.example.com/runs/7"' in shown

    refused = run("ingest", "--run-url", "ftp://bot:t0ken@ci.example.com/x", OTHER_GOOD)
    assert refused.exit_code == 2
    assert "--run-url" in refused.stderr and "t0ken" not in refused.stderr
    assert len(_tables(url)["entries"]) == 14
