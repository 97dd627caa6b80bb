"""RD curves per sequence as PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

_MARKERS = "osD^v<>ph*"


def codec_styles(codecs: list[str]) -> dict[str, tuple[str, str]]:
    """A stable colour and marker per codec name (sorted, so the same codec looks the same everywhere)."""
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {c: (colours[i % len(colours)], _MARKERS[i % len(_MARKERS)]) for i, c in enumerate(sorted(codecs))}


def plot_sequence(df: pd.DataFrame, sequence: str, path: Path, note: str) -> None:
    """PSNR-YUV (6:1:1) and PSNR-Y against bpp for every codec on one sequence."""
    ok = df[(df["sequence"] == sequence) & (df["status"] == "ok")]
    styles = codec_styles(sorted(df["codec"].unique()))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, metric, label in ((axes[0], "psnr_yuv_611", "PSNR-YUV (6:1:1) [dB]"), (axes[1], "psnr_y", "PSNR-Y [dB]")):
        for codec, rows in ok.groupby("codec"):
            rows = rows.sort_values("bpp")
            colour, marker = styles[codec]
            ax.plot(rows["bpp"], rows[metric], marker=marker, color=colour, label=codec)
        ax.set_xlabel("bpp (bitstream bytes x 8 / pixels)")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"{sequence}", fontsize=11)
    fig.text(0.5, -0.02, note, ha="center", va="top", fontsize=7, wrap=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
