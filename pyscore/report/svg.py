"""This module contains the small inline-SVG plots of the HTML report: an x-y chart and a stacked bar chart.

Plain SVG text, no dependency and no external reference (no xmlns URL is
needed for SVG inside HTML5). Every label passes through ``html.escape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f")


@dataclass
class Series:
    """One line (``points`` joined) or scatter (``line=False``) on an x-y chart."""

    name: str
    points: list[tuple[float, float]]
    line: bool = True
    markers: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, tooltip), drawn as circles
    color: str = ""


def xy_chart(series: Sequence[Series], *, x_label: str, y_label: str, width: int = 640, height: int = 420,
             max_points: int = 400) -> str:
    """A chart on [0, 1] x [0, 1] (precision-recall space) with a legend under it."""
    left, right, top, bottom = 56, 16, 16, 44
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + min(max(x, 0.0), 1.0) * pw

    def sy(y: float) -> float:
        return top + (1.0 - min(max(y, 0.0), 1.0)) * ph

    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i in range(6):
        v = i / 5
        parts.append(f'<line x1="{sx(v):.1f}" y1="{top}" x2="{sx(v):.1f}" y2="{top + ph}" class="grid"/>')
        parts.append(f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + pw}" y2="{sy(v):.1f}" class="grid"/>')
        parts.append(f'<text x="{sx(v):.1f}" y="{top + ph + 16}" text-anchor="middle">{v:.1f}</text>')
        parts.append(f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{top + ph / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + ph / 2:.1f})">{escape(y_label)}</text>')
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        pts = [(x, y) for x, y in _thin(s.points, max_points) if _finite(x, y)]
        if s.line and len(pts) > 1:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8">'
                         f'<title>{escape(s.name)}</title></polyline>')
        elif pts:
            for x, y in pts:
                parts.append(f'<rect x="{sx(x) - 3:.1f}" y="{sy(y) - 3:.1f}" width="6" height="6" fill="{color}">'
                             f'<title>{escape(s.name)}</title></rect>')
        for x, y, tip in s.markers:
            if _finite(x, y):
                parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4.5" fill="white" stroke="{color}" '
                             f'stroke-width="2"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{s.color or PALETTE[i % len(PALETTE)]}">'
        f"</span>{escape(s.name)}</span>"
        for i, s in enumerate(series)
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], *, parts_names: Sequence[str],
                 colors: Sequence[str], width: int = 640, bar: int = 18) -> str:
    """Horizontal stacked bars, one per (label, values) row, scaled to the largest total."""
    label_w, right = 200, 60
    pw = width - label_w - right
    height = bar * len(rows) + 28
    biggest = max((sum(v) for _, v in rows), default=0) or 1
    out = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, values) in enumerate(rows):
        y = 4 + i * bar
        out.append(f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end">{escape(_short(label))}'
                   f"<title>{escape(label)}</title></text>")
        x = float(label_w)
        for value, name, color in zip(values, parts_names, colors, strict=True):
            w = pw * value / biggest
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{bar - 4}" fill="{color}">'
                           f"<title>{escape(label)}: {escape(name)} {value:g}</title></rect>")
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar * 0.7:.1f}">{sum(values):g}</text>')
    y = 4 + len(rows) * bar + 16
    x = label_w
    for name, color in zip(parts_names, colors, strict=True):
        out.append(f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    out.append("</svg>")
    return "".join(out)


def _thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most ``limit`` points, evenly spaced, keeping the first and the last."""
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _finite(x: float, y: float) -> bool:
    return math.isfinite(x) and math.isfinite(y)


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
