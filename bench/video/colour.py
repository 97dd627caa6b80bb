"""Colour conversion between the pixel formats of :mod:`bench.video.formats`, defined exactly.

Definitions (Rec. ITU-T H.273 / BT.709 / BT.601 equations):

* Matrix: ``Y = Kr R + (1 - Kr - Kb) G + Kb B``, ``Cb = (B - Y) / (2 (1 - Kb))``, ``Cr = (R - Y) / (2 (1 - Kr))``
  with (Kr, Kb) = (0.2126, 0.0722) for BT.709 and (0.299, 0.114) for BT.601, on R, G, B in [0, 1].
* Full range, n bits: ``Y = round((2^n - 1) Y')``, ``C = round((2^n - 1) C' + 2^(n-1))``.
  Limited ("video") range: ``Y = round((219 Y' + 16) 2^(n-8))``, ``C = round((224 C' + 128) 2^(n-8))``.
  RGB at n bits: ``round((2^n - 1) x)``. Every result is clipped to ``[0, 2^n - 1]``; rounding is half away
  from zero (``floor(x + 0.5)`` on non-negative values).
* Chroma 4:4:4 -> 4:2:0: mean of each 2x2 block (of the unquantised values when coming from RGB; with
  integer rounding ``(a+b+c+d+2) >> 2`` between YUV formats). Chroma samples are sited at the centre of
  their 2x2 luma block (JPEG/MPEG-1 siting), the siting the box filter implies.
* Chroma 4:2:0 -> 4:4:4: ``nearest`` repeats each sample 2x2; ``bilinear`` interpolates with weights
  3/4 and 1/4 between the two nearest chroma samples along each axis (centre siting), replicating edges.
* YUV bit-depth change: left shift up, rounded right shift down (``(x + 2^(s-1)) >> s``), as VTM/HM do for
  both ranges. RGB bit-depth change rescales: ``round(x (2^d - 1) / (2^s - 1))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.video.formats import PixelFormat, Planes

MATRICES = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}
RANGES = ("full", "limited")
CHROMA_UPSAMPLING = ("bilinear", "nearest")


@dataclass(frozen=True)
class ColourSpec:
    """How YUV and RGB relate for one test condition; recorded with every result."""

    matrix: str = "bt709"
    range: str = "full"
    chroma_upsampling: str = "bilinear"

    def describe(self) -> str:
        return (f"{self.matrix.upper()} {self.range} range, 4:2:0 chroma by 2x2 mean, "
                f"upsampled {self.chroma_upsampling} (centre siting)")


def _round(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _quantise(x: np.ndarray, bit_depth: int) -> np.ndarray:
    out = np.clip(_round(x), 0, (1 << bit_depth) - 1)
    return out.astype(np.uint8 if bit_depth <= 8 else np.uint16)


# --- chroma resampling -------------------------------------------------------------------------------------

def downsample_420(plane: np.ndarray) -> np.ndarray:
    """2x2 mean of a float plane; an odd last row/column is replicated first."""
    h, w = plane.shape
    if h % 2 or w % 2:
        plane = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2])


def _downsample_420_int(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    p = plane.astype(np.int64)
    if h % 2 or w % 2:
        p = np.pad(p, ((0, h % 2), (0, w % 2)), mode="edge")
    s = p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]
    return ((s + 2) >> 2).astype(plane.dtype)


def _upsample_axis_bilinear(c: np.ndarray, axis: int) -> np.ndarray:
    prev = np.concatenate([np.take(c, [0], axis=axis), np.take(c, range(c.shape[axis] - 1), axis=axis)], axis=axis)
    nxt = np.concatenate([np.take(c, range(1, c.shape[axis]), axis=axis), np.take(c, [-1], axis=axis)], axis=axis)
    even = 0.75 * c + 0.25 * prev
    odd = 0.75 * c + 0.25 * nxt
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(c.shape)
    shape[axis] *= 2
    return out.reshape(shape)


def upsample_420(plane: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """Float 4:2:0 chroma plane to ``height x width``."""
    c = plane.astype(np.float64)
    if method == "nearest":
        up = np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)
    elif method == "bilinear":
        up = _upsample_axis_bilinear(_upsample_axis_bilinear(c, 0), 1)
    else:
        raise ValueError(f"unknown chroma upsampling {method!r}; use one of {CHROMA_UPSAMPLING}")
    return up[:height, :width]


# --- YUV <-> RGB in floating point -------------------------------------------------------------------------

def _dequantise_yuv(planes: Planes, fmt: PixelFormat, spec: ColourSpec) -> tuple[np.ndarray, ...]:
    n = fmt.bit_depth
    y, cb, cr = (p.astype(np.float64) for p in planes)
    if spec.range == "full":
        scale = (1 << n) - 1
        return y / scale, (cb - (1 << (n - 1))) / scale, (cr - (1 << (n - 1))) / scale
    step = float(1 << (n - 8))
    return (y / step - 16) / 219, (cb / step - 128) / 224, (cr / step - 128) / 224


def _quantise_yuv(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, bit_depth: int, spec: ColourSpec) -> Planes:
    if spec.range == "full":
        scale = (1 << bit_depth) - 1
        offset = 1 << (bit_depth - 1)
        return _quantise(y * scale, bit_depth), _quantise(cb * scale + offset, bit_depth), _quantise(cr * scale + offset, bit_depth)
    step = float(1 << (bit_depth - 8))
    return (_quantise((219 * y + 16) * step, bit_depth), _quantise((224 * cb + 128) * step, bit_depth),
            _quantise((224 * cr + 128) * step, bit_depth))


def rgb_to_ycbcr(r: np.ndarray, g: np.ndarray, b: np.ndarray, matrix: str) -> tuple[np.ndarray, ...]:
    """Float R, G, B in [0, 1] to float Y in [0, 1] and Cb, Cr in [-0.5, 0.5]."""
    kr, kb = MATRICES[matrix]
    y = kr * r + (1 - kr - kb) * g + kb * b
    return y, (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, matrix: str) -> tuple[np.ndarray, ...]:
    kr, kb = MATRICES[matrix]
    kg = 1 - kr - kb
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / kg
    return r, g, b


# --- format conversion -------------------------------------------------------------------------------------

def _change_yuv_depth(planes: Planes, src: int, dst: int) -> Planes:
    if dst > src:
        return tuple((p.astype(np.uint16) << (dst - src)) for p in planes)
    shift = src - dst
    out = tuple(np.minimum((p.astype(np.uint32) + (1 << (shift - 1))) >> shift, (1 << dst) - 1) for p in planes)
    return tuple(p.astype(np.uint8 if dst <= 8 else np.uint16) for p in out)


def convert(planes: Planes, src: PixelFormat, dst: PixelFormat, spec: ColourSpec) -> Planes:
    """Convert one frame between pixel formats following the module's definitions."""
    if src == dst:
        return planes
    height, width = planes[0].shape
    if src.family == "yuv" and dst.family == "yuv":
        out = planes if src.bit_depth == dst.bit_depth else _change_yuv_depth(planes, src.bit_depth, dst.bit_depth)
        if src.chroma == dst.chroma:
            return out
        if dst.chroma == "420":
            return (out[0], _downsample_420_int(out[1]), _downsample_420_int(out[2]))
        up = tuple(upsample_420(p, height, width, spec.chroma_upsampling) for p in out[1:])
        return (out[0], _quantise(up[0], dst.bit_depth), _quantise(up[1], dst.bit_depth))
    if src.family == "rgb" and dst.family == "rgb":
        scale = ((1 << dst.bit_depth) - 1) / ((1 << src.bit_depth) - 1)
        return tuple(_quantise(p.astype(np.float64) * scale, dst.bit_depth) for p in planes)
    if src.family == "yuv":  # YUV -> RGB
        y, cb, cr = _dequantise_yuv(planes, src, spec)
        if src.chroma == "420":
            cb = upsample_420(cb, height, width, spec.chroma_upsampling)
            cr = upsample_420(cr, height, width, spec.chroma_upsampling)
        scale = (1 << dst.bit_depth) - 1
        return tuple(_quantise(c * scale, dst.bit_depth) for c in ycbcr_to_rgb(y, cb, cr, spec.matrix))
    # RGB -> YUV
    scale = (1 << src.bit_depth) - 1
    r, g, b = (p.astype(np.float64) / scale for p in planes)
    y, cb, cr = rgb_to_ycbcr(r, g, b, spec.matrix)
    if dst.chroma == "420":
        cb, cr = downsample_420(cb), downsample_420(cr)
    return _quantise_yuv(y, cb, cr, dst.bit_depth, spec)
