"""RD curves per sequence as PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

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


def plot_sequence(df: pd.DataFrame, sequence: str, path: Path, note: str) -> None:
    """PSNR-YUV (6:1:1) and PSNR-Y against bpp for every codec on one sequence."""
    ok = df[(df["sequence"] == sequence) & (df["status"] == "ok")]
    styles = codec_styles(sorted(df["codec"].unique()))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric in ((axes[0], "psnr_yuv_611"), (axes[1], "psnr_y")):
        label = metric_label(metric)
        for codec, rows in ok.groupby("codec"):
            rows = rows.sort_values("bpp")
            style = styles[codec]
            ax.plot(rows["bpp"], rows[metric], marker=style.mpl_marker, color=style.colour, label=codec)
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


# Publication sizes: one column of a two-column paper is about 3.5 in wide.
_PANEL_W, _PANEL_H = 3.5, 2.6


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


def file_part(name: object) -> str:
    """A sequence or metric name as part of a file name (letters, digits, '-', '_'; others become '_')."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(name))[:100] or "_"


def _spacing(fig: plt.Figure, nrows: int) -> None:
    # Fixed margins instead of constrained/tight layout, which doubles the time of every save.
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.45 / w, right=1 - 0.1 / w, bottom=0.4 / h, top=1 - 0.25 / h, wspace=0.35,
                        hspace=0.55 if nrows > 1 else 0.2)


def _panel(ax: plt.Axes, rows: pd.DataFrame, metric: str, styles: dict, title: str, label: str) -> None:
    for codec, part in rows.groupby("codec", sort=True):
        part = part.sort_values("bpp")
        style = styles[codec]
        ax.plot(part["bpp"], part[metric], marker=style.mpl_marker, color=style.colour, label=codec, lw=1.2, ms=4)
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("bpp", fontsize=7)
    ax.set_ylabel(label, fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(True, alpha=0.3)


def export_rd_figures(points: pd.DataFrame, metrics: list[str], out_dir: Path, part: int = 0, parts: int = 1) -> list[str]:
    """Paper figures: per metric, the class-averaged curves (one panel per class); for the first (headline)
    metric also every sequence's curves, one figure per class with a panel per sequence. Each as PDF, SVG
    and PNG (300 dpi). ``part``/``parts`` share the figures between processes. Returns the file names."""
    from bench.bdtable import class_average_points

    out_dir.mkdir(parents=True, exist_ok=True)
    styles = codec_styles(list(points["codec"]))
    jobs = [("classes", m) for m in metrics] + [("sequences", g) for g in sorted(points["group"].unique())]
    written: list[Path] = []
    for kind, what in jobs[part::parts]:
        if kind == "classes":
            metric, label = what, metric_label(what)
            averaged = class_average_points(points, metric)
            groups = sorted(averaged["group"].unique())
            if not groups:
                continue
            fig, axes = plt.subplots(1, len(groups), figsize=(_PANEL_W * len(groups), _PANEL_H), squeeze=False)
            _spacing(fig, 1)
            for ax, group in zip(axes[0], groups, strict=True):
                _panel(ax, averaged[averaged["group"] == group], metric, styles, f"class {group}", label)
            axes[0][0].legend(fontsize=6)
            written += _save_all(fig, out_dir / f"rd_classes_{file_part(metric)}")
        else:
            metric, label = metrics[0], metric_label(metrics[0])
            part_points = points[points["group"] == what]
            seqs = sorted(part_points["sequence"].unique())
            cols = min(4, len(seqs))
            nrows = -(-len(seqs) // cols)
            fig, axes = plt.subplots(nrows, cols, figsize=(_PANEL_W * cols, _PANEL_H * nrows), squeeze=False)
            _spacing(fig, nrows)
            for ax, seq in zip(axes.flat, seqs, strict=False):
                _panel(ax, part_points[part_points["sequence"] == seq], metric, styles, str(seq), label)
            for ax in list(axes.flat)[len(seqs):]:
                ax.set_visible(False)
            axes[0][0].legend(fontsize=6)
            written += _save_all(fig, out_dir / f"rd_sequences_{file_part(what)}_{file_part(metric)}")
    return [p.name for p in written]


EXPORT_PROCESSES = 2


def start_export(points: pd.DataFrame, metrics: list[str], out_dir: Path) -> list[subprocess.Popen[bytes]]:
    """Draw the paper figures in separate Python processes (plain subprocesses: no multiprocessing
    start-method pitfalls) while the caller builds the page; ``finish_export`` collects the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Handed over as JSON in a private temporary folder (mode 0700): nothing to unpickle, nothing another user
    # can plant, nothing left in the reports folder if this process is killed.
    data = Path(tempfile.mkdtemp(prefix="lvcbench-figures-")) / "points.json"
    data.write_text(points.to_json(orient="table", index=False), encoding="utf-8")
    return [subprocess.Popen([sys.executable, "-m", "bench.report.plots", str(data), str(out_dir), str(i),  # noqa: S603
                              str(EXPORT_PROCESSES), *metrics], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i in range(EXPORT_PROCESSES)]


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
    print(json.dumps(export_rd_figures(_points, sys.argv[5:], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
