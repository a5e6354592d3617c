"""Fixtures for the runtime tests: the generated scenario and the CLI app."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer

sys.path.insert(0, str(Path(__file__).parent))

from runtime_traffic import Scenario, generate


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return generate(seed=7)


@pytest.fixture
def app() -> typer.Typer:
    """The trailseal app, with the runtime group as cli/main.py registers it."""
    from cli import runtime
    from cli.main import app as main_app

    if not any(group.name == "runtime" for group in main_app.registered_groups):
        runtime.register(main_app)
    return main_app
