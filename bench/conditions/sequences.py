"""What a test sequence is (name, class, file, geometry, frame rate, length, format): the record every
manifest, the demo and a condition's own sequences are made of. A leaf module, so that the demo generator
and the manifests need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.video.formats import PixelFormat, make_format


@dataclass(frozen=True)
class SequenceInfo:
    """One test sequence: where it is and what it is. ``frames``/``fps`` None means: read from the file."""

    name: str
    group: str  # the class a table groups it by: "B", "C", "UVG", "MCL-JCV", "demo" ...
    file: str  # file (or PNG folder, or glob) relative to the data root
    width: int | None
    height: int | None
    fps: float | None
    frames: int | None
    bit_depth: int = 8
    chroma: str = "420"  # "420", "444" or "rgb"

    @property
    def fmt(self) -> PixelFormat:
        if self.chroma == "rgb":
            return make_format("rgb", "444", self.bit_depth)
        return make_format("yuv", self.chroma, self.bit_depth)
