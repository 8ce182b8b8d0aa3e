"""Bar and line charts as inline SVG, drawn on the server from plain numbers.

Each chart is an image with a title and a description for screen readers, every bar or point
carries its own <title> (a tooltip too), and the axes are labelled in text, so the numbers
can be read without seeing the picture."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 240
MAX_BAR = 56  # a lone bar stays a bar, not a wall
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 40  # room for the axis labels


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None  # None: nothing to show for this label (e.g. no answers that day)


@dataclass(frozen=True)
class _Frame:
    """The plotting area inside the chart, and the value at its top."""

    top_value: float
    width: float = WIDTH - LEFT - RIGHT
    height: float = HEIGHT - TOP - BOTTOM

    def y(self, value: float) -> float:
        """The vertical position of `value`; SVG's y axis points down."""
        return TOP + self.height - (value / self.top_value) * self.height


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{round(value, 2):g}"


def _nice_top(highest: float) -> float:
    """A round number at or above `highest`, so the axis reads 0, 5, 10 rather than 0, 4.3."""
    if highest <= 0:
        return 1
    step = 1.0
    while step * 10 < highest:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= highest:
            return step * factor
    return step * 10


def _open(chart_id: str, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def _axes(frame: _Frame, unit: str) -> list[str]:
    bottom = TOP + frame.height
    parts = [f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>',
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>']
    for fraction in (0, 0.5, 1):
        value = frame.top_value * fraction
        y = frame.y(value)
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(_number(value))}{escape(unit)}</text>')
        if fraction:
            parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                         f'y2="{y:.1f}"/>')
    return parts


def _x_labels(labels: Sequence[str], centres: Sequence[float], every: int) -> list[str]:
    """Every `every`-th label under the axis, so long series do not overlap."""
    bottom = TOP + (HEIGHT - TOP - BOTTOM)
    return [f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f'{escape(label)}</text>'
            for n, (label, x) in enumerate(zip(labels, centres, strict=True)) if n % every == 0]


def _nothing_to_show(values: Sequence[float]) -> list[str]:
    if values:
        return []
    return [f'<text class="empty" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT / 2}" '
            'text-anchor="middle">No data yet</text>']


def _label_step(count: int, room: int = 12) -> int:
    return max(1, -(-count // room))


def bar_chart(chart_id: str, title: str, points: Sequence[Point], *, unit: str = "",
              description: str = "") -> str:
    """Vertical bars, one per point; a missing value draws no bar."""
    values = [p.value for p in points if p.value is not None]
    frame = _Frame(_nice_top(max(values, default=0)))
    summary = description or ", ".join(
        f"{p.label}: {'none' if p.value is None else _number(p.value)}{unit}" for p in points)
    parts = _open(chart_id, title, summary) + _axes(frame, unit)
    slot = frame.width / max(len(points), 1)
    centres = [LEFT + slot * (n + 0.5) for n in range(len(points))]
    for point, centre in zip(points, centres, strict=True):
        if point.value is None:
            continue
        y, width = frame.y(point.value), min(slot * 0.7, MAX_BAR)
        parts.append(f'<rect class="bar" x="{centre - width / 2:.1f}" y="{y:.1f}" '
                     f'width="{width:.1f}" height="{TOP + frame.height - y:.1f}">'
                     f'<title>{escape(point.label)}: {escape(_number(point.value))}{escape(unit)}'
                     f'</title></rect>')
    parts += _x_labels([p.label for p in points], centres, _label_step(len(points)))
    return "\n".join([*parts, *_nothing_to_show(values), "</svg>"])


def line_chart(chart_id: str, title: str, points: Sequence[Point], *, unit: str = "",
               top_value: float | None = None, description: str = "") -> str:
    """A line through the points that have a value, with a dot on each."""
    values = [p.value for p in points if p.value is not None]
    frame = _Frame(top_value or _nice_top(max(values, default=0)))
    summary = description or ", ".join(
        f"{p.label}: {'none' if p.value is None else _number(p.value)}{unit}" for p in points)
    parts = _open(chart_id, title, summary) + _axes(frame, unit)
    step = frame.width / max(len(points) - 1, 1)
    xs = [LEFT + step * n if len(points) > 1 else LEFT + frame.width / 2
          for n in range(len(points))]
    drawn = [(x, frame.y(p.value), p) for x, p in zip(xs, points, strict=True)
             if p.value is not None]
    if len(drawn) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in drawn)
        parts.append(f'<polyline class="line" fill="none" points="{path}"/>')
    for x, y, point in drawn:
        assert point.value is not None
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f'<title>{escape(point.label)}: {escape(_number(point.value))}{escape(unit)}'
                     f'</title></circle>')
    parts += _x_labels([p.label for p in points], xs, _label_step(len(points)))
    return "\n".join([*parts, *_nothing_to_show(values), "</svg>"])
