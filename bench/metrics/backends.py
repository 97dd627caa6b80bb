"""Where per-frame measures run: on the CPU (compiled kernels) or on a GPU (torch), over batches of frames.

A :class:`FrameBatch` holds a few consecutive frame pairs of one job in the measured domain, each plane stacked
``(frames, rows, cols)``, and their conversion to the other colour family, made once however many measures ask.
Measures see only the batch and its backend's operations (:meth:`Backend.sse`, :meth:`Backend.ms_ssim`), so the
same measure code runs on either device, under the same definitions:

* :class:`CpuBackend`: numpy planes, :mod:`bench.metrics.kernels` (numba), one frame at a time, the kernels'
  threads limited to the job's share of the cores.
* :class:`TorchBackend`: planes uploaded to the device as integers; SSE in int64 (exact, equal to the CPU's),
  YUV -> RGB with the same float64 operations (equal samples), MS-SSIM by ``pytorch_msssim`` itself on a batch of
  frames (agrees with the CPU kernels within float32 rounding, about 1e-7).

Which backend a job gets: the condition's ``metrics: {device: ...}`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``);
``auto`` measures on the GPU a job's codec ran on where torch here can use it, and on the CPU otherwise
(:func:`measuring_device`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from bench.errors import ConditionError
from bench.video.colour import MATRICES, ColourSpec, convert
from bench.video.formats import PixelFormat, Planes, make_format


@dataclass
class FrameBatch:
    """Consecutive frame pairs of one job in the source format FMT, planes stacked (frames, rows, cols)."""

    backend: Backend
    reference: tuple[Any, ...]
    decoded: tuple[Any, ...]
    fmt: PixelFormat
    colour: ColourSpec
    count: int
    _converted: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=dict, repr=False)

    @property
    def peak(self) -> int:
        return self.fmt.peak

    def yuv(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(reference, decoded) Y, Cb, Cr planes: the source's, or YUV 4:4:4 from RGB by the colour path."""
        return self.family("yuv")

    def rgb(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(reference, decoded) R, G, B planes: the source's, or converted from YUV by the colour path."""
        return self.family("rgb")

    def family(self, family: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        if family == self.fmt.family:
            return self.reference, self.decoded
        if family not in self._converted:
            self._converted[family] = (self.backend.convert(self.reference, self.fmt, family, self.colour),
                                       self.backend.convert(self.decoded, self.fmt, family, self.colour))
        return self._converted[family]

    def prepare(self, families: set[str]) -> None:
        """Make the conversions to the colour FAMILIES (``yuv``, ``rgb``) measures will need now (called ahead, on
        the reading thread)."""
        for family in sorted(families):
            self.family(family)


class Backend(ABC):
    """Per-frame arithmetic on one device. Planes are stacked (frames, rows, cols) in the backend's arrays."""

    device: str
    batch_frames: int  # frames per batch

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What computed the values (device, library versions, threads): recorded with each measurement."""

    @abstractmethod
    def batch(self, pairs: Sequence[tuple[Planes, Planes]], fmt: PixelFormat, colour: ColourSpec) -> FrameBatch:
        """A batch of (reference, decoded) numpy frames, moved to this backend."""

    @abstractmethod
    def convert(self, planes: tuple[Any, ...], fmt: PixelFormat, family: str, colour: ColourSpec) -> tuple[Any, ...]:
        """Stacked planes of FMT converted to FAMILY (RGB, or YUV 4:4:4) at the same bit depth."""

    @abstractmethod
    def sse(self, a: Any, b: Any) -> list[int]:
        """Exact sum of squared differences of each frame of two stacked integer planes."""

    @abstractmethod
    def ms_ssim(self, reference: Sequence[Any], decoded: Sequence[Any], data_range: float) -> list[float | None]:
        """MS-SSIM of each frame over the given planes (the channel mean of several), None when too small."""

    def samples(self, planes: tuple[Any, ...]) -> list[int]:
        """Samples per frame of each plane."""
        return [int(p.shape[-1] * p.shape[-2]) for p in planes]

    def close(self) -> None:  # noqa: B027 - optional
        pass


class CpuBackend(Backend):
    device = "cpu"
    batch_frames = 1

    def __init__(self, threads: int = 1) -> None:
        from bench.metrics.kernels import Kernels  # compiled on first use: numba is slow to import

        self.kernels = Kernels(threads)

    def describe(self) -> dict[str, Any]:
        return {"device": "cpu", "implementation": f"bench.metrics.kernels (numba {metadata.version('numba')})",
                "threads": self.kernels.threads}

    def batch(self, pairs: Sequence[tuple[Planes, Planes]], fmt: PixelFormat, colour: ColourSpec) -> FrameBatch:
        def stack(k: int) -> tuple[np.ndarray, ...]:
            planes = [pair[k] for pair in pairs]
            if len(planes) == 1:
                return tuple(p[None] for p in planes[0])
            return tuple(np.stack(ps) for ps in zip(*planes, strict=True))

        return FrameBatch(self, stack(0), stack(1), fmt, colour, len(pairs))

    def convert(self, planes: tuple[Any, ...], fmt: PixelFormat, family: str, colour: ColourSpec) -> tuple[Any, ...]:
        frames = []
        for i in range(planes[0].shape[0]):
            frame = tuple(p[i] for p in planes)
            if family == "rgb":
                frames.append(self.kernels.yuv_to_rgb(frame, fmt, colour))
            else:  # RGB sources are rare (image sets); the reference numpy path
                frames.append(convert(frame, fmt, make_format("yuv", "444", fmt.bit_depth), colour))
        return tuple(np.stack(ps) for ps in zip(*frames, strict=True))

    def sse(self, a: Any, b: Any) -> list[int]:
        return [self.kernels.sse(a[i], b[i]) for i in range(a.shape[0])]

    def ms_ssim(self, reference: Sequence[Any], decoded: Sequence[Any], data_range: float) -> list[float | None]:
        return [self.kernels.ms_ssim(np.stack([p[i] for p in reference]), np.stack([p[i] for p in decoded]),
                                     data_range) for i in range(reference[0].shape[0])]

    def close(self) -> None:
        self.kernels.close()


class TorchBackend(Backend):
    """The same measures with torch on DEVICE (a GPU; the tests run it on the CPU to compare the two paths)."""

    def __init__(self, device: str, batch_frames: int = 8) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.batch_frames = batch_frames

    def describe(self) -> dict[str, Any]:
        t = self.torch
        d = {"device": self.device, "implementation": f"torch {t.__version__}, pytorch_msssim "
                                                      f"{metadata.version('pytorch-msssim')}",
             "batch_frames": self.batch_frames}
        if self.device.startswith("cuda"):
            d["gpu"] = t.cuda.get_device_name(t.device(self.device))
        return d

    def batch(self, pairs: Sequence[tuple[Planes, Planes]], fmt: PixelFormat, colour: ColourSpec) -> FrameBatch:
        t = self.torch

        def upload(k: int) -> tuple[Any, ...]:
            stacked = (np.stack(ps) for ps in zip(*(pair[k] for pair in pairs), strict=True))
            # uint16 has no torch arithmetic; int32 holds every sample exactly
            return tuple(t.from_numpy(p.astype(np.int32) if p.dtype == np.uint16 else p).to(self.device)
                         for p in stacked)

        return FrameBatch(self, upload(0), upload(1), fmt, colour, len(pairs))

    def convert(self, planes: tuple[Any, ...], fmt: PixelFormat, family: str, colour: ColourSpec) -> tuple[Any, ...]:
        t = self.torch
        if family == "yuv":  # RGB sources: the reference numpy path, then back to the device
            host = [tuple(p[i].cpu().numpy().astype(fmt.dtype) for p in planes) for i in range(planes[0].shape[0])]
            frames = [convert(f, fmt, make_format("yuv", "444", fmt.bit_depth), colour) for f in host]
            return tuple(t.from_numpy(np.stack(ps).astype(np.int32)).to(self.device) for ps in zip(*frames, strict=True))
        return torch_yuv_to_rgb(planes, fmt, colour)

    def sse(self, a: Any, b: Any) -> list[int]:
        d = a.to(self.torch.int64) - b.to(self.torch.int64)
        return [int(v) for v in (d * d).sum(dim=(-2, -1)).cpu()]

    def ms_ssim(self, reference: Sequence[Any], decoded: Sequence[Any], data_range: float) -> list[float | None]:
        from pytorch_msssim import ms_ssim

        t = self.torch
        from bench.metrics.kernels import MS_SSIM_MIN_SIDE

        if min(reference[0].shape[-2:]) < MS_SSIM_MIN_SIDE:
            return [None] * int(reference[0].shape[0])
        x = t.stack([p.to(t.float32) for p in reference], dim=1)
        y = t.stack([p.to(t.float32) for p in decoded], dim=1)
        with t.no_grad():
            values = ms_ssim(x, y, data_range=data_range, size_average=False)  # (frames,): mean over channels
        return [float(v) for v in values.cpu()]


def torch_yuv_to_rgb(planes: tuple[Any, ...], fmt: PixelFormat, spec: ColourSpec) -> tuple[Any, ...]:
    """Stacked Y, Cb, Cr integer tensors to R, G, B, with :func:`bench.video.colour.convert`'s float64 operations in
    its order (identical samples; the tests compare them)."""
    import torch

    from bench.metrics.kernels import _dequantisation_tables

    y, cb, cr = planes
    height, width = y.shape[-2:]
    y_lut, c_lut = (torch.from_numpy(t).to(y.device) for t in _dequantisation_tables(fmt.bit_depth, spec))
    yy, u, v = y_lut[y.long()], c_lut[cb.long()], c_lut[cr.long()]
    if fmt.chroma == "420":
        u, v = (_torch_upsample(c, spec.chroma_upsampling)[..., :height, :width] for c in (u, v))
    kr, kb = MATRICES[spec.matrix]
    kg = 1 - kr - kb
    r = yy + 2 * (1 - kr) * v
    b = yy + 2 * (1 - kb) * u
    g = (yy - kr * r - kb * b) / kg
    scale = fmt.peak
    return tuple(torch.clamp(torch.floor(c * scale + 0.5), 0, scale).to(torch.int32) for c in (r, g, b))


def _torch_upsample(c: Any, method: str) -> Any:
    import torch

    if method == "nearest":
        return c.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    for axis in (-2, -1):  # rows first, then columns: colour.upsample_420's order
        n = c.shape[axis]
        prev = torch.cat([c.narrow(axis, 0, 1), c.narrow(axis, 0, n - 1)], dim=axis)
        nxt = torch.cat([c.narrow(axis, 1, n - 1), c.narrow(axis, n - 1, 1)], dim=axis)
        even = 0.75 * c + 0.25 * prev
        odd = 0.75 * c + 0.25 * nxt
        c = torch.stack([even, odd], dim=axis).flatten(axis - 1, axis)  # interleave: even, odd, even, ...
    return c


def measuring_device(asked: str, codec_device: str | None) -> str:
    """The device a job is measured on: ASKED by the condition, or for ``auto`` the GPU its codec ran on
    (CODEC_DEVICE, e.g. ``cuda:1``; None for CPU codecs) where this process's torch can use it (a codec run in
    its own environment may have CUDA where ours has not), and the CPU otherwise."""
    if asked != "auto":
        return asked
    if codec_device and codec_device.startswith("cuda") and _cuda_available():
        return codec_device
    return "cpu"


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def make_backend(device: str, threads: int) -> Backend:
    """The backend for DEVICE; a one-line error when a GPU is asked for and torch sees none."""
    if device == "cpu":
        return CpuBackend(threads)
    import torch

    if not torch.cuda.is_available():
        raise ConditionError(f"metrics: device {device} asked for, but torch sees no CUDA device; "
                             "use device: cpu (or auto)")
    return TorchBackend("cuda:0" if device == "cuda" else device)
