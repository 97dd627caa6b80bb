"""The reference tier: every metric against an independent implementation, called the way that implementation's
own documentation calls it, on inputs built so that a swapped or mis-scaled input moves the result far beyond
the tolerance (each test also asserts that margin, so it can fail for the reason it exists).

* XPSNR: ffmpeg's ``xpsnr`` filter run by hand with the source first (Fraunhofer's README: ``-i inRef.yuv ...
  -i inTest.yuv``), on a flat, slowly moving source against a noisy decoded clip: the filter weights blocks by
  the first input's activity, so the swapped order scores about 12 dB higher at the same SSE.
* VMAF: ffmpeg's ``libvmaf`` filter run by hand as ``[distorted][reference]`` (Netflix's resource/doc/ffmpeg.md)
  on a blurred clip against its sharp source: swapped, the score goes from about 61 to 100.
* PSNR per plane at 8 and 10 bit, with both peak conventions: ffmpeg's ``psnr`` filter (its per-frame frame
  metadata and its printed average) and the textbook formula in numpy on the files read byte by byte; the U
  and V errors differ by 10 dB, so a plane mix-up shows, and the 10-bit peaks 1023 and 1020 differ by 0.026 dB.
* MS-SSIM: ``pytorch_msssim.ms_ssim`` with ``data_range`` 255 at 8 bit and 1023 at 10 bit, on the Y planes read
  from the files; the wrong data range moves it by far more than the tolerance.

``pytest -m reference`` runs this tier alone; ``evaluate.py selftest`` runs the same comparisons on a user's
installation (bench/selftest.py).
"""

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

from bench.adapters.ffmpeg import ffmpeg_exe
from bench.metrics import MetricSpec, request
from bench.metrics.frames import MeasuredSequence
from bench.metrics.measuring import take_measurements
from bench.metrics.pooling import pooled_view
from bench.video.colour import ColourSpec
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader

pytestmark = pytest.mark.reference

W, H, N = 416, 240, 6
FORMATS = {8: "yuv420p", 10: "yuv420p10le"}


def _planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, depth: int) -> bytes:
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    peak = (1 << depth) - 1
    return b"".join(np.clip(np.rint(p), 0, peak).astype(dtype).tobytes() for p in (y, u, v))


def _flat_and_noisy(root: Path, depth: int) -> tuple[Path, Path]:
    """A smooth gradient panning 2 px a frame (almost no spatial or temporal activity), and the same frames
    plus Gaussian noise (sigma 6 at 8 bit): the pair whose XPSNR depends most on which input is the original."""
    rng = np.random.default_rng(7)
    scale = 1 << (depth - 8)
    yy, xx = np.mgrid[0:H, 0:W]
    flat, noisy = bytearray(), bytearray()
    for t in range(N):
        y = (60 + 100 * (xx + 2 * t) / W + 40 * yy / H) * scale
        c = np.full((H // 2, W // 2), 128.0 * scale)
        flat += _planes(y, c, c, depth)
        noisy += _planes(*(p + rng.normal(0, 6 * scale, p.shape) for p in (y, c, c)), depth)
    (root / f"flat{depth}.yuv").write_bytes(bytes(flat))
    (root / f"noisy{depth}.yuv").write_bytes(bytes(noisy))
    return root / f"flat{depth}.yuv", root / f"noisy{depth}.yuv"


def _sharp_and_blurred(demo: Path, root: Path, depth: int) -> tuple[Path, Path]:
    """The first frames of a demo sequence, and the same frames blurred (ffmpeg's gblur, sigma 1.5) with
    noise added to V only, so U and V carry very different errors; at 10 bit both shifted up by 2 bits (plus
    a little noise on the blurred one, so it is not an 8-bit picture in disguise)."""
    frame = W * H * 3 // 2
    (root / "sharp8.yuv").write_bytes(demo.read_bytes()[: N * frame])
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo",
                    "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-i", str(root / "sharp8.yuv"), "-vf", "gblur=sigma=1.5",
                    "-f", "rawvideo", "-pix_fmt", "yuv420p", str(root / "blur_plain.yuv")], check=True)
    rng = np.random.default_rng(3)
    sharp = np.fromfile(root / "sharp8.yuv", np.uint8).reshape(N, frame).astype(np.float64)
    blurred = np.fromfile(root / "blur_plain.yuv", np.uint8).reshape(N, frame).astype(np.float64)
    v0 = W * H + (W // 2) * (H // 2)
    blurred[:, v0:] += rng.normal(0, 4, blurred[:, v0:].shape)
    if depth == 10:
        sharp, blurred = sharp * 4, blurred * 4 + rng.integers(-2, 3, blurred.shape)
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    peak = (1 << depth) - 1
    paths = root / f"sharp{depth}_.yuv", root / f"blurred{depth}.yuv"
    for path, data in zip(paths, (sharp, blurred), strict=True):
        np.clip(np.rint(data), 0, peak).astype(dtype).tofile(path)
    return paths


@pytest.fixture(scope="module")
def clips(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reference")
    out: dict[str, Path] = {}
    for depth in (8, 10):
        out[f"flat{depth}"], out[f"noisy{depth}"] = _flat_and_noisy(root, depth)
        out[f"sharp{depth}"], out[f"blurred{depth}"] = _sharp_and_blurred(demo_dir / "HopperPan_416x240_30.yuv",
                                                                          root, depth)
    return out


def _by_hand(first: Path, second: Path, depth: int, filter_text: str, cwd: Path) -> str:
    """ffmpeg run by hand: FIRST is input 0, SECOND input 1, raw YUV at 30 fps; its log (stderr)."""
    raw = ["-f", "rawvideo", "-pix_fmt", FORMATS[depth], "-s", f"{W}x{H}", "-r", "30"]
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *raw, "-i", str(first), *raw, "-i",
                           str(second), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"], cwd=cwd,
                          capture_output=True, text=True, check=True).stderr


def _suite(source: Path, decoded: Path, depth: int, spec: MetricSpec, work: Path) -> dict:
    """The suite's own measuring path (measured sequence -> measures -> pooling) on two raw files."""
    fmt = pixel_format(FORMATS[depth])
    seq = MeasuredSequence(fmt, W, H, 30.0, N, ColourSpec(), work, lambda: zip(
        RawVideoReader(source, fmt, W, H).frames(0, N), RawVideoReader(decoded, fmt, W, H).frames(0, N), strict=True))
    docs, errors = take_measurements(seq, list(spec.requests), "job")
    assert not errors
    return pooled_view({"status": "ok", "key": "job", "sequence": {"format": FORMATS[depth]}}, docs, spec)


def _xpsnr_stats(text: str) -> list[tuple[str, str, str]]:
    return re.findall(r"XPSNR y:\s*(\S+)\s+XPSNR u:\s*(\S+)\s+XPSNR v:\s*(\S+)", text)


@pytest.mark.parametrize("depth", [8, 10])
def test_xpsnr_equals_ffmpeg_run_by_hand_with_the_source_first(clips: dict[str, Path], tmp_path: Path,
                                                                 depth: int) -> None:
    source, decoded = clips[f"flat{depth}"], clips[f"noisy{depth}"]
    view = _suite(source, decoded, depth, MetricSpec(requests=(request("sse"), request("xpsnr"))), tmp_path / "work")
    log = _by_hand(source, decoded, depth, "xpsnr=stats_file=hand.log", tmp_path)  # original, then test
    rows = _xpsnr_stats((tmp_path / "hand.log").read_text())
    swapped_log = _by_hand(decoded, source, depth, "xpsnr=stats_file=swapped.log", tmp_path)
    average = re.compile(r"XPSNR\s+y: ([\d.]+)\s+u: ([\d.]+)\s+v: ([\d.]+)")
    printed, swapped = average.search(log), average.search(swapped_log)
    assert len(rows) == N and printed and swapped
    for i, plane in enumerate("yuv"):
        # The inputs discriminate: the swapped order is more than 8 dB off (the tolerance below is 1e-4 dB).
        assert float(swapped.group(i + 1)) - float(printed.group(i + 1)) > 8.0
        # Every per-frame value exactly as the filter printed it (4 decimals), and the pooled value equal to the
        # filter's own printed average to its precision.
        assert view["per_frame"][f"xpsnr_{plane}"] == [float(r[i]) for r in rows]
        assert view["metrics"][f"xpsnr_{plane}"] == pytest.approx(float(printed.group(i + 1)), abs=1e-4)
    # Same SSE both ways: the difference is the weighting alone (PSNR is symmetric).
    assert view["metrics"]["psnr_y"] - view["metrics"]["xpsnr_y"] > 8.0


@pytest.mark.parametrize("model", ["vmaf_v0.6.1", "vmaf_v0.6.1neg"])
def test_vmaf_equals_libvmaf_in_its_documented_order(clips: dict[str, Path], tmp_path: Path, model: str) -> None:
    source, decoded = clips["sharp8"], clips["blurred8"]
    name = {"vmaf_v0.6.1": "vmaf", "vmaf_v0.6.1neg": "vmaf_neg"}[model]
    view = _suite(source, decoded, 8, MetricSpec(requests=(request("vmaf", model=model),)), tmp_path / "work")
    scores = {}
    for order, (first, second) in {"documented": (decoded, source), "swapped": (source, decoded)}.items():
        log = _by_hand(first, second, 8, f"libvmaf=model=version={model}:log_fmt=json:log_path={order}.json",
                       tmp_path)  # [distorted][reference], as Netflix's ffmpeg.md labels the inputs
        frames = json.loads((tmp_path / f"{order}.json").read_text())["frames"]
        scores[order] = ([f["metrics"]["vmaf"] for f in frames], float(re.search(r"VMAF score: ([\d.]+)", log)[1]))
    assert scores["swapped"][1] - scores["documented"][1] > 15.0  # the inputs discriminate
    assert view["per_frame"][name] == scores["documented"][0]  # every printed digit
    assert view["metrics"][name] == pytest.approx(scores["documented"][1], abs=5e-7)  # libvmaf's 6-decimal mean


def _ffmpeg_psnr(source: Path, decoded: Path, depth: int, cwd: Path) -> tuple[list[dict[str, float]], dict[str, float]]:
    """ffmpeg's psnr filter: per-frame values from its frame metadata (float32, 6 decimals) and its printed
    average (PSNR of the mean MSE over frames). The filter is symmetric in its inputs; given as its
    documentation's example does, the main (distorted) input first and the reference second."""
    log = _by_hand(decoded, source, depth, "psnr,metadata=print:file=meta.log", cwd)
    frames: list[dict[str, float]] = []
    for line in (cwd / "meta.log").read_text().splitlines():
        if line.startswith("frame:"):
            frames.append({})
        elif line.startswith("lavfi.psnr."):
            key, value = line[len("lavfi.psnr."):].split("=")
            if key.startswith("psnr."):  # psnr.y, psnr.u, psnr.v (beside mse.* and psnr_avg)
                frames[-1][key[len("psnr."):]] = float(value)
    average = re.search(r"PSNR y:([\d.]+) u:([\d.]+) v:([\d.]+)", log)
    assert average is not None
    return frames, {p: float(average.group(i + 1)) for i, p in enumerate("yuv")}


def _numpy_mse(source: Path, decoded: Path, depth: int) -> dict[str, np.ndarray]:
    """Per-frame MSE of each plane, the files read as bytes by numpy (independent of the suite's reader)."""
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    y, c = W * H, (W // 2) * (H // 2)
    a, b = (np.fromfile(p, dtype).reshape(N, y + 2 * c).astype(np.float64) for p in (source, decoded))
    sq = (a - b) ** 2
    return {"y": sq[:, :y].mean(axis=1), "u": sq[:, y : y + c].mean(axis=1), "v": sq[:, y + c :].mean(axis=1)}


@pytest.mark.parametrize("depth", [8, 10])
@pytest.mark.parametrize("peak", ["bitdepth", "vtm"])
def test_psnr_per_plane_against_ffmpeg_and_numpy(clips: dict[str, Path], tmp_path: Path, depth: int,
                                                 peak: str) -> None:
    source, decoded = clips[f"sharp{depth}"], clips[f"blurred{depth}"]
    mse = _numpy_mse(source, decoded, depth)
    assert abs(10 * math.log10(mse["v"].mean() / mse["u"].mean())) > 5.0  # a U/V mix-up cannot pass
    top = {"bitdepth": (1 << depth) - 1, "vtm": 255 << (depth - 8)}[peak]
    frames, average = _ffmpeg_psnr(source, decoded, depth, tmp_path)
    for pooling in ("mean_psnr", "psnr_of_mean_mse"):
        view = _suite(source, decoded, depth, MetricSpec(pooling, peak, (request("sse"),)), tmp_path / pooling)
        for p in "yuv":
            want = 10 * np.log10(top**2 / mse[p])
            assert view["per_frame"][f"psnr_{p}"] == pytest.approx(list(want), abs=1e-9)
            pooled = want.mean() if pooling == "mean_psnr" else 10 * math.log10(top**2 / mse[p].mean())
            assert view["metrics"][f"psnr_{p}"] == pytest.approx(pooled, abs=1e-9)
            if peak == "bitdepth":  # ffmpeg's psnr filter uses 2^b - 1
                assert view["per_frame"][f"psnr_{p}"] == pytest.approx([f[p] for f in frames], abs=5e-6)
                if pooling == "psnr_of_mean_mse":
                    assert view["metrics"][f"psnr_{p}"] == pytest.approx(average[p], abs=1e-6)
            elif depth == 10:  # 1020 against 1023: 0.0255 dB, far beyond both tolerances
                assert view["per_frame"][f"psnr_{p}"][0] - frames[0][p] == pytest.approx(20 * math.log10(1020 / 1023),
                                                                                          abs=5e-6)


def _y_planes(path: Path, depth: int) -> torch.Tensor:
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    frame = W * H * 3 // 2
    data = np.fromfile(path, dtype).reshape(N, frame)[:, : W * H].astype(np.float32)
    return torch.from_numpy(data.reshape(N, 1, H, W))


@pytest.mark.parametrize("depth", [8, 10])
def test_ms_ssim_equals_pytorch_msssim_with_the_data_range_of_the_bit_depth(clips: dict[str, Path], tmp_path: Path,
                                                                              depth: int) -> None:
    source, decoded = clips[f"sharp{depth}"], clips[f"blurred{depth}"]
    view = _suite(source, decoded, depth, MetricSpec(requests=(request("ms_ssim", space="y"),)), tmp_path / "work")
    x, y = _y_planes(source, depth), _y_planes(decoded, depth)
    right = (1 << depth) - 1
    wrong = 1023 if depth == 8 else 255
    want = [float(reference_ms_ssim(x[i : i + 1], y[i : i + 1], data_range=right)) for i in range(N)]
    mis_scaled = [float(reference_ms_ssim(x[i : i + 1], y[i : i + 1], data_range=wrong)) for i in range(N)]
    assert min(abs(a - b) for a, b in zip(want, mis_scaled, strict=True)) > 1e-3  # the inputs discriminate
    assert view["per_frame"]["ms_ssim_y"] == pytest.approx(want, abs=5e-6)
    assert view["metrics"]["ms_ssim_y"] == pytest.approx(float(np.mean(want)), abs=5e-6)


def test_xpsnr_of_frames_without_error_pools_as_the_filter_does(clips: dict[str, Path], tmp_path: Path) -> None:
    """Frames identical to the source: the filter prints inf for them (JSON has no infinity: the suite keeps
    None and shows the 100 dB cap) and counts a root of 0 in its average, which ours equals."""
    frame = W * H * 3 // 2
    source = clips["flat8"]
    mixed = tmp_path / "mixed.yuv"
    mixed.write_bytes(source.read_bytes()[: 3 * frame] + clips["noisy8"].read_bytes()[3 * frame :])
    view = _suite(source, mixed, 8, MetricSpec(requests=(request("xpsnr"),)), tmp_path / "work")
    log = _by_hand(source, mixed, 8, "xpsnr=stats_file=hand.log", tmp_path)
    rows = _xpsnr_stats((tmp_path / "hand.log").read_text())
    assert [r[0] for r in rows[:3]] == ["inf"] * 3 and "inf" not in rows[3][0]
    assert view["per_frame"]["xpsnr_y"] == [100.0] * 3 + [float(r[0]) for r in rows[3:]]
    printed = re.search(r"XPSNR\s+y: ([\d.]+)", log)
    assert printed is not None and view["metrics"]["xpsnr_y"] == pytest.approx(float(printed.group(1)), abs=1e-4)
