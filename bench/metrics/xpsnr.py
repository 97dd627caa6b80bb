"""XPSNR through the bundled ffmpeg's ``xpsnr`` filter (the ``xpsnr`` measure; metrics ``xpsnr_y``, ``xpsnr_u``,
``xpsnr_v``).

XPSNR (Helmrich et al., the perceptually weighted PSNR of ITU-T P.1401 Annex and JVET practice) weights each
block's squared error by its spatial and temporal activity, so it needs the previous frames: a sequence-scope
measure. Per-frame values are read from the filter's stats file (four decimals). Pooled as the filter's own
average, a square-mean-root one: the PSNR of the squared frame-mean of the root weighted SSE, which from the
per-frame values is ``-20 log10(mean(10^(-x/20)))`` (the peak and size cancel); for nearly lossless
sequences (mean root weighted SSE below 1) the filter, and so the suite, takes the mean of the frame values.
It equals ffmpeg's printed average to its precision.
A condition asks with ``xpsnr: true``. RGB sources are measured as YUV 4:4:4 by the condition's colour path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bench.adapters.ffmpeg import ffmpeg_identity
from bench.errors import BenchError, ConditionError
from bench.metrics.ffmpeg_filter import run_filter
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

if TYPE_CHECKING:  # measuring needs the frames; listing the metrics does not (no numba, no kernels)
    from bench.metrics.frames import MeasuredSequence

_LINE = re.compile(r"n:\s*(\d+)\s+XPSNR y:\s*([\d.inf]+)\s+XPSNR u:\s*([\d.inf]+)\s+XPSNR v:\s*([\d.inf]+)")


class Xpsnr(Measure):
    name = "xpsnr"
    version = 1
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
        text, argv = run_filter(seq, "xpsnr=stats_file=xpsnr.log", "xpsnr.log", "XPSNR")
        rows = sorted((int(n), float(y), float(u), float(v)) for n, y, u, v in _LINE.findall(text))
        if [r[0] for r in rows] != list(range(1, seq.count + 1)):
            raise BenchError(f"XPSNR: the filter reported {len(rows)} frames, expected {seq.count}")
        fmt = seq.yuv_format()
        samples = [h * w for h, w in fmt.plane_shapes(seq.width, seq.height)]
        return MeasureOutput({f"xpsnr_{p}": [r[i + 1] for r in rows] for i, p in enumerate("yuv")},
                             {"samples": samples, "peak": (1 << fmt.bit_depth) - 1}, commands=[argv])


def _pooled(values: Sequence[float], samples: int, peak: int) -> float:
    # root of each frame's weighted SSE, up to the factor sqrt(samples) * peak that the per-frame values divide out
    roots = [10 ** (-x / 20) for x in values]
    if sum(roots) * math.sqrt(samples) * peak < len(values):  # the filter's own switch to a plain mean
        return sum(values) / len(values)
    return -20 * math.log10(sum(roots) / len(roots))


def _plane(plane: str) -> Metric:
    def frames(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[Any]:
        return list(values[f"xpsnr_{plane}"])

    def pooled(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float:
        return _pooled(values[f"xpsnr_{plane}"], constants["samples"]["yuv".index(plane)], constants["peak"])

    return Metric(f"xpsnr_{plane}", f"XPSNR-{plane.upper()}", "dB", f"XPSNR of the {plane.upper()} plane (ffmpeg xpsnr "
                  "filter)", "square-mean-root of the weighted SSE over frames, as the filter's own average", request("xpsnr"),
                  frames, pooled, headline=7 if plane == "y" else None)


register_measure(Xpsnr())
for _p in "yuv":
    register_metric(_plane(_p))
