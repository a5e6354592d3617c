"""The executive summary's charts, drawn with reportlab graphics shapes.

Each function takes figures from :mod:`ledger.export.metrics` and returns a
``Drawing`` (a platypus flowable). Nothing here reads artifact text: labels
are dates, severities and numbers, so no escaping is needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors

from ledger.export.metrics import RemediationStat, WeekCounts
from schemas.finding import SEVERITIES, Severity

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
RULE = colors.HexColor("#d1d5db")
ACCENT = colors.HexColor("#1e3a5f")

SEVERITY_COLOURS: dict[Severity, colors.Color] = {
    "critical": colors.HexColor("#8b1e1e"),
    "high": colors.HexColor("#d9480f"),
    "medium": colors.HexColor("#e8a317"),
    "low": colors.HexColor("#3b6fb6"),
    "info": colors.HexColor("#9ca3af"),
}
OPENED = colors.HexColor("#c2410c")
FIXED = colors.HexColor("#2f855a")

FONT = "Helvetica"
BOLD = "Helvetica-Bold"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about ``count`` of them)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _label(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value / 1000:g}k"


class _Frame:
    """A plot area inside a drawing: value axis on the left, categories along the bottom."""

    def __init__(self, drawing: Drawing, x: float, y: float, w: float, h: float, top: float):
        self.drawing, self.x, self.y, self.w, self.h = drawing, x, y, w, h
        self.ticks = nice_ticks(top)
        self.top = self.ticks[-1]
        for tick in self.ticks:
            ty = self.scale(tick)
            drawing.add(Line(x, ty, x + w, ty, strokeColor=RULE, strokeWidth=0.4))
            drawing.add(
                String(
                    x - 4,
                    ty - 2.5,
                    _label(tick),
                    fontName=FONT,
                    fontSize=6.5,
                    fillColor=MUTED,
                    textAnchor="end",
                )
            )
        drawing.add(Line(x, y, x + w, y, strokeColor=INK, strokeWidth=0.6))

    def scale(self, value: float) -> float:
        return self.y + self.h * value / self.top

    def category_labels(self, labels: Sequence[str], slot: float) -> None:
        # Keep labels at least ~34pt apart, whatever the number of weeks.
        every = max(1, math.ceil(34 / slot)) if slot > 0 else 1
        for i, text in enumerate(labels):
            if i % every == 0:
                cx = self.x + slot * (i + 0.5)
                self.drawing.add(
                    String(
                        cx,
                        self.y - 10,
                        text,
                        fontName=FONT,
                        fontSize=6.5,
                        fillColor=MUTED,
                        textAnchor="middle",
                    )
                )


def _legend(
    drawing: Drawing,
    x: float,
    y: float,
    items: Sequence[tuple[str, colors.Color]],
    lines: Sequence[str] = (),
) -> None:
    """Swatches and names; a name in ``lines`` is drawn as the mark the chart uses for it."""
    for name, colour in items:
        if name in lines:
            drawing.add(Line(x + 3.5, y - 1, x + 3.5, y + 8, strokeColor=colour, strokeWidth=1.4))
        else:
            drawing.add(Rect(x, y, 7, 7, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 10, y + 1, name, fontName=FONT, fontSize=7, fillColor=INK))
        x += 16 + len(name) * 4.2


def _title(drawing: Drawing, text: str, y: float) -> None:
    drawing.add(String(0, y, text, fontName=BOLD, fontSize=9, fillColor=INK))


# Bars no wider than this (points), so a short period does not draw slabs.
_MAX_BAR = 48.0


def _week_label(week: WeekCounts) -> str:
    return week.week_start.strftime("%d %b")


def open_by_severity(weeks: Sequence[WeekCounts], width: float, height: float = 170) -> Drawing:
    """Stacked bars: findings open at the end of each week, by severity."""
    drawing = Drawing(width, height)
    _title(drawing, "Open findings at each week's end, by severity", height - 10)
    _legend(drawing, 0, height - 26, [(s, SEVERITY_COLOURS[s]) for s in SEVERITIES])
    top = max((sum(w.open_by_severity.values()) for w in weeks), default=0)
    frame = _Frame(drawing, 30, 16, width - 34, height - 50, top)
    slot = frame.w / max(1, len(weeks))
    bar = min(slot * 0.7, _MAX_BAR)
    for i, week in enumerate(weeks):
        base = 0
        for severity in reversed(SEVERITIES):
            count = week.open_by_severity.get(severity, 0)
            if count:
                y0, y1 = frame.scale(base), frame.scale(base + count)
                drawing.add(
                    Rect(
                        frame.x + slot * i + (slot - bar) / 2,
                        y0,
                        bar,
                        y1 - y0,
                        fillColor=SEVERITY_COLOURS[severity],
                        strokeColor=None,
                    )
                )
                base += count
    frame.category_labels([_week_label(w) for w in weeks], slot)
    return drawing


def opened_vs_fixed(weeks: Sequence[WeekCounts], width: float, height: float = 150) -> Drawing:
    """Paired bars per week: findings first seen in the week, and findings fixed in it."""
    drawing = Drawing(width, height)
    _title(drawing, "Findings opened and fixed per week", height - 10)
    _legend(drawing, 0, height - 26, [("opened", OPENED), ("fixed", FIXED)])
    top = max((max(w.opened, w.fixed) for w in weeks), default=0)
    frame = _Frame(drawing, 30, 16, width - 34, height - 50, top)
    slot = frame.w / max(1, len(weeks))
    bar = min(slot * 0.36, _MAX_BAR / 2)
    for i, week in enumerate(weeks):
        left = frame.x + slot * i + (slot - 2 * bar) / 2
        for offset, value, colour in ((0.0, week.opened, OPENED), (bar, week.fixed, FIXED)):
            if value:
                drawing.add(
                    Rect(
                        left + offset,
                        frame.y,
                        bar,
                        frame.scale(value) - frame.y,
                        fillColor=colour,
                        strokeColor=None,
                    )
                )
    frame.category_labels([_week_label(w) for w in weeks], slot)
    return drawing


def remediation_vs_sla(stats: Sequence[RemediationStat], width: float) -> Drawing:
    """Horizontal bars per severity: median and 90th percentile days to fix, SLA marked."""
    shown = [s for s in stats if s.fixed or s.sla_days is not None]
    row_h = 24
    height = 52 + row_h * len(shown)
    drawing = Drawing(width, height)
    _title(drawing, "Time to remediate (days) against the SLA", height - 10)
    _legend(
        drawing,
        0,
        height - 26,
        [("median", ACCENT), ("90th percentile", colors.HexColor("#9db4cf")), ("SLA", INK)],
        lines=("SLA",),
    )
    top = max([s.p90_days or 0 for s in shown] + [s.sla_days or 0 for s in shown] + [1], default=1)
    ticks = nice_ticks(top * 1.05)
    span = ticks[-1]
    # The plot stops short of the right edge, where each row's "N fixed" note sits.
    left, plot_w = 58.0, width - 58.0 - 48.0

    def x_of(days: float) -> float:
        return left + plot_w * min(days, span) / span

    base_y = 16
    for tick in ticks:
        drawing.add(
            Line(x_of(tick), base_y, x_of(tick), height - 34, strokeColor=RULE, strokeWidth=0.4)
        )
        drawing.add(
            String(
                x_of(tick),
                base_y - 10,
                _label(tick),
                fontName=FONT,
                fontSize=6.5,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
    for i, stat in enumerate(shown):
        y = height - 38 - row_h * (i + 1) + 4
        drawing.add(
            String(
                left - 6,
                y + 6,
                stat.severity,
                fontName=FONT,
                fontSize=7.5,
                fillColor=INK,
                textAnchor="end",
            )
        )
        if stat.p90_days is not None:
            drawing.add(
                Rect(
                    left,
                    y + 1,
                    x_of(stat.p90_days) - left,
                    14,
                    fillColor=colors.HexColor("#9db4cf"),
                    strokeColor=None,
                )
            )
        if stat.median_days is not None:
            drawing.add(
                Rect(
                    left,
                    y + 4,
                    x_of(stat.median_days) - left,
                    8,
                    fillColor=ACCENT,
                    strokeColor=None,
                )
            )
        if stat.sla_days is not None:
            sx = x_of(stat.sla_days)
            drawing.add(Line(sx, y - 2, sx, y + 18, strokeColor=INK, strokeWidth=1.4))
        note = "no fixes" if stat.fixed == 0 else f"{stat.fixed} fixed"
        drawing.add(
            String(
                width, y + 5, note, fontName=FONT, fontSize=6.5, fillColor=MUTED, textAnchor="end"
            )
        )
    drawing.add(Line(left, base_y, left, height - 34, strokeColor=INK, strokeWidth=0.6))
    return drawing
