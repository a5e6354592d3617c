"""Fixtures of the ingest tests; the helpers they share are in ingest_support."""

from __future__ import annotations

import pytest
from ingest_support import make_options

from ledger.ingest.base import ReadOptions


@pytest.fixture
def options() -> ReadOptions:
    return make_options()
