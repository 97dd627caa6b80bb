"""Pixel formats the suite reads, writes and converts between.

Names follow ffmpeg's ``pix_fmt`` spelling so that the same string can go to an encoder's command line.
Samples wider than 8 bits live in 16-bit little-endian containers, as in ffmpeg and the JVET/HEVC test sets.
A frame is a tuple of 2-D numpy planes (Y, Cb, Cr or R, G, B), dtype uint8 for 8-bit and uint16 above.
In memory RGB planes are always in R, G, B order; only raw ``gbrp`` files use ffmpeg's G, B, R plane order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Planes = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class PixelFormat:
    """A planar pixel format: colour family, chroma subsampling and bit depth."""

    name: str
    family: str  # "yuv" or "rgb"
    chroma: str  # "420" or "444" (RGB is always "444")
    bit_depth: int

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8) if self.bit_depth <= 8 else np.dtype("<u2")

    @property
    def peak(self) -> int:
        """Largest sample value, ``2^b - 1``."""
        return (1 << self.bit_depth) - 1

    def plane_shapes(self, width: int, height: int) -> list[tuple[int, int]]:
        """(rows, cols) of each plane; 4:2:0 chroma rounds odd sizes up, as ffmpeg does."""
        if self.chroma == "420":
            cw, ch = (width + 1) // 2, (height + 1) // 2
            return [(height, width), (ch, cw), (ch, cw)]
        return [(height, width)] * 3

    def frame_bytes(self, width: int, height: int) -> int:
        return sum(r * c for r, c in self.plane_shapes(width, height)) * self.dtype.itemsize

    def with_depth(self, bit_depth: int) -> PixelFormat:
        return pixel_format(_name(self.family, self.chroma, bit_depth))


def _name(family: str, chroma: str, bit_depth: int) -> str:
    if family == "rgb":
        return "gbrp" if bit_depth == 8 else f"gbrp{bit_depth}le"
    return f"yuv{chroma}p" if bit_depth == 8 else f"yuv{chroma}p{bit_depth}le"


def _build_table() -> dict[str, PixelFormat]:
    table: dict[str, PixelFormat] = {}
    for depth in (8, 10, 12, 16):
        for chroma in ("420", "444"):
            name = _name("yuv", chroma, depth)
            table[name] = PixelFormat(name, "yuv", chroma, depth)
        name = _name("rgb", "444", depth)
        table[name] = PixelFormat(name, "rgb", "444", depth)
    return table


PIXEL_FORMATS = _build_table()


def make_format(family: str, chroma: str, bit_depth: int) -> PixelFormat:
    """The format of a colour family (``yuv``/``rgb``), chroma (``420``/``444``) and bit depth."""
    return pixel_format(_name(family, "444" if family == "rgb" else chroma, bit_depth))


def pixel_format(name: str) -> PixelFormat:
    """Look up a format by its ffmpeg name (``yuv420p``, ``yuv420p10le``, ``yuv444p``, ``gbrp`` ...)."""
    try:
        return PIXEL_FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(PIXEL_FORMATS))
        raise ValueError(f"unknown pixel format {name!r}; known formats: {known}") from None

