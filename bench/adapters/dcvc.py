"""The DCVC family (microsoft/DCVC): DCVC, TCM, HEM, DC, FM, RT, UF and the image codec EVC, each run through
its own official ``test_video.py`` (``test_image.py`` for EVC) in the user's own checkout and environment.

A job is one sequence at one rate point. The adapter writes that generation's test-config JSON for exactly
that sequence, lays the prepared input out as the generation reads it (a raw 8-bit YUV 4:2:0 file, or a folder
of ``im00001.png`` ... made from the condition's colour path), runs the script with ``-w 1`` and one rate
(``--rate_num 1`` with the rate given explicitly), then reads back the decoded frames it saved and the
bitstream files it wrote. We measure the decoded frames; the rate is the bitstream bytes. The script's own
output JSON is kept as codec-reported numbers beside ours.

Rate points, in each generation's own terms:

* ``dcvc``, ``dcvc-tcm``: an index into the descriptor's ``checkpoints`` list of [intra, inter] pairs;
* ``dcvc-hem``, ``evc``: an index into the q-scales their script would test for ``rate_num`` rates (the
  checkpoint's own four when ``rate_num`` is 4, else log-interpolated), read from the checkpoint by the
  generation's own code in its own environment;
* ``dcvc-dc``, ``dcvc-fm``: a q-index 0..63 (64-level scale between the checkpoint's extremes);
* ``dcvc-rt``, ``dcvc-uf``: a QP 0..63 (higher is better quality, the opposite of VTM).

Intra period, as the condition defines it (``-1``: only frame 0; ``N``: frames 0, N, 2N ...). Up to FM the
scripts test ``frame_idx % period == 0``, so their own -1 codes every frame intra; our -1 is passed as the
frame count. RT takes -1 natively. UF's periodic intra frames fall at 0, N+1, 2N+1 (and not reliably in its
hierarchical modes), which is not our N, so UF accepts only -1.

Where a generation cannot write a bitstream on the chosen device (DC and FM on a CPU call
``torch.cuda.synchronize``), the job runs in their estimation mode only if the descriptor says
``allow_estimated_bits: true``; its records say ``bits_source: estimated`` and every table and figure marks them.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass
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
from bench.adapters.codec_logs import dcvc_entry_metrics
from bench.adapters.process import pinned_gpu_environment, run_program, run_python_snippet
from bench.errors import AdapterError, ConditionError
from bench.tools import tool_sha256
from bench.video.formats import PixelFormat, pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter, read_png_frame, write_png_frame

SEQUENCE = "sequence"  # the one sequence of every config we write
CLASS = "bench"  # and its class


@dataclass(frozen=True)
class Generation:
    """What differs between generations, as far as running their script is concerned."""

    folder: str  # where the script lives in a microsoft/DCVC checkout (documentation and doctor hints)
    script: str
    config: str  # "legacy" (DCVC, TCM), "gop" (HEM, DC), "intra_period" (FM, RT, UF), "image" (EVC)
    src_types: tuple[str, ...]
    rate: str  # "pair", "q_scale", "q_index", "qp"
    period_minus_one: bool  # their own -1 means "only frame 0"
    stream_on_cpu: bool  # their stream path runs without CUDA (else it calls torch.cuda.synchronize)
    needs_cuda: bool  # real CUDA work (streams, half precision): no CPU run at all
    estimated_mode: bool  # can run without writing a bitstream
    rans_module: str  # import path of the entropy-coder extension, relative to the script folder
    rans_build: str  # that repository's README command
    cuda_module: str = ""
    cuda_build: str = ""


_CMAKE = "cd src && mkdir build && cd build && cmake ../cpp -DCMAKE_BUILD_TYPE=Release && make -j"
GENERATIONS: dict[str, Generation] = {
    "dcvc": Generation("DCVC-family/DCVC", "test_video.py", "legacy", ("png",), "pair", False, True, False, True,
                       "src.entropy_models.MLCodec_rans", _CMAKE),
    "dcvc-tcm": Generation("DCVC-family/DCVC-TCM", "test_video.py", "legacy", ("png",), "pair", False, True, False,
                           True, "src.entropy_models.MLCodec_rans", _CMAKE),
    "dcvc-hem": Generation("DCVC-family/DCVC-HEM", "test_video.py", "gop", ("png",), "q_scale", False, True, False,
                           True, "src.entropy_models.MLCodec_rans", _CMAKE),
    "dcvc-dc": Generation("DCVC-family/DCVC-DC", "test_video.py", "gop", ("yuv420", "png"), "q_index", False, False,
                          False, True, "src.models.MLCodec_rans", _CMAKE),
    "dcvc-fm": Generation("DCVC-family/DCVC-FM", "test_video.py", "intra_period", ("yuv420", "png"), "q_index", False,
                          False, False, True, "src.models.MLCodec_rans", _CMAKE, "src.models.extensions.block_mc_cpp_cuda",
                          "cd src/models/extensions && python setup.py build_ext --inplace"),
    "dcvc-rt": Generation("DCVC-family/DCVC-RT", "test_video.py", "intra_period", ("yuv420", "png"), "qp", True, False,
                          True, False, "MLCodec_extensions_cpp", "cd src/cpp && pip install .",
                          "inference_extensions_cuda", "cd src/layers/extensions/inference && pip install ."),
    "dcvc-uf": Generation(".", "test_video.py", "intra_period", ("yuv420", "png"), "qp", True, False, True, False,
                          "MLCodec_extensions_cpp", "cd src/cpp && bash install.sh", "inference_extensions_cuda",
                          "git clone https://github.com/NVIDIA/cutlass third_party/cutlass (checkout v4.4.1), then "
                          "cd src/layers/extensions/inference && bash install.sh"),
    # EVC calls torch.cuda.synchronize() in both paths: on a CPU only with the shim.
    "evc": Generation("DCVC-family/EVC", "test_image.py", "image", ("png",), "q_scale", False, False, False, True,
                      "src.models.MLCodec_rans", _CMAKE),
}

# Makes torch.cuda.synchronize a no-op for CPU devices in the generation's processes (workers included, via
# sitecustomize), so a stream path whose only CUDA call is that timing barrier can run on a CPU. Used only
# when the descriptor asks (cpu_sync_shim: true) and recorded in every record.
CPU_SYNC_SHIM = Path(__file__).with_name("cpu_sync_shim")

# A coded frame: "frame 3, 0.52 seconds, ..." (TCM to DC), "frame 3 encoded, ..." (FM); not "frame 3 decoded".
# tqdm's bar shares the stream without a newline of its own, so the report may follow it on the same line.
_FRAME_LINE = re.compile(r"\bframe (\d+)(?:,| encoded)")
_NUMBER_IN_NAME = re.compile(r"(\d+)(?!.*\d)")


def _frame_number(path: Path) -> int:
    m = _NUMBER_IN_NAME.search(path.stem)
    return int(m.group(1)) if m else -1


def _frame_types(entry: dict[str, Any], frames: int) -> list[str] | None:
    """The frame types in the script's result ENTRY ("I" for its 0, else "P"), where it gives one per frame."""
    if isinstance(entry.get("frame_type"), list) and len(entry["frame_type"]) == frames:
        return ["I" if t == 0 else "P" for t in entry["frame_type"]]
    return None


# What a record's times and complexity are for every generation (their scripts run in processes of their own).
_TIMED = ("the script's own per-frame averages times the frames where it reports them (RT, UF), else its process's "
          "wall clock (model loading, I/O and the worker pool included)")
_NOT_COUNTED = ("the DCVC test script runs the model in its own process; the suite does not instrument it (no "
                "kMAC/pixel is guessed)")


class DcvcFamily(Adapter):
    """Shared plumbing: the checkout, the interpreter, the config, the run, and reading the results back."""

    generation: ClassVar[Generation]
    version = 1
    # Their test_video.py decodes inside its own run (no decoder on its own), so the runner keeps the decoded
    # frames; src_type yuv420 reads 8-bit 4:2:0, png RGB.
    capabilities: ClassVar[Capabilities] = Capabilities(("yuv420p", "gbrp"), gpu=True)
    PARAMS: ClassVar[dict[str, Param]] = {
        "checkout": Param(str, None, "the generation's folder in your microsoft/DCVC checkout (holds test_video.py)",
                          affects_result=False),
        "python": Param(str, "python3", "the interpreter of the environment where that generation is installed",
                        affects_result=False),
        "i_frame_model": Param(str, None, "intra checkpoint file"),
        "p_frame_model": Param(str, None, "inter checkpoint file"),
        "device": Param(str, "cpu", "cpu, cuda or cuda:N", affects_result=False),
        "src_type": Param(str, None, "yuv420 (8-bit 4:2:0 file) or png (RGB frames): what the script reads"),
        "write_stream": Param(bool, True, "write and decode real bitstreams (needs the generation's C++ coder)"),
        "allow_estimated_bits": Param(bool, False, "where no bitstream can be written, accept the entropy estimate"),
        "cpu_sync_shim": Param(bool, False, "on a CPU, make torch.cuda.synchronize a no-op in the script's processes "
                               "so a path whose only CUDA call is that timing barrier runs (recorded)"),
        "extra_args": Param(list, [], "more options for the script, after ours"),
        "timeout_s": Param(int, 0, "kill the script after this many seconds (0: no limit)", affects_result=False),
    }

    # -- parameters and rules --

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        params = super().validate_params(raw, where)
        gen = cls.generation
        if params["src_type"] is None:
            params["src_type"] = gen.src_types[0]
        if params["src_type"] not in gen.src_types:
            raise ConditionError(f"{where}.src_type: {cls.name} reads {' or '.join(gen.src_types)}, not "
                                 f"{params['src_type']!r}")
        validate_device(params["device"], where)
        if gen.needs_cuda and params["device"] == "cpu":
            raise ConditionError(f"{where}.device: {cls.name} runs only on a CUDA GPU (its script requires it); "
                                 "set device: cuda")
        if cls.name == "evc" and params["device"] == "cpu" and not params["cpu_sync_shim"]:
            raise ConditionError(f"{where}.device: evc calls torch.cuda.synchronize for every image; on a CPU set "
                                 "cpu_sync_shim: true (recorded) or device: cuda")
        return params

    def check_condition(self, intra_period: int, where: str) -> None:
        if intra_period == 0 or intra_period < -1:
            raise ConditionError(f"{where}: intra_period {intra_period} is not -1 or a positive number")

    def _mode(self) -> tuple[bool, str]:
        """(write a bitstream?, why not if not) for this descriptor on its device."""
        gen, p = self.generation, self.params
        if not p["write_stream"]:
            return False, "write_stream: false in the descriptor"
        if p["device"] == "cpu" and not gen.stream_on_cpu and not p["cpu_sync_shim"]:
            return False, f"{self.name}'s stream path calls torch.cuda.synchronize, which fails on a CPU"
        return True, ""

    # -- the checkout --

    def _folder(self) -> Path:
        raw = self.params["checkout"]
        # dcvc-uf's script is at the clone's root, where "the . folder of your clone" would read as a typo
        sub = self.generation.folder
        where = (f"the {sub} folder of your microsoft/DCVC clone" if sub != "." else
                 "your microsoft/DCVC clone (its root folder)")
        if not raw:
            raise AdapterError(f"codec {self.name}: no checkout given; set checkout: to {where}")
        folder = Path(raw).expanduser().resolve()
        if not (folder / self.generation.script).is_file():
            raise AdapterError(f"codec {self.name}: {folder} has no {self.generation.script}; point checkout: at "
                               f"{where}")
        return folder

    def _checkpoint(self, key: str) -> Path:
        raw = self.params.get(key)
        if not raw:
            raise AdapterError(f"codec {self.name}: no {key} given in the descriptor")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self._folder() / path
        if not path.is_file():
            raise AdapterError(f"codec {self.name}: {key} {path} does not exist (download it as that generation's "
                               "README says, or train your own)")
        return path

    def checkpoints(self) -> dict[str, Path]:
        return {"i_frame_model": self._checkpoint("i_frame_model"), "p_frame_model": self._checkpoint("p_frame_model")}

    def _python(self, snippet: str, what: str) -> str:
        """Run a few lines with the generation's interpreter in its folder (its own imports work there)."""
        return run_python_snippet(self.params["python"], snippet, f"codec {self.name}: {what}", cwd=self._folder())

    @functools.cached_property
    def _environment(self) -> dict[str, Any]:
        """Versions and what the generation's environment can import (native extensions included)."""
        gen = self.generation
        snippet = f"""
import json, importlib, sys
out = {{"python": sys.version.split()[0]}}
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda_available"] = torch.cuda.is_available()
    out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
except Exception as e:
    out["torch"] = None; out["torch_error"] = repr(e)
for key, mod in (("rans", {gen.rans_module!r}), ("cuda_kernels", {gen.cuda_module!r})):
    if not mod:
        continue
    try:
        importlib.import_module(mod); out[key] = True
    except Exception as e:
        out[key] = False; out[key + "_error"] = repr(e)[:300]
print(json.dumps(out))
"""
        return json.loads(self._python(snippet, "probing the environment").strip().splitlines()[-1])

    def identity(self) -> dict[str, Any]:
        folder, env = self._folder(), self._environment
        if env.get("torch") is None:
            raise AdapterError(f"codec {self.name}: torch does not import in {self.params['python']}: "
                               f"{env.get('torch_error')}")
        script = folder / self.generation.script
        return {**super().identity(), "script_sha256": tool_sha256(script), "torch": env["torch"],
                "checkpoints_sha256": {k: tool_sha256(p) for k, p in self.checkpoints().items()}}

    def doctor(self) -> str:
        """Everything a run needs, each missing piece named with what to do (all of them, not the first)."""
        folder = self._folder()
        problems = self._checkpoint_problems()
        try:
            env = self._environment
        except AdapterError as e:  # the interpreter itself does not run
            problems.append(str(e).removeprefix(f"codec {self.name}: "))
            raise AdapterError(f"codec {self.name}: " + "; ".join(problems)) from None
        stream, why = self._mode()
        problems += self._environment_problems(env, stream, folder)
        if problems:
            raise AdapterError(f"codec {self.name}: " + "; ".join(problems))
        return self._ready_line(folder, env, stream, why)

    def _checkpoint_problems(self) -> list[str]:
        """What is wrong with the model files the descriptor names, each without the codec's prefix (doctor's)."""
        problems = []
        for key in [k for k in self.PARAMS if k in ("i_frame_model", "p_frame_model")]:
            try:
                self._checkpoint(key)
            except AdapterError as e:
                problems.append(str(e).removeprefix(f"codec {self.name}: "))
        if "checkpoints" in self.PARAMS:
            try:
                self.checkpoints()
            except AdapterError as e:
                problems.append(str(e).removeprefix(f"codec {self.name}: "))
        return problems

    def _environment_problems(self, env: dict[str, Any], stream: bool, folder: Path) -> list[str]:
        """What the interpreter's environment ENV lacks for a run: torch, the entropy coder where a bitstream is
        written (STREAM), a CUDA device where one is needed; each with what to do."""
        gen, problems = self.generation, []
        if env.get("torch") is None:
            problems.append(f"torch does not import in {self.params['python']}: {env.get('torch_error')}")
        if stream and not env.get("rans"):
            problems.append(f"its entropy coder {gen.rans_module} does not import (build it: cd {folder} && "
                            f"{gen.rans_build}); or set write_stream: false and allow_estimated_bits: true")
        if (gen.needs_cuda or self.params["device"] != "cpu") and not env.get("cuda_available"):
            problems.append(f"device {self.params['device']}: no CUDA device visible to torch in "
                            f"{self.params['python']}")
        return problems

    def _ready_line(self, folder: Path, env: dict[str, Any], stream: bool, why: str) -> str:
        """Doctor's answer when nothing is missing: where, which versions, which device and how it codes."""
        gen = self.generation
        kernels = ""
        if gen.cuda_module:
            kernels = (", CUDA kernels" if env.get("cuda_kernels") else
                       f", CUDA kernels missing (PyTorch fallback; build: {gen.cuda_build})")
        mode = "real bitstreams" if stream else f"estimated bits ({why})"
        return (f"{self.name} at {folder} (python {env['python']}, torch {env['torch']}, device "
                f"{self.params['device']}{', GPU ' + env['gpu'] if env.get('gpu') else ''}{kernels}; {mode})")

    # -- one job --

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        if self.params["src_type"] == "yuv420":
            if coding.family != "yuv" or coding.chroma != "420" or coding.bit_depth != 8:
                raise AdapterError(f"codec {self.name}: src_type yuv420 reads 8-bit 4:2:0; the condition codes "
                                   f"{coding.name} (set colour.coding_format: yuv420p, or src_type: png)")
            return coding
        return pixel_format("gbrp")  # 8-bit RGB, written out as PNG frames

    def intra_period_arg(self, intra_period: int, frames: int) -> int:
        """Our intra period in the generation's own terms (see the module docstring)."""
        if intra_period == -1:
            return -1 if self.generation.period_minus_one else max(frames, 1)
        return intra_period

    def rate_args(self, rate_point: Any) -> list[str]:  # pragma: no cover - every generation overrides it
        raise NotImplementedError

    def config_json(self, task: CodingTask, data_root: Path) -> dict[str, Any]:
        gen, src = self.generation, self.params["src_type"]
        name = f"{SEQUENCE}.yuv" if src == "yuv420" else SEQUENCE
        period = self.intra_period_arg(task.intra_period, task.frames)
        if gen.config == "legacy":
            return {CLASS: {"base_path": str(data_root), "sequences": {name: {"frames": task.frames, "gop": period}}},
                    } if self.name == "dcvc" else {
                CLASS: {"test": 1, "base_path": str(data_root), "sequences": {name: {"frames": task.frames,
                                                                                    "gop": period}}}}
        key = "gop" if gen.config == "gop" else "intra_period"
        return {"root_path": str(data_root.parent), "test_classes": {CLASS: {
            "test": 1, "base_path": data_root.name, "src_type": src,
            "sequences": {name: {"width": task.width, "height": task.height, "frames": task.frames, key: period}}}}}

    def command(self, task: CodingTask, config: Path, out: Path, stream: bool) -> list[str]:
        """The script's command line for one job (paths inside the job's work folder)."""
        p, gen = self.params, self.generation
        args = [p["python"], gen.script, "--test_config", str(config), "-w", "1"]
        args += self.model_args()
        args += self.rate_args(task.rate_point)
        period = self.intra_period_arg(task.intra_period, task.frames)
        if gen.config != "image":
            if task.intra_period == 1:
                args += ["--force_intra", "1"] if self.name != "dcvc" else []
            if self.name != "dcvc":
                args += ["--force_frame_num", str(task.frames), "--force_intra_period", str(period)]
        args += self.device_args(self.process_device(task))
        args += self.output_args(out, stream)
        return [*args, *p["extra_args"]]

    def model_args(self) -> list[str]:
        c = self.checkpoints()
        return ["--i_frame_model_path", str(c["i_frame_model"]), "--model_path", str(c["p_frame_model"])]

    def process_device(self, task: CodingTask) -> str:
        """The device as the script's process sees it: a job the runner pinned to a GPU runs with only that GPU
        visible (see :meth:`environment`), where it is cuda:0."""
        return "cuda:0" if task.gpu is not None and self.uses_gpu() else self.params["device"]

    def environment(self, task: CodingTask) -> dict[str, str]:
        env = pinned_gpu_environment(task.gpu) if task.gpu is not None and self.uses_gpu() else dict(os.environ)
        if self.params["device"] == "cpu" and self.params["cpu_sync_shim"]:
            env["PYTHONPATH"] = os.pathsep.join([str(CPU_SYNC_SHIM), *filter(None, [env.get("PYTHONPATH")])])
        return env

    def device_args(self, device: str) -> list[str]:
        if device == "cpu":
            return ["--cuda", "0"]
        index = device.partition(":")[2]
        return ["--cuda", "1", *(["--cuda_device", index] if index else [])]

    def output_args(self, out: Path, stream: bool) -> list[str]:
        return ["--write_stream", str(int(stream)), "--stream_path", str(out / "stream"), "--save_decoded_frame", "1",
                "--decoded_frame_path", str(out / "decoded"), "--output_path", str(out / "result.json"),
                "--verbose", "2"]

    def code_sequence(self, task: CodingTask) -> CodingResult:
        folder = self._folder()
        stream, why = self._mode()
        self._check_bits_mode(stream, why)
        work = task.work_dir.resolve()
        out = work / "out"
        argv = self._prepare_job(task, work, out, stream)
        shim = self.params["device"] == "cpu" and self.params["cpu_sync_shim"]
        log, seconds = self._run_script(task, argv, folder, work)
        entry = self._result_entry(out / "result.json", log)
        decoded = work / "decoded.raw"
        self._collect_decoded(out, task, decoded, log)
        bitstreams = self._written_bitstreams(out, stream, log)
        frames = int(entry.get("i_frame_num", 0)) + int(entry.get("p_frame_num", 0)) or task.frames
        estimated = None if stream else self._estimated_bits(entry, task, frames, out / "result.json", log)
        reported = self._reported(entry, log, stream, shim, task)
        frame_types = _frame_types(entry, task.frames)
        reported["wall_s"] = seconds
        encode_s, decode_s = self._codec_times(entry, task.frames, seconds)
        return CodingResult(bitstreams=bitstreams, decoded_path=decoded, commands=[argv], encode_seconds=encode_s,
                            decode_seconds=decode_s, frame_types=frame_types, frame_bits=reported.pop("frame_bits", None),
                            reported_metrics=reported.pop("reported_metrics"), codec_reported=reported,
                            logs={"encode": log}, estimated_bits=estimated,
                            timing_details={"timed": _TIMED, "device": self.params.get("device", "cpu")},
                            complexity={"not_counted": _NOT_COUNTED})

    def _check_bits_mode(self, stream: bool, why: str) -> None:
        """AdapterError when no bitstream can be written (STREAM false, for WHY) and estimated bits cannot stand in:
        the descriptor does not accept them, or the generation has no estimation mode."""
        if not stream and not self.params["allow_estimated_bits"]:
            raise AdapterError(f"codec {self.name}: cannot write a bitstream here ({why}); set "
                               "allow_estimated_bits: true to accept the entropy estimate (marked estimated)")
        if not stream and not self.generation.estimated_mode:
            raise AdapterError(f"codec {self.name}: has no estimation mode; it needs write_stream on a CUDA device")

    def _prepare_job(self, task: CodingTask, work: Path, out: Path, stream: bool) -> list[str]:
        """Lay out WORK as the script expects (the input under data/, its test config, OUT for what it writes);
        the script's command line."""
        data_root = work / "data" / CLASS
        data_root.mkdir(parents=True)
        self._lay_out_input(task, data_root)
        out.mkdir()
        config = work / "test_config.json"
        config.write_text(json.dumps(self.config_json(task, data_root), indent=1))
        return self.command(task, config, out, stream)

    def _run_script(self, task: CodingTask, argv: list[str], folder: Path, work: Path) -> tuple[str, float]:
        """Run the script in the checkout FOLDER, each frame it reports coded passed on as progress; its log and
        its wall-clock seconds."""
        env = self.environment(task)
        coded = 0

        def on_line(line: str) -> None:
            nonlocal coded
            if task.progress is not None and _FRAME_LINE.search(line):
                coded += 1
                task.progress(min(coded, task.frames), task.frames)

        t0 = time.perf_counter()
        log = run_program(argv, f"codec {self.name}: {self.generation.script}", self.params["timeout_s"] or None,
                          work / "script.log", on_line, cwd=folder, env=env, own_group=True)
        return log, time.perf_counter() - t0

    def _written_bitstreams(self, out: Path, stream: bool, log: str) -> list[Path]:
        """The .bin files the script wrote under OUT/stream, in frame order (none without STREAM); AdapterError
        when it was asked for a bitstream and wrote none."""
        bitstreams = sorted((p for p in (out / "stream").rglob("*.bin")), key=_frame_number) if stream else []
        if stream and not bitstreams:
            raise AdapterError(f"codec {self.name}: asked for a bitstream but the script wrote no .bin file under "
                               f"{out / 'stream'}", log[-3000:])
        return bitstreams

    def _codec_times(self, entry: dict[str, Any], frames: int, wall: float) -> tuple[float, float]:
        """(encode, decode) seconds: their own per-frame averages times the frames where they report them (RT,
        UF: model calls timed with CUDA synchronisation, warm-up excluded); else our wall clock around the
        whole script (encode, decode, I/O and their metrics together) and no separate decode time (0)."""
        enc, dec = entry.get("avg_frame_encoding_time"), entry.get("avg_frame_decoding_time")
        if isinstance(enc, (int, float)) and isinstance(dec, (int, float)):
            return enc * self._timed_calls(frames), dec * self._timed_calls(frames)
        return wall, 0.0

    def _timed_calls(self, frames: int) -> int:
        return frames

    # -- input and output files --

    def _lay_out_input(self, task: CodingTask, data_root: Path) -> None:
        if self.params["src_type"] == "yuv420":
            (data_root / f"{SEQUENCE}.yuv").symlink_to(task.input_path.resolve())
            return
        folder = data_root / SEQUENCE
        folder.mkdir()
        reader = RawVideoReader(task.input_path, task.fmt, task.width, task.height)
        for i, planes in enumerate(reader.frames(0, task.frames)):
            write_png_frame(folder / f"im{i + 1:05d}.png", planes)

    def _collect_decoded(self, out: Path, task: CodingTask, dest: Path, log: str) -> None:
        """The decoded frames the script saved (a .yuv file or numbered PNGs), as one raw file in ``task.fmt``."""
        yuvs = [p for p in out.rglob("*.yuv") if p.is_file()]
        pngs = sorted((p for p in out.rglob("*.png") if p.is_file()), key=self._decoded_order)
        if self.params["src_type"] == "yuv420" and yuvs:
            if len(yuvs) > 1:
                raise AdapterError(f"codec {self.name}: found {len(yuvs)} decoded .yuv files under {out}; expected one")
            shutil.move(str(yuvs[0]), dest)
            return
        if len(pngs) != task.frames:
            raise AdapterError(f"codec {self.name}: expected {task.frames} decoded frames under {out}, found "
                               f"{len(pngs)} PNG and {len(yuvs)} YUV files (does this generation save decoded frames "
                               "in this mode?)", log[-3000:])
        with RawVideoWriter(dest, task.fmt) as writer:
            for path in pngs:
                planes = read_png_frame(path)
                if planes[0].shape != (task.height, task.width):
                    raise AdapterError(f"codec {self.name}: decoded frame {path} is not 8-bit {task.width}x{task.height}")
                writer.write(planes)

    @staticmethod
    def _decoded_order(path: Path) -> int:
        """Decoded PNGs are numbered by frame: ``0.png``, ``im00001.png``, ``recon_frame_0.png``."""
        return _frame_number(path)

    def _estimated_bits(self, entry: dict[str, Any], task: CodingTask, frames: int, path: Path, log: str) -> float:
        """The entropy model's estimate of the sequence's bits: the script's mean bpp times the pixels coded."""
        bpp = entry.get("ave_all_frame_bpp")
        if bpp is None:  # the estimate is made from it: without it there is no rate to record
            raise AdapterError(f"codec {self.name}: {path} has no ave_all_frame_bpp", log[-3000:])
        return float(bpp) * entry.get("frame_pixel_num", task.width * task.height) * frames

    def _result_entry(self, path: Path, log: str) -> dict[str, Any]:
        if not path.is_file():
            raise AdapterError(f"codec {self.name}: the script wrote no {path.name}", log[-3000:])
        return single_entry(json.loads(path.read_text()), path)

    def _reported(self, entry: dict[str, Any], log: str, stream: bool, shim: bool, task: CodingTask) -> dict[str, Any]:
        env = self._environment
        metrics = dcvc_entry_metrics(entry)  # the importer's reading (EVC's entries made video-like first)
        reported: dict[str, Any] = {
            "result": {k: v for k, v in entry.items() if not isinstance(v, list)},
            "reported_metrics": {**{k: v for k, v in metrics.items() if v is not None},
                                 **({"bpp": float(entry["ave_all_frame_bpp"])} if "ave_all_frame_bpp" in entry else {})},
            "bits": "bitstream files" if stream else "entropy-model estimate (no bitstream)",
            "device": self.params["device"], "gpu": env.get("gpu"), "torch": env.get("torch"),
            "cpu_sync_shim": shim,
            "intra_period_passed": self.intra_period_arg(task.intra_period, task.frames),
        }
        if self.generation.cuda_module:
            fallback = "fallback to pytorch" in log or not env.get("cuda_kernels")
            reported["cuda_kernels"] = "PyTorch fallback" if fallback else "their CUDA kernels"
        for key in ("avg_frame_encoding_time", "avg_frame_decoding_time", "test_time"):
            if key in entry:
                reported[key] = entry[key]
        if isinstance(entry.get("frame_bpp"), list):
            pixels = entry.get("frame_pixel_num") or task.width * task.height
            reported["frame_bits"] = [b * pixels for b in entry["frame_bpp"]]
        return reported


# --- their output JSON ---------------------------------------------------------------------------------------

def single_entry(data: Any, path: Path) -> dict[str, Any]:
    """The one result entry of a one-sequence, one-rate output JSON ({class: {sequence: {rate: entry}}})."""
    try:
        entries = [e for seqs in data.values() if isinstance(seqs, dict) for rates in seqs.values()
                   if isinstance(rates, dict) for e in rates.values() if isinstance(e, dict)]
    except AttributeError:
        entries = []
    if len(entries) != 1:
        raise AdapterError(f"{path}: expected one result entry (class -> sequence -> rate), found {len(entries)}")
    return entries[0]


# --- the generations -----------------------------------------------------------------------------------------

class _PairRates(DcvcFamily):
    """DCVC and TCM: one checkpoint pair per rate point."""

    PARAMS: ClassVar[dict[str, Param]] = {
        **{k: v for k, v in DcvcFamily.PARAMS.items() if k not in ("i_frame_model", "p_frame_model")},
        "checkpoints": Param(list, [], "[intra, inter] checkpoint pairs, one per rate point (rate points index it)",
                             item_kind=None),
    }

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        pairs = raw.get("checkpoints", []) if isinstance(raw, dict) else []
        if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs):
            raise ConditionError(f"{where}.checkpoints: expected a list of [intra checkpoint, inter checkpoint] pairs")
        return super().validate_params(raw, where)

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        return checkpoint_index(cls.name, value, where)

    def _pair(self, index: int) -> tuple[Path, Path]:
        pairs = self.params["checkpoints"]
        if index >= len(pairs):
            raise AdapterError(f"codec {self.name}: rate point {index} has no checkpoint pair (the descriptor lists "
                               f"{len(pairs)})")
        i, p = (Path(x).expanduser() for x in pairs[index])
        i, p = (x if x.is_absolute() else self._folder() / x for x in (i, p))
        for x in (i, p):
            if not x.is_file():
                raise AdapterError(f"codec {self.name}: checkpoint {x} does not exist")
        return i, p

    def checkpoints(self) -> dict[str, Path]:
        out = {}
        for k in range(len(self.params["checkpoints"])):
            out[f"{k}_intra"], out[f"{k}_inter"] = self._pair(k)
        if not out:
            raise AdapterError(f"codec {self.name}: no checkpoints given in the descriptor")
        return out

    def model_args(self) -> list[str]:
        return []

    def rate_args(self, rate_point: Any) -> list[str]:
        i, p = self._pair(rate_point)
        return ["--i_frame_model_path", str(i), "--model_path", str(p)]


@register
class Dcvc(_PairRates):
    name = "dcvc"
    generation = GENERATIONS["dcvc"]
    PARAMS: ClassVar[dict[str, Param]] = {
        **_PairRates.PARAMS,
        "i_frame_model_name": Param(str, "cheng2020-anchor", "CompressAI intra architecture",
                                    ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "mbt2018",
                                     "cheng2020-anchor")),
        "model_type": Param(str, "psnr", "which quality their script measures", ("psnr", "msssim")),
    }

    def rate_args(self, rate_point: Any) -> list[str]:
        i, p = self._pair(rate_point)
        return ["--i_frame_model_name", self.params["i_frame_model_name"], "--i_frame_model_path", str(i),
                "--model_path", str(p), "--model_type", self.params["model_type"]]

    def device_args(self, device: str) -> list[str]:
        index = device.partition(":")[2]
        return ["--cuda", "1", *(["--cuda_device", index] if index else [])] if device != "cpu" else []

    def output_args(self, out: Path, stream: bool) -> list[str]:
        return [*(["--write_stream", "1"] if stream else []), "--write_recon_frame", "1", "--recon_bin_path",
                str(out / "stream"), "--output_json_result_path", str(out / "result.json")]

    def code_sequence(self, task: CodingTask) -> CodingResult:
        if task.width % 64 or task.height % 64:
            raise AdapterError(f"codec dcvc: {task.width}x{task.height} is not a multiple of 64, which DCVC (2021) "
                               "needs; set spatial: {mode: crop, multiple: 64} (as its paper did) or pad")
        return super().code_sequence(task)


@register
class DcvcTcm(_PairRates):
    name = "dcvc-tcm"
    generation = GENERATIONS["dcvc-tcm"]


class _QScaleRates(DcvcFamily):
    """HEM and EVC: the q-scales their script would test for ``rate_num`` rates, read from the checkpoints."""

    PARAMS: ClassVar[dict[str, Param]] = {
        **DcvcFamily.PARAMS,
        "rate_num": Param(int, 4, "how many rates the q-scale ladder has (4: the checkpoint's own)"),
    }
    image_only: ClassVar[bool] = False

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConditionError(f"{where}: {value!r} is not a rate point for {cls.name}: expected a rate index "
                                 "0..rate_num-1 (0: the highest rate)")
        return value

    @functools.cached_property
    def q_scales(self) -> dict[str, list[float]]:
        """Their selection (test_video.py's): the checkpoint's q-scales when it holds rate_num of them, else
        rate_num log-interpolated between its first and last, read with their own helpers."""
        c = self.checkpoints()
        snippet = f"""
import json
from src.utils.stream_helper import get_state_dict
from src.utils.common import interpolate_log
def ladder(values, n):
    values = [float(v) for v in values]
    return values if len(values) == n else [float(v) for v in interpolate_log(values[-1], values[0], n)]
n = {self.params['rate_num']}
out = {{"i": ladder(get_state_dict({str(c['i_frame_model'])!r})["q_scale"].reshape(-1).tolist(), n)}}
if {not self.image_only}:
    p = get_state_dict({str(c.get('p_frame_model', ''))!r})
    out["y"] = ladder(p["y_q_scale"].reshape(-1).tolist(), n)
    out["mv_y"] = ladder(p["mv_y_q_scale"].reshape(-1).tolist(), n)
print(json.dumps(out))
"""
        return json.loads(self._python(snippet, "reading the checkpoints' q-scales").strip().splitlines()[-1])

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "q_scales": self.q_scales}

    def rate_args(self, rate_point: Any) -> list[str]:
        q = self.q_scales
        if rate_point >= len(q["i"]):
            raise AdapterError(f"codec {self.name}: rate point {rate_point} is beyond rate_num {self.params['rate_num']}")
        args = ["--rate_num", "1", "--i_frame_q_scales", repr(q["i"][rate_point])]
        if "y" in q:
            args += ["--p_frame_y_q_scales", repr(q["y"][rate_point]), "--p_frame_mv_y_q_scales",
                     repr(q["mv_y"][rate_point])]
        return args


@register
class DcvcHem(_QScaleRates):
    name = "dcvc-hem"
    generation = GENERATIONS["dcvc-hem"]


@register
class Evc(_QScaleRates):
    name = "evc"
    generation = GENERATIONS["evc"]
    image_only = True
    PARAMS: ClassVar[dict[str, Param]] = {
        **{k: v for k, v in _QScaleRates.PARAMS.items() if k != "p_frame_model"},
        "i_frame_model_name": Param(str, "EVC_LL", "model variant",
                                    ("EVC_LL", "EVC_LM", "EVC_LS", "EVC_ML", "EVC_SL", "EVC_MM", "EVC_SS",
                                     "Scale_EVC_SS", "Scale_EVC_SL")),
    }

    def checkpoints(self) -> dict[str, Path]:
        return {"i_frame_model": self._checkpoint("i_frame_model")}

    def model_args(self) -> list[str]:
        return ["--i_frame_model", self.params["i_frame_model_name"], "--i_frame_model_path",
                str(self._checkpoint("i_frame_model"))]

    def check_condition(self, intra_period: int, where: str) -> None:
        if intra_period != 1:
            raise ConditionError(f"{where}: evc is an image codec; set intra_period: 1 (every frame intra)")

    @staticmethod
    def _decoded_order(path: Path) -> int:
        # One folder per image (named after it), whatever the decoded file inside is called.
        return next((_frame_number(Path(part)) for part in path.parts if part.startswith("im")), -1)

    def _result_entry(self, path: Path, log: str) -> dict[str, Any]:
        """EVC reports each image (frame) separately; one entry for the sequence, as the video scripts write."""
        if not path.is_file():
            raise AdapterError(f"codec evc: the script wrote no {path.name}", log[-3000:])
        data = json.loads(path.read_text())
        images = sorted(((name, rates) for seqs in data.values() if isinstance(seqs, dict)
                         for name, rates in seqs.items() if isinstance(rates, dict)),
                        key=lambda item: _frame_number(Path(item[0])))
        entries = [next(iter(rates.values())) for _, rates in images]
        if not entries or not all(isinstance(e, dict) and "bpp" in e for e in entries):
            raise AdapterError(f"{path}: expected one entry per image with bpp and psnr")
        n = len(entries)
        return {"i_frame_num": n, "p_frame_num": 0, "frame_pixel_num": entries[0].get("frame_pixel_num"),
                "ave_all_frame_bpp": sum(e["bpp"] for e in entries) / n,
                "ave_all_frame_psnr": sum(e["psnr"] for e in entries) / n,
                "ave_all_frame_msssim": sum(e.get("msssim", 0) for e in entries) / n,
                "frame_bpp": [e["bpp"] for e in entries], "frame_psnr": [e["psnr"] for e in entries],
                "frame_type": [0] * n, "test_time": sum(e.get("test_time", 0) for e in entries)}

    def config_json(self, task: CodingTask, data_root: Path) -> dict[str, Any]:
        # EVC tests every PNG of a folder (img_folder: 1); our frames are that folder.
        return {"root_path": str(data_root.parent), "test_classes": {CLASS: {
            "test": 1, "base_path": f"{data_root.name}/{SEQUENCE}", "src_type": "png", "img_folder": 1}}}


class _IndexRates(DcvcFamily):
    """DC and FM: a q-index 0..63; RT and UF: a QP 0..63. A pair [intra, inter] gives them separately."""

    rate_flags: ClassVar[tuple[str, str | None]]

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        values = value if isinstance(value, list) else [value]
        if not 1 <= len(values) <= 2 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 63
                                                for v in values):
            raise ConditionError(f"{where}: {value!r} is not a rate point for {cls.name}: expected an integer 0..63 "
                                 "(or [intra, inter])")
        # Canonical, so that one coding has one key and one file name: [q] and [q, q] are q.
        return values[0] if len(set(values)) == 1 else list(values)

    def rate_args(self, rate_point: Any) -> list[str]:
        i, p = (rate_point[0], rate_point[-1]) if isinstance(rate_point, list) else (rate_point, rate_point)
        flag_i, flag_p = self.rate_flags
        return ["--rate_num", "1", flag_i, str(i), *([flag_p, str(p)] if flag_p else [])]


@register
class DcvcDc(_IndexRates):
    name = "dcvc-dc"
    generation = GENERATIONS["dcvc-dc"]
    rate_flags = ("--i_frame_q_indexes", None)  # their P frames always use the intra index

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        if isinstance(value, list):
            raise ConditionError(f"{where}: dcvc-dc codes P frames at the intra q-index (its --p_frame_q_indexes is "
                                 "ignored); give one q-index 0..63")
        return super().validate_rate_point(value, where)

    def model_args(self) -> list[str]:
        c = self.checkpoints()
        return ["--i_frame_model_path", str(c["i_frame_model"]), "--p_frame_model_path", str(c["p_frame_model"]),
                "--yuv420", str(int(self.params["src_type"] == "yuv420")), "--calc_ssim", "1"]


class _NewStyle(_IndexRates):
    """FM, RT, UF: --model_path_i/_p, --cuda_idx, decoded frames beside the bitstream."""

    def model_args(self) -> list[str]:
        c = self.checkpoints()
        return ["--model_path_i", str(c["i_frame_model"]), "--model_path_p", str(c["p_frame_model"]),
                "--calc_ssim", "1"]

    def device_args(self, device: str) -> list[str]:
        index = device.partition(":")[2] or "0"
        return ["--cuda", "1", "--cuda_idx", index] if device != "cpu" else ["--cuda", "0"]

    def output_args(self, out: Path, stream: bool) -> list[str]:
        return ["--write_stream", str(int(stream)), "--stream_path", str(out / "stream"), "--save_decoded_frame", "1",
                "--output_path", str(out / "result.json"), "--verbose_json", "1", "--verbose", "2"]


@register
class DcvcFm(_NewStyle):
    name = "dcvc-fm"
    generation = GENERATIONS["dcvc-fm"]
    rate_flags = ("--q_indexes_i", "--q_indexes_p")
    PARAMS: ClassVar[dict[str, Param]] = {
        **_NewStyle.PARAMS,
        "reset_interval": Param(int, 32, "feature reset interval (their default 32)"),
        "float16": Param(bool, False, "half precision (GPU)"),
    }

    def model_args(self) -> list[str]:
        return [*super().model_args(), "--reset_interval", str(self.params["reset_interval"]),
                "--float16", str(int(self.params["float16"]))]


@register
class DcvcRt(_NewStyle):
    name = "dcvc-rt"
    generation = GENERATIONS["dcvc-rt"]
    rate_flags = ("--qp_i", "--qp_p")
    PARAMS: ClassVar[dict[str, Param]] = {
        **_NewStyle.PARAMS,
        "device": Param(str, "cuda", "cuda or cuda:N (RT needs a GPU)", affects_result=False),
        "reset_interval": Param(int, 64, "feature reset interval (the README's 64)"),
        "force_zero_thres": Param(float, 0.12, "skip threshold for near-zero latents (the README's 0.12)"),
    }

    def model_args(self) -> list[str]:
        return [*super().model_args(), "--reset_interval", str(self.params["reset_interval"]), "--force_zero_thres",
                repr(self.params["force_zero_thres"]), "--check_existing", "0"]


@register
class DcvcUf(_NewStyle):
    name = "dcvc-uf"
    generation = GENERATIONS["dcvc-uf"]
    rate_flags = ("--qp_i", "--qp_p")
    PARAMS: ClassVar[dict[str, Param]] = {
        **_NewStyle.PARAMS,
        "device": Param(str, "cuda", "cuda or cuda:N (UF needs a GPU)", affects_result=False),
        "model_structure": Param(str, "ld", "ld (one frame a call), hts or htl (chunks of 8 frames)",
                                 ("ld", "hts", "htl")),
        "reset_interval": Param(int, 128, "feature reset interval (the README's 128)"),
        "skip_thres": Param(float, 0.15, "skip threshold (the README's 0.15)"),
    }

    def check_condition(self, intra_period: int, where: str) -> None:
        super().check_condition(intra_period, where)
        if intra_period != -1:
            raise ConditionError(f"{where}: dcvc-uf places periodic intra frames at 0, N+1, 2N+1 ... (and not "
                                 f"reliably in hts/htl), not at 0, N, 2N as intra_period {intra_period} means here; "
                                 "use intra_period: -1 (as its paper and configs do)")

    def device_args(self, device: str) -> list[str]:
        return ["--cuda_idx", device.partition(":")[2] or "0"]

    def output_args(self, out: Path, stream: bool) -> list[str]:
        # UF always writes and decodes its bitstream (no --write_stream flag).
        return ["--stream_path", str(out / "stream"), "--save_decoded_frame", "1", "--output_path",
                str(out / "result.json"), "--verbose_json", "1", "--verbose", "2"]

    def model_args(self) -> list[str]:
        return [*super().model_args(), "--model_structure", self.params["model_structure"], "--reset_interval",
                str(self.params["reset_interval"]), "--skip_thres", repr(self.params["skip_thres"]),
                "--check_existing", "0"]

    def _timed_calls(self, frames: int) -> int:
        # UF times each call, and a hierarchical call codes a chunk of 8 frames (after the intra frame).
        return frames if self.params["model_structure"] == "ld" else 1 + math.ceil((frames - 1) / 8)

    def _reported(self, entry: dict[str, Any], log: str, stream: bool, shim: bool, task: CodingTask) -> dict[str, Any]:
        reported = super()._reported(entry, log, stream, shim, task)
        delay = 1 if self.params["model_structure"] == "ld" else 8
        reported["chunks"] = (f"{self.params['model_structure']}: {delay} frame(s) a call; "
                              + ("all bits of a chunk booked on its first frame (per-frame bits are not per frame); "
                                 "the last partial chunk padded by repeating the last frame" if delay > 1 else
                                 "one frame a call"))
        return reported

