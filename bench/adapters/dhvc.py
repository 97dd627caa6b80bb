"""The DHVC line (NJUVISION/DHVC): DHVC 1.0 through our own driver, and DHVC 2.0's place for when it is released.

DHVC 1.0's official ``test.py`` keeps neither bitstreams nor reconstructions, so each job runs our driver
(``dhvc_driver.py``, in the user's DHVC environment, on the device the descriptor names): it codes the sequence
as ``test.py`` does and keeps one real bitstream file per frame and every decoded frame, which the suite
measures. One checkpoint is one rate point. With ``official_check: true`` the job also runs the official
``test.py`` on the same frames, in a private working folder (it appends to its result file and writes
``runs/`` and ``cache/`` where it runs), and fails unless its per-frame bits equal ours exactly and its PSNR
equals the driver's unrounded PSNR to 0.01 dB. Our own PSNR is on the 8-bit decoded frames, so it differs
from theirs by the rounding (the report shows by how much).

Intra period: ``test.py`` resets the temporal context when ``frame % gop == 0``; our ``-1`` is passed as the
frame count (one reset, at frame 0).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from bench.adapters import register
from bench.adapters.base import (
    Adapter,
    Capabilities,
    CodingResult,
    CodingTask,
    Param,
    checkpoint_index,
    validate_device,
)
from bench.adapters.codec_logs import dhvc_frame_lines
from bench.adapters.driver import read_planar_rgb, run_driver, write_planar_rgb
from bench.adapters.process import pinned_gpu_environment, run_program, run_python_snippet
from bench.errors import AdapterError, ConditionError
from bench.tools import sha256_file, tool_sha256
from bench.video.formats import PixelFormat, pixel_format
from bench.video.io import RawVideoReader, write_png_frame

DRIVER = Path(__file__).with_name("dhvc_driver.py")

# test.py imports ptflops and runs a FLOP count on uninitialised memory first (it fails at random when that
# memory holds NaN); the check runs it with that counter replaced, from a private folder.
_OFFICIAL_WRAPPER = """
import runpy, sys
import ptflops
ptflops.get_model_complexity_info = lambda *args, **kwargs: (0.0, 0)
code_dir = sys.argv[1]
sys.path.insert(0, code_dir)
sys.argv = [code_dir + "/test.py", *sys.argv[2:]]
runpy.run_path(code_dir + "/test.py", run_name="__main__")
"""


class _DhvcBase(Adapter):
    """Shared: the checkout, the interpreter, the checkpoints (one per rate point)."""

    subfolder: ClassVar[str]
    version = 1
    # RGB, as test.py reads its PNG frames; coding is single-threaded: with two threads DHVC 1.0 writes
    # different bytes (see dhvc_driver).
    capabilities: ClassVar[Capabilities] = Capabilities(("gbrp",), gpu=True, thread_neutral=False)
    PARAMS: ClassVar[dict[str, Param]] = {
        "checkout": Param(str, None, "your NJUVISION/DHVC clone", affects_result=False),
        "python": Param(str, "python3", "the interpreter of the environment where its requirements are installed",
                        affects_result=False),
        "checkpoints": Param(list, [], "one checkpoint file per rate point (rate points index this list); relative "
                             "paths start at the model folder, as in its README"),
        "device": Param(str, "cpu", "cpu, cuda or cuda:N", affects_result=False),
        "official_check": Param(bool, False, "also run the official test.py and require the same bits and PSNR",
                                affects_result=False),
        "timeout_s": Param(int, 0, "kill the driver after this many seconds (0: no limit)", affects_result=False),
    }

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        params = super().validate_params(raw, where)
        validate_device(params["device"], where)
        return params

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        return pixel_format("gbrp")  # RGB, as test.py reads its PNG frames

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        return checkpoint_index(cls.name, value, where)

    def code_dir(self) -> Path:
        raw = self.params["checkout"]
        if not raw:
            raise AdapterError(f"codec {self.name}: no checkout given; set checkout: to your NJUVISION/DHVC clone")
        folder = Path(raw).expanduser().resolve() / self.subfolder
        if not (folder / "models").is_dir():
            raise AdapterError(f"codec {self.name}: {folder} has no models/ folder; point checkout: at a clone of "
                               "NJUVISION/DHVC")
        return folder

    def checkpoint(self, index: int) -> Path:
        paths = self.params["checkpoints"]
        if index >= len(paths):
            raise AdapterError(f"codec {self.name}: rate point {index} has no checkpoint (the descriptor lists "
                               f"{len(paths)})")
        path = Path(paths[index]).expanduser()
        if not path.is_absolute():
            path = self.code_dir() / path
        if not path.is_file():
            raise AdapterError(f"codec {self.name}: checkpoint {path} does not exist")
        return path

    @functools.cached_property
    def _environment(self) -> dict[str, Any]:
        snippet = ("import json, sys\nimport torch\nprint(json.dumps({'python': sys.version.split()[0], 'torch': "
                   "torch.__version__, 'cuda': torch.cuda.is_available(), 'gpu': torch.cuda.get_device_name(0) if "
                   "torch.cuda.is_available() else None}))")
        out = run_python_snippet(self.params["python"], snippet, f"codec {self.name}: importing torch", timeout=300)
        return json.loads(out.strip().splitlines()[-1])

    def identity(self) -> dict[str, Any]:
        folder, env = self.code_dir(), self._environment
        model_files = sorted((folder / "models").glob("*.py"))
        return {**super().identity(), "torch": env["torch"], "driver_sha256": sha256_file(DRIVER),
                "model_sha256": {p.name: sha256_file(p) for p in model_files},
                "checkpoints_sha256": [tool_sha256(self.checkpoint(i)) for i in range(len(self.params["checkpoints"]))]}

    def _checkpoint_problems(self) -> list[str]:
        if not self.params["checkpoints"]:
            return ["no checkpoints listed (one per rate point)"]
        problems = []
        for i in range(len(self.params["checkpoints"])):
            try:
                self.checkpoint(i)
            except AdapterError as e:
                problems.append(str(e).removeprefix(f"codec {self.name}: "))
        return problems

    def doctor(self) -> str:
        folder = self.code_dir()
        problems = self._checkpoint_problems()
        env = self._environment
        if self.params["device"] != "cpu" and not env["cuda"]:
            problems.append(f"device {self.params['device']}: no CUDA device visible to torch in {self.params['python']}")
        if problems:
            raise AdapterError(f"codec {self.name}: " + "; ".join(problems))
        gpu = f", GPU {env['gpu']}" if env.get("gpu") else ""
        return f"{self.name} at {folder} (python {env['python']}, torch {env['torch']}, device {self.params['device']}{gpu})"


@register
class Dhvc1(_DhvcBase):
    name = "dhvc-1.0"
    subfolder = "dhvc-1.0"

    def gop(self, task: CodingTask) -> int:
        return task.frames if task.intra_period == -1 else task.intra_period

    def spec(self, task: CodingTask) -> dict[str, Any]:
        """What this model adds to the driver's job description."""
        return {}

    def code_sequence(self, task: CodingTask) -> CodingResult:
        folder, checkpoint = self.code_dir(), self.checkpoint(task.rate_point)
        work = task.work_dir.resolve()
        rgb = work / "input.rgb"
        write_planar_rgb(task, rgb)
        out = work / "driver"
        # A job the runner pinned to a GPU runs the driver with only that GPU visible, as cuda:0.
        pinned = task.gpu is not None and self.uses_gpu()
        spec = {"model": self.name, "code_dir": str(folder), "checkpoint": str(checkpoint), "input": str(rgb),
                "width": task.width, "height": task.height, "frames": task.frames, "gop": self.gop(task),
                "device": "cuda:0" if pinned else self.params["device"], "out": str(out), "complexity": True,
                **self.spec(task)}
        run = run_driver(self.params["python"], DRIVER, spec, task, f"codec {self.name}",
                         self.params["timeout_s"] or None, pinned)
        frames, done, log, argv = run.frames, run.done, run.log, run.argv
        decoded = read_planar_rgb(out / "decoded.rgb", task, work / "decoded.raw")
        bitstreams = [out / f"frame_{i:05d}.bin" for i in range(task.frames)]
        pixels = task.width * task.height
        reported: dict[str, Any] = {
            "driver_psnr_rgb_float": [f["psnr"] for f in frames],
            "frame_bits": [8 * f["bytes"] for f in frames],
            "reported_metrics": {"psnr_rgb": sum(f["psnr"] for f in frames) / len(frames),
                                 "bpp": sum(8 * f["bytes"] for f in frames) / (pixels * len(frames))},
            "gop_passed": self.gop(task), "device": self.params["device"], "gpu": self._environment.get("gpu"),
            "peak_gpu_bytes": done.get("peak_gpu_bytes"), "torch": done.get("torch"),
            "note": "PSNR on the unrounded output, as test.py computes it; ours is on the 8-bit decoded frames",
        }
        if self.params.get("official_check"):
            reported["official_check"] = self._official_check(task, work, checkpoint, frames)
        return CodingResult(bitstreams=bitstreams, decoded_path=decoded, commands=[argv],
                            encode_seconds=sum(f["encode_s"] for f in frames),
                            decode_seconds=sum(f["decode_s"] for f in frames),
                            frame_encode_s=[f["encode_s"] for f in frames],
                            frame_decode_s=[f["decode_s"] for f in frames], complexity=run.complexity,
                            timing_details={"timed": "per frame: net.compress (encode) and the file read, "
                                                     "net.decompress, clamp and crop (decode), CUDA synchronised; "
                                                     "no warm-up pass", "threads": 1, "device": spec["device"],
                                            "peak_gpu_memory_bytes": done.get("peak_gpu_bytes")},
                            frame_types=["I" if i % self.gop(task) == 0 else "P" for i in range(task.frames)],
                            frame_bits=reported.pop("frame_bits"), reported_metrics=reported.pop("reported_metrics"),
                            codec_reported=reported, logs={"encode": log})

    def _official_check(self, task: CodingTask, work: Path, checkpoint: Path,
                        frames: list[dict[str, Any]]) -> dict[str, Any]:
        """Run the official test.py on the same frames (PNG, as it reads them) and compare frame by frame."""
        private = work / "official"
        sequence = private / "data" / "sequence"
        sequence.mkdir(parents=True)
        for i, planes in enumerate(RawVideoReader(task.input_path, task.fmt, task.width, task.height).frames(
                0, task.frames)):
            write_png_frame(sequence / f"im{i + 1:05d}.png", planes)
        (private / "runs" / "results" / f"bench-gop{self.gop(task)}-first{task.frames}").mkdir(parents=True)
        argv = [self.params["python"], "-c", _OFFICIAL_WRAPPER, str(self.code_dir()), "-d", "bench", "-c",
                str(checkpoint), "-p", str(private / "data"), "-q", "0", "-g", str(self.gop(task)), "-f",
                str(task.frames)]
        pinned = task.gpu is not None and self.uses_gpu()
        env = {**(pinned_gpu_environment(task.gpu) if pinned and task.gpu is not None else os.environ),
               "PYTHONUNBUFFERED": "1"}
        log = run_program(argv, f"codec {self.name}: official test.py", self.params["timeout_s"] or None,
                          private / "test.log", cwd=private, env=env)
        theirs = dhvc_frame_lines(log)
        if [f[0] for f in theirs] != list(range(task.frames)):
            raise AdapterError(f"codec {self.name}: the official test.py printed {len(theirs)} frame lines, expected "
                               f"{task.frames}", log[-3000:])
        pixels = task.width * task.height
        their_bits = [round(bpp * pixels) for _, bpp, _ in theirs]
        our_bits = [8 * f["bytes"] for f in frames]
        psnr_diff = max(abs(p - f["psnr"]) for (_, _, p), f in zip(theirs, frames, strict=True))
        if their_bits != our_bits or psnr_diff > 0.01:
            raise AdapterError(f"codec {self.name}: the driver does not reproduce the official test.py: bits "
                               f"{our_bits} vs {their_bits}, largest PSNR difference {psnr_diff:.4f} dB", log[-3000:])
        return {"frames": len(theirs), "bits_equal": True, "their_bits": their_bits,
                "their_psnr": [p for _, _, p in theirs], "max_psnr_difference_to_driver": psnr_diff,
                "command": argv[:2] + ["<ptflops-stub wrapper>"] + argv[3:]}


@register
class Dhic(Dhvc1):
    """DHIC (ICLR 2026), a variable-rate image model: every frame coded as an image at quality index 0..63
    (one checkpoint for all rates; the rate point is the index). Its test_dhic.py does not run as shipped and
    reports likelihood estimates; our driver writes real bitstreams through the model's compress/decompress
    path (28-byte header of ours). Strict checkpoint loading: keys that do not fit stop the job."""

    name = "dhic"
    subfolder = "dhic"
    PARAMS: ClassVar[dict[str, Param]] = {
        **{k: v for k, v in _DhvcBase.PARAMS.items() if k not in ("checkpoints", "official_check")},
        "checkpoint": Param(str, None, "the model checkpoint (relative paths start at the dhic folder)"),
    }

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 63:
            raise ConditionError(f"{where}: {value!r} is not a rate point for dhic: expected a quality index 0..63")
        return value

    def check_condition(self, intra_period: int, where: str) -> None:
        if intra_period != 1:
            raise ConditionError(f"{where}: dhic is an image codec; set intra_period: 1 (every frame intra)")

    def checkpoint(self, index: int = 0) -> Path:
        raw = self.params["checkpoint"]
        if not raw:
            raise AdapterError("codec dhic: no checkpoint given in the descriptor")
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else self.code_dir() / path
        if not path.is_file():
            raise AdapterError(f"codec dhic: checkpoint {path} does not exist")
        return path

    def identity(self) -> dict[str, Any]:
        folder, env = self.code_dir(), self._environment
        return {**Adapter.identity(self), "torch": env["torch"], "driver_sha256": sha256_file(DRIVER),
                "model_sha256": {p.name: sha256_file(p) for p in sorted((folder / "models").glob("*.py"))},
                "checkpoint_sha256": tool_sha256(self.checkpoint())}

    def _checkpoint_problems(self) -> list[str]:
        try:
            self.checkpoint()
        except AdapterError as e:
            return [str(e).removeprefix("codec dhic: ")]
        return []

    def gop(self, task: CodingTask) -> int:
        return 1

    def spec(self, task: CodingTask) -> dict[str, Any]:
        return {"quality": task.rate_point}


@register
class Dhvc2(_DhvcBase):
    """DHVC 2.0 (arXiv 2410.02598): no code has been published (NJUVISION/DHVC at 145b8b3 holds none). The
    descriptor is defined; when the release appears, its model plugs into the driver as a new ``model`` entry
    (spec["model"] == "dhvc-2.0") and this adapter's ``code_sequence`` calls it like DHVC 1.0's. Until then every
    use says so and nothing runs: no results, no placeholder numbers."""

    name = "dhvc-2.0"
    subfolder = "dhvc-2.0"
    UNAVAILABLE = ("DHVC 2.0 is not available upstream: NJUVISION/DHVC publishes no DHVC 2.0 code (only the paper, "
                   "arXiv 2410.02598); this adapter will run it once the official release is out")

    @classmethod
    def unavailable(cls) -> str:
        return cls.UNAVAILABLE

    def identity(self) -> dict[str, Any]:
        raise AdapterError(f"codec {self.name}: {self.UNAVAILABLE}")

    def doctor(self) -> str:
        raise AdapterError(f"codec {self.name}: {self.UNAVAILABLE}")

    def code_sequence(self, task: CodingTask) -> CodingResult:
        raise AdapterError(f"codec {self.name}: {self.UNAVAILABLE}")

