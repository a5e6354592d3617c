"""The committed JSON Schema files are exactly what the models generate."""

from __future__ import annotations

import json

import pytest

from schemas.generate import HERE, MODELS, render


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_file_matches_model(name: str) -> None:
    path = HERE / f"{name}.schema.json"
    assert path.exists(), f"{path} is missing; run 'make schemas'"
    assert path.read_text(encoding="utf-8") == render(MODELS[name]), (
        f"{path} is out of date with the model; run 'make schemas'"
    )


def test_finding_schema_describes_every_field() -> None:
    schema = json.loads((HERE / "finding.schema.json").read_text(encoding="utf-8"))
    for field, spec in schema["properties"].items():
        assert spec.get("description"), f"Finding.{field} has no description"
