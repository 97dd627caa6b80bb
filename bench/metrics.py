"""Every quality number the suite reports, computed by the suite from decoded frames, one frame at a time.

Per frame we keep the raw material (sum of squared errors and sample count per plane, MS-SSIM values, bits),
so that any pooling can be recomputed from a record later. Definitions, with ``peak`` the PSNR peak:

* ``psnr_y``, ``psnr_u``, ``psnr_v``: ``10 log10(peak^2 / MSE)`` of one plane.
* ``psnr_yuv_611``: ``(6 psnr_y + psnr_u + psnr_v) / 8`` of the plane PSNRs (DCVC's ``test_video.py`` and
  most learned-codec papers).
* ``psnr_yuv_vtm``: PSNR of the sample-count-weighted mean of the plane MSEs (4:1:1 for 4:2:0), pooled over
  frames by mean MSE, exactly as the VTM/HM/VVenC encoder summary computes ``YUV-PSNR``.
* ``psnr_rgb``: PSNR of the joint MSE over R, G and B (DCVC family on RGB content), peak ``2^b - 1``.
* ``ms_ssim_y``, ``ms_ssim_rgb``: ``pytorch_msssim.ms_ssim`` (window 11, sigma 1.5, 5 scales, float32,
  ``data_range = 2^b - 1``), averaged over channels for RGB; undefined (None) for frames whose shorter side
  is 160 px or less, where the 5-scale pyramid does not fit.

Pooling over frames (``pooling`` in the condition): ``mean_psnr`` (default; DCVC, VTM) averages per-frame
PSNR; ``psnr_of_mean_mse`` (ffmpeg, CompressAI's video bench) takes the PSNR of the mean per-frame MSE.
The PSNR peak is ``2^b - 1`` (``psnr_peak: bitdepth``) or VTM/HM's ``255 << (b - 8)`` (``psnr_peak: vtm``).
A frame with zero error has infinite PSNR; it is capped at ``PSNR_CAP_DB`` before pooling (VTM logs 999.99,
which would dominate the mean), and the cap is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.video.colour import ColourSpec, convert
from bench.video.formats import PixelFormat, Planes, make_format

PSNR_CAP_DB = 100.0
POOLINGS = ("mean_psnr", "psnr_of_mean_mse")
PSNR_PEAKS = ("bitdepth", "vtm")
MS_SSIM_SPACES = ("y", "rgb")
MS_SSIM_MIN_SIDE = 161  # pytorch_msssim needs min(H, W) > (win_size - 1) * 2^4 = 160

METRIC_DEFINITIONS = {
    "psnr_y": "PSNR of the Y plane, 10*log10(peak^2/MSE)",
    "psnr_u": "PSNR of the Cb plane",
    "psnr_v": "PSNR of the Cr plane",
    "psnr_yuv_611": "(6*PSNR_Y + PSNR_U + PSNR_V)/8 of pooled plane PSNRs (DCVC convention)",
    "psnr_yuv_vtm": "PSNR of sample-weighted mean-over-frames MSE, 4:1:1 for 4:2:0 (VTM/HM YUV-PSNR)",
    "psnr_rgb": "PSNR of the joint MSE over R, G, B (peak 2^b-1)",
    "ms_ssim_y": "pytorch_msssim.ms_ssim on Y (win 11, sigma 1.5, float32, data_range 2^b-1), mean over frames",
    "ms_ssim_rgb": "pytorch_msssim.ms_ssim on R,G,B (channel mean), mean over frames",
}


def psnr_peak(bit_depth: int, convention: str) -> int:
    """The PSNR peak for a bit depth: ``2^b - 1``, or VTM/HM's ``255 << (b - 8)`` (1020 at 10 bit)."""
    if convention == "bitdepth":
        return (1 << bit_depth) - 1
    if convention == "vtm":
        return 255 << (bit_depth - 8)
    raise ValueError(f"unknown PSNR peak convention {convention!r}; use one of {PSNR_PEAKS}")


def psnr(mse: float, peak: float) -> float:
    """PSNR in dB, capped at ``PSNR_CAP_DB`` for (near-)zero error."""
    if mse <= 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(peak * peak / mse))


def sse(reference: np.ndarray, distorted: np.ndarray) -> int:
    """Exact sum of squared differences of two integer planes."""
    d = reference.astype(np.int64) - distorted.astype(np.int64)
    return int(np.einsum("ij,ij->", d, d))


def ms_ssim(reference: np.ndarray, distorted: np.ndarray, data_range: float) -> float | None:
    """``pytorch_msssim.ms_ssim`` of two (C, H, W) arrays, or None when the frame is too small for 5 scales."""
    if min(reference.shape[-2:]) < MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    x = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))[None]
    y = torch.from_numpy(np.ascontiguousarray(distorted, dtype=np.float32))[None]
    with torch.no_grad():
        return float(_ms_ssim(x, y, data_range=data_range, size_average=True))


@dataclass(frozen=True)
class MetricSpec:
    """Which metrics to compute and how to pool them (the ``metrics:`` block of a condition)."""

    pooling: str = "mean_psnr"
    psnr_peak: str = "bitdepth"
    ms_ssim: tuple[str, ...] = ("y", "rgb")


@dataclass
class FrameMeasurement:
    """Raw per-frame material: SSE and sample counts per plane (Y, U, V and joint RGB), MS-SSIM."""

    sse_yuv: list[int]
    samples_yuv: list[int]
    sse_rgb: int
    samples_rgb: int
    ms_ssim_y: float | None = None
    ms_ssim_rgb: float | None = None


def measure_frame(reference: Planes, decoded: Planes, fmt: PixelFormat, colour: ColourSpec,
                  spec: MetricSpec) -> FrameMeasurement:
    """Measure one decoded frame against its source frame; both are in the source format ``fmt``.

    The other colour family (RGB for YUV sources, YUV 4:4:4 for RGB sources) is derived from both frames
    with the condition's colour path at the source bit depth, then measured the same way.
    """
    if fmt.family == "yuv":
        yuv_ref, yuv_dec = reference, decoded
        rgb_fmt = make_format("rgb", "444", fmt.bit_depth)
        rgb_ref, rgb_dec = convert(reference, fmt, rgb_fmt, colour), convert(decoded, fmt, rgb_fmt, colour)
    else:
        rgb_ref, rgb_dec = reference, decoded
        yuv_fmt = make_format("yuv", "444", fmt.bit_depth)
        yuv_ref, yuv_dec = convert(reference, fmt, yuv_fmt, colour), convert(decoded, fmt, yuv_fmt, colour)
    m = FrameMeasurement(
        sse_yuv=[sse(a, b) for a, b in zip(yuv_ref, yuv_dec, strict=True)],
        samples_yuv=[int(p.size) for p in yuv_ref],
        sse_rgb=sum(sse(a, b) for a, b in zip(rgb_ref, rgb_dec, strict=True)),
        samples_rgb=sum(int(p.size) for p in rgb_ref),
    )
    data_range = float((1 << fmt.bit_depth) - 1)
    if "y" in spec.ms_ssim:
        m.ms_ssim_y = ms_ssim(yuv_ref[0][None], yuv_dec[0][None], data_range)
    if "rgb" in spec.ms_ssim:
        m.ms_ssim_rgb = ms_ssim(np.stack(rgb_ref), np.stack(rgb_dec), data_range)
    return m


@dataclass
class PerFrame:
    """Per-frame arrays of one coded sequence, as stored in a record (JSON-friendly lists)."""

    sse_y: list[int] = field(default_factory=list)
    sse_u: list[int] = field(default_factory=list)
    sse_v: list[int] = field(default_factory=list)
    sse_rgb: list[int] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)  # [Y, U, V, RGB joint], equal for every frame
    psnr_y: list[float] = field(default_factory=list)
    psnr_u: list[float] = field(default_factory=list)
    psnr_v: list[float] = field(default_factory=list)
    psnr_yuv_611: list[float] = field(default_factory=list)
    psnr_yuv_vtm: list[float] = field(default_factory=list)
    psnr_rgb: list[float] = field(default_factory=list)
    ms_ssim_y: list[float | None] = field(default_factory=list)
    ms_ssim_rgb: list[float | None] = field(default_factory=list)

    def add(self, m: FrameMeasurement, yuv_peak: float, rgb_peak: float) -> None:
        self.samples = [*m.samples_yuv, m.samples_rgb]
        self.sse_y.append(m.sse_yuv[0])
        self.sse_u.append(m.sse_yuv[1])
        self.sse_v.append(m.sse_yuv[2])
        self.sse_rgb.append(m.sse_rgb)
        py, pu, pv = (psnr(s / n, yuv_peak) for s, n in zip(m.sse_yuv, m.samples_yuv, strict=True))
        self.psnr_y.append(py)
        self.psnr_u.append(pu)
        self.psnr_v.append(pv)
        self.psnr_yuv_611.append((6 * py + pu + pv) / 8)
        self.psnr_yuv_vtm.append(psnr(sum(m.sse_yuv) / sum(m.samples_yuv), yuv_peak))
        self.psnr_rgb.append(psnr(m.sse_rgb / m.samples_rgb, rgb_peak))
        self.ms_ssim_y.append(m.ms_ssim_y)
        self.ms_ssim_rgb.append(m.ms_ssim_rgb)


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values))


def pool(frames: PerFrame, pooling: str, yuv_peak: float, rgb_peak: float) -> dict[str, float | None]:
    """Sequence-level metrics from per-frame arrays, following the module's definitions."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; use one of {POOLINGS}")
    n_y, n_u, n_v, n_rgb = frames.samples
    mean_mse = {
        "y": float(np.mean(frames.sse_y)) / n_y,
        "u": float(np.mean(frames.sse_u)) / n_u,
        "v": float(np.mean(frames.sse_v)) / n_v,
        "rgb": float(np.mean(frames.sse_rgb)) / n_rgb,
    }
    if pooling == "mean_psnr":
        py, pu, pv = (float(np.mean(v)) for v in (frames.psnr_y, frames.psnr_u, frames.psnr_v))
        prgb = float(np.mean(frames.psnr_rgb))
    else:
        py, pu, pv = (psnr(mean_mse[c], yuv_peak) for c in "yuv")
        prgb = psnr(mean_mse["rgb"], rgb_peak)
    weighted_mse = (n_y * mean_mse["y"] + n_u * mean_mse["u"] + n_v * mean_mse["v"]) / (n_y + n_u + n_v)
    return {
        "psnr_y": py,
        "psnr_u": pu,
        "psnr_v": pv,
        "psnr_yuv_611": (6 * py + pu + pv) / 8,
        "psnr_yuv_vtm": psnr(weighted_mse, yuv_peak),
        "psnr_rgb": prgb,
        "ms_ssim_y": _mean_or_none(frames.ms_ssim_y),
        "ms_ssim_rgb": _mean_or_none(frames.ms_ssim_rgb),
    }
