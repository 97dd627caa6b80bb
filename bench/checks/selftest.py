"""``evaluate.py selftest``: the reference tier, run on this installation (its ffmpeg, libvmaf, torch, numba).

Every check compares a number the suite computes with an independent reference, called the way that
reference's own documentation calls it, and prints the largest difference and the tolerance:

* metrics, through the suite's own measuring path (measured sequence, measures, pooling) on generated clips
  (:mod:`bench.checks.selftest_kit`) where a swapped or mis-scaled input moves the result far beyond the tolerance,
  a margin each check asserts: PSNR per plane at 8 and 10 bit against ffmpeg's ``psnr`` filter, and with
  VTM's peak 1020 against the formula in numpy; MS-SSIM against ``pytorch_msssim.ms_ssim`` with ``data_range``
  2^b - 1; VMAF against ffmpeg's ``libvmaf`` run as ``[distorted][reference]`` (Netflix's
  resource/doc/ffmpeg.md); XPSNR against ffmpeg's ``xpsnr`` run with the source first (Fraunhofer's README);
* the BD engine against the published JCTVC-E137 values and the ``bjontegaard`` package's values: shipped
  here as numbers (that package is a test-only dependency) and, where it is installed, also run live;
* importers: a producer's file exactly as it ships (the source checkout's ``tests/data``), imported by the
  suite and compared with the same file read here independently (skipped without a source checkout).

The checks are a list (:func:`checks`): one more is one more :class:`~bench.checks.selftest_kit.Check`. The command
prints one table and exits 1 if any check failed.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.checks.selftest_kit import (
    Check,
    Clips,
    H,
    Mismatch,
    N,
    Skip,
    W,
    largest,
    planes_of,
    psnr_printed,
    run_checks,
    table,
    vmaf_printed,
    xpsnr_printed,
)
from bench.errors import BenchError
from bench.metrics.registry import MetricSpec, request

# JCTVC-E137's BD-rate vectors (rate kbps, PSNR dB; anchor, then test) and their BD-rate in percent, as the
# Netflix VMAF unit tests carry them.
E137 = [
    ([108048.8736, 61279.976, 33905.6656, 18883.6928], [43.6471, 40.3953, 37.247, 34.2911],
     [108061.2784, 61299.9936, 33928.7472, 18910.912], [43.6768, 40.4232, 37.2761, 34.3147], -0.4652154208),
    ([40433.8848, 7622.7456, 2394.488, 1017.6184], [37.5761, 35.3756, 33.8977, 32.0603],
     [40370.12, 7587.0024, 2390.0944, 1017.0984], [37.5982, 35.4025, 33.9194, 32.0822], -1.8779823451),
]
# The three examples of the bjontegaard package's README (FAU-LMS), and what bjontegaard 1.3.0 gives for them
# (bd_rate and bd_psnr with min_overlap=0), by interpolation method.
FAU = [
    ([9487.76, 4593.60, 2486.44, 1358.24], [40.037, 38.615, 36.845, 34.851],
     [9787.80, 4469.00, 2451.52, 1356.24], [40.121, 38.651, 36.970, 34.987]),
    ([82472.76, 26875.24, 9487.76, 4593.6], [43.825, 41.404, 40.037, 38.615],
     [99896.96, 33952.04, 9787.8, 4469.0], [44.731, 41.875, 40.121, 38.651]),
    ([82472.76, 26875.24, 9487.76, 4593.6, 3600, 2900], [43.825, 41.404, 40.037, 38.615, 36.5, 35.1],
     [99896.96, 33952.04, 9787.8, 4469.0, 4040, 3300], [44.731, 41.875, 40.121, 38.651, 37, 36.5]),
]
BJONTEGAARD_1_3_0 = {
    ("rate", "pchip"): [-4.417485350589045, -4.47218200276197, -2.9528024116427964],
    ("rate", "akima"): [-4.425245156997493, -4.0857609404152395, -2.52692018696532],
    ("rate", "cubic"): [-4.420462706125383, -4.699437548068142, -0.6392886208794191],
    ("quality", "pchip"): [0.11969278542479489, 0.08887484704747745, 0.08953590194998828],
    ("quality", "akima"): [0.11940927028529469, 0.08990284924945707, 0.050889305024889205],
    ("quality", "cubic"): [0.12040941911451103, 0.09540440289143115, 0.10358085154995482],
}


def selftest(only: str | None = None, say: Callable[[str], None] = print) -> int:
    """Build the inputs, run every check (or those whose name contains ONLY), print the table; 1 on a failure.
    An ONLY that no check's name contains is a BenchError naming the checks."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lvcbench-selftest-") as work:
        every = checks(Clips(Path(work)))
        items = [c for c in every if only is None or only.lower() in c.name.lower()]
        if not items:
            raise BenchError(f"selftest --only {only!r}: no check's name contains it; the checks are: "
                             f"{'; '.join(c.name for c in every)}")
        say(f"lvc-bench selftest on this installation: {installation()}")
        results = run_checks(items)
    say(table(results))
    failed = sum(r.status == "FAIL" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    say(f"{len(results) - failed - skipped} passed, {failed} failed, {skipped} skipped in "
        f"{time.perf_counter() - start:.1f} s")
    return 1 if failed else 0


def installation() -> str:
    """The versions the checks run on: ffmpeg, libvmaf, torch, pytorch_msssim, numba, numpy."""
    from importlib.metadata import PackageNotFoundError, version

    from bench.metrics.vmaf import libvmaf_version
    from bench.tools import ffmpeg_identity

    def package(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed"

    try:
        vmaf = f"libvmaf {libvmaf_version()}"
    except Exception as e:  # said here; the VMAF check then fails with the cause
        vmaf = f"libvmaf unusable ({e})"
    ffmpeg = ffmpeg_identity()["ffmpeg_version"].removeprefix("ffmpeg version ").split(" ")[0]
    return ", ".join([f"ffmpeg {ffmpeg}", vmaf, *map(package, ("torch", "pytorch-msssim", "numba", "numpy"))])


def checks(clips: Clips) -> list[Check]:
    """Every check, in the order the table shows them."""
    return [*metric_checks(clips), *bd_checks(), *importer_checks()]


# --- metrics --------------------------------------------------------------------------------------------

def metric_checks(clips: Clips) -> list[Check]:
    out = [Check(f"PSNR-{p.upper()} {d}-bit", f"ffmpeg psnr filter, peak {(1 << d) - 1}: frames, average",
                 _psnr_plane(clips, d, p)) for d in (8, 10) for p in "yuv"]
    out.append(Check("PSNR-YUV (VTM) 10-bit, peak 1020", "numpy: 10 log10(1020^2 / MSE), MSE 4:1:1",
                     lambda: _psnr_vtm(clips)))
    out += [Check(f"MS-SSIM-Y {d}-bit", f"pytorch_msssim.ms_ssim, data_range {(1 << d) - 1}", _ms_ssim(clips, d))
            for d in (8, 10)]
    out.append(Check("VMAF (vmaf_v0.6.1) 8-bit", "ffmpeg libvmaf: [distorted][reference]",
                     lambda: _vmaf(clips)))
    out += [Check(f"XPSNR-Y/U/V {d}-bit", "ffmpeg xpsnr: source first (Fraunhofer)", _xpsnr(clips, d))
            for d in (8, 10)]
    return out


def _psnr_plane(clips: Clips, depth: int, plane: str) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        # The psnr filter is symmetric in its inputs; given as its documentation's example does, main (distorted)
        # first. One run per bit depth serves the three planes (Clips keeps it).
        source, decoded = clips.pair("sharp", depth)
        frames, average = psnr_printed(clips.by_hand(decoded, source, depth, "psnr,metadata=print:file=psnr.log"),
                                       "psnr.log")
        if min(abs(f["u"] - f["v"]) for f in frames) < 5.0:
            raise Mismatch("U and V errors are too close: a plane mix-up would pass")
        per_frame = clips.view("sharp", depth, MetricSpec("mean_psnr", "bitdepth", (request("sse"),)))
        pooled = clips.view("sharp", depth, MetricSpec("psnr_of_mean_mse", "bitdepth", (request("sse"),)))
        pairs = list(zip(per_frame["per_frame"][f"psnr_{plane}"], [f[plane] for f in frames], strict=True))
        pairs.append((pooled["metrics"][f"psnr_{plane}"], average[plane]))
        return largest(pairs), 5e-6  # ffmpeg keeps float32 per frame: 2e-6 dB at 30 dB
    return run


def _psnr_vtm(clips: Clips) -> tuple[float, float]:
    source, decoded = clips.pair("sharp", 10)
    mse = [((a - b) ** 2).mean(axis=1) for a, b in zip(planes_of(source, 10), planes_of(decoded, 10), strict=True)]
    want = 10 * np.log10(1020.0**2 / ((4 * mse[0] + mse[1] + mse[2]) / 6))
    view = clips.view("sharp", 10, MetricSpec("mean_psnr", "vtm", (request("sse"),)))
    return largest(list(zip(view["per_frame"]["psnr_yuv_vtm"], want, strict=True))), 1e-9  # 1023: 0.026 dB off


def _ms_ssim(clips: Clips, depth: int) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        import torch
        from pytorch_msssim import ms_ssim

        source, decoded = clips.pair("sharp", depth)
        x, y = (torch.from_numpy(planes_of(p, depth)[0].astype(np.float32).reshape(N, 1, H, W))
                for p in (source, decoded))
        wrong = 1023 if depth == 8 else 255

        def reference(data_range: int) -> list[float]:
            return [float(ms_ssim(x[i : i + 1], y[i : i + 1], data_range=data_range)) for i in range(N)]

        want = reference((1 << depth) - 1)
        if largest(list(zip(want, reference(wrong), strict=True))) < 1e-3:
            raise Mismatch("the wrong data range changes MS-SSIM too little on these clips")
        view = clips.view("sharp", depth, MetricSpec(requests=(request("ms_ssim", space="y"),)))
        return largest(list(zip(view["per_frame"]["ms_ssim_y"], want, strict=True))), 5e-6
    return run


def _vmaf(clips: Clips) -> tuple[float, float]:
    source, decoded = clips.pair("sharp", 8)
    printed = {}
    for order, (first, second) in {"documented": (decoded, source), "swapped": (source, decoded)}.items():
        printed[order] = vmaf_printed(clips.by_hand(first, second, 8, "libvmaf=model=version=vmaf_v0.6.1:log_fmt=json:"
                                                    f"log_path={order}.json"), f"{order}.json")
    if printed["swapped"][1] - printed["documented"][1] < 15.0:
        raise Mismatch("swapping distorted and reference changes VMAF too little on these clips")
    frames, score = printed["documented"]
    view = clips.view("sharp", 8, MetricSpec(requests=(request("vmaf", model="vmaf_v0.6.1"),)))
    pairs = list(zip(view["per_frame"]["vmaf"], frames, strict=True))
    return largest([*pairs, (view["metrics"]["vmaf"], score)]), 1e-6  # six decimals printed


def _xpsnr(clips: Clips, depth: int) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        source, decoded = clips.pair("flat", depth)
        rows, printed = xpsnr_printed(clips.by_hand(source, decoded, depth, "xpsnr=stats_file=xpsnr.log"),
                                      "xpsnr.log")  # the original first, as Fraunhofer's README runs it
        _, swapped = xpsnr_printed(clips.by_hand(decoded, source, depth, "xpsnr=stats_file=xpsnr.log"), "xpsnr.log")
        if swapped["y"] - printed["y"] < 8.0:
            raise Mismatch("swapping source and decoded changes XPSNR too little on these clips")
        view = clips.view("flat", depth, MetricSpec(requests=(request("sse"), request("xpsnr"))))
        pairs = [(view["per_frame"][f"xpsnr_{p}"][n], row[p]) for n, row in enumerate(rows) for p in "yuv"]
        pairs += [(view["metrics"][f"xpsnr_{p}"], printed[p]) for p in "yuv"]
        return largest(pairs), 1e-4  # the filter prints four decimals
    return run


# --- the BD engine --------------------------------------------------------------------------------------

def bd_checks() -> list[Check]:
    try:
        import bjontegaard  # noqa: F401 (a test-only dependency: run live where installed)

        live = True
    except ImportError:
        live = False
    source = "bjontegaard 1.3.0: " + ("shipped values and run live" if live else "shipped values (not installed)")
    return [Check("BD-rate, JCTVC-E137 vectors (pchip)", "published JCTVC-E137 values", _e137),
            Check("BD-rate, FAU-LMS examples x 3 methods", source, lambda: _fau("rate", live)),
            Check("BD-PSNR, FAU-LMS examples x 3 methods", source, lambda: _fau("quality", live))]


def _e137() -> tuple[float, float]:
    from bench.bd.engine import bd_rate

    return largest([(bd_rate(*(np.array(v) for v in case[:4])).value, case[4]) for case in E137]), 1e-8


def _fau(kind: str, live: bool) -> tuple[float, float]:
    from bench.bd.engine import bd

    pairs = []
    for (k, method), values in BJONTEGAARD_1_3_0.items():
        if k != kind:
            continue
        for case, want in zip(FAU, values, strict=True):
            anchor_rate, anchor_quality, test_rate, test_quality = (np.array(v) for v in case)
            ours = bd(anchor_rate, anchor_quality, test_rate, test_quality, kind=kind, method=method).value
            pairs.append((ours, want))
            if live:
                import bjontegaard

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
                    pairs.append((ours, run(*(np.array(v) for v in case), method=method, min_overlap=0)))
    return largest(pairs), 1e-9


# --- importers ------------------------------------------------------------------------------------------

def importer_checks() -> list[Check]:
    return [Check("import: CompressAI video JSON", "the file's arrays read as JSON, by QP",
                  lambda: _compressai(_fixture("compressai-results/video/UVG-1080p/x264-medium-tune-zerolatency.json"))),
            Check("import: VTM encoder log", "the log's summary line, by regex",
                  lambda: _vtm_log(_fixture("vtm/vtm_ldb_qp32_encoder.log")))]


def _fixture(relative: str) -> Path:
    """A producer's file as shipped, from tests/data of the source tree this package runs from. The README
    installs from a clone (``pip install -e .``), which has it; a package installed without the source tree
    does not, and the check is skipped saying so (a skip is not a failure: the importer is not at fault)."""
    from bench.conditions.condition import REPO_ROOT

    path = REPO_ROOT / "tests" / "data" / relative
    if not path.is_file():
        raise Skip(f"not run: it reads a producer's file from lvc-bench's source tree (tests/data/{relative}), "
                   "which this installation does not have; install from a git clone with `pip install -e .`")
    return path


def _compressai(path: Path) -> tuple[float, float]:
    from bench.bd.importers import import_file

    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    names = {"psnr-rgb": "psnr_rgb", "ms-ssim-rgb": "ms_ssim_rgb", "psnr-y": "psnr_y", "psnr-u": "psnr_u",
             "psnr-v": "psnr_v"}
    records = {r["rate_point"]: r for r in import_file(path)}
    if sorted(records) != sorted(results["qp"]):
        raise RuntimeError(f"imported rate points {sorted(records)}, the file has QPs {results['qp']}")
    pairs = []
    for i, qp in enumerate(results["qp"]):
        pairs.append((records[qp]["rate"]["kbps"], results["bitrate"][i]))
        pairs += [(records[qp]["metrics"][ours], results[theirs][i]) for theirs, ours in names.items()]
    return largest(pairs), 0.0  # copied, never recomputed


def _vtm_log(path: Path) -> tuple[float, float]:
    from bench.bd.importers import import_file

    line = re.search(r"Total Frames \|\s+Bitrate\s+Y-PSNR\s+U-PSNR\s+V-PSNR\s+YUV-PSNR\s*\n\s*\d+\s+a\s+"
                     r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", path.read_text(encoding="utf-8"))
    if line is None:
        raise RuntimeError(f"{path.name}: no summary line")
    kbps, y, u, v, yuv = (float(x) for x in line.groups())
    [record] = import_file(path)
    m = record["metrics"]
    return largest([(record["rate"]["kbps"], kbps), (m["psnr_y"], y), (m["psnr_u"], u), (m["psnr_v"], v),
                    (m["psnr_yuv_vtm"], yuv)]), 0.0
