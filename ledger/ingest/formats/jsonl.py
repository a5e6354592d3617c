"""trailseal's own finding format: JSON Lines, one Finding object per line.

Each non-blank line is a JSON object valid against ``schemas.finding``
(``Finding.model_json_schema()``). Numbers are read exactly: a fraction or
an integer beyond 2**53 stays text (:func:`ledger.canonical.loads_exact`),
so ``properties`` can never hold a float. One bad line rejects the whole
file, naming the line and the field. Each distinct ``tool`` is one run.

A line may instead describe a run, so that a run which found nothing is
still recorded (and can close what it no longer finds)::

    {"trailseal_run": {"tool": "trailseal-runtime", "category": "runtime-logs",
                       "complete": false, "successful": true, "tool_version": "0.1.0"}}

Only ``tool`` is required; findings of that tool belong to that run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from ledger.canonical import loads_exact
from ledger.errors import InputError
from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    LONE_SURROGATE_PROBLEM,
    fail,
    has_lone_surrogate,
    head_text,
    open_text,
    untrusted,
)
from ledger.ingest.identity import redact_snippet
from ledger.ingest.redact import is_redacted
from schemas.finding import Finding

_REQUIRED = ("tool", "rule_id", "severity", "title")


class JsonLinesReader:
    """Findings as JSON Lines."""

    name: ClassVar[str] = "jsonl"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        first, newline, _ = text.partition("\n")
        if not first.startswith("{") or not (newline or len(head) < 64 * 1024):
            return False
        try:
            record = json.loads(first)
        except (ValueError, RecursionError):
            return False
        if not isinstance(record, dict):
            return False
        return _RUN in record or all(key in record for key in _REQUIRED)

    def read(self, path: Path, options: ReadOptions) -> Report:
        tools: dict[str, int] = {}
        declared: dict[str, RunInfo] = {}
        fingerprints: list[str] = []
        for number, record in _records(path):
            if _RUN in record:
                run = _run_header(path, number, record)
                if run.tool in tools:
                    raise fail(path, f"line {number}", f"a second run header for {run.tool!r}.")
                tools[run.tool] = len(tools)
                declared[run.tool] = run
                continue
            tool = record.get("tool")
            if not isinstance(tool, str) or not tool:
                raise fail(path, f"line {number}, field 'tool'", "missing or not a string.")
            tools.setdefault(tool, len(tools))
            fingerprint = record.get("fingerprint")
            if isinstance(fingerprint, str):
                fingerprints.append(fingerprint)
        if not tools:
            raise fail(path, None, "holds no findings (only blank lines).")
        report = Report(
            format=self.name,
            runs=[declared.get(tool, RunInfo(tool=tool)) for tool in tools],
            findings=iter(()),
            untrusted_fingerprints=untrusted(fingerprints),
        )
        report.findings = _findings(path, options, tools)
        return report


_RUN = "trailseal_run"


def _run_header(path: Path, number: int, record: dict[str, Any]) -> RunInfo:
    """A ``{"trailseal_run": {...}}`` line as a :class:`RunInfo`."""
    header = record[_RUN]
    if len(record) != 1 or not isinstance(header, dict):
        raise fail(path, f"line {number}", "a run header holds one object and nothing else.")
    tool = header.get("tool")
    if not isinstance(tool, str) or not tool:
        raise fail(path, f"line {number}, field 'trailseal_run.tool'", "missing or not a string.")
    for name in ("category", "tool_version"):
        if header.get(name) is not None and not isinstance(header[name], str):
            raise fail(path, f"line {number}, field 'trailseal_run.{name}'", "not a string.")
    for name in ("complete", "successful"):
        if not isinstance(header.get(name, True), bool):
            raise fail(path, f"line {number}, field 'trailseal_run.{name}'", "not true or false.")
    unknown = set(header) - {"tool", "category", "tool_version", "complete", "successful"}
    if unknown:
        raise fail(path, f"line {number}", f"unknown run header fields {sorted(unknown)}.")
    return RunInfo(
        tool=tool,
        tool_version=header.get("tool_version"),
        category=header.get("category"),
        successful=header.get("successful", True),
        complete=header.get("complete", True),
    )


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, parsed object) for each non-blank line."""
    with open_text(path) as stream:
        number = 0
        try:
            while True:
                line = stream.readline(Limits.LINE + 1)
                if not line:
                    return
                number += 1
                if len(line) > Limits.LINE and not line.endswith("\n"):
                    raise fail(
                        path, f"line {number}", f"longer than {Limits.LINE} characters; refused."
                    )
                if not line.strip():
                    continue
                yield number, _parse(path, number, line)
        except UnicodeDecodeError as exc:
            raise fail(
                path,
                f"line {number + 1}",
                "is not valid UTF-8 text; re-encode the file as UTF-8.",
            ) from exc


def _parse(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = loads_exact(line)
    except RecursionError as exc:
        raise fail(path, f"line {number}", "JSON nested too deeply; refused.") from exc
    except ValueError as exc:
        column = getattr(exc, "colno", None)
        where = f"line {number}, column {column}" if column else f"line {number}"
        problem = getattr(exc, "msg", str(exc))
        raise fail(path, where, f"malformed JSON ({problem}).") from exc
    if not isinstance(record, dict):
        raise fail(path, f"line {number}", "each line must be a JSON object (one Finding).")
    if has_lone_surrogate(line):
        # Caught here, not when recorded: validation would turn one in an
        # object key into U+FFFD without a word.
        raise fail(path, f"line {number}", LONE_SURROGATE_PROBLEM)
    if _depth(record) > Limits.DEPTH:
        raise fail(path, f"line {number}", f"JSON nested deeper than {Limits.DEPTH} levels.")
    return record


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def _findings(
    path: Path, options: ReadOptions, tools: dict[str, int]
) -> Iterator[tuple[int, Finding]]:
    for number, record in _records(path):
        if _RUN in record:
            continue
        try:
            finding = Finding.model_validate(record)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "(record)"
            raise InputError(
                f"{path} at line {number}, field '{field}': {error['msg']}; the line is "
                "not a valid trailseal finding."
            ) from None
        location = finding.location
        secret = finding.category == "secret" and location and location.snippet
        if secret and location and location.snippet and not is_redacted(location.snippet):
            finding = finding.model_copy(
                update={
                    "location": location.model_copy(
                        update={"snippet": redact_snippet(options.redact, location.snippet)}
                    )
                }
            )
        yield tools[finding.tool], finding
