"""How every curve is drawn, the same in every figure of every report (HTML charts and paper exports).

A curve's style has four parts, each from one fact about it, so that a reader learns the code once:

* **colour** and **marker**: the codec's *family*, from its name alone (the part after a ``source:`` prefix,
  its first word, a trailing version dropped: ``demo:x265``, ``x265 (published, CompressAI)`` and
  ``VTM-15.0 LD`` are the families x265, x265 and vtm). The codecs papers compare most have fixed entries
  (x264 is always the same blue with circles); any other family takes a palette entry chosen by a hash of its
  name. A published curve of a known codec therefore takes that codec's colour.
* **line and marker fill**: where the curve comes from, in a fixed order: the report's first run (or imported
  file) solid with filled markers, the second dashed with open markers, the third dotted with filled markers,
  the fourth dash-dot with open markers (then again from the first); a published curve dotted with open
  markers; a learned codec's estimated-bits curve dash-dot with filled markers.
* **width**: the anchor is drawn with a heavier line.

Within one report no two curves share colour, marker, line and fill: where two would (two hashed families
landing on one palette entry, two published curves of one family), the later one, in the order above, takes
the next free marker. A descriptor's ``display:`` block (label, colour, marker) overrides any of the three for
that codec.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bench.conditions.display import MARKER_NAMES

# A colour-blind-safe palette (Okabe-Ito, then Paul Tol's muted scheme), spelled out so the HTML charts need
# no matplotlib.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#117733", "#332288",
           "#999933", "#44AA99", "#AA4499", "#661100", "#6699CC", "#888888")
_MATPLOTLIB_MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^", "triangle_down": "v",
                       "pentagon": "p", "hexagon": "h", "star": "*", "plus": "P", "cross": "X"}
MARKERS = tuple((name, _MATPLOTLIB_MARKERS[name]) for name in MARKER_NAMES)
# Fixed entries (colour index, marker index) for the codecs most papers show, by family (lower case).
KNOWN = {"x264": (0, 0), "x265": (1, 1), "vvenc": (2, 2), "svtav1": (3, 3), "vtm": (4, 4), "hm": (5, 5),
         "ecm": (6, 6), "aom": (7, 7), "libaom": (7, 7), "dcvc": (8, 0), "dcvc-tcm": (9, 1), "dcvc-hem": (10, 2),
         "dcvc-dc": (11, 3), "dcvc-fm": (12, 4), "dcvc-rt": (13, 5), "dhvc-1.0": (8, 8), "dhic": (9, 9),
         "ssf2020": (5, 7)}
# Line patterns: matplotlib's dash tuple (in line widths) and the SVG stroke-dasharray (in px) of each.
LINES = {"solid": ("-", ""), "dashed": ((0, (4, 2)), "5,3"), "dotted": ((0, (1, 1.5)), "1.5,2.5"),
         "dashdot": ((0, (5, 1.5, 1, 1.5)), "6,2.5,1.5,2.5")}
# (line, filled markers) of a run or imported file by its position among the report's sources, of a
# published curve, and of an estimated-bits curve.
SOURCE_VARIANTS = (("solid", True), ("dashed", False), ("dotted", True), ("dashdot", False))
PUBLISHED_VARIANT = ("dotted", False)
ESTIMATED_VARIANT = ("dashdot", True)
ESTIMATED = " (estimated bits)"


@dataclass(frozen=True)
class Origin:
    """Where a curve comes from: its source's position among the report's runs and imported files (0 first),
    or a published curve."""

    source: int = 0
    published: bool = False


@dataclass(frozen=True)
class Style:
    colour: str
    svg_marker: str
    mpl_marker: str
    line: str = "solid"  # a key of LINES
    filled: bool = True  # filled markers, else open (white inside)
    anchor: bool = False  # drawn heavier
    label: str = ""  # the name tables and legends print (the codec's name unless its descriptor gives one)

    @property
    def mpl_linestyle(self) -> object:
        return LINES[self.line][0]

    @property
    def svg_dash(self) -> str:
        return LINES[self.line][1]

    def key(self) -> tuple[str, str, str, bool]:
        """What tells two curves apart on paper: colour, marker, line and fill."""
        return self.colour.lower(), self.svg_marker, self.line, self.filled


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def family(name: str) -> str:
    """The codec family a curve's name belongs to (lower case): the name after a ``source:`` prefix, without
    `` (estimated bits)``; a known family when its first word, or that word without a trailing version, is one
    (``VTM-15.0 LD (published, CompressAI)`` -> ``vtm``)."""
    base = name.rsplit(":", 1)[-1].removesuffix(ESTIMATED).strip().lower()
    if base in KNOWN:
        return base
    word = base.split()[0] if base.split() else base
    for candidate in (word, re.sub(r"-?v?\d+(\.\d+)*$", "", word)):
        if candidate in KNOWN:
            return candidate
    return base


def _variant(name: str, origin: Origin) -> tuple[str, bool]:
    if name.endswith(ESTIMATED):
        return ESTIMATED_VARIANT
    if origin.published:
        return PUBLISHED_VARIANT
    return SOURCE_VARIANTS[origin.source % len(SOURCE_VARIANTS)]


def codec_style(name: str, anchor: str | None = None, display: Mapping[str, str] | None = None,
                origin: Origin | None = None) -> Style:
    """The style of the curve NAME before any clash with another curve is resolved (see :func:`codec_styles`):
    the same in every report. ANCHOR, when it is NAME, is drawn heavier; DISPLAY (its descriptor's ``display:``
    block) overrides the label, colour and marker; ORIGIN gives the line and fill."""
    display = display or {}
    fam = family(name)
    colour, marker = KNOWN.get(fam, (_hash(fam) % len(COLOURS), _hash(fam) % len(MARKERS)))
    if display.get("marker") in MARKER_NAMES:
        marker = MARKER_NAMES.index(display["marker"])
    svg, mpl = MARKERS[marker]
    line, filled = _variant(name, origin or Origin())
    estimated = ESTIMATED if name.endswith(ESTIMATED) else ""
    return Style(display.get("colour") or COLOURS[colour], svg, mpl, line, filled, anchor=name == anchor,
                 label=display["label"] + estimated if display.get("label") else name)


def codec_styles(codecs: list[str], anchor: str | None = None,
                 displays: Mapping[str, Mapping[str, str]] | None = None,
                 origins: Mapping[str, Origin] | None = None) -> dict[str, Style]:
    """Every curve's style, no two alike: DISPLAYS: codec name -> its ``display:`` block, where it has one;
    ORIGINS: codec name -> where it comes from (default: the first source). Curves are settled in the order of
    their origin (first run first, published last), known families before hashed ones, then by name; one whose
    colour, marker, line and fill are taken moves to the next free marker. Returned in that order."""
    displays = displays or {}
    origins = origins or {}

    def order(name: str) -> tuple[bool, int, bool, str]:  # a known family keeps its entry against a hashed one
        o = origins.get(name, Origin())
        return o.published, o.source, family(name) not in KNOWN, name

    out: dict[str, Style] = {}
    taken: set[tuple[str, str, str, bool]] = set()
    for name in sorted(set(codecs), key=order):
        style = codec_style(name, anchor, displays.get(name) or displays.get(name.removesuffix(ESTIMATED)),
                            origins.get(name))
        start = MARKER_NAMES.index(style.svg_marker)
        for step in range(len(MARKERS)):
            svg, mpl = MARKERS[(start + step) % len(MARKERS)]
            candidate = Style(style.colour, svg, mpl, style.line, style.filled, style.anchor, style.label)
            if candidate.key() not in taken:
                style = candidate
                break
        taken.add(style.key())
        out[name] = style
    return out  # in the order settled: legends list the curves so
