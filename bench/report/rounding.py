"""How far a codec's own PSNR may lie from ours because of output rounding alone: an interval that always holds.

Reference software measures its reconstruction before it is rounded to the output bit depth (VTM and HM at the
internal bit depth, peak ``255 << (b - 8)``), and the DCVC and DHVC scripts measure float reconstructions; we
measure the rounded frames the codec writes. Per frame and plane, let ``e`` be our error (decoded minus source,
in output code values) and ``r`` the rounding (decoded minus the codec's unrounded reconstruction), so the
codec's error is ``e - r``. Each sample of ``r`` is at most half a code value, so its root mean square is at most
``1/2``, and by the triangle inequality the codec's RMSE lies in ``[max(0, R - 1/2), R + 1/2]`` where ``R`` is ours.
Its PSNR then differs from ours by a value in ``[20 log10(R / (R + 1/2)), 20 log10(R / (R - 1/2))]`` (no upper
end once ``R <= 1/2``); the peak cancels. This needs no assumption about how the rounding correlates with the
coding error: the older estimate, ``10 log10(1 + 1/(12 MSE))``, assumed them independent and flagged flat chroma
at low rate (where they are not) as a mismatch.

The codecs we cross-check report the mean over frames of per-frame PSNR, so the interval of their number is the
mean over frames of ``our frame PSNR + the frame's interval``, compared with our pooled value (whatever pooling
the condition chose). PSNR-YUV (6:1:1) combines the planes' intervals with its weights; PSNR-YUV (VTM 4:1:1 MSE)
takes ``R`` over all samples of the frame. A codec number outside its interval by more than ``SLACK`` (the four
decimals logs print) is a real difference (other frames, another colour path). The interval is wide where the error is small, so
it cannot see small systematic offsets (VTM's peak 1020 against our 1023 at 10 bit is 0.026 dB): it only never
cries wolf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.store.record import Record

HALF_CODE = 0.5  # the largest rounding of one sample to the output bit depth, in code values
SLACK = 1e-3  # dB: codec logs print four decimals
PLANES = {"psnr_y": ("y",), "psnr_u": ("u",), "psnr_v": ("v",), "psnr_rgb": ("rgb",), "psnr_yuv_vtm": ("y", "u", "v")}
_SAMPLES = {"y": 0, "u": 1, "v": 2, "rgb": 3}


def _frame_interval(rmse: float) -> tuple[float, float]:
    """The interval of (codec's PSNR - ours) for one frame whose RMSE, by our measurement, is RMSE."""
    if rmse <= 0:
        return 0.0, math.inf  # no error here: the codec's own number may only be higher (its cap, 999.99)
    high = math.inf if rmse <= HALF_CODE else 20 * math.log10(rmse / (rmse - HALF_CODE))
    return 20 * math.log10(rmse / (rmse + HALF_CODE)), high


def _rmse(per_frame: Mapping[str, Any], planes: Sequence[str], frame: int) -> float:
    samples = per_frame["samples"]
    sse = sum(float(per_frame[f"sse_{p}"][frame]) for p in planes)
    return math.sqrt(sse / sum(samples[_SAMPLES[p]] for p in planes))


def frame_intervals(per_frame: Mapping[str, Any], metric: str) -> list[tuple[float, float]] | None:
    """Per frame, the interval of (codec's PSNR - ours) on METRIC that output rounding allows; None for a metric
    this does not cover (or a record without the per-frame squared errors it needs)."""
    if metric == "psnr_yuv_611":
        planes = [frame_intervals(per_frame, f"psnr_{p}") for p in "yuv"]
        if any(p is None for p in planes):
            return None
        return [((6 * y[0] + u[0] + v[0]) / 8, (6 * y[1] + u[1] + v[1]) / 8)
                for y, u, v in zip(*planes, strict=True)]  # type: ignore[misc]
    planes_of = PLANES.get(metric)
    if planes_of is None or "samples" not in per_frame or any(f"sse_{p}" not in per_frame for p in planes_of):
        return None
    return [_frame_interval(_rmse(per_frame, planes_of, i)) for i in range(len(per_frame[f"sse_{planes_of[0]}"]))]


def allowed_difference(record: Record, metric: str) -> tuple[float, float] | None:
    """The interval of (codec-reported - ours) on METRIC that output rounding explains, for the codec's mean of
    per-frame PSNR against our pooled value; None where it cannot be said."""
    per_frame = record.get("per_frame") or {}
    intervals = frame_intervals(per_frame, metric)
    ours_frames, ours = per_frame.get(metric), (record.get("metrics") or {}).get(metric)
    if intervals is None or not ours_frames or ours is None or len(ours_frames) != len(intervals):
        return None
    n = len(intervals)
    low = sum(f + lo for f, (lo, _) in zip(ours_frames, intervals, strict=True)) / n - ours
    high = sum(f + hi for f, (_, hi) in zip(ours_frames, intervals, strict=True)) / n - ours
    return low, high


def beyond(difference: float, allowed: tuple[float, float]) -> bool:
    """Whether a codec-reported minus ours DIFFERENCE lies outside ALLOWED by more than the printed precision."""
    return difference < allowed[0] - SLACK or difference > allowed[1] + SLACK
