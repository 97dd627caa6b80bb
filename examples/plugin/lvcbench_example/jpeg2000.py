"""JPEG 2000, all intra: each plane of each frame one grayscale JPEG 2000 codestream (OpenJPEG, through Pillow),
at a compression ratio. An example of an adapter of your own: the contract is bench.adapters.base.Adapter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from bench.adapters.base import Adapter, Capabilities, CodingResult, CodingTask, Param
from bench.errors import AdapterError, ConditionError
from bench.video.formats import PixelFormat


class Jpeg2000(Adapter):
    name = "example-jpeg2000"  # as the entry point in pyproject.toml names it
    version = 1  # bump when the same inputs would give other bitstreams or frames
    rate_knob = "compression ratio"
    capabilities = Capabilities(("yuv420p", "yuv444p"), separate_decode=True)  # 8 bit: Pillow's "L" images
    PARAMS: ClassVar[dict[str, Param]] = {
        "irreversible": Param(bool, True, "the 9/7 wavelet (lossy); false: the reversible 5/3 one"),
        "resolutions": Param(int, 6, "wavelet levels + 1 (OpenJPEG's -n); a plane needs 2^(n-1) pixels a side",
                             tuple(range(1, 11)))}
    conformance_example: ClassVar[Any] = ({}, [16])  # what the conformance check codes two frames with

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
            raise ConditionError(f"{where}: {value!r} is not a rate point for {cls.name}: expected a compression "
                                 "ratio, an integer 2..1000 (raw plane bytes / coded bytes)")
        return value

    def identity(self) -> dict[str, Any]:  # the library versions can change the bitstream: in every job key
        return {**super().identity(), "pillow": Image.__version__, "openjpeg": features.version("jpg_2000")}

    def doctor(self) -> str:
        if not features.check("jpg_2000"):
            raise AdapterError(f"{self.name}: this Pillow was built without OpenJPEG; install Pillow's wheel")
        return f"OpenJPEG {features.version('jpg_2000')} via Pillow {Image.__version__}"

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        if coding.name not in self.capabilities.input_formats:
            raise AdapterError(f"codec {self.name}: codes {', '.join(self.capabilities.input_formats)}, not "
                               f"{coding.name}")
        return coding

    def code_sequence(self, task: CodingTask) -> CodingResult:
        self.doctor()
        shapes = task.fmt.plane_shapes(task.width, task.height)
        raw, offset, files, t0 = np.fromfile(task.input_path, np.uint8), 0, [], time.perf_counter()
        for i in range(task.frames):  # the input: 8-bit planes Y, U, V, frame after frame
            for plane, (rows, cols) in zip("yuv", shapes, strict=True):
                files.append(task.work_dir / f"{i:05d}{plane}.j2k")
                Image.fromarray(raw[offset:offset + rows * cols].reshape(rows, cols)).save(
                    files[-1], "JPEG2000", no_jp2=True, quality_mode="rates", quality_layers=[task.rate_point],
                    irreversible=self.params["irreversible"], num_resolutions=self.params["resolutions"])
                offset += rows * cols
        encoded, decoded = time.perf_counter(), self.redecode(task, files)  # decoded from the files alone
        sizes = [f.stat().st_size for f in files]
        return CodingResult(
            files, decoded, encode_seconds=encoded - t0, decode_seconds=time.perf_counter() - encoded,
            frame_types=["I"] * task.frames, frame_bits=[8 * sum(sizes[3 * i:3 * i + 3]) for i in range(task.frames)],
            description=f"JPEG 2000 per plane, ratio {task.rate_point}, {self.doctor()}",
            timing_details={"timed": "per sequence: Pillow's encode / decode calls with file I/O, in this process"})

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        decoded = task.work_dir / "decoded.yuv"  # same layout as the input: every plane of every frame in order
        with open(decoded, "wb") as out:
            for path in bitstreams:
                with Image.open(path) as image:
                    out.write(np.asarray(image, np.uint8).tobytes())
        return decoded
