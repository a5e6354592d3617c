"""The PDF report: parsed back with pypdf, hostile text, determinism, size."""

from __future__ import annotations

import io
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from sample_report import CHECKPOINT_TIME, sample_report

from ledger.export.model import FindingRow, Period, ReportData, RiskAcceptance, SlaPolicy
from ledger.export.pdf import literal, markup, render_report, text_width, wrap

HOSTILE_TITLE = '<font color="red">INJECT</font> & <b>bold</b> &amp; </para>'
LONG_TOKEN = "A" * 5000
BIDI = "invoice\u202egpj.exe\u202c"


def render(data: ReportData) -> tuple[bytes, int]:
    out = io.BytesIO()
    pages = render_report(data, out)
    return out.getvalue(), pages


def text_of(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [page.extract_text() for page in reader.pages]


def hostile_rows() -> tuple[FindingRow, ...]:
    first = datetime(2025, 2, 3, 8, tzinfo=UTC)
    due, result = SlaPolicy().evaluate("critical", first, None, CHECKPOINT_TIME)
    base = replace(sample_report(1).findings[0], sla_due=due, sla_result=result)
    return (
        replace(
            base,
            finding_id="F-hostile-1",
            title=HOSTILE_TITLE,
            location=LONG_TOKEN,
            rule_id="rule\x00with\x07controls\nand newline",
            severity="critical",
            first_seen=first,
        ),
        replace(
            base,
            finding_id="F-hostile-2",
            title=BIDI,
            location="src/Café/naïve.py:1 \u4e2d\u6587 \U0001f600",
            tool="<tool>&",
            first_seen=first + timedelta(hours=1),
            severity="critical",
        ),
    )


@pytest.fixture(scope="module")
def sample_pdf() -> tuple[bytes, int]:
    return render(sample_report(120))


@pytest.fixture(scope="module")
def hostile_pdf() -> bytes:
    data = sample_report(40, extra=hostile_rows())
    acceptance = RiskAcceptance(
        "F-hostile-1", "risk-accepted", "approved", "<b>trust me</b> &lt;", "<i>ciso</i>", None, 9
    )
    scope = replace(data.scope, organisation="Acme <b>& Sons</b>")
    data = replace(data, scope=scope, acceptances=(*data.acceptances, acceptance))
    return render(data)[0]


def test_literal_marks_controls_bidi_and_unencodable_characters() -> None:
    assert literal("plain text") == "plain text"
    assert literal("a\x00b\tc\n") == "a[U+0000]b[U+0009]c[U+000A]"
    assert literal(BIDI) == "invoice[U+202E]gpj.exe[U+202C]"
    assert literal("Café \u00ad\u200b") == "Café [U+00AD][U+200B]"
    assert literal("\U0001f600") == "[U+01F600]"
    assert markup('<b a="1">&') == "&lt;b a=&quot;1&quot;&gt;&amp;"


def test_wrap_breaks_long_tokens_and_truncates() -> None:
    lines = wrap("x" * 400, 100, size=7)
    assert len(lines) > 1
    assert all(len(line) < 40 for line in lines[:-1])
    lines = wrap(LONG_TOKEN, 100, size=7)
    assert len(lines) == 6
    note = " ".join(line for line in lines if not line.startswith("A"))
    shown = sum(len(line) for line in lines if line.startswith("A"))
    assert note == f"[truncated: {len(LONG_TOKEN) - shown} more characters]"
    assert wrap("python.lang.security.audit.insecure-hash-algorithm-md5", 90)[0].endswith(".")


@pytest.mark.parametrize("width", [34, 50, 56, 92, 140])
@pytest.mark.parametrize(
    "text", ["word " * 200_000, "A" * 10_000, "r " * 250, "x/" * 2000 + " tail"]
)
def test_every_wrapped_line_fits_its_column_even_the_truncation_note(
    width: float, text: str
) -> None:
    # Register and appendix columns are as narrow as 40 pt: a note that did not
    # wrap ran over the next columns' text.
    lines = wrap(text, width, size=6.5)
    assert 1 < len(lines) <= 6
    assert all(text_width(line, "Helvetica", 6.5) <= width for line in lines), lines
    cut = " ".join(lines)
    if "[truncated:" in cut:
        hidden = int(re.search(r"\[truncated: (\d+) more", cut)[1])  # type: ignore[index]
        shown = cut[: cut.index("[truncated:")].strip()
        assert text.replace(" ", "").startswith(shown.replace(" ", ""))
        assert 0 < hidden < len(text)


def test_report_has_every_section_and_page_x_of_y(sample_pdf: tuple[bytes, int]) -> None:
    pdf, pages = sample_pdf
    texts = text_of(pdf)
    assert len(texts) == pages
    everything = "\n".join(texts)
    for heading in (
        "Security findings evidence report",
        "Executive summary",
        "CC7.1",
        "CC7.2",
        "CC4.2 / CC7.4",
        "CC3.2",
        "CC8.1",
        "CC6.8",
        "CC7.3",
        "Findings register",
        "Appendix A",
        "Appendix B",
    ):
        assert heading in everything, heading
    assert "Acme Payments Ltd" in texts[0]
    assert "q3Jd8v0kz1cQ4mYx7yWw2S5pLr0T9eHbNfA6uVjK1xE=" in texts[0]
    assert "Verified" in texts[0]
    for number, text in enumerate(texts, 1):
        # The total is a form drawn after the label; extraction may break the line.
        assert re.search(rf"Page {number} of\s*{pages}\b", text), number
        assert "ledger ledger.acme.test/security-findings" in text


def test_appendix_b_says_what_is_proven_and_what_is_not(sample_pdf: tuple[bytes, int]) -> None:
    pdf, _ = sample_pdf
    appendix = re.sub(r"\s+", " ", text_of(pdf)[-1])
    assert "Appendix B" in appendix
    assert "Proven: the key with id" in appendix
    assert "Not proven: that every scanner run was recorded" in appendix
    assert "previous period's pack" in appendix
    # The export's own entry comes after the end checkpoint: never promised in this pack.
    assert "it is not in this pack" in appendix


def test_a_huge_organisation_or_scope_cannot_break_the_cover() -> None:
    # A table row cannot split across pages: an unbounded cover value was a LayoutError.
    data = sample_report(3)
    scope = replace(
        data.scope,
        organisation="Org " * 3000,
        description="x" * 30_000 + " \u202e" * 5000,
        repositories=tuple(f"acme/repo-{i}" for i in range(2000)),
    )
    pdf, _ = render(replace(data, scope=scope))
    cover = text_of(pdf)[0]
    assert "more characters]" in cover
    assert "\u202e" not in "".join(text_of(pdf))


def test_register_repeats_its_header_and_lists_every_finding(sample_pdf: tuple[bytes, int]) -> None:
    pdf, _ = sample_pdf
    texts = text_of(pdf)
    register = [t for t in texts if "Artifact SHA-256" in t]
    assert len(register) >= 3
    ids = set(re.findall(r"F-[0-9a-f]{10}", "\n".join(register)))
    assert ids == {f.finding_id for f in sample_report(120).findings}


def test_untrusted_text_is_literal(hostile_pdf: bytes) -> None:
    everything = "\n".join(text_of(hostile_pdf))
    assert HOSTILE_TITLE in everything
    assert "Acme <b>& Sons</b>" in everything
    assert "<b>trust me</b> &lt;" in everything
    assert "<i>ciso</i>" in everything
    # The rule id wraps in its narrow column: compare without the line breaks.
    compact = re.sub(r"\s+", "", everything)
    assert "rule[U+0000]with[U+0007]controls[U+000A]andnewline" in compact
    assert "invoice[U+202E]gpj.exe[U+202C]" in everything
    assert "src/Café/naïve.py:1 [U+4E2D][U+6587] [U+01F600]" in everything
    assert "<tool>&" in everything
    for char in ("\u202e", "\x00", "\x07"):
        assert char not in everything


def test_long_tokens_wrap_within_their_column(hostile_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(hostile_pdf))
    runs: list[tuple[float, int]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        for match in re.finditer(r"A{20,}", text):
            runs.append((tm[4], len(match.group())))

    for page in reader.pages:
        if "F-hostile-1" in page.extract_text():
            page.extract_text(visitor_text=visit)
    assert runs, "the long token was not drawn"
    # 6.5 pt Helvetica 'A' is 4.3 pt wide: no line of them may be wider than the column.
    assert max(length for _, length in runs) * 4.34 < 213
    assert "[truncated:" in "\n".join(text_of(hostile_pdf))


def test_same_data_gives_identical_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = sample_report(60)
    first, _ = render(data)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        second, _ = render(data)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert first == second
    other = replace(data, basis=replace(data.basis, root_hash="different"))
    assert render(other)[0] != first


def test_creation_date_is_the_checkpoint_time(sample_pdf: tuple[bytes, int]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(sample_pdf[0]))
    assert reader.metadata is not None
    assert reader.metadata.creation_date == CHECKPOINT_TIME
    assert reader.outline, "sections are bookmarked"


def test_empty_period_renders(tmp_path: Path) -> None:
    data = replace(sample_report(0), runs=(), acceptances=(), triage=())
    pages = render_report(data, tmp_path / "empty.pdf")
    everything = "\n".join(text_of((tmp_path / "empty.pdf").read_bytes()))
    assert pages >= 5
    assert "No findings in the period." in everything
    assert "No runtime findings in the period." in everything


def test_ten_thousand_findings_in_a_few_seconds() -> None:
    data = sample_report(10_000)
    start = time.perf_counter()
    pdf, pages = render(data)
    elapsed = time.perf_counter() - start
    assert pages > 200
    assert elapsed < 15, f"{elapsed:.1f}s"
    assert pdf.startswith(b"%PDF-")


def test_the_report_says_as_of_when_its_figures_hold() -> None:
    closed = sample_report(20)
    text = " ".join(" ".join(text_of(render(closed)[0])).split())
    assert "Figures as of the end of 2025-03-31 UTC (the period's end)" in text
    assert f"Entry {closed.basis.closing_seq:,}, dated 2025-04-01 02:14 UTC, follows" in text
    assert "from the last run to the end of 2025-03-31 UTC" in text

    # Without an entry after the period, the figures stop at the last entry.
    basis = replace(closed.basis, closing_seq=None, closing_time=None)
    text = " ".join(" ".join(text_of(render(replace(closed, basis=basis))[0])).split())
    assert "Figures as of 2025-03-31 22:14 UTC (the last entry; the period is not over" in text
    assert "the 0.1 days from then to the period's end are not covered" in text


def test_summary_counts_agree_with_the_scanner_health_section() -> None:
    data = sample_report(30)
    failed = sum(1 for r in data.runs if not r.successful)
    partial = sum(1 for r in data.runs if r.successful and not r.complete)
    assert failed and partial
    text = " ".join(" ".join(text_of(render(data)[0])).split())
    assert f"{failed} failed and {partial} stopped part-way (partial)" in text
    assert f"{failed + partial} runs were failed or partial" in text
    assert f"{len(data.runs):,} ({failed} / {partial})" in text
    assert "Scanner runs (failed / partial)" in text


def test_counts_take_the_number_of_their_noun() -> None:
    data = sample_report(10)
    text = " ".join(" ".join(text_of(render(data)[0])).split())
    assert f"({data.period.days} days, UTC)" in text
    runtime = sum(1 for f in data.findings if f.category == "runtime")
    noun = "runtime finding" if runtime == 1 else "runtime findings"
    assert f"{runtime} {noun} reported:" in text
    one_day = replace(data, period=Period(data.period.end, data.period.end))
    text = " ".join(" ".join(text_of(render(one_day)[0])).split())
    assert "(1 day, UTC)" in text
