"""Gitleaks JSON reports, v8 and v7.

v8 (``gitleaks detect -f json``) is an array of ``{RuleID, Description,
File, StartLine, EndLine, StartColumn, Match, Secret, Line, Commit,
Author, Email, Date, Message, Tags, Entropy, Fingerprint}``; v7 is an
array of ``{rule, line, lineNumber, offender, offenderEntropy, commit,
file, author, email, date, commitMessage, tags}``.

No raw value is kept: ``Secret`` and ``Match`` (v7: ``offender``) become
keyed digests, and ``Line`` (v7: ``line``), which holds the secret in
context, is dropped. Gitleaks' own ``Fingerprint`` is
``commit:file:rule:line`` and changes whenever a line moves, so it is kept
as a property but not offered for identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ijson

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    Sanitizer,
    fail,
    head_text,
    json_error,
    make_finding,
    make_location,
    open_json,
    prescan,
)
from ledger.ingest.identity import redact_snippet
from schemas.finding import Finding


class GitleaksReader:
    """Gitleaks v7 and v8 JSON reports."""

    name: ClassVar[str] = "gitleaks"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith("["):
            return False
        # An empty report is '[]'; no other format here is a top-level array.
        if text.replace(" ", "").replace("\n", "").replace("\r", "") == "[]":
            return True
        v8 = '"RuleID"' in text and ('"Secret"' in text or '"Match"' in text)
        v7 = '"offender"' in text and '"rule"' in text
        return v8 or v7

    def read(self, path: Path, options: ReadOptions) -> Report:
        prescan(path)
        with open_json(path) as stream:
            first = next(ijson.basic_parse(stream), ("", None))
        if first[0] != "start_array":
            raise fail(path, "$", "a Gitleaks report is a JSON array of findings.")
        report = Report(format=self.name, runs=[RunInfo(tool="gitleaks")], findings=iter(()))
        report.findings = _findings(path, options, report)
        return report


def _findings(path: Path, options: ReadOptions, report: Report) -> Iterator[tuple[int, Finding]]:
    sanitizer = Sanitizer()
    with open_json(path) as stream:
        try:
            for index, leak in enumerate(ijson.items(stream, "item", use_float=False)):
                if not isinstance(leak, dict):
                    raise fail(path, f"$[{index}]", "a Gitleaks finding must be a JSON object.")
                if "RuleID" in leak:
                    yield 0, _v8(leak, options, sanitizer)
                elif "rule" in leak or "offender" in leak:
                    yield 0, _v7(leak, options, sanitizer)
                else:
                    raise fail(
                        path,
                        f"$[{index}]",
                        "neither a Gitleaks v8 finding (RuleID) nor a v7 one (rule, offender).",
                    )
        except ijson.JSONError as exc:
            raise json_error(path, exc) from None
    report.warnings.extend(sanitizer.warnings())


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _snippet(match: str | None, secret: str | None, options: ReadOptions) -> str | None:
    """The match (the secret in its line) digested like any code, else the secret's digest."""
    if match:
        return redact_snippet(options.redact, match)
    return options.redact(secret) if secret else None


def _v8(leak: dict[str, Any], options: ReadOptions, sanitizer: Sanitizer) -> Finding:
    rule_id = sanitizer.text(leak.get("RuleID"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    secret, match = _str(leak.get("Secret")), _str(leak.get("Match"))
    tags = leak.get("Tags") if isinstance(leak.get("Tags"), list) else []
    properties = {
        "secret": options.redact(secret) if secret else None,
        "commit": _str(leak.get("Commit")),
        "author": _str(leak.get("Author")),
        "email": _str(leak.get("Email")),
        "date": _str(leak.get("Date")),
        "commit_message": _str(leak.get("Message")),
        "entropy": leak.get("Entropy"),
        "tags": tags or None,
        "end_column": leak.get("EndColumn"),
        "gitleaks_fingerprint": _str(leak.get("Fingerprint")),
        "link": _str(leak.get("Link")),
        "symlink_file": _str(leak.get("SymlinkFile")),
    }
    description = _str(leak.get("Description"))
    return make_finding(
        tool="gitleaks",
        rule_id=rule_id,
        severity="high",
        title=sanitizer.text(description, Limits.TITLE, "title") or rule_id,
        message=sanitizer.text(description, Limits.TEXT, "message"),
        location=make_location(
            sanitizer.path(leak.get("File"), options.repo_root),
            start_line=leak.get("StartLine"),
            end_line=leak.get("EndLine"),
            start_column=leak.get("StartColumn"),
            snippet=_snippet(match, secret, options),
        ),
        cwe=["CWE-798"],
        category="secret",
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )


def _v7(leak: dict[str, Any], options: ReadOptions, sanitizer: Sanitizer) -> Finding:
    rule = sanitizer.text(leak.get("rule"), Limits.IDENTIFIER, "rule_id") or "unidentified"
    offender = _str(leak.get("offender"))
    tags = leak.get("tags")
    properties = {
        "secret": options.redact(offender) if offender else None,
        "commit": _str(leak.get("commit")),
        "repo": _str(leak.get("repo")),
        "author": _str(leak.get("author")),
        "email": _str(leak.get("email")),
        "date": _str(leak.get("date")),
        "commit_message": _str(leak.get("commitMessage")),
        "entropy": leak.get("offenderEntropy"),
        "tags": [t.strip() for t in tags.split(",") if t.strip()]
        if isinstance(tags, str)
        else None,
        "leak_url": _str(leak.get("leakURL")),
    }
    return make_finding(
        tool="gitleaks",
        rule_id=rule,
        severity="high",
        title=rule,
        location=make_location(
            sanitizer.path(leak.get("file"), options.repo_root),
            start_line=leak.get("lineNumber"),
            snippet=options.redact(offender) if offender else None,
        ),
        cwe=["CWE-798"],
        category="secret",
        properties=sanitizer.exact({k: v for k, v in properties.items() if v is not None}),
    )
