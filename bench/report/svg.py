"""Small, fast, self-contained SVG line charts for the HTML report.

The report needs hundreds of interactive charts (every sequence, every metric, bpp/kbps, linear/log), so they
are written directly as SVG text rather than through matplotlib (which makes the paper exports): a chart
costs well under a millisecond, hovering a point shows its ``<title>``, and every piece of text is escaped
here because the result is inserted into the page verbatim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

MARKER_SHAPES = ("circle", "square", "diamond", "triangle", "triangle_down", "plus", "cross", "star", "hexagon",
                 "pentagon")


@dataclass
class Series:
    name: str
    colour: str
    marker: str
    points: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, hover text ("" = none)
    highlight: set[int] = field(default_factory=set)  # indexes drawn with a ring (e.g. intra frames)
    line: bool = True
    alt_x: list[float | None] | None = None  # a second x value per point (kbps), for the page's axis switch
    markers: bool = True  # False: only highlighted points get a marker (dense per-frame charts)
    dashed: bool = False  # the anchor


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


def _log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**e
            if lo <= v <= hi:
                ticks.append(v)
    return ticks or [lo, hi]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:.4g}"


def _marker(shape: str, x: float, y: float, r: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{colour}"/>'
    if shape in ("diamond", "triangle", "triangle_down", "star", "hexagon", "pentagon"):
        sides = {"diamond": 4, "triangle": 3, "triangle_down": 3, "star": 5, "hexagon": 6, "pentagon": 5}[shape]
        rot = {"triangle_down": math.pi / 2, "triangle": -math.pi / 2, "diamond": 0.0}.get(shape, -math.pi / 2)
        pts = " ".join(f"{x + r * 1.2 * math.cos(rot + 2 * math.pi * k / sides):.1f},"
                       f"{y + r * 1.2 * math.sin(rot + 2 * math.pi * k / sides):.1f}" for k in range(sides))
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape in ("plus", "cross"):
        a = 0 if shape == "plus" else r * 0.7
        b = r if shape == "plus" else r * 0.7
        if shape == "plus":
            d = f"M{x - b:.1f},{y:.1f}H{x + b:.1f}M{x:.1f},{y - b:.1f}V{y + b:.1f}"
        else:
            d = f"M{x - a:.1f},{y - a:.1f}L{x + a:.1f},{y + a:.1f}M{x - a:.1f},{y + a:.1f}L{x + a:.1f},{y - a:.1f}"
        return f'<path d="{d}" stroke="{colour}" stroke-width="2"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}"/>'


def line_chart(series: list[Series], x_label: str, y_label: str, *, log_x: bool = False, title: str = "",
               width: int = 440, height: int = 290, switchable: bool = False, log_y: bool = False) -> str:
    """An SVG chart of ``series``; a point's hover text is its ``<title>``.

    ``switchable`` charts carry each point's x values (``data-b``, and ``data-k`` from ``alt_x``) and the plot
    area, so the report's script can redraw the x axis as bpp or kbps, linear or log, without a second copy."""
    if log_y:  # drawn on log10 of the values, ticks labelled with the values
        series = [Series(s.name, s.colour, s.marker, [(x, math.log10(y), tip) for x, y, tip in s.points if y > 0],
                         s.highlight, s.line, s.alt_x, s.markers, s.dashed) for s in series]
    xs = [p[0] for s in series for p in s.points if not (log_x and p[0] <= 0)]
    ys = [p[1] for s in series for p in s.points]
    left, right, top, bottom = 58, 10, 24 if title else 10, 42
    pw, ph = width - left - right, height - top - bottom
    area = (f' data-area="{left} {top} {pw} {ph}" data-xlabel="{escape(x_label)}"' if switchable else "")
    cls = "chart sw" if switchable else "chart"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title or y_label)}"{area}>']
    if title:
        out.append(f'<text x="{left + pw / 2:.0f}" y="15" text-anchor="middle" class="ct">{escape(title)}</text>')
    if not xs or not ys:
        out.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no data</text></svg>')
        return "".join(out)
    x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
    if log_x:
        x_lo, x_hi = x_lo / 1.15, x_hi * 1.15
        fx = (lambda v: math.log10(v)) if x_hi > x_lo else (lambda v: v)
    else:
        pad = (x_hi - x_lo) * 0.05 or abs(x_hi) * 0.05 or 1.0
        x_lo, x_hi = max(0.0, x_lo - pad) if x_lo >= 0 else x_lo - pad, x_hi + pad
        fx = lambda v: v  # noqa: E731
    y_pad = (y_hi - y_lo) * 0.06 or 1.0
    y_lo, y_hi = y_lo - y_pad, y_hi + y_pad
    fx_lo, fx_hi = fx(x_lo), fx(x_hi)

    def px(v: float) -> float:
        return left + (fx(v) - fx_lo) / (fx_hi - fx_lo) * pw

    def py(v: float) -> float:
        return top + ph - (v - y_lo) / (y_hi - y_lo) * ph

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="pa"/>')
    out.append('<g class="xt">')
    for t in (_log_ticks(x_lo, x_hi) if log_x else _nice_ticks(x_lo, x_hi)):
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" class="gr"/>'
                   f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{_fmt(t)}</text>')
    out.append("</g>")
    y_ticks = ([math.log10(t) for t in _log_ticks(10**y_lo, 10**y_hi)] if log_y else _nice_ticks(y_lo, y_hi))
    for t in y_ticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="gr"/>'
                   f'<text x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{_fmt(10**t if log_y else t)}</text>')
    out.append(f'<text x="{left + pw / 2:.0f}" y="{height - 6}" text-anchor="middle" class="xl">{escape(x_label)}</text>'
               f'<text transform="translate(13,{top + ph / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f'{escape(y_label)}</text>')
    for s in series:
        keep = [i for i, (x, _, _) in enumerate(s.points) if not (log_x and x <= 0)]
        pts = [(px(s.points[i][0]), py(s.points[i][1]), s.points[i][2]) for i in keep]
        data = ""
        if switchable:
            b = " ".join(f"{s.points[i][0]:.6g}" for i in keep)
            k = " ".join("" if s.alt_x is None or s.alt_x[i] is None else f"{s.alt_x[i]:.6g}" for i in keep)
            data = f' data-b="{b}" data-k="{k}"'
        if s.line and len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            dash = ' stroke-dasharray="5,3"' if s.dashed else ""
            out.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="1.5"{dash}{data}>'
                       f"<title>{escape(s.name)}</title></polyline>")
        for i, (x, y, tip) in enumerate(pts):
            ring = i in s.highlight
            if not s.markers and not ring:
                continue
            ring_svg = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="none" stroke="#000" stroke-width="1.2"/>'
                        if ring else "")
            title = f"<title>{escape(tip)}</title>" if tip else ""
            attrs = ""
            if switchable:
                j = keep[i]
                alt = "" if s.alt_x is None or s.alt_x[j] is None else f"{s.alt_x[j]:.6g}"
                attrs = f' data-b="{s.points[j][0]:.6g}" data-k="{alt}" data-x="{x:.1f}"'
            out.append(f'<g class="pt"{attrs}>{title}{ring_svg}{_marker(s.marker, x, y, 3.2, s.colour)}</g>')
    out.append("</svg>")
    return "".join(out)


def legend(entries: list[tuple[str, str, str, bool]]) -> str:
    """A one-line SVG legend of (name, colour, marker, dashed)."""
    width = sum(24 + 7 * len(name) + 16 for name, *_ in entries) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="{width}" height="22">']
    x = 6
    for name, colour, marker, dashed in entries:
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        out.append(f'<line x1="{x}" y1="11" x2="{x + 18}" y2="11" stroke="{colour}" stroke-width="1.5"{dash}/>'
                   f"{_marker(marker, x + 9, 11, 3.2, colour)}"
                   f'<text x="{x + 24}" y="15">{escape(name)}</text>')
        x += 24 + 7 * len(name) + 16
    out.append("</svg>")
    return "".join(out)


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
                       f'stroke="{r.colour}" stroke-width="2"><title>95% CI of the mean: [{r.ci[0]:+.2f}, '
                       f'{r.ci[1]:+.2f}]</title></line>')
        if r.mean is not None:
            out.append(f'<line x1="{px(r.mean):.1f}" y1="{y - 8:.1f}" x2="{px(r.mean):.1f}" y2="{y + 8:.1f}" '
                       f'stroke="#000" stroke-width="2"><title>mean {r.mean:+.2f}</title></line>')
        for k, (v, tip) in enumerate(r.values):
            jitter = ((k * 7) % 5 - 2) * 1.6  # a fixed spread so equal values stay visible
            out.append(f'<g class="pt"><title>{escape(tip)}</title>'
                       f'{_marker("circle", px(v), y + jitter, 3.0, r.colour)}</g>')
    out.append("</svg>")
    return "".join(out)
