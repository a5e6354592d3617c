"""Reading an artifact while its entries are appended.

Parsing a large report and appending its entries each cost about as much
per result, and both are Python. On a machine with a second core, a forked
child process reads the file, computes each finding's identity and JSON
form, and sends them in chunks through a pipe, while the parent holds the
append lock and writes. Small files, and systems without ``fork``, are read
in the same process through the same code.

The child only reads the artifact: it never touches the database, and it
leaves through ``os._exit`` so nothing inherited from the parent (pooled
connections) is closed or flushed from it.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ledger.errors import InputError, TrailsealError
from ledger.ingest import identity, registry
from ledger.ingest.base import ReadOptions, Report, RunInfo
from ledger.ingest.redact import make_redactor

log = logging.getLogger(__name__)

Prepared = tuple[int, str, dict[str, Any]]
"""(run index, identity before de-duplication, the finding as JSON)."""

PARALLEL_FROM_BYTES = 2 << 20
_CHUNK = 500


def prepare(report: Report) -> Iterator[Prepared]:
    """Each finding of a report with its identity and JSON form."""
    untrusted = report.untrusted_fingerprints
    for run_index, finding in report.findings:
        trust = finding.fingerprint is not None and finding.fingerprint not in untrusted
        ident = identity.finding_identity(finding, trust_fingerprint=trust)
        yield run_index, ident, finding.model_dump(mode="json", exclude_none=True)


@dataclass
class Stream:
    """A report being read: its runs now, its findings as they come, warnings at the end."""

    runs: list[RunInfo]
    items: Iterator[Prepared]
    warnings: list[str] = field(default_factory=list)
    close: Callable[[], None] = lambda: None


def open_stream(
    reader_name: str, path: Path, key: bytes, repo_root: str | None, size: int
) -> Stream:
    """Start reading ``path``; in a child process when it is large and fork exists."""
    if size >= PARALLEL_FROM_BYTES and "fork" in multiprocessing.get_all_start_methods():
        return _child_stream(reader_name, path, key, repo_root)
    report = _read(reader_name, path, key, repo_root)
    stream = Stream(report.runs, iter(()))
    stream.items = _collect_warnings(prepare(report), report, stream)
    return stream


def _read(reader_name: str, path: Path, key: bytes, repo_root: str | None) -> Report:
    reader = registry.get_reader(reader_name)
    return reader.read(path, ReadOptions(redact=make_redactor(key), repo_root=repo_root))


def _collect_warnings(
    items: Iterator[Prepared], report: Report, stream: Stream
) -> Iterator[Prepared]:
    yield from items
    # Readers add warnings found while streaming once the findings are used up.
    stream.warnings = list(report.warnings)


def _child(
    out: Connection,
    parent_end: Connection,
    reader_name: str,
    path: Path,
    key: bytes,
    root: str | None,
) -> None:
    # The fork copied the parent's end of the pipe. Kept open, it would let
    # this process block on a full pipe for ever once the parent is killed,
    # holding the terminal or CI log open; closed, a send then fails.
    parent_end.close()
    try:
        _send_report(out, reader_name, path, key, root)
    except OSError:  # the parent is gone: nobody to tell
        pass
    finally:
        out.close()


def _send_report(
    out: Connection, reader_name: str, path: Path, key: bytes, root: str | None
) -> None:
    try:
        report = _read(reader_name, path, key, root)
        out.send(("runs", report.runs))
        chunk: list[Prepared] = []
        for item in prepare(report):
            chunk.append(item)
            if len(chunk) >= _CHUNK:
                out.send(("items", chunk))
                chunk = []
        out.send(("items", chunk))
        out.send(("end", list(report.warnings)))
    except TrailsealError as exc:
        out.send(("error", exc))
    except BaseException as exc:  # reported to the parent, which raises it as a bug
        # The frames, and the exception's type only: its message may quote the artifact.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        out.send(("crash", f"{frames}{type(exc).__name__}"))


def _child_stream(reader_name: str, path: Path, key: bytes, root: str | None) -> Stream:
    context = multiprocessing.get_context("fork")
    # Objects that exist now are never collected by the child: its collector
    # would otherwise walk, and so copy, every page it shares with the parent.
    gc.freeze()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(send, receive, reader_name, path, key, root), daemon=True
    )
    process.start()
    gc.unfreeze()  # the parent collects as before
    send.close()

    def close() -> None:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()

    def message() -> tuple[str, Any]:
        try:
            kind, payload = receive.recv()
        except EOFError:
            close()
            raise InputError(f"{path}: the process reading the file stopped unexpectedly") from None
        if kind == "error":
            close()
            raise payload
        if kind == "crash":
            close()
            raise RuntimeError(f"reading {path} failed in the reader process:\n{payload}")
        return kind, payload

    _, runs = message()
    stream = Stream(runs, iter(()), close=close)

    def items() -> Iterator[Prepared]:
        while True:
            kind, payload = message()
            if kind == "end":
                stream.warnings = payload
                close()
                return
            yield from payload

    stream.items = items()
    log.debug("reading %s in process %s", path, process.pid)
    return stream
