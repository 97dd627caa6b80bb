"""The report's strip plots (each sequence's BD value per codec, the mean and its CI) as inline SVG.

Written directly as SVG text (matplotlib makes the paper exports; the page's script draws the interactive
charts): a strip plot costs well under a millisecond, hovering a dot shows its ``<title>``, and every piece of
text is escaped here because the result is inserted into the page verbatim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=10 * magnitude)
    start = math.ceil(lo / step) * step
    ticks = []
    t = start
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:.4g}"


@dataclass
class Strip:
    """One codec's row of a strip plot: its per-sequence values, their mean and the mean's 95 % CI."""

    name: str
    colour: str
    values: list[tuple[float, str]]  # value, hover text
    mean: float | None = None
    ci: tuple[float, float] | None = None


def strip_chart(rows: list[Strip], x_label: str, *, title: str = "", width: int = 640) -> str:
    """Per-sequence values as dots, a row per codec, with the mean (bar) and its CI (whisker); x = 0 marked."""
    values = [v for r in rows for v, _ in r.values] + [c for r in rows if r.ci for c in r.ci]
    left, right, top, bottom, row_h = 170, 14, 24 if title else 10, 40, 26
    height = top + bottom + row_h * max(len(rows), 1)
    pw, ph = width - left - right, row_h * max(len(rows), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart strip" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title or x_label)}">']
    if title:
        out.append(f'<text x="{left + pw / 2:.0f}" y="15" text-anchor="middle" class="ct">{escape(title)}</text>')
    if not values:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no data</text></svg>')
        return "".join(out)
    lo, hi = min(*values, 0.0), max(*values, 0.0)
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad

    def px(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="pa"/>')
    for t in _nice_ticks(lo, hi):
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" class="gr"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<line x1="{px(0):.1f}" y1="{top}" x2="{px(0):.1f}" y2="{top + ph}" stroke="#666"/>'
               f'<text x="{left + pw / 2:.0f}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    for i, r in enumerate(rows):
        y = top + row_h * i + row_h / 2
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(r.name)}</text>')
        if r.ci is not None:
            out.append(f'<line x1="{px(r.ci[0]):.1f}" y1="{y:.1f}" x2="{px(r.ci[1]):.1f}" y2="{y:.1f}" '
                       f'stroke="{r.colour}" stroke-width="2"><title>95% CI of the mean (Student t, '
                       f'n={len(r.values)}): [{r.ci[0]:+.2f}, {r.ci[1]:+.2f}]</title></line>')
        if r.mean is not None:
            out.append(f'<line x1="{px(r.mean):.1f}" y1="{y - 8:.1f}" x2="{px(r.mean):.1f}" y2="{y + 8:.1f}" '
                       f'stroke="#000" stroke-width="2"><title>mean {r.mean:+.2f}</title></line>')
        for k, (v, tip) in enumerate(r.values):
            jitter = ((k * 7) % 5 - 2) * 1.6  # a fixed spread so equal values stay visible
            out.append(f'<g class="pt"><title>{escape(tip)}</title>'
                       f'<circle cx="{px(v):.1f}" cy="{y + jitter:.1f}" r="3.0" fill="{r.colour}"/></g>')
    out.append("</svg>")
    return "".join(out)
