"""RD figures (matplotlib, Agg backend: no display needed): a quick-look PNG per sequence for a run, and the paper
figures, per class and per sequence at publication size as PDF, SVG and PNG, drawn in separate processes while
the report's page is built."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bench.errors import BenchError, environment_problem  # noqa: E402
from bench.metrics import metric_label  # noqa: E402
from bench.report.styles import codec_styles  # noqa: E402


def plot_sequence(df: pd.DataFrame, sequence: str, path: Path, note: str, anchor: str | None = None) -> None:
    """PSNR-YUV (6:1:1) and PSNR-Y against bpp for every codec on one sequence."""
    ok = df[(df["sequence"] == sequence) & (df["status"] == "ok")]
    styles = codec_styles(sorted(df["codec"].unique()), anchor)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric in ((axes[0], "psnr_yuv_611"), (axes[1], "psnr_y")):
        label = metric_label(metric)
        for codec, rows in ok.groupby("codec"):
            rows = rows.sort_values("bpp")
            style = styles[codec]
            ax.plot(rows["bpp"], rows[metric], marker=style.mpl_marker, color=style.colour, label=codec,
                    linestyle="--" if style.dashed else "-")
        ax.set_xlabel("bpp (bitstream bytes x 8 / pixels)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"{sequence}", fontsize=11)
    fig.text(0.5, -0.02, note, ha="center", va="top", fontsize=7, wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


# Publication sizes: one column of a two-column paper (IEEE, ACM) is 3.5 in wide, the page 7.16 in; figures are
# drawn at that size so that their text is 8 pt where it is printed.
COLUMN_W, PAGE_W = 3.5, 7.16
PAPER_RC = {
    "pdf.fonttype": 42, "ps.fonttype": 42,  # TrueType embedded, never Type 3 (publishers' checkers refuse it)
    "svg.fonttype": "none",
    "font.family": "serif", "font.serif": ["DejaVu Serif"], "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavuserif",
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "lines.linewidth": 1.2, "lines.markersize": 4, "axes.linewidth": 0.6,
    "grid.linewidth": 0.4, "savefig.dpi": 300,
}


def _save_all(fig: plt.Figure, stem: Path) -> list[Path]:
    out = []
    for ext, kw in (("pdf", {}), ("svg", {}), ("png", {"dpi": 300})):
        path = stem.with_suffix(f".{ext}")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.{ext}")
        try:
            fig.savefig(tmp, **kw)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        out.append(path)
    plt.close(fig)
    return out


FONT_FAMILIES = {"serif": "serif", "sans": "sans-serif"}  # --font: the paper's body font (Times-like or not)


def file_part(name: object) -> str:
    """A sequence or metric name as part of a file name (letters, digits, '-', '_'; others become '_')."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:100] or "_"


def _panel(ax: plt.Axes, rows: pd.DataFrame, metric: str, styles: dict, label: str, name: str | None = None) -> None:
    for codec, part in rows.groupby("codec", sort=True):
        part = part.sort_values("bpp")
        style = styles[codec]
        ax.plot(part["bpp"], part[metric], marker=style.mpl_marker, color=style.colour, label=style.label,
                linestyle="--" if style.dashed else "-", markerfacecolor="white" if style.dashed else style.colour)
    if name is not None:  # a panel's name inside it, not a title above: grids stay compact
        ax.text(0.03, 0.97, name, transform=ax.transAxes, ha="left", va="top")
    ax.set_xlabel("bpp")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)


def _grid(count: int, width: float) -> tuple[plt.Figure, list[plt.Axes]]:
    """COUNT panels wrapped to WIDTH inches (one column: one panel a row; the page: up to 4), 3:4 each, and
    room below for one legend of the whole figure."""
    cols = 1 if width <= COLUMN_W else min(count, 2 if count <= 4 else 4)
    rows = -(-count // cols)
    panel_h = 0.72 * width / cols
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_h * rows + 0.45), squeeze=False)
    w, h = fig.get_size_inches()
    # Fixed margins instead of constrained/tight layout, which doubles the time of every save.
    fig.subplots_adjust(left=0.5 / w, right=1 - 0.08 / w, bottom=0.75 / h, top=1 - 0.08 / h, wspace=0.32,
                        hspace=0.42)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def _legend(fig: plt.Figure, axes: list[plt.Axes]) -> None:
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
               bbox_to_anchor=(0.5, 0.0))


def export_rd_figures(points: pd.DataFrame, metrics: list[str], out_dir: Path, part: int = 0, parts: int = 1,
                      anchor: str | None = None, family: str = "serif",
                      displays: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Paper figures: per metric, the class-averaged curves (a panel per class), one column wide for one class
    and page wide for more; for the first (headline) metric also every sequence's curves, a page-wide grid per
    class. No titles (the caption is the paper's); the anchor dashed; TrueType fonts; PDF, SVG and PNG (300
    dpi); FAMILY "serif" or "sans"; DISPLAYS: codec -> its descriptor's label, colour and marker. ``part``/``parts``
    share the figures between processes. Returns the file names."""
    from bench.bdtable import class_average_points

    out_dir.mkdir(parents=True, exist_ok=True)
    styles = codec_styles(list(points["codec"]), anchor, displays)
    jobs = [("classes", m) for m in metrics] + [("sequences", g) for g in sorted(points["group"].unique())]
    written: list[Path] = []
    with plt.rc_context({**PAPER_RC, "font.family": FONT_FAMILIES[family]}):
        for kind, what in jobs[part::parts]:
            if kind == "classes":
                metric = what
                averaged = class_average_points(points, metric)
                groups = sorted(averaged["group"].unique())
                if not groups:
                    continue
                fig, axes = _grid(len(groups), COLUMN_W if len(groups) == 1 else PAGE_W)
                for ax, group in zip(axes, groups, strict=True):
                    _panel(ax, averaged[averaged["group"] == group], metric, styles, metric_label(metric),
                           None if len(groups) == 1 else f"class {group}")
                _legend(fig, axes)
                written += _save_all(fig, out_dir / f"rd_classes_{file_part(metric)}")
            else:
                metric = metrics[0]
                part_points = points[points["group"] == what]
                seqs = sorted(part_points["sequence"].unique())
                fig, axes = _grid(len(seqs), PAGE_W)
                for ax, seq in zip(axes, seqs, strict=True):
                    _panel(ax, part_points[part_points["sequence"] == seq], metric, styles, metric_label(metric),
                           str(seq))
                _legend(fig, axes)
                written += _save_all(fig, out_dir / f"rd_sequences_{file_part(what)}_{file_part(metric)}")
    return [p.name for p in written]


EXPORT_PROCESSES = 2


def start_export(points: pd.DataFrame, metrics: list[str], out_dir: Path, anchor: str | None = None,
                 family: str = "serif", displays: dict[str, dict[str, str]] | None = None
                 ) -> list[subprocess.Popen[bytes]]:
    """Draw the paper figures in separate Python processes (plain subprocesses: no multiprocessing
    start-method pitfalls) while the caller builds the page; ``finish_export`` collects the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Handed over as JSON in a private temporary folder (mode 0700): nothing to unpickle, nothing another user
    # can plant, nothing left in the reports folder if this process is killed.
    data = Path(tempfile.mkdtemp(prefix="lvcbench-figures-")) / "points.json"
    data.write_text(points.to_json(orient="table", index=False), encoding="utf-8")
    (data.parent / "settings.json").write_text(json.dumps({"anchor": anchor, "metrics": metrics, "family": family,
                                                                  "displays": displays or {}}), encoding="utf-8")
    return [subprocess.Popen([sys.executable, "-m", "bench.report.plots", str(data), str(out_dir), str(i),  # noqa: S603
                              str(EXPORT_PROCESSES)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(EXPORT_PROCESSES)]


def cancel_export(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the figure processes (the page could not be built: no figure may land beside nothing) and remove
    their hand-over folder."""
    for proc in procs:
        proc.kill()
        proc.communicate()
    shutil.rmtree(Path(procs[0].args[3]).parent, ignore_errors=True)  # type: ignore[index]
    with contextlib.suppress(OSError):  # the figures folder, if nothing else was in it
        Path(procs[0].args[4]).rmdir()  # type: ignore[index]


def finish_export(procs: list[subprocess.Popen[bytes]]) -> list[str]:
    names: list[str] = []
    errors = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            errors.append(err.decode(errors="replace")[-2000:])
        else:
            names += json.loads(out.decode())
    shutil.rmtree(Path(procs[0].args[3]).parent, ignore_errors=True)  # type: ignore[index]
    if errors:
        last = [line for line in errors[0].strip().splitlines() if line.strip()][-1:] or ["no message"]
        error = BenchError(f"figure export into {procs[0].args[4]} failed: {last[0]}")  # type: ignore[index]
        raise environment_problem(error, f"figure export into {procs[0].args[4]}") or error  # type: ignore[index]
    return sorted(names)


if __name__ == "__main__":
    _points = pd.read_json(sys.argv[1], orient="table")
    _settings = json.loads((Path(sys.argv[1]).parent / "settings.json").read_text(encoding="utf-8"))
    print(json.dumps(export_rd_figures(_points, _settings["metrics"], Path(sys.argv[2]), int(sys.argv[3]),
                                       int(sys.argv[4]), _settings["anchor"], _settings["family"],
                                       _settings["displays"])))
