"""The coded input and the measured window of a job.

``Geometry`` says where the measured window sits in the source and what size the codec sees (crop, pad or
neither); ``InputCache`` writes each prepared input once (frames read, cropped, converted to the coding format
and then the codec's, padded) and shares it between the jobs that need it; ``measured_sequence`` turns decoded
frames back into the source's format and size and pairs them with the untouched source frames.
"""


from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.conditions.condition import Condition
from bench.metrics.frames import MeasuredSequence
from bench.run.jobs import Job
from bench.store.keys import canonical_json
from bench.video.colour import convert
from bench.video.formats import PixelFormat
from bench.video.io import RawVideoReader, RawVideoWriter
from bench.video.spatial import crop, pad, padded_size


@dataclass(frozen=True)
class Geometry:
    """Where the measured window sits in the source and what size the codec sees."""

    source_width: int
    source_height: int
    measured_width: int
    measured_height: int
    offset_x: int
    offset_y: int
    coded_width: int
    coded_height: int


def geometry(condition: Condition, width: int, height: int) -> Geometry:
    spatial = condition.spatial
    if spatial.mode == "crop":
        mw, mh = width // spatial.multiple * spatial.multiple, height // spatial.multiple * spatial.multiple
        if spatial.crop_anchor == "center":
            ox, oy = (width - mw) // 4 * 2, (height - mh) // 4 * 2  # even offsets keep 4:2:0 chroma aligned
        else:
            ox = oy = 0
        return Geometry(width, height, mw, mh, ox, oy, mw, mh)
    if spatial.mode == "pad":
        cw, ch = padded_size(width, height, spatial.multiple)
        return Geometry(width, height, width, height, 0, 0, cw, ch)
    return Geometry(width, height, width, height, 0, 0, width, height)



class InputCache:
    """Prepared raw inputs, one per (frames read, formats, spatial handling); built once, shared by jobs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, job: Job, codec_fmt: PixelFormat) -> Path:
        c = job.condition
        ident = canonical_json({"source": job.source_id.as_dict(), "coding": c.colour.coding(job.source.fmt).name,
                                "codec_fmt": codec_fmt.name, "colour": c.coding_fields()["colour"],
                                "spatial": c.coding_fields()["spatial"]})
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return self.root / f"{job.sequence.name}_{codec_fmt.name}_{digest}.raw"

    def get(self, job: Job, codec_fmt: PixelFormat) -> Path:
        path = self.path_for(job, codec_fmt)
        with self._guard:
            lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                self._write(job, codec_fmt, path)
        return path

    @staticmethod
    def _write(job: Job, codec_fmt: PixelFormat, path: Path) -> None:
        c = job.condition
        src_fmt = job.source.fmt
        coding = c.colour.coding(src_fmt)
        g = geometry(c, job.source.width, job.source.height)
        spec = c.colour.spec
        with RawVideoWriter(path, codec_fmt) as writer:
            for planes in job.source.reader().frames(job.source_id.first, job.source_id.count):
                if c.spatial.mode == "crop":
                    planes = crop(planes, src_fmt, g.measured_width, g.measured_height, g.offset_x, g.offset_y)
                planes = convert(convert(planes, src_fmt, coding, spec), coding, codec_fmt, spec)
                if c.spatial.mode == "pad":
                    planes = pad(planes, codec_fmt, g.coded_width, g.coded_height, c.spatial.pad)
                writer.write(planes)


def measured_sequence(job: Job, decoded: Path, codec_fmt: PixelFormat, g: Geometry, work: Path) -> MeasuredSequence:
    """The job's frame pairs in the measured domain: source frames (cropped as the condition says) and decoded
    frames converted back codec format -> coding format -> source format, padding cropped away."""
    c = job.condition
    src_fmt = job.source.fmt
    coding = c.colour.coding(src_fmt)
    spec = c.colour.spec

    def pairs() -> Iterator[tuple[Any, Any]]:
        dec_reader = RawVideoReader(decoded, codec_fmt, g.coded_width, g.coded_height)
        sources = job.source.reader().frames(job.source_id.first, job.source_id.count)
        for ref, dec in zip(sources, dec_reader.frames(0, job.source_id.count), strict=True):
            if c.spatial.mode == "crop":
                ref = crop(ref, src_fmt, g.measured_width, g.measured_height, g.offset_x, g.offset_y)
            dec = crop(dec, codec_fmt, g.measured_width, g.measured_height)
            yield ref, convert(convert(dec, codec_fmt, coding, spec), coding, src_fmt, spec)

    return MeasuredSequence(src_fmt, g.measured_width, g.measured_height, job.source.fps, job.source_id.count,
                            spec, work, pairs)
