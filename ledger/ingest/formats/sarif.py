"""SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format).

Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
(clause numbers below refer to it).

The file is read twice, both times streaming:

1. a pass over parse events that keeps each run's metadata (``tool``,
   ``invocations``, ``automationDetails``, ``originalUriBaseIds``,
   ``artifacts``, ``properties``), counts each run's results and collects
   their fingerprints, so run metadata written after the results (Semgrep
   sorts its keys) is known before any finding is built, and repeated
   fingerprints are known to be untrustworthy;
2. ``ijson.items`` over ``runs[*].results[*]``, one result object at a time.

Memory holds one result, the rules, and the set of fingerprints.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ijson
from ijson.common import ObjectBuilder

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    Sanitizer,
    cwe_ids,
    fail,
    head_text,
    is_placeholder,
    is_secret_rule,
    is_secret_tool,
    json_error,
    make_finding,
    make_location,
    open_json,
    severity_from_score,
)
from ledger.ingest.identity import normalise_path, redact_snippet
from schemas.finding import Category, Finding, Severity, Suppression

SARIF_VERSION = "2.1.0"

# 3.27.10 level -> severity, used when no security-severity is given.
LEVELS: dict[str, Severity] = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
# security-severity is a score from 0 to 10 (GitHub's convention), but GitLab's
# Semgrep-based SAST writes the severity's name ("CRITICAL", "MEDIUM", ...).
_SEVERITY_NAMES: dict[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "info": "info",
}

# Run properties kept from pass 1; everything else at run level is skipped.
_RUN_KEYS = frozenset(
    {"tool", "invocations", "automationDetails", "originalUriBaseIds", "artifacts", "properties"}
)
# uriBaseId names that conventionally denote the repository root.
_ROOT_BASES = frozenset({"SRCROOT", "ROOT", "REPOROOT", "REPO_ROOT", "PROJECTROOT", "WORKSPACE"})
_ARGUMENT = re.compile(r"\{\{|\}\}|\{(\d+)\}")
# A shortDescription that is a regular expression rather than words.
_PATTERN = re.compile(r"\(\?|\[[^\]]*-[^\]]*\]|\{\d+(,\d*)?\}|\\[dswbDSW]")
_SAFE_SECRET_PROPERTIES = frozenset(
    {"tags", "precision", "security-severity", "issue_severity", "issue_confidence", "confidence"}
)


@dataclass
class _Rule:
    """What a result needs from its reportingDescriptor (3.49)."""

    id: str
    title: str
    help_uri: str | None = None
    level: str | None = None
    security_severity: Any = None
    score_severity: Severity | None = None
    tags: list[str] = field(default_factory=list)
    cwe: list[str] = field(default_factory=list)
    secret: bool = False
    category: Category = "code"
    messages: dict[str, str] = field(default_factory=dict)


@dataclass
class _Run:
    """Pass-1 metadata of one run, then the lookups built from it."""

    raw: dict[str, Any] = field(default_factory=dict)
    results: int = 0
    results_present: bool = False
    info: RunInfo | None = None
    components: list[list[_Rule]] = field(default_factory=list)
    by_id: list[dict[str, _Rule]] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    bases: dict[str, str] = field(default_factory=dict)
    artifacts: list[tuple[str, str | None]] = field(default_factory=list)
    paths: dict[tuple[str, Any], str | None] = field(default_factory=dict)
    secret_tool: bool = False
    dynamic: bool = False


@dataclass
class _Scan:
    """What pass 1 learned about the document."""

    root_is_map: bool = False
    version: Any = None
    schema: Any = None
    has_runs: bool = False
    runs_null: bool = False
    runs: list[_Run] = field(default_factory=list)
    fingerprints: set[str] = field(default_factory=set)
    repeated: set[str] = field(default_factory=set)


_DRIVER = re.compile(r'"driver"\s*:\s*\{')


class SarifReader:
    """SARIF 2.1.0 logs from any tool."""

    name: ClassVar[str] = "sarif"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith("{"):
            return False
        start = text[:8192]
        if '"runs"' not in start:
            return False
        # Bandit writes "version" and "$schema" after the runs, and its rules
        # table can fill the first 8 KiB: the tool's "driver" object tells too.
        return "sarif" in start.lower() or '"version"' in start or _DRIVER.search(text) is not None

    def read(self, path: Path, options: ReadOptions) -> Report:
        scan = _scan(path)
        warnings = _check_document(path, scan)
        sanitizer = Sanitizer()
        for run in scan.runs:
            _prepare(run, options, sanitizer)
        untrusted = set(scan.repeated)
        untrusted.update(fp for fp in scan.fingerprints if is_placeholder(fp))
        report = Report(
            format=self.name,
            runs=[run.info for run in scan.runs if run.info is not None],
            findings=iter(()),
            warnings=warnings,
            untrusted_fingerprints=untrusted,
        )
        for run in scan.runs:
            if run.info is not None:
                report.warnings.extend(run.info.warnings)
        report.findings = _results(path, scan.runs, options, sanitizer, report)
        return report


# -- pass 1 -----------------------------------------------------------------


def _scan(path: Path) -> _Scan:
    """Walk the parse events once: document shape, run metadata, fingerprints."""
    scan = _Scan()
    runs = scan.runs
    depth = 0
    limit = Limits.DEPTH
    top_key: str | None = None
    run: _Run | None = None
    run_key: str | None = None
    builder: Any = None
    builder_depth = 0
    target: str | None = None
    in_results = False
    result_key: str | None = None
    fp_key: str | None = None
    result_fps: set[str] = set()
    seen, repeated = scan.fingerprints, scan.repeated

    with open_json(path) as stream:
        try:
            for event, value in ijson.basic_parse(stream, use_float=False):
                # Most events are inside results: handle them first and cheaply.
                if in_results:
                    if event == "start_map" or event == "start_array":  # noqa: PLR1714
                        depth += 1
                        if depth > limit:
                            raise _too_deep(path, depth)
                        if depth == 5:
                            assert run is not None
                            run.results += 1
                            result_fps = set()
                    elif event == "end_map" or event == "end_array":  # noqa: PLR1714
                        depth -= 1
                        if depth == 3:
                            in_results = False
                    elif depth == 5:
                        if event == "map_key":
                            result_key = value
                    elif depth == 4:
                        # A scalar where a result should be: counted, so pass 2
                        # stays aligned, and rejected there.
                        assert run is not None
                        run.results += 1
                    elif depth == 6 and (
                        result_key == "fingerprints" or result_key == "partialFingerprints"  # noqa: PLR1714
                    ):
                        if event == "map_key":
                            fp_key = value
                        elif event == "string" and fp_key is not None and value not in result_fps:
                            result_fps.add(value)
                            if value in seen:
                                repeated.add(value)
                            else:
                                seen.add(value)
                    continue

                if builder is not None:
                    builder.event(event, value)
                    if event in ("start_map", "start_array"):
                        depth += 1
                        if depth > limit:
                            raise _too_deep(path, depth)
                    elif event in ("end_map", "end_array"):
                        depth -= 1
                    if depth == builder_depth:
                        if target is not None and run is not None:
                            run.raw[target] = builder.value
                        builder = None
                    continue

                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth == 1:
                        scan.root_is_map = event == "start_map"
                    elif depth == 2 and top_key == "runs" and event == "start_array":
                        scan.has_runs = True
                    elif depth == 3 and top_key == "runs" and event == "start_map":
                        run = _Run()
                        runs.append(run)
                    elif depth == 4 and run is not None and run_key == "results":
                        in_results = event == "start_array"
                        run.results_present = in_results
                        if not in_results:
                            builder, builder_depth, target = _Skip(), 3, None
                    elif depth == 4 and run is not None and run_key in _RUN_KEYS:
                        builder, builder_depth, target = ObjectBuilder(), 3, run_key
                        builder.event(event, value)
                    elif depth >= 2:
                        # Anything else is skipped whole, but still depth-checked.
                        builder, builder_depth, target = _Skip(), depth - 1, None
                    if depth > limit:
                        raise _too_deep(path, depth)
                elif event in ("end_map", "end_array"):
                    depth -= 1
                    if depth == 2:
                        run = None
                elif event == "map_key":
                    if depth == 1:
                        top_key = value
                    elif depth == 3:
                        run_key = value
                elif depth == 1:
                    if top_key == "runs" and event == "null":
                        scan.runs_null = True
                    elif top_key == "version":
                        scan.version = value
                    elif top_key == "$schema":
                        scan.schema = value
                elif depth == 3 and run is not None and run_key in _RUN_KEYS:
                    run.raw[run_key] = value
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise json_error(path, exc) from None
    return scan


class _Skip:
    """A stand-in builder that drops what it is fed (keeps depth bookkeeping simple)."""

    value: Any = None

    def event(self, event: str, value: Any) -> None:
        return None


def _too_deep(path: Path, depth: int) -> Exception:
    return fail(
        path,
        f"nesting level {depth}",
        f"JSON nested deeper than {Limits.DEPTH} levels; refusing to parse it.",
    )


def _check_document(path: Path, scan: _Scan) -> list[str]:
    """3.13: a sarifLog is an object with ``version`` "2.1.0" and a ``runs`` array."""
    warnings: list[str] = []
    if scan.root_is_map and scan.runs_null:
        # 3.13.4: null runs mean the tool failed before it could start a run.
        warnings.append("the log's 'runs' is null: the tool failed before any run started")
    elif not scan.root_is_map or not scan.has_runs:
        raise fail(
            path,
            "$",
            "is not a SARIF log: the top level must be an object with a 'runs' array.",
        )
    version = scan.version
    schema = str(scan.schema or "")
    if version != SARIF_VERSION:
        if version is None and "2.1.0" in schema:
            warnings.append("the log has no 'version'; its $schema says SARIF 2.1.0")
        elif version is None:
            raise fail(path, "$.version", "missing; only SARIF 2.1.0 logs are accepted.")
        else:
            raise fail(
                path,
                "$.version",
                f"is {str(version)[:40]!r}; only SARIF 2.1.0 is accepted (1.x and 2.0 "
                "drafts differ in structure). Re-run the tool with SARIF 2.1.0 output.",
            )
    return warnings


# -- run metadata -------------------------------------------------------------


def _text(obj: Any, key: str = "text") -> str | None:
    if isinstance(obj, dict):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _prepare(run: _Run, options: ReadOptions, sanitizer: Sanitizer) -> None:
    """Build the RunInfo and the rule, base-URI and artifact lookups of a run."""
    raw = run.raw
    warnings: list[str] = []
    tool = _obj(raw.get("tool"))
    driver = _obj(tool.get("driver"))
    name = sanitizer.text(driver.get("name"), Limits.IDENTIFIER, "tool") or "unknown"
    if name == "unknown":
        warnings.append("a run has no tool.driver.name; recorded as 'unknown'")
    version = driver.get("semanticVersion") or driver.get("version")
    version = sanitizer.text(version, Limits.IDENTIFIER, "tool_version")
    run.secret_tool = is_secret_tool(name)
    run.dynamic = "zap" in name.lower()

    # 3.19.2/3.19.3: the driver is component 0, extensions follow.
    extensions = _list(tool.get("extensions"))
    for index, raw_component in enumerate([driver, *extensions]):
        component = _obj(raw_component)
        rules = [_rule(r, run, sanitizer) for r in component.get("rules") or []]
        run.components.append(rules)
        run.by_id.append({rule.id: rule for rule in rules})
        for key in ("name", "guid"):
            if isinstance(component.get(key), str):
                run.names.setdefault(component[key], index)

    # 3.14.14 originalUriBaseIds; a base may itself be relative to another base.
    bases = raw.get("originalUriBaseIds")
    if isinstance(bases, dict):
        for key in bases:
            resolved = _resolve_base(bases, key, 0)
            if resolved:
                run.bases[key] = resolved
    root_names = [k for k in run.bases if k.strip("%").upper() in _ROOT_BASES]
    run.roots = [run.bases[k] for k in root_names]

    for artifact in raw.get("artifacts") or []:
        location = artifact.get("location") if isinstance(artifact, dict) else None
        uri = location.get("uri") if isinstance(location, dict) else None
        base = location.get("uriBaseId") if isinstance(location, dict) else None
        run.artifacts.append((uri if isinstance(uri, str) else "", base))

    # 3.20.14 executionSuccessful: any failed invocation fails the run.
    successful = True
    complete = run.results_present
    if not run.results_present:
        warnings.append(
            f"run of {name} has no 'results' array (3.14.23: the tool did not finish); "
            "it is treated as incomplete"
        )
    for invocation in raw.get("invocations") or []:
        if not isinstance(invocation, dict):
            continue
        if invocation.get("executionSuccessful") is False:
            successful = False
        for note in invocation.get("toolExecutionNotifications") or []:
            if isinstance(note, dict) and note.get("level") == "error":
                complete = False
    if not successful:
        warnings.append(f"run of {name} reports executionSuccessful=false")

    # 3.17.4: the category is the part of automationDetails.id before the last '/'.
    category = None
    automation = raw.get("automationDetails")
    automation_id = automation.get("id") if isinstance(automation, dict) else None
    if isinstance(automation_id, str) and "/" in automation_id:
        category = sanitizer.text(automation_id.rsplit("/", 1)[0], Limits.IDENTIFIER, "category")

    run.info = RunInfo(
        tool=name,
        tool_version=version,
        category=category,
        successful=successful,
        complete=complete,
        warnings=tuple(warnings),
    )
    run.raw = {}


def _resolve_base(bases: dict[str, Any], key: str, depth: int) -> str | None:
    entry = bases.get(key)
    if not isinstance(entry, dict) or depth > 8:
        return None
    uri = entry.get("uri")
    if not isinstance(uri, str):
        return None
    parent = entry.get("uriBaseId")
    if isinstance(parent, str):
        prefix = _resolve_base(bases, parent, depth + 1)
        if prefix:
            uri = prefix.rstrip("/") + "/" + uri
    return uri


def _rule(raw: Any, run: _Run, sanitizer: Sanitizer) -> _Rule:
    if not isinstance(raw, dict):
        raw = {}
    rule_id = sanitizer.text(raw.get("id"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    name = raw.get("name") if isinstance(raw.get("name"), str) and raw["name"].strip() else None
    short = _text(raw.get("shortDescription"))
    if short and name and (run.secret_tool or _PATTERN.search(short)):
        # Secret scanners (Gitleaks) put the rule's detection pattern here and
        # its human name in 'name'.
        short = None
    title = short or name or _text(raw.get("fullDescription")) or rule_id
    properties = _obj(raw.get("properties"))
    tags = [t[: Limits.PROPERTY] for t in _as_list(properties.get("tags")) if isinstance(t, str)][
        : Limits.LIST
    ]
    cwe = cwe_ids([*tags, *_as_list(properties.get("cwe")), *_related_cwe(raw)])
    config = raw.get("defaultConfiguration")
    level = config.get("level") if isinstance(config, dict) else None
    messages = {}
    strings = raw.get("messageStrings")
    if isinstance(strings, dict):
        messages = {k: v["text"] for k, v in strings.items() if _text(v)}
    rule = _Rule(
        id=rule_id,
        title=sanitizer.text(
            title.strip().splitlines()[0] if title.strip() else rule_id, Limits.TITLE, "title"
        )
        or rule_id,
        help_uri=sanitizer.text(raw.get("helpUri"), Limits.PATH, "help_uri"),
        level=level if isinstance(level, str) else None,
        security_severity=properties.get("security-severity"),
        tags=tags,
        cwe=cwe,
        messages=messages,
    )
    if rule.security_severity is not None:
        rule.score_severity = _score_severity(rule.security_severity)
    rule.secret = run.secret_tool or is_secret_rule(tags, cwe)
    rule.category = _category(rule, run)
    return rule


def _related_cwe(raw: dict[str, Any]) -> list[Any]:
    """3.53: the entries of a CWE taxonomy a rule names through ``relationships``."""
    found = []
    for relation in _list(raw.get("relationships"))[: Limits.LIST]:
        target = _obj(_obj(relation).get("target"))
        component = _obj(target.get("toolComponent"))
        if str(component.get("name", "")).upper() == "CWE" and type(target.get("id")) in (str, int):
            found.append(target["id"])
    return found


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _category(rule: _Rule, run: _Run) -> Category:
    if rule.secret:
        return "secret"
    lowered = {t.lower() for t in rule.tags}
    if lowered & {"vulnerability", "dependency", "dependencies", "sca", "supply-chain"} or (
        rule.id.upper().startswith(("CVE-", "GHSA-", "PYSEC-", "OSV-"))
    ):
        return "dependency"
    if lowered & {"misconfiguration", "iac", "configuration", "config"}:
        return "configuration"
    if run.dynamic:
        return "dynamic"
    return "code"


# -- pass 2 -------------------------------------------------------------------


class _Tally:
    """Counts of tolerated oddities, reported once per file rather than per result."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def warnings(self) -> list[str]:
        return [f"{count} result(s) {what}" for what, count in sorted(self.counts.items())]


def _results(
    path: Path,
    runs: list[_Run],
    options: ReadOptions,
    sanitizer: Sanitizer,
    report: Report,
) -> Iterator[tuple[int, Finding]]:
    tally = _Tally()
    run_index = 0
    remaining = runs[0].results if runs else 0
    position = 0
    with open_json(path) as stream:
        try:
            for result in ijson.items(stream, "runs.item.results.item", use_float=False):
                while remaining == 0 and run_index + 1 < len(runs):
                    run_index += 1
                    remaining = runs[run_index].results
                    position = 0
                remaining -= 1
                where = f"$.runs[{run_index}].results[{position}]"
                position += 1
                if not isinstance(result, dict):
                    raise fail(path, where, "a result must be a JSON object.")
                finding = _finding(result, runs[run_index], options, sanitizer, tally)
                if finding is not None:
                    yield run_index, finding
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise json_error(path, exc) from None
    report.warnings.extend(tally.warnings())
    report.warnings.extend(sanitizer.warnings())


def _lookup(result: dict[str, Any], run: _Run, tally: _Tally) -> _Rule | None:
    """3.52.3: find the result's rule by rule.index/ruleIndex, else by id, in its component."""
    ref = _obj(result.get("rule"))
    component = 0
    tool_ref = ref.get("toolComponent")
    if isinstance(tool_ref, dict):
        index = tool_ref.get("index")
        if type(index) is int and 0 <= index + 1 < len(run.components):
            component = index + 1  # toolComponent.index counts extensions only
        elif isinstance(tool_ref.get("name"), str):
            component = run.names.get(tool_ref["name"], 0)
        elif isinstance(tool_ref.get("guid"), str):
            component = run.names.get(tool_ref["guid"], 0)
    if not run.components:
        return None
    rules = run.components[component]
    index = ref.get("index", result.get("ruleIndex"))
    if type(index) is int and 0 <= index < len(rules):
        return rules[index]
    rule_id = ref.get("id") or result.get("ruleId")
    if isinstance(rule_id, str):
        found = run.by_id[component].get(rule_id)
        if found is None and "/" in rule_id:
            # 3.27.5: a hierarchical id 'parent/child' may be described by its parent.
            found = run.by_id[component].get(rule_id.split("/", 1)[0])
        if found is None:
            for table in run.by_id:
                found = table.get(rule_id)
                if found is not None:
                    break
        if found is None and any(run.components):
            tally.counts["name a rule the run does not describe"] += 1
        return found
    # Gitleaks 7 names no rule; its message is "<rule id> secret detected".
    text = _text(result.get("message"))
    if text and text.endswith(_GITLEAKS7_MESSAGE):
        return run.by_id[component].get(text[: -len(_GITLEAKS7_MESSAGE)])
    return None


_GITLEAKS7_MESSAGE = " secret detected"


def _message(raw: Any, rule: _Rule | None) -> str | None:
    """3.11: text (or markdown) or a rule's messageStrings[id], with {n} arguments."""
    if not isinstance(raw, dict):
        return None
    template = _text(raw) or _text(raw, "markdown")
    if template is None and rule is not None and isinstance(raw.get("id"), str):
        template = rule.messages.get(raw["id"])
    if template is None:
        return None
    arguments = raw.get("arguments")
    if not isinstance(arguments, list) or not arguments:
        return template.replace("{{", "{").replace("}}", "}") if "{" in template else template
    args = [a if isinstance(a, str) else str(a) for a in arguments]

    def substitute(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "{{":
            return "{"
        if found == "}}":
            return "}"
        number = int(match.group(1))
        return args[number] if number < len(args) else found

    return _ARGUMENT.sub(substitute, template)


def _severity(
    result: dict[str, Any], rule: _Rule | None, secret: bool, tally: _Tally
) -> tuple[Severity, str]:
    properties = result.get("properties")
    score = properties.get("security-severity") if isinstance(properties, dict) else None
    stated = result.get("level") or (rule.level if rule else None)
    if stated is None and score is None and (rule is None or rule.security_severity is None):
        # A leaked credential that the log rates in no way (Gitleaks writes no
        # level) is high, as the native secret readers record it; the level
        # kept is still SARIF's default.
        return ("high" if secret else LEVELS["warning"]), "warning"
    level = stated or "warning"
    if score is None and rule is not None and rule.security_severity is not None:
        if rule.score_severity is not None:
            return rule.score_severity, str(level)
        score = rule.security_severity
    if score is not None:
        from_score = _score_severity(score)
        if from_score is not None:
            return from_score, str(level)
        tally.counts[
            "have a security-severity that is neither a number from 0 to 10 nor a severity name"
        ] += 1
    severity = LEVELS.get(level) if isinstance(level, str) else None
    if severity is None:
        tally.counts["have an unknown level (recorded as medium)"] += 1
        return "medium", "warning"
    return severity, level


def _score_severity(value: Any) -> Severity | None:
    """A security-severity as a severity: a score from 0 to 10, or a severity's name."""
    if isinstance(value, str):
        named = _SEVERITY_NAMES.get(value.strip().lower())
        if named is not None:
            return named
    return severity_from_score(value)


def _location(
    result: dict[str, Any],
    run: _Run,
    options: ReadOptions,
    sanitizer: Sanitizer,
    secret: bool,
) -> Any:
    locations = result.get("locations")
    first = locations[0] if isinstance(locations, list) and locations else None
    if not isinstance(first, dict):
        return None
    physical = first.get("physicalLocation")
    path = None
    region: dict[str, Any] = {}
    if isinstance(physical, dict):
        artifact = physical.get("artifactLocation")
        if isinstance(artifact, dict):
            path = _artifact_path(artifact, run, options)
        if isinstance(physical.get("region"), dict):
            region = physical["region"]
    logical = None
    logicals = first.get("logicalLocations")
    if isinstance(logicals, list) and logicals and isinstance(logicals[0], dict):
        logical = logicals[0].get("fullyQualifiedName") or logicals[0].get("name")
    snippet = _text(region.get("snippet"))
    if snippet is not None and secret:
        snippet = redact_snippet(options.redact, snippet)
    return make_location(
        sanitizer.text(path, Limits.PATH, "location.path"),
        start_line=region.get("startLine"),
        end_line=region.get("endLine"),
        start_column=region.get("startColumn"),
        snippet=sanitizer.text(snippet, Limits.TEXT, "location.snippet"),
        logical=sanitizer.text(logical, Limits.TEXT, "location.logical"),
    )


_PATH_CACHE = 4096


def _artifact_path(artifact: dict[str, Any], run: _Run, options: ReadOptions) -> str | None:
    """3.4: an artifactLocation's uri (or its artifacts[index]), made repository-relative."""
    uri = artifact.get("uri")
    base = artifact.get("uriBaseId")
    index = artifact.get("index")
    if not isinstance(uri, str) and type(index) is int and 0 <= index < len(run.artifacts):
        uri, base = run.artifacts[index]
    if not isinstance(uri, str) or not uri:
        return None
    key = (uri, base)
    cached = run.paths.get(key, "")
    if cached != "":
        return cached
    if len(run.paths) >= _PATH_CACHE:
        run.paths.clear()
    path = run.paths[key] = _resolve_uri(uri, base, run, options)
    return path


def _resolve_uri(uri: str, base: Any, run: _Run, options: ReadOptions) -> str | None:
    if isinstance(base, str) and base in run.bases and "://" not in uri and not uri.startswith("/"):
        prefix = run.bases[base]
        if base.strip("%").upper() in _ROOT_BASES or not _absolute(prefix):
            return normalise_path(uri)
        uri = prefix.rstrip("/") + "/" + uri
    roots = [*run.roots, *run.bases.values()]
    return normalise_path(uri, repo_root=options.repo_root, bases=roots)


def _absolute(uri: str) -> bool:
    return uri.startswith(("file:", "/")) or (len(uri) > 2 and uri[1] == ":")


def _id_names_secret_rule(result: dict[str, Any], run: _Run) -> bool:
    """Whether the result's ruleId names a secret rule in any component.

    A report whose ruleIndex points elsewhere than its ruleId is malformed or
    hostile; when either names a secret rule, the values are treated as secret.
    """
    rule_id = _obj(result.get("rule")).get("id") or result.get("ruleId")
    if not isinstance(rule_id, str):
        return False
    return any((found := table.get(rule_id)) is not None and found.secret for table in run.by_id)


def _redact_strings(value: Any, options: ReadOptions) -> Any:
    """Every string inside ``value`` (at any depth) replaced by its keyed digest."""
    if isinstance(value, str):
        return options.redact(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v, options) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v, options) for v in value]
    return value


def _secret_safe(fingerprint: str | None, secret: bool, options: ReadOptions) -> str | None:
    """A secret result's fingerprint as its keyed digest (stable, so identity holds)."""
    return options.redact(fingerprint) if secret and fingerprint else fingerprint


def _fingerprint(result: dict[str, Any]) -> str | None:
    """Prefer a stable ``fingerprints`` entry (3.27.16), else a partial one (3.27.17).

    Each ``fingerprints`` entry is a whole fingerprint. A partial fingerprint is
    only one component of a result's identity: of several (Gitleaks writes the
    commit, author, e-mail, date and commit message), none identifies the
    result alone, so only CodeQL's ``primaryLocationLineHash`` or a sole entry
    is used, and otherwise the identity is derived from content.
    """
    for key in ("fingerprints", "partialFingerprints"):
        table = result.get(key)
        if isinstance(table, dict) and table:
            if "primaryLocationLineHash" in table:
                value = table["primaryLocationLineHash"]
            elif key == "partialFingerprints" and len(table) > 1:
                continue
            else:
                value = table[min(table)]
            if isinstance(value, str) and value:
                return value
    return None


def _suppressions(raw: Any, sanitizer: Sanitizer) -> list[Suppression]:
    """3.35: kind, status (absent means accepted) and justification, all kept."""
    out: list[Suppression] = []
    if not isinstance(raw, list):
        return out
    for item in raw[: Limits.LIST]:
        if not isinstance(item, dict):
            continue
        out.append(
            Suppression.model_construct(
                kind=sanitizer.text(item.get("kind"), Limits.IDENTIFIER, "suppression.kind")
                or "unspecified",
                status=sanitizer.text(item.get("status"), Limits.IDENTIFIER, "suppression.status")
                or "accepted",
                justification=sanitizer.text(
                    item.get("justification"), Limits.TEXT, "suppression.justification"
                ),
            )
        )
    return out


def _finding(
    result: dict[str, Any],
    run: _Run,
    options: ReadOptions,
    sanitizer: Sanitizer,
    tally: _Tally,
) -> Finding | None:
    # 3.27.9: 'pass' and 'notApplicable' results are not problems.
    kind = result.get("kind") or "fail"
    if kind in ("pass", "notApplicable"):
        tally.counts[f"of kind '{kind}' were skipped (not problems)"] += 1
        return None
    rule = _lookup(result, run, tally)
    assert run.info is not None
    ref = _obj(result.get("rule"))
    rule_id = result.get("ruleId") or ref.get("id") or (rule.id if rule else None)
    rule_id = sanitizer.text(rule_id, Limits.IDENTIFIER, "rule_id")
    if rule_id is None:
        tally.counts["have no rule id (recorded as 'unidentified')"] += 1
        rule_id = "unidentified"

    properties_raw = _obj(result.get("properties"))
    result_tags = [t for t in _as_list(properties_raw.get("tags")) if isinstance(t, str)]
    # njsscan and mobsfscan name the CWE in the result's properties, not the rule's.
    result_cwe = cwe_ids([*result_tags, *_as_list(properties_raw.get("cwe"))])
    secret = (
        (rule.secret if rule else run.secret_tool)
        or is_secret_rule(result_tags, result_cwe)
        or _id_names_secret_rule(result, run)
    )
    severity, level = _severity(result, rule, secret, tally)

    message = _message(result.get("message"), rule)
    if message is None:
        tally.counts["have no message text"] += 1
    elif secret:
        message = options.redact(message)
    location = _location(result, run, options, sanitizer, secret)
    if location is None:
        tally.counts["have no location"] += 1

    cwe = list(rule.cwe) if rule else []
    for extra in result_cwe:
        if extra not in cwe:
            cwe.append(extra)

    properties: dict[str, Any] = {"level": level}
    if kind != "fail":
        properties["kind"] = kind
    for source, target in (
        ("baselineState", "baseline_state"),
        ("rank", "rank"),
        ("guid", "guid"),
        ("correlationGuid", "correlation_guid"),
        ("fingerprints", "fingerprints"),
        ("partialFingerprints", "partial_fingerprints"),
    ):
        if result.get(source) is not None:
            value = result[source]
            # A secret scanner's fingerprint may be the secret or a weak hash of it.
            secret_fp = secret and source in ("fingerprints", "partialFingerprints")
            properties[target] = _redact_strings(value, options) if secret_fp else value
    if properties_raw:
        if secret:
            properties_raw = {
                k: v if k in _SAFE_SECRET_PROPERTIES else _redact_strings(v, options)
                for k, v in properties_raw.items()
            }
        properties["result"] = properties_raw
    locations = result.get("locations")
    if isinstance(locations, list) and len(locations) > 1:
        properties["location_count"] = len(locations)

    category: Category = rule.category if rule else ("secret" if secret else "code")
    if secret:
        category = "secret"
    title = rule.title if rule else rule_id
    return make_finding(
        tool=run.info.tool,
        rule_id=rule_id,
        severity=severity,
        title=title,
        message=sanitizer.text(message, Limits.TEXT, "message"),
        location=location,
        fingerprint=sanitizer.text(
            _secret_safe(_fingerprint(result), secret, options), Limits.IDENTIFIER, "fingerprint"
        ),
        cwe=[c for c in cwe if len(c) <= Limits.IDENTIFIER],
        category=category,
        help_uri=rule.help_uri if rule else None,
        suppressions=_suppressions(result.get("suppressions"), sanitizer),
        properties=_with_tags(sanitizer.exact(properties), rule),
    )


def _with_tags(properties: dict[str, Any], rule: _Rule | None) -> dict[str, Any]:
    # Rule tags were capped once per rule; they are not re-walked per result.
    if rule and rule.tags:
        properties["rule_tags"] = rule.tags
    return properties
