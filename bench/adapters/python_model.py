"""``adapter: python-model``: your own image or video model, in your own environment, without an adapter.

The descriptor names a factory (``model: package.module:factory``) and the interpreter of your environment
(``python:``; default: the suite's own). Our driver (:mod:`bench.adapters.model_driver`) runs there and calls
the small protocol its docstring gives: ``factory(rate_point, device, **options)``, ``compress(frame) ->
bytes``, ``decompress(data, height, width) -> frame`` on R, G, B float32 frames in [0, 1], and ``reset()`` at
every intra frame of a video model. A rate point is one number or word, or, where the descriptor declares
``rate_point_fields: [intra, inter]``, a list of that many values, handed to the factory as that list.

What the decoder is meant to read: the bytes, and nothing the encoder saw. The encoder's driver runs in
``<job>/encode`` (its working folder: a relative path the model writes or reads starts there) with the input
(``input.rgb``) and writes each frame's bytes to their own file (the rate is those files); the files are checked
(a missing or empty one fails the job, named) and moved out, and that folder is deleted. A second driver
process, which never saw the input or the encoder's objects, then decodes copies of them in a fresh
``<job>/decode`` folder holding nothing else, and working there; the decoded frames are what the suite
measures. A model that kept frames in a module global, read the input file or wrote scratch files at relative
paths gets none of them back. This is isolation by folders and processes, not a sandbox: an absolute path (or
``<job>/..``) the encoder wrote to stays reachable, so a model written to cheat can; it catches honest mistakes.
The stored files can be decoded again later the same way.

Paths in the descriptor: ``model:`` is imported from the ``path:`` folders (default: the descriptor's folder),
``path:``, ``files:`` and a ``python:`` given as a relative path (with a ``/``) start at the descriptor's folder;
``options`` are handed to the factory as written, except that ``{descriptor_dir}`` in a string is replaced with
the descriptor's folder (the key keeps the text as written), so a relative path in ``options`` starts at the
step's folder: give it absolute or as ``{descriptor_dir}/...``.

What enters the job key: the factory's name, its ``options``, the SHA-256 of the file that defines it and of
every file in ``files:`` (your checkpoints), the interpreter's Python and numpy versions, the kind, and the
device type (a learned entropy coder can code differently on a GPU); not the GPU's index.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

from bench.adapters import register
from bench.adapters.base import (
    RATE_POINT_FIELDS_HELP,
    RATE_POINT_KINDS,
    Adapter,
    Capabilities,
    CodingResult,
    CodingTask,
    Param,
    check_bitstream_files,
    check_rate_point_fields,
    check_rate_point_kind,
    check_rate_range,
    descriptor_rate_point,
    validate_device,
)
from bench.adapters.driver import DriverRun, read_planar_rgb, run_driver, write_planar_rgb
from bench.adapters.process import run_python_snippet
from bench.errors import AdapterError, ConditionError
from bench.tools import sha256_file, tool_sha256
from bench.video.formats import PixelFormat, pixel_format

DRIVER = Path(__file__).with_name("model_driver.py")


@register
class PythonModel(Adapter):
    name = "python-model"
    version = 1
    rate_knob = "rate point"
    needs_descriptor = True  # doctor with no codec named: "needs a descriptor", not its parameter error
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
        "rate_point_fields": Param(list, None, RATE_POINT_FIELDS_HELP + "; the factory's rate_point is then that list"),
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
        check_rate_point_fields(params["rate_point_fields"], where)
        return params

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return descriptor_rate_point(value, where, "a Python model")

    def rate_point_identity(self, rate_point: Any) -> dict[str, Any]:
        check_rate_point_kind(self.name, rate_point, self.params["rate_points"], self.params["rate_range"],
                              self.params["rate_point_fields"])
        return {}

    def result_params(self) -> dict[str, Any]:
        # rate_point_fields only where set: the keys of descriptors written before it existed stay as they were.
        return {k: v for k, v in super().result_params().items() if k != "rate_point_fields" or v is not None}

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        return pixel_format("gbrp")

    # -- the environment and the identity --------------------------------------------------------------------

    def _base(self) -> Path:
        """Where relative paths of the descriptor start: its folder (the suite's current one for a codec made
        without a descriptor, e.g. by the conformance check), as an absolute path."""
        return Path(self.params["descriptor_dir"] or ".").absolute()

    @property
    def python(self) -> str:
        """The interpreter: a bare name is looked up on PATH; a relative path starts at the descriptor's folder
        (not resolved through links: a virtual environment's python is a link to the base interpreter)."""
        python = self.params["python"] or sys.executable
        if "/" in python and not Path(python).expanduser().is_absolute():
            return str(self._base() / python)
        return str(Path(python).expanduser()) if python.startswith("~") else python

    def _options(self) -> Any:
        """The factory's keyword arguments as the driver gets them: ``{descriptor_dir}`` in a string replaced (the
        driver works in the step's folder, so a relative path there would not start where the user wrote it)."""
        def expand(value: Any) -> Any:
            if isinstance(value, str):
                return value.replace("{descriptor_dir}", str(self._base()))
            if isinstance(value, list):
                return [expand(v) for v in value]
            return {k: expand(v) for k, v in value.items()} if isinstance(value, dict) else value
        return expand(self.params["options"])

    def _path(self) -> list[str]:
        base = self._base()
        folders = self.params["path"] or [str(base)]
        return [str((base / Path(f).expanduser()).resolve()) for f in folders]

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
        out = {}
        for f in self.params["files"]:
            p = self._base() / Path(f).expanduser()  # an absolute one stays as it is
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

    def _device(self, task: CodingTask) -> str:
        # A pinned job sees only its GPU, as cuda:0 (bench.adapters.process.pinned_gpu_environment).
        return "cuda:0" if task.gpu is not None and self.uses_gpu() else self.params["device"]

    def _driver(self, task: CodingTask, phase: str, rgb: Path | None = None, warmup: bool = False) -> DriverRun:
        """Run the driver for one PHASE in task.work_dir (its job description, log and frame files there), working
        there: a relative path the model uses starts in that step's folder, not in the user's."""
        gop = task.frames if task.intra_period == -1 else task.intra_period
        spec = {"model": self.params["model"], "path": self._path(), "options": self._options(),
                "rate_point": task.rate_point, "device": self._device(task), "kind": self.params["kind"], "gop": gop,
                "input": str(rgb) if rgb else None, "width": task.width, "height": task.height,
                "frames": task.frames, "out": str(task.work_dir), "phase": phase, "complexity": phase == "encode",
                "warmup": warmup}
        return run_driver(self.python, DRIVER, spec, task, f"codec {self.name}: {phase}r",
                          self.params["timeout_s"] or None, task.gpu is not None and self.uses_gpu(),
                          cwd=task.work_dir)

    @staticmethod
    def _step(task: CodingTask, step: str) -> CodingTask:
        """TASK with a fresh, empty ``<job>/<step>`` folder as its work folder: that step's driver runs there."""
        folder = task.work_dir.resolve() / step
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return dataclasses.replace(task, work_dir=folder)

    def code_sequence(self, task: CodingTask) -> CodingResult:
        encoding = self._step(task, "encode")
        write_planar_rgb(task, encoding.work_dir / "input.rgb")
        encoded = self._driver(encoding, "encode", rgb=encoding.work_dir / "input.rgb")
        bitstreams = self._keep_bitstreams(encoding.work_dir, task.work_dir.resolve() / "streams", task.frames)
        # The decoder: another process, in another folder, after the encoder's (the input with it) was deleted.
        decoded, decoding = self._decode(task, bitstreams, warmup=True)
        gop = task.frames if task.intra_period == -1 else task.intra_period
        video = self.params["kind"] == "video"
        return CodingResult(
            bitstreams=bitstreams, decoded_path=decoded, commands=[encoded.argv, decoding.argv],
            encode_seconds=sum(f["encode_s"] for f in encoded.frames),
            decode_seconds=sum(f["decode_s"] for f in decoding.frames),
            frame_encode_s=[f["encode_s"] for f in encoded.frames],
            frame_decode_s=[f["decode_s"] for f in decoding.frames], complexity=encoded.complexity,
            frame_types=["I" if not video or i % gop == 0 else "P" for i in range(task.frames)],
            frame_bits=[8 * p.stat().st_size for p in bitstreams],
            codec_reported={"driver": {k: v for k, v in encoded.done.items() if k != "done"}},
            timing_details={"timed": "per frame: compress/decompress calls only (no file I/O), CUDA synchronised; "
                                     "encoder and decoder each in a process of its own, after one untimed call as "
                                     "warm-up (frame 0 coded for the complexity count; frame 0 decoded on an "
                                     "instance of its own)", "device": self._device(task)},
            logs={"encode": encoded.log, "decode": decoding.log})

    def _keep_bitstreams(self, encoder_dir: Path, dest: Path, frames: int) -> list[Path]:
        """The encoder's frame files, checked (a missing or empty one fails the job, named) and moved to DEST;
        then the encoder's folder (the input, anything the model wrote there) is deleted."""
        files = [encoder_dir / f"frame_{i:05d}.bin" for i in range(frames)]
        check_bitstream_files(self.name, files)
        dest.mkdir(parents=True, exist_ok=True)
        kept = [Path(shutil.move(f, dest / f.name)) for f in files]
        shutil.rmtree(encoder_dir)
        return kept

    def _decode(self, task: CodingTask, bitstreams: list[Path], warmup: bool) -> tuple[Path, DriverRun]:
        """Decode copies of BITSTREAMS (one per frame, in order) with a driver process of its own, in a fresh
        ``<job>/decode`` folder holding nothing else; (the raw decoded frames in task.fmt, the driver's run).
        WARMUP: one untimed decompress first, where the per-frame times are recorded (a coding run)."""
        # No progress callback: the encoder's run already counted the frames up to all of them.
        decoding = self._step(dataclasses.replace(task, progress=None), "decode")
        for i, src in enumerate(bitstreams):
            shutil.copyfile(src, decoding.work_dir / f"frame_{i:05d}.bin")
        run = self._driver(decoding, "decode", warmup=warmup)
        return read_planar_rgb(decoding.work_dir / "decoded.rgb", task, task.work_dir.resolve() / "decoded.raw"), run

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        return self._decode(task, bitstreams, warmup=False)[0]
