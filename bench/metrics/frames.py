"""The frames every metric sees: source and decoded frames in the measured domain, and their other colour family.

The measured domain is the source's own format at its original size (padding cropped away, the condition's
crop applied to both). Metrics of the other colour family (RGB metrics of YUV sources, YUV metrics of RGB
sources) convert both frames with the condition's colour path at the source bit depth; :class:`FrameViews`
converts once per frame however many metrics ask. Sequence-scope measures that run an external filter get
the same frames written as raw YUV files (:meth:`MeasuredSequence.yuv_files`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.video.colour import ColourSpec, convert
from bench.video.formats import PixelFormat, Planes, make_format
from bench.video.io import RawVideoWriter


@dataclass
class FrameViews:
    """One source frame and its decoded frame, both in the source format ``fmt``; other families on demand."""

    reference: Planes
    decoded: Planes
    fmt: PixelFormat
    colour: ColourSpec
    _cache: dict[str, tuple[Planes, Planes]] = field(default_factory=dict, repr=False)

    def yuv(self) -> tuple[Planes, Planes]:
        """(reference, decoded) as YUV: the source planes, or YUV 4:4:4 from RGB by the colour path."""
        if self.fmt.family == "yuv":
            return self.reference, self.decoded
        return self._converted("yuv", make_format("yuv", "444", self.fmt.bit_depth))

    def rgb(self) -> tuple[Planes, Planes]:
        """(reference, decoded) as R, G, B planes: the source planes, or converted from YUV by the colour path."""
        if self.fmt.family == "rgb":
            return self.reference, self.decoded
        return self._converted("rgb", make_format("rgb", "444", self.fmt.bit_depth))

    def _converted(self, family: str, target: PixelFormat) -> tuple[Planes, Planes]:
        if family not in self._cache:
            self._cache[family] = (convert(self.reference, self.fmt, target, self.colour),
                                   convert(self.decoded, self.fmt, target, self.colour))
        return self._cache[family]


@dataclass
class MeasuredSequence:
    """The frame pairs of one job in the measured domain, readable as often as measures need them."""

    fmt: PixelFormat  # the source format
    width: int  # measured size
    height: int
    fps: float
    count: int
    colour: ColourSpec
    work_dir: Path  # scratch space for sequence-scope measures (removed by the caller)
    pairs: Callable[[], Iterator[tuple[Planes, Planes]]]  # (source frame, decoded frame) in ``fmt``
    _yuv_files: tuple[Path, Path, PixelFormat] | None = field(default=None, repr=False)

    @property
    def bit_depth(self) -> int:
        return self.fmt.bit_depth

    def frames(self) -> Iterator[FrameViews]:
        for ref, dec in self.pairs():
            yield FrameViews(ref, dec, self.fmt, self.colour)

    def yuv_format(self) -> PixelFormat:
        """The YUV format external filters see: the source format, or YUV 4:4:4 for RGB sources."""
        return self.fmt if self.fmt.family == "yuv" else make_format("yuv", "444", self.fmt.bit_depth)

    def yuv_files(self) -> tuple[Path, Path, PixelFormat]:
        """(reference file, decoded file, their format): raw YUV in the measured domain, written once."""
        if self._yuv_files is None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            ref_path, dec_path = self.work_dir / "reference.yuv", self.work_dir / "decoded.yuv"
            fmt = self.yuv_format()
            with RawVideoWriter(ref_path, fmt) as ref_out, RawVideoWriter(dec_path, fmt) as dec_out:
                for views in self.frames():
                    ref, dec = views.yuv()
                    ref_out.write(ref)
                    dec_out.write(dec)
            self._yuv_files = (ref_path, dec_path, fmt)
        return self._yuv_files
