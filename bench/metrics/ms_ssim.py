"""MS-SSIM on Y and on R, G, B (the ``ms_ssim`` measure, metrics ``ms_ssim_y`` and ``ms_ssim_rgb``).

The definition is ``pytorch_msssim.ms_ssim``'s: window 11, sigma 1.5, five scales with the standard weights,
float32, ``data_range = 2^b - 1``; for RGB the channel mean. On the CPU it is computed by the compiled kernels of
:mod:`bench.metrics.kernels` (about 30x faster, equal within 5e-6 on every test frame), on a GPU by
``pytorch_msssim`` itself. Frames whose shorter side is 160 px or less have no value (None): the five-scale
pyramid does not fit. Pooled as the mean over frames; shown and BD-computed in dB, ``-10 log10(1 - x)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bench.errors import ConditionError
from bench.metrics.registry import (
    Measure,
    MeasureRequest,
    Metric,
    PoolingContext,
    register_measure,
    register_metric,
    request,
)

if TYPE_CHECKING:
    from bench.metrics.backends import FrameBatch

MS_SSIM_SPACES = ("y", "rgb")


class MsSsim(Measure):
    name = "ms_ssim"
    version = 2  # 2: computed by the suite's kernels (CPU) or pytorch_msssim (GPU); 1: pytorch_msssim on the CPU
    scope = "frame"
    description = ("MS-SSIM as pytorch_msssim.ms_ssim defines it (win 11, sigma 1.5, 5 scales, float32, "
                   "data_range 2^b-1) per frame")
    condition_key: ClassVar[str | None] = "ms_ssim"
    condition_default: ClassVar[Any] = ["y", "rgb"]

    def requests_from_condition(self, value: Any, where: str) -> list[MeasureRequest]:
        if not isinstance(value, list) or any(v not in MS_SSIM_SPACES for v in value):
            raise ConditionError(f"{where}: expected a list of {', '.join(MS_SSIM_SPACES)}, got {value!r}")
        return [request(self.name, space=space) for space in dict.fromkeys(value)]

    def families(self, params: Mapping[str, Any]) -> set[str]:
        return {"yuv" if params["space"] == "y" else "rgb"}

    def frames(self, batch: FrameBatch, params: Mapping[str, Any]) -> dict[str, list[Any]]:
        if params["space"] == "y":
            (y_ref, _, _), (y_dec, _, _) = batch.yuv()
            return {"ms_ssim": batch.backend.ms_ssim([y_ref], [y_dec], float(batch.peak))}
        ref, dec = batch.rgb()
        return {"ms_ssim": batch.backend.ms_ssim(list(ref), list(dec), float(batch.peak))}


def _frames(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[Any]:
    return list(values["ms_ssim"])


def _mean(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float | None:
    v = values["ms_ssim"]
    return None if not v or any(x is None for x in v) else float(np.mean(v))


register_measure(MsSsim())
for _space, _label, _order in (("y", "MS-SSIM-Y", 4), ("rgb", "MS-SSIM-RGB", 5)):
    register_metric(Metric(
        f"ms_ssim_{_space}", _label, "", f"MS-SSIM (pytorch_msssim's definition) on {'Y' if _space == 'y' else 'R,G,B (channel mean)'} "
        "(win 11, sigma 1.5, float32, data_range 2^b-1)", "mean over frames (undefined if any frame is 160 px or less)",
        request("ms_ssim", space=_space), _frames, _mean, display="db", headline=_order))
