"""Benchmark: a full BD table (10 codecs x 60 sequences x 3 metrics, both conventions) on this machine.

Prints the wall time of our tables and, as a reference measured in the same run, the time the `bjontegaard`
package (if installed) takes for the same per-sequence PCHIP BD-rates alone. The target is under 2 s.

    python benchmarks/bd_table_speed.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from bench.bd.tables import BDOptions, average_curve, jvet_summary, per_sequence, time_ratios

CODECS, SEQUENCES, RATE_POINTS, METRICS = 10, 60, 4, ("psnr_y", "psnr_yuv_611", "ms_ssim_rgb_db")


def synthetic_points(seed: int = 0) -> pd.DataFrame:
    """Monotonic RD points that look like real ones: log-rate roughly linear in PSNR, codec offsets, noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(SEQUENCES):
        base = rng.uniform(0.01, 0.2)
        for c in range(CODECS):
            gain = 1.0 - 0.05 * c + rng.normal(0, 0.02)
            for k in range(RATE_POINTS):
                bpp = base * gain * 2.0 ** k * (1 + rng.normal(0, 0.01))
                psnr = 30 + 2.8 * k + rng.normal(0, 0.05)
                rows.append({"codec": f"codec{c}", "sequence": f"seq{s:02d}", "group": f"class{s // 10}",
                             "rate_point": k, "status": "ok", "frames": 96, "bpp": bpp, "psnr_y": psnr - 0.8,
                             "psnr_yuv_611": psnr, "ms_ssim_rgb_db": 12 + 1.5 * k + rng.normal(0, 0.05),
                             "encode_s": rng.uniform(1, 10), "decode_s": rng.uniform(0.1, 1)})
    return pd.DataFrame(rows)


def main() -> None:
    points = synthetic_points()
    t0 = time.perf_counter()
    for metric in METRICS:
        opts = BDOptions(metric=metric)
        jvet_summary(per_sequence(points, "codec0", opts))
        average_curve(points, "codec0", opts)
    time_ratios(points, "codec0")
    ours = time.perf_counter() - t0
    print(f"lvc-bench BD tables: {CODECS} codecs x {SEQUENCES} sequences x {len(METRICS)} metrics "
          f"(per-sequence + class + overall + average-curve + time ratios): {ours:.3f} s")
    try:
        import bjontegaard
    except ImportError:
        return
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for metric in METRICS:
            for c in range(1, CODECS):
                for s in range(SEQUENCES):
                    a = points[(points.codec == "codec0") & (points.sequence == f"seq{s:02d}")]
                    t = points[(points.codec == f"codec{c}") & (points.sequence == f"seq{s:02d}")]
                    bjontegaard.bd_rate(a.bpp.values, a[metric].values, t.bpp.values, t[metric].values,
                                        method="pchip", min_overlap=0)
    ref = time.perf_counter() - t0
    print(f"reference, bjontegaard.bd_rate per sequence with pandas row selection: {ref:.3f} s "
          f"(ours / reference = {ours / ref:.2f})")


if __name__ == "__main__":
    main()
