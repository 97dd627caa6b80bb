"""What ``evaluate.py selftest`` (:mod:`bench.selftest`) is made of: the :class:`Check` it runs and the
table it prints, and the generated clips its metric checks measure.

A check compares one number the suite computes with an independent reference and returns (largest
difference, tolerance); a check that raises fails with the message, one that raises :class:`Skip` cannot run
here (a file it reads is not installed) and is shown as skipped. The clips are built so that a swapped or
mis-scaled input moves the result far beyond the tolerance: a flat, slowly panning gradient against the same
frames with noise (XPSNR weights every block by the original's activity), and a photograph against a blurred
copy with noise on V only (VMAF is asymmetric; U and V carry errors 10 dB apart).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.metrics.registry import MetricSpec

W, H, N = 416, 240, 6  # frames of every generated clip; XPSNR's block size is 16 at this size
FORMATS = {8: "yuv420p", 10: "yuv420p10le"}


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
    notes = []
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

def _write(path: Path, frames: list[tuple[np.ndarray, ...]], depth: int) -> Path:
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

    from bench.demo import DEMO_COLOUR
    from bench.video.colour import convert
    from bench.video.formats import make_format

    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
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


class Clips:
    """The generated clips (made on first use) and the suite's measurements of them (made once per request)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pairs: dict[tuple[str, int], tuple[Path, Path]] = {}
        self._views: dict[tuple[str, int, MetricSpec], dict[str, Any]] = {}

    def pair(self, kind: str, depth: int) -> tuple[Path, Path]:
        """(source, decoded) of KIND ``flat`` (flat vs noisy) or ``sharp`` (sharp vs blurred) at DEPTH bits."""
        if (kind, depth) not in self._pairs:
            make = flat_and_noisy if kind == "flat" else sharp_and_blurred
            self._pairs[(kind, depth)] = make(self.root, depth)
        return self._pairs[(kind, depth)]

    def view(self, kind: str, depth: int, spec: MetricSpec) -> dict[str, Any]:
        """The suite's measuring path on the pair (MetricSpec SPEC): the record view with pooled metrics."""
        from bench.metrics.frames import MeasuredSequence
        from bench.metrics.measuring import take_measurements
        from bench.metrics.pooling import pooled_view
        from bench.video.colour import ColourSpec
        from bench.video.formats import pixel_format
        from bench.video.io import RawVideoReader

        if (kind, depth, spec) not in self._views:
            source, decoded = self.pair(kind, depth)
            fmt = pixel_format(FORMATS[depth])
            work = self.root / f"work-{len(self._views)}"
            seq = MeasuredSequence(fmt, W, H, 30.0, N, ColourSpec(), work, lambda: zip(
                RawVideoReader(source, fmt, W, H).frames(0, N), RawVideoReader(decoded, fmt, W, H).frames(0, N),
                strict=True))
            docs, errors = take_measurements(seq, list(spec.requests), "selftest")
            if errors:
                raise RuntimeError("; ".join(errors))
            record = {"status": "ok", "key": "selftest", "sequence": {"format": FORMATS[depth]}}
            self._views[(kind, depth, spec)] = pooled_view(record, docs, spec)
        return self._views[(kind, depth, spec)]

    def by_hand(self, first: Path, second: Path, depth: int, filter_text: str) -> str:
        """ffmpeg run by hand on two of the clips (FIRST is input 0); its log."""
        from bench.adapters.ffmpeg import ffmpeg_exe

        raw = ["-f", "rawvideo", "-pix_fmt", FORMATS[depth], "-s", f"{W}x{H}", "-r", "30"]
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *raw, "-i", str(first), *raw, "-i",
                               str(second), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"], cwd=self.root,
                              capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg {filter_text.split('=')[0]} failed: "
                               f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}")
        return proc.stderr


def largest(pairs: Sequence[tuple[float, float]]) -> float:
    """The largest absolute difference of (ours, reference) pairs; infinite if any is not finite."""
    diffs = [abs(float(a) - float(b)) for a, b in pairs]
    return max((d if math.isfinite(d) else math.inf for d in diffs), default=math.inf)
