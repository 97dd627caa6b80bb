"""What a job's times mean: per-frame frame rates (median and 95th percentile), what the timer covered, the
threads and the device, and whether the machine was shared.

A codec that shows us its frames (CompressAI in-process, a Python model or DHVC through their drivers) is
timed per frame around its own coding calls, warm-up excluded, CUDA synchronised; everything else is timed per
sequence as the wall clock of its processes, start-up and raw file I/O included. ``timing.mode`` of a
condition says whether each timed job ran alone on the machine (``exclusive``) or beside others
(``shared``, the default): shared times are labelled "not comparable across codecs" wherever they appear.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from typing import Any

import numpy as np

MODES = ("shared", "exclusive")
SHARED_LABEL = "shared machine, not comparable across codecs"
EXCLUSIVE_LABEL = "exclusive: one job at a time on the machine"


def frame_rates(seconds: list[float] | None) -> dict[str, float | None]:
    """Median fps and the fps of the 95th-percentile (slow) frame from per-frame times; None without them."""
    times = np.asarray([s for s in (seconds or []) if s and s > 0], dtype=float)
    if times.size == 0:
        return {"fps_median": None, "fps_p95": None}
    return {"fps_median": float(1 / np.median(times)), "fps_p95": float(1 / np.percentile(times, 95))}


def summary(encode_s: float, decode_s: float, frames: int, frame_encode_s: list[float] | None,
            frame_decode_s: list[float] | None, mode: str) -> dict[str, Any]:
    """The timing block's derived figures: encode/decode fps (per frame when known, else per sequence)."""
    out: dict[str, Any] = {"mode": mode, "label": EXCLUSIVE_LABEL if mode == "exclusive" else SHARED_LABEL}
    for what, total, per_frame in (("encode", encode_s, frame_encode_s), ("decode", decode_s, frame_decode_s)):
        rates = frame_rates(per_frame)
        if rates["fps_median"] is not None:
            out[f"{what}_fps_median"], out[f"{what}_fps_p95"] = rates["fps_median"], rates["fps_p95"]
            out[f"{what}_timed"] = "per frame"
        elif total and total > 0 and frames:
            out[f"{what}_fps_median"], out[f"{what}_fps_p95"] = frames / total, None
            out[f"{what}_timed"] = "per sequence"
    return out


@functools.lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """The CPU (model, cores this process may use) and, where present, the GPUs (name, driver) and the
    torch/CUDA versions of this process (only if torch is already loaded: timing an ffmpeg encoder must not
    import it)."""
    from bench.provenance import cpu_model

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out: dict[str, Any] = {"cpu": cpu_model(), "cores": cores}
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            text = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=20, check=True).stdout
            out["gpus"] = [dict(zip(("name", "driver"), (f.strip() for f in line.split(",")), strict=False))
                           for line in text.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
        out["cuda"] = torch.version.cuda
    return out
