"""The adapter contract every codec implements, and the parameter validation they share.

An adapter turns one prepared input sequence into real bitstream file(s) and decoded frames. It never
computes metrics, never caches and never exits: it returns a :class:`CodingResult` or raises
:class:`~bench.errors.AdapterError` with a message a user can act on. Everything that changes its output
goes into :meth:`Adapter.identity`, which is part of every job key; operational settings (threads,
timeouts) stay out of it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import AdapterError, ConditionError
from bench.video.formats import PixelFormat


@dataclass(frozen=True)
class Param:
    """One descriptor parameter: its type, default, allowed values, and whether it changes results."""

    kind: type | tuple[type, ...]
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    affects_result: bool = True
    item_kind: type | None = str  # what a list holds (None: the adapter checks it)


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do, declared in one place; the runner, ``ls``, ``doctor`` and the conformance suite
    (:mod:`bench.checks.conformance`) read it."""

    # The pixel formats :meth:`Adapter.input_format` may hand the codec (ffmpeg names: yuv420p, yuv420p10le,
    # yuv444p, yuv444p10le, gbrp ...); the runner converts the source with the suite's own conversions.
    input_formats: tuple[str, ...]
    separate_decode: bool = False  # can decode a stored bitstream on its own (:meth:`Adapter.redecode`)
    gpu: bool = False  # can run on a GPU (then its ``device`` parameter picks cpu, cuda or cuda:N)
    in_process_torch: bool = False  # runs torch models in this process (the runner sizes torch's thread pool)
    # Whether the bitstream is the same for any thread count: True (checked), False (it is not: the thread
    # count is then part of the key), None (not established).
    thread_neutral: bool | None = None

    def describe(self) -> str:
        facts = [f"input {', '.join(self.input_formats)}", "decodes stored bitstreams" if self.separate_decode
                 else "decoded frames kept (no separate decoder)"]
        if self.gpu:
            facts.append("GPU or CPU")
        if self.thread_neutral is not None:
            facts.append("same bitstream for any thread count" if self.thread_neutral else "threads change the stream")
        return "; ".join(facts)


@dataclass(frozen=True)
class CodingTask:
    """What the runner hands an adapter: a prepared raw input file and the coding settings."""

    input_path: Path
    fmt: PixelFormat  # of the input file, and the format the decoder must write
    width: int  # coded (possibly padded) size
    height: int
    fps: float
    frames: int
    intra_period: int  # -1: only the first frame is intra; N: an intra frame every N frames
    rate_point: Any
    work_dir: Path
    threads: int = 0  # 0: the tool's default
    cpus: int = 1  # cores this job may use beside the others: cores / --jobs locally, its allocation on a cluster
    # Called as progress(frames coded, frames in total) by adapters whose tools report each coded frame;
    # long encodes (the reference software: minutes a frame at 1080p) then show where they are.
    progress: Callable[[int, int], None] | None = None
    # The GPU the runner pinned this job to (``--gpus``), numbered as this process sees the GPUs; None: the
    # descriptor's device as written. Only set for adapters whose :meth:`Adapter.uses_gpu` is true.
    gpu: int | None = None


@dataclass
class CodingResult:
    """What an adapter hands back: real files and what it ran."""

    bitstreams: list[Path]
    decoded_path: Path  # raw frames in ``CodingTask.fmt`` at the coded size
    commands: list[list[str]] = field(default_factory=list)
    encode_seconds: float = 0.0
    decode_seconds: float = 0.0
    frame_types: list[str] | None = None  # "I"/"P"/"B" per frame in display order, when known
    frame_bits: list[int] | None = None  # bits of each frame in display order, when the codec or stream tells
    frame_qp: list[float] | None = None  # each frame's QP in display order, where the decoder or encoder tells
    # What was coded, read back from the stream or the encoder's report and checked (rate control, intra
    # positions, reordering ...), and the codec described from those facts.
    stream: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    warnings: list[str] = field(default_factory=list)  # warning lines of the encoder and decoder logs
    # Bytes of the bitstream files that are not coded video and do not count in the rate (the reference
    # software's picture-hash SEI, written only so that we can check the decoder), and why.
    excluded_bytes: int = 0
    excluded_reason: str | None = None
    # The codec's own numbers under the suite's metric names (psnr_y, psnr_yuv_vtm, bpp, kbps ...): the record
    # keeps each beside ours, with the difference, so that a disagreement with the codec's log is visible.
    reported_metrics: dict[str, float] = field(default_factory=dict)
    codec_reported: dict[str, Any] = field(default_factory=dict)  # anything else the codec said, kept as is
    logs: dict[str, str] = field(default_factory=dict)
    # Set (and bitstreams left empty) only when the codec could not write a real bitstream and the descriptor
    # allowed its entropy-model estimate instead; every table and figure then marks the point as estimated.
    estimated_bits: float | None = None
    # How the codec's side processed the frames (model input scaling, padding, weights, device), for the record.
    processing: dict[str, Any] = field(default_factory=dict)
    # Extra timing facts (warm-up excluded, threads, peak GPU memory), merged into the record's timing; "timed"
    # says what the timer covered (coding calls only, or the process with start-up and file I/O).
    timing_details: dict[str, Any] = field(default_factory=dict)
    # Seconds of each frame's encode and decode in display order, where the codec lets us time frames.
    frame_encode_s: list[float] | None = None
    frame_decode_s: list[float] | None = None
    # A neural codec's size and arithmetic (bench.adapters.complexity.ModelComplexity.to_dict() or the driver's count).
    complexity: dict[str, Any] | None = None
    # What a reader must know before trusting these numbers (randomly initialised weights); shown in bold.
    cautions: list[str] = field(default_factory=list)


def validate_device(value: str, where: str) -> str:
    """cpu, cuda or cuda:N (the neural codecs' device parameter)."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", value):
        raise ConditionError(f"{where}.device: expected cpu, cuda or cuda:N, got {value!r}")
    return value


def checkpoint_index(codec: str, value: Any, where: str) -> int:
    """A rate point that picks one entry of the descriptor's checkpoints list."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConditionError(f"{where}: {value!r} is not a rate point for {codec}: expected an index into the "
                             "descriptor's checkpoints list (0, 1, ...)")
    return value


RATE_POINT_KINDS = ("int", "float", "str")
RATE_POINT_FIELDS_HELP = ("names of a list rate point's values, e.g. [intra, inter]: each rate point is then a "
                          "list of that many values, each of the rate_points kind and within rate_range")


def descriptor_rate_point(value: Any, where: str, what: str) -> Any:
    """A rate point a descriptor defines (the command and python-model adapters): one number or word, or a list
    of two or more of them (one per name of the descriptor's ``rate_point_fields``). Booleans, mappings, nested
    lists, empty text and ``[q]`` (write ``q``) are refused here; the shape and kind the descriptor declares are
    checked by :func:`check_rate_point_kind` when the run is planned (the parameters are known then)."""
    def scalar(v: Any) -> bool:
        return not isinstance(v, bool) and isinstance(v, (int, float, str)) and v != ""

    if isinstance(value, list):
        if len(value) >= 2 and all(scalar(v) for v in value):
            return value
        raise ConditionError(f"{where}: {value!r} is not a rate point for {what}: a list rate point holds one number "
                             "or word per name of the descriptor's rate_point_fields (two or more); one value is "
                             "written without brackets")
    if not scalar(value):
        raise ConditionError(f"{where}: {value!r} is not a rate point for {what}: expected one number or word (the "
                             "descriptor's rate_points says which), or a list of them (its rate_point_fields)")
    return value


def check_rate_range(bounds: Any, where: str) -> None:
    """A descriptor's rate_range: None, or [low, high] numbers."""
    if bounds is not None and (len(bounds) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in bounds) or bounds[0] > bounds[1]):
        raise ConditionError(f"{where}.rate_range: expected [low, high], got {bounds!r}")


def check_rate_point_fields(fields: list[str] | None, where: str) -> None:
    """A descriptor's rate_point_fields: None, or two or more distinct names (letters, digits, _; not starting
    with a digit), so that ``{rate_point.<name>}`` can name each value."""
    if fields is None:
        return
    if len(fields) < 2 or len(set(fields)) != len(fields) or \
            not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", f) for f in fields):
        raise ConditionError(f"{where}.rate_point_fields: expected two or more distinct names (letters, digits, _), "
                             f"e.g. [intra, inter]; got {fields!r}")


def check_rate_point_kind(codec: str, rate_point: Any, kind: str, bounds: list[Any] | None,
                          fields: list[str] | None = None) -> None:
    """ConditionError unless RATE_POINT has the shape FIELDS declares (one value when None, else a list of one value
    per name) and every value is of KIND (int, float or str) and within BOUNDS [low, high] if given."""
    if fields is None and isinstance(rate_point, list):
        raise ConditionError(f"codec {codec}: rate point {rate_point!r} is a list, but its descriptor declares no "
                             "rate_point_fields: name its values there (e.g. rate_point_fields: [intra, inter]) or "
                             "give one value")
    if fields is not None and (not isinstance(rate_point, list) or len(rate_point) != len(fields)):
        raise ConditionError(f"codec {codec}: rate point {rate_point!r} is not a list of {len(fields)} values, as its "
                             f"descriptor's rate_point_fields [{', '.join(fields)}] says")
    named = list(zip(fields, rate_point, strict=True)) if fields is not None else [(None, rate_point)]
    for name, value in named:
        ok = {"int": isinstance(value, int), "float": isinstance(value, (int, float)),
              "str": isinstance(value, str)}[kind]
        if not ok or (bounds is not None and not isinstance(value, str) and not bounds[0] <= value <= bounds[1]):
            allowed = f" in [{bounds[0]}, {bounds[1]}]" if bounds else ""
            which = f"'s {name} value {value!r}" if name else ""
            article = "an" if kind == "int" else "a"
            raise ConditionError(f"codec {codec}: rate point {rate_point!r}{which} is not {article} {kind}{allowed}, "
                                 "as its descriptor's rate_points/rate_range say")


def check_bitstream_files(codec: str, files: list[Path]) -> None:
    """AdapterError naming the first of FILES (an encoder's bitstream files) that is missing or empty: an empty
    file carries nothing a decoder could rebuild the frames from (the command and python-model adapters)."""
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise AdapterError(f"codec {codec}: the encoder wrote no bitstream at {missing[0]}"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    empty = [str(p) for p in files if p.stat().st_size == 0]
    if empty:
        raise AdapterError(f"codec {codec}: the encoder wrote an empty bitstream (0 bytes): {empty[0]}"
                           + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else "")
                           + "; every bitstream file must hold what the decoder rebuilds the frames from")


class Adapter(ABC):
    """Base class: subclasses set ``name``, ``version``, ``PARAMS`` and implement the coding step."""

    name: ClassVar[str]
    version: ClassVar[int] = 1  # bump when the adapter's output for the same inputs changes
    rate_knob: ClassVar[str] = "qp"
    # What it can do. Without ``separate_decode`` the runner keeps the decoded frames (FFV1) so that they can be
    # measured later without coding again.
    capabilities: ClassVar[Capabilities]
    PARAMS: ClassVar[dict[str, Param]] = {}
    # Parameters and rate points the conformance suite codes two frames with when the tool is present (the
    # parameters merged over the defaults); None: the adapter cannot run without the user's files.
    conformance_example: ClassVar[tuple[dict[str, Any], list[Any]] | None] = None
    # A generic adapter that is nothing without a descriptor (``command``, ``python-model``): ``doctor`` with
    # no codec named says "needs a descriptor" instead of the parameter error its empty defaults give.
    needs_descriptor: ClassVar[bool] = False

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this adapter cannot run at all, whatever its parameters (its code is not published), or None.
        ``doctor`` says it first, before any problem of a descriptor's parameters (an unset variable)."""
        return None

    @classmethod
    def doctor_summary(cls) -> str | None:
        """``doctor``'s line when no codec is named, for an adapter whose :meth:`doctor` imports heavy packages
        (torch): what is installed, read without importing it (raise AdapterError when it is not); None (the
        default): ``doctor`` runs :meth:`doctor` on the default parameters."""
        return None

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = self.validate_params(params, self.name)

    @classmethod
    def validate_params(cls, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Known keys with the right types; defaults filled in. Unknown keys are errors."""
        unknown = sorted(set(raw) - set(cls.PARAMS))
        if unknown:
            raise ConditionError(f"{where}: unknown parameter {unknown[0]!r} for adapter {cls.name} "
                                 f"(known: {', '.join(sorted(cls.PARAMS))})")
        out = {}
        for key, p in cls.PARAMS.items():
            value = raw.get(key)
            if value is None:  # absent or null: the default, never "leave the flag out" (threads: null ran threaded)
                value = p.default
            kinds = p.kind if isinstance(p.kind, tuple) else (p.kind,)
            if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
                raise ConditionError(f"{where}.{key}: expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
            if p.choices is not None and value not in p.choices:
                raise ConditionError(f"{where}.{key}: {value!r} is not one of {', '.join(map(str, p.choices))}")
            if isinstance(value, list) and p.item_kind and not all(isinstance(v, p.item_kind) for v in value):
                raise ConditionError(f"{where}.{key}: expected a list of {p.item_kind.__name__}")
            out[key] = value
        return out

    @classmethod
    @abstractmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        """The rate point in this adapter's own terms, or a ConditionError naming ``where``."""

    def result_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items() if self.PARAMS[k].affects_result}

    def identity(self) -> dict[str, Any]:
        """Everything about the codec that changes results: part of every job key."""
        return {"adapter": self.name, "adapter_version": self.version, "params": self.result_params()}

    def rate_point_identity(self, rate_point: Any) -> dict[str, Any]:
        """What one rate point adds to the job key beyond :meth:`identity` (the weights file a quality level
        loads); raise AdapterError when that rate point cannot run. Called when a run is planned, before anything
        is coded. Default: nothing."""
        return {}

    def uses_gpu(self) -> bool:
        """Whether this descriptor's jobs run on a GPU (its ``device`` parameter names CUDA); the local executor
        then runs them one per GPU."""
        return self.capabilities.gpu and str(self.params.get("device", "cpu")).startswith("cuda")

    def job_device(self, task: CodingTask) -> str:
        """The torch device of one job run in this process: the pinned GPU where the runner chose one, else the
        descriptor's device."""
        return f"cuda:{task.gpu}" if task.gpu is not None and self.uses_gpu() else str(self.params.get("device", "cpu"))

    def check_condition(self, intra_period: int, where: str) -> None:
        """Refuse (ConditionError naming ``where``) a condition this codec cannot honour as written; called when
        a run is planned, before anything is coded. Default: everything is fine."""
        return None

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        """The format this codec takes when the condition codes in ``coding``; the runner converts to it
        (and converts the decoded frames back) with the suite's own, documented conversions."""
        return coding

    @abstractmethod
    def code_sequence(self, task: CodingTask) -> CodingResult:
        """Encode the input to real bitstream(s), then decode them in a separate step."""

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        """Decode the stored BITSTREAMS of a job coded with TASK's settings again; return the raw decoded frames
        (``task.fmt`` at the coded size, under ``task.work_dir``). Only for adapters with ``can_redecode``."""
        raise NotImplementedError(f"adapter {self.name} cannot decode a stored bitstream on its own")

    @property
    def can_redecode(self) -> bool:
        return self.capabilities.separate_decode

    @abstractmethod
    def doctor(self) -> str:
        """One line: what was found and its version; raise AdapterError saying what is missing."""
