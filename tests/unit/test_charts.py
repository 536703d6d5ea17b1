"""Server-drawn SVG charts: bars in proportion, no data is no bar, every label escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reminders.web.charts import Series, bar_chart

NS = {"svg": "http://www.w3.org/2000/svg"}


def bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("svg:title", NS) is not None]


def test_bars_are_proportional_and_none_draws_nothing():
    svg = bar_chart("Replies", ["w1", "w2", "w3"], [Series("rate", [1.0, 0.5, None])], percent=True)
    heights = [float(r.get("height")) for r in bars(svg)]
    assert len(heights) == 2 and abs(heights[0] - 2 * heights[1]) < 0.2
    assert "50%" in svg


def test_labels_and_names_are_escaped():
    payload = "<script>alert(1)</script>"
    svg = bar_chart(payload, [payload], [Series(payload, [3])])
    ET.fromstring(svg)  # still well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg
