"""``adapter: python-model``: your own image or video model, in your own environment, without an adapter.

The descriptor names a factory (``model: package.module:factory``) and the interpreter of your environment
(``python:``; default: the suite's own). Our driver (:mod:`bench.adapters.model_driver`) runs there and calls
the small protocol its docstring gives: ``factory(rate_point, device, **options)``, ``compress(frame) ->
bytes``, ``decompress(data, height, width) -> frame`` on R, G, B float32 frames in [0, 1], and ``reset()`` at
every intra frame of a video model. Each frame's bytes go to their own file (the rate is those files); a second
instance decodes them, so nothing passes from encoder to decoder but the bytes; the decoded frames are what
the suite measures. The stored files can be decoded again later the same way.

What enters the job key: the factory's name, its ``options``, the SHA-256 of the file that defines it and of
every file in ``files:`` (your checkpoints), the interpreter's Python and numpy versions, the kind, and the
device type (a learned entropy coder can code differently on a GPU); not the GPU's index.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

from bench.adapters import register
from bench.adapters.base import (
    RATE_POINT_KINDS,
    Adapter,
    Capabilities,
    CodingResult,
    CodingTask,
    Param,
    check_rate_point_kind,
    check_rate_range,
    scalar_rate_point,
    sha256_file,
    validate_device,
)
from bench.adapters.driver import read_planar_rgb, run_driver, write_planar_rgb
from bench.adapters.process import run_python_snippet
from bench.errors import AdapterError, ConditionError
from bench.probes import tool_sha256
from bench.video.formats import PixelFormat, pixel_format

DRIVER = Path(__file__).with_name("model_driver.py")


@register
class PythonModel(Adapter):
    name = "python-model"
    version = 1
    rate_knob = "rate point"
    capabilities: ClassVar[Capabilities] = Capabilities(("gbrp",), separate_decode=True, gpu=True)
    PARAMS: ClassVar[dict[str, Param]] = {
        "model": Param(str, None, "the factory, package.module:function (see the protocol in the README)"),
        "kind": Param(str, "image", "image: every frame on its own; video: state kept, reset at intra frames",
                      ("image", "video")),
        "options": Param(dict, {}, "keyword arguments for the factory (part of the key)"),
        "files": Param(list, [], "checkpoints and other files the model reads: their SHA-256 enters the key"),
        "python": Param(str, None, "the interpreter of your environment (default: the suite's own)",
                        affects_result=False),
        "path": Param(list, [], "folders to import the model from (default: the descriptor's folder)",
                      affects_result=False),
        "device": Param(str, "cpu", "cpu, cuda or cuda:N, passed to the factory", affects_result=False),
        "rate_points": Param(str, "int", "what a rate point is: int, float or str", RATE_POINT_KINDS),
        "rate_range": Param(list, None, "[low, high] a numeric rate point must lie in", item_kind=None),
        "timeout_s": Param(int, 0, "kill the driver after this many seconds (0: no limit)", affects_result=False),
        "descriptor_dir": Param(str, None, "set by the suite: the descriptor's folder", affects_result=False),
    }

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        params = super().validate_params(raw, where)
        model = params["model"]
        if not model or ":" not in model or not all(part for part in model.split(":")):
            raise ConditionError(f"{where}.model: expected package.module:factory, got {model!r}")
        validate_device(params["device"], where)
        check_rate_range(params["rate_range"], where)
        return params

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return scalar_rate_point(value, where, "a Python model")

    def rate_point_identity(self, rate_point: Any) -> dict[str, Any]:
        check_rate_point_kind(self.name, rate_point, self.params["rate_points"], self.params["rate_range"])
        return {}

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        return pixel_format("gbrp")

    # -- the environment and the identity --------------------------------------------------------------------

    @property
    def python(self) -> str:
        return self.params["python"] or sys.executable

    def _path(self) -> list[str]:
        base = Path(self.params["descriptor_dir"] or ".")
        folders = self.params["path"] or [str(base)]
        return [str((base / f).resolve()) for f in folders]

    @functools.cached_property
    def _probe(self) -> dict[str, Any]:
        """Where the factory is defined and the interpreter's versions, asked of the user's interpreter."""
        module, _, factory = self.params["model"].partition(":")
        snippet = (f"import json, sys, importlib\nsys.path[:0] = {self._path()!r}\nimport numpy\n"
                   f"m = importlib.import_module({module!r})\nf = getattr(m, {factory!r})\n"
                   "print(json.dumps({'file': m.__file__, 'python': sys.version.split()[0], "
                   "'numpy': numpy.__version__, 'callable': callable(f)}))")
        out = run_python_snippet(self.python, snippet, f"codec {self.name}: importing {self.params['model']}",
                                 timeout=300)
        info = json.loads(out.strip().splitlines()[-1])
        if not info["callable"]:
            raise AdapterError(f"codec {self.name}: {self.params['model']} is not callable")
        return info

    def _files(self) -> dict[str, str]:
        base = Path(self.params["descriptor_dir"] or ".")
        out = {}
        for f in self.params["files"]:
            p = Path(f).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                raise AdapterError(f"codec {self.name}: file {p} (files:) does not exist")
            out[str(f)] = sha256_file(p)
        return out

    def identity(self) -> dict[str, Any]:
        probe = self._probe
        return {**super().identity(), "model_file_sha256": tool_sha256(Path(probe["file"])),
                "files_sha256": self._files(), "python": probe["python"], "numpy": probe["numpy"],
                "driver_sha256": sha256_file(DRIVER),
                "device_type": "cuda" if self.params["device"].startswith("cuda") else "cpu"}

    def doctor(self) -> str:
        probe = self._probe
        return f"{self.params['model']} from {probe['file']} (Python {probe['python']}, numpy {probe['numpy']})"

    # -- one job ---------------------------------------------------------------------------------------------

    def _spec(self, task: CodingTask, phases: list[str], out: Path, rgb: Path | None) -> tuple[dict[str, Any], bool]:
        pinned = task.gpu is not None and self.uses_gpu()
        gop = task.frames if task.intra_period == -1 else task.intra_period
        return {"model": self.params["model"], "path": self._path(), "options": self.params["options"],
                "rate_point": task.rate_point, "device": "cuda:0" if pinned else self.params["device"],
                "kind": self.params["kind"], "gop": gop, "input": str(rgb) if rgb else None,
                "width": task.width, "height": task.height, "frames": task.frames, "out": str(out),
                "phases": phases, "complexity": "encode" in phases}, pinned

    def code_sequence(self, task: CodingTask) -> CodingResult:
        work = task.work_dir.resolve()
        rgb, out = work / "input.rgb", work / "driver"
        write_planar_rgb(task, rgb)
        spec, pinned = self._spec(task, ["encode", "decode"], out, rgb)
        run = run_driver(self.python, DRIVER, spec, task, f"codec {self.name}", self.params["timeout_s"] or None,
                         pinned)
        decoded = read_planar_rgb(out / "decoded.rgb", task, work / "decoded.raw")
        gop = spec["gop"]
        video = self.params["kind"] == "video"
        return CodingResult(
            bitstreams=[out / f"frame_{i:05d}.bin" for i in range(task.frames)], decoded_path=decoded,
            commands=[run.argv], encode_seconds=sum(f["encode_s"] for f in run.frames),
            decode_seconds=sum(f["decode_s"] for f in run.frames), frame_encode_s=[f["encode_s"] for f in run.frames],
            frame_decode_s=[f["decode_s"] for f in run.frames], complexity=run.complexity,
            frame_types=["I" if not video or i % gop == 0 else "P" for i in range(task.frames)],
            frame_bits=[8 * f["bytes"] for f in run.frames],
            codec_reported={"driver": {k: v for k, v in run.done.items() if k != "done"}},
            timing_details={"timed": "per frame: compress/decompress calls only (no file I/O), CUDA synchronised; "
                                     "frame 0 coded once before, untimed (the complexity count), as warm-up",
                            "device": spec["device"]},
            logs={"encode": run.log})

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        work = task.work_dir.resolve()
        out = work / "driver"
        out.mkdir(parents=True, exist_ok=True)
        for i, src in enumerate(bitstreams):
            (out / f"frame_{i:05d}.bin").write_bytes(src.read_bytes())
        spec, pinned = self._spec(task, ["decode"], out, None)
        run_driver(self.python, DRIVER, spec, task, f"codec {self.name}", self.params["timeout_s"] or None, pinned)
        return read_planar_rgb(out / "decoded.rgb", task, work / "decoded.raw")
