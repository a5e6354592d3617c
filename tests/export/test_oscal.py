"""The OSCAL assessment-results document: shape, references, determinism, hostile text.

SCHEMA below transcribes the parts of NIST's published OSCAL assessment-results
JSON schema (usnistgov/OSCAL, json/schema/oscal_assessment-results_schema.json)
that this document uses: required fields, additionalProperties, minItems and
the datatype patterns. The token pattern uses \\p{L} there, which Python's re
lacks; the ASCII pattern here is stricter.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import jsonschema
from sample_report import sample_report

from ledger.export.model import ReportData, RiskAcceptance
from ledger.export.oscal import assessment_results, clean, render_oscal

HEX = "[0-9A-Fa-f]"
UUID = {
    "type": "string",
    "pattern": f"^{HEX}{{8}}-{HEX}{{4}}-[45]{HEX}{{3}}-[89ABab]{HEX}{{3}}-{HEX}{{12}}$",
}
STRING = {"type": "string", "pattern": r"^\S(.*\S)?$"}
TOKEN = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9.\-_]*$"}
DATETIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}
URIREF = {"type": "string", "pattern": r"^\S+$"}


def obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": items}


PROP = obj(["name", "value"], name=TOKEN, ns={"type": "string"}, value=STRING, **{"class": TOKEN})
EVIDENCE = obj(["description"], href=URIREF, description={"type": "string"})
OBSERVATION = obj(
    ["uuid", "description", "methods", "collected"],
    uuid=UUID,
    title={"type": "string"},
    description={"type": "string"},
    props=array(PROP),
    methods=array(STRING),
    types=array(TOKEN),
    collected=DATETIME,
    **{"relevant-evidence": array(EVIDENCE)},
)
FINDING = obj(
    ["uuid", "title", "description", "target"],
    uuid=UUID,
    title={"type": "string"},
    description={"type": "string"},
    remarks={"type": "string"},
    target=obj(
        ["type", "target-id", "status"],
        type={"enum": ["statement-id", "objective-id"]},
        status=obj(["state"], state={"enum": ["satisfied", "not-satisfied"]}),
        **{"target-id": TOKEN},
    ),
    **{"related-observations": array(obj(["observation-uuid"], **{"observation-uuid": UUID}))},
)
RESULT = obj(
    ["uuid", "title", "description", "start", "reviewed-controls"],
    uuid=UUID,
    title={"type": "string"},
    description={"type": "string"},
    start=DATETIME,
    end=DATETIME,
    observations=array(OBSERVATION),
    findings=array(FINDING),
    **{
        "reviewed-controls": obj(
            ["control-selections"],
            **{
                "control-selections": array(
                    obj(
                        [],
                        description={"type": "string"},
                        **{"include-controls": array(obj(["control-id"], **{"control-id": TOKEN}))},
                    )
                )
            },
        )
    },
)
RESOURCE = obj(
    ["uuid"],
    uuid=UUID,
    title={"type": "string"},
    description={"type": "string"},
    rlinks=array(
        obj(
            ["href"],
            href=URIREF,
            hashes=array(obj(["value", "algorithm"], algorithm=STRING, value={"type": "string"})),
        )
    ),
)
SCHEMA = obj(
    ["assessment-results"],
    **{
        "assessment-results": obj(
            ["uuid", "metadata", "import-ap", "results"],
            uuid=UUID,
            metadata=obj(
                ["title", "last-modified", "version", "oscal-version"],
                title={"type": "string"},
                version=STRING,
                props=array(PROP),
                parties=array(
                    obj(
                        ["uuid", "type"],
                        uuid=UUID,
                        type={"enum": ["person", "organization"]},
                        name=STRING,
                    )
                ),
                **{"last-modified": DATETIME, "oscal-version": STRING},
            ),
            results=array(RESULT),
            **{
                "import-ap": obj(["href"], href=URIREF),
                "back-matter": obj([], resources=array(RESOURCE)),
            },
        )
    },
)


def hostile() -> ReportData:
    data = sample_report(30)
    row = replace(
        data.findings[0],
        title="  <script>alert(1)</script>\u202e\n",
        location="a\x00b",
        rule_id="   ",
    )
    acceptance = RiskAcceptance(
        row.finding_id, "risk-accepted", "approved", "\u2066x\u2069", None, None, 5
    )
    return replace(data, findings=(row, *data.findings[1:]), acceptances=(acceptance,))


def test_document_matches_the_oscal_schema_subset() -> None:
    document = assessment_results(sample_report(120))
    jsonschema.validate(document, SCHEMA)
    jsonschema.validate(assessment_results(hostile()), SCHEMA)
    assert document["assessment-results"]["metadata"]["oscal-version"] == "1.1.2"


def test_every_reference_resolves() -> None:
    ar = assessment_results(sample_report(120))["assessment-results"]
    result = ar["results"][0]
    observations = {o["uuid"] for o in result["observations"]}
    resources = {r["uuid"] for r in ar["back-matter"]["resources"]}
    assert ar["import-ap"]["href"].removeprefix("#") in resources
    for finding in result["findings"]:
        for related in finding.get("related-observations", []):
            assert related["observation-uuid"] in observations
    for observation in result["observations"]:
        for evidence in observation.get("relevant-evidence", []):
            assert evidence["href"].removeprefix("#") in resources
    every_uuid = re.findall(r'"uuid": "([^"]+)"', json.dumps(ar))
    assert len(every_uuid) == len(set(every_uuid)), "uuids are unique"


def test_findings_cover_each_criterion_with_a_reading_of_the_evidence() -> None:
    result = assessment_results(sample_report(120))["assessment-results"]["results"][0]
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert set(states) == {"cc3.2", "cc4.2", "cc6.8", "cc7.1", "cc7.2", "cc7.3", "cc7.4", "cc8.1"}
    assert states["cc7.1"] == "not-satisfied"  # the sample has a two-week checkov gap
    assert states["cc7.2"] == "not-satisfied"  # and failed runs
    assert states["cc8.1"] == "satisfied"  # every run names its commit
    controls = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [c["control-id"] for c in controls] == sorted(states)


def test_artifacts_are_named_by_digest() -> None:
    data = sample_report(10)
    ar = assessment_results(data)["assessment-results"]
    links = {
        link["hashes"][0]["value"]: link["href"]
        for resource in ar["back-matter"]["resources"]
        for link in resource.get("rlinks", [])
    }
    assert set(links) == {r.sha256 for r in data.runs}
    assert all(href.startswith("ni:///sha-256;") for href in links.values())


def test_same_data_same_bytes_and_uuids_follow_content() -> None:
    data = sample_report(80)
    assert render_oscal(data) == render_oscal(data)
    other = replace(data, basis=replace(data.basis, root_hash="AAAA"))
    first = assessment_results(data)["assessment-results"]
    second = assessment_results(other)["assessment-results"]
    assert first["uuid"] != second["uuid"]
    # An observation of the same run keeps its uuid across documents.
    assert (
        first["results"][0]["observations"][0]["uuid"]
        == (second["results"][0]["observations"][0]["uuid"])
    )


def test_hostile_text_is_kept_as_data_without_controls() -> None:
    text = render_oscal(hostile()).decode()
    assert "<script>alert(1)</script>[U+202E][U+000A]" in text
    assert "a[U+0000]b" in text
    assert "[U+2066]x[U+2069]" in text
    for char in ("\u202e", "\u2066", "\\u0000"):
        assert char not in text
    assert clean("naïve 中文") == "naïve 中文"


def test_line_and_paragraph_separators_are_marked() -> None:
    # Raw U+2028/U+2029 are hidden line breaks (and end a line for str.splitlines).
    assert clean("one\u2028two\u2029three") == "one[U+2028]two[U+2029]three"
