"""PSNR from exact integer SSE: the ``sse`` measure and the six PSNR metrics that read it.

The measure keeps, per frame, the sum of squared errors of Y, U, V and the joint R, G, B planes (RGB of YUV
sources through the condition's colour path), and the sample counts. Everything below is computed from those
integers when results are read, so pooling and the PSNR peak can change without measuring again:

* ``psnr_y``, ``psnr_u``, ``psnr_v``: ``10 log10(peak^2 / MSE)`` of one plane.
* ``psnr_yuv_611``: ``(6 psnr_y + psnr_u + psnr_v) / 8`` of the (pooled) plane PSNRs (DCVC's
  ``test_video.py`` and most learned-codec papers).
* ``psnr_yuv_vtm``: PSNR of the sample-count-weighted mean of the plane MSEs (4:1:1 for 4:2:0), pooled over
  frames by mean MSE, exactly as the VTM/HM/VVenC encoder summary computes ``YUV-PSNR``.
* ``psnr_rgb``: PSNR of the joint MSE over R, G and B, peak ``2^b - 1``.

Pooling over frames: ``mean_psnr`` (default; DCVC, VTM) averages per-frame PSNR; ``psnr_of_mean_mse``
(ffmpeg, CompressAI's video bench) takes the PSNR of the mean per-frame MSE. The peak is ``2^b - 1``
(``psnr_peak: bitdepth``) or VTM/HM's ``255 << (b - 8)`` (``psnr_peak: vtm``). A frame with zero error has
infinite PSNR; it is capped at ``PSNR_CAP_DB`` before pooling (VTM logs 999.99, which would dominate a mean),
and so is a positive error small enough to score above it (so less error never scores below none). An SSE
that is not a finite, non-negative number (a damaged measurement) gives NaN, never the cap: the job's metric
is then ``non_finite`` (:mod:`bench.metrics.pooling`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bench.metrics.registry import Measure, Metric, PoolingContext, register_measure, register_metric, request

if TYPE_CHECKING:
    from bench.metrics.backends import FrameBatch

PSNR_CAP_DB = 100.0


def psnr(mse: float, peak: float) -> float:
    """PSNR in dB: ``PSNR_CAP_DB`` for zero error (and any smaller error that would score above it); NaN for
    an error that is NaN, infinite or negative, which no real frame pair has."""
    if not math.isfinite(mse) or mse < 0:
        return math.nan  # min(PSNR_CAP_DB, nan) would be the cap: a damaged value must not look perfect
    if mse == 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(peak * peak / mse))


class SquaredError(Measure):
    name = "sse"
    version = 1
    scope = "frame"
    description = "exact integer sum of squared errors per plane (Y, U, V) and over R, G, B jointly, with sample counts"
    condition_key: ClassVar[str | None] = None  # always measured: rate-distortion needs it

    def families(self, params: Mapping[str, Any]) -> set[str]:
        return {"yuv", "rgb"}

    def frames(self, batch: FrameBatch, params: Mapping[str, Any]) -> dict[str, list[Any]]:
        sse = batch.backend.sse
        (yr, ur, vr), (yd, ud, vd) = batch.yuv()
        rgb_ref, rgb_dec = batch.rgb()
        rgb = [sse(a, b) for a, b in zip(rgb_ref, rgb_dec, strict=True)]
        return {"sse_y": sse(yr, yd), "sse_u": sse(ur, ud), "sse_v": sse(vr, vd),
                "sse_rgb": [sum(per_plane) for per_plane in zip(*rgb, strict=True)]}

    def constants(self, batch: FrameBatch, params: Mapping[str, Any]) -> dict[str, Any]:
        samples = batch.backend.samples
        yuv, rgb = samples(batch.yuv()[0]), samples(batch.rgb()[0])
        return {"samples": [*yuv, sum(rgb)]}  # [Y, U, V, RGB]


SSE = request("sse")
_PLANES = {"y": 0, "u": 1, "v": 2}


def _frame_psnr(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext,
                plane: str) -> list[float]:
    n = constants["samples"][3 if plane == "rgb" else _PLANES[plane]]
    peak = ctx.rgb_peak if plane == "rgb" else ctx.yuv_peak
    return [psnr(s / n, peak) for s in values[f"sse_{plane}"]]


def _pooled_psnr(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext,
                 plane: str) -> float:
    if ctx.pooling == "mean_psnr":
        return float(np.mean(_frame_psnr(values, constants, ctx, plane)))
    n = constants["samples"][3 if plane == "rgb" else _PLANES[plane]]
    return psnr(float(np.mean(values[f"sse_{plane}"])) / n, ctx.rgb_peak if plane == "rgb" else ctx.yuv_peak)


def _frame_611(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[float]:
    y, u, v = (_frame_psnr(values, constants, ctx, p) for p in "yuv")
    return [(6 * a + b + c) / 8 for a, b, c in zip(y, u, v, strict=True)]


def _pooled_611(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float:
    y, u, v = (_pooled_psnr(values, constants, ctx, p) for p in "yuv")
    return (6 * y + u + v) / 8


def _weighted_mse(sse_yuv: Sequence[float], samples: Sequence[int]) -> float:
    return sum(sse_yuv) / sum(samples[:3])


def _frame_vtm(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[float]:
    return [psnr(_weighted_mse(f, constants["samples"]), ctx.yuv_peak)
            for f in zip(values["sse_y"], values["sse_u"], values["sse_v"], strict=True)]


def _pooled_vtm(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float:
    n_y, n_u, n_v = constants["samples"][:3]
    mean = [float(np.mean(values[f"sse_{p}"])) for p in "yuv"]  # mean over frames of each plane's SSE
    return psnr(sum(mean) / (n_y + n_u + n_v), ctx.yuv_peak)


def _plane_metric(plane: str, label: str, description: str, headline: int | None = None) -> Metric:
    return Metric(
        f"psnr_{plane}", label, "dB", description,
        "mean of per-frame PSNR (pooling: mean_psnr) or PSNR of the mean per-frame MSE (psnr_of_mean_mse)",
        SSE, lambda v, c, ctx: _frame_psnr(v, c, ctx, plane), lambda v, c, ctx: _pooled_psnr(v, c, ctx, plane),
        headline=headline)


register_measure(SquaredError())
register_metric(_plane_metric("y", "PSNR-Y", "PSNR of the Y plane, 10*log10(peak^2/MSE)", headline=3))
register_metric(_plane_metric("u", "PSNR-U", "PSNR of the Cb plane"))
register_metric(_plane_metric("v", "PSNR-V", "PSNR of the Cr plane"))
register_metric(Metric(
    "psnr_yuv_611", "PSNR-YUV (6:1:1)", "dB", "(6*PSNR_Y + PSNR_U + PSNR_V)/8 of pooled plane PSNRs (DCVC convention)",
    "the plane PSNRs pooled as the condition says, then weighted 6:1:1", SSE, _frame_611, _pooled_611, headline=1))
register_metric(Metric(
    "psnr_yuv_vtm", "PSNR-YUV (VTM 4:1:1 MSE)", "dB",
    "PSNR of sample-weighted mean-over-frames MSE, 4:1:1 for 4:2:0 (VTM/HM YUV-PSNR)",
    "always PSNR of the mean MSE, as VTM/HM print it", SSE, _frame_vtm, _pooled_vtm))
register_metric(_plane_metric("rgb", "PSNR-RGB", "PSNR of the joint MSE over R, G, B (peak 2^b-1)", headline=2))
