"""Write a synthetic SARIF 2.1.0 log with N results, for measuring the reader.

.venv/bin/python tests/ingest/generate_sarif.py 100000 /tmp/s100k.sarif
"""

from __future__ import annotations

import json
import random
import sys


def write(count: int, out: str, seed: int = 1) -> None:
    """Write ``count`` results over 50 rules and 1000 files, results before ``tool``."""
    rng = random.Random(seed)
    rules = [
        {
            "id": f"R{i}",
            "shortDescription": {"text": f"Rule {i}"},
            "defaultConfiguration": {"level": "warning"},
            "properties": {
                "tags": ["security", f"external/cwe/cwe-{i + 20}"],
                "security-severity": "7.5",
            },
        }
        for i in range(50)
    ]
    with open(out, "w", encoding="utf-8") as f:
        f.write('{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json",')
        f.write('"runs":[{"results":[')
        for i in range(count):
            if i:
                f.write(",")
            result = {
                "ruleId": f"R{i % 50}",
                "ruleIndex": i % 50,
                "level": "error",
                "message": {"text": f"Problem {{0}} in function f{i}", "arguments": [str(i)]},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": f"src/pkg{i % 100}/mod{i % 1000}.py",
                                "uriBaseId": "%SRCROOT%",
                            },
                            "region": {
                                "startLine": i % 500 + 1,
                                "startColumn": 5,
                                "endLine": i % 500 + 2,
                                "snippet": {"text": f"    value = compute_{i}(x, y)"},
                            },
                        }
                    }
                ],
                "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"},
                "properties": {"confidence": 0.9, "precision": "high"},
            }
            json.dump(result, f)
        f.write('],"tool":{"driver":{"name":"gen","version":"1.0","rules":')
        json.dump(rules, f)
        f.write('}},"invocations":[{"executionSuccessful":true}],')
        f.write('"automationDetails":{"id":"ci/gen/123"}}]}')


if __name__ == "__main__":
    write(int(sys.argv[1]), sys.argv[2])
