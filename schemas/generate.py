"""Write the JSON Schema files for the public records: ``python -m schemas.generate``.

The files are committed; a test fails when a model changes and they were
not regenerated, so the published schema never drifts from the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.artifact import Artifact
from schemas.entry import Checkpoint, Entry
from schemas.finding import Finding

MODELS: dict[str, type[BaseModel]] = {
    "finding": Finding,
    "artifact": Artifact,
    "entry": Entry,
    "checkpoint": Checkpoint,
}

HERE = Path(__file__).parent


def render(model: type[BaseModel]) -> str:
    """The schema document for one model, as it is written to disk."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    for name, model in MODELS.items():
        (HERE / f"{name}.schema.json").write_text(render(model), encoding="utf-8")
        sys.stdout.write(f"wrote schemas/{name}.schema.json\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
