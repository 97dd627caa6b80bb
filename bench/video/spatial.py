"""Spatial handling: pad a frame to a multiple of N (replicate or zero) and crop it back, or crop a source.

Padding is added on the right and bottom, as the DCVC family and CompressAI do, so cropping back is a plain
top-left window. Chroma planes of 4:2:0 formats are padded to half the padded luma size.
"""

from __future__ import annotations

import numpy as np

from bench.video.formats import PixelFormat, Planes


def padded_size(width: int, height: int, multiple: int) -> tuple[int, int]:
    return -(-width // multiple) * multiple, -(-height // multiple) * multiple


def pad(planes: Planes, fmt: PixelFormat, width: int, height: int, mode: str) -> Planes:
    """Pad every plane to the plane shapes of a ``width x height`` frame; ``mode`` is replicate or zero."""
    out = []
    for plane, (rows, cols) in zip(planes, fmt.plane_shapes(width, height), strict=True):
        extra = ((0, rows - plane.shape[0]), (0, cols - plane.shape[1]))
        if mode == "replicate":
            out.append(np.pad(plane, extra, mode="edge"))
        elif mode == "zero":
            out.append(np.pad(plane, extra, mode="constant", constant_values=0))
        else:
            raise ValueError(f"unknown pad mode {mode!r}")
    return tuple(out)


def crop(planes: Planes, fmt: PixelFormat, width: int, height: int, x: int = 0, y: int = 0) -> Planes:
    """The ``width x height`` window at (x, y) (both even for 4:2:0)."""
    out = []
    full_shapes = fmt.plane_shapes(width, height)
    for i, (plane, (rows, cols)) in enumerate(zip(planes, full_shapes, strict=True)):
        sy, sx = (y // 2, x // 2) if (i > 0 and fmt.chroma == "420") else (y, x)
        out.append(plane[sy : sy + rows, sx : sx + cols])
    return tuple(out)
