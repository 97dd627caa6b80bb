"""Benchmark: build the HTML report for 10 codecs x 60 sequences x 6 rate points (32 frames each).

Prints the build time (target: under 30 s), the size of index.html (target: under 3 MB) and, where Chromium is
installed, how long headless Chromium takes to load the page and run its script, against an empty page in the
same run (the reader's "fast to open"). Records are synthesised from the shape of a real one (tests/data/record.json) with plausible RD values.

    python benchmarks/report_speed.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bd.sources import Source
from bench.report.html import build_report

CODECS, SEQUENCES, RATE_POINTS, FRAMES = 10, 60, 6, 32
TEMPLATE = Path(__file__).resolve().parent.parent / "tests" / "data" / "record.json"


def synthetic_records(seed: int = 0) -> list[dict]:
    base = json.loads(TEMPLATE.read_text())
    rng = np.random.default_rng(seed)
    records = []
    for s in range(SEQUENCES):
        scale = rng.uniform(0.02, 0.2)
        for c in range(CODECS):
            gain = 1.0 - 0.04 * c
            for k in range(RATE_POINTS):
                r = copy.deepcopy(base)
                bpp = scale * gain * 2.0 ** (RATE_POINTS - 1 - k) * (1 + rng.normal(0, 0.01))
                psnr = 42 - 2.6 * k + rng.normal(0, 0.05)
                r["key"] = f"{c:02d}{s:03d}{k}" + "0" * 58
                r["codec"]["name"] = f"codec{c}"
                r["sequence"].update({"name": f"Seq{s:02d}", "group": f"class{s // 10}"})
                r["rate_point"] = 22 + 3 * k
                r["rate"].update({"bpp": bpp, "kbps": bpp * 416 * 240 * 30 / 1000, "bits": int(bpp * 416 * 240 * FRAMES)})
                r["metrics"] = {"psnr_y": psnr - 0.8, "psnr_u": psnr + 3, "psnr_v": psnr + 3.5, "psnr_yuv_611": psnr,
                                "psnr_yuv_vtm": psnr - 0.3, "psnr_rgb": psnr - 2,
                                "ms_ssim_y": 1 - 10 ** (-(psnr - 20) / 10), "ms_ssim_rgb": 1 - 10 ** (-(psnr - 22) / 10)}
                wobble = [math.sin(i / 3) * 0.3 for i in range(FRAMES)]
                r["per_frame"]["psnr_y"] = [psnr - 0.8 + w for w in wobble]
                r["per_frame"]["bits"] = [int(bpp * 416 * 240 * (6 if i % 32 == 0 else 0.85)) for i in range(FRAMES)]
                r["per_frame"]["frame_type"] = ["I" if i % 32 == 0 else "P" for i in range(FRAMES)]
                r["timing"].update({"encode_s": rng.uniform(0.2, 2.0), "decode_s": rng.uniform(0.02, 0.2)})
                records.append(r)
    return records


def open_seconds(page: Path, profile: Path) -> float:
    """Wall time of headless Chromium loading PAGE, running its script and printing the DOM (median of 3)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",  # noqa: S603
                        "--dump-dom", page.as_uri()], capture_output=True, check=True, timeout=300)
        times.append(time.perf_counter() - t0)
    return sorted(times)[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, default=None, help="write the report here instead of a temp folder")
    args = parser.parse_args()
    records = synthetic_records()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        t0 = time.perf_counter()
        path = build_report([Source("synthetic", records)], out, "benchmark", "codec0")
        seconds = time.perf_counter() - t0
        size = path.stat().st_size
        print(f"report for {CODECS} codecs x {SEQUENCES} sequences x {RATE_POINTS} rate points "
              f"({len(records)} records): built in {seconds:.1f} s (target < 30 s), index.html {size / 1e6:.1f} MB "
              f"(target < 3 MB)")
        if shutil.which("chromium") or shutil.which("chromium-browser"):
            blank = Path(tmp) / "blank.html"
            blank.write_text("<!DOCTYPE html><title>blank</title>")
            page, empty = open_seconds(path, Path(tmp) / "profile"), open_seconds(blank, Path(tmp) / "profile")
            print(f"headless Chromium opens it in {page:.2f} s (an empty page: {empty:.2f} s; ratio {page / empty:.1f})")


if __name__ == "__main__":
    main()
