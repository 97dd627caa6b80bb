"""RD figures (matplotlib, Agg backend: no display needed): a quick-look PNG per sequence for a run, and the paper
figures, per class and per sequence at publication size as PDF, SVG and PNG. Run as ``python -m
bench.report.plots`` it is a drawing process: it draws the jobs :mod:`bench.report.figure_workers` hands it while
the run's ranking and the report's page are built.

Every figure is laid out in inches, not left to matplotlib: the panels at a fixed size, below them one legend
of every curve drawn in any panel, in as many columns as fit the figure's width (a label too long for one
line is wrapped), and the figure made tall enough to hold it, so the legend is inside the canvas and never on
the data. A panel without data is left out and a figure without any is not written; each says why in the
list of skipped figures the export returns.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import traceback
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from matplotlib.typing import RcKeyType  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.metrics import metric_label  # noqa: E402
from bench.report.chart_data import finite_curve, has_data  # noqa: E402
from bench.report.figure_workers import QUICKLOOK_METRICS, figure_specs  # noqa: E402
from bench.report.styles import Style, codec_styles  # noqa: E402


def plot_sequence(df: pd.DataFrame, sequence: str, path: Path, note: str, anchor: str | None = None) -> str | None:
    """PSNR-YUV (6:1:1) and PSNR-Y (PSNR-RGB where those are missing) against bpp for every codec on one
    sequence; returns why no figure was written (no metric has a value), else None."""
    ok = df[(df["sequence"] == sequence) & (df["status"] == "ok")]
    metrics = [m for m in QUICKLOOK_METRICS if has_data(ok, m)][:2]
    if not metrics:
        return f"no successful job of {sequence} has {' or '.join(metric_label(m) for m in QUICKLOOK_METRICS)}"
    styles = codec_styles(sorted(df["codec"].unique()), anchor)
    fig, axes, grid = _layout(len(metrics), 10.0, cols=len(metrics), aspect=0.6, top=0.4)
    for ax, metric in zip(axes, metrics, strict=True):
        _panel(ax, ok, metric, styles, metric_label(metric))
        ax.set_xlabel("bpp (bitstream bytes x 8 / pixels)")
    fig.suptitle(f"{sequence}", fontsize=11, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
    _legend(fig, axes, grid, styles, note=note)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)
    return None


# Publication sizes: one column of a two-column paper (IEEE, ACM) is 3.5 in wide, the page 7.16 in; figures are
# drawn at that size so that their text is 8 pt where it is printed.
COLUMN_W, PAGE_W = 3.5, 7.16
PAPER_RC: dict[RcKeyType, Any] = {  # values of many types: rcParams keys each take their own
    "pdf.fonttype": 42, "ps.fonttype": 42,  # TrueType embedded, never Type 3 (publishers' checkers refuse it)
    "svg.fonttype": "none",
    "font.family": "serif", "font.serif": ["DejaVu Serif"], "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavuserif",
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "lines.linewidth": 1.2, "lines.markersize": 4, "axes.linewidth": 0.6,
    "grid.linewidth": 0.4, "savefig.dpi": 300,
}


FONT_FAMILIES = {"serif": "serif", "sans": "sans-serif"}  # --font: the paper's body font (Times-like or not)


def file_part(name: object) -> str:
    """A sequence or metric name as part of a file name (letters, digits, '-', '_'; others become '_')."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:100] or "_"


ANCHOR_WIDTH = 1.8  # the anchor's line, in line widths of the other curves


def _panel(ax: plt.Axes, rows: pd.DataFrame, metric: str, styles: dict[str, Style], label: str,
           name: str | None = None) -> int:
    """Every codec's curve of ROWS on METRIC that has a point; returns how many were drawn."""
    drawn = 0
    for codec, part in rows.groupby("codec", sort=True):
        xy = finite_curve(part, metric)
        if xy.empty:
            continue
        st = styles[str(codec)]
        ax.plot(xy["x"], xy["y"], marker=st.mpl_marker, color=st.colour, label=st.label, linestyle=st.mpl_linestyle,
                linewidth=plt.rcParams["lines.linewidth"] * (ANCHOR_WIDTH if st.anchor else 1.0),
                markerfacecolor=st.colour if st.filled else "white", markeredgecolor=st.colour)
        drawn += 1
    if name is not None:  # a panel's name inside it, not a title above: grids stay compact
        ax.text(0.03, 0.97, name, transform=ax.transAxes, ha="left", va="top")
    ax.set_xlabel("bpp")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)
    return drawn


def _renderer(fig: plt.Figure) -> RendererAgg:
    """FIG's renderer, to measure what it draws before the layout is fixed."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # matplotlib.use("Agg") above: every figure drawn here is on one
    return canvas.get_renderer()


def _drawn_extent(ax: plt.Axes, renderer: RendererAgg) -> Bbox:
    """AX's extent in pixels with everything it draws outside its frame (tick labels, axis labels)."""
    box = ax.get_tightbbox(renderer)
    assert box is not None  # an Axes has none only when hidden, and no panel drawn here is
    return box


class _Grid:
    """Panels at a fixed size in inches: COLS a row, margins and gaps around them measured from what each
    panel draws outside its frame (tick labels, axis labels) by :meth:`fit`."""

    def __init__(self, count: int, width: float, cols: int, aspect: float, top: float) -> None:
        self.cols, self.rows, self.width, self.aspect = cols, -(-count // cols), width, aspect
        self.left, self.right, self.top, self.wgap, self.hgap, self.below = 0.5, 0.1, top, 0.45, 0.5, 0.45
        self._size()

    def _size(self) -> None:
        self.pw = (self.width - self.left - self.right - (self.cols - 1) * self.wgap) / self.cols
        self.ph = self.aspect * self.pw

    def fit(self, fig: plt.Figure, axes: list[plt.Axes]) -> None:
        """Margins and gaps from the panels as drawn: left of the first column its y labels, between columns
        those and the last x tick label's overhang, between rows the x labels of the upper row."""
        renderer = _renderer(fig)
        w, h = fig.get_size_inches()
        pos = [ax.get_position() for ax in axes]
        box = [_drawn_extent(ax, renderer) for ax in axes]
        left = max(p.x0 * w - b.x0 / fig.dpi for p, b in zip(pos, box, strict=True))
        right = max(b.x1 / fig.dpi - p.x1 * w for p, b in zip(pos, box, strict=True))
        below = max(p.y0 * h - b.y0 / fig.dpi for p, b in zip(pos, box, strict=True))
        above = max(b.y1 / fig.dpi - p.y1 * h for p, b in zip(pos, box, strict=True))
        self.left, self.right = left + 0.04, max(right, 0.0) + 0.06
        self.wgap, self.hgap, self.below = left + max(right, 0.0) + 0.1, below + max(above, 0.0) + 0.1, below
        self._size()

    def place(self, fig: plt.Figure, axes: list[plt.Axes], bottom: float) -> None:
        """Set the figure's height so that BOTTOM inches lie under the panels, and put every panel in place."""
        w = fig.get_size_inches()[0]
        h = self.top + self.rows * self.ph + (self.rows - 1) * self.hgap + bottom
        fig.set_size_inches(w, h)
        for i, ax in enumerate(axes):
            r, c = divmod(i, self.cols)
            x0, y0 = self.left + c * (self.pw + self.wgap), h - self.top - (r + 1) * self.ph - r * self.hgap
            ax.set_position((x0 / w, y0 / h, self.pw / w, self.ph / h))


def _layout(count: int, width: float, cols: int | None = None, aspect: float = 0.75,
            top: float = 0.08) -> tuple[plt.Figure, list[plt.Axes], _Grid]:
    """COUNT panels in a figure WIDTH inches wide (one column: one panel a row; the page: 2 a row up to 4
    panels, else 4), each ASPECT times as high as wide; the height is set by :func:`_legend`."""
    grid = _Grid(count, width, cols or (1 if width <= COLUMN_W else min(count, 2 if count <= 4 else 4)), aspect, top)
    fig = plt.figure(figsize=(width, 1.0))
    axes = [fig.add_axes((0, 0, 1, 1)) for _ in range(count)]
    grid.place(fig, axes, 1.0)
    return fig, axes, grid


def _fitted_legend(fig: plt.Figure, handles: list[Artist], labels: list[str]) -> Legend:
    """The legend in as many columns as fit the figure's width (balanced over its rows); labels wrapped when
    even one column is too wide."""
    renderer = _renderer(fig)
    room = (fig.get_size_inches()[0] - 0.1) * fig.dpi
    for _ in range(4):
        for ncol in range(len(labels), 0, -1):
            ncol = -(-len(labels) // -(-len(labels) // ncol))  # as many rows as ncol needs, balanced
            legend = fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False,
                                borderaxespad=0.0, columnspacing=1.2, handlelength=2.4)
            width = legend.get_window_extent(renderer).width
            if width <= room:
                return legend
            legend.remove()
        longest = max(len(label) for label in labels)  # one column is too wide: wrap the labels
        chars = max(8, int(longest * room / width) - 2)
        labels = [textwrap.fill(label, chars) for label in labels]
    raise BenchError(f"a legend label does not fit a {fig.get_size_inches()[0]:.2f} in figure: {labels[0]!r}")


def _legend(fig: plt.Figure, axes: list[plt.Axes], grid: _Grid, styles: dict[str, Style],
            note: str | None = None) -> None:
    """One legend for the whole figure, every curve drawn in any panel once (in the styles' order), under the
    panels' x labels; NOTE (a line about the run) under it. The figure grows to hold them."""
    drawn: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            drawn.setdefault(label, handle)
    order = {st.label: i for i, st in enumerate(styles.values())}
    labels = sorted(drawn, key=lambda label: (order.get(label, len(order)), label))
    renderer = _renderer(fig)
    below = 0.04  # inches of margin under everything
    text = None
    if note:
        text = fig.text(0.5, 0.0, textwrap.fill(note, int(fig.get_size_inches()[0] * 14)), ha="center", va="bottom",
                        fontsize=7)
        below += text.get_window_extent(renderer).height / fig.dpi + 0.04
    legend = _fitted_legend(fig, [drawn[label] for label in labels], labels) if labels else None
    legend_h = legend.get_window_extent(renderer).height / fig.dpi + 0.06 if legend is not None else 0.0
    for _ in range(2):  # measured twice: new panel sizes may change the tick labels
        grid.fit(fig, axes)
        grid.place(fig, axes, below + legend_h + grid.below + 0.04)
    h = fig.get_size_inches()[1]
    if text is not None:
        text.set_position((0.5, 0.04 / h))
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, below / h), transform=fig.transFigure)


def _save_all(fig: plt.Figure, stem: Path) -> list[Path]:
    out = []
    try:
        # savefig's keywords per format (typed Any by matplotlib: each format takes its own)
        formats: list[tuple[str, dict[str, Any]]] = [("pdf", {}), ("svg", {}), ("png", {"dpi": 300})]
        for ext, kw in formats:
            path = stem.with_suffix(f".{ext}")
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.{ext}")
            try:
                fig.savefig(tmp, **kw)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
            out.append(path)
    finally:
        plt.close(fig)
    return out


def _figure(panels: list[tuple[str | None, pd.DataFrame]], metric: str, width: float, styles: dict[str, Style],
            stem: Path) -> list[Path]:
    """One figure of PANELS (name, rows) on METRIC, WIDTH inches wide, saved as STEM.pdf/.svg/.png."""
    fig, axes, grid = _layout(len(panels), width)
    for ax, (name, rows) in zip(axes, panels, strict=True):
        _panel(ax, rows, metric, styles, metric_label(metric), name)
    _legend(fig, axes, grid, styles)
    return _save_all(fig, stem)


def _figure_job(points: pd.DataFrame, metrics: list[str], kind: str,
                what: str) -> tuple[str, str, list[tuple[str | None, pd.DataFrame]], str, list[str]]:
    """One figure of :func:`figure_specs` as (file stem, metric, panels, width kind, why panels were left out);
    only here are the class-averaged curves computed, so a process computes those of its own figures only."""
    from bench.bd.tables import class_average_points

    if kind == "classes":
        metric = what
        averaged = class_average_points(points, metric)
        groups = sorted(str(g) for g in points["group"].unique())
        have = [g for g in groups if has_data(averaged[averaged["group"].astype(str) == g], metric)]
        single = len(have) == 1
        panels = [(None if single else f"class {g}", averaged[averaged["group"].astype(str) == g]) for g in have]
        left_out = [f"class {g}: no curve has {metric_label(metric)}" for g in groups if g not in have]
        return f"rd_classes_{file_part(metric)}", metric, panels, "column" if single else "page", left_out
    metric, group = metrics[0], what
    part = points[points["group"].astype(str) == group]
    seqs = sorted(str(s) for s in part["sequence"].unique())
    have = [s for s in seqs if has_data(part[part["sequence"].astype(str) == s], metric)]
    panels = [(s, part[part["sequence"].astype(str) == s]) for s in have]
    left_out = [f"{s}: no curve has {metric_label(metric)}" for s in seqs if s not in have]
    return f"rd_sequences_{file_part(group)}_{file_part(metric)}", metric, panels, "page", left_out


def export_rd_figures(points: pd.DataFrame, metrics: list[str], out_dir: Path, part: int = 0, parts: int = 1,
                      anchor: str | None = None, family: str = "serif",
                      displays: dict[str, dict[str, str]] | None = None, styles: dict[str, Style] | None = None,
                      skipped: list[str] | None = None) -> list[str]:
    """Paper figures: per metric, the class-averaged curves (a panel per class), one column wide for one class
    and page wide for more; for the first (headline) metric also every sequence's curves, a page-wide grid per
    class. No titles (the caption is the paper's); the anchor heavier; TrueType fonts; PDF, SVG and PNG (300
    dpi); FAMILY "serif" or "sans"; STYLES: codec -> its style (default: from the names, ANCHOR and DISPLAYS, the
    codecs' descriptor blocks). A panel or figure without data is left out, and why is appended to SKIPPED.
    ``part``/``parts`` share the figures between processes. Returns the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = styles or codec_styles(list(points["codec"]), anchor, displays)
    written: list[Path] = []
    with plt.rc_context({**PAPER_RC, "font.family": FONT_FAMILIES[family]}):
        # This process's share of the list first, then only its figures' curves (the class averages of every
        # metric would otherwise be computed in each of the EXPORT_PROCESSES processes).
        for kind, what in figure_specs(points, metrics)[part::parts]:
            stem, metric, panels, width, left_out = _figure_job(points, metrics, kind, what)
            if not panels:
                (skipped if skipped is not None else []).append(
                    f"{stem}: not drawn, no data ({'; '.join(left_out) or 'no results'})")
                continue
            if left_out and skipped is not None:
                skipped.append(f"{stem}: panels left out, no data ({'; '.join(left_out)})")
            written += _figure(panels, metric, COLUMN_W if width == "column" else PAGE_W, styles, out_dir / stem)
    return [p.name for p in written]


def draw_quicklook(summary: pd.DataFrame, sequences: list[str], figure_dir: Path, note: str,
                   anchor: str | None) -> list[str]:
    """The quick-look figure of each of SEQUENCES, in this process; a line for each not drawn, saying why."""
    return [f"quick-look figure of {seq} not drawn: {why}" for seq in sequences
            if (why := plot_sequence(summary, seq, figure_dir / f"{file_part(seq)}.png", note, anchor)) is not None]


def draw_job(path: Path) -> dict[str, Any]:
    """One job of :class:`bench.report.figure_workers.FigureDrawing` (its JSON file at PATH), drawn here: the
    file names written and the figures skipped (and why), or the error that stopped it (its traceback)."""
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
        out_dir = Path(job["out_dir"])
        if job["kind"] == "quicklook":
            skipped = draw_quicklook(pd.DataFrame(job["columns"]), job["sequences"], out_dir, job["note"],
                                     job["anchor"])
            return {"written": [], "skipped": skipped}
        points = pd.read_json(job["points"], orient="table")
        styles = {c: Style(**st) for c, st in job["styles"].items()}
        skipped = []
        written = export_rd_figures(points, job["metrics"], out_dir, job["part"], job["parts"], family=job["family"],
                                    styles=styles, skipped=skipped)
        return {"written": written, "skipped": skipped}
    except Exception:  # the launcher raises it, naming the folder; this process goes on with the next job
        return {"error": traceback.format_exc()[-2000:]}


def _serve() -> None:
    """A drawing process: one job file named per line of standard input, one answer line per job, until its
    input ends."""
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(draw_job(Path(line.strip()))), flush=True)


if __name__ == "__main__":
    _serve()
