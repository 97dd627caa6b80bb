"""One colour and marker per codec, the same in every figure of every report (HTML charts and paper exports).

Codecs are ordered by name, so a codec keeps its style as long as the set of codecs in a report is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

# matplotlib's tab10 palette, spelled out so the HTML charts need no matplotlib.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
MARKERS = (("circle", "o"), ("square", "s"), ("diamond", "D"), ("triangle", "^"), ("triangle_down", "v"),
           ("pentagon", "p"), ("hexagon", "h"), ("star", "*"), ("plus", "P"), ("cross", "X"))


@dataclass(frozen=True)
class Style:
    colour: str
    svg_marker: str
    mpl_marker: str


def codec_styles(codecs: list[str]) -> dict[str, Style]:
    out = {}
    for i, name in enumerate(sorted(set(codecs))):
        svg, mpl = MARKERS[(i // len(COLOURS) + i) % len(MARKERS)]
        out[name] = Style(COLOURS[i % len(COLOURS)], svg, mpl)
    return out
