"""Metrics checked against independent implementations (ffmpeg's psnr filter, pytorch_msssim) and by hand."""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim

from bench.adapters.ffmpeg import ffmpeg_exe
from bench.metrics import MetricSpec, PerFrame, measure_frame, pool, psnr, psnr_peak
from bench.video.colour import ColourSpec
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader

W, H, N = 416, 240, 5


def _ffmpeg(*args: str) -> str:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args], capture_output=True, text=True,
                          check=True)
    return proc.stderr


@pytest.fixture(scope="module")
def distorted(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first frames of a demo sequence, and the same frames after a real x264 encode/decode, at 8 and 10 bit."""
    root = tmp_path_factory.mktemp("distorted")
    src8 = demo_dir / "HopperPan_416x240_30.yuv"
    raw = ["-f", "rawvideo", "-s", f"{W}x{H}"]
    _ffmpeg(*raw, "-pix_fmt", "yuv420p", "-i", str(src8), "-frames:v", str(N), "-c:v", "libx264", "-qp", "38",
            "-f", "h264", str(root / "a.264"))
    _ffmpeg("-i", str(root / "a.264"), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(root / "dec8.yuv"))
    # 10-bit pair: the 8-bit source shifted up, against the decoded frames shifted up plus a little noise.
    src = np.fromfile(src8, np.uint8)[: N * W * H * 3 // 2].astype(np.uint16) << 2
    rng = np.random.default_rng(0)
    dec = np.fromfile(root / "dec8.yuv", np.uint8).astype(np.int64) * 4 + rng.integers(-3, 4, src.size)
    src.tofile(root / "src10.yuv")
    np.clip(dec, 0, 1023).astype(np.uint16).tofile(root / "dec10.yuv")
    return {"src8": src8, "dec8": root / "dec8.yuv", "src10": root / "src10.yuv", "dec10": root / "dec10.yuv"}


def _ffmpeg_psnr(ref: Path, dist: Path, pix_fmt: str, tmp: Path) -> tuple[list[dict[str, str]], list[dict[str, float]]]:
    """Per-frame values of ffmpeg's psnr filter: its frame metadata (float32 values printed with 6 decimals, as
    strings) and its stats_file (2 decimals)."""
    stats, meta = tmp / "stats.log", tmp / "meta.log"
    raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{W}x{H}"]
    _ffmpeg(*raw, "-i", str(dist), *raw, "-i", str(ref), "-lavfi",
            f"[0:v][1:v]psnr=stats_file={stats},metadata=print:file={meta}", "-frames:v", str(N), "-f", "null", "-")
    frames: list[dict[str, str]] = []
    for line in meta.read_text().splitlines():
        if line.startswith("frame:"):
            frames.append({})
        elif line.startswith("lavfi.psnr."):
            k, v = line[len("lavfi.psnr."):].split("=")
            frames[-1][k] = v
    stat_rows = [{k: float(v) for k, v in re.findall(r"(\w+):([\d.]+)", line) if k != "n"}
                 for line in stats.read_text().splitlines() if line.startswith("n:")]
    return frames, stat_rows


def _measure(ref: Path, dist: Path, fmt_name: str, spec: MetricSpec) -> PerFrame:
    fmt = pixel_format(fmt_name)
    per_frame = PerFrame()
    peak = psnr_peak(fmt.bit_depth, spec.psnr_peak)
    for a, b in zip(RawVideoReader(ref, fmt, W, H).frames(0, N), RawVideoReader(dist, fmt, W, H).frames(0, N),
                    strict=True):
        per_frame.add(measure_frame(a, b, fmt, ColourSpec(), spec), peak, fmt.peak)
    return per_frame


@pytest.mark.parametrize(("src", "dec", "fmt_name"), [("src8", "dec8", "yuv420p"), ("src10", "dec10", "yuv420p10le")])
def test_per_frame_psnr_equals_ffmpeg_psnr_filter(distorted: dict[str, Path], tmp_path: Path, src: str, dec: str,
                                                  fmt_name: str) -> None:
    ours = _measure(distorted[src], distorted[dec], fmt_name, MetricSpec(ms_ssim=()))
    meta, stats = _ffmpeg_psnr(distorted[src], distorted[dec], fmt_name, tmp_path)
    assert len(meta) >= N and len(stats) >= N
    def as_ffmpeg_prints(value: float) -> str:
        # ffmpeg's psnr filter stores its per-frame values as float32 and prints them with %f: our double,
        # rounded the same way, must give the identical string (agreement to float32 resolution, about
        # 2e-6 dB at 30 dB; ffmpeg prints nothing more precise).
        return f"{np.float32(value):f}"

    for i in range(N):
        for plane in "yuv":
            ours_psnr = getattr(ours, f"psnr_{plane}")[i]
            assert as_ffmpeg_prints(ours_psnr) == meta[i][f"psnr.{plane}"]
            assert ours_psnr == pytest.approx(float(meta[i][f"psnr.{plane}"]), abs=5e-6)
            assert as_ffmpeg_prints(getattr(ours, f"sse_{plane}")[i] / ours.samples["yuv".index(plane)]) == \
                meta[i][f"mse.{plane}"]
            # The stats_file holds the same values rounded to 2 decimals.
            assert ours_psnr == pytest.approx(stats[i][f"psnr_{plane}"], abs=0.005 + 1e-9)
        # ffmpeg's psnr_avg is PSNR of the sample-weighted MSE of the frame: VTM's YUV weighting (4:1:1).
        assert as_ffmpeg_prints(ours.psnr_yuv_vtm[i]) == meta[i]["psnr_avg"]


def test_ms_ssim_equals_pytorch_msssim(distorted: dict[str, Path]) -> None:
    ours = _measure(distorted["src8"], distorted["dec8"], "yuv420p", MetricSpec(ms_ssim=("y",)))
    # Independent read of the Y planes straight from the files.
    ref = np.fromfile(distorted["src8"], np.uint8)
    dec = np.fromfile(distorted["dec8"], np.uint8)
    frame = W * H * 3 // 2
    for i in range(N):
        x = torch.from_numpy(ref[i * frame : i * frame + W * H].reshape(1, 1, H, W).astype(np.float32))
        y = torch.from_numpy(dec[i * frame : i * frame + W * H].reshape(1, 1, H, W).astype(np.float32))
        want = float(reference_ms_ssim(x, y, data_range=255, size_average=True))
        assert ours.ms_ssim_y[i] == pytest.approx(want, abs=1e-6)
        assert 0.9 < ours.ms_ssim_y[i] < 1.0


def test_ms_ssim_undefined_for_small_frames() -> None:
    rng = np.random.default_rng(0)
    a = tuple(rng.integers(0, 256, s).astype(np.uint8) for s in [(64, 96), (32, 48), (32, 48)])
    m = measure_frame(a, a, pixel_format("yuv420p"), ColourSpec(), MetricSpec())
    assert m.ms_ssim_y is None and m.ms_ssim_rgb is None


def test_pooling_and_yuv_combinations_by_hand() -> None:
    # Two 4:2:0 frames with known SSE per plane: Y 64 samples, U/V 16 samples each, peak 255.
    pf = PerFrame()
    pf.samples = [64, 16, 16, 192]
    pf.sse_y, pf.sse_u, pf.sse_v, pf.sse_rgb = [64, 640], [16, 16], [32, 32], [192, 1920]
    for sy, su, sv, srgb in zip(pf.sse_y, pf.sse_u, pf.sse_v, pf.sse_rgb, strict=True):
        py, pu, pv = psnr(sy / 64, 255), psnr(su / 16, 255), psnr(sv / 16, 255)
        pf.psnr_y.append(py)
        pf.psnr_u.append(pu)
        pf.psnr_v.append(pv)
        pf.psnr_yuv_611.append((6 * py + pu + pv) / 8)
        pf.psnr_yuv_vtm.append(psnr((sy + su + sv) / 96, 255))
        pf.psnr_rgb.append(psnr(srgb / 192, 255))
        pf.ms_ssim_y.append(None)
        pf.ms_ssim_rgb.append(None)
    db = 10 * math.log10(255**2)  # PSNR at MSE 1
    mean = pool(pf, "mean_psnr", 255, 255)
    assert mean["psnr_y"] == pytest.approx(db - 5.0)  # (MSE 1, MSE 10) -> mean of PSNRs
    assert mean["psnr_u"] == pytest.approx(db)
    assert mean["psnr_v"] == pytest.approx(db - 10 * math.log10(2))
    assert mean["psnr_yuv_611"] == pytest.approx((6 * (db - 5) + db + db - 10 * math.log10(2)) / 8)
    # VTM: mean MSE per plane (5.5, 1, 2), weighted 4:1:1 -> (4*5.5 + 1 + 2) / 6
    assert mean["psnr_yuv_vtm"] == pytest.approx(db - 10 * math.log10((4 * 5.5 + 1 + 2) / 6))
    mse = pool(pf, "psnr_of_mean_mse", 255, 255)
    assert mse["psnr_y"] == pytest.approx(db - 10 * math.log10(5.5))
    assert mse["psnr_rgb"] == pytest.approx(db - 10 * math.log10(5.5))
    assert mean["ms_ssim_y"] is None


def test_psnr_peak_conventions() -> None:
    assert psnr_peak(8, "bitdepth") == psnr_peak(8, "vtm") == 255
    assert psnr_peak(10, "bitdepth") == 1023
    assert psnr_peak(10, "vtm") == 1020
    assert psnr(0.0, 255) == 100.0  # identical frames are capped, not infinite
