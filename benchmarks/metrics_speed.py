"""Benchmark: what measuring one 1080p frame costs, through the suite's path and through the references.

Makes a 1920x1080 8-bit 4:2:0 source (a demo sequence scaled up with lanczos, moving) and a coded copy (x264,
QP 32), then prints milliseconds per frame, all measured in this one run on the same frames:

* the suite's own path on the CPU (``bench.metrics.backends.CpuBackend``), one and two kernel threads: the
  conversion to RGB, SSE on Y/U/V/RGB, MS-SSIM on Y and on RGB, and all default metrics end to end
  (``take_measurements``: reading the frames from disk, read-ahead, conversion, SSE, MS-SSIM Y and RGB);
* the path the suite used before (numpy float64 conversion, int64 numpy SSE, ``pytorch_msssim`` on one torch
  thread), kept callable here as ``previous_path``;
* ``pytorch_msssim.ms_ssim`` alone with one and two torch threads;
* ffmpeg's ``psnr`` and ``ssim`` filters and libvmaf's ``float_ms_ssim`` feature, one thread each
  (process wall time over the frames, reading included; the ``null`` line is reading alone);
* with ``--device cuda``, the GPU path (``TorchBackend``) end to end, batches of 8 frames;

then the ratios the suite is held to, and the peak resident memory of measuring 30 and 600 frames end to end.

    python benchmarks/metrics_speed.py [--frames 30] [--rss 30,600] [--device cuda] [--work DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.conditions import demo
from bench.metrics.backends import Backend, CpuBackend, make_backend
from bench.metrics.frames import MeasuredSequence
from bench.metrics.measuring import take_measurements
from bench.metrics.ms_ssim import MsSsim
from bench.metrics.psnr import SquaredError
from bench.metrics.registry import request
from bench.tools import ffmpeg_exe
from bench.video.colour import ColourSpec, convert
from bench.video.formats import make_format, pixel_format
from bench.video.io import RawVideoReader

W, H = 1920, 1080
FMT = pixel_format("yuv420p")
RGB = make_format("rgb", "444", 8)
SPEC = ColourSpec("bt709", "limited", "bilinear")
DEFAULT_REQUESTS = [request("sse"), request("ms_ssim", space="y"), request("ms_ssim", space="rgb")]


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args], check=True)


def make_frames(folder: Path, frames: int) -> tuple[Path, Path]:
    """FRAMES frames of a moving 1080p source and their x264 QP 32 coded copy (cached in FOLDER)."""
    src, dec = folder / f"src_{frames}.yuv", folder / f"dec_{frames}.yuv"
    if src.exists() and dec.exists():
        return src, dec
    small = demo.demo_root()
    demo.generate(small)
    graph = (f"[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1[ab];[ab]loop=loop=-1:size=64,"
             f"trim=end_frame={frames},scale={W}:{H}:flags=lanczos,format=yuv420p")
    ffmpeg("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "416x240", "-r", "30",
           "-i", str(small / "HopperPan_416x240_30.yuv"), "-filter_complex", graph, "-frames:v", str(frames),
           "-f", "rawvideo", str(src))
    coded = folder / "coded.264"
    ffmpeg("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-i", str(src), "-c:v", "libx264",
           "-preset", "veryfast", "-qp", "32", "-f", "h264", str(coded))
    ffmpeg("-i", str(coded), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(dec))
    return src, dec


def read_pairs(src: Path, dec: Path, count: int) -> list[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]:
    a, b = RawVideoReader(src, FMT, W, H), RawVideoReader(dec, FMT, W, H)
    return list(zip(a.frames(0, count), b.frames(0, count), strict=True))


def per_frame_ms(fn: Callable[[int], object], count: int) -> float:
    """Median milliseconds of FN(i) over frames i (after one warm-up call)."""
    fn(0)
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


# --- the path the suite used before: kept callable so that the ratio is measured, not remembered -------------

def previous_path(ref: tuple[np.ndarray, ...], dec: tuple[np.ndarray, ...]) -> dict[str, float]:
    """All default metrics of one frame pair as the suite computed them before its kernels."""
    import torch
    from pytorch_msssim import ms_ssim

    def sse(a: np.ndarray, b: np.ndarray) -> int:
        d = a.astype(np.int64) - b.astype(np.int64)
        return int(np.einsum("ij,ij->", d, d))

    def msssim(x: np.ndarray, y: np.ndarray) -> float:
        tx = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        ty = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None]
        with torch.no_grad():
            return float(ms_ssim(tx, ty, data_range=255.0, size_average=True))

    rgb_ref, rgb_dec = convert(ref, FMT, RGB, SPEC), convert(dec, FMT, RGB, SPEC)
    out = {f"sse_{p}": sse(a, b) for p, a, b in zip("yuv", ref, dec, strict=True)}
    out["sse_rgb"] = sum(sse(a, b) for a, b in zip(rgb_ref, rgb_dec, strict=True))
    out["ms_ssim_y"] = msssim(ref[0][None], dec[0][None])
    out["ms_ssim_rgb"] = msssim(np.stack(rgb_ref), np.stack(rgb_dec))
    return out


def suite_parts(pairs: list, threads: int) -> dict[str, float]:
    """ms/frame of each part of the suite's CPU path, each on fresh batches (nothing converted in advance)."""
    backend = CpuBackend(threads)
    count = len(pairs)
    sse, ms = SquaredError(), MsSsim()

    def batch(i: int):  # noqa: ANN202
        return backend.batch([pairs[i]], FMT, SPEC)

    def convert_both(i: int) -> None:
        batch(i).rgb()

    def sse_all(i: int) -> None:
        sse.frames(batch(i), {})

    rgb_batches = {}

    def ms_rgb(i: int) -> None:
        b = rgb_batches.get(i) or batch(i)
        ms.frames(b, {"space": "rgb"})

    for i in range(count):  # conversion done ahead, so that MS-SSIM RGB is timed alone
        rgb_batches[i] = batch(i)
        rgb_batches[i].rgb()
    out = {
        "conversion to RGB (both frames)": per_frame_ms(convert_both, count),
        "SSE Y, U, V, RGB (conversion included)": per_frame_ms(sse_all, count),
        "MS-SSIM Y": per_frame_ms(lambda i: ms.frames(batch(i), {"space": "y"}), count),
        "MS-SSIM RGB (converted frames)": per_frame_ms(ms_rgb, count),
    }
    backend.close()
    return out


def end_to_end_ms(src: Path, dec: Path, count: int, backend: Backend) -> float:
    """ms/frame of take_measurements over COUNT frames read from disk: the suite's own measuring pass."""

    def pairs():  # noqa: ANN202
        return zip(RawVideoReader(src, FMT, W, H).frames(0, count), RawVideoReader(dec, FMT, W, H).frames(0, count),
                   strict=True)

    with tempfile.TemporaryDirectory() as tmp:
        seq = MeasuredSequence(FMT, W, H, 30.0, count, SPEC, Path(tmp), pairs)
        t0 = time.perf_counter()
        _, errors = take_measurements(seq, DEFAULT_REQUESTS, "0" * 64, backend)
        seconds = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"measuring failed: {errors}")
    return 1000 * seconds / count


def pytorch_msssim_ms(pairs: list, threads: int, rgb: bool) -> float:
    import torch
    from pytorch_msssim import ms_ssim

    torch.set_num_threads(threads)
    rgbs = [(np.stack(convert(a, FMT, RGB, SPEC)), np.stack(convert(b, FMT, RGB, SPEC))) for a, b in pairs] if rgb \
        else [(a[0][None], b[0][None]) for a, b in pairs]

    def one(i: int) -> None:
        x, y = rgbs[i]
        tx = torch.from_numpy(x.astype(np.float32))[None]
        ty = torch.from_numpy(y.astype(np.float32))[None]
        with torch.no_grad():
            ms_ssim(tx, ty, data_range=255.0)

    return per_frame_ms(one, len(pairs))


def ffmpeg_filter_ms(src: Path, dec: Path, frames: int, graph: str) -> float:
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", "30"]
    t0 = time.perf_counter()
    ffmpeg("-threads", "1", "-filter_threads", "1", *raw, "-i", str(dec), *raw, "-i", str(src),
           "-lavfi", f"[0:v][1:v]{graph}", "-f", "null", "-")
    return 1000 * (time.perf_counter() - t0) / frames


def rss_child(src: str, dec: str, count: int, threads: int) -> None:
    """Measure COUNT frames end to end in this process and print its peak RSS in MiB. From VmHWM, the peak of
    this program's own memory: ru_maxrss would also count the parent's memory at fork (Linux keeps it across
    exec), 1.5 GB of a parent that has run pytorch_msssim."""
    end_to_end_ms(Path(src), Path(dec), count, CpuBackend(threads))
    status = Path("/proc/self/status").read_text()
    print(int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=30, help="frames timed (default 30)")
    p.add_argument("--rss", default="30,600", help="frame counts whose peak RSS is measured ('' for none)")
    p.add_argument("--device", default="cpu", help="also time the GPU path on this device (cuda, cuda:N)")
    p.add_argument("--work", type=Path, default=None, help="folder for the generated frames (kept)")
    p.add_argument("--rss-child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], args.rss_child[1], int(args.rss_child[2]), int(args.rss_child[3]))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="metrics_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    n = args.frames
    src, dec = make_frames(work, n)
    pairs = read_pairs(src, dec, n)
    print(f"{n} frames of {W}x{H} 8-bit 4:2:0 (x264 QP 32 copy); median ms per frame, this run\n")
    # compile (or load the cached) kernels before any timing
    end_to_end_ms(src, dec, 1, CpuBackend(1))

    rows: dict[str, float] = {}
    for threads in (1, 2):
        for name, ms in suite_parts(pairs, threads).items():
            rows[f"suite, {threads} thread{'s' * (threads > 1)}: {name}"] = ms
        rows[f"suite, {threads} thread{'s' * (threads > 1)}: ALL default metrics, end to end"] = \
            end_to_end_ms(src, dec, n, CpuBackend(threads))
    import torch

    torch.set_num_threads(1)
    k = min(n, 5)  # the old path takes seconds a frame
    rows["previous path, 1 thread: ALL default metrics"] = per_frame_ms(lambda i: previous_path(*pairs[i]), k)
    for threads in (1, 2):
        rows[f"pytorch_msssim, {threads} torch thread{'s' * (threads > 1)}: MS-SSIM Y"] = \
            pytorch_msssim_ms(pairs[:k], threads, rgb=False)
        rows[f"pytorch_msssim, {threads} torch thread{'s' * (threads > 1)}: MS-SSIM RGB"] = \
            pytorch_msssim_ms(pairs[:k], threads, rgb=True)
    rows["ffmpeg (1 thread): null (reading only)"] = ffmpeg_filter_ms(src, dec, n, "blend=all_mode=normal")
    rows["ffmpeg (1 thread): psnr filter"] = ffmpeg_filter_ms(src, dec, n, "psnr")
    rows["ffmpeg (1 thread): ssim filter"] = ffmpeg_filter_ms(src, dec, n, "ssim")
    vmaf = "libvmaf=n_threads=1:model=version=vmaf_v0.6.1"
    rows["ffmpeg (1 thread): libvmaf, VMAF model"] = ffmpeg_filter_ms(src, dec, n, vmaf)
    rows["ffmpeg (1 thread): libvmaf, VMAF model + float_ms_ssim"] = \
        ffmpeg_filter_ms(src, dec, n, vmaf + ":feature=name=float_ms_ssim")
    if args.device != "cpu":
        gpu = make_backend(args.device, 1)
        end_to_end_ms(src, dec, min(n, 8), gpu)  # warm-up: CUDA context, kernels
        rows[f"GPU path ({gpu.describe().get('gpu', args.device)}): ALL default metrics, end to end"] = \
            end_to_end_ms(src, dec, n, gpu)
    width = max(map(len, rows))
    for name, ms in rows.items():
        print(f"  {name:<{width}}  {ms:9.1f} ms")

    vmaf_ms_ssim = rows["ffmpeg (1 thread): libvmaf, VMAF model + float_ms_ssim"] - \
        rows["ffmpeg (1 thread): libvmaf, VMAF model"]
    print(f"  {'(libvmaf float_ms_ssim alone: the difference of the two lines above)':<{width}}  {vmaf_ms_ssim:9.1f} ms")
    ours_y = rows["suite, 1 thread: MS-SSIM Y"]
    ours_all1 = rows["suite, 1 thread: ALL default metrics, end to end"]
    ours_all2 = rows["suite, 2 threads: ALL default metrics, end to end"]
    print("\nratios (targets in brackets)")
    print(f"  suite MS-SSIM Y / ffmpeg ssim filter:                 {ours_y / rows['ffmpeg (1 thread): ssim filter']:6.1f}x"
          "  [at most 12]")
    print(f"  pytorch_msssim Y (1 thread) / suite MS-SSIM Y:        "
          f"{rows['pytorch_msssim, 1 torch thread: MS-SSIM Y'] / ours_y:6.1f}x  [at least 10]")
    print(f"  previous path / suite, all default metrics, 1 thread: "
          f"{rows['previous path, 1 thread: ALL default metrics'] / ours_all1:6.1f}x  [at least 12]")
    print(f"  suite 1 thread / 2 threads, all default metrics:      {ours_all1 / ours_all2:6.2f}x  [above 1]")

    counts = [int(c) for c in args.rss.split(",") if c.strip()]
    if counts:
        print("\npeak resident memory, measuring end to end on 2 threads (a fresh process each)")
    for count in counts:
        s, d = make_frames(work, count)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(s), str(d), str(count), "2"],
                             capture_output=True, text=True, check=True)
        print(f"  {count:4d} frames: {float(out.stdout.split()[-1]):7.0f} MiB  ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
