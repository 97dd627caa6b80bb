"""One colour and marker per codec, the same in every figure of every report (HTML charts and paper exports).

A codec's style depends on its name alone, never on which other codecs a report holds: the codecs papers
compare most get fixed entries (x264 is always the same blue), any other name takes a palette entry chosen by
a hash of its name. A source prefix (``demo:x265``) keeps the base codec's colour and takes its marker from
the whole name, so the same codec of two runs is told apart by its marker. The anchor is drawn dashed. A
descriptor's ``display:`` block (label, colour, marker) overrides any of the three for that codec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# A colour-blind-safe palette (Okabe-Ito, then Paul Tol's muted scheme), spelled out so the HTML charts need
# no matplotlib.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#117733", "#332288",
           "#999933", "#44AA99", "#AA4499", "#661100", "#6699CC", "#888888")
MARKERS = (("circle", "o"), ("square", "s"), ("diamond", "D"), ("triangle", "^"), ("triangle_down", "v"),
           ("pentagon", "p"), ("hexagon", "h"), ("star", "*"), ("plus", "P"), ("cross", "X"))
MARKER_NAMES = tuple(svg for svg, _ in MARKERS)
# Fixed entries (colour index, marker index) for the codecs most papers show, by base name (lower case).
KNOWN = {"x264": (0, 0), "x265": (1, 1), "vvenc": (2, 2), "svtav1": (3, 3), "vtm": (4, 4), "hm": (5, 5),
         "ecm": (6, 6), "aom": (7, 7), "libaom": (7, 7), "dcvc": (8, 0), "dcvc-tcm": (9, 1), "dcvc-hem": (10, 2),
         "dcvc-dc": (11, 3), "dcvc-fm": (12, 4), "dcvc-rt": (13, 5), "dhvc-1.0": (8, 8), "dhic": (9, 9)}


@dataclass(frozen=True)
class Style:
    colour: str
    svg_marker: str
    mpl_marker: str
    dashed: bool = False  # the anchor
    label: str = ""  # the name tables and legends print (the codec's name unless its descriptor gives one)


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def codec_style(name: str, anchor: str | None = None, display: dict[str, str] | None = None) -> Style:
    """The style of the codec NAME (the same in every report); ANCHOR, when it is NAME, is drawn dashed;
    DISPLAY (its descriptor's ``display:`` block) overrides the label, colour and marker."""
    display = display or {}
    base = name.rsplit(":", 1)[-1].removesuffix(" (estimated bits)").strip().lower()
    colour, marker = KNOWN.get(base, (_hash(base) % len(COLOURS), _hash(base) % len(MARKERS)))
    if base != name.lower():  # a source prefix: the same colour, a marker of its own
        marker = _hash(name) % len(MARKERS)
    if display.get("marker") in MARKER_NAMES:
        marker = MARKER_NAMES.index(display["marker"])
    svg, mpl = MARKERS[marker]
    estimated = " (estimated bits)" if name.endswith(" (estimated bits)") else ""
    return Style(display.get("colour") or COLOURS[colour], svg, mpl, dashed=name == anchor,
                 label=display["label"] + estimated if display.get("label") else name)


def codec_styles(codecs: list[str], anchor: str | None = None,
                 displays: dict[str, dict[str, str]] | None = None) -> dict[str, Style]:
    """Every codec's style; DISPLAYS: codec name -> its ``display:`` block, where it has one."""
    displays = displays or {}
    return {name: codec_style(name, anchor, displays.get(name) or displays.get(name.removesuffix(" (estimated bits)")))
            for name in sorted(set(codecs))}
