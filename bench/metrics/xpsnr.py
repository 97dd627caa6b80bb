"""XPSNR through the bundled ffmpeg's ``xpsnr`` filter (the ``xpsnr`` measure; metrics ``xpsnr_y``, ``xpsnr_u``,
``xpsnr_v``).

XPSNR (Helmrich et al., the perceptually weighted PSNR of ITU-T P.1401 Annex and JVET practice) weights each
block's squared error by its spatial and temporal activity, so it needs the previous frames: a sequence-scope
measure. Per-frame values are read from the filter's stats file (four decimals). Pooled as the filter's own
average, a square-mean-root one: the PSNR of the squared frame-mean of the root weighted SSE, which from the
per-frame values is ``-20 log10(mean(10^(-x/20)))`` (the peak and size cancel); for nearly lossless
sequences (mean root weighted SSE below 1) the filter, and so the suite, takes the mean of the frame values.
It equals ffmpeg's printed average to its precision. A frame without any error (the filter prints ``inf``)
is stored as None, shown as ``PSNR_CAP_DB`` like an identical frame's PSNR, and counts as a root of 0; a
sequence without any error pools to the cap.

The source is the filter's first input and the decoded frames its second: the filter takes input 0 as the
original, whose activity gives every block's weight (see :meth:`Xpsnr.sequence`). Version 1 of the measure
gave the decoded frames first, so its weights came from the codec's smoothed output (0.6 to 10.7 dB lower
XPSNR-Y on x265 streams); version 2 is source-first, and a version-1 value is never used again (the version
is part of the measurement key, and pooling uses only measurements of the registered version).
A condition asks with ``xpsnr: true``. RGB sources are measured as YUV 4:4:4 by the condition's colour path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError, ConditionError
from bench.metrics.ffmpeg_filter import run_filter
from bench.metrics.psnr import PSNR_CAP_DB
from bench.metrics.registry import (
    Measure,
    MeasureOutput,
    MeasureRequest,
    Metric,
    PoolingContext,
    register_measure,
    register_metric,
    request,
)
from bench.tools import ffmpeg_identity

if TYPE_CHECKING:  # measuring needs the frames; listing the metrics does not (no numba, no kernels)
    from bench.metrics.frames import MeasuredSequence

_LINE = re.compile(r"n:\s*(\d+)\s+XPSNR y:\s*([\d.inf]+)\s+XPSNR u:\s*([\d.inf]+)\s+XPSNR v:\s*([\d.inf]+)")


class Xpsnr(Measure):
    name = "xpsnr"
    version = 2  # 2: the source is input 0 (the filter's original); 1: the decoded frames were, by mistake
    scope = "sequence"
    description = "ffmpeg's xpsnr filter, per-frame XPSNR of Y, U and V from its stats file"
    condition_key: ClassVar[str | None] = "xpsnr"
    condition_default: ClassVar[Any] = False

    def requests_from_condition(self, value: Any, where: str) -> list[MeasureRequest]:
        if not isinstance(value, bool):
            raise ConditionError(f"{where}: expected true or false, got {value!r}")
        return [request(self.name)] if value else []

    def implementation(self, params: Mapping[str, Any]) -> dict[str, str]:
        return {"ffmpeg": ffmpeg_identity()["ffmpeg_version"]}

    def sequence(self, seq: MeasuredSequence, params: Mapping[str, Any]) -> MeasureOutput:
        # Source first. ffmpeg's vf_xpsnr.c reads the original from input 0 (``porg = master->data``, the
        # reconstruction ``prec = ref->data``) and computes each block's weight from the original's spatial
        # activity and its temporal activity against the original's previous frames (``org_m1``, ``org_m2``);
        # Fraunhofer's reference plug-in (github.com/fraunhoferhhi/xpsnr, README "Usage") runs
        # ``ffmpeg -i inRef.yuv -i inTest.yuv -lavfi xpsnr=...``: the reference first, the test second.
        text, argv = run_filter(seq, "xpsnr=stats_file=xpsnr.log", "xpsnr.log", "XPSNR", first="source")
        rows = sorted((int(n), _value(y), _value(u), _value(v)) for n, y, u, v in _LINE.findall(text))
        if [r[0] for r in rows] != list(range(1, seq.count + 1)):
            raise BenchError(f"XPSNR: the filter reported {len(rows)} frames, expected {seq.count}")
        fmt = seq.yuv_format()
        samples = [h * w for h, w in fmt.plane_shapes(seq.width, seq.height)]
        return MeasureOutput({f"xpsnr_{p}": [r[i + 1] for r in rows] for i, p in enumerate("yuv")},
                             {"samples": samples, "peak": (1 << fmt.bit_depth) - 1}, commands=[argv])


def _value(text: str) -> float | None:
    # The filter prints "inf" for a frame without any weighted error (lossless): kept as None (JSON has no
    # infinity, and a stored infinity means a damaged file), shown as the PSNR cap, pooled as a root of 0.
    return None if text == "inf" else float(text)


def _pooled(values: Sequence[float | None], samples: int, peak: int) -> float:
    # root of each frame's weighted SSE, up to the factor sqrt(samples) * peak that the per-frame values divide out
    roots = [0.0 if x is None else 10 ** (-x / 20) for x in values]
    if not any(roots):  # no frame has any error: capped as PSNR is (the filter prints inf)
        return PSNR_CAP_DB
    if sum(roots) * math.sqrt(samples) * peak < len(values):  # the filter's own switch to a plain mean
        return sum(PSNR_CAP_DB if x is None else x for x in values) / len(values)
    return -20 * math.log10(sum(roots) / len(roots))


def _plane(plane: str) -> Metric:
    def frames(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[Any]:
        return [PSNR_CAP_DB if v is None else v for v in values[f"xpsnr_{plane}"]]

    def pooled(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float:
        return _pooled(values[f"xpsnr_{plane}"], constants["samples"]["yuv".index(plane)], constants["peak"])

    return Metric(f"xpsnr_{plane}", f"XPSNR-{plane.upper()}", "dB", f"XPSNR of the {plane.upper()} plane (ffmpeg xpsnr "
                  "filter)", "square-mean-root of the weighted SSE over frames, as the filter's own average", request("xpsnr"),
                  frames, pooled, headline=7 if plane == "y" else None)


register_measure(Xpsnr())
for _p in "yuv":
    register_metric(_plane(_p))
