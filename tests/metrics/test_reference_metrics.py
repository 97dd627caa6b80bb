"""The reference tier: every metric against an independent implementation, called the way that implementation's
own documentation calls it, on inputs built so that a swapped or mis-scaled input moves the result far beyond
the tolerance (each test also asserts that margin, so it can fail for the reason it exists).

* XPSNR: ffmpeg's ``xpsnr`` filter run by hand with the source first (Fraunhofer's README: ``-i inRef.yuv ...
  -i inTest.yuv``), on a flat, slowly moving source against a noisy decoded clip: the filter weights blocks by
  the first input's activity, so the swapped order scores about 12 dB higher at the same SSE.
* VMAF: ffmpeg's ``libvmaf`` filter run by hand as ``[distorted][reference]`` (Netflix's resource/doc/ffmpeg.md)
  on a blurred clip against its sharp source: swapped, the score is more than 15 points higher.
* PSNR per plane at 8 and 10 bit, with both peak conventions: ffmpeg's ``psnr`` filter (its per-frame frame
  metadata and its printed average) and the textbook formula in numpy on the files read byte by byte; the U
  and V errors differ by 10 dB, so a plane mix-up shows, and the 10-bit peaks 1023 and 1020 differ by 0.026 dB.
* MS-SSIM: ``pytorch_msssim.ms_ssim`` with ``data_range`` 255 at 8 bit and 1023 at 10 bit, on the Y planes read
  from the files; the wrong data range moves it by far more than the tolerance.

The clips, the suite's measuring path on them and ffmpeg run by hand on them are bench/checks/selftest_kit.py's, the
ones ``evaluate.py selftest`` (bench/checks/selftest.py) uses on a user's installation: the by-hand command there is
plain ffmpeg with the two inputs in the order written at each call below, nothing of the suite between. The
last test runs the command's own metric checks on the same clips (their ffmpeg runs and measurements are kept,
so nothing is computed twice). ``pytest -m reference`` runs this tier alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim

from bench.checks.selftest import metric_checks
from bench.checks.selftest_kit import (
    Clips,
    H,
    N,
    W,
    planes_of,
    psnr_printed,
    run_checks,
    suite_view,
    vmaf_printed,
    xpsnr_printed,
)
from bench.metrics import MetricSpec, request

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    """The generated pairs: ``flat`` (a flat panning gradient, and it with noise) and ``sharp`` (a photograph,
    and it blurred with noise on V only), at 8 and 10 bit."""
    return Clips(tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("depth", [8, 10])
def test_xpsnr_equals_ffmpeg_run_by_hand_with_the_source_first(clips: Clips, depth: int) -> None:
    source, decoded = clips.pair("flat", depth)
    view = clips.view("flat", depth, MetricSpec(requests=(request("sse"), request("xpsnr"))))
    rows, printed = xpsnr_printed(clips.by_hand(source, decoded, depth, "xpsnr=stats_file=xpsnr.log"),
                                  "xpsnr.log")  # original, then test
    _, swapped = xpsnr_printed(clips.by_hand(decoded, source, depth, "xpsnr=stats_file=xpsnr.log"), "xpsnr.log")
    for p in "yuv":
        # The inputs discriminate: the swapped order is more than 8 dB off (the tolerance below is 1e-4 dB).
        assert swapped[p] - printed[p] > 8.0
        # Every per-frame value exactly as the filter printed it (4 decimals), and the pooled value equal to the
        # filter's own printed average to its precision.
        assert view["per_frame"][f"xpsnr_{p}"] == [row[p] for row in rows]
        assert view["metrics"][f"xpsnr_{p}"] == pytest.approx(printed[p], abs=1e-4)
    # Same SSE both ways: the difference is the weighting alone (PSNR is symmetric).
    assert view["metrics"]["psnr_y"] - view["metrics"]["xpsnr_y"] > 8.0


@pytest.mark.parametrize("model", ["vmaf_v0.6.1", "vmaf_v0.6.1neg"])
def test_vmaf_equals_libvmaf_in_its_documented_order(clips: Clips, model: str) -> None:
    source, decoded = clips.pair("sharp", 8)
    name = {"vmaf_v0.6.1": "vmaf", "vmaf_v0.6.1neg": "vmaf_neg"}[model]
    view = clips.view("sharp", 8, MetricSpec(requests=(request("vmaf", model=model),)))
    scores = {}
    for order, (first, second) in {"documented": (decoded, source), "swapped": (source, decoded)}.items():
        # [distorted][reference], as Netflix's ffmpeg.md labels the inputs
        run = clips.by_hand(first, second, 8, f"libvmaf=model=version={model}:log_fmt=json:log_path={order}.json")
        scores[order] = vmaf_printed(run, f"{order}.json")
    assert scores["swapped"][1] - scores["documented"][1] > 15.0  # the inputs discriminate
    assert view["per_frame"][name] == scores["documented"][0]  # every printed digit
    assert view["metrics"][name] == pytest.approx(scores["documented"][1], abs=5e-7)  # libvmaf's 6-decimal mean


@pytest.mark.parametrize("depth", [8, 10])
@pytest.mark.parametrize("peak", ["bitdepth", "vtm"])
def test_psnr_per_plane_against_ffmpeg_and_numpy(clips: Clips, depth: int, peak: str) -> None:
    source, decoded = clips.pair("sharp", depth)
    mse = {p: ((a - b) ** 2).mean(axis=1)
           for p, a, b in zip("yuv", planes_of(source, depth), planes_of(decoded, depth), strict=True)}
    assert abs(10 * math.log10(mse["v"].mean() / mse["u"].mean())) > 5.0  # a U/V mix-up cannot pass
    top = {"bitdepth": (1 << depth) - 1, "vtm": 255 << (depth - 8)}[peak]
    # The psnr filter is symmetric; given as its documentation's example does: main (distorted), then reference.
    frames, average = psnr_printed(clips.by_hand(decoded, source, depth, "psnr,metadata=print:file=psnr.log"),
                                   "psnr.log")
    for pooling in ("mean_psnr", "psnr_of_mean_mse"):
        view = clips.view("sharp", depth, MetricSpec(pooling, peak, (request("sse"),)))
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


@pytest.mark.parametrize("depth", [8, 10])
def test_ms_ssim_equals_pytorch_msssim_with_the_data_range_of_the_bit_depth(clips: Clips, depth: int) -> None:
    source, decoded = clips.pair("sharp", depth)
    view = clips.view("sharp", depth, MetricSpec(requests=(request("ms_ssim", space="y"),)))
    x, y = (torch.from_numpy(planes_of(p, depth)[0].astype(np.float32).reshape(N, 1, H, W)) for p in (source, decoded))
    right = (1 << depth) - 1
    wrong = 1023 if depth == 8 else 255
    want = [float(reference_ms_ssim(x[i : i + 1], y[i : i + 1], data_range=right)) for i in range(N)]
    mis_scaled = [float(reference_ms_ssim(x[i : i + 1], y[i : i + 1], data_range=wrong)) for i in range(N)]
    assert min(abs(a - b) for a, b in zip(want, mis_scaled, strict=True)) > 1e-3  # the inputs discriminate
    assert view["per_frame"]["ms_ssim_y"] == pytest.approx(want, abs=5e-6)
    assert view["metrics"]["ms_ssim_y"] == pytest.approx(float(np.mean(want)), abs=5e-6)


def test_xpsnr_of_frames_without_error_pools_as_the_filter_does(clips: Clips, tmp_path: Path) -> None:
    """Frames identical to the source: the filter prints inf for them (JSON has no infinity: the suite keeps
    None and shows the 100 dB cap) and counts a root of 0 in its average, which ours equals."""
    frame = W * H * 3 // 2
    source, noisy = clips.pair("flat", 8)
    mixed = tmp_path / "mixed.yuv"
    mixed.write_bytes(source.read_bytes()[: 3 * frame] + noisy.read_bytes()[3 * frame :])
    view = suite_view(source, mixed, 8, MetricSpec(requests=(request("xpsnr"),)), tmp_path / "work")
    rows, printed = xpsnr_printed(clips.by_hand(source, mixed, 8, "xpsnr=stats_file=xpsnr.log"), "xpsnr.log")
    assert [r["y"] for r in rows[:3]] == [math.inf] * 3 and math.isfinite(rows[3]["y"])
    assert view["per_frame"]["xpsnr_y"] == [100.0] * 3 + [r["y"] for r in rows[3:]]
    assert view["metrics"]["xpsnr_y"] == pytest.approx(printed["y"], abs=1e-4)


@pytest.mark.integration
def test_the_selftest_metric_checks_pass_on_the_same_clips(clips: Clips) -> None:
    """``evaluate.py selftest``'s metric checks (what its table shows) on these clips: each passes, its
    difference within its tolerance. The ffmpeg runs and measurements above are reused, not repeated."""
    results = run_checks(metric_checks(clips))
    assert len(results) == 12
    for r in results:
        assert r.status == "pass" and r.difference is not None and r.tolerance is not None, (r.check.name, r.note)
        assert r.difference <= r.tolerance
