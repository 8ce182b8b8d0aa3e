"""The console's SVG charts: well-formed, accessible, and true to the numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.console.charts import HEIGHT, Point, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def titles(root: ET.Element, tag: str) -> list[str]:
    return [el.findtext(f"{SVG}title") or "" for el in root.iter(f"{SVG}{tag}")]


def test_a_bar_chart_is_an_image_named_by_its_title_and_description():
    root = parse(bar_chart("per-hour", "Orders per hour", [Point("10:00", 3), Point("11:00", 5)]))

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "per-hour-title per-hour-desc"
    assert root.findtext(f"{SVG}title") == "Orders per hour"
    assert root.findtext(f"{SVG}desc") == "10:00: 3, 11:00: 5"


def test_each_bar_names_its_label_and_value_and_taller_values_draw_taller_bars():
    root = parse(bar_chart("c", "Orders", [Point("a", 2), Point("b", 8), Point("c", 0)]))

    bars = list(root.iter(f"{SVG}rect"))
    assert titles(root, "rect") == ["a: 2", "b: 8", "c: 0"]
    heights = [float(bar.get("height") or 0) for bar in bars]
    assert heights[1] > heights[0] > heights[2] == 0
    assert heights[1] / heights[0] == 4


def test_the_axis_is_labelled_in_text_with_a_round_top():
    root = parse(bar_chart("c", "Orders", [Point("a", 7)], unit=" h"))

    ticks = [t.text for t in root.iter(f"{SVG}text")]
    assert ticks[:3] == ["0 h", "5 h", "10 h"]
    assert "a" in ticks


def test_text_is_escaped_so_a_label_cannot_break_the_markup():
    root = parse(bar_chart("c", "<Carriers & co>", [Point("<b>", 1)]))

    assert root.findtext(f"{SVG}title") == "<Carriers & co>"
    assert titles(root, "rect") == ["<b>: 1"]


def test_an_empty_chart_still_draws_its_axes():
    root = parse(bar_chart("c", "Nothing yet", []))

    assert list(root.iter(f"{SVG}rect")) == []
    assert len(list(root.iter(f"{SVG}line"))) >= 2


def test_a_line_chart_skips_missing_values_and_puts_higher_values_higher():
    points = [Point("Mon", 4.5), Point("Tue", None), Point("Wed", 3.25)]
    root = parse(line_chart("sat", "Average rating", points, top_value=5))

    assert titles(root, "circle") == ["Mon: 4.5", "Wed: 3.25"]
    ys = [float(c.get("cy") or 0) for c in root.iter(f"{SVG}circle")]
    assert ys[0] < ys[1] < HEIGHT  # SVG's y grows downwards
    (line,) = root.iter(f"{SVG}polyline")
    assert len((line.get("points") or "").split()) == 2
    assert root.findtext(f"{SVG}desc") == "Mon: 4.5, Tue: none, Wed: 3.25"


def test_long_series_label_only_some_ticks_so_they_do_not_overlap():
    points = [Point(f"{h:02d}:00", h) for h in range(24)]
    root = parse(bar_chart("c", "Orders per hour", points))

    labels = [t.text for t in root.iter(f"{SVG}text") if t.text and t.text.endswith(":00")]
    assert labels == ["00:00", "02:00", "04:00", "06:00", "08:00", "10:00", "12:00", "14:00",
                      "16:00", "18:00", "20:00", "22:00"]
    assert len(titles(root, "rect")) == 24
