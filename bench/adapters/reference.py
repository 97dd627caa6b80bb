"""The reference software: VTM, HM and ECM through their own encoder and decoder programs.

The user's build is found from the descriptor (``root``: the source tree, whose ``bin/`` holds the programs and
``cfg/`` the base configurations; or explicit ``encoder``/``decoder``/``cfg_dir``/``cfg_file``), or from
``$LVCBENCH_VTM_ROOT``/``$LVCBENCH_HM_ROOT``/``$LVCBENCH_ECM_ROOT``. The base configuration is chosen by name
(LDB, LDP, RA, AI) from the user's own ``cfg/`` (for HM and 4:4:4 input, its RExt cfg where HM ships one);
geometry, frame rate, frame count, bit depths, QP and intra period go on the command line, after the cfg, so
they win, and the descriptor's ``extra_args`` come last. Every job encodes with the MD5 decoded-picture-hash SEI
and a fresh summary file, decodes with the matching decoder at the coding bit depth, and fails unless the
decoder confirms every picture's hash. The encoder's own numbers are parsed and kept beside ours.

What was coded is read back, not assumed: each picture's type, QP and coding order from the encoder's log, the
chroma format, internal bit depth, profile and level from the stream's SPS (:mod:`bench.adapters.parameter_sets`);
intra pictures elsewhere than the intra period puts them, reordering under LDB/LDP, or a chroma format or bit
depth other than asked fail the job, and the record's description is built from these facts. The encoder's
per-picture PSNR is recomputed its way from the stream decoded at the internal bit depth and must agree to its
printed decimals (:mod:`bench.adapters.reference_psnr`; ``exact_check: false`` skips the extra decode).

Intra period, as the condition defines it: ``-1`` is one intra frame (``IntraPeriod -1``); ``N`` is an intra
frame every N frames. The rules are the encoders' own (VTM ``EncAppCfg``, HM ``TAppEncCfg``), checked before
anything runs against the GOP size read from the cfg actually used: ``N`` must be a multiple of it. In the
low-delay configurations the cfg's ``DecodingRefreshType 0`` would make the encoders ignore a positive
``IntraPeriod`` (VTM resets it to -1), so ``N`` also sets ``DecodingRefreshType 2`` (IDR), as the DCVC test
conditions do, and IDR needs ``N`` larger than the GOP. RA keeps the cfg's CRA refresh; AI codes every frame
intra and accepts only 1. Nothing is rounded: a condition the configuration cannot honour stops the run.
A cfg's CTC ``TemporalSubsampleRatio`` (8 in VTM's AI cfg) is set back to 1 so every frame is coded, and HM
gets ``ConformanceWindowMode 1`` (its default 0 rejects sizes that need padding).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from bench.adapters import register
from bench.adapters.base import Adapter, Capabilities, CodingResult, CodingTask, Param
from bench.adapters.codec_logs import parse_summary, parse_version
from bench.adapters.parameter_sets import SequenceParameters, read_sps
from bench.adapters.process import run, run_program
from bench.adapters.reference_psnr import compare_with_log, encoder_psnr
from bench.adapters.segments import Segment, encode_segments, intra_period_segments
from bench.adapters.stream_facts import StreamFacts, expected_intra, positions
from bench.errors import AdapterError, ConditionError
from bench.tools import sha256_file, tool_sha256
from bench.video.formats import PixelFormat

CONFIGS = ("LDB", "LDP", "RA", "AI")


# --- log parsing (the summary and version lines: bench.adapters.codec_logs) ---------------------------------------------

_POC_LINE = re.compile(r"^POC\s+(\d+)\b.*?\(\s*(?:\w+,\s*)?([IPBipb])-SLICE.*?\)\s+(\d+)\s+bits\s+\[Y\s+([\d.]+)\s+dB\s+U\s+"
                       r"([\d.]+)\s+dB\s+V\s+([\d.]+)\s+dB\]", re.MULTILINE)


def parse_pictures(text: str) -> dict[int, tuple[str, int, float, float, float]]:
    """Per coded picture (by POC = display index): slice type, bits, Y/U/V PSNR from the encoder log."""
    return {int(m.group(1)): (m.group(2).upper(), int(m.group(3)), float(m.group(4)), float(m.group(5)),
                              float(m.group(6))) for m in _POC_LINE.finditer(text)}


_PICTURE_QP = re.compile(r"^POC\s+(\d+)\b[^\n]*?\bQP\s+(-?\d+)\s*\)\s+\d+\s+bits", re.MULTILINE)


def coding_order(text: str) -> list[int]:
    """The POC of each picture in the order the encoder coded it (its log has one line per coded picture)."""
    return [int(m.group(1)) for m in _POC_LINE.finditer(text)]


def picture_qp(text: str) -> dict[int, int]:
    """Per coded picture (by POC), the QP the encoder used: the rate point plus the cfg's GOP offset."""
    return {int(poc): int(qp) for poc, qp in _PICTURE_QP.findall(text)}


def cfg_values(path: Path) -> dict[str, str]:
    """Every ``Key : value  # comment`` a VTM/HM cfg file gives; the last one of a key wins, as in the encoders."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        name, sep, rest = line.partition(":")
        if sep:
            values[name.strip()] = rest.split("#", 1)[0].strip()
    return values


def cfg_value(path: Path, key: str) -> str | None:
    """The value a VTM/HM cfg file gives KEY, or None (see :func:`cfg_values`)."""
    return cfg_values(path).get(key)


def option_value(args: list[str], key: str) -> str | None:
    """The value ``--KEY=v`` has in a command line (the last one wins), else None: the one form the encoders'
    parser reads as a value (``--KEY v`` is refused in extra_args, see :func:`extra_args_problem`)."""
    value = None
    for arg in args:
        if arg.startswith(f"--{key}="):
            value = arg.split("=", 1)[1]
    return value


# Options the suite sets itself from the condition, the rate point and the source (encoder_args). The encoders
# take the last value given, so the same option in extra_args would silently override the condition while the
# record still said what the condition said: refused before anything runs, saying what sets it instead.
SET_BY_THE_SUITE = {
    "QP": "the rate point", "IntraPeriod": "the condition's intra_period",
    "DecodingRefreshType": "the condition's intra_period and config", "FramesToBeEncoded": "the condition's frames",
    "FrameSkip": "the condition's frames", "FrameRate": "the sequence's frame rate",
    "SourceWidth": "the sequence's size", "SourceHeight": "the sequence's size",
    "InputBitDepth": "the coding format", "OutputBitDepth": "the coding format",
    "InputChromaFormat": "the coding format", "ChromaFormatIDC": "the coding format",
    "InternalBitDepth": "the descriptor's internal_bit_depth (set it there instead)",
    "SEIDecodedPictureHash": "the suite (MD5, checked on every decoded picture)",
    "TemporalSubsampleRatio": "the suite (every frame is coded)", "InputFile": "the suite",
    "BitstreamFile": "the suite", "ReconFile": "the suite", "SummaryOutFilename": "the suite",
}
# The encoders' one-letter spellings of the same options (VTM EncAppCfg, HM TAppEncCfg), and -c, a second cfg
# that would be read after ours and override all of it.
SHORT_OPTIONS = {"-q": "QP", "-f": "FramesToBeEncoded", "-fs": "FrameSkip", "-fr": "FrameRate", "-wdt": "SourceWidth",
                 "-hgt": "SourceHeight", "-ip": "IntraPeriod", "-dr": "DecodingRefreshType", "-i": "InputFile",
                 "-b": "BitstreamFile", "-o": "ReconFile", "-cf": "ChromaFormatIDC", "-dph": "SEIDecodedPictureHash"}


def extra_args_problem(args: list[str]) -> str | None:
    """What is wrong with a descriptor's ``extra_args`` for the reference encoders, or None. Each option must be
    written ``--Key=value``: the encoders' option parser reads ``--Key value`` as ``Key`` switched on and ignores
    ``value`` ("Unhandled argument ignored"), so the two spellings can mean different things to it and to us; and
    none may set what the suite sets (:data:`SET_BY_THE_SUITE`)."""
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            return f"extra_args[{i}]: {arg!r} is not a string"
        if arg == "-c":
            return ("extra_args: -c reads a second cfg after the suite's options, overriding the condition; give "
                    "your cfg as cfg_file: in the descriptor (read first, then the suite's options)")
        if arg in SHORT_OPTIONS:
            key = SHORT_OPTIONS[arg]
            return f"extra_args: {arg} sets {key}, which {SET_BY_THE_SUITE[key]} sets; remove it"
        key, eq, _ = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        if key in SET_BY_THE_SUITE:
            return f"extra_args: {arg} sets {key}, which {SET_BY_THE_SUITE[key]} sets; remove it"
        if not eq or not key:
            return f"extra_args: {_not_key_value(arg, args[i + 1] if i + 1 < len(args) else None)}"
    return None


def _not_key_value(arg: str, following: str | None) -> str:
    """Why ARG (followed by FOLLOWING) is refused, and how to write it."""
    if arg.startswith("--"):
        value = following if following is not None and not following.startswith("-") else "VALUE"
        return (f"{arg!r}{f' followed by {following!r}' if value == following else ''} is not of the form "
                f"--Key=value; the encoder would read '--Key value' as Key=1 and ignore the value: write {arg}={value}")
    return f"{arg!r} is not of the form --Key=value: write --{arg.lstrip('-')}"


def hash_check(decoder_log: str) -> tuple[int, int, int]:
    """(pictures confirmed, mismatches, pictures without a hash) from the decoder's ``[MD5:...,(OK)]`` notes."""
    return (decoder_log.count(",(OK)]"), decoder_log.count("(***ERROR***)"), decoder_log.count(",(unk)]"))


# The decoder's note on each picture's hash SEI: ``[MD5:a,b,c,(OK)]``, ``[CRC:...]``, ``[Checksum:...]``, and
# ``[:,(unk)]`` for a picture without one (VTM 23.13, HM 16.25).
_HASH_NOTE = re.compile(r"\[(MD5|CRC|Checksum|):[^\]]*,\((OK|unk|\*\*\*ERROR\*\*\*)\)\]")


def hash_kinds(decoder_log: str) -> list[str]:
    """The kinds of picture hash the decoder checked (``MD5``, ``CRC``, ``Checksum``), in order of appearance."""
    return list(dict.fromkeys(m.group(1) for m in _HASH_NOTE.finditer(decoder_log) if m.group(1)))


# Lines of the reference programs that warn: ``Warning: Level set to none, ...`` (the decoder, once a picture),
# ``Unhandled argument ignored: `32'`` (the option parser), ``** WARNING: ... **`` boxes (the encoder).
_TOOL_WARNING = re.compile(r"warning|unhandled argument", re.IGNORECASE)


def tool_warnings(*logs: str) -> list[str]:
    """Each warning line of the encoder and decoder LOGS once, in order, with how often it appeared."""
    counts: dict[str, int] = {}
    for log in logs:
        for line in log.splitlines():
            if _TOOL_WARNING.search(line):
                text = line.strip().strip("*").strip()
                counts[text] = counts.get(text, 0) + 1
    return [f"{w} ({n} times)" if n > 1 else w for w, n in counts.items()]


def hash_sei_bytes(stream: bytes, hevc: bool) -> int:
    """Bytes (start codes included) of the SEI NAL units that carry a decoded-picture hash (payload type 132).

    The hash SEI is a verification aid the CTC configurations leave off (``SEIDecodedPictureHash : 0``); we
    switch it on to check every decode, so its bytes are left out of the rate (about 55 bytes a picture: 7 % of
    an 8-frame 416x240 VTM stream at QP 32)."""
    starts = [i for i in range(len(stream) - 2) if stream[i] == 0 and stream[i + 1] == 0 and stream[i + 2] == 1]
    total = 0
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(stream)
        if k + 1 < len(starts) and stream[end - 1] == 0:
            end -= 1  # the zero_byte of a 4-byte start code belongs to the next NAL unit
        header = stream[start + 3 : start + 5]
        if len(header) < 2:
            continue
        nal_type = (header[0] >> 1) & 0x3F if hevc else (header[1] >> 3) & 0x1F
        is_sei = nal_type in ((39, 40) if hevc else (23, 24))
        if not is_sei or start + 5 >= end:
            continue
        pos, payload_type = start + 5, 0
        while pos < end and stream[pos] == 0xFF:
            payload_type += 255
            pos += 1
        if pos < end and payload_type + stream[pos] == 132:
            lead = 1 if start > 0 and stream[start - 1] == 0 else 0
            total += end - start + lead
    return total


# --- the adapters ------------------------------------------------------------------------------------------------

_CODED_PICTURE = re.compile(r"^POC\s+\d+\b")


class ReferenceSoftware(Adapter):
    """Shared plumbing of VTM, HM and ECM (same command-line options, nearly the same logs)."""

    # YUV at the condition's coding format (4:2:0 or 4:4:4, 8 or 10 bit). The encoders take no thread count;
    # a split encode (segments in parallel) is a different stream, and its key says so.
    capabilities: ClassVar[Capabilities] = Capabilities(("yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le"),
                                                        separate_decode=True)

    env_root: ClassVar[str]
    encoder_names: ClassVar[tuple[str, ...]]
    decoder_names: ClassVar[tuple[str, ...]]
    parcat_names: ClassVar[tuple[str, ...]] = ()  # VTM's bitstream joiner (split encodes)
    cfg_names: ClassVar[dict[str, str]]
    cfg_names_444: ClassVar[dict[str, str]] = {}  # where 4:4:4 input needs another cfg (HM's RExt ones)
    extra_defaults: ClassVar[tuple[str, ...]] = ()
    hevc: ClassVar[bool] = False
    qp_range = (-12, 63)
    version = 3  # 3: intra-period rules from the cfg's GOP size; per-job cfg hash
    PARAMS: ClassVar[dict[str, Param]] = {
        "root": Param(str, None, "source tree holding bin/ and cfg/ (or set the environment variable)",
                      affects_result=False),
        "encoder": Param(str, None, "encoder program (default: found under root/bin)", affects_result=False),
        "decoder": Param(str, None, "decoder program (default: found under root/bin)", affects_result=False),
        "cfg_dir": Param(str, None, "folder of the base cfg files (default: root/cfg)", affects_result=False),
        "cfg_file": Param(str, None, "a base cfg of your own instead of the configuration's standard one "
                          "(config still sets the intra-period rules)", affects_result=False),
        "config": Param(str, "LDB", "base configuration", CONFIGS),
        "internal_bit_depth": Param(int, 10, "InternalBitDepth", (8, 10, 12)),
        "extra_args": Param(list, [], "more encoder options, after ours (e.g. --Level=6.2)"),
        "timeout_s": Param(int, 0, "kill the encoder after this many seconds (0: no limit)", affects_result=False),
        "exact_check": Param(bool, True, "recompute the encoder's own per-picture PSNR from the stream decoded at "
                             "the internal bit depth and require it to 1e-4 dB (one more decode per job)",
                             affects_result=False),
    }

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        lo, hi = cls.qp_range
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConditionError(f"{where}: {value!r} is not a valid QP for {cls.name}: expected an integer {lo}..{hi}")
        return value

    def gop_size(self) -> int:
        """The GOP size the encoder will use: ``--GOPSize`` in extra_args, else the cfg's (encoder default 1)."""
        value = option_value(self.params["extra_args"], "GOPSize") or cfg_value(self.cfg_file("420"), "GOPSize")
        try:
            return int(value) if value is not None else 1
        except ValueError:
            raise AdapterError(f"codec {self.name}: GOPSize {value!r} in {self.cfg_file('420')} is not a number") from None

    def check_condition(self, intra_period: int, where: str) -> None:
        """The encoders' own intra-period rules for the chosen configuration; a condition that breaks them stops
        the run before anything is coded (the encoder would refuse it after the input was prepared)."""
        problem = extra_args_problem(self.params["extra_args"])
        if problem:
            raise ConditionError(f"{where}: {problem}")
        self._check_reordering(where)
        config = self.params["config"]
        if config == "AI":
            if intra_period != 1:
                raise ConditionError(f"{where}: codec {self.name} with config AI codes every frame intra; the "
                                     f"condition's intra_period is {intra_period}, set it to 1 or choose LDB, LDP or RA")
            return
        if intra_period <= 0:
            return
        gop = self.gop_size()
        if intra_period % gop:
            raise ConditionError(f"{where}: codec {self.name} with config {config} needs an intra period that is a "
                                 f"multiple of its GOP size {gop} (from {self._gop_source()}); the condition asks for "
                                 f"{intra_period} (not rounded: choose a multiple, or -1)")
        if config in ("LDB", "LDP") and intra_period <= gop:
            raise ConditionError(f"{where}: codec {self.name} with config {config} codes a periodic intra frame as "
                                 f"IDR, which needs an intra period larger than its GOP size {gop}; the condition "
                                 f"asks for {intra_period} (choose {2 * gop}, a larger multiple, or -1)")

    def _check_reordering(self, where: str) -> None:
        """The cfg's GOP must code in the order the configuration says: the low-delay ones in display order, RA
        out of it (a random-access cfg given as ``cfg_file`` under ``config: LDB`` would be recorded as LDB)."""
        if self.params["config"] == "AI":
            return
        cfg = self.cfg_file("420")
        values, pocs = cfg_values(cfg), []  # read once, not once per GOP entry
        for k in range(1, self.gop_size() + 1):
            entry = values.get(f"Frame{k}")
            if entry is None or len(entry.split()) < 2 or not entry.split()[1].lstrip("-").isdigit():
                return  # no GOP table to read (the encoder's default structure)
            pocs.append(int(entry.split()[1]))
        reorders = pocs != sorted(pocs)
        config = self.params["config"]
        if reorders == (config in ("LDB", "LDP")):
            order = ", ".join(map(str, pocs[:8])) + (" ..." if len(pocs) > 8 else "")
            what = "out of display order (random access)" if reorders else "in display order (low delay)"
            raise ConditionError(f"{where}: config {config}, but {cfg} codes its GOP {what}: POC {order}; choose "
                                 f"config: {'RA' if reorders else 'LDB or LDP'}, or a cfg made for {config}")

    def _gop_source(self) -> str:
        if option_value(self.params["extra_args"], "GOPSize") is not None:
            return "extra_args"
        return self.cfg_file("420").name

    # -- finding the build --

    def _root(self) -> Path | None:
        root = self.params["root"] or os.environ.get(self.env_root)
        return Path(root).expanduser() if root else None

    def _program(self, kind: str) -> Path:
        explicit = self.params[kind]
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise AdapterError(f"codec {self.name}: {kind} {path} does not exist")
            return path
        root = self._root()
        if root is None:
            raise AdapterError(f"codec {self.name}: no build given; set root: (the source tree) or {kind}: in the "
                               f"descriptor, or the environment variable {self.env_root}")
        names = {"encoder": self.encoder_names, "decoder": self.decoder_names, "parcat": self.parcat_names}[kind]
        for name in names:
            found = sorted((root / "bin").rglob(name)) if (root / "bin").is_dir() else []
            if found:
                return found[0]
        raise AdapterError(f"codec {self.name}: no {' or '.join(names)} under {root / 'bin'}; build it (cmake, make) "
                           f"or give {kind}: in the descriptor")

    def cfg_file(self, chroma: str) -> Path:
        """The base cfg for input of this chroma format ("420", "444", ...)."""
        if self.params["cfg_file"]:
            path = Path(self.params["cfg_file"]).expanduser()
            if not path.is_file():
                raise AdapterError(f"codec {self.name}: cfg_file {path} does not exist")
            return path
        config = self.params["config"]
        names = self.cfg_names_444 if chroma != "420" and self.cfg_names_444 else self.cfg_names
        if config not in names:
            raise AdapterError(f"codec {self.name}: {self.name.upper()} ships no {config} cfg for {chroma} input; "
                               "give cfg_file: in the descriptor, or choose another config")
        base = Path(self.params["cfg_dir"]).expanduser() if self.params["cfg_dir"] else (self._root() or Path(".")) / "cfg"
        path = base / names[config]
        if not path.is_file():
            raise AdapterError(f"codec {self.name}: config {config} needs {path}, which does not exist; point root: "
                               "or cfg_dir: at the source tree's cfg folder")
        return path

    def _cfg_files(self) -> dict[str, Path]:
        """Every cfg a job may use, by chroma class (only those that exist for the 4:4:4 variant)."""
        files = {"420": self.cfg_file("420")}
        if self.cfg_names_444 and not self.params["cfg_file"]:
            try:
                files["444"] = self.cfg_file("444")
            except AdapterError:
                pass  # reported when a 4:4:4 job needs it
        return files

    @functools.cached_property
    def _version(self) -> str:
        encoder = self._program("encoder")
        version = parse_version(run([str(encoder), "--help"], f"codec {self.name}: {encoder} --help", 60).output)
        if version is None:
            raise AdapterError(f"codec {self.name}: {encoder} printed no version banner; is it the {self.name} encoder?")
        return version

    def identity(self) -> dict[str, Any]:
        encoder, decoder, cfgs = self._program("encoder"), self._program("decoder"), self._cfg_files()
        return {**super().identity(), "version": self._version, "encoder_sha256": tool_sha256(encoder),
                "decoder_sha256": tool_sha256(decoder), "cfg": {k: p.name for k, p in cfgs.items()},
                "cfg_sha256": {k: sha256_file(p) for k, p in cfgs.items()}}

    def doctor(self) -> str:
        return (f"{self.name} {self._version} ({self._program('encoder')}, config {self.params['config']}: "
                f"{self.cfg_file('420')}, GOP size {self.gop_size()})")

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        if coding.family != "yuv":
            raise AdapterError(f"codec {self.name}: give YUV input (set colour.coding_format, e.g. yuv444p10le for "
                               "RGB content)")
        return coding

    # -- one job --

    def encoder_args(self, task: CodingTask, segment: Segment | None = None) -> list[str]:
        """The encoder's options for the whole sequence, or for one SEGMENT of a split encode (its frames, and the
        condition's intra period always, so its last picture is the intra picture the next segment starts on)."""
        config = self.params["config"]
        chroma = task.fmt.chroma
        cfg = self.cfg_file(chroma)
        fps = Fraction(task.fps).limit_denominator(1001)
        first, count = (segment.first, segment.count) if segment else (0, task.frames)
        args = ["-c", str(cfg), "-wdt", str(task.width), "-hgt", str(task.height),
                f"--FrameRate={fps.numerator}" + (f":{fps.denominator}" if fps.denominator != 1 else ""),
                f"--FramesToBeEncoded={count}", f"--FrameSkip={first}", f"--InputBitDepth={task.fmt.bit_depth}",
                f"--OutputBitDepth={task.fmt.bit_depth}", f"--InternalBitDepth={self.params['internal_bit_depth']}",
                f"--InputChromaFormat={chroma}", f"--ChromaFormatIDC={chroma}", f"--QP={task.rate_point}",
                "--SEIDecodedPictureHash=1", *self.extra_defaults, *self.format_args(task.fmt)]
        if cfg_value(cfg, "TemporalSubsampleRatio") not in (None, "1"):
            args.append("--TemporalSubsampleRatio=1")  # CTC AI codes every 8th frame; we code every frame
        if config == "AI":
            args.append("--IntraPeriod=1")
        elif segment is None and (task.intra_period == -1 or task.intra_period >= task.frames):
            args.append("--IntraPeriod=-1")
        else:
            args.append(f"--IntraPeriod={task.intra_period}")
            if config in ("LDB", "LDP"):
                args.append("--DecodingRefreshType=2")
        return [*args, *self.params["extra_args"]]

    def format_args(self, fmt: PixelFormat) -> list[str]:
        """Options an input format needs beyond the cfg (none for VTM/ECM, whose profile follows the input)."""
        return []

    def _decode(self, task: CodingTask, bitstream: Path, decoded: Path, depth: int | None = None,
                ) -> tuple[list[str], str, float, int]:
        """Decode BITSTREAM with the reference decoder at DEPTH bits (default: the coding format's) and check
        every picture's hash SEI: (command, log, seconds, pictures confirmed)."""
        depth = depth or task.fmt.bit_depth
        decode = [str(self._program("decoder")), "-b", str(bitstream), "-o", str(decoded), "-d", str(depth)]
        t0 = time.perf_counter()
        log_name = "decoder.log" if depth == task.fmt.bit_depth else f"decoder_{depth}bit.log"
        dec_log = run_program(decode, f"codec {self.name}: decoder", self.params["timeout_s"] or None,
                              task.work_dir / log_name)
        seconds = time.perf_counter() - t0
        ok, bad, missing = hash_check(dec_log)
        if bad or missing or ok != task.frames:
            raise AdapterError(f"codec {self.name}: decoded-picture hash check failed: {ok} of {task.frames} pictures "
                               f"confirmed, {bad} mismatched, {missing} without a hash", dec_log[-3000:])
        return decode, dec_log, seconds, ok

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        decoded = task.work_dir / "decoded.yuv"
        self._decode(task, bitstreams[0], decoded)
        return decoded

    def code_sequence(self, task: CodingTask) -> CodingResult:
        self._program("decoder")  # a missing decoder stops the job before the (long) encode
        bitstream, decoded = task.work_dir / "stream.bin", task.work_dir / "decoded.yuv"
        cfg = self.cfg_file(task.fmt.chroma)
        timeout = self.params["timeout_s"] or None
        segments = self.segments(task)
        if len(segments) > 1:
            encoded = self._encode_split(task, segments, bitstream, timeout)
        else:
            encoded = self._encode_whole(task, bitstream, timeout)
        decode, dec_log, decode_s, ok = self._decode(task, bitstream, decoded)
        pictures = encoded.pictures
        kinds = "/".join(hash_kinds(dec_log)) or "picture hash"
        reported: dict[str, Any] = {"summary": encoded.summary, "hash_check": f"{kinds} OK for {ok} pictures",
                                    "version": parse_version(encoded.log),
                                    "config_file": {"path": str(cfg), "sha256": sha256_file(cfg)}}
        theirs_by_ours: dict[str, float] = {}
        if encoded.summary:
            # Named as ours so the runner can record the difference (the log measures at the internal bit
            # depth with peak 255 << (b-8), before output rounding; its bitrate counts coded NAL bits).
            names = {"psnr_y": "Y-PSNR", "psnr_u": "U-PSNR", "psnr_v": "V-PSNR", "psnr_yuv_vtm": "YUV-PSNR",
                     "kbps": "Bitrate"}
            theirs_by_ours = {ours: encoded.summary[theirs] for ours, theirs in names.items()
                              if theirs in encoded.summary}
        if encoded.summary_text:
            reported["summary_file"] = encoded.summary_text
        frame_types = bits = None
        if sorted(pictures) == list(range(task.frames)):
            frame_types = [pictures[i][0] for i in range(task.frames)]
            bits = [pictures[i][1] for i in range(task.frames)]
            reported["log_psnr_y"] = [pictures[i][2] for i in range(task.frames)]
        if encoded.split is not None:
            reported["split"] = encoded.split
        stream = bitstream.read_bytes()  # read once: its SPS and its hash-SEI bytes
        sps = read_sps(stream, self.hevc)
        if self.params["exact_check"]:
            reported["exact_check"] = self._exact_check(task, bitstream, decoded, sps, pictures)
        facts, description = self._read_back(task, encoded, cfg, frame_types, sps)
        return CodingResult(bitstreams=[bitstream], decoded_path=decoded, commands=[*encoded.commands, decode],
                            encode_seconds=encoded.seconds, decode_seconds=decode_s, frame_types=frame_types,
                            frame_bits=bits, excluded_bytes=hash_sei_bytes(stream, hevc=self.hevc),
                            excluded_reason="decoded-picture-hash SEI (verification only; off in the CTC "
                                            "configurations)", reported_metrics=theirs_by_ours,
                            codec_reported=reported, logs={"encode": encoded.log, "decode": dec_log},
                            processing=encoded.processing, warnings=tool_warnings(encoded.log, dec_log),
                            stream=facts or {}, description=description,
                            timing_details={"threads": 1, "timed": "per sequence: wall clock of the encoder "
                                            "process(es) and of the decoder, start-up and file I/O included",
                                            **encoded.timing})

    def _exact_check(self, task: CodingTask, bitstream: Path, decoded: Path, sps: SequenceParameters | None,
                     pictures: dict[int, tuple[str, int, float, float, float]]) -> dict[str, Any]:
        """The encoder's own per-picture PSNR recomputed its way (:mod:`bench.adapters.reference_psnr`) on the
        stream decoded at the internal bit depth: once more, unless that is the output depth already."""
        depth = sps.bit_depth_luma if sps else None
        if depth is None or sps is None or sps.bit_depth_chroma != depth:
            return {"not_done": "the internal bit depth was not read from the stream's SPS, or differs by plane"}
        if task.fmt.bit_depth > depth:
            return {"not_done": f"the source ({task.fmt.bit_depth}-bit) is deeper than the internal {depth} bits"}
        internal, seconds = decoded, 0.0
        if depth != task.fmt.bit_depth:
            internal = task.work_dir / f"decoded_{depth}bit.yuv"
            _, _, seconds, _ = self._decode(task, bitstream, internal, depth)
        try:
            ours = encoder_psnr(task.input_path, task.fmt, internal, depth, task.width, task.height, task.frames)
        finally:
            if internal != decoded:
                internal.unlink(missing_ok=True)
        return {**compare_with_log(self.name, ours, pictures, depth), "extra_decode_s": round(seconds, 3)}

    def _read_back(self, task: CodingTask, encoded: _Encoded, cfg: Path, frame_types: list[str] | None,
                   sps: SequenceParameters | None) -> tuple[dict[str, Any] | None, str | None]:
        """What the encoder's log (coding order, intra pictures, each picture's QP) and the stream's SPS (chroma
        format, internal bit depth, profile, level) say was coded, checked against the condition, and the
        description built from it; (None, None) where the log has no line for every picture. A stream that
        contradicts the condition fails the job."""
        qp = encoded.qp
        if frame_types is None or sorted(qp) != list(range(task.frames)):
            return None, None
        reorders = None if encoded.order is None else encoded.order != sorted(encoded.order)
        intra = [i for i, t in enumerate(frame_types) if t == "I"]
        problems = self._contradictions(task, intra, encoded.order, sps)
        if problems:
            extra = " ".join(self.params["extra_args"]) or "none"
            raise AdapterError(f"codec {self.name}: the stream is not what the condition asks (encoder log, SPS): "
                               + "; ".join(problems) + f" (the suite sets these on the command line: look for what "
                               f"changes them in extra_args ({extra}) or the cfg {cfg})", encoded.log[-3000:])
        lo, hi = min(qp.values()), max(qp.values())
        order = " ".join(map(str, encoded.order)) if encoded.order else "not read"
        facts = StreamFacts(f"{self.name.upper()} encoder log (a line per coded picture) and the stream's SPS",
                            qp=float(task.rate_point), reordering=reorders, intra_frames=intra,
                            raw={"picture_qp": " ".join(str(qp[i]) for i in range(task.frames)),
                                 "coding_order": order, **(sps.as_settings() if sps else {"sps": "not read"})})
        way = {True: "coded out of display order (random access)", False: "coded in display order (low delay)",
               None: "coding order not read"}[reorders]
        stream = (f"{sps.bit_depth_luma}-bit internal, {sps.chroma_format}, {sps.profile} profile, level {sps.level}"
                  if sps else "SPS not read")
        description = (f"{self.name.upper()} {parse_version(encoded.log) or ''} {self.params['config']} ({cfg.name}):"
                       f" {way}, intra at POC {positions(intra)}, picture QP {lo}..{hi} for rate point "
                       f"{task.rate_point}, {stream} (checked: encoder log, SPS)")
        return {**facts.as_record(), "overrides": []}, description

    def _contradictions(self, task: CodingTask, intra: list[int], order: list[int] | None,
                        sps: SequenceParameters | None) -> list[str]:
        """Where the coded stream contradicts the condition or the descriptor: intra positions, reordering under
        low delay, chroma format, internal bit depth."""
        config = self.params["config"]
        want = expected_intra(task.frames, 1 if config == "AI" else task.intra_period)
        problems = [f"intra pictures at POC {positions(intra)}; the intra period {task.intra_period} puts them at "
                    f"{positions(want)}"] if intra != want else []
        if order is not None and order != sorted(order) and config in ("LDB", "LDP"):
            problems.append(f"pictures coded out of display order ({positions(order)}) under config {config}")
        if sps is not None and sps.chroma_format != task.fmt.chroma:
            problems.append(f"SPS chroma format {sps.chroma_format}; the coding format is {task.fmt.name}")
        if sps is not None and sps.bit_depth_luma not in (None, self.params["internal_bit_depth"]):
            problems.append(f"SPS bit depth {sps.bit_depth_luma}; the descriptor's internal_bit_depth is "
                            f"{self.params['internal_bit_depth']}")
        return problems

    def segments(self, task: CodingTask) -> list[Segment]:
        """How this job's encode is split (one segment: not split). Only VTM/ECM split, when asked."""
        return [Segment(0, task.frames)]

    def _progress(self, task: CodingTask) -> Callable[[str], None]:
        """An encoder-log listener that reports each coded picture (from every segment of a split encode)."""
        coded, lock = 0, threading.Lock()

        def on_line(line: str) -> None:
            nonlocal coded
            if task.progress is not None and _CODED_PICTURE.match(line):
                with lock:
                    coded += 1
                    task.progress(min(coded, task.frames), task.frames)

        return on_line

    def _encode_whole(self, task: CodingTask, bitstream: Path, timeout: float | None) -> _Encoded:
        summary = task.work_dir / "summary.txt"
        summary.unlink(missing_ok=True)  # the encoders append to it
        encode = [str(self._program("encoder")), *self.encoder_args(task), "-i", str(task.input_path), "-b",
                  str(bitstream), "-o", "", f"--SummaryOutFilename={summary}"]
        t0 = time.perf_counter()
        log = run_program(encode, f"codec {self.name}: encoder", timeout, task.work_dir / "encoder.log",
                          self._progress(task))
        seconds = time.perf_counter() - t0
        return _Encoded([encode], log, seconds, parse_pictures(log), parse_summary(log),
                        summary.read_text().strip() if summary.exists() else None, coding_order(log), picture_qp(log))

    def _encode_split(self, task: CodingTask, segments: list[Segment], bitstream: Path,
                      timeout: float | None) -> _Encoded:
        """Encode SEGMENTS side by side (up to segment_workers, default the job's CPU share, at once), join them
        with parcat into BITSTREAM, and merge their per-picture log lines into display order."""
        encoder, on_line, n = self._program("encoder"), self._progress(task), len(segments)

        def encode(k: int, seg: Segment) -> tuple[list[str], str]:
            argv = [str(encoder), *self.encoder_args(task, seg), "-i", str(task.input_path), "-b",
                    str(task.work_dir / f"segment_{k:03d}.bin"), "-o", ""]
            log = run_program(argv, f"codec {self.name}: encoder, segment {k + 1} of {n} (frames {seg.first}.."
                              f"{seg.first + seg.count - 1})", timeout, task.work_dir / f"encoder_{k:03d}.log", on_line)
            return argv, log

        runs = encode_segments(segments, encode, self.params["segment_workers"] or task.cpus)
        done = [(argv, log, secs) for (argv, log), secs in zip(runs.results, runs.seconds, strict=True)]
        workers, wall = runs.workers, runs.wall_s
        streams = [task.work_dir / f"segment_{k:03d}.bin" for k in range(n)]
        join = [str(self._program("parcat")), *map(str, streams), str(bitstream)]
        run_program(join, f"codec {self.name}: parcat", timeout, task.work_dir / "parcat.log")
        pictures: dict[int, tuple[str, int, float, float, float]] = {}
        order: list[int] = []  # coding order of the joined stream: the segments' own, one after the other
        qp: dict[int, int] = {}
        for k, (seg, (_, log, _)) in enumerate(zip(segments, done, strict=True)):
            for poc, picture in parse_pictures(log).items():
                if k > 0 and poc == 0:
                    continue  # this segment's leading IDR: parcat drops it, the previous segment's CRA stays
                pictures[seg.first + poc] = picture
            order += [seg.first + poc for poc in coding_order(log) if k == 0 or poc > 0]
            qp.update({seg.first + poc: q for poc, q in picture_qp(log).items() if k == 0 or poc > 0})
        facts = [{"frames": [seg.first, seg.first + seg.count - 1], "encode_s": secs,
                  "bitstream_bytes": stream.stat().st_size}
                 for seg, (_, _, secs), stream in zip(segments, done, streams, strict=True)]
        how = (f"split at the intra period into {n} segments encoded separately ({workers} at a time), each from "
               "one intra picture to the next inclusive, joined with parcat (which drops each later segment's "
               "leading IDR picture, the previous segment's CRA of the same frame staying); decoded and measured "
               "as one sequence")
        split = {"segments": facts, "workers": workers,
                 "log_summary": "none: each segment's encoder summary covers that segment only"}
        return _Encoded([argv for argv, _, _ in done] + [join], "\n".join(log for _, log, _ in done),
                        sum(secs for _, _, secs in done), pictures, None, None, order, qp, split, {"split": how},
                        {"encode_wall_s": wall, "encode_s_is": "sum of the segments' encoder times"})


def split_segments(frames: int, intra_period: int) -> list[Segment]:
    """Intra-period segments: each runs from one intra picture to the next inclusive. That closing picture, coded
    as a CRA, is the copy the joined stream keeps (parcat drops the next segment's own copy, its leading IDR), so
    the joined stream has every frame once. One segment when there is nothing to split."""
    return intra_period_segments(frames, intra_period, overlap=True)


@dataclass
class _Encoded:
    """What encoding produced, whole or split: commands, log text, seconds, per-picture log lines by POC."""

    commands: list[list[str]]
    log: str
    seconds: float
    pictures: dict[int, tuple[str, int, float, float, float]]
    summary: dict[str, float] | None
    summary_text: str | None
    order: list[int] | None = None  # POCs in coding order (display indices of the joined stream when split)
    qp: dict[int, int] = field(default_factory=dict)  # each picture's QP by display index
    split: dict[str, Any] | None = None  # the segments' facts, for codec_reported
    processing: dict[str, Any] = field(default_factory=dict)  # how it was split, for coding.codec_processing
    timing: dict[str, Any] = field(default_factory=dict)


@register
class Vtm(ReferenceSoftware):
    name = "vtm"
    env_root = "LVCBENCH_VTM_ROOT"
    encoder_names = ("EncoderAppStatic", "EncoderApp")
    decoder_names = ("DecoderAppStatic", "DecoderApp")
    parcat_names = ("parcatStatic", "parcat")
    cfg_names = {"LDB": "encoder_lowdelay_vtm.cfg", "LDP": "encoder_lowdelay_P_vtm.cfg",
                 "RA": "encoder_randomaccess_vtm.cfg", "AI": "encoder_intra_vtm.cfg"}
    PARAMS: ClassVar[dict[str, Param]] = {
        **ReferenceSoftware.PARAMS,
        "split_at_intra_period": Param(bool, False, "RA only: encode each intra period as its own segment, side "
                                       "by side, and join them with parcat (the JVET CTC practice for long RA "
                                       "encodes; recorded)"),
        "segment_workers": Param(int, 0, "segments encoded at once (0: the job's CPU share)", affects_result=False),
        "parcat": Param(str, None, "parcat program (default: found under root/bin)", affects_result=False),
    }

    def check_condition(self, intra_period: int, where: str) -> None:
        super().check_condition(intra_period, where)
        if self.params["split_at_intra_period"] and (self.params["config"] != "RA" or intra_period <= 0):
            raise ConditionError(f"{where}: codec {self.name} splits at intra-period boundaries only in config RA with "
                                 f"a periodic intra period (this is {self.params['config']}, intra_period "
                                 f"{intra_period}); set split_at_intra_period: false or use RA with intra_period N")
        if self.params["segment_workers"] < 0:
            raise ConditionError(f"{where}: codec {self.name}: segment_workers must be 0 (the job's CPU share) or more")

    def segments(self, task: CodingTask) -> list[Segment]:
        if not self.params["split_at_intra_period"]:
            return super().segments(task)
        return split_segments(task.frames, task.intra_period)

    def identity(self) -> dict[str, Any]:
        out = super().identity()
        if self.params["split_at_intra_period"]:
            out["parcat_sha256"] = tool_sha256(self._program("parcat"))
        return out

    def doctor(self) -> str:
        line = super().doctor()
        if self.params["split_at_intra_period"]:
            line += f"; split at the intra period, joined with {self._program('parcat')}"
        return line


@register
class Ecm(Vtm):
    name = "ecm"
    env_root = "LVCBENCH_ECM_ROOT"
    cfg_names = {"LDB": "encoder_lowdelay_ecm.cfg", "LDP": "encoder_lowdelay_P_ecm.cfg",
                 "RA": "encoder_randomaccess_ecm.cfg", "AI": "encoder_intra_ecm.cfg"}


@register
class Hm(ReferenceSoftware):
    name = "hm"
    env_root = "LVCBENCH_HM_ROOT"
    encoder_names = ("TAppEncoderStatic", "TAppEncoder")
    decoder_names = ("TAppDecoderStatic", "TAppDecoder")
    cfg_names = {"LDB": "encoder_lowdelay_main10.cfg", "LDP": "encoder_lowdelay_P_main10.cfg",
                 "RA": "encoder_randomaccess_main10.cfg", "AI": "encoder_intra_main10.cfg"}
    # RGB content as 4:4:4 uses the RExt cfgs (as the DCVC test conditions do); HM has no LDP one.
    cfg_names_444 = {"LDB": "encoder_lowdelay_main_rext.cfg", "RA": "encoder_randomaccess_main_rext.cfg",
                     "AI": "encoder_intra_main_rext.cfg"}
    hevc = True
    qp_range = (-12, 51)
    extra_defaults = ("--ConformanceWindowMode=1",)  # HM's default 0 would reject sizes that need padding

    def format_args(self, fmt: PixelFormat) -> list[str]:
        # The main10 cfgs name Profile main10, which HM refuses for 4:4:4 or more than 10 bits; with a cfg of
        # the user's own the profile is then theirs to set.
        if (fmt.chroma != "420" or self.params["internal_bit_depth"] > 10) and not self.params["cfg_file"]:
            return ["--Profile=main-RExt"]
        return []
