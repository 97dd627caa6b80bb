"""RD curves per sequence as PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bench.report.styles import codec_styles  # noqa: E402


def plot_sequence(df: pd.DataFrame, sequence: str, path: Path, note: str) -> None:
    """PSNR-YUV (6:1:1) and PSNR-Y against bpp for every codec on one sequence."""
    ok = df[(df["sequence"] == sequence) & (df["status"] == "ok")]
    styles = codec_styles(sorted(df["codec"].unique()))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric, label in ((axes[0], "psnr_yuv_611", "PSNR-YUV (6:1:1) [dB]"), (axes[1], "psnr_y", "PSNR-Y [dB]")):
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
        fig.savefig(tmp, bbox_inches="tight", **kw)
        os.replace(tmp, path)
        out.append(path)
    plt.close(fig)
    return out


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


def export_rd_figures(points: pd.DataFrame, metrics: list[str], out_dir: Path) -> list[str]:
    """Paper figures: per metric, the class-averaged curves (one panel per class) and, per class, every
    sequence's curves (one panel per sequence); each as PDF, SVG and PNG (300 dpi). Returns file names."""
    from bench.bdtable import class_average_points

    labels = {"psnr_yuv_611": "PSNR-YUV 6:1:1 [dB]", "psnr_y": "PSNR-Y [dB]", "psnr_rgb": "PSNR-RGB [dB]",
              "ms_ssim_y_db": "MS-SSIM-Y [dB]", "ms_ssim_rgb_db": "MS-SSIM-RGB [dB]"}
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = codec_styles(list(points["codec"]))
    written: list[Path] = []
    for metric in metrics:
        label = labels.get(metric, metric)
        averaged = class_average_points(points, metric)
        groups = sorted(averaged["group"].unique())
        if groups:
            fig, axes = plt.subplots(1, len(groups), figsize=(_PANEL_W * len(groups), _PANEL_H), squeeze=False)
            for ax, group in zip(axes[0], groups, strict=True):
                _panel(ax, averaged[averaged["group"] == group], metric, styles, f"class {group}", label)
            axes[0][0].legend(fontsize=6)
            written += _save_all(fig, out_dir / f"rd_classes_{metric}")
        for group, part in points.groupby("group", sort=True):
            seqs = sorted(part["sequence"].unique())
            cols = min(4, len(seqs))
            nrows = -(-len(seqs) // cols)
            fig, axes = plt.subplots(nrows, cols, figsize=(_PANEL_W * cols, _PANEL_H * nrows), squeeze=False)
            for ax, seq in zip(axes.flat, seqs, strict=False):
                _panel(ax, part[part["sequence"] == seq], metric, styles, str(seq), label)
            for ax in list(axes.flat)[len(seqs):]:
                ax.set_visible(False)
            axes[0][0].legend(fontsize=6)
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(group))
            written += _save_all(fig, out_dir / f"rd_sequences_{safe}_{metric}")
    return [p.name for p in written]
