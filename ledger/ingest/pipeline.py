"""From a file to entries: provenance, identity, lifecycle, one atomic batch.

For one artifact file, under the ledger's append lock:

1. hash the raw bytes; the same bytes already recorded for the same
   repository and commit are a duplicate and nothing is written (CI retries
   never double-count, while an identical report on a new commit is still
   evidence that the scan ran);
2. read it with its format's reader (:mod:`ledger.ingest.registry`);
3. give each finding its identity (:mod:`ledger.ingest.identity`) within its
   scope, the repository, tool and automation category of its run;
4. write one ``finding`` entry per result, with the lifecycle event it is:
   ``new``, ``seen`` or ``reopened``; an ``acceptance`` entry the first time
   a suppressed finding is seen;
5. when every run of a scope in the file succeeded and was complete, write a
   ``finding-fixed`` entry for each finding of that scope still open and not
   seen; a failed or partial run closes nothing;
6. write the ``artifact`` entry: digest, provenance, runs and counts.

The batch and its checkpoint commit together; an error anywhere leaves the
ledger as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ledger import canonical
from ledger.canonical import CanonicalizationError
from ledger.errors import InputError
from ledger.ingest import registry
from ledger.ingest.base import RunInfo
from ledger.ingest.parallel import Stream, open_stream
from ledger.ledger import Clock, Ledger, utc_now
from ledger.note import NoteSigner
from ledger.projection import OPEN_STATUSES
from schemas.artifact import Artifact, CIContext

log = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20


@dataclass
class Outcome:
    """What happened to one file; the fields of ``trailseal ingest --json``."""

    file: str
    status: str
    format: str | None = None
    results: int = 0
    entries: int = 0
    error: str | None = None
    sha256: str | None = None
    first_seq: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "format": self.format,
            "results": self.results,
            "entries": self.entries,
            "error": self.error,
            "sha256": self.sha256,
            "first_seq": self.first_seq,
            "counts": self.counts,
            "warnings": self.warnings,
        }


class _Duplicate(Exception):
    def __init__(self, seq: int) -> None:
        self.seq = seq


class FileDigest(NamedTuple):
    """What was hashed: the digest, the size, and the file's stat stamp then."""

    sha256: str
    size: int
    stamp: tuple[int, ...]


def _stamp(st: os.stat_result) -> tuple[int, ...]:
    """Device, inode, size, modification and change times: any write changes one."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_digest(path: Path) -> FileDigest:
    """SHA-256 and size of a file's raw bytes, read in chunks."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an artifact file")
    digest = hashlib.sha256()
    size = 0
    try:
        # Without O_NONBLOCK, opening a FIFO waits for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputError(
                    f"{path}: is not a regular file (a pipe, device or socket); "
                    "give the report file itself"
                )
            os.set_blocking(fd, True)
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
                size += len(chunk)
            stamp = _stamp(os.fstat(fd))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror}") from None
    return FileDigest(digest.hexdigest(), size, stamp)


def _check_unchanged(path: Path, name: str, digest: FileDigest) -> None:
    """Refuse a file that was written to, or replaced, after it was hashed: what
    was read might not be what the recorded digest stands for."""
    try:
        same = _stamp(os.stat(path)) == digest.stamp
    except OSError:
        same = False
    if not same:
        raise InputError(
            f"{name}: the file changed while it was being read (a scanner still writing "
            "it?); nothing of it was written. Ingest it once it is complete."
        )


def scope_of(repository: str | None, run: RunInfo) -> dict[str, Any]:
    """A run's scope: repository + tool + automation category, and its id."""
    key = [repository or "", run.tool, run.category or ""]
    scope_id = hashlib.sha256(canonical.dumps(key)).hexdigest()
    return {"id": scope_id, "repository": repository, "tool": run.tool, "category": run.category}


class _Occurrences:
    """Gives repeated identities within one artifact distinct, stable suffixes."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def claim(self, scope_id: str, ident: str) -> str:
        base = ident
        self._counts[(scope_id, base)] += 1
        n = self._counts[(scope_id, base)]
        if n > 1:
            ident = hashlib.sha256(f"{base}#{n}".encode()).hexdigest()
        self.seen[scope_id].add(ident)
        return ident


def ingest_file(
    ledger: Ledger,
    signer: NoteSigner,
    path: Path,
    *,
    ci: CIContext,
    redaction_key: bytes,
    fmt: str | None = None,
    display_name: str | None = None,
    repo_root: str | None = None,
    category: str | None = None,
    partial: bool = False,
    clock: Clock = utc_now,
    on_batch: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Record one artifact file as one batch. Raises :class:`InputError` for bad input.

    ``category`` replaces every run's automation category; ``partial`` marks
    every run incomplete, so the artifact closes no finding.
    """
    name = display_name or str(path)
    outcome = Outcome(file=name, status="rejected")
    digest = file_digest(path)
    outcome.sha256 = digest.sha256
    reader = registry.get_reader(fmt) if fmt else registry.detect_format(path)
    outcome.format = reader.name
    stream = open_stream(reader.name, path, redaction_key, repo_root, digest.size)
    if category is not None or partial:
        stream.runs = [
            dataclasses.replace(
                run,
                category=category if category is not None else run.category,
                complete=run.complete and not partial,
            )
            for run in stream.runs
        ]
    try:
        return _record(ledger, signer, stream, outcome, path, digest, ci, clock, on_batch)
    finally:
        stream.close()


def _record(
    ledger: Ledger,
    signer: NoteSigner,
    stream: Stream,
    outcome: Outcome,
    path: Path,
    digest: FileDigest,
    ci: CIContext,
    clock: Clock,
    on_batch: Callable[[int, int], None] | None,
) -> Outcome:
    sha256, size = digest.sha256, digest.size
    repository = ci.repository
    try:
        scopes = [scope_of(repository, run) for run in stream.runs]
    except CanonicalizationError as exc:
        raise _unrecordable(outcome.file, "a run's tool name or category", exc) from None
    counts: dict[str, int] = defaultdict(int)
    occurrences = _Occurrences()
    try:
        with ledger.batch(signer, clock) as batch:
            # (1) duplicate artifact: nothing to write.
            earlier = ledger.store.artifact_seq(
                batch.conn, sha256, repository or "", ci.commit or ""
            )
            if earlier is not None:
                raise _Duplicate(earlier)
            projection = batch.projection
            outcome.first_seq = batch.start

            # (3, 4) one entry per result.
            for run_index, base_identity, finding in stream.items:
                scope = scopes[run_index]
                ident = occurrences.claim(scope["id"], base_identity)
                row = projection.finding(scope["id"], ident)
                if row is None:
                    event = "new"
                elif row["status"] == "fixed":
                    event = "reopened"
                else:
                    event = "seen"
                try:
                    batch.append(
                        "finding",
                        {
                            "scope": scope,
                            "identity": ident,
                            "artifact": sha256,
                            "event": event,
                            "finding": finding,
                        },
                    )
                except CanonicalizationError as exc:
                    where = f"result {outcome.results + 1}"
                    raise _unrecordable(outcome.file, where, exc) from None
                counts[event] += 1
                outcome.results += 1
                # 3.35.3: a rejected suppression leaves the result unsuppressed.
                suppressions = [
                    s for s in finding.get("suppressions") or () if s.get("status") != "rejected"
                ]
                if suppressions and (row is None or row["acceptance"] == "none"):
                    batch.append(
                        "acceptance",
                        {
                            "scope": scope,
                            "identity": ident,
                            "artifact": sha256,
                            "suppression": _suppression(suppressions[0]),
                        },
                    )
                    counts["acceptance"] += 1

            # (5) fixed: only on complete, successful runs of the scope.
            closing = _closing_scopes(stream.runs, scopes)
            for scope in closing:
                # Rows this batch touched were seen in it; only older ones can close.
                stored = ledger.store.finding_rows(
                    batch.conn, scope["id"], OPEN_STATUSES, before_seq=batch.start
                )
                for ident in [row["identity"] for row in stored]:
                    if ident in occurrences.seen[scope["id"]]:
                        continue
                    current = projection.finding(scope["id"], ident)
                    if current is None or current["status"] not in OPEN_STATUSES:
                        continue
                    batch.append(
                        "finding-fixed",
                        {
                            "scope": scope,
                            "identity": ident,
                            "artifact": sha256,
                            "event": "fixed",
                        },
                    )
                    counts["fixed"] += 1

            # Every result has been read: the bytes read must be those hashed.
            _check_unchanged(path, outcome.file, digest)

            # (6) the artifact itself, with what this batch did.
            runs = stream.runs
            tools = sorted({run.tool for run in runs})
            # A SARIF log may hold no run (the tool found nothing to run, or
            # failed to start): recorded, as no evidence of a complete scan.
            artifact = Artifact(
                sha256=sha256,
                size=size,
                name=outcome.file,
                format=outcome.format or "",
                tool=", ".join(tools) or "none",
                tool_version=runs[0].tool_version if runs else None,
                category=runs[0].category if runs else None,
                ci=ci,
                successful=bool(runs) and all(run.successful for run in runs),
                complete=bool(runs) and all(run.complete for run in runs),
                results=outcome.results,
            )
            # Readers may repeat a run's warnings among the report's own.
            warnings = list(stream.warnings)
            if not runs:
                warnings.append("the artifact describes no tool run; it closes no finding")
            for run in runs:
                warnings.extend(w for w in run.warnings if w not in warnings)
            batch.append(
                "artifact",
                {
                    "artifact": artifact.model_dump(mode="json", exclude_none=True),
                    "runs": [
                        {
                            "scope": scope,
                            "tool_version": run.tool_version,
                            "successful": run.successful,
                            "complete": run.complete,
                            "closes_findings": scope in closing,
                        }
                        for run, scope in zip(runs, scopes, strict=True)
                    ],
                    "counts": dict(sorted(counts.items())),
                    "warnings": warnings[:100],
                },
            )
            outcome.entries = batch.size - batch.start
            outcome.warnings = warnings
            if on_batch is not None:
                on_batch(batch.start, batch.size)
    except _Duplicate as dup:
        outcome.status = "duplicate"
        outcome.first_seq = dup.seq
        outcome.entries = 0
        outcome.results = 0
        return outcome
    outcome.status = "recorded"
    outcome.counts = dict(counts)
    log.info("recorded %s: %d results, %d entries", sha256[:16], outcome.results, outcome.entries)
    return outcome


def _unrecordable(name: str, where: str, exc: CanonicalizationError) -> InputError:
    """The error for artifact text with no exact JSON form, naming file and place."""
    if "surrogates" in str(exc):
        problem = (
            "holds text that is not valid Unicode (a lone UTF-16 surrogate, written "
            "as an escape such as \\ud800); the scanner's output is corrupt"
        )
    else:
        problem = f"cannot be recorded exactly ({exc})"
    return InputError(f"{name} at {where}: {problem}. Nothing of the file was written.")


def _suppression(value: dict[str, Any]) -> dict[str, Any]:
    """A suppression as recorded: kind, status and justification (None when absent)."""
    return {
        "kind": value.get("kind"),
        "status": value.get("status", "accepted"),
        "justification": value.get("justification"),
    }


def _closing_scopes(runs: list[RunInfo], scopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scopes whose every run in this artifact was successful and complete."""
    verdict: dict[str, bool] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for run, scope in zip(runs, scopes, strict=True):
        ok = run.successful and run.complete
        verdict[scope["id"]] = verdict.get(scope["id"], True) and ok
        by_id[scope["id"]] = scope
    return [by_id[s] for s, ok in verdict.items() if ok]


def record_document(
    ledger: Ledger, signer: NoteSigner, kind: str, body: dict[str, Any], clock: Clock = utc_now
) -> int:
    """Append one standalone entry (a JWKS snapshot, an export record) as its own batch."""
    with ledger.batch(signer, clock) as batch:
        return batch.append(kind, body)
