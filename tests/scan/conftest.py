"""Shared helpers for the scanner tests."""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"

# The corpus is source to be scanned, not tests to be run.
collect_ignore = ["corpus"]
LABEL = re.compile(r"#\s*expect:\s*([A-Z0-9 ,]+)")


def expected_labels(app: Path) -> set[tuple[str, int, str]]:
    """(path, line, rule) for every ``# expect:`` label under ``app``."""
    labels: set[tuple[str, int, str]] = set()
    for path in sorted(app.rglob("*.py")):
        rel = path.relative_to(app).as_posix()
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            match = LABEL.search(line)
            if match:
                for rule in re.split(r"[ ,]+", match.group(1).strip()):
                    labels.add((rel, number, rule))
    return labels
