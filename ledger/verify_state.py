"""The state an incremental verification resumes from, kept outside the database.

The file holds the last verified signed checkpoint, the compact range of the
tree at its size and the last leaf hash. Nothing in it is trusted: the
checkpoint's signature is checked against the trusted key again, the compact
range must hash to its signed root, and the last leaf must equal the stored
one. An edited file can therefore make verification fail, never pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ledger import merkle
from ledger.errors import InputError
from ledger.verify import Result, ResumePoint

_FORMAT = "trailseal-verify-state/v1"


def save(path: Path, result: Result) -> None:
    """Record where a successful verification ended (atomically)."""
    if result.note is None or result.frontier is None or result.size != result.entries:
        return
    document = {
        "format": _FORMAT,
        "origin": result.origin,
        "checkpoint": result.note,
        "frontier": [h.hex() for h in result.frontier.hashes],
        "size": result.frontier.size,
        "last_leaf": result.last_leaf.hex(),
        "key_history": [list(item) for item in result.key_history],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def load(path: Path) -> ResumePoint | None:
    """The saved resume point, or None when there is none yet (a full run follows)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable verification state: {exc}") from None
    try:
        if document["format"] != _FORMAT:
            raise ValueError(f"unknown format {document['format']!r}")
        hashes = [bytes.fromhex(h) for h in document["frontier"]]
        frontier = merkle.Frontier(int(document["size"]), hashes)
        return ResumePoint(
            note=str(document["checkpoint"]),
            frontier=frontier,
            last_leaf=bytes.fromhex(document["last_leaf"]),
            key_history=[
                (int(seq), str(kind), str(digest))
                for seq, kind, digest in document.get("key_history", [])
            ],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed verification state: {exc}") from None
