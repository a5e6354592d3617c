from __future__ import annotations

import pytest

from ledger.errors import InputError
from ledger.ingest.redact import is_redacted, make_redactor


def test_keyed_stable_and_idempotent():
    redact = make_redactor(b"k" * 32)
    digest = redact("AKIAIOSFODNN7EXAMPLE")
    assert digest.startswith("hmac-sha256:") and len(digest) == len("hmac-sha256:") + 64
    assert redact("AKIAIOSFODNN7EXAMPLE") == digest
    assert redact(digest) == digest and is_redacted(digest)
    assert make_redactor(b"j" * 32)("AKIAIOSFODNN7EXAMPLE") != digest
    assert "AKIA" not in digest


def test_short_key_refused():
    with pytest.raises(InputError):
        make_redactor(b"short")
