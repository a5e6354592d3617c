"""OWASP ZAP's traditional reports, JSON and XML.

Both list ``site`` entries, each with ``alerts``; an alert names the rule
(``pluginid``/``alertRef``), its risk (``riskcode`` 0-3), CWE and WASC ids,
and ``instances`` (URL, method, parameter, attack, evidence). Each instance
becomes one ``dynamic`` finding located at its URL, with method and
parameter as the logical location. ZAP before 2.5 wrote no ``instances``:
one alert per URL, with ``uri``, ``param`` and the rest on the alert itself.

XML is parsed with defusedxml, which refuses DTDs, entity declarations and
external references (billion laughs, XXE), and streamed alert by alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import defusedxml.ElementTree as SafeET
import ijson
from defusedxml import DefusedXmlException

from ledger.ingest.base import Limits, ReadOptions, Report, RunInfo
from ledger.ingest.formats._common import (
    Sanitizer,
    check_file,
    cwe_ids,
    fail,
    head_text,
    json_error,
    make_finding,
    make_location,
    open_json,
    prescan,
)
from schemas.finding import Finding, Severity

RISKS: dict[str, Severity] = {"3": "high", "2": "medium", "1": "low", "0": "info"}
_TEXT_FIELDS = ("solution", "reference", "desc", "otherinfo")
_INSTANCE_FIELDS = ("attack", "evidence", "otherinfo")
_FLAT_INSTANCE_FIELDS = ("uri", "method", "param", "attack", "evidence")


class ZapReader:
    """OWASP ZAP traditional JSON and XML reports."""

    name: ClassVar[str] = "zap"

    def detect(self, head: bytes) -> bool:
        text = head_text(head)
        if text.startswith("<"):
            return "<OWASPZAPReport" in text
        return text.startswith("{") and (
            '"@programName"' in text or ('"site"' in text and '"alerts"' in text)
        )

    def read(self, path: Path, options: ReadOptions) -> Report:
        check_file(path)
        with path.open("rb") as stream:
            head = stream.read(4096)
        report = Report(format=self.name, runs=[], findings=iter(()))
        if head_text(head).startswith("<"):
            version = _xml_version(path)
            report.findings = _xml_findings(path, report)
        else:
            prescan(path)
            with open_json(path) as stream:
                version = next(ijson.items(stream, "@version"), None)
            report.findings = _json_findings(path, report)
        report.runs.append(
            RunInfo(
                tool="zap",
                tool_version=version[: Limits.IDENTIFIER] if isinstance(version, str) else None,
            )
        )
        return report


def _json_findings(path: Path, report: Report) -> Iterator[tuple[int, Finding]]:
    sanitizer = Sanitizer()
    with open_json(path) as stream:
        try:
            for index, alert in enumerate(
                ijson.items(stream, "site.item.alerts.item", use_float=False)
            ):
                if not isinstance(alert, dict):
                    raise fail(path, f"alert {index}", "an alert must be a JSON object.")
                for finding in _alert(alert, sanitizer):
                    yield 0, finding
        except ijson.JSONError as exc:
            raise json_error(path, exc) from None
    report.warnings.extend(sanitizer.warnings())


def _xml_version(path: Path) -> str | None:
    try:
        for _event, element in SafeET.iterparse(str(path), events=("start",)):
            version = element.get("version")
            return version if isinstance(version, str) else None
    except (SafeET.ParseError, DefusedXmlException, LookupError) as exc:
        raise _xml_error(path, exc) from exc
    return None


def _xml_error(path: Path, exc: Exception) -> Exception:
    if isinstance(exc, DefusedXmlException):
        return fail(
            path,
            None,
            f"the XML declares entities or a DTD ({type(exc).__name__}); refused, since "
            "ZAP reports have none and they can expand without bound.",
        )
    if isinstance(exc, LookupError):  # expat asked for a codec Python does not have
        return fail(path, "line 1", f"the XML declaration names an unknown encoding ({exc}).")
    position = getattr(exc, "position", None)
    where = f"line {position[0]}, column {position[1] + 1}" if position else None
    return fail(path, where, f"malformed XML ({exc}).")


def _xml_findings(path: Path, report: Report) -> Iterator[tuple[int, Finding]]:
    sanitizer = Sanitizer()
    # Open elements from the root down. Each element is detached from its
    # parent once read, so memory holds one alert, not the whole document.
    open_elements: list[Any] = []
    in_alert = 0
    try:
        for event, element in SafeET.iterparse(str(path), events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                in_alert += element.tag == "alertitem"
                continue
            open_elements.pop()
            if element.tag != "alertitem":
                if not in_alert and open_elements:
                    open_elements[-1].remove(element)
                continue
            in_alert -= 1
            if open_elements:
                open_elements[-1].remove(element)
            alert: dict[str, Any] = {}
            for child in element:
                if child.tag == "instances":
                    alert["instances"] = [
                        {field.tag: field.text or "" for field in instance}
                        for instance in child
                        if instance.tag == "instance"
                    ]
                else:
                    alert[child.tag] = child.text or ""
            for finding in _alert(alert, sanitizer):
                yield 0, finding
    except (SafeET.ParseError, DefusedXmlException, LookupError) as exc:
        raise _xml_error(path, exc) from exc
    report.warnings.extend(sanitizer.warnings())


def _alert(alert: dict[str, Any], sanitizer: Sanitizer) -> Iterator[Finding]:
    rule_id = alert.get("alertRef") or alert.get("pluginid")
    rule_id = sanitizer.text(rule_id, Limits.IDENTIFIER, "rule_id") or "unidentified"
    name = alert.get("name") or alert.get("alert")
    title = sanitizer.text(name, Limits.TITLE, "title") or rule_id
    cweid = str(alert.get("cweid", "")).strip()
    properties: dict[str, Any] = {
        key: alert[key] for key in _TEXT_FIELDS if isinstance(alert.get(key), str) and alert[key]
    }
    for key in ("pluginid", "confidence", "wascid", "sourceid"):
        if alert.get(key) not in (None, ""):
            properties[key] = alert[key]
    instances = [i for i in alert.get("instances") or [] if isinstance(i, dict)]
    if not instances:
        # ZAP before 2.5 wrote one alert per URL, its instance fields on the alert.
        instances = [{key: alert[key] for key in _FLAT_INSTANCE_FIELDS if key in alert}]
    for instance in instances:
        method = str(instance.get("method") or "").strip()
        param = str(instance.get("param") or "").strip()
        logical = f"{method} {param}".strip() or None
        extra = {
            f"instance_{key}": instance[key]
            for key in _INSTANCE_FIELDS
            if isinstance(instance.get(key), str) and instance[key]
        }
        uri = instance.get("uri")
        yield make_finding(
            tool="zap",
            rule_id=rule_id,
            severity=RISKS.get(str(alert.get("riskcode", "")).strip(), "info"),
            title=title,
            # The alert name, not the evidence: evidence varies between scans.
            message=title,
            location=make_location(
                sanitizer.text(uri, Limits.PATH, "location.path"),
                logical=sanitizer.text(logical, Limits.TEXT, "location.logical"),
            ),
            cwe=cwe_ids([cweid]) if cweid not in ("", "0", "-1") else [],
            category="dynamic",
            properties=sanitizer.exact({**properties, **extra}),
        )
