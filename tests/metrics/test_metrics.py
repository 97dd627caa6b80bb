"""Metrics checked against independent implementations (ffmpeg's psnr filter, pytorch_msssim) and by hand."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim

from bench.metrics import MetricSpec, psnr_peak, request
from bench.metrics.backends import CpuBackend
from bench.metrics.frames import MeasuredSequence
from bench.metrics.measuring import take_measurements
from bench.metrics.ms_ssim import MsSsim
from bench.metrics.pooling import pooled_view
from bench.metrics.psnr import psnr
from bench.tools import ffmpeg_exe
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


class _Measured:
    """Per-frame values (attribute access) and pooled metrics of one measured pair of files."""

    def __init__(self, view: dict) -> None:
        self.__dict__.update(view["per_frame"])
        self.pooled = view["metrics"]


def _measure(ref: Path, dist: Path, fmt_name: str, spec: MetricSpec, tmp: Path | None = None) -> _Measured:
    """The suite's measuring path (measured sequence -> measures -> pooling) on two raw files."""
    fmt = pixel_format(fmt_name)
    seq = MeasuredSequence(fmt, W, H, 30.0, N, ColourSpec(), tmp or Path("."), lambda: zip(
        RawVideoReader(ref, fmt, W, H).frames(0, N), RawVideoReader(dist, fmt, W, H).frames(0, N), strict=True))
    docs, errors = take_measurements(seq, list(spec.requests), "job")
    assert not errors
    record = {"status": "ok", "key": "job", "sequence": {"format": fmt_name}}
    return _Measured(pooled_view(record, docs, spec))


def _spec(*extra: object, **kw: str) -> MetricSpec:
    return MetricSpec(requests=(request("sse"), *extra), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("src", "dec", "fmt_name"), [("src8", "dec8", "yuv420p"), ("src10", "dec10", "yuv420p10le")])
def test_per_frame_psnr_equals_ffmpeg_psnr_filter(distorted: dict[str, Path], tmp_path: Path, src: str, dec: str,
                                                  fmt_name: str) -> None:
    ours = _measure(distorted[src], distorted[dec], fmt_name, _spec())
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
    ours = _measure(distorted["src8"], distorted["dec8"], "yuv420p", _spec(request("ms_ssim", space="y")))
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
    batch = CpuBackend().batch([(a, a)], pixel_format("yuv420p"), ColourSpec())
    assert MsSsim().frames(batch, {"space": "y"}) == {"ms_ssim": [None]}
    assert MsSsim().frames(batch, {"space": "rgb"}) == {"ms_ssim": [None]}


def _pooled(pooling: str, values: dict, samples: list[int]) -> dict:
    doc = {"measure": "sse", "params": {}, "values": values, "constants": {"samples": samples}, "version": 1,
           "implementation": {}, "key": "k"}
    record = {"status": "ok", "key": "job", "sequence": {"format": "yuv420p"}}
    return pooled_view(record, [doc], MetricSpec(pooling, "bitdepth", (request("sse"),)))["metrics"]


def test_pooling_and_yuv_combinations_by_hand() -> None:
    # Two 4:2:0 frames with known SSE per plane: Y 64 samples, U/V 16 samples each, peak 255.
    values = {"sse_y": [64, 640], "sse_u": [16, 16], "sse_v": [32, 32], "sse_rgb": [192, 1920]}
    samples = [64, 16, 16, 192]
    db = 10 * math.log10(255**2)  # PSNR at MSE 1
    mean = _pooled("mean_psnr", values, samples)
    assert mean["psnr_y"] == pytest.approx(db - 5.0)  # (MSE 1, MSE 10) -> mean of PSNRs
    assert mean["psnr_u"] == pytest.approx(db)
    assert mean["psnr_v"] == pytest.approx(db - 10 * math.log10(2))
    assert mean["psnr_yuv_611"] == pytest.approx((6 * (db - 5) + db + db - 10 * math.log10(2)) / 8)
    # VTM: mean MSE per plane (5.5, 1, 2), weighted 4:1:1 -> (4*5.5 + 1 + 2) / 6
    assert mean["psnr_yuv_vtm"] == pytest.approx(db - 10 * math.log10((4 * 5.5 + 1 + 2) / 6))
    mse = _pooled("psnr_of_mean_mse", values, samples)
    assert mse["psnr_y"] == pytest.approx(db - 10 * math.log10(5.5))
    assert mse["psnr_rgb"] == pytest.approx(db - 10 * math.log10(5.5))
    assert "ms_ssim_y" not in mean  # not measured, not reported


def test_psnr_peak_conventions() -> None:
    assert psnr_peak(8, "bitdepth") == psnr_peak(8, "vtm") == 255
    assert psnr_peak(10, "bitdepth") == 1023
    assert psnr_peak(10, "vtm") == 1020
    assert psnr(0.0, 255) == 100.0  # identical frames are capped, not infinite


def _by_hand(first: Path, second: Path, pix_fmt: str, filter_text: str, tmp: Path) -> str:
    """ffmpeg run by hand on the two files in the order the filter's own documentation gives: libvmaf the
    distorted first and the reference second (Netflix's resource/doc/ffmpeg.md), xpsnr the reference
    (original) first and the test second (Fraunhofer's xpsnr README)."""
    raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{W}x{H}", "-r", "30"]
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *raw, "-i", str(first), *raw, "-i",
                           str(second), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"], cwd=tmp,
                          capture_output=True, text=True, check=True).stderr


@pytest.mark.parametrize(("src", "dec", "fmt_name"), [("src8", "dec8", "yuv420p"), ("src10", "dec10", "yuv420p10le")])
def test_vmaf_and_xpsnr_equal_ffmpeg_run_by_hand(distorted: dict[str, Path], tmp_path: Path, src: str, dec: str,
                                                 fmt_name: str) -> None:
    work = tmp_path / "work"
    # By hand on exactly the frames measured (the 8-bit source file is the whole demo sequence).
    fmt = pixel_format(fmt_name)
    ref = tmp_path / "ref.yuv"
    ref.write_bytes(distorted[src].read_bytes()[: N * fmt.frame_bytes(W, H)])
    ours = _measure(distorted[src], distorted[dec], fmt_name,
                    _spec(request("vmaf", model="vmaf_v0.6.1"), request("vmaf", model="vmaf_v0.6.1neg"),
                          request("xpsnr")), work)
    for model, name in (("vmaf_v0.6.1", "vmaf"), ("vmaf_v0.6.1neg", "vmaf_neg")):
        log = _by_hand(distorted[dec], ref, fmt_name,  # distorted, reference
                       f"libvmaf=model=version={model}:log_fmt=json:log_path=hand.json", tmp_path)
        frames = json.loads((tmp_path / "hand.json").read_text())["frames"]
        assert getattr(ours, name) == [f["metrics"]["vmaf"] for f in frames]  # every printed digit
        printed = float(re.search(r"VMAF score: ([\d.]+)", log).group(1))
        assert ours.pooled[name] == pytest.approx(printed, abs=5e-7)  # libvmaf's pooled mean, 6 decimals
        assert 0 < ours.pooled[name] <= 100
    log = _by_hand(ref, distorted[dec], fmt_name, "xpsnr=stats_file=hand.log", tmp_path)  # original, test
    rows = re.findall(r"XPSNR y:\s*([\d.]+)\s+XPSNR u:\s*([\d.]+)\s+XPSNR v:\s*([\d.]+)",
                      (tmp_path / "hand.log").read_text())
    assert len(rows) == N
    for i, plane in enumerate("yuv"):
        assert getattr(ours, f"xpsnr_{plane}") == [float(r[i]) for r in rows]
        # The filter's own average: PSNR of the mean weighted MSE (not the mean of per-frame values).
        printed = float(re.search(r"XPSNR\s+y: ([\d.]+)\s+u: ([\d.]+)\s+v: ([\d.]+)", log).group(i + 1))
        assert ours.pooled[f"xpsnr_{plane}"] == pytest.approx(printed, abs=2e-4)
        assert abs(ours.pooled[f"xpsnr_{plane}"] - float(np.mean(getattr(ours, f"xpsnr_{plane}")))) > 1e-3 or \
            np.ptp(getattr(ours, f"xpsnr_{plane}")) < 0.01
