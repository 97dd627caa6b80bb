"""MS-SSIM: ``pytorch_msssim.ms_ssim`` on Y and on R, G, B (the ``ms_ssim`` measure, metrics ``ms_ssim_y`` and
``ms_ssim_rgb``).

Window 11, sigma 1.5, five scales with the standard weights, float32 input, ``data_range = 2^b - 1``; for RGB
the three channels go in together and the channel mean is taken (``size_average``). Frames whose shorter side
is 160 px or less have no value (None): the five-scale pyramid does not fit. Pooled as the mean over frames;
shown and BD-computed in dB, ``-10 log10(1 - x)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from bench.errors import ConditionError
from bench.metrics.frames import FrameViews
from bench.metrics.registry import (
    Measure,
    MeasureRequest,
    Metric,
    PoolingContext,
    register_measure,
    register_metric,
    request,
)

MS_SSIM_SPACES = ("y", "rgb")
MS_SSIM_MIN_SIDE = 161  # pytorch_msssim needs min(H, W) > (win_size - 1) * 2^4 = 160


def ms_ssim(reference: np.ndarray, distorted: np.ndarray, data_range: float) -> float | None:
    """``pytorch_msssim.ms_ssim`` of two (C, H, W) arrays, or None when the frame is too small for 5 scales."""
    if min(reference.shape[-2:]) < MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    x = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))[None]
    y = torch.from_numpy(np.ascontiguousarray(distorted, dtype=np.float32))[None]
    with torch.no_grad():
        return float(_ms_ssim(x, y, data_range=data_range, size_average=True))


class MsSsim(Measure):
    name = "ms_ssim"
    version = 1
    scope = "frame"
    description = "pytorch_msssim.ms_ssim (win 11, sigma 1.5, 5 scales, float32, data_range 2^b-1) per frame"
    condition_key: ClassVar[str | None] = "ms_ssim"
    condition_default: ClassVar[Any] = ["y", "rgb"]

    def requests_from_condition(self, value: Any, where: str) -> list[MeasureRequest]:
        if not isinstance(value, list) or any(v not in MS_SSIM_SPACES for v in value):
            raise ConditionError(f"{where}: expected a list of {', '.join(MS_SSIM_SPACES)}, got {value!r}")
        return [request(self.name, space=space) for space in dict.fromkeys(value)]

    def implementation(self, params: Mapping[str, Any]) -> dict[str, str]:
        return {"pytorch_msssim": metadata.version("pytorch-msssim")}

    def frame(self, views: FrameViews, params: Mapping[str, Any]) -> dict[str, Any]:
        data_range = float((1 << views.fmt.bit_depth) - 1)
        if params["space"] == "y":
            ref, dec = views.yuv()
            return {"ms_ssim": ms_ssim(ref[0][None], dec[0][None], data_range)}
        ref, dec = views.rgb()
        return {"ms_ssim": ms_ssim(np.stack(ref), np.stack(dec), data_range)}


def _frames(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> list[Any]:
    return list(values["ms_ssim"])


def _mean(values: Mapping[str, Sequence[Any]], constants: Mapping[str, Any], ctx: PoolingContext) -> float | None:
    v = values["ms_ssim"]
    return None if not v or any(x is None for x in v) else float(np.mean(v))


register_measure(MsSsim())
for _space, _label, _order in (("y", "MS-SSIM-Y", 4), ("rgb", "MS-SSIM-RGB", 5)):
    register_metric(Metric(
        f"ms_ssim_{_space}", _label, "", f"pytorch_msssim.ms_ssim on {'Y' if _space == 'y' else 'R,G,B (channel mean)'} "
        "(win 11, sigma 1.5, float32, data_range 2^b-1)", "mean over frames (undefined if any frame is 160 px or less)",
        request("ms_ssim", space=_space), _frames, _mean, display="db", headline=_order))
