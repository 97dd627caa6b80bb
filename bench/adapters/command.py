"""``adapter: command``: any command-line codec, with no Python of its own, described in its descriptor.

The descriptor gives two argument lists (never a shell string; nothing goes through a shell), an encode and a
decode command, with placeholders the suite fills in for each job:

    ``{input}`` the prepared input (a file, or a folder of PNG frames), ``{bitstream}`` where the bitstream goes
    (or the per-frame pattern's folder), ``{decoded}`` where the decoder writes (same format as the input),
    ``{width}`` ``{height}`` ``{fps}`` ``{frames}`` ``{first_frame}`` (always 0: the suite hands the codec only
    the frames it codes), ``{rate_point}`` (or, where the descriptor declares ``rate_point_fields: [intra,
    inter]``, its values ``{rate_point[0]}`` ``{rate_point[1]}`` by position or ``{rate_point.intra}``
    ``{rate_point.inter}`` by name), ``{intra_period}`` (-1: only the first frame is intra),
    ``{work_dir}`` the step's own scratch folder, ``{descriptor_dir}`` the descriptor's folder, ``{python}``
    the interpreter running the suite (for a script that codes with ``python3``-level tools). Every path is
    absolute, and each command runs in its ``{work_dir}``, so a command works wherever the suite was started.

What the decoder may read: the bitstream, and nothing the encoder saw. The encoder runs in ``<job>/encode``;
once it ends, its bitstream file(s) are checked (a missing or empty file fails the job, named), moved out, and
that folder (the input, every scratch file) is deleted. The decoder then runs in a fresh ``<job>/decode``
folder that holds only copies of the bitstream(s), at the names the descriptor gives relative to
``{work_dir}``; ``{input}`` is refused in the decode command. Reading anything else (the source sequence, a
file the encoder left elsewhere) is outside the contract: the rate would no longer be the bitstream's.

What it takes (``input_format``): raw ``yuv420p``, ``yuv420p10le``, ``yuv444p``, ``yuv444p10le`` (planar,
10-bit little-endian), ``y4m`` (4:2:0 8-bit), or ``png`` (one 8-bit RGB PNG per frame, ``00000.png`` ... in
the ``{input}`` folder; the decoder writes the same names into the ``{decoded}`` folder). Its bitstream is one
file (``bitstream: "{work_dir}/out.bin"`` by default) or one file per frame (``bitstream_pattern:
"{work_dir}/bits/{frame:05d}.bin"``); the rate is the bytes of those files. Optionally the codec's own
numbers: a JSON file (``report_json``) whose numeric top-level entries are kept, and regular expressions
(``report_regex: {name: pattern}``) over the encoder's output, each first group a number; entries named as the
suite's metrics (``psnr_y``, ``bpp``, ...) are compared with ours in the record.

Every program the commands run (the first word of each, and any argument that names an existing file before
the job's own placeholders are filled in: a script, a config) is found and hashed: its path and SHA-256 are
part of the job key, so a changed tool never reuses old results; such a file next to the descriptor reaches the
command as an absolute path. An interpreter's script (:data:`INTERPRETERS`: its first argument that is neither an
option nor a job placeholder) must exist when the descriptor is read, so that a misspelt name fails ``validate``
and ``doctor``, not a job. ``timeout_s`` bounds each command. A command
that fails is named with its exit status and the last line it printed (for a Python wrapper whose
``subprocess.run(check=True)`` raised: the wrapped program's own last lines).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import string
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

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
)
from bench.adapters.process import run_program
from bench.errors import AdapterError, ConditionError
from bench.tools import tool_sha256
from bench.video.formats import PixelFormat, pixel_format
from bench.video.io import (
    PngSequenceReader,
    RawVideoReader,
    RawVideoWriter,
    Y4mReader,
    write_png_frame,
    write_y4m,
)

RAW_FORMATS = ("yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le")
INPUT_FORMATS = (*RAW_FORMATS, "y4m", "png")
PLACEHOLDERS = ("input", "bitstream", "decoded", "width", "height", "fps", "frames", "first_frame", "rate_point",
                "intra_period", "work_dir", "descriptor_dir", "python")


def _fill(arg: str, values: dict[str, Any], where: str) -> str:
    try:
        return arg.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        raise ConditionError(f"{where}: {arg!r}: unknown or malformed placeholder ({e}); known: "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}") from None


class _RatePoint:
    """A list rate point as the placeholders see it: ``{rate_point[0]}`` by position, ``{rate_point.intra}`` by
    the name the descriptor's rate_point_fields gives it; ``{rate_point}`` alone is refused when the descriptor
    is read (:func:`_check_rate_placeholders`)."""

    def __init__(self, values: list[Any], fields: list[str]) -> None:
        self._values, self._fields = list(values), list(fields)

    def __getitem__(self, index: int) -> Any:
        return self._values[index]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._fields:
            raise AttributeError(name)
        return self._values[self._fields.index(name)]

    def __format__(self, spec: str) -> str:
        raise ValueError("a list rate point: name one value, {rate_point[0]} or {rate_point.<name>}")


_RATE_VALUE = re.compile(r"rate_point(?:\[(\d+)\]|\.([A-Za-z_][A-Za-z0-9_]*))")


def _check_rate_placeholders(template: str, fields: list[str] | None, where: str) -> None:
    """ConditionError naming WHERE unless every rate-point placeholder of TEMPLATE fits the descriptor:
    ``{rate_point}`` for one value; with rate_point_fields, ``{rate_point[i]}`` or ``{rate_point.<name>}``."""
    try:
        parsed = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return  # malformed braces: _fill says so
    for field in parsed:
        if field != "rate_point" and not field.startswith(("rate_point[", "rate_point.")):
            continue
        if fields is None:
            if field != "rate_point":
                raise ConditionError(f"{where}: {template!r}: {{{field}}} names a value of a list rate point, but "
                                     "the descriptor declares no rate_point_fields (e.g. rate_point_fields: [intra, "
                                     "inter]); use {rate_point}")
            continue
        m = _RATE_VALUE.fullmatch(field)
        if m is None or (m[1] is not None and int(m[1]) >= len(fields)) or (m[2] is not None and m[2] not in fields):
            why = ("is a list" if field == "rate_point" else f"has no value {{{field}}}")
            raise ConditionError(f"{where}: {template!r}: the rate point {why} (rate_point_fields: "
                                 f"[{', '.join(fields)}]); name one value: {{rate_point[0]}} .. "
                                 f"{{rate_point[{len(fields) - 1}]}} by position, or "
                                 f"{', '.join('{rate_point.' + f + '}' for f in fields)} by name")


def _absolute(task: CodingTask) -> CodingTask:
    """TASK with its paths absolute: the commands run in their own folders, and a relative --results folder
    must mean the same to them as to us."""
    return dataclasses.replace(task, work_dir=task.work_dir.resolve(), input_path=task.input_path.resolve())


# Programs that run a script named by an argument: an interpreter's first argument that is not an option (nor a
# job placeholder) must name an existing file when the descriptor is read, so that a typo in a script's name is
# named by validate and doctor, not by the interpreter inside a job's scratch folder after the input was written.
INTERPRETERS = ("{python}", "python", "python3", "bash", "sh", "perl", "node", "Rscript")


class _Options(NamedTuple):
    """An interpreter's options as far as finding its script needs them."""

    inline: str  # short options after which no script file follows: code inline (-c, -e), a module (-m)
    valued: str = ""  # short options that take a value: the rest of their cluster, or the next argument
    long_inline: tuple[str, ...] = ()
    long_valued: tuple[str, ...] = ()


_OPTIONS = {"python": _Options("mc", "XW", (), ("--check-hash-based-pycs",)), "bash": _Options("c", "oO"),
            "sh": _Options("c", "o"), "perl": _Options("eE"), "Rscript": _Options("e"),
            "node": _Options("ep", "r", ("--eval", "--print"), ("--require", "--import", "--loader"))}


def _interpreter(program: str) -> _Options | None:
    """PROGRAM's options if it is one of INTERPRETERS (by its file name: /usr/bin/python3.12 is python)."""
    if program == "{python}":
        return _OPTIONS["python"]
    name = Path(program).name
    if re.fullmatch(r"python[0-9.]*", name):
        return _OPTIONS["python"]
    return _OPTIONS.get(name) if name in INTERPRETERS else None


def script_argument(argv: list[str]) -> int | None:
    """The index in ARGV of the script an interpreter command runs (``python enc.py ...``: 1); None when ARGV's
    program is no interpreter or names no script file (``python -m pkg``, ``bash -c '...'``, ``-`` for stdin)."""
    options = _interpreter(argv[0])
    if options is None:
        return None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return i + 1 if i + 1 < len(argv) else None
        if arg == "-":
            return None
        if not arg.startswith("-"):
            return i
        width = _option_width(arg, options)
        if width is None:
            return None
        i += width
    return None


def _option_width(arg: str, options: _Options) -> int | None:
    """How many arguments option ARG takes up: 1, or 2 when its value is the next argument; None when it says
    that no script file follows (code inline, a module)."""
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        if name in options.long_inline:
            return None
        return 1 + (name in options.long_valued and "=" not in arg)
    for j, letter in enumerate(arg[1:], start=2):  # a cluster: -um, -Wignore, -ec
        if letter in options.inline:
            return None
        if letter in options.valued:
            return 1 + (j == len(arg))  # its value is the next argument
    return 1


def _check_script(argv: list[Any], descriptor_dir: str | None, where: str) -> None:
    """ConditionError naming WHERE when ARGV runs an interpreter on a script that is not there (relative paths
    start at DESCRIPTOR_DIR, as when the programs are found and hashed)."""
    words = [str(a) for a in argv]
    index = script_argument(words)
    if index is None:
        return
    base = Path(descriptor_dir or ".").absolute()
    try:
        script = words[index].format_map(_Static(descriptor_dir=str(base), python=sys.executable))
    except (KeyError, IndexError, ValueError, AttributeError):
        return  # a malformed placeholder: _fill says so
    if "{" in script:
        return  # filled in by each job: nothing to check now
    path = base / script
    if not path.is_file():
        raise ConditionError(f"{where}: {words[index]!r}: no such file {path} (the script {Path(words[0]).name} "
                             f"runs; a relative path starts at the descriptor's folder {base})")


def _check_rate_point_placeholders(params: Mapping[str, Any], where: str) -> None:
    """ConditionError naming the key where a template's rate-point placeholder does not fit rate_point_fields."""
    fields = params["rate_point_fields"]
    for key in ("encode", "decode", "bitstream", "bitstream_pattern", "report_json"):
        templates = params[key] if isinstance(params[key], list) else [params[key]] if params[key] else []
        for a in templates:
            _check_rate_placeholders(str(a), fields, f"{where}.{key}")


def _blank_values(fields: list[str] | None) -> dict[str, Any]:
    """Every placeholder's value as empty text (a rate point of FIELDS with empty values where declared): filling
    the commands with these once names a malformed placeholder when the descriptor is read."""
    return {p: "" for p in PLACEHOLDERS} | ({"rate_point": _RatePoint([""] * len(fields), fields)} if fields
                                           else {})


def _check_command(key: str, argv: list[Any] | None, blank: dict[str, Any], descriptor_dir: str | None,
                   where: str) -> None:
    """ConditionError naming WHERE unless ARGV, the KEY command (encode or decode), is a non-empty list of strings
    and numbers whose placeholders fill in and whose interpreter's script (if any) is there."""
    if not argv:
        raise ConditionError(f"{where}: give the {key} command as a list of arguments, e.g. "
                             f"[my_codec, {key}, '{{input}}', ...] (never a shell string)")
    if not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in argv):
        raise ConditionError(f"{where}: every argument must be a string or a number")
    for a in argv:
        _fill(str(a), blank, where)
    _check_script(argv, descriptor_dir, where)


def _check_bitstream_paths(params: Mapping[str, Any], where: str) -> None:
    """ConditionError unless the bitstream (or its per-frame pattern, which needs a {frame}) lies in the job's
    folder."""
    for key in ("bitstream", "bitstream_pattern"):
        if params[key] is not None and not params[key].startswith("{work_dir}/"):
            raise ConditionError(f"{where}.{key}: {params[key]!r} must lie in the job's folder: start it with "
                                 "'{work_dir}/' (the decoder gets a copy at the same place in its own folder)")
    if params["bitstream_pattern"] is not None and "{frame" not in params["bitstream_pattern"]:
        raise ConditionError(f"{where}.bitstream_pattern: needs a {{frame}} placeholder (e.g. {{frame:05d}})")


def _check_report_regex(patterns: Mapping[str, Any], where: str) -> None:
    """ConditionError naming the entry of report_regex (PATTERNS) that is not a regular expression with a group."""
    for name, pattern in patterns.items():
        try:
            if re.compile(str(pattern)).groups < 1:
                raise re.error("no group")
        except re.error as e:
            raise ConditionError(f"{where}.report_regex.{name}: not a regular expression with a group ({e})") from None


class _Unfilled:
    """A placeholder left for the job to fill, written back as it was (``{frame:05d}``, ``{rate_point.intra}``,
    ``{rate_point[1]}``) when the static ones are filled in."""

    def __init__(self, text: str) -> None:
        self._text = text

    def __getattr__(self, name: str) -> _Unfilled:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unfilled(f"{self._text}.{name}")

    def __getitem__(self, key: Any) -> _Unfilled:
        return _Unfilled(f"{self._text}[{key}]")

    def __format__(self, spec: str) -> str:
        return "{" + self._text + (":" + spec if spec else "") + "}"

    def __str__(self) -> str:  # {x!s}, {x!r}: as the plain text "{x}" was converted before
        return "{" + self._text + "}"

    def __repr__(self) -> str:
        return repr(str(self))


class _Static(dict):  # fills the static placeholders, leaves the others as they are
    def __missing__(self, key: str) -> _Unfilled:
        return _Unfilled(key)


@register
class CommandCodec(Adapter):
    name = "command"
    version = 2  # 2: every path absolute; the decoder in a folder of its own with only the bitstream
    rate_knob = "rate point"
    needs_descriptor = True  # doctor with no codec named: "needs a descriptor", not its parameter error
    capabilities: ClassVar[Capabilities] = Capabilities(("yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le",
                                                         "gbrp"), separate_decode=True)
    PARAMS: ClassVar[dict[str, Param]] = {
        "encode": Param(list, None, "encoder argument list with placeholders ({input}, {bitstream}, {rate_point} ...)"),
        "decode": Param(list, None, "decoder argument list ({bitstream}, {decoded}, {width}, {height} ...)"),
        "input_format": Param(str, "yuv420p", "what the codec reads and its decoder writes", INPUT_FORMATS),
        "bitstream": Param(str, "{work_dir}/bitstream.bin", "where the encoder writes its one bitstream file"),
        "bitstream_pattern": Param(str, None, "instead: one file per frame, with {frame} (e.g. "
                                   "'{work_dir}/bits/{frame:05d}.bin')"),
        "rate_points": Param(str, "int", "what a rate point is: int, float or str", RATE_POINT_KINDS),
        "rate_range": Param(list, None, "[low, high] a numeric rate point must lie in", item_kind=None),
        "rate_point_fields": Param(list, None, RATE_POINT_FIELDS_HELP + "; the commands take {rate_point[0]} ... or "
                                   "{rate_point.<name>}"),
        "report_json": Param(str, None, "a JSON file the encoder writes with its own numbers (placeholders allowed)",
                             affects_result=False),
        "report_regex": Param(dict, {}, "name: regular expression over the encoder's output; group 1 a number",
                              affects_result=False),
        "timeout_s": Param(int, 0, "kill a command after this many seconds (0: no limit)", affects_result=False),
        "descriptor_dir": Param(str, None, "set by the suite: the descriptor's folder", affects_result=False),
    }

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        for key in ("encode", "decode"):
            if isinstance(raw.get(key), str):
                raise ConditionError(f"{where}.{key}: give the command as a list of arguments, not one string: it "
                                     "never goes through a shell (e.g. [my_codec, --in, '{input}'])")
        params = super().validate_params(raw, where)
        check_rate_point_fields(params["rate_point_fields"], where)
        _check_rate_point_placeholders(params, where)
        blank = _blank_values(params["rate_point_fields"])
        for key in ("encode", "decode"):
            _check_command(key, params[key], blank, params["descriptor_dir"], f"{where}.{key}")
        if any("{input" in str(a) for a in params["decode"]):
            raise ConditionError(f"{where}.decode: the decoder gets only the bitstream; {{input}} (the source) is "
                                 "not available to it")
        _check_bitstream_paths(params, where)
        check_rate_range(params["rate_range"], where)
        _check_report_regex(params["report_regex"], where)
        return params

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return descriptor_rate_point(value, where, "a command codec")

    def rate_point_identity(self, rate_point: Any) -> dict[str, Any]:
        check_rate_point_kind(self.name, rate_point, self.params["rate_points"], self.params["rate_range"],
                              self.params["rate_point_fields"])
        return {}

    def result_params(self) -> dict[str, Any]:
        # rate_point_fields only where set: the keys of descriptors written before it existed stay as they were.
        return {k: v for k, v in super().result_params().items() if k != "rate_point_fields" or v is not None}

    # -- identity: the programs, found and hashed ------------------------------------------------------------

    def _descriptor_dir(self) -> str:
        return str(Path(self.params["descriptor_dir"] or ".").absolute())

    def _static_values(self) -> dict[str, Any]:
        return _Static(descriptor_dir=self._descriptor_dir(), python=sys.executable)

    def programs(self) -> list[Path]:
        """Every program and file the commands name before a job fills them in: the first word of each command
        (found on PATH or next to the descriptor) and any argument naming an existing file (a script, a
        config: relative to the descriptor's folder)."""
        found: list[Path] = []
        for key in ("encode", "decode"):
            argv = self._static_argv(key)
            found.append(Path(argv[0]))
            found += [Path(a) for a in argv[1:] if Path(a).is_absolute() and Path(a).is_file()]
        return list(dict.fromkeys(found))

    def _static_argv(self, key: str) -> list[str]:
        """The command with the static placeholders filled in, its program found and the arguments that name
        files next to the descriptor made absolute (the job runs in its own work folder)."""
        argv = [str(a).format_map(self._static_values()) for a in self.params[key]]
        exe = self._which(argv[0])
        if exe is None:
            raise AdapterError(f"codec {self.name}: {key} program {argv[0]!r} not found (on PATH, or relative to "
                               f"{self.params['descriptor_dir'] or 'the current folder'})")
        base = Path(self.params["descriptor_dir"] or ".")
        return [str(exe), *(str((base / a).absolute()) if "{" not in a and not Path(a).is_absolute()
                            and (base / a).is_file() else a for a in argv[1:])]

    def _which(self, program: str) -> Path | None:
        # Not resolved through symlinks: a virtual environment's python is a link, and only run by its own
        # path does it find its packages (hashing reads through the link all the same).
        if "/" in program or "\\" in program:
            p = Path(program)
            if not p.is_absolute() and self.params["descriptor_dir"]:
                p = Path(self.params["descriptor_dir"]) / p
            return p.absolute() if p.is_file() else None
        hit = shutil.which(program)
        return Path(hit).absolute() if hit else None

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["programs"] = [{"path": str(p), "sha256": tool_sha256(p)} for p in self.programs()]
        return ident

    def doctor(self) -> str:
        programs = self.programs()
        return "; ".join(f"{p} (sha256 {tool_sha256(p)[:12]})" for p in programs)

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        fmt = self.params["input_format"]
        if fmt == "png":
            return pixel_format("gbrp")
        if fmt == "y4m":
            return pixel_format("yuv420p")
        return pixel_format(fmt)

    # -- one job ---------------------------------------------------------------------------------------------

    def _values(self, task: CodingTask, paths: dict[str, Path]) -> dict[str, Any]:
        return {"input": str(paths["input"]), "bitstream": str(paths["bitstream"]), "decoded": str(paths["decoded"]),
                "width": task.width, "height": task.height, "fps": f"{task.fps:g}", "frames": task.frames,
                "first_frame": 0, "intra_period": task.intra_period,
                "rate_point": _RatePoint(task.rate_point, self.params["rate_point_fields"] or [])
                if isinstance(task.rate_point, list) else task.rate_point,
                "work_dir": str(paths["work_dir"]), "descriptor_dir": self._descriptor_dir(),
                "python": sys.executable}

    def _paths(self, task: CodingTask, step: str) -> dict[str, Path]:
        """The placeholders' paths for STEP (encode or decode), each in that step's own folder of the job
        (absolute: task.work_dir is made absolute first). The decoder has no input."""
        work = task.work_dir / step
        fmt = self.params["input_format"]
        suffix = {"y4m": ".y4m", "png": ""}.get(fmt, ".yuv")
        values = self._values(task, {"input": Path(), "bitstream": Path(), "decoded": Path(), "work_dir": work})
        pattern = self.params["bitstream_pattern"]
        # {bitstream}: the one file, or the folder the per-frame files go to
        bitstream = Path(pattern.format(**values, frame=0)).parent if pattern else \
            Path(self.params["bitstream"].format(**values))
        return {"input": work / f"input{suffix}" if step == "encode" else Path(), "decoded": work / f"decoded{suffix}",
                "bitstream": bitstream, "work_dir": work}

    def _make_folders(self, paths: dict[str, Path]) -> None:
        if paths["work_dir"].exists():  # a step starts from an empty folder
            shutil.rmtree(paths["work_dir"])
        folder = paths["bitstream"] if self.params["bitstream_pattern"] else paths["bitstream"].parent
        folder.mkdir(parents=True, exist_ok=True)
        paths["work_dir"].mkdir(parents=True, exist_ok=True)

    def _bitstreams(self, task: CodingTask, paths: dict[str, Path]) -> list[Path]:
        """The encoder's bitstream file(s), checked by :func:`check_bitstream_files`."""
        files = self._target_names(task, paths)
        check_bitstream_files(self.name, files)
        return files

    def _run(self, key: str, task: CodingTask, paths: dict[str, Path]) -> tuple[list[str], str, float]:
        values = self._values(task, paths)
        argv = [_fill(a, values, f"codec {self.name}.{key}") for a in self._static_argv(key)]
        t0 = time.perf_counter()
        out = run_program(argv, f"codec {self.name}: {key}r", self.params["timeout_s"] or None,
                          task.work_dir / f"{key}.log", cwd=paths["work_dir"])
        return argv, out, time.perf_counter() - t0

    def code_sequence(self, task: CodingTask) -> CodingResult:
        task = _absolute(task)
        paths = self._paths(task, "encode")
        self._make_folders(paths)
        self._write_input(task, paths["input"])
        enc_argv, enc_log, encode_s = self._run("encode", task, paths)
        reported = self._reported(task, paths, enc_log)
        bitstreams = self._keep_bitstreams(task, paths, self._bitstreams(task, paths))
        decoded, dec_argv, decode_s = self._decode(task, bitstreams)
        return CodingResult(bitstreams=bitstreams, decoded_path=decoded, commands=[enc_argv, dec_argv],
                            encode_seconds=encode_s, decode_seconds=decode_s,
                            frame_bits=[8 * p.stat().st_size for p in bitstreams] if len(bitstreams) == task.frames
                            and task.frames > 1 else None,
                            reported_metrics=reported, logs={"encode": enc_log})

    @staticmethod
    def _keep_bitstreams(task: CodingTask, paths: dict[str, Path], files: list[Path]) -> list[Path]:
        """Move FILES out of the encoder's folder (into <job>/streams, same names) and delete that folder: the
        input and the encoder's scratch files are gone before the decoder starts."""
        kept = []
        for f in files:
            dest = task.work_dir / "streams" / f.relative_to(paths["work_dir"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            kept.append(Path(shutil.move(f, dest)))
        shutil.rmtree(paths["work_dir"])
        return kept

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        return self._decode(_absolute(task), bitstreams)[0]

    def _target_names(self, task: CodingTask, paths: dict[str, Path]) -> list[Path]:
        pattern = self.params["bitstream_pattern"]
        if pattern is None:
            return [paths["bitstream"]]
        values = self._values(task, paths)
        return [Path(pattern.format(**values, frame=i)) for i in range(task.frames)]

    def _decode(self, task: CodingTask, bitstreams: list[Path]) -> tuple[Path, list[str], float]:
        """Decode copies of BITSTREAMS in a fresh folder of their own (the decoder may rewrite them: the rate
        stays that of the originals); (raw decoded frames in task.fmt, the command run, its seconds)."""
        paths = self._paths(task, "decode")
        self._make_folders(paths)
        for src, dest in zip(bitstreams, self._target_names(task, paths), strict=True):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        if self.params["input_format"] == "png":
            paths["decoded"].mkdir(parents=True, exist_ok=True)
        argv, _, seconds = self._run("decode", task, paths)
        return self._read_decoded(task, paths["decoded"]), argv, seconds

    # -- formats ---------------------------------------------------------------------------------------------

    def _write_input(self, task: CodingTask, dest: Path) -> None:
        fmt = self.params["input_format"]
        frames = RawVideoReader(task.input_path, task.fmt, task.width, task.height).frames(0, task.frames)
        if fmt == "png":
            dest.mkdir(parents=True, exist_ok=True)
            for i, planes in enumerate(frames):
                write_png_frame(dest / f"{i:05d}.png", planes)
        elif fmt == "y4m":
            write_y4m(dest, frames, task.fmt, task.width, task.height, round(task.fps))
        else:
            shutil.copyfile(task.input_path, dest)

    def _read_decoded(self, task: CodingTask, decoded: Path) -> Path:
        fmt = self.params["input_format"]
        what = f"codec {self.name}: the decoder"
        if fmt in RAW_FORMATS:
            if not decoded.is_file():
                raise AdapterError(f"{what} wrote nothing at {decoded}")
            return decoded
        out = task.work_dir / "decoded.raw"
        if fmt == "png":
            if not decoded.is_dir() or not any(decoded.glob("*.png")):
                raise AdapterError(f"{what} wrote no PNG frames into {decoded}")
            reader: Any = PngSequenceReader(decoded)
        else:
            if not decoded.is_file():
                raise AdapterError(f"{what} wrote nothing at {decoded}")
            reader = Y4mReader(decoded)
        with RawVideoWriter(out, task.fmt) as writer:
            for planes in reader.frames(0, None):
                if planes[0].shape != (task.height, task.width):
                    raise AdapterError(f"{what} wrote {planes[0].shape[1]}x{planes[0].shape[0]} frames, expected "
                                       f"{task.width}x{task.height}")
                writer.write(planes)
        return out

    def _reported(self, task: CodingTask, paths: dict[str, Path], log: str) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.params["report_json"]:
            path = Path(_fill(self.params["report_json"], self._values(task, paths), f"codec {self.name}.report_json"))
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as e:
                raise AdapterError(f"codec {self.name}: report_json {path} could not be read: {e}") from None
            if isinstance(data, dict):
                out.update({k: float(v) for k, v in data.items() if isinstance(v, (int, float))
                            and not isinstance(v, bool)})
        for name, pattern in self.params["report_regex"].items():
            m = re.search(str(pattern), log, re.MULTILINE)
            if m:
                try:
                    out[name] = float(m.group(1))
                except ValueError:
                    pass
        return out
