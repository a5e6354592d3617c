"""Keyed digests recorded in place of secret values.

A secret scanner reports the secret it found. trailseal records, instead
of the value, ``hmac-sha256:<hex>``: HMAC-SHA256 (RFC 2104) of the value's
UTF-8 bytes under a key that belongs to one ledger. The same leaked value
gives the same digest in every run, so it stays recognisable, while the
digest reveals nothing without the key, and short or guessable secrets
cannot be confirmed by hashing candidates (as a plain SHA-256 would allow).

The key is generated with the ledger and kept beside its signing key; it
never appears in entries, logs or reports.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from ledger.errors import InputError
from ledger.ingest.base import Redactor

PREFIX: Final = "hmac-sha256:"
MIN_KEY_BYTES: Final = 16


def make_redactor(key: bytes) -> Redactor:
    """Return a function mapping a secret to its keyed digest under ``key``.

    The function is idempotent: a value that is already a digest is returned
    unchanged, so redacting twice cannot hide the original digest.
    """
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"redaction key is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed")
    base = hmac.new(key, digestmod=hashlib.sha256)

    def redact(value: str) -> str:
        if is_redacted(value):
            return value
        mac = base.copy()
        mac.update(value.encode("utf-8", "surrogatepass"))
        return PREFIX + mac.hexdigest()

    return redact


def is_redacted(value: str) -> bool:
    """Whether ``value`` is a digest this module wrote."""
    return (
        len(value) == len(PREFIX) + 64
        and value.startswith(PREFIX)
        and all(c in "0123456789abcdef" for c in value[len(PREFIX) :])
    )
