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


def test_the_target_label_has_its_unit_and_stays_clear_of_the_latest_value() -> None:
    # The latest month just under the target (75% of 80%): its value and the target's label
    # would meet at the right end; the label sits in a gutter right of the columns instead.
    months = [Bar(f"{m}月", 0) for m in range(1, 21)] + [Bar("12月", 75, note="75%（12人）")]
    svg = str(columns(months, title="満足度", target=80, unit="%"))
    label = re.search(r'<text class="chart-target-label" x="([\d.]+)"[^>]*>([^<]*)<', svg)
    assert label is not None and label.group(2) == "目標 80%"
    value = re.search(r'<text class="chart-value" x="([\d.]+)"[^>]*>75%（12人）<', svg)
    assert value is not None
    label_right = float(label.group(1))  # text-anchor="end"
    label_left = label_right - (2 * 12 + 4 * 12 * 0.6)  # 「目標」 and 「 80%」 at 12 units
    value_right = float(value.group(1)) + (6 * 13 + 3 * 13 * 0.6) / 2  # centred
    assert value_right < label_left
    rights = [
        float(x) + float(w)
        for x, w in re.findall(
            r'<rect class="chart-bar[^"]*" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
        )
    ]
    assert max(rights) < label_left  # no column under the label either
