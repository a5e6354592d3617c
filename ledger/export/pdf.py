"""The auditor's PDF report, drawn with reportlab from a :class:`ReportData`.

Layout: a cover (scope, period, generation basis, verification), an executive
summary with charts, one section per SOC 2 criterion the evidence serves, the
findings register and two appendices (artifacts, verification procedure).
The register and artifact list use landscape pages.

Two rules hold for every byte written:

- *Untrusted text is literal.* Every string that came from an artifact goes
  through :func:`literal` (control, bidirectional and unencodable characters
  become visible ``[U+XXXX]`` markers) and then either into a plain table
  cell, which reportlab draws without parsing, or through :func:`markup`,
  which escapes it for Paragraph's XML. Long tokens are broken by
  :func:`wrap` to fit their column.
- *Same data, same bytes.* reportlab runs in invariant mode, the creation
  date is the checkpoint's time and every list is sorted.

Fonts are the PDF standard fonts (Helvetica, WinAnsi encoding), which need no
embedding; characters outside Windows-1252 are shown as markers.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import io
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from ledger.export import charts, metrics
from ledger.export.model import FindingRow, ReportData, ScanRun, period_end
from ledger.text import counted

log = logging.getLogger(__name__)

FONT, BOLD, ITALIC = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
INK, MUTED, RULE, ACCENT = charts.INK, charts.MUTED, charts.RULE, charts.ACCENT
STRIPE = colors.HexColor("#f3f5f8")
BAD = colors.HexColor("#b42318")
GOOD = colors.HexColor("#2f6f44")
MARGIN = 16 * mm
PORTRAIT, LANDSCAPE = A4, landscape(A4)
MAX_CELL_LINES = 6
PAGE_TOTAL_FORM = "trailsealPageTotal"


# --- untrusted text ---------------------------------------------------------------

_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F))


def _visible(char: str) -> str:
    code = ord(char)
    # C0/C1 controls, DEL and the soft hyphen would be invisible or act on the
    # layout; bidi overrides (U+202A-U+202E, U+2066-U+2069) would reorder what
    # an auditor reads. None of them is in Windows-1252 except the controls.
    if code < 0x20 or 0x7F <= code < 0xA0 or code == 0xAD:
        return f"[U+{code:04X}]"
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return f"[U+{code:04X}]" if code <= 0xFFFF else f"[U+{code:06X}]"
    return char


def literal(text: str | None) -> str:
    """``text`` with every character the page could hide or misdraw made visible.

    Printable Windows-1252 characters stay; anything else, including line
    breaks, tabs, NUL and bidirectional controls, becomes ``[U+XXXX]``.
    """
    if not text:
        return ""
    if _SAFE.issuperset(text):
        return text
    return "".join(c if c in _SAFE else _visible(c) for c in text)


def markup(text: str | None) -> str:
    """Untrusted ``text`` made literal and escaped for a reportlab Paragraph."""
    return escape(literal(text), {'"': "&quot;"})


_BREAK_AFTER = "/.-_:;,=&?"
"""Characters after which an over-long token is preferably cut (paths, rule ids, URLs)."""


@functools.cache
def _widths(font: str) -> defaultdict[str, float]:
    """Glyph widths (per 1 pt of size) of a standard font, keyed by character.

    Anything outside Windows-1252 (which :func:`literal` never lets through)
    counts as one em, the safe side for wrapping.
    """
    table = pdfmetrics.getFont(font).widths
    widths: defaultdict[str, float] = defaultdict(lambda: 1.0)
    for code in range(32, 256):
        if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D):  # unassigned in Windows-1252
            widths[bytes([code]).decode("cp1252")] = table[code] / 1000
    return widths


def text_width(text: str, font: str, size: float) -> float:
    """Width of literal ``text`` in points."""
    return sum(map(_widths(font).__getitem__, text)) * size


def _fit(token: str, width: float, font: str, size: float) -> int:
    """Where to cut ``token`` so its head fits ``width``: after punctuation if one is
    in the second half of the longest fitting prefix, else at that prefix (at least 1)."""
    widths = _widths(font)
    used, low = 0.0, 0
    for char in token:
        used += widths[char] * size
        if used > width:
            break
        low += 1
    low = max(low, 1)
    head = token[:low]
    soft = max(head.rfind(c) for c in _BREAK_AFTER)
    return soft + 1 if soft >= low // 2 and low < len(token) else low


def _spans(text: str, width: float, font: str, size: float) -> Iterator[tuple[str, int]]:
    """Lines of ``text`` that fit ``width``, each with the offset in ``text`` where it ends.

    Lazy, so a caller that needs a few lines of a megabyte pays for a few lines.
    """
    space = text_width(" ", font, size)
    current, used, end, offset = "", 0.0, 0, 0
    for token in text.split(" "):
        start, offset = offset, offset + len(token) + 1
        needed = text_width(token, font, size)
        if current and used + space + needed <= width:
            current, used, end = f"{current} {token}", used + space + needed, start + len(token)
            continue
        if current:
            yield current, end
        word = token
        while needed > width:
            cut = _fit(word, width, font, size)
            start += cut
            yield word[:cut], start
            word = word[cut:]
            needed = text_width(word, font, size)
        current, used, end = word, needed, start + len(word)
    yield current, end


def _truncation_note(hidden: int) -> str:
    """What ends a value cut short: how many of its characters are not shown."""
    return f"[truncated: {hidden} more characters]"


def _truncation(hidden: int, width: float, font: str, size: float) -> list[str]:
    """The note that ends a cut cell, wrapped to ``width`` like any other text."""
    return [line for line, _ in _spans(_truncation_note(hidden), width, font, size)]


def wrap(
    text: str, width: float, font: str = FONT, size: float = 7, max_lines: int = MAX_CELL_LINES
) -> list[str]:
    """Lines of already-literal ``text`` that fit ``width``; over-long tokens are cut.

    Beyond ``max_lines`` the rest is replaced by a visible truncation note, itself
    wrapped to ``width``, so a hostile megabyte-long string cannot take over the
    report or spill into the next column.
    """
    # No standard-font glyph is wider than 1.015 em: short text needs no measuring.
    if len(text) * 1.015 * size <= width or text_width(text, font, size) <= width:
        return [text]
    spans = list(itertools.islice(_spans(text, width, font, size), max_lines + 1))
    if len(spans) <= max_lines:
        return [line for line, _ in spans]
    # The note for the whole text has the most digits, so it needs the most lines.
    keep = max(1, max_lines - len(_truncation(len(text), width, font, size)))
    end = spans[keep - 1][1]
    hidden = len(text) - end - (len(text[end:]) - len(text[end:].lstrip(" ")))
    return [line for line, _ in spans[:keep]] + _truncation(hidden, width, font, size)


# --- formatting -------------------------------------------------------------------


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def _minute(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _as_of(data: ReportData) -> str:
    """The instant the figures describe, in a few words."""
    if data.period_closed:
        return f"the end of {data.period.end} UTC (the period's end)"
    return f"{_minute(data.as_of)} UTC (the last entry; the period is not over in the ledger)"


def _as_of_reason(data: ReportData) -> str:
    """Why the figures stop where :func:`_as_of` says, and what that leaves out."""
    basis = data.basis
    if data.period_closed:
        return (
            f"Entry {basis.closing_seq:,}, dated {_minute(basis.closing_time)} UTC, follows the "
            "period and batch times only increase, so no entry can join the period: what the "
            "period's entries show holds to its end. That entry is not in this pack."
        )
    left = (period_end(data.period) - data.as_of).total_seconds() / 86400
    return (
        "The ledger holds no entry after this instant, so the period may still be in "
        f"progress: the {left:,.1f} days from then to the period's end are not covered, "
        "and no gap, age or due date is counted past it."
    )


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


# --- styles -----------------------------------------------------------------------


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base = {"fontName": FONT, "fontSize": 9, "leading": 12.5, "textColor": INK}
    base.update(kw)
    return ParagraphStyle(name, alignment=TA_LEFT, **base)


STYLES = {
    "title": _style("title", fontName=BOLD, fontSize=24, leading=29, textColor=ACCENT),
    "subtitle": _style("subtitle", fontSize=12, leading=16, textColor=MUTED),
    "h1": _style(
        "h1", fontName=BOLD, fontSize=15, leading=19, spaceBefore=6, spaceAfter=6, textColor=ACCENT
    ),
    "h2": _style("h2", fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=9, spaceAfter=3),
    "body": _style("body", spaceAfter=5),
    "small": _style("small", fontSize=7.5, leading=10, textColor=MUTED),
    "criterion": _style(
        "criterion",
        fontName=ITALIC,
        fontSize=8.5,
        leading=11.5,
        textColor=MUTED,
        leftIndent=8,
        borderPadding=(4, 6, 4, 6),
        borderColor=RULE,
        borderWidth=0,
        backColor=STRIPE,
        spaceAfter=8,
        spaceBefore=2,
    ),
    "cell": _style("cell", fontSize=8, leading=10.5),
    "cellkey": _style("cellkey", fontName=BOLD, fontSize=8, leading=10.5),
    "verdict": _style("verdict", fontName=BOLD, fontSize=10, leading=13),
}


# --- long tables ------------------------------------------------------------------

Cell = str | tuple[str, ...]
"""A table cell: one value, or several shown on separate lines."""


class RowTable(Flowable):  # type: ignore[misc]
    """A table of plain-string cells that splits across pages in linear time.

    reportlab's own ``Table.split`` rebuilds the rest of the table at every page
    break, which is quadratic in rows; here each row's height is computed once,
    prefix sums find the split point, and only one page's rows become a real
    ``Table`` at a time. The header row repeats on every page.
    """

    def __init__(
        self,
        header: Sequence[Cell],
        rows: Iterable[Sequence[Cell]],
        widths: Sequence[float],
        *,
        size: float = 7,
        colour: Callable[[int, str], colors.Color | None] | None = None,
    ) -> None:
        super().__init__()
        self.widths = list(widths)
        self.size = size
        self.leading = size * 1.22
        self.colour = colour
        self.header = [self._cell(h, w, BOLD) for h, w in zip(header, widths, strict=True)]
        self.cells = [
            [self._cell(v, w, FONT) for v, w in zip(row, widths, strict=True)] for row in rows
        ]
        self.cum = [0.0, *accumulate(self._height(row) for row in self.cells)]
        self.start, self.stop = 0, len(self.cells)

    def _slice(self, start: int, stop: int) -> RowTable:
        # A fresh flowable: platypus marks the one it failed to place
        # (``_postponed``), and a copy of that mark would read as a second failure.
        part: RowTable = RowTable.__new__(RowTable)
        Flowable.__init__(part)
        for name in ("widths", "size", "leading", "colour", "header", "cells", "cum"):
            setattr(part, name, getattr(self, name))
        part.start, part.stop = start, stop
        return part

    def _cell(self, value: Cell, width: float, font: str) -> tuple[str, ...]:
        parts = (value,) if isinstance(value, str) else value
        return tuple(
            line for part in parts for line in wrap(literal(part), width - 6, font, self.size)
        )

    def _height(self, row: Sequence[tuple[str, ...]]) -> float:
        return max(len(cell) for cell in row) * self.leading + 4

    @property
    def header_height(self) -> float:
        return self._height(self.header)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = self.header_height + self.cum[self.stop] - self.cum[self.start]
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        room = avail_height - self.header_height
        end = bisect.bisect_right(self.cum, self.cum[self.start] + room) - 1
        if end <= self.start:
            return []
        return [self._slice(self.start, end), self._slice(end, self.stop)]

    def draw(self) -> None:
        # Drawn directly rather than through a platypus Table: one text object
        # per page instead of one per cell makes the register about 4x faster.
        canvas = self.canv
        xs = [0.0, *accumulate(self.widths)]
        top = self.height
        canvas.saveState()

        header_h = self.header_height
        canvas.setFillColor(ACCENT)
        canvas.rect(0, top - header_h, self.width, header_h, stroke=0, fill=1)
        y = top - header_h
        canvas.setFillColor(STRIPE)
        for i in range(self.start, self.stop):
            height = self.cum[i + 1] - self.cum[i]
            if (i - self.start) % 2:
                canvas.rect(0, y - height, self.width, height, stroke=0, fill=1)
            y -= height
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(0, y, self.width, y)

        text = canvas.beginText()
        text.setFont(BOLD, self.size, self.leading)
        text.setFillColor(colors.white)
        self._row(text, self.header, xs, top, None)
        text.setFont(FONT, self.size, self.leading)
        text.setFillColor(INK)
        y = top - header_h
        for i in range(self.start, self.stop):
            self._row(text, self.cells[i], xs, y, self.colour)
            y -= self.cum[i + 1] - self.cum[i]
        canvas.drawText(text)
        canvas.restoreState()

    def _row(
        self,
        text: Any,
        row: Sequence[tuple[str, ...]],
        xs: Sequence[float],
        top: float,
        colour: Callable[[int, str], colors.Color | None] | None,
    ) -> None:
        baseline = top - 1.5 - self.size
        for c, lines in enumerate(row):
            tint = colour(c, lines[-1]) if colour is not None else None
            if tint is not None:
                text.setFillColor(tint)
            for n, line in enumerate(lines):
                if line:
                    # Tm + Tj directly: reportlab's textOut measures every string
                    # to advance a cursor this table never uses.
                    y = baseline - n * self.leading
                    text._code.append(
                        f"1 0 0 1 {xs[c] + 3:.2f} {y:.2f} Tm ({_pdf_string(line)}) Tj"
                    )
            if tint is not None:
                text.setFillColor(INK)


_PDF_ESCAPES = {ord("("): "\\(", ord(")"): "\\)", ord("\\"): "\\\\"}


def _pdf_string(line: str) -> str:
    """``line`` (literal, Windows-1252 only) as the body of a PDF string for WinAnsi fonts."""
    if line.isascii():
        return line.translate(_PDF_ESCAPES)
    return "".join(
        c.translate(_PDF_ESCAPES) if c.isascii() else f"\\{c.encode('cp1252')[0]:03o}" for c in line
    )


_ALARMING = frozenset({"breached", "open-breached", "failed", "partial"})


def _severity_colour(column: int) -> Callable[[int, str], colors.Color | None]:
    def colour(col: int, value: str) -> colors.Color | None:
        if col == column:
            return charts.SEVERITY_COLOURS.get(value)  # type: ignore[call-overload]
        return BAD if value in _ALARMING else None

    return colour


MAX_VALUE_CHARS = 2000
"""Characters of a cover value shown: a table row cannot break across pages."""


def clip(text: str, limit: int) -> str:
    """Literal ``text`` cut to ``limit`` characters, with a visible note if it was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} {_truncation_note(len(text) - limit)}"


def _key_values(pairs: Sequence[tuple[str, str]], width: float, key_width: float = 120) -> Table:
    """A two-column table of labels and literal values (values wrap as Paragraphs)."""
    data = [
        [
            Paragraph(escape(k), STYLES["cellkey"]),
            Paragraph(escape(clip(literal(v), MAX_VALUE_CHARS)), STYLES["cell"]),
        ]
        for k, v in pairs
    ]
    return Table(
        data,
        colWidths=[key_width, width - key_width],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ],
    )


# --- page furniture ---------------------------------------------------------------


class _ReportCanvas(Canvas):  # type: ignore[misc]
    """A canvas dated by the data, which writes "page X of Y"'s Y once it is known."""

    checkpoint_time: datetime

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["invariant"] = 1
        super().__init__(*args, **kwargs)
        _set_creation_date(self, self.checkpoint_time)

    def save(self) -> None:
        # Every footer drew this form after "Page X of"; it is defined last,
        # when the page count is known, so one pass over the document suffices.
        self.beginForm(PAGE_TOTAL_FORM)
        self.setFont(FONT, 7)
        self.setFillColor(MUTED)
        self.drawString(0, 0, str(self.getPageNumber() - 1))
        self.endForm()
        super().save()


class _Stamp:
    """reportlab's document timestamp, fixed to a given instant."""

    def __init__(self, when: datetime) -> None:
        utc = when.utctimetuple()
        self.t = int(when.timestamp())
        self.lt = utc
        self.YMDhms = tuple(utc)[:6]
        self.dhh = self.dmm = 0
        self.tzname = "UTC"


def _set_creation_date(canvas: Canvas, when: datetime) -> None:
    # Invariant mode would date the file 2000-01-01 (or $SOURCE_DATE_EPOCH):
    # date it by the checkpoint instead and seed the file /ID from that alone,
    # so neither the clock nor the environment reaches the bytes.
    document = canvas._doc
    document._timeStamp = _Stamp(when)
    document.signature = hashlib.md5(usedforsecurity=False)
    document.signature.update(b"trailseal report " + str(document._timeStamp.t).encode())


class _Document(BaseDocTemplate):  # type: ignore[misc]
    def __init__(self, out: Any, data: ReportData) -> None:
        self.data = data
        super().__init__(
            out,
            pagesize=PORTRAIT,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 6 * mm,
            bottomMargin=MARGIN + 4 * mm,
            title=literal(f"{data.title}: {data.scope.organisation}"),
            author="trailseal",
            subject=literal(f"{data.period.start} to {data.period.end}"),
            creator="trailseal",
            invariant=1,
        )
        templates = []
        for name, size in (("portrait", PORTRAIT), ("landscape", LANDSCAPE)):
            frame = Frame(
                self.leftMargin,
                self.bottomMargin,
                size[0] - self.leftMargin - self.rightMargin,
                size[1] - self.topMargin - self.bottomMargin,
                id=name,
                leftPadding=0,
                rightPadding=0,
                topPadding=0,
                bottomPadding=0,
            )
            templates.append(
                PageTemplate(id=name, frames=[frame], onPage=self._furniture, pagesize=size)
            )
        self.addPageTemplates(templates)

    def _furniture(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = canvas._pagesize
        basis = self.data.basis
        left, right = MARGIN, width - MARGIN
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)

        top = height - MARGIN + 1
        canvas.line(left, top - 4, right, top - 4)
        canvas.setFont(BOLD, 7)
        canvas.setFillColor(ACCENT)
        org = literal(self.data.scope.organisation)
        head = wrap(f"{org} · SOC 2 evidence", (right - left) / 2, BOLD, 7, 1)[0]
        canvas.drawString(left, top, head)
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
        ledger = f"ledger {literal(basis.origin)} · root {literal(basis.root_hash)[:16]}…"
        canvas.drawRightString(right, top, wrap(ledger, (right - left) / 2, FONT, 7, 1)[0])

        bottom = MARGIN - 2
        canvas.line(left, bottom + 9, right, bottom + 9)
        canvas.drawString(
            left,
            bottom,
            f"Period {self.data.period.start} to {self.data.period.end} · checkpoint "
            f"{basis.tree_size:,} entries, {_minute(basis.checkpoint_time)} UTC",
        )
        label = f"Page {doc.page} of "
        x = right - text_width(label, FONT, 7) - 14
        canvas.drawString(x, bottom, label)
        canvas.translate(x + text_width(label, FONT, 7), bottom)
        canvas.doForm(PAGE_TOTAL_FORM)
        canvas.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        outline = getattr(flowable, "outline", None)
        if outline is not None:
            title, level = outline
            key = f"s{self.seq.nextf('outline')}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(title, key, level=level, closed=level > 0)


def _heading(text: str, level: int = 0) -> Paragraph:
    paragraph = Paragraph(escape(text), STYLES["h1" if level == 0 else "h2"])
    paragraph.outline = (text, level)
    return paragraph


def _p(text: str, style: str = "body") -> Paragraph:
    """A paragraph of trusted markup (untrusted parts must already be :func:`markup`)."""
    return Paragraph(text, STYLES[style])


# --- sections ---------------------------------------------------------------------

CRITERIA = {
    "CC7.1": "Detection of vulnerabilities and configuration changes",
    "CC7.2": "Monitoring of system components: scanner health",
    "CC4.2 / CC7.4": "Remediation of deficiencies against the SLA",
    "CC3.2": "Risk identification and risk acceptance",
    "CC8.1": "Changes: scans tied to commits",
    "CC6.8": "Malicious and unauthorised software: secrets and dependencies",
    "CC7.3": "Evaluation of security events: runtime findings",
}

# Our own short summaries of the 2017 Trust Services Criteria (AICPA, points of
# focus revised 2022); the auditor holds the authoritative text.
CRITERION_TEXT = {
    "CC7.1": "The entity runs detection and monitoring procedures that reveal configuration "
    "changes introducing new vulnerabilities, and its exposure to newly discovered ones.",
    "CC7.2": "The entity watches its system components and how they operate for anomalies "
    "that point to malicious acts, disasters or errors, and analyses them to decide "
    "whether they are security events.",
    "CC4.2 / CC7.4": "CC4.2: deficiencies in internal control are evaluated and reported in "
    "time to those who must correct them. CC7.4: identified security problems are handled "
    "through a defined response that understands, contains, remediates and communicates them.",
    "CC3.2": "The entity identifies and analyses risks to its objectives and uses that "
    "analysis to decide how each risk is managed, including accepting it.",
    "CC8.1": "Changes to infrastructure, data, software and procedures are authorised, "
    "designed, configured, documented, tested, approved and implemented under control.",
    "CC6.8": "Controls prevent, or detect and act on, the introduction of unauthorised or "
    "malicious software.",
    "CC7.3": "Security events are evaluated to decide whether they could cause, or have "
    "caused, a failure to meet objectives, and action is taken when they could.",
}


class _Builder:
    """Assembles the story (list of flowables) for one report."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.width = PORTRAIT[0] - 2 * MARGIN
        self.wide = LANDSCAPE[0] - 2 * MARGIN
        self.findings = metrics.sort_findings(data.findings)
        self.runs = sorted(data.runs, key=lambda r: (r.time, r.seq))
        self.story: list[Flowable] = []

    def add(self, *flowables: Flowable) -> None:
        self.story.extend(flowables)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        fractions: Sequence[float],
        *,
        width: float | None = None,
        size: float = 7,
        severity_column: int = -1,
        empty: str = "None recorded in the period.",
    ) -> None:
        if not rows:
            self.add(_p(f"<i>{escape(empty)}</i>", "small"))
            return
        total = width or self.width
        scale = total / sum(fractions)
        widths = [f * scale for f in fractions]
        self.add(
            RowTable(header, rows, widths, size=size, colour=_severity_colour(severity_column))
        )
        self.add(Spacer(1, 6))

    def criterion(self, code: str) -> None:
        self.add(CondPageBreak(120), _heading(f"{code}  {CRITERIA[code]}"))
        self.add(_p(escape(CRITERION_TEXT[code]), "criterion"))

    def build(self) -> list[Flowable]:
        self.cover()
        self.summary()
        self.cc7_1()
        self.cc7_2()
        self.remediation()
        self.cc3_2()
        self.cc8_1()
        self.cc6_8()
        self.cc7_3()
        self.register()
        self.appendix()
        return self.story

    # --- cover and summary --------------------------------------------------------

    def cover(self) -> None:
        data, basis = self.data, self.data.basis
        self.add(Spacer(1, 30 * mm), _p(escape(data.title), "title"), Spacer(1, 4))
        organisation = clip(literal(data.scope.organisation), 300)
        self.add(_p(escape(organisation), "subtitle"), Spacer(1, 14))
        self.add(
            _key_values(
                [
                    (
                        "Audit period",
                        f"{data.period.start} to {data.period.end} "
                        f"({counted(data.period.days, 'day')}, UTC)",
                    ),
                    ("Scope", data.scope.description),
                    ("Repositories", ", ".join(data.scope.repositories) or "all in the ledger"),
                ],
                self.width,
            ),
            Spacer(1, 16),
            _p("Generation basis", "h2"),
            _p(
                "Every figure in this report is derived from the ledger entries covered by the "
                "signed checkpoint below, and from nothing else.",
                "small",
            ),
            Spacer(1, 4),
        )
        pairs = [
            ("Ledger origin", basis.origin),
            ("Checkpoint tree size", f"{basis.tree_size:,} entries"),
            ("Root hash (base64)", basis.root_hash),
            ("Signing key id", basis.key_id),
            ("Verifier key", basis.verifier_key),
            ("Checkpoint time", f"{_minute(basis.checkpoint_time)} UTC (time of the last entry)"),
            ("Figures as of", f"{_as_of(data)}. {_as_of_reason(data)}"),
        ]
        if basis.start_tree_size is not None:
            start = f"{basis.start_tree_size:,} entries, root {basis.start_root_hash or ''}"
            pairs.append(("Checkpoint at period start", start))
        if data.export is not None:
            export = data.export
            seq = f" as entry {export.seq}" if export.seq is not None else ""
            pairs.append(
                ("Export recorded", f"by {export.actor} at {_minute(export.requested_at)} UTC{seq}")
            )
        self.add(_key_values(pairs, self.width), Spacer(1, 16))
        self.add(self.verification_box())
        self.add(NextPageTemplate("portrait"), PageBreak())

    def verification_box(self) -> Flowable:
        v = self.data.verification
        colour = GOOD if v.verified else BAD
        verdict = "Verified" if v.verified else "NOT verified"
        lines = [
            _p(
                f'<font color="{colour.hexval()}">{verdict}</font>: '
                f"{v.entries_checked:,} ledger entries checked before this report was drawn.",
                "verdict",
            ),
        ]
        lines += [_p(f"&#8226; {markup(check)}", "cell") for check in v.checks]
        if v.detail:
            lines.append(_p(markup(v.detail), "cell"))
        lines.append(
            Spacer(1, 3),
        )
        lines.append(
            _p(
                "The pack that carries this report holds the entries, checkpoints, proofs and "
                "the verifier key, so the statement above can be re-checked offline; see "
                "Appendix B.",
                "small",
            )
        )
        box = Table(
            [[lines]],
            colWidths=[self.width],
            style=[
                ("BOX", (0, 0), (-1, -1), 1, colour),
                ("LINEBEFORE", (0, 0), (0, -1), 4, colour),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ],
        )
        return box

    def summary(self) -> None:
        data = self.data
        t = metrics.totals(self.findings, self.runs)
        weeks = metrics.weekly(self.findings, data.period, data.as_of)
        stats = metrics.remediation(self.findings, data.config.sla)
        self.add(_heading("Executive summary"))
        fixed_total = t.sla_met + t.sla_breached
        partial = sum(1 for r in self.runs if r.successful and not r.complete)
        unnamed = sum(1 for r in self.runs if not r.repository)
        named = t.repositories - (1 if unnamed else 0)
        where = f"{named} repositor{'y' if named == 1 else 'ies'}"
        if unnamed:
            where += f" (and {counted(unnamed, 'run')} naming no repository)"
        self.add(
            _p(
                f"Figures as of {escape(_as_of(data))}. "
                f"During the period {counted(t.runs, 'scanner run')} of "
                f"{counted(t.tools, 'tool')} over {where} were recorded in the ledger; "
                f"{t.failed_runs} failed and {partial} "
                "stopped part-way (partial), and neither marks a finding fixed. They reported "
                f"{t.findings:,} distinct findings: {t.fixed:,} fixed, {t.open:,} still open "
                f"({t.accepted:,} of them under a risk acceptance). Of the fixed findings with an "
                f"SLA, {_pct(t.sla_met, fixed_total)} were fixed in time; {t.open_breached:,} open "
                "findings are past their due date."
            )
        )
        cards = [
            ("Findings", f"{t.findings:,}"),
            ("Open", f"{t.open:,}"),
            (
                "Open critical / high",
                f"{t.open_by_severity['critical']:,} / {t.open_by_severity['high']:,}",
            ),
            ("Fixed within SLA", _pct(t.sla_met, fixed_total)),
            ("Open past due", f"{t.open_breached:,}"),
            ("Scanner runs (failed / partial)", f"{t.runs:,} ({t.failed_runs} / {partial})"),
        ]
        cell_w = self.width / len(cards)
        self.add(
            Table(
                [
                    [_p(f'<font size="15"><b>{v}</b></font>', "cell") for _, v in cards],
                    [_p(escape(k), "small") for k, _ in cards],
                ],
                colWidths=[cell_w] * len(cards),
                style=[
                    ("BACKGROUND", (0, 0), (-1, -1), STRIPE),
                    ("LINEBEFORE", (1, 0), (-1, -1), 2, colors.white),
                    ("TOPPADDING", (0, 0), (-1, 0), 9),
                    ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
                    ("LEFTPADDING", (0, 0), (-1, -1), 7),
                ],
            ),
            Spacer(1, 12),
        )
        self.add(charts.open_by_severity(weeks, self.width), Spacer(1, 10))
        self.add(charts.opened_vs_fixed(weeks, self.width), Spacer(1, 10))
        self.add(KeepTogether([charts.remediation_vs_sla(stats, self.width)]))
        sla = data.config.sla
        rule = ", ".join(
            f"{s} {sla.for_severity(s)} days"
            for s in ("critical", "high", "medium", "low")
            if sla.for_severity(s) is not None
        )
        self.add(
            _p(
                f"SLA applied: {escape(rule)}, counted from the first sighting; informational "
                "findings have no SLA. Weeks start on Monday and are labelled by it; the first "
                "and last weeks are cut to the period. Time to remediate counts fixed findings "
                "only. Findings under a risk acceptance count as open.",
                "small",
            )
        )
        self.add(PageBreak())

    # --- criteria -----------------------------------------------------------------

    def cc7_1(self) -> None:
        data = self.data
        rows = metrics.cadence(self.runs, data.period, data.config.max_gap_days, data.as_of)
        gaps = [(r, g) for r in rows for g in r.gaps]
        self.criterion("CC7.1")
        self.add(
            _p(
                f"Scanners ran {counted(len(self.runs), 'time')} across "
                f"{counted(len(rows), 'repository and tool pair')}. Each run is a ledger entry "
                "holding the artifact's SHA-256, the commit "
                f"and the CI run. <b>Cadence rule:</b> a gap is any stretch longer than "
                f"{data.config.max_gap_days} days without a successful run of the same "
                f"repository and tool, including the stretch from the period's start to the "
                f"first run and from the last run to {escape(_as_of(data))}. "
                f"<b>{counted(len(gaps), 'gap')}</b> found."
            )
        )
        self.table(
            [
                "Repository",
                "Tool",
                "Runs",
                "Failed",
                "Commits",
                "First run",
                "Last run",
                "Median interval",
                "Gaps",
            ],
            [
                [
                    r.repository,
                    r.tool,
                    f"{r.runs:,}",
                    str(r.failed),
                    f"{r.commits:,}",
                    _day(r.first),
                    _day(r.last),
                    "" if r.median_interval_days is None else f"{r.median_interval_days:.1f} d",
                    str(len(r.gaps)) if r.gaps else "none",
                ]
                for r in rows
            ],
            [3.2, 1.6, 0.8, 0.8, 1.0, 1.3, 1.3, 1.3, 0.8],
        )
        if gaps:
            self.add(_p("Cadence gaps", "h2"))
            self.table(
                ["Repository", "Tool", "From", "To", "Days", "Where"],
                [
                    [
                        r.repository,
                        r.tool,
                        _minute(g.start),
                        _minute(g.end),
                        f"{g.days:.1f}",
                        g.kind,
                    ]
                    for r, g in gaps
                ],
                [3.0, 1.6, 1.7, 1.7, 0.8, 1.6],
            )

    def cc7_2(self) -> None:
        rows = metrics.health(self.runs)
        problems = metrics.problem_runs(self.runs)
        self.criterion("CC7.2")
        self.add(
            _p(
                "A scanner that fails or stops part-way is itself an anomaly: its silence "
                f"must not read as a clean result. {counted(len(problems), 'run')} "
                f"{'was' if len(problems) == 1 else 'were'} failed or partial; a failed or "
                "partial run never marks a finding fixed."
            )
        )
        self.table(
            ["Tool", "Versions", "Runs", "Failed", "Partial", "Success rate", "Last problem"],
            [
                [
                    r.tool,
                    ", ".join(r.versions),
                    f"{r.runs:,}",
                    str(r.failed),
                    str(r.partial),
                    _pct(r.runs - r.failed - r.partial, r.runs),
                    _minute(r.last_problem),
                ]
                for r in rows
            ],
            [1.6, 1.8, 0.8, 0.8, 0.8, 1.0, 1.6],
        )
        if problems:
            self.add(_p("Failed and partial runs", "h2"))
            self.table(
                ["Time (UTC)", "Repository", "Tool", "Artifact", "Commit", "Outcome", "Entry"],
                [
                    [
                        _minute(r.time),
                        r.repository or "",
                        r.tool,
                        r.name,
                        (r.commit or "")[:12],
                        "failed" if not r.successful else "partial",
                        str(r.seq),
                    ]
                    for r in problems
                ],
                [1.6, 2.4, 1.2, 2.2, 1.2, 0.9, 0.7],
            )

    def remediation(self) -> None:
        data = self.data
        stats = metrics.remediation(self.findings, data.config.sla)
        ages = metrics.open_by_age(self.findings, data.as_of)
        breaches = metrics.breaches(self.findings, data.acceptances, data.as_of)
        self.criterion("CC4.2 / CC7.4")
        self.add(
            _p(
                f"Each finding's SLA runs from its first sighting; it is met when a later complete "
                f"run no longer reports the finding before the due date. "
                f"{counted(len(breaches), 'finding')} missed "
                f"{'its' if len(breaches) == 1 else 'their'} SLA; each is listed below with "
                "the facts that explain it. Open findings' ages and due dates are judged at "
                f"{escape(_as_of(data))}."
            )
        )
        self.table(
            [
                "Severity",
                "SLA",
                "Fixed",
                "Fixed in SLA",
                "Median days",
                "90th pct days",
                "Max days",
                "Open",
                "Open past due",
            ],
            [
                [
                    s.severity,
                    "none" if s.sla_days is None else f"{s.sla_days} d",
                    f"{s.fixed:,}",
                    _pct(s.fixed_within_sla, s.fixed) if s.sla_days else "n/a",
                    _num(s.median_days),
                    _num(s.p90_days),
                    _num(s.max_days),
                    f"{s.open:,}",
                    f"{s.open_breached:,}",
                ]
                for s in stats
            ],
            [1.2, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 0.8, 1.0],
            severity_column=0,
        )
        self.add(_p("Open findings by age", "h2"))
        self.table(
            ["Severity", *[label for label, _, _ in metrics.AGE_BUCKETS], "Total"],
            [[a.severity, *[f"{c:,}" for c in a.counts], f"{a.total:,}"] for a in ages],
            [1.2, 1, 1, 1, 1, 1, 0.8],
            severity_column=0,
        )
        self.add(_p("SLA breaches", "h2"))
        self.table(
            ["Finding", "Severity", "Title", "Due", "Days over", "Explanation"],
            [
                [
                    b.finding.finding_id,
                    b.finding.severity,
                    b.finding.title,
                    _day(b.finding.sla_due),
                    str(b.days_over),
                    b.explanation,
                ]
                for b in breaches
            ],
            [1.3, 0.8, 2.6, 1.0, 0.7, 3.4],
            severity_column=1,
            empty="No finding missed its SLA.",
        )

    def cc3_2(self) -> None:
        as_of = self.data.as_of.date()
        acceptances = sorted(self.data.acceptances, key=lambda a: (a.finding_id, a.seq))
        expired = sum(1 for a in acceptances if a.expires is not None and a.expires < as_of)
        unapproved = sum(1 for a in acceptances if not a.approver)
        self.criterion("CC3.2")
        self.add(
            _p(
                f"{counted(len(acceptances), 'risk acceptance')} recorded, {unapproved} "
                f"without a named approver and {expired} expired by "
                f"{escape(_as_of(self.data))}. Tool-reported "
                "suppressions are recorded as pending acceptances until someone approves them."
            )
        )
        self.table(
            ["Finding", "Kind", "Status", "Approver", "Expires", "Justification", "Entry"],
            [
                [
                    a.finding_id,
                    a.kind,
                    a.status
                    + (" (expired)" if a.expires is not None and a.expires < as_of else ""),
                    a.approver or "none",
                    str(a.expires or "never"),
                    a.justification,
                    str(a.seq),
                ]
                for a in acceptances
            ],
            [1.3, 1.1, 1.2, 1.3, 0.9, 3.6, 0.6],
        )

    def cc8_1(self) -> None:
        rows = metrics.changes(self.runs)
        with_commit = sum(r.runs_with_commit for r in rows)
        self.criterion("CC8.1")
        self.add(
            _p(
                f"{with_commit:,} of {len(self.runs):,} runs name the commit they scanned, so each "
                "finding can be traced to the change that introduced or removed it. Runs without "
                "a commit were ingested outside CI or without CI metadata. Appendix A lists "
                "every run with its commit and CI run."
            )
        )
        self.table(
            ["Repository", "Runs", "With commit", "Commits", "Branches", "Tools"],
            [
                [
                    r.repository,
                    f"{r.runs:,}",
                    _pct(r.runs_with_commit, r.runs),
                    f"{r.commits:,}",
                    ", ".join(r.branches),
                    ", ".join(r.tools),
                ]
                for r in rows
            ],
            [2.6, 0.7, 0.9, 0.8, 2.0, 2.0],
        )

    def cc6_8(self) -> None:
        kinds: tuple[Any, ...] = ("secret", "dependency")
        counts = metrics.by_category(self.findings, kinds)
        open_rows = [f for f in self.findings if f.category in kinds and f.fixed_at is None]
        self.criterion("CC6.8")
        self.add(
            _p(
                "Leaked credentials and vulnerable or malicious third-party packages are the "
                "routes by which unauthorised software reaches production. Secret values are "
                "never recorded: the ledger holds a keyed digest in their place."
            )
        )
        self.table(
            ["Category", "Severity", "Findings", "Open", "Fixed", "SLA breached"],
            [
                [
                    c.category,
                    c.severity,
                    f"{c.total:,}",
                    f"{c.open:,}",
                    f"{c.fixed:,}",
                    f"{c.breached:,}",
                ]
                for c in counts
            ],
            [1.4, 1.0, 1.0, 1.0, 1.0, 1.0],
            severity_column=1,
            empty="No secret or dependency findings in the period.",
        )
        if open_rows:
            self.add(_p("Open secret and dependency findings", "h2"))
            self.table(
                ["Finding", "Severity", "Kind", "Title", "Location", "First seen", "SLA"],
                [
                    [
                        f.finding_id,
                        f.severity,
                        f.category,
                        f.title,
                        f.location,
                        _day(f.first_seen),
                        f.sla_result or "",
                    ]
                    for f in open_rows
                ],
                [1.3, 0.8, 0.9, 2.3, 2.2, 1.0, 1.3],
                severity_column=1,
            )

    def cc7_3(self) -> None:
        pairs = metrics.runtime_triage(self.findings, self.data.triage)
        untriaged = sum(1 for _, t in pairs if t is None)
        self.criterion("CC7.3")
        self.add(
            _p(
                f"{counted(len(pairs), 'runtime finding')} reported: "
                f"{len(pairs) - untriaged} with a triage decision, {untriaged} without."
            )
        )
        self.table(
            [
                "Finding",
                "Severity",
                "Title",
                "First seen",
                "Status",
                "Decision",
                "Analyst",
                "Note",
                "Entry",
            ],
            [
                [
                    f.finding_id,
                    f.severity,
                    f.title,
                    _day(f.first_seen),
                    f.status,
                    t.decision if t else "not triaged",
                    (t.analyst or "") if t else "",
                    t.note if t else "",
                    str(t.seq) if t else "",
                ]
                for f, t in pairs
            ],
            [1.2, 0.8, 2.0, 0.9, 0.9, 1.0, 0.9, 2.0, 0.6],
            severity_column=1,
            empty="No runtime findings in the period.",
        )

    # --- register and appendices --------------------------------------------------

    def register(self) -> None:
        self.add(NextPageTemplate("landscape"), PageBreak())
        self.add(_heading("Findings register"))
        self.add(
            _p(
                f"All {len(self.findings):,} findings, by severity and first sighting; status "
                f"and SLA result as of {escape(_as_of(self.data))}. "
                "<b>Entry</b> is the ledger sequence number that first recorded the finding; "
                "<b>Artifact</b> is the SHA-256 of the scanner output it was read from (see "
                "Appendix A).",
                "small",
            ),
            Spacer(1, 4),
        )
        self.table(
            [
                "Finding",
                "Tool / rule",
                "Severity",
                "Title / location",
                "First / last seen",
                "Status",
                "Fixed at",
                "SLA due / result",
                "Artifact SHA-256",
                "Entry",
            ],
            [_register_row(f) for f in self.findings],
            [56, 98, 38, 213, 48, 46, 44, 56, 122, 30],
            width=self.wide,
            size=6.5,
            severity_column=2,
            empty="No findings in the period.",
        )

    def appendix(self) -> None:
        self.add(PageBreak(), _heading("Appendix A  Artifacts"))
        self.add(
            _p(
                "Every scanner output behind this report, in ledger order. An auditor sampling a "
                "finding takes its artifact digest from the register, finds the run here, and "
                "compares the digest with the file kept by the CI system.",
                "small",
            ),
            Spacer(1, 4),
        )
        self.table(
            [
                "Time (UTC)",
                "Name",
                "Tool",
                "Format",
                "SHA-256",
                "Repository / commit",
                "CI run",
                "Results",
                "Entry",
            ],
            [_artifact_row(r) for r in self.runs],
            [60, 110, 62, 40, 122, 150, 135, 38, 34],
            width=self.wide,
            size=6.5,
        )
        self.add(NextPageTemplate("portrait"), PageBreak())
        self.add(_heading("Appendix B  Verifying this evidence"))
        basis = self.data.basis
        steps = [
            "Check the pack: <font face='Courier'>trailseal verify-pack PACK.zip "
            "--trusted-key KEY</font>, with the verifier key obtained from the organisation "
            "through a channel other than the pack. It needs no database and no network, and "
            "exits 0 only if every check below passes.",
            "By hand: <font face='Courier'>VERIFY.md</font> in the pack describes each "
            "check and carries a short standalone script (Python and the cryptography "
            "package) that makes them all: the SHA-256 of every file against "
            "<font face='Courier'>manifest.json</font>, and the manifest's signature with the "
            "verifier key.",
            "Verify the Ed25519 signature on the period's end checkpoint (C2SP signed-note "
            f"format), and check that it names origin {markup(basis.origin)} with tree size "
            f"{basis.tree_size:,} and root hash {markup(basis.root_hash)}, as on the cover.",
            "Verify the consistency proof from the start checkpoint to the end checkpoint "
            "(RFC 9162, section 2.1.4): the ledger was only appended to during the period.",
            "For a sampled finding, hash its entry's bytes as a Merkle leaf and check the "
            "inclusion proof against the end checkpoint (RFC 9162, section 2.1.3); then check "
            "that the artifact digest in the entry matches the raw file in the CI system.",
            "The export that wrote this report is recorded as a ledger entry naming the period "
            "and the pack's SHA-256. It is appended after the end checkpoint, so it is not in "
            "this pack: it appears in the pack of the period in which the export was made.",
        ]
        for i, step in enumerate(steps, 1):
            self.add(_p(f"<b>{i}.</b> {step}"))
        self.add(Spacer(1, 8), _p("What the checks prove, and what they do not", "h2"))
        start = basis.start_tree_size if basis.start_tree_size is not None else 0
        self.add(
            _p(
                f"<b>Proven:</b> the key with id {markup(basis.key_id)}, which the trusted "
                f"verifier key is or rotated to, signed the checkpoint of {basis.tree_size:,} "
                "entries; that ledger extends "
                f"the one of {start:,} entries sealed before the period, so nothing recorded "
                "earlier was altered or removed during it; and the period's "
                f"{basis.tree_size - start:,} entries, each with its inclusion proof, are in the "
                "pack exactly as the ledger holds them."
            ),
            _p(
                "<b>Not proven:</b> that every scanner run was recorded (a run never ingested "
                "leaves no entry; CC7.1 reports the gaps in cadence it leaves); that the scanners "
                "found every problem; anything recorded after the end checkpoint (figures are as "
                f"of {escape(_as_of(self.data))}: {escape(_as_of_reason(self.data))}). Findings "
                "first seen before the period come from entries the checkpoint covers but the pack "
                "does not carry. Whoever holds the signing key could build a different ledger "
                "and sign it: checking that the start checkpoint names the same tree size and "
                "root hash as the end checkpoint of the previous period's pack, or as a "
                "checkpoint the auditor kept, rules that out."
            ),
        )
        self.add(Spacer(1, 8), _p("Report conventions", "h2"))
        self.add(
            _p(
                "Times are UTC. Text taken from scanner output is printed literally: characters "
                "that could be invisible or reorder text (control and bidirectional characters) "
                "and characters outside the report's font are shown as [U+XXXX]; long values "
                f"wrap, and a cell longer than {MAX_CELL_LINES} lines ends with a truncation "
                "note; entries.jsonl in the pack holds the value as recorded.",
                "small",
            )
        )


def _register_row(f: FindingRow) -> list[Cell]:
    return [
        f.finding_id,
        (f.tool, f.rule_id),
        f.severity,
        (f.title, f.location),
        (_day(f.first_seen), _day(f.last_seen)),
        f.status,
        _day(f.fixed_at),
        (_day(f.sla_due), f.sla_result or "no SLA"),
        _digest(f.artifact_sha256),
        "" if f.seq is None else str(f.seq),
    ]


def _digest(value: str) -> Cell:
    """A SHA-256 hex digest on two lines of 32, so every row reads alike."""
    return (value[:32], value[32:]) if len(value) == 64 else value


def _artifact_row(r: ScanRun) -> list[Cell]:
    outcome = "" if r.successful and r.complete else (" failed" if not r.successful else " partial")
    return [
        _minute(r.time),
        r.name,
        f"{r.tool} {r.tool_version or ''}".strip(),
        r.format,
        _digest(r.sha256),
        (r.repository or "", r.commit or ""),
        (r.pipeline_run or "", r.run_url or ""),
        f"{r.results:,}{outcome}",
        str(r.seq),
    ]


_RAW_STREAMS = threading.Lock()


def render_report(data: ReportData, out: BinaryIO | Path) -> int:
    """Write the report for ``data`` as PDF to ``out``; return the number of pages.

    The bytes depend on ``data`` alone.
    """
    story = _Builder(data).build()
    canvas_class = type(
        "_DatedCanvas", (_ReportCanvas,), {"checkpoint_time": data.basis.checkpoint_time}
    )
    buffer = io.BytesIO()
    document = _Document(buffer, data)
    with _RAW_STREAMS:
        # Page streams are Flate-compressed; the default ASCII85 layer on top
        # adds a quarter to the size and, without reportlab's C accelerator,
        # a third of the run time. The switch is process-wide, hence the lock.
        saved, rl_config.useA85 = rl_config.useA85, 0
        try:
            document.build(story, canvasmaker=canvas_class)
        finally:
            rl_config.useA85 = saved
    pdf = buffer.getvalue()
    if isinstance(out, Path):
        out.write_bytes(pdf)
    else:
        out.write(pdf)
    log.info("report: %d pages, %d bytes, %d findings", document.page, len(pdf), len(data.findings))
    return int(document.page)
