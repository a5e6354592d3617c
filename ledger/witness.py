"""Witness directories: copies of checkpoints kept away from the database.

A witness directory can live anywhere the ledger's writer cannot rewrite
(another disk, a git repository, an object-locked bucket mount). Each
checkpoint is written once, to a file named by its tree size; a second,
different checkpoint for a size already witnessed is a fork and is refused.
``trailseal verify --witness DIR`` then proves the ledger consistent with
every checkpoint there, so a deleted tail or a rolled-back database fails
even when the attacker also deleted the checkpoints inside the database.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ledger.errors import InputError, VerificationError
from ledger.note import CheckpointBody, parse_note

_NAME = re.compile(r"^checkpoint-(\d{12})\.txt$")


def _path(directory: Path, size: int) -> Path:
    return directory / f"checkpoint-{size:012d}.txt"


def write(directory: Path, note: str) -> tuple[Path, bool]:
    """Add a checkpoint to ``directory``; returns (path, whether it was new).

    Raises :class:`VerificationError` when a different checkpoint for the
    same size is already there: the ledger has forked.
    """
    body = CheckpointBody.parse(parse_note(note).text)
    directory.mkdir(parents=True, exist_ok=True)
    path = _path(directory, body.size)
    if path.exists():
        existing = path.read_text(encoding="utf-8")
        if existing == note:
            return path, False
        if CheckpointBody.parse(parse_note(existing).text) != body:
            raise VerificationError(
                f"{path} already holds a different checkpoint for size {body.size}: "
                f"the ledger has forked from what this witness saw"
            )
        return path, False
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(note)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path, True


def read_all(directory: Path) -> list[tuple[Path, str]]:
    """Every witnessed checkpoint in ``directory``, smallest size first."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such witness directory")
    found = []
    for path in sorted(directory.iterdir()):
        if _NAME.match(path.name):
            try:
                found.append((path, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: cannot read the witnessed checkpoint: {exc}") from None
    return found
