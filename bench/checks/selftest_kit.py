"""What ``evaluate.py selftest`` (:mod:`bench.checks.selftest`) is made of: the :class:`Check` it runs and the
table it prints, and the generated clips its metric checks measure.

A check compares one number the suite computes with an independent reference and returns (largest
difference, tolerance); a check that raises fails with the message, one that raises :class:`Skip` cannot run
here (a file it reads is not installed) and is shown as skipped. The clips are built so that a swapped or
mis-scaled input moves the result far beyond the tolerance: a flat, slowly panning gradient against the same
frames with noise (XPSNR weights every block by the original's activity), and a photograph against a blurred
copy with noise on V only (VMAF is asymmetric; U and V carry errors 10 dB apart).

The same clips, the suite's measurements of them (:meth:`Clips.view`) and ffmpeg run by hand on them
(:meth:`Clips.by_hand`, with the parsers of what each filter prints) serve the reference tests
(tests/metrics/test_reference_metrics.py): one implementation, so the tests and the command compare the same things.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.metrics.registry import MetricSpec

W, H, N = 416, 240, 6  # frames of every generated clip; XPSNR's block size is 16 at this size
FORMAT_OF_DEPTH = {8: "yuv420p", 10: "yuv420p10le"}


class Skip(Exception):
    """A check that cannot run on this installation (a file it reads is not there): shown, not failed."""


class Mismatch(Exception):
    """The generated inputs do not discriminate (a swapped or mis-scaled input would pass): a failure."""


@dataclass(frozen=True)
class Check:
    """One comparison: NAME (what of the suite), REFERENCE (what it is compared with, and how called), and
    RUN, which returns (largest difference, tolerance)."""

    name: str
    reference: str
    run: Callable[[], tuple[float, float]]


@dataclass(frozen=True)
class Result:
    """What one check gave: its difference and tolerance (None where it did not finish), status and note."""

    check: Check
    difference: float | None
    tolerance: float | None
    status: str  # "pass", "FAIL" or "skip"
    note: str = ""


def run_checks(items: Sequence[Check]) -> list[Result]:
    """Run every check; an exception is a failure with its message (a Skip is a skip), never a crash."""
    out = []
    for c in items:
        try:
            diff, tol = c.run()
        except Skip as e:
            out.append(Result(c, None, None, "skip", str(e)))
            continue
        except Exception as e:  # any error of the user's tools is a failed check, said in the table
            out.append(Result(c, None, None, "FAIL", f"{type(e).__name__}: {e}".splitlines()[0]))
            continue
        ok = math.isfinite(diff) and diff <= tol
        out.append(Result(c, diff, tol, "pass" if ok else "FAIL"))
    return out


def table(results: Sequence[Result]) -> str:
    """One row per check: check, reference, largest difference, tolerance, result (notes below the table)."""
    rows = [("check", "reference", "largest diff.", "tolerance", "result")]
    notes: list[str] = []
    for r in results:
        diff = "--" if r.difference is None else f"{r.difference:.2e}"
        tol = "--" if r.tolerance is None else f"{r.tolerance:.0e}"
        mark = r.status if not r.note else f"{r.status} [{len(notes) + 1}]"
        if r.note:
            notes.append(f"[{len(notes) + 1}] {r.check.name}: {r.note}")
        rows.append((r.check.name, r.check.reference, diff, tol, mark))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) if i < 4 else cell
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)


# --- generated inputs -----------------------------------------------------------------------------------

def _write(path: Path, frames: Sequence[tuple[np.ndarray, ...]], depth: int) -> Path:
    dtype = np.uint8 if depth == 8 else np.dtype("<u2")
    peak = (1 << depth) - 1
    path.write_bytes(b"".join(np.clip(np.rint(p), 0, peak).astype(dtype).tobytes() for f in frames for p in f))
    return path


def flat_and_noisy(root: Path, depth: int) -> tuple[Path, Path]:
    """A smooth gradient panning 2 px a frame (almost no spatial or temporal activity) and the same frames plus
    Gaussian noise (sigma 6 at 8 bit): XPSNR weights blocks by the original's activity, so the order shows."""
    rng = np.random.default_rng(7)
    scale = 1 << (depth - 8)
    yy, xx = np.mgrid[0:H, 0:W]
    flat, noisy = [], []
    for t in range(N):
        y = (60 + 100 * (xx + 2 * t) / W + 40 * yy / H) * scale
        c = np.full((H // 2, W // 2), 128.0 * scale)
        flat.append((y, c, c))
        noisy.append(tuple(p + rng.normal(0, 6 * scale, p.shape) for p in (y, c, c)))
    return _write(root / f"flat{depth}.yuv", flat, depth), _write(root / f"noisy{depth}.yuv", noisy, depth)


def sharp_and_blurred(root: Path, depth: int) -> tuple[Path, Path]:
    """A photograph (matplotlib's sample of Grace Hopper) panning 2 px a frame, and the same frames blurred
    (Gaussian, sigma 1.5) with noise on V only, so U and V carry very different errors; at 10 bit shifted up by
    2 bits (the blurred one with a little noise, so it is no 8-bit picture in disguise)."""
    from matplotlib import cbook
    from PIL import Image
    from scipy import ndimage

    from bench.conditions.demo import DEMO_COLOUR
    from bench.video.colour import convert
    from bench.video.formats import make_format

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        photo = np.asarray(im.convert("RGB"), dtype=np.uint8)
    rng = np.random.default_rng(3)
    rgb, yuv, scale = make_format("rgb", "444", 8), make_format("yuv", "420", 8), 1 << (depth - 8)
    sharp, blurred = [], []
    for t in range(N):
        window = photo[100 + t : 100 + t + H, 40 + 2 * t : 40 + 2 * t + W]
        planes = tuple(p.astype(np.float64) for p in convert(tuple(window[..., c] for c in range(3)), rgb, yuv,
                                                              DEMO_COLOUR))
        soft = [ndimage.gaussian_filter(p, 1.5 if i == 0 else 0.75, mode="nearest") for i, p in enumerate(planes)]
        soft[2] = soft[2] + rng.normal(0, 4, soft[2].shape)
        sharp.append(tuple(p * scale for p in planes))
        blurred.append(tuple(np.rint(p) * scale + (rng.integers(-2, 3, p.shape) if depth == 10 else 0) for p in soft))
    return _write(root / f"sharp{depth}.yuv", sharp, depth), _write(root / f"blurred{depth}.yuv", blurred, depth)


def suite_view(source: Path, decoded: Path, depth: int, spec: MetricSpec, work: Path) -> dict[str, Any]:
    """The suite's own measuring path (measured sequence, measures, pooling) on two raw W x H clips of N frames
    at DEPTH bits: the record view with per-frame and pooled metrics of MetricSpec SPEC; WORK is its folder."""
    from bench.metrics.frames import MeasuredSequence
    from bench.metrics.measuring import take_measurements
    from bench.metrics.pooling import pooled_view
    from bench.video.colour import ColourSpec
    from bench.video.formats import pixel_format
    from bench.video.io import RawVideoReader

    fmt = pixel_format(FORMAT_OF_DEPTH[depth])
    seq = MeasuredSequence(fmt, W, H, 30.0, N, ColourSpec(), work, lambda: zip(
        RawVideoReader(source, fmt, W, H).frames(0, N), RawVideoReader(decoded, fmt, W, H).frames(0, N), strict=True))
    docs, errors = take_measurements(seq, list(spec.requests), "selftest")
    if errors:
        raise RuntimeError("; ".join(errors))
    return pooled_view({"status": "ok", "key": "selftest", "sequence": {"format": FORMAT_OF_DEPTH[depth]}}, docs, spec)


@dataclass(frozen=True)
class Printed:
    """What one ffmpeg run by hand printed: its log (stderr) and the folder it ran in, which holds the files a
    filter writes itself (``stats_file=``, ``log_path=``, ``metadata=print:file=``)."""

    log: str
    folder: Path

    def file(self, name: str) -> str:
        """The text of the file NAME the filter wrote."""
        return (self.folder / name).read_text()


class Clips:
    """The generated clips (made on first use), the suite's measurements of them and the by-hand ffmpeg runs on
    them (each made once per request: several checks read one run)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pairs: dict[tuple[str, int], tuple[Path, Path]] = {}
        self._views: dict[tuple[str, int, MetricSpec], dict[str, Any]] = {}
        self._runs: dict[tuple[Path, Path, int, str], Printed] = {}

    def pair(self, kind: str, depth: int) -> tuple[Path, Path]:
        """(source, decoded) of KIND ``flat`` (flat vs noisy) or ``sharp`` (sharp vs blurred) at DEPTH bits."""
        if (kind, depth) not in self._pairs:
            make = flat_and_noisy if kind == "flat" else sharp_and_blurred
            self._pairs[(kind, depth)] = make(self.root, depth)
        return self._pairs[(kind, depth)]

    def view(self, kind: str, depth: int, spec: MetricSpec) -> dict[str, Any]:
        """:func:`suite_view` of the pair KIND at DEPTH bits with MetricSpec SPEC."""
        if (kind, depth, spec) not in self._views:
            source, decoded = self.pair(kind, depth)
            work = self.root / f"work-{len(self._views)}"
            self._views[(kind, depth, spec)] = suite_view(source, decoded, depth, spec, work)
        return self._views[(kind, depth, spec)]

    def by_hand(self, input0: Path, input1: Path, depth: int, filter_text: str) -> Printed:
        """ffmpeg run by hand, nothing of the suite between: ``ffmpeg -f rawvideo -pix_fmt F -s WxH -r 30 -i
        INPUT0 -f rawvideo ... -i INPUT1 -lavfi "[0:v][1:v]FILTER_TEXT" -f null -``, in a folder of its own (the
        files the filter writes are the run's alone); the same command is run once and its output kept."""
        from bench.tools import ffmpeg_exe

        key = (input0, input1, depth, filter_text)
        if key not in self._runs:
            folder = self.root / f"by-hand-{len(self._runs)}"
            folder.mkdir()
            raw = ["-f", "rawvideo", "-pix_fmt", FORMAT_OF_DEPTH[depth], "-s", f"{W}x{H}", "-r", "30"]
            proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *raw, "-i", str(input0), *raw,
                                   "-i", str(input1), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"],
                                  cwd=folder, capture_output=True, text=True, timeout=300, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"ffmpeg {filter_text.split('=')[0]} failed: "
                                   f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}")
            self._runs[key] = Printed(proc.stderr, folder)
        return self._runs[key]


# --- what the filters print -----------------------------------------------------------------------------

def psnr_printed(run: Printed, metadata: str) -> tuple[list[dict[str, float]], dict[str, float]]:
    """ffmpeg's ``psnr`` filter followed by ``metadata=print:file=METADATA``: per frame, PSNR of Y, U, V from
    the frame metadata (``lavfi.psnr.psnr.y=...``: float32, six decimals), and the printed average line
    (``PSNR y:... u:... v:...``: the PSNR of the mean MSE over frames)."""
    frames: list[dict[str, float]] = []
    for line in run.file(metadata).splitlines():
        if line.startswith("frame:"):
            frames.append({})
        elif line.startswith("lavfi.psnr.psnr."):  # beside lavfi.psnr.mse.* and psnr_avg
            key, value = line[len("lavfi.psnr.psnr."):].split("=")
            frames[-1][key] = float(value)
    average = re.search(r"PSNR y:([\d.]+) u:([\d.]+) v:([\d.]+)", run.log)
    if average is None or len(frames) != N:
        raise RuntimeError(f"ffmpeg's psnr filter printed {'no average' if average is None else 'an average'} and "
                           f"{len(frames)} of {N} frames")
    return frames, {p: float(average.group(i + 1)) for i, p in enumerate("yuv")}


def xpsnr_printed(run: Printed, stats: str) -> tuple[list[dict[str, float]], dict[str, float]]:
    """ffmpeg's ``xpsnr`` filter with ``stats_file=STATS``: per frame, XPSNR of Y, U, V from that file (four
    decimals, ``inf`` for a frame without error), and the printed average line (``XPSNR  y: ...``)."""
    rows = re.findall(r"XPSNR y:\s*(\S+)\s+XPSNR u:\s*(\S+)\s+XPSNR v:\s*(\S+)", run.file(stats))
    average = re.search(r"XPSNR\s+y: ([\d.]+)\s+u: ([\d.]+)\s+v: ([\d.]+)", run.log)
    if average is None or len(rows) != N:
        raise RuntimeError(f"ffmpeg's xpsnr filter printed {'no average' if average is None else 'an average'} "
                           f"and logged {len(rows)} of {N} frames")
    return ([{p: float(row[i]) for i, p in enumerate("yuv")} for row in rows],
            {p: float(average.group(i + 1)) for i, p in enumerate("yuv")})


def vmaf_printed(run: Printed, json_log: str) -> tuple[list[float], float]:
    """ffmpeg's ``libvmaf`` filter with ``log_fmt=json:log_path=JSON_LOG``: the per-frame scores of that log
    (six decimals) and the printed ``VMAF score:`` (their mean)."""
    frames = [f["metrics"]["vmaf"] for f in json.loads(run.file(json_log))["frames"]]
    score = re.search(r"VMAF score: ([\d.]+)", run.log)
    if score is None or len(frames) != N:
        raise RuntimeError(f"libvmaf printed {'no score' if score is None else 'a score'} and logged "
                           f"{len(frames)} of {N} frames")
    return frames, float(score.group(1))


def planes_of(path: Path, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, U, V of every frame of a generated clip, each (N, pixels) in float64, read as bytes by numpy (not by
    the suite's reader)."""
    y, c = W * H, (W // 2) * (H // 2)
    data = np.fromfile(path, np.uint8 if depth == 8 else np.dtype("<u2")).reshape(N, y + 2 * c).astype(np.float64)
    return data[:, :y], data[:, y : y + c], data[:, y + c :]


def largest(pairs: Sequence[tuple[float | None, float]]) -> float:
    """The largest absolute difference of (ours, reference) pairs; infinite if any is not finite, or if ours is
    None (no number: a BD value of curves found not comparable, a value an imported point lacks)."""
    diffs = [math.inf if a is None else abs(float(a) - float(b)) for a, b in pairs]
    return max((d if math.isfinite(d) else math.inf for d in diffs), default=math.inf)
