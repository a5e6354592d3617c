"""Write the fixed signing keys the tests use: ``python tests/keys/make_test_keys.py``.

Seeds are derived from fixed labels, so running this again writes the same
files; the keys are for tests only and sign nothing else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ledger.note import NoteSigner

HERE = Path(__file__).parent
KEYS = {
    "primary": "test.trailseal.invalid/ledger",
    "rotated": "test.trailseal.invalid/ledger",
    "stranger": "test.trailseal.invalid/ledger",
}


def signer(label: str) -> NoteSigner:
    seed = hashlib.sha256(f"trailseal test key {label}".encode()).digest()
    return NoteSigner(KEYS[label], seed)


def main() -> None:
    for label in KEYS:
        key = signer(label)
        (HERE / f"{label}.key").write_text(key.skey() + "\n", encoding="ascii")
        (HERE / f"{label}.pub").write_text(key.verifier.vkey() + "\n", encoding="ascii")


if __name__ == "__main__":
    main()
