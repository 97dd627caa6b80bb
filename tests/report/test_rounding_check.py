"""The codec-reported cross-check: the interval that output rounding allows holds for any rounding (it never flags
a codec that measured its unrounded reconstruction), and a real difference falls outside it.

The codec's number is computed here as the codecs compute theirs, independently of the suite: numpy's PSNR of
the float reconstruction against the source, averaged over frames; ours is numpy's PSNR of the rounded frames.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.report import rounding
from bench.report.run_tables import reported_table

PEAK = 255.0
SHAPE = (3, 16, 24)  # frames, height, width of one plane


def _psnr(source: np.ndarray, recon: np.ndarray) -> list[float]:
    mse = ((recon.astype(np.float64) - source) ** 2).reshape(len(source), -1).mean(axis=1)
    return [100.0 if m == 0 else 10 * math.log10(PEAK * PEAK / m) for m in mse]


def _record(source: np.ndarray, recon: np.ndarray, theirs_recon: np.ndarray | None = None) -> dict:
    """A measured record of one plane (Y): ours on the rounded RECON; the codec's number on its float
    reconstruction THEIRS_RECON (RECON itself unless given), as difference_to_ours."""
    rounded = np.clip(np.rint(recon), 0, 255)
    ours_frames = _psnr(source, rounded)
    theirs = float(np.mean(_psnr(source, recon if theirs_recon is None else theirs_recon)))
    sse = ((rounded - source) ** 2).reshape(len(source), -1).sum(axis=1).tolist()
    ours = float(np.mean(ours_frames))
    return {"status": "ok", "codec": {"name": "c"}, "sequence": {"name": "s"}, "rate_point": 1,
            "rate": {"kbps": 1.0, "bpp": 0.1}, "metrics": {"psnr_y": ours},
            "per_frame": {"sse_y": sse, "samples": [source[0].size, 1, 1, 1], "psnr_y": ours_frames},
            "codec_reported": {"difference_to_ours": {"psnr_y": theirs - ours}}}


def _flagged(record: dict) -> bool:
    return reported_table([record])[1][0][-1] == "yes"


def test_correlated_rounding_of_flat_content_is_no_mismatch() -> None:
    # Flat chroma at low rate: every sample of the codec's reconstruction is off by the same fraction, so the
    # rounding is perfectly correlated with the coding error, which the old independent-noise estimate assumed
    # away. Below: theirs 2.92 dB under ours (the old rule flagged any codec value 0.01 dB below ours); above:
    # theirs 4.44 dB over ours (the old bound allowed 1.5 x 0.35 + 0.01 dB).
    source = np.full(SHAPE, 100.0)
    for offset, theirs_minus_ours in ((1.4, 20 * math.log10(1.0 / 1.4)), (0.6, 20 * math.log10(1.0 / 0.6))):
        record = _record(source, source + offset)
        assert record["codec_reported"]["difference_to_ours"]["psnr_y"] == pytest.approx(theirs_minus_ours)
        assert not _flagged(record)
        low, high = rounding.allowed_difference(record, "psnr_y")
        assert low <= theirs_minus_ours <= high


def test_the_interval_holds_for_any_float_reconstruction() -> None:
    # Many reconstructions: noise of every size (RMSE from 0.2 to 20 code values), some biased, some clipped at 0.
    rng = np.random.default_rng(7)
    for trial in range(300):
        source = rng.integers(0, 256, size=SHAPE).astype(np.float64)
        scale = 10 ** rng.uniform(-0.7, 1.3)
        recon = np.clip(source + rng.normal(0, scale, SHAPE) + rng.choice([0.0, 0.5, -0.45]), 0, 255)
        record = _record(source, recon)
        assert not _flagged(record), trial


def test_a_real_difference_is_flagged() -> None:
    # The codec measured a level-shifted reconstruction, or against the wrong frames: outside the interval.
    rng = np.random.default_rng(3)
    source = rng.integers(20, 236, size=SHAPE).astype(np.float64)
    recon = source + rng.normal(0, 2.0, SHAPE)
    assert not _flagged(_record(source, recon))
    assert _flagged(_record(source, recon, theirs_recon=recon + 5.0))  # RMSE 5.4 where rounding allows 2.0 +- 0.5
    assert _flagged(_record(source, recon, theirs_recon=np.roll(recon, 1, axis=0)))  # frames off by one


def test_combined_metrics_take_their_planes_intervals() -> None:
    per_frame = {"sse_y": [4 * 384.0], "sse_u": [96.0], "sse_v": [0.0], "samples": [384, 96, 96, 1]}
    y, u, v = (rounding.frame_intervals(per_frame, f"psnr_{p}")[0] for p in "yuv")
    assert v == (0.0, math.inf)  # no error: the codec's number may only be higher
    assert y[0] == pytest.approx(20 * math.log10(2 / 2.5)) and u[1] == pytest.approx(20 * math.log10(2))  # RMSE 1
    yuv611 = rounding.frame_intervals(per_frame, "psnr_yuv_611")[0]
    assert yuv611[0] == pytest.approx((6 * y[0] + u[0] + v[0]) / 8) and math.isinf(yuv611[1])
    vtm = rounding.frame_intervals(per_frame, "psnr_yuv_vtm")[0]
    rmse = math.sqrt((4 * 384 + 96) / 576)
    assert vtm == pytest.approx((20 * math.log10(rmse / (rmse + 0.5)), 20 * math.log10(rmse / (rmse - 0.5))))
    assert rounding.frame_intervals(per_frame, "ms_ssim_y") is None


def test_the_exact_check_column_says_what_was_compared() -> None:
    record = _record(np.full(SHAPE, 100.0), np.full(SHAPE, 101.0))
    assert reported_table([record])[1][0][-2] == "none for this codec"
    record["codec_reported"]["exact_check"] = {"pictures": 8, "bit_depth": 10, "peak": 1020,
                                               "largest_difference_db": {"y": 4.8e-05, "u": 1.1e-05, "v": 3e-05}}
    assert reported_table([record])[1][0][-2] == "4.8e-05 dB at most over 8 pictures (10-bit, peak 1020)"
    record["codec_reported"]["exact_check"] = {"not_done": "the internal bit depth was not read"}
    assert reported_table([record])[1][0][-2] == "not done: the internal bit depth was not read"
