"""Walking the tree, parsing, running the rules, applying suppressions.

Source is parsed with :mod:`ast` and never imported or executed: scanning
a repository must not run its code. A file that cannot be analysed is reported
as a warning and skipped, and the scan goes on: one that does not parse
(Python 2, templates), cannot be read (permissions, a symlink loop), is no
regular file (a FIFO would block the read), is too large (generated data) or
nests too deeply for the parser or the rules. A path named on the command line
that does not exist is an :class:`~ledger.errors.InputError`.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import logging
import os
import re
import stat
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ledger.errors import InputError
from ledger.scan import bola_rules, jwt_keys, jwt_rules
from ledger.scan.project import (
    MAX_NESTING,
    FunctionNode,
    Hit,
    Module,
    NestingTooDeep,
    Project,
    index_module,
)
from ledger.scan.rules import RULES, SEVERITY_ORDER, Rule
from ledger.scan.values import Scope

logger = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages",
     ".tox", ".nox", ".mypy_cache", ".ruff_cache", "build", "dist"}
)  # fmt: skip
"""Directories never descended into: dependencies and build output are not the project's."""

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Larger files are skipped. Hand-written modules stay well below (the largest in
several big web projects is half a megabyte); parsing a 20 MB generated table takes
gigabytes of memory for nothing the rules look at."""

_NEWLINE = re.compile(r"\r\n|\r|\n")
"""Line ends as Python's tokenizer counts them; ``str.splitlines`` also splits at form
feeds and other separators, which would shift every line after them."""

_SUPPRESSION = re.compile(r"#\s*trailseal:\s*ignore\[([A-Z0-9_,\s]+)\]\s*(.*)$")


@dataclass(frozen=True)
class ScanFinding:
    """One reported problem, located, fingerprinted and possibly suppressed."""

    rule: Rule
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    snippet: str
    logical: str
    fingerprint: str
    suppression: str | None = None
    """The justification of an inline suppression, when one applies."""


@dataclass
class ScanReport:
    """The outcome of one scan."""

    root: Path
    findings: list[ScanFinding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    lines: int = 0

    @property
    def active(self) -> list[ScanFinding]:
        """Findings not suppressed in the source."""
        return [f for f in self.findings if f.suppression is None]

    def at_or_above(self, severity: str) -> list[ScanFinding]:
        """Active findings of ``severity`` or worse, for the CI gate."""
        floor = SEVERITY_ORDER[severity]
        return [f for f in self.active if SEVERITY_ORDER[f.rule.severity] >= floor]


def scan(paths: Sequence[Path], base: Path | None = None) -> ScanReport:
    """Scan files and directories of Python source.

    Modules are named and analysed relative to the paths' common root. Found
    paths are reported relative to ``base`` when the root lies under it (the
    CLI passes the current directory, which is where Bandit and Semgrep
    report from), so ``scan src`` reports ``src/app.py`` as they do.
    """
    warnings: list[str] = []
    root, files = collect(paths, warnings)
    prefix = ""
    if base is not None and root.is_relative_to(base.resolve()):
        prefix = root.relative_to(base.resolve()).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
    # Every parsed tree stays alive until the rules have run, and the cyclic collector
    # would walk all of them again each time parsing allocates enough nodes: on a
    # large tree that is most of the scan. Syntax trees hold no cycles; pause it.
    paused = gc.isenabled()
    gc.disable()
    project = Project()
    try:
        report = _scan(root, files, project, warnings)
        if prefix:
            report.findings = [replace(f, path=prefix + f.path) for f in report.findings]
        return report
    finally:
        for module in project.modules:
            module.release()
        if paused:
            gc.enable()


def _scan(root: Path, files: list[Path], project: Project, warnings: list[str]) -> ScanReport:
    report = ScanReport(root=root, warnings=warnings)
    for path in files:
        module = _parse(path, root, report)
        if module is None:
            continue
        try:
            index_module(module, project)
        except NestingTooDeep as exc:
            module.release()
            report.warnings.append(
                f"{module.rel}: line {exc.line}: nested more than {MAX_NESTING} levels deep "
                "(generated code?); skipped"
            )
            continue
        report.files += 1
        report.lines += module.line_count
    hits: list[Hit] = []
    for module in project.modules:
        if module.is_test:
            # Tests decode tokens unverified to inspect them, pin nothing, hold fixed keys
            # and serve no requests: they are read for their definitions only.
            continue
        scopes: dict[FunctionNode | None, Scope] = {}
        try:
            found = jwt_rules.check(module, project, scopes)
            found += jwt_keys.check_jwks_fetches(module)
            found += bola_rules.check(module, project, scopes)
        except Exception as exc:  # one file must not end the scan
            logger.debug("checking %s failed", module.rel, exc_info=True)
            report.warnings.append(
                f"{module.rel}: the rules failed on this file ({type(exc).__name__}: {exc}); "
                "its findings are missing, please report this"
            )
            continue
        hits.extend(found)
    hits.extend(jwt_keys.check_settings(project))
    report.warnings.extend(project.warnings)
    report.findings = _finish(hits, project)
    logger.info("scanned %d files, %d lines, %d findings", report.files, report.lines,
                len(report.findings))  # fmt: skip
    return report


def collect(paths: Sequence[Path], warnings: list[str] | None = None) -> tuple[Path, list[Path]]:
    """The common root of ``paths`` and every ``.py`` file under them, sorted.

    Directories that cannot be listed are left out, each with a line in ``warnings``.
    Symbolic links to directories are not followed, so a link loop ends nowhere.
    """
    if not paths:
        raise InputError("scan: no path given; name at least one file or directory")
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory; nothing to scan there")
        if path.is_dir():
            files.extend(_walk(path.resolve(), warnings if warnings is not None else []))
        else:
            files.append(path.resolve())
    dirs = [str(p.resolve() if p.is_dir() else p.resolve().parent) for p in paths]
    return Path(os.path.commonpath(dirs)), sorted(set(files))


def _walk(top: Path, warnings: list[str]) -> Iterator[Path]:
    def unlisted(exc: OSError) -> None:
        warnings.append(f"{exc.filename}: cannot list the directory ({exc.strerror}); skipped")

    for dirpath, dirnames, filenames in os.walk(top, onerror=unlisted):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in filenames:
            if name.endswith(".py"):
                yield Path(dirpath, name)


def _parse(path: Path, root: Path, report: ScanReport) -> Module | None:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            report.warnings.append(f"{rel}: not a regular file; skipped")
            return None
        if info.st_size > MAX_FILE_BYTES:
            report.warnings.append(
                f"{rel}: {info.st_size} bytes, over the {MAX_FILE_BYTES} bytes read from one "
                "file (generated code?); skipped"
            )
            return None
        data = path.read_bytes()
    except OSError as exc:
        report.warnings.append(
            f"{rel}: cannot read the file ({exc.strerror or exc}); check its permissions "
            "or leave it out of the scan; skipped"
        )
        return None
    try:
        tree = ast.parse(data, filename=rel)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        message = getattr(exc, "msg", None) or str(exc)
        report.warnings.append(f"{rel}: line {line}: not valid Python 3 ({message}); skipped")
        return None
    except (RecursionError, MemoryError):
        # CPython's parser gives up on chains of thousands of operators with these.
        report.warnings.append(f"{rel}: nested too deeply for the Python parser; skipped")
        return None
    lines = _source_lines(data)
    marked = tuple((n, text) for n, text in enumerate(lines, start=1) if "trailseal:" in text)
    # Keep the bytes rather than the lines: a list of line strings takes several times the
    # file's size, and only the few lines a finding points at are read again.
    return Module(rel=rel, tree=tree, source=data, line_count=len(lines), marked_lines=marked)


def _source_lines(data: bytes) -> list[str]:
    """The text of each line, decoded as Python decodes the file (BOM, coding cookie)."""
    try:
        encoding, _ = tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)
        text = data.decode(encoding, errors="replace")
    except (SyntaxError, LookupError):
        text = data.decode("utf-8", errors="replace")
    lines = _NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


def _finish(hits: list[Hit], project: Project) -> list[ScanFinding]:
    seen: set[tuple[str, str, int]] = set()
    findings: list[ScanFinding] = []
    occurrences: dict[str, int] = {}
    suppressions = {m.rel: _suppressions(m) for m in project.modules}
    texts: dict[str, list[str]] = {}
    ordered = sorted(hits, key=lambda h: (h.module.rel, getattr(h.node, "lineno", 1), h.rule_id))
    for hit in ordered:
        line = getattr(hit.node, "lineno", 1)
        key = (hit.rule_id, hit.module.rel, line)
        if key in seen:
            continue
        seen.add(key)
        rule = RULES[hit.rule_id]
        lines = texts.get(hit.module.rel)
        if lines is None:
            lines = texts[hit.module.rel] = _source_lines(hit.module.source)
        snippet = lines[line - 1].strip() if line <= len(lines) else ""
        logical = hit.module.logical_name(hit.node)
        # Identity survives moved lines: rule, file, enclosing function and the
        # normalised source text, plus a counter for identical repeats.
        base = "\0".join((rule.id, hit.module.rel, logical, " ".join(snippet.split())))
        count = occurrences[base] = occurrences.get(base, 0) + 1
        digest = hashlib.sha256(f"{base}\0{count}".encode()).hexdigest()[:32]
        reasons = suppressions[hit.module.rel].get(line, {})
        end_line = getattr(hit.node, "end_lineno", None) or line
        findings.append(
            ScanFinding(
                rule=rule,
                path=hit.module.rel,
                line=line,
                column=_column(lines, line, getattr(hit.node, "col_offset", 0)),
                end_line=end_line,
                end_column=_column(lines, end_line, getattr(hit.node, "end_col_offset", 0)),
                message=f"{rule.title}: {hit.message}.",
                snippet=snippet,
                logical=logical,
                fingerprint=digest,
                suppression=reasons.get(rule.id) or None,
            )
        )
    findings.extend(_reasonless(project))
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule.id))


def _column(lines: list[str], line: int, offset: int) -> int:
    """ast offsets count UTF-8 bytes; SARIF columns here count code points (1-based)."""
    text = lines[line - 1] if line <= len(lines) else ""
    return len(text.encode()[:offset].decode("utf-8", errors="replace")) + 1


def _suppressions(module: Module) -> dict[int, dict[str, str]]:
    """Line to {rule id: reason}. A comment alone on its line covers the next line."""
    found: dict[int, dict[str, str]] = {}
    for number, text in _suppression_lines(module):
        match = _SUPPRESSION.search(text)
        if match is None:
            continue
        target = number + 1 if text.lstrip().startswith("#") else number
        ids = [r.strip() for r in match.group(1).split(",") if r.strip()]
        for rule_id in ids:
            found.setdefault(target, {})[rule_id] = match.group(2).strip()
    return found


def _suppression_lines(module: Module) -> Iterator[tuple[int, str]]:
    yield from module.marked_lines


def _reasonless(project: Project) -> list[ScanFinding]:
    rule = RULES["SUP001"]
    out: list[ScanFinding] = []
    for module in project.modules:
        for number, text in _suppression_lines(module):
            match = _SUPPRESSION.search(text)
            if match is None or match.group(2).strip():
                continue
            snippet = text.strip()
            base = "\0".join((rule.id, module.rel, " ".join(snippet.split())))
            out.append(
                ScanFinding(
                    rule=rule,
                    path=module.rel,
                    line=number,
                    column=match.start() + 1,
                    end_line=number,
                    end_column=len(text) + 1,
                    message=f"{rule.title}: ignore[{match.group(1)}] gives no reason, so it "
                    "does not suppress anything.",
                    snippet=snippet,
                    logical="",
                    fingerprint=hashlib.sha256(base.encode()).hexdigest()[:32],
                )
            )
    return out
