"""Checks of a figure and of a LaTeX table as a reviewer would make them, done by the tools that draw and set
them (matplotlib's renderer, pdflatex), not by the code that laid them out.

A figure passes when every panel has data, no two curves share colour, marker, line and marker fill, there is
one legend that lists exactly the curves drawn (each once, in the curve's own style), lying inside the canvas
and off every panel, and every text lies inside the canvas. A set of tables passes when pdflatex sets them in a
two-column 10 pt article without an overfull line or a float too large for the page.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

PDFLATEX = shutil.which("pdflatex")
TEX_PACKAGES = "texlive-latex-base, texlive-latex-recommended and texlive-fonts-recommended"


def _style(line: Line2D) -> tuple[str, str, str, str]:
    from matplotlib.colors import to_hex

    # The dash pattern as drawn, (offset, on-off lengths); get_linestyle() says "--" for every custom pattern.
    dashes = line._unscaled_dash_pattern
    face = line.get_markerfacecolor()
    return (to_hex(line.get_color()), str(line.get_marker()), str(dashes),
            "filled" if to_hex(face) == to_hex(line.get_color()) else to_hex(face))


def _words(text: str) -> str:
    return " ".join(text.split())  # a label wrapped onto several lines is the same label


def figure_problems(fig: Figure) -> list[str]:
    """Everything a reviewer would refuse in FIG, as sentences (empty: none)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    problems: list[str] = []
    series: dict[str, tuple[str, str, str, str]] = {}
    axes = [ax for ax in fig.axes if ax.get_visible()]
    if not axes:
        problems.append("no panel")
    for i, ax in enumerate(axes):
        drawn = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        finite = [ln for ln in drawn if any(math.isfinite(x) and math.isfinite(y) for x, y in ln.get_xydata())]
        if not finite:
            problems.append(f"panel {i} has no data")
        for ln in finite:
            style = _style(ln)
            if series.setdefault(_words(ln.get_label()), style) != style:
                problems.append(f"{ln.get_label()!r} is drawn in two styles")
    by_style: dict[tuple[str, str, str, str], list[str]] = {}
    for label, style in series.items():
        by_style.setdefault(style, []).append(label)
    problems += [f"curves {labels} share colour, marker, line and fill {style}"
                 for style, labels in by_style.items() if len(labels) > 1]
    legends = list(fig.legends) + [lg for ax in axes if (lg := ax.get_legend()) is not None]
    if len(legends) != 1:
        problems.append(f"{len(legends)} legends, not one")
    for legend in legends:
        texts = [_words(t.get_text()) for t in legend.get_texts()]
        if sorted(texts) != sorted(series):
            problems.append(f"legend lists {sorted(texts)}, curves drawn are {sorted(series)}")
        for text, handle in zip(texts, legend.legend_handles, strict=True):
            if isinstance(handle, Line2D) and text in series and _style(handle) != series[text]:
                problems.append(f"legend entry {text!r} is drawn {_style(handle)}, its curve {series[text]}")
        box = legend.get_window_extent(renderer)
        if not (box.x0 >= canvas.x0 - 0.5 and box.x1 <= canvas.x1 + 0.5 and box.y0 >= canvas.y0 - 0.5
                and box.y1 <= canvas.y1 + 0.5):
            problems.append(f"legend {box.bounds} leaves the canvas {canvas.bounds}")
        problems += [f"legend overlaps panel {i}" for i, ax in enumerate(axes)
                     if box.overlaps(ax.get_tightbbox(renderer))]
    boxes = [ax.get_tightbbox(renderer) for ax in axes]  # a panel with its tick and axis labels, as drawn
    problems += [f"panel {i} and its labels overlap panel {j}'s" for i in range(len(boxes))
                 for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
    # Every panel with its tick labels and axis labels (as drawn), and every text of the figure, on the canvas.
    drawn = [(f"panel {i} with its labels", ax.get_tightbbox(renderer)) for i, ax in enumerate(axes)]
    drawn += [(f"text {t.get_text()!r}", t.get_window_extent(renderer)) for t in [*fig.texts, fig._suptitle]
              if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]
    problems += [f"{what} leaves the canvas" for what, box in drawn if box.x0 < canvas.x0 - 0.5 or
                 box.x1 > canvas.x1 + 0.5 or box.y0 < canvas.y0 - 0.5 or box.y1 > canvas.y1 + 0.5]
    return problems


def tex_page(tables: list[Path], figures: list[tuple[Path, bool]]) -> str:
    """A two-column 10 pt article (Times text, booktabs) setting every table as written, each on its own page,
    and every figure (PDF; True: one column wide, else the page) as a paper includes it."""
    lines = [r"\documentclass[10pt,twocolumn]{article}", r"\usepackage{times}", r"\usepackage{booktabs}",
             r"\usepackage{graphicx}", r"\begin{document}"]
    for path in tables:
        lines += [f"\\typeout{{TABLE {path.name}}}", f"\\input{{{path.as_posix()}}}", r"\clearpage"]
    for path, column in figures:
        env, width = ("figure", r"\columnwidth") if column else ("figure*", r"\textwidth")
        lines += [f"\\typeout{{FIGURE {path.name}}}", f"\\begin{{{env}}}[t]\\centering",
                  f"\\includegraphics[width={width}]{{{path.as_posix()}}}\\caption{{{path.stem.replace('_', ' ')}}}",
                  f"\\end{{{env}}}", r"\clearpage"]
    return "\n".join([*lines, r"\end{document}", ""])


def latex_problems(page: str, folder: Path) -> list[str]:
    """Compile PAGE with pdflatex in FOLDER; every overfull line, float too large or error, with the table or
    figure it is in."""
    assert PDFLATEX is not None
    (folder / "page.tex").write_text(page)
    done = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "page.tex"], cwd=folder,  # noqa: S603
                          capture_output=True, text=True, timeout=300, check=False)
    log = (folder / "page.log").read_text(errors="replace")
    problems, where = [], "the page"
    for line in log.splitlines():
        if line.startswith(("TABLE ", "FIGURE ")):
            where = line
        elif re.match(r"Overfull \\hbox|.*Float too large|^! ", line):
            problems.append(f"{where}: {line}")
    if done.returncode != 0 and not problems:
        problems.append(f"pdflatex failed: {done.stdout[-1500:]}")
    return problems
