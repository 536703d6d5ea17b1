"""Bar charts drawn on the server as inline SVG: no script, nothing from another host.

Every label passes through markupsafe's escape; colours come from CSS classes
(app.css, `.chart .s0`...), since the pages' Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 28, 40


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no data (no bar, not a zero)
    css: str | None = None  # the bars' class in app.css; s0, s1... by position otherwise


def _number(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:g}"


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
              percent: bool = False, max_value: float | None = None) -> Markup:
    """Grouped bars, one group per label; `percent` reads values as shares of 1."""
    values = [v for s in series for v in s.values if v is not None]
    top = max_value if max_value is not None else max([*values, 0]) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(1, len(labels))
    bar_w = group_w * 0.8 / max(1, len(series))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title>',
        f'<text class="chart-title" x="{LEFT}" y="16">{escape(title)}</text>',
    ]
    for fraction in (0, 0.5, 1):  # three gridlines with their values
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(_number(top * fraction, percent))}</text>')
    for i, label in enumerate(labels):
        x0 = LEFT + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            h = plot_h * min(value, top) / top
            x, y = x0 + j * bar_w, TOP + plot_h - h
            parts.append(f'<rect class="{s.css or f"s{j}"}" x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.92:.1f}" '
                         f'height="{h:.1f}"><title>{escape(s.name)}, {escape(label)}: '
                         f'{escape(_number(value, percent))}</title></rect>')
        parts.append(f'<text class="axis" x="{LEFT + (i + 0.5) * group_w:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for j, s in enumerate(series):  # the legend, under the axis labels
        x = LEFT + j * 150
        parts.append(f'<rect class="{s.css or f"s{j}"}" x="{x}" y="{HEIGHT - 14}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{HEIGHT - 5}">{escape(s.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
