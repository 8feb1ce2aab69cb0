"""The SVG charts (admin/charts.py): sized by value, escaped, described for screen readers."""

from __future__ import annotations

import re

from admin.charts import Bar, bars, columns


def _widths(svg: str, kind: str = "chart-bar") -> list[float]:
    return [float(w) for w in re.findall(rf'<rect class="{kind}[^"]*" [^>]*width="([\d.]+)"', svg)]


def test_bars_are_sized_by_value_and_the_biggest_fills_the_plot() -> None:
    svg = str(bars([Bar("1", 1), Bar("2", 4), Bar("3", 2)], title="分布"))
    widths = _widths(svg)
    assert len(widths) == 3
    assert widths[1] == max(widths) and widths[0] * 4 == widths[1] and widths[2] * 2 == widths[1]


def test_labels_and_titles_are_escaped_and_described() -> None:
    svg = str(bars([Bar("<script>", 3, note="3人 & 50%")], title="質問 <b>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<title>質問 &lt;b&gt;</title>" in svg
    assert "3人 &amp; 50%" in svg  # the note, also in the description
    assert "<desc>&lt;script&gt;: 3人 &amp; 50%</desc>" in svg


def test_strong_bars_are_marked_and_zero_data_draws_without_dividing_by_zero() -> None:
    svg = str(bars([Bar("4", 0, strong=True), Bar("5", 0)], title="空"))
    assert svg.count("chart-bar-strong") == 1
    assert _widths(svg) == [0.0, 0.0]


def test_columns_draw_the_target_line_at_its_height() -> None:
    svg = str(columns([Bar("4月", 45), Bar("5月", 90)], title="推移", target=90))
    heights = [
        float(h) for h in re.findall(r'<rect class="chart-bar[^"]*" [^>]*height="([\d.]+)"', svg)
    ]
    assert heights[0] * 2 == heights[1]
    line = re.search(r'<line class="chart-target" x1="[\d.]+" y1="([\d.]+)"', svg)
    tops = re.findall(r'<rect class="chart-bar[^"]*" x="[\d.]+" y="([\d.]+)"', svg)
    assert line is not None and "目標 90" in svg
    assert float(line.group(1)) == float(tops[1])  # the 90 column reaches the line
