"""Charts as server-rendered SVG (no script, no CDN, no inline style: the CSP forbids them;
colours come from admin/charts.css classes). Every chart has a title and a text description
for screen readers, and scales to its container's width.

`bars` draws a distribution (one horizontal bar per answer); `columns` a series by month (one
column per month, optionally with the target as a line)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # shown after the bar, e.g. "12人（40%）"; defaults to the value
    strong: bool = False  # drawn in the accent colour (e.g. the 4–5 answers that count)


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _describe(items: Sequence[Bar]) -> str:
    return str(escape("、".join(f"{b.label}: {b.note or _number(b.value)}" for b in items)))


def bars(items: Sequence[Bar], *, title: str, label_width: int = 150) -> Markup:
    """A horizontal bar per item, longest = full width."""
    # Drawn narrow (labels + 330, shown at most 560 px wide, charts.css): on a phone it
    # shrinks less than a wide drawing would, so its 14-unit text stays readable at 390 px.
    row, gap, note_width = 26, 8, 110
    width = label_width + 330
    height = max(1, len(items)) * (row + gap)
    biggest = max((b.value for b in items), default=0) or 1
    plot = width - label_width - note_width
    parts = [
        f'<svg class="chart chart-bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f"<desc>{_describe(items)}</desc>",
    ]
    for n, b in enumerate(items):
        y = n * (row + gap)
        length = round(plot * b.value / biggest, 1)
        kind = "chart-bar chart-bar-strong" if b.strong else "chart-bar"
        parts += [
            f'<text class="chart-label" x="{label_width - 8}" y="{y + row * 0.68:.1f}" '
            f'text-anchor="end">{escape(b.label)}</text>',
            f'<rect class="{kind}" x="{label_width}" y="{y}" width="{length}" height="{row}" '
            'rx="3"/>',
            f'<text class="chart-value" x="{label_width + length + 6}" y="{y + row * 0.68:.1f}">'
            f"{escape(b.note or _number(b.value))}</text>",
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def _text_width(text: str, size: float) -> float:
    """Roughly how wide `text` is drawn at `size` (wide characters one em, others ~0.6)."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def columns(
    items: Sequence[Bar],
    *,
    title: str,
    target: float | None = None,
    target_label: str = "目標",
    unit: str = "",
) -> Markup:
    """A column per item (e.g. per month, oldest first) with its value above it, and the
    target as a dashed line when given. The target's label (e.g. 「目標 80%」) sits in a
    gutter right of the last column, so it never covers the latest value (the one read
    first, and the one a phone scrolls to)."""
    width, height, top, bottom, left = 640, 220, 22, 34, 8
    target_text = f"{target_label} {_number(target)}{unit}" if target else ""
    gutter = round(_text_width(target_text, 12) + 10) if target else 0
    plot_h = height - top - bottom
    plot_right = width - left - gutter
    slot = (plot_right - left) / max(1, len(items))
    biggest = max([b.value for b in items] + [target or 0]) or 1
    parts = [
        f'<svg class="chart chart-columns" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f"<desc>{_describe(items)}</desc>",
        f'<line class="chart-axis" x1="{left}" y1="{top + plot_h}" x2="{width - left}" '
        f'y2="{top + plot_h}"/>',
    ]
    every = max(1, round(len(items) / 12))  # at most ~12 axis labels
    for n, b in enumerate(items):
        x = left + n * slot
        h = round(plot_h * b.value / biggest, 1)
        kind = "chart-bar chart-bar-strong" if b.strong else "chart-bar"
        parts.append(
            f'<rect class="{kind}" x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{h}" rx="2"/>'
        )
        if b.value and len(items) <= 24:
            note = b.note or _number(b.value)
            # Centred on its column, but kept inside the plot (off the target's gutter).
            half = _text_width(note, 13) * 0.55
            middle = min(max(x + slot / 2, left + half), plot_right - half)
            parts.append(
                f'<text class="chart-value" x="{middle:.1f}" y="{top + plot_h - h - 4:.1f}" '
                f'text-anchor="middle">{escape(note)}</text>'
            )
        if n % every == 0:
            parts.append(
                f'<text class="chart-label" x="{x + slot / 2:.1f}" y="{height - 12}" '
                f'text-anchor="middle">{escape(b.label)}</text>'
            )
    if target:
        y = top + plot_h - plot_h * target / biggest
        parts += [
            f'<line class="chart-target" x1="{left}" y1="{y:.1f}" x2="{width - left}" '
            f'y2="{y:.1f}"/>',
            f'<text class="chart-target-label" x="{width - left}" y="{y - 4:.1f}" '
            f'text-anchor="end">{escape(target_text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))
