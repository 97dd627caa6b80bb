"""The fast measuring path against the references it replaces: the compiled CPU kernels against
``pytorch_msssim`` and the numpy colour conversion, the torch (GPU) path against the CPU path, and the pipeline
that reads ahead.

Why these exist: the kernels are hand-written for speed (``benchmarks/metrics_speed.py``); the only thing that
makes them acceptable is that they give the numbers of the definitions the suite documents. MS-SSIM must agree
with ``pytorch_msssim.ms_ssim`` within 5e-6 on every frame of natural content (within 1e-4 on near-flat frames
close to the peak, where float32 itself is that far from float64), SSE exactly, the RGB samples exactly.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorch_msssim import ms_ssim as reference_ms_ssim
from pytorch_msssim.ssim import _fspecial_gauss_1d
from scipy import ndimage

from bench.errors import ConditionError
from bench.metrics.backends import CpuBackend, TorchBackend, measuring_device
from bench.metrics.frames import read_ahead
from bench.metrics.kernels import GAUSSIAN_WINDOW, Kernels
from bench.video.colour import ColourSpec, convert
from bench.video.formats import make_format, pixel_format
from bench.video.io import RawVideoReader

MS_SSIM_TOLERANCE = 5e-6


def _reference(x: np.ndarray, y: np.ndarray, peak: int) -> float:
    """pytorch_msssim as the suite called it before: float32 (1, C, H, W), channel mean."""
    a = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    b = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None]
    with torch.no_grad():
        return float(reference_ms_ssim(a, b, data_range=peak, size_average=True))


@pytest.fixture(scope="module")
def pairs(demo_dir: Path) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(reference, distorted, peak) planes of real content: demo frames at 8 and 10 bit, distorted by blur,
    noise and a brightness shift, at several odd sizes; (C, H, W) arrays."""
    reader = RawVideoReader(demo_dir / "HopperPan_416x240_30.yuv", pixel_format("yuv420p"), 416, 240)
    frames = [f[0] for f in reader.frames(0, 3)]
    rng = np.random.default_rng(1)
    out = []
    for i, y in enumerate(frames):
        for bits in (8, 10):
            peak = (1 << bits) - 1
            ref = y.astype(np.int64) << (bits - 8)
            dist = ndimage.uniform_filter(ref.astype(np.float64), 3 + 2 * i) + rng.normal(0, 2 + 3 * i, ref.shape)
            dist = np.clip(np.round(dist + 4 * i), 0, peak)
            dtype = np.uint8 if bits == 8 else np.uint16
            for h, w in ((240, 416), (201, 333), (161, 170), (163, 257)):
                out.append((ref[:h, :w].astype(dtype)[None], dist[:h, :w].astype(dtype)[None], peak))
    return out


def test_window_is_pytorch_msssims() -> None:
    assert np.array_equal(np.array(GAUSSIAN_WINDOW, np.float32), _fspecial_gauss_1d(11, 1.5).numpy().ravel())


@pytest.mark.parametrize("threads", [1, 2])
def test_ms_ssim_y_agrees_with_pytorch_msssim(pairs: list, threads: int) -> None:
    kernels = Kernels(threads)
    worst = 0.0
    for ref, dist, peak in pairs:
        ours, want = kernels.ms_ssim(ref, dist, float(peak)), _reference(ref, dist, peak)
        assert ours == pytest.approx(want, abs=MS_SSIM_TOLERANCE), (ref.shape, peak)
        worst = max(worst, abs(ours - want))
    assert 0 < worst  # a different summation order: not bit-equal, only close (a check that could not fail...)
    values = [kernels.ms_ssim(r, d, float(p)) for r, d, p in pairs]
    assert min(values) < 0.9 < max(values) < 1  # ... on pairs that are not all near-identical


def test_ms_ssim_rgb_and_uncorrelated_frames_agree(demo_dir: Path) -> None:
    """RGB (channel mean) of real frames, 8 and 10 bit; and pairs so unlike that contrast-structure goes below
    zero at some scale (the relu in the definition)."""
    reader = RawVideoReader(demo_dir / "MovingShapes_416x240_30.yuv", pixel_format("yuv420p"), 416, 240)
    a, b = list(reader.frames(0, 8))[::7]
    kernels = Kernels(2)
    for bits in (8, 10):
        fmt = make_format("yuv", "420", bits)
        a_b, b_b = (tuple(p.astype(fmt.dtype) << (bits - 8) for p in f) for f in (a, b))
        rgb = make_format("rgb", "444", bits)
        spec = ColourSpec("bt709", "limited", "bilinear")
        x, y = np.stack(convert(a_b, fmt, rgb, spec)), np.stack(convert(b_b, fmt, rgb, spec))
        assert kernels.ms_ssim(x, y, fmt.peak) == pytest.approx(_reference(x, y, fmt.peak), abs=MS_SSIM_TOLERANCE)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x, y = (rng.integers(0, 256, (1, 190, 230)).astype(np.uint8) for _ in range(2))
        assert kernels.ms_ssim(x, y, 255.0) == pytest.approx(_reference(x, y, 255), abs=MS_SSIM_TOLERANCE)


def test_ms_ssim_on_flat_bright_frames_is_within_the_float32_definitions_own_error() -> None:
    """Near-flat frames close to the peak, at the smallest sizes (a single pixel, or a few, at the last scale):
    sigma = E[x^2] - mu^2 cancels ~65,000 against ~65,000 in float32, so any two float32 evaluations differ far
    more than on natural content. pytorch_msssim itself (float32, the definition) is up to 7.3e-5 from its own
    float64 evaluation here (measured); ours stays within 1e-4 of it (measured: 3.7e-5) and of float64."""
    rng = np.random.default_rng(3)
    kernels = Kernels(1)
    worst = float32_error = 0.0
    for bits in (8, 10):
        peak = (1 << bits) - 1
        for h, w in ((161, 161), (176, 176), (165, 190)):
            for base in (peak - 3, peak - 20, peak // 2):
                for noise in (0.3, 1.0, 3.0):
                    ref = np.clip(np.round(base + rng.normal(0, noise, (h, w))), 0, peak)
                    dist = np.clip(np.round(ref + rng.normal(0, noise, (h, w)) + 1), 0, peak)
                    r, d = (a.astype(np.uint8 if bits == 8 else np.uint16)[None] for a in (ref, dist))
                    ours, want = kernels.ms_ssim(r, d, float(peak)), _reference(r, d, peak)
                    in_float64 = float(reference_ms_ssim(torch.from_numpy(ref[None, None]),
                                                         torch.from_numpy(dist[None, None]), data_range=peak))
                    assert ours == pytest.approx(want, abs=1e-4) and ours == pytest.approx(in_float64, abs=1e-4)
                    worst = max(worst, abs(ours - want))
                    float32_error = max(float32_error, abs(want - in_float64))
    assert worst > MS_SSIM_TOLERANCE and float32_error > MS_SSIM_TOLERANCE  # the case this test is about


def test_ms_ssim_needs_161_pixels() -> None:
    x = np.zeros((1, 160, 400), np.uint8)
    assert Kernels().ms_ssim(x, x, 255.0) is None
    assert Kernels().ms_ssim(np.zeros((1, 161, 161), np.uint8), np.zeros((1, 161, 161), np.uint8), 255.0) == 1.0


@pytest.mark.parametrize("bits", [8, 10])
@pytest.mark.parametrize("chroma", ["420", "444"])
def test_yuv_to_rgb_kernel_is_identical_to_the_reference_conversion(bits: int, chroma: str) -> None:
    """Every sample, every colour path, odd sizes, codes from 0 to the top (clipping) and random content."""
    rng = np.random.default_rng(bits)
    fmt = make_format("yuv", chroma, bits)
    rgb = make_format("rgb", "444", bits)
    kernels = Kernels(2)
    for h, w in ((37, 51), (300, 64)):  # 300 rows: split into bands on two threads
        shapes = fmt.plane_shapes(w, h)
        planes = tuple(rng.integers(0, fmt.peak + 1, s).astype(fmt.dtype) for s in shapes)
        for matrix in ("bt709", "bt601"):
            for rng_name in ("full", "limited"):
                for up in ("bilinear", "nearest"):
                    spec = ColourSpec(matrix, rng_name, up)
                    want = convert(planes, fmt, rgb, spec)
                    got = kernels.yuv_to_rgb(planes, fmt, spec)
                    for a, b in zip(got, want, strict=True):
                        assert a.dtype == b.dtype and np.array_equal(a, b), (matrix, rng_name, up, h, w)


def test_sse_kernel_is_exact() -> None:
    rng = np.random.default_rng(3)
    for dtype, top in ((np.uint8, 255), (np.uint16, 1023), (np.uint16, 65535)):
        a, b = (rng.integers(0, top + 1, (123, 77)).astype(dtype) for _ in range(2))
        d = a.astype(np.int64) - b.astype(np.int64)
        assert Kernels().sse(a, b) == int((d * d).sum())
    full = np.full((1080, 1920), 65535, np.uint16)  # the largest sum a plane can give: no overflow
    assert Kernels().sse(full, np.zeros_like(full)) == 1080 * 1920 * 65535 ** 2


@pytest.mark.gpu
def test_torch_path_equals_the_cpu_path(pairs: list) -> None:
    """The GPU path's code, run by torch on the CPU: SSE and RGB samples equal, MS-SSIM within tolerance."""
    rng = np.random.default_rng(4)
    fmt = pixel_format("yuv420p10le")
    spec = ColourSpec("bt709", "limited", "bilinear")
    frames = []
    for _ in range(3):
        planes = tuple(rng.integers(0, 1024, s).astype(np.uint16) for s in fmt.plane_shapes(203, 171))
        noisy = tuple(np.clip(p.astype(np.int64) + rng.integers(-9, 10, p.shape), 0, 1023).astype(np.uint16)
                      for p in planes)
        frames.append((planes, noisy))
    cpu, gpu_code = CpuBackend(2), TorchBackend("cpu", batch_frames=3)
    a, b = cpu.batch(frames, fmt, spec), gpu_code.batch(frames, fmt, spec)
    for x, y in zip(a.rgb()[1], b.rgb()[1], strict=True):
        assert np.array_equal(x, y.numpy())
    for pa, pb in zip(zip(*a.rgb(), strict=True), zip(*b.rgb(), strict=True), strict=True):
        assert cpu.sse(*pa) == gpu_code.sse(*pb)
    for planes in (slice(0, 1), slice(0, 3)):  # Y of the YUV frames; R, G, B
        fa, fb = (a.yuv(), b.yuv()) if planes.stop == 1 else (a.rgb(), b.rgb())
        ours = cpu.ms_ssim(list(fa[0][planes]), list(fa[1][planes]), 1023.0)
        theirs = gpu_code.ms_ssim(list(fb[0][planes]), list(fb[1][planes]), 1023.0)
        assert len(ours) == 3 and ours == pytest.approx(theirs, abs=MS_SSIM_TOLERANCE)


def test_read_ahead_is_bounded_and_passes_errors_on() -> None:
    made: list[int] = []

    def items(n: int, fail_at: int | None = None):  # noqa: ANN202
        for i in range(n):
            if i == fail_at:
                raise ConditionError("broken frame")
            made.append(i)
            yield i

    stream = read_ahead(items(100), depth=2)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(made) <= 4  # one handed over, two waiting, one in the producer's hand
    stream.close()  # stopping early stops the producer
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    assert list(read_ahead(items(5), 2)) == list(range(5))
    with pytest.raises(ConditionError, match="broken frame"):
        list(read_ahead(items(5, fail_at=3), 2))


def test_kernels_never_run_more_than_their_threads_at_once() -> None:
    kernels = Kernels(2)
    running, peak, guard = [0], [0], threading.Lock()

    def kernel() -> None:
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with guard:
            running[0] -= 1

    threads = [threading.Thread(target=kernels._call, args=(kernel,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


@pytest.mark.gpu
def test_measuring_device_follows_the_condition_and_the_codec() -> None:
    assert measuring_device("auto", None) == "cpu"
    assert measuring_device("auto", "cuda:1") == ("cuda:1" if torch.cuda.is_available() else "cpu")
    assert measuring_device("cpu", "cuda:1") == "cpu"
    assert measuring_device("cuda:0", None) == "cuda:0"


@pytest.mark.slow
@pytest.mark.integration
def test_warming_compiles_every_kernel_signature_a_real_job_measures_with(tmp_path: Path, demo_dir: Path) -> None:
    """On an empty numba cache, kernels.warm((8,)) and then a real 8-bit job (x264, demo content at 416x240, PSNR
    and MS-SSIM on Y and RGB): the job must find every kernel compiled already (not one new signature), so a
    run's background warm-up leaves nothing for its first job to compile."""
    import subprocess
    import sys

    condition = tmp_path / "w.yaml"
    condition.write_text(f"""
name: w
sequences: [{{name: Terrain, file: TerrainFlyover_416x240_30.yuv}}]
data_root: {demo_dir}
frames: {{first: 0, count: 2}}
intra_period: 2
metrics: {{ms_ssim: [y, rgb]}}
codecs: [{{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [30]}}]
""")
    script = f"""
import json
from pathlib import Path
from bench.metrics import kernels
from bench.conditions.condition import load_condition
from bench.run.runner import RunOptions, run_condition
names = [n for n in dir(kernels) if hasattr(getattr(kernels, n), "signatures")]
def compiled():
    return {{n: sorted(map(str, getattr(kernels, n).signatures)) for n in names}}
from bench.metrics.warmup import kernel_cache_is_cold
cold = kernel_cache_is_cold()
kernels.warm((8,))
warmed = compiled()
outcome = run_condition(load_condition({str(condition)!r}), RunOptions(Path({str(tmp_path / "r")!r}), progress=False))
print(json.dumps([warmed, compiled(), outcome.coded, len(outcome.failed), cold, kernel_cache_is_cold()]))
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # cold: nothing compiled before
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True,
                          timeout=600)
    warmed, after_job, coded, failed, cold_before, cold_after = json.loads(done.stdout.strip().splitlines()[-1])
    assert coded == 1 and failed == 0
    assert cold_before and not cold_after  # what a run's early start decides by: no index files, then some
    assert all(warmed[n] for n in ("_sse", "_ssim_rows", "_pool2", "_yuv_to_rgb_rows")), warmed
    assert after_job == warmed
