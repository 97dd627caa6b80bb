"""Encoders in the ffmpeg build that ships with the ``imageio-ffmpeg`` wheel: x264, x265, VVenC, SVT-AV1, libaom.

Each adapter runs two separate ffmpeg processes (argv lists, never a shell): an encode from the prepared raw
file to an elementary stream (``.264``, ``.265``, ``.266``, ``.obu``: no container, so the file size is the
bitstream) and a decode of that file back to raw frames. A third, cheap pass reads the packet sizes of the
stream (``-c copy -f framecrc``) for per-frame bits; the decode logs frame types through ``showinfo``.

Every encoder runs in constant-QP mode with PSNR tuning where it has one, the condition's intra period
(an intra frame every N frames, scene-cut detection off; ``-1``: frame 0 only) and a low-delay structure by
default: no B-frames, no frame reordering. The exact command lines go into every record.

A descriptor's ``extra_args`` are merged into ours, option string by option string
(:mod:`bench.adapters.encoder_options`): one that would change what the condition fixes is refused when the
condition is read, unless listed in ``overrides:``. What each job coded is read back and checked
(:mod:`bench.adapters.stream_facts`): intra positions and B-frames from the decoder, rate control, QP, intra
period, reordering and scene-cut from the x264/x265 settings SEI or the SVT-AV1/VVenC configuration log;
a log line saying an option was ignored or unknown fails the job.
"""

from __future__ import annotations

import functools
import os
import re
import time
from pathlib import Path
from typing import Any, ClassVar

from bench.adapters import register, stream_facts
from bench.adapters.base import Adapter, Capabilities, CodingResult, CodingTask, Param
from bench.adapters.encoder_options import (
    AOM_OPTIONS,
    SVTAV1_OPTIONS,
    VVENC_OPTIONS,
    X264_OPTIONS,
    X265_OPTIONS,
    EncoderOptions,
    check_extra_args,
    merge_args,
    overridden_aspects,
)
from bench.adapters.process import Finished, run
from bench.adapters.segments import Segment, encode_segments, intra_period_segments
from bench.adapters.stream_facts import StreamFacts
from bench.errors import AdapterError, ConditionError
from bench.tools import ffmpeg_exe, ffmpeg_identity, remembered
from bench.video.formats import PixelFormat, make_format

TIMEOUT_S = 3600


_ERROR_LINE = re.compile(r"error|invalid|out of range|not found|unknown|unrecognized", re.IGNORECASE)


def _run(argv: list[str], what: str, timeout: float = TIMEOUT_S) -> Finished:
    """An ffmpeg (or ffprobe) run through the suite's one program runner, its stdout kept apart from its log
    (stderr); failing with ffmpeg's own cause line."""
    done = run(argv, what, timeout, separate_stdout=True)
    if done.returncode != 0:
        lines = [line.strip() for line in done.output.splitlines() if line.strip()]
        # ffmpeg's first error line names the cause; the later ones only say that opening failed. A line with
        # "error" in it first (at verbose level the filter graph's description says "unknown" long before).
        cause = next((line for line in lines if re.search(r"error", line, re.IGNORECASE)), None) or \
            next((line for line in lines if _ERROR_LINE.search(line)), lines[-1] if lines else "no message")
        raise AdapterError(f"{what} failed with exit code {done.returncode}: {cause}", done.output[-3000:])
    return done


def _keyint(task: CodingTask) -> int:
    # -1: one intra frame. A period as long as the coded sequence puts the only intra frame at frame 0.
    return task.frames if task.intra_period == -1 else min(task.intra_period, task.frames)


class FfmpegAdapter(Adapter):
    """Shared encode/decode plumbing; subclasses give the encoder's own arguments."""

    encoder: ClassVar[str]
    muxer: ClassVar[str]
    extension: ClassVar[str]
    decoder: ClassVar[str | None] = None
    qp_range: ClassVar[tuple[int, int]] = (0, 51)
    capabilities: ClassVar[Capabilities] = Capabilities(("yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le"),
                                                        separate_decode=True, thread_neutral=False)
    conformance_example = ({"preset": "ultrafast"}, [32])
    version_pattern: ClassVar[str] = ""
    split_at_intra: ClassVar[bool] = False
    options: ClassVar[EncoderOptions]  # its option string and what the condition fixes
    b_frames_reorder: ClassVar[bool] = True  # False: B slices without reordering (VVC's low-delay GPB)
    encode_loglevel: ClassVar[str] = "info"
    PARAMS: ClassVar[dict[str, Param]] = {
        "preset": Param(str, "medium", "encoder speed preset"),
        "extra_args": Param(list, [], "more encoder arguments (ffmpeg syntax); the encoder's option string is "
                            "merged key by key with ours"),
        "overrides": Param(list, [], "settings the condition fixes that extra_args change on purpose (keys of the "
                           "option string or ffmpeg options); recorded, and those checks are not made",
                           affects_result=False),
        "decode_args": Param(list, [], "more decoder output arguments (ffmpeg syntax)"),
        # x264, x265 and libaom write different bitstreams for different thread counts (and their default
        # count depends on the machine), so they run single-threaded unless a descriptor says otherwise, and
        # the count is part of the key. VVenC and SVT-AV1 give identical streams for any count (checked).
        "threads": Param(int, 1, "encoder threads (part of the job key: it changes the bitstream)"),
    }

    @classmethod
    def validate_params(cls, raw: Any, where: str) -> dict[str, Any]:
        params = super().validate_params(raw, where)
        check_extra_args(params["extra_args"], cls.options, params["overrides"], cls.name, where)
        return params

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> int:
        lo, hi = cls.qp_range
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConditionError(f"{where}: {value!r} is not a valid QP for {cls.name}: expected an integer "
                                 f"{lo}..{hi}")
        return value

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        formats = self.capabilities.input_formats
        if coding.name not in formats:
            raise AdapterError(f"codec {self.name}: cannot code {coding.name}; it takes {', '.join(formats)}")
        return coding

    def encoder_args(self, task: CodingTask, keyint: int) -> list[str]:
        """The encoder's own arguments for a QP and an intra period of ``keyint`` frames."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        # The argument template is part of the identity, so changing how we drive an encoder changes every key
        # (records made with the old arguments are never reused for the new ones).
        template = CodingTask(Path("in"), make_format("yuv", "420", 8), 0, 0, 0.0, 0, 0, "{rate_point}", Path("."))
        return {**super().identity(), **ffmpeg_identity(), "library": self.library_version(),
                "encoder_args": self.encoder_args(template, "{keyint}"),  # type: ignore[arg-type]
                "segments_per_intra_period": self.split_at_intra}

    @functools.cached_property
    def _library_version(self) -> str:
        return _probe_library_version(self.encoder, self.muxer, self.version_pattern)

    def library_version(self) -> str:
        return self._library_version

    def doctor(self) -> str:
        ident = ffmpeg_identity()
        return f"{self.library_version()} via {ident['ffmpeg_version']}"

    def segments(self, task: CodingTask) -> list[Segment]:
        """The separate encodes: one, unless the encoder cannot place a refreshing intra frame inside a
        low-delay stream, in which case each intra period is its own encode."""
        if not self.split_at_intra:
            return [Segment(0, task.frames)]
        return intra_period_segments(task.frames, task.intra_period, overlap=False)

    def code_sequence(self, task: CodingTask) -> CodingResult:
        exe = ffmpeg_exe()
        bitstream = task.work_dir / f"stream{self.extension}"
        decoded = task.work_dir / "decoded.yuv"
        if self.params["threads"] == 0 and not self.capabilities.thread_neutral:
            raise AdapterError(f"codec {self.name}: threads 0 (the machine's default) makes its bitstreams depend "
                               "on the machine; give a thread count")
        segments = self.segments(task)
        released = overridden_aspects(self.params["overrides"], self.options, self.name)  # checks not made
        facts, commands, logs, encode_s = self._encode(task, bitstream, segments, released)
        decode, dec, decode_s = self._decode(task, bitstream, decoded)
        logs["decode"] = dec.output
        self._refuse_ignored(dec.output, "decoder")
        frame_types = _frame_types(dec.output)
        checked = stream_facts.check_frame_types(
            facts[0] or StreamFacts("frame types from the decoder"), frame_types, task.frames,
            -1 if "intra" in released else task.intra_period, self.b_frames_reorder and "reorder" not in released,
            f"codec {self.name}")
        frame_qp = stream_facts.frame_qp_from_showinfo(dec.output) or _joined_qp(facts)
        packets = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(bitstream), "-map", "0:v:0",
                   "-c", "copy", "-f", "framecrc", "-"]
        sizes = _packet_sizes(_run(packets, f"codec {self.name}: packet listing").stdout)
        record_facts = {**checked.as_record(), "overrides": self.params["overrides"],
                        "threads": self.params["threads"] or "encoder default"}
        return CodingResult(
            bitstreams=[bitstream], decoded_path=decoded, commands=[*commands, decode, packets],
            encode_seconds=encode_s, decode_seconds=decode_s, frame_types=frame_types,
            frame_bits=[8 * s for s in sizes] if len(sizes) == task.frames else None,
            frame_qp=frame_qp if frame_qp and len(frame_qp) == task.frames else None,
            codec_reported={"packet_bytes_total": sum(sizes), "encoded_segments": [[s.first, s.count] for s in segments]},
            stream=record_facts, warnings=[w for log in logs.values() for w in stream_facts.warnings(log)],
            description=stream_facts.describe(record_facts, f"{self.name} {self.library_version()}",
                                              self.params["threads"],
                                              self.params["overrides"]),
            logs=logs,
            timing_details={"threads": self.params["threads"] or f"encoder default (up to {os.cpu_count()} cores)",
                            "timed": "per sequence: wall clock of the ffmpeg encode (every segment) and of the "
                                     "decode to raw frames, process start-up and file I/O included"},
        )

    def _encode(self, task: CodingTask, bitstream: Path, segments: list[Segment], released: set[str]
                ) -> tuple[list[StreamFacts | None], list[list[str]], dict[str, str], float]:
        """Encode SEGMENTS into BITSTREAM (several: each its own encode, concatenated), checking each stream's
        settings; the stream facts, commands, logs and encoding seconds."""
        exe = ffmpeg_exe()
        threads = ["-threads", str(self.params["threads"])] if self.params["threads"] else []
        split = len(segments) > 1

        def encode(i: int, seg: Segment) -> tuple[list[str], Finished, Path, int]:
            part = task.work_dir / f"segment{i}{self.extension}" if split else bitstream
            trim = (["-vf", f"trim=start_frame={seg.first}:end_frame={seg.first + seg.count},setpts=PTS-STARTPTS"]
                    if split else [])
            keyint = seg.count if split else _keyint(task)
            args, _ = merge_args(self.encoder_args(task, keyint), self.params["extra_args"], self.options)
            argv = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", self.encode_loglevel,
                    "-f", "rawvideo", "-pix_fmt", task.fmt.name, "-s", f"{task.width}x{task.height}",
                    "-r", f"{task.fps:g}", "-i", str(task.input_path), *trim, "-frames:v", str(seg.count), "-an",
                    "-c:v", self.encoder, *threads, *args, "-f", self.muxer, str(part)]
            return argv, _run(argv, f"codec {self.name}: encoder"), part, keyint

        # One after the other: the encoder's own threads use the job's cores.
        runs = encode_segments(segments, encode)
        facts: list[StreamFacts | None] = []
        commands, logs, parts = [], {}, []
        for i, (argv, enc, part, keyint) in enumerate(runs.results):
            if not part.exists() or part.stat().st_size == 0:
                raise AdapterError(f"codec {self.name}: the encoder wrote no bitstream", enc.output[-3000:])
            self._refuse_ignored(enc.output, "encoder")
            facts.append(self._check_settings(part, enc.output, task, keyint, released))
            commands.append(argv)
            logs[f"encode{i}" if split else "encode"] = enc.output
            parts.append(part)
        encode_s = sum(runs.seconds)
        if len(parts) > 1:
            # Each segment starts with its own parameter sets and an IDR picture: the concatenation is one
            # conforming elementary stream, decoded below as a whole.
            with open(bitstream, "wb") as out:
                for part in parts:
                    out.write(part.read_bytes())
                    part.unlink()
        return facts, commands, logs, encode_s

    def _refuse_ignored(self, log: str, what: str) -> None:
        refused = stream_facts.refused_options(log)
        if refused:
            raise AdapterError(f"codec {self.name}: the {what} ignored or refused an option: {refused[0]}", log[-3000:])

    def stream_settings(self, stream: bytes, log: str) -> StreamFacts | None:
        """What the encoder says it did: its settings SEI, or its configuration log (None: it says nothing)."""
        return None

    def expected_qp(self, task: CodingTask) -> float:
        """The QP the encoder reports for the rate point (on its own scale)."""
        return float(task.rate_point)

    def _check_settings(self, part: Path, log: str, task: CodingTask, keyint: int,
                        released: set[str]) -> StreamFacts | None:
        with open(part, "rb") as f:  # x264/x265 write their settings SEI in the first access unit
            head = f.read(1 << 20)
        facts = self.stream_settings(head, log)
        if facts is None:
            return None
        return stream_facts.check_settings(facts, None if "rate" in released else self.expected_qp(task),
                                           None if "intra" in released else keyint, released, f"codec {self.name}")


    def _decode(self, task: CodingTask, bitstream: Path,
                decoded: Path) -> tuple[list[str], Finished, float]:
        """Decode BITSTREAM to raw frames in ``task.fmt``: (command, finished process, seconds)."""
        dec_codec = ["-c:v", self.decoder] if self.decoder else []
        decode = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "info", *dec_codec,
                  "-export_side_data", "venc_params", "-i",
                  str(bitstream), "-vf", "showinfo", "-f", "rawvideo", "-pix_fmt", task.fmt.name,
                  *self.params["decode_args"], str(decoded)]
        t0 = time.perf_counter()
        dec = _run(decode, f"codec {self.name}: decoder")
        seconds = time.perf_counter() - t0
        coded = _STREAM_PIX_FMT.search(dec.output)
        if coded is None or coded.group(1) != task.fmt.name:
            # ffmpeg converts pixel formats silently (4:4:4 input becomes 4:2:0 for some encoders): a stream in
            # another format than the one given would be measured after a conversion nobody asked for.
            raise AdapterError(f"codec {self.name}: the bitstream is {coded.group(1) if coded else 'of unknown format'}"
                               f", not the {task.fmt.name} it was given; this encoder cannot code that format",
                               dec.output[-3000:])
        return decode, dec, seconds

    def redecode(self, task: CodingTask, bitstreams: list[Path]) -> Path:
        decoded = task.work_dir / "decoded.yuv"
        self._decode(task, bitstreams[0], decoded)
        return decoded


_STREAM_PIX_FMT = re.compile(r"Stream #0:0[^\n]*?: Video: [^,\n]+?, (\w+)")
_SHOWINFO_TYPE = re.compile(r"\bn:\s*(\d+)\b.*?\btype:([IPB?])")


def _frame_types(log: str) -> list[str] | None:
    types = {}
    for line in log.splitlines():
        m = _SHOWINFO_TYPE.search(line)
        if m and "Parsed_showinfo" in line:
            types[int(m.group(1))] = m.group(2)
    return [types[i] for i in sorted(types)] if types else None


def _joined_qp(facts: list[StreamFacts | None]) -> list[float] | None:
    """Per-frame QPs the encoder logged for each segment, in order (VVenC)."""
    if not facts or any(f is None or f.frame_qp is None for f in facts):
        return None
    return [q for f in facts for q in f.frame_qp]  # type: ignore[union-attr]


def _packet_sizes(framecrc: str) -> list[int]:
    sizes = []
    for line in framecrc.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) >= 5 and fields[0] == "0":
            sizes.append(int(fields[4]))
    return sizes


@functools.cache
def _probe_library_version(encoder: str, muxer: str, pattern: str) -> str:
    """The encoder library's own version string, from a 2-frame encode of a tiny test pattern: the log for
    most encoders, the bitstream itself for x264 (which writes its version into an SEI message); remembered
    per ffmpeg binary."""
    return remembered(f"library version {encoder} {muxer} {pattern}", [Path(ffmpeg_exe())],
                      lambda: _library_version_of(encoder, muxer, pattern))


def _library_version_of(encoder: str, muxer: str, pattern: str) -> str:
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-f", "lavfi", "-i",
            "testsrc2=size=64x64:rate=25", "-frames:v", "2", "-pix_fmt",
            "yuv420p10le" if encoder == "libvvenc" else "yuv420p", "-c:v", encoder, "-f", muxer, "-"]
    done = run(argv, f"{encoder}: version probe", 120, separate_stdout=True)  # the stream holds the encoder's SEI
    if done.returncode != 0:
        raise AdapterError(f"{encoder} is not usable in {ffmpeg_exe()}: {done.output.strip().splitlines()[-1:]}")
    text = done.output + done.stdout
    m = re.search(pattern, text)
    if not m:
        return f"{encoder} (version string not found)"
    return (m.group(1) if m.groups() else m.group(0)).strip()


_X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                 "placebo")


@register
class X264(FfmpegAdapter):
    name = "x264"
    PARAMS = {**FfmpegAdapter.PARAMS, "preset": Param(str, "medium", "x264 preset", _X26X_PRESETS)}
    encoder, muxer, extension = "libx264", "h264", ".264"
    version_pattern = r"x264 - (core \d+[^-]*)"

    version = 2  # 2: high-bit-depth QP offset
    options = X264_OPTIONS

    def stream_settings(self, stream: bytes, log: str) -> StreamFacts | None:
        return stream_facts.from_x26x_sei(stream, x265=False)

    def expected_qp(self, task: CodingTask) -> float:
        return float(task.rate_point) + 6 * (task.fmt.bit_depth - 8)  # x264's own QP scale (see below)

    def encoder_args(self, task: CodingTask, k: int) -> list[str]:
        # x264's QP scale grows by 6 per bit above 8 (QpBdOffset); HM, VTM and x265 keep QP on the 8-bit
        # scale. The rate point is on the 8-bit scale everywhere, so 10-bit x264 gets QP + 12.
        offset = 6 * (task.fmt.bit_depth - 8)
        qp = f"{task.rate_point}" if not offset else (f"{task.rate_point}+{offset}" if isinstance(task.rate_point, str)
                                                      else str(task.rate_point + offset))
        return ["-preset", self.params["preset"], "-tune", "psnr", "-qp", qp, "-bf", "0",
                "-g", str(k), "-keyint_min", str(k), "-sc_threshold", "0",
                "-x264-params", "scenecut=0:open-gop=0"]


@register
class X265(FfmpegAdapter):
    name = "x265"
    PARAMS = {**FfmpegAdapter.PARAMS, "preset": Param(str, "medium", "x265 preset", _X26X_PRESETS)}
    encoder, muxer, extension = "libx265", "hevc", ".265"
    version_pattern = r"HEVC encoder version ([^\s]+)"
    options = X265_OPTIONS

    def stream_settings(self, stream: bytes, log: str) -> StreamFacts | None:
        return stream_facts.from_x26x_sei(stream, x265=True)

    def encoder_args(self, task: CodingTask, k: int) -> list[str]:
        return ["-preset", self.params["preset"], "-tune", "psnr",
                "-x265-params", f"qp={task.rate_point}:keyint={k}:min-keyint={k}:scenecut=0:bframes=0:open-gop=0"]


@register
class VVenC(FfmpegAdapter):
    name = "vvenc"
    encoder, muxer, extension = "libvvenc", "vvc", ".266"
    qp_range = (0, 63)
    capabilities = Capabilities(("yuv420p10le",), separate_decode=True, thread_neutral=True)
    conformance_example = ({"preset": "faster"}, [37])
    version_pattern = r"libvvenc version: ([^\s]+)"
    split_at_intra = True
    options = VVENC_OPTIONS
    b_frames_reorder = False  # its low-delay GOP codes generalized B slices that point to past frames only
    encode_loglevel = "verbose"  # its configuration and per-picture lines (QP) come at that level

    def stream_settings(self, stream: bytes, log: str) -> StreamFacts | None:
        return stream_facts.from_vvenc_log(log)
    PARAMS = {**FfmpegAdapter.PARAMS,
              "preset": Param(str, "faster", "VVenC preset", ("faster", "fast", "medium", "slow", "slower")),
              "threads": Param(int, 0, "encoder threads; 0 = the encoder's default (output is the same)",
                               affects_result=False)}

    def input_format(self, coding: PixelFormat) -> PixelFormat:
        # libvvenc takes 10-bit 4:2:0 only; 8-bit content is shifted up by the suite (as VTM does with
        # InternalBitDepth 10) and the decoded frames are rounded back to the coding format.
        if coding.family != "yuv" or coding.chroma != "420" or coding.bit_depth > 10:
            raise AdapterError(f"codec {self.name}: libvvenc codes 4:2:0 up to 10 bit, not {coding.name}")
        return make_format("yuv", "420", 10)

    def encoder_args(self, task: CodingTask, k: int) -> list[str]:
        # libvvenc's only low-delay structure is GOP 8 without reordering (generalized B: both lists point
        # to past frames), and it allows no refresh picture inside it; each intra period is therefore
        # its own encode (see ``split_at_intra``), starting with an IDR picture.
        return ["-preset", self.params["preset"], "-qp", str(task.rate_point), "-qpa", "0",
                "-vvenc-params", f"GOPSize=8:PicReordering=0:DecodingRefreshType=none:IntraPeriod={k}"]


@register
class SvtAv1(FfmpegAdapter):
    name = "svtav1"
    encoder, muxer, extension = "libsvtav1", "obu", ".obu"
    qp_range = (1, 63)
    capabilities = Capabilities(("yuv420p", "yuv420p10le"), separate_decode=True, thread_neutral=True)
    conformance_example = ({"preset": 12}, [50])
    version_pattern = r"SVT-AV1 Encoder Lib (v[^\s]+)"
    decoder = "libdav1d"  # ffmpeg's native av1 decoder needs hardware acceleration
    options = SVTAV1_OPTIONS

    def stream_settings(self, stream: bytes, log: str) -> StreamFacts | None:
        return stream_facts.from_svtav1_log(log)
    PARAMS = {**FfmpegAdapter.PARAMS,
              "preset": Param(int, 8, "SVT-AV1 preset (-2 slowest .. 13 fastest)", tuple(range(-2, 14))),
              "threads": Param(int, 0, "encoder threads; 0 = the encoder's default (output is the same)",
                               affects_result=False)}

    def encoder_args(self, task: CodingTask, k: int) -> list[str]:
        return ["-preset", str(self.params["preset"]), "-svtav1-params",
                f"rc=0:qp={task.rate_point}:aq-mode=0:pred-struct=1:keyint={k}:irefresh-type=2:scd=0:tune=1"]


@register
class Aom(FfmpegAdapter):
    name = "aom"
    encoder, muxer, extension = "libaom-av1", "obu", ".obu"
    qp_range = (0, 63)
    capabilities = Capabilities(("yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le"), separate_decode=True,
                                thread_neutral=False)
    conformance_example = ({"preset": 8}, [50])
    version_pattern = r"libaom-av1 @ [^\]]*\] (v\d[^\s]*)"
    decoder = "libdav1d"
    options = AOM_OPTIONS  # libaom writes no settings to read back: its frame types are checked
    PARAMS = {**FfmpegAdapter.PARAMS,
              "preset": Param(int, 6, "libaom cpu-used (0 slowest .. 8 fastest)", tuple(range(0, 9)))}

    def encoder_args(self, task: CodingTask, k: int) -> list[str]:
        # -crf with -b:v 0 is libaom's constant-quality mode (end-usage q): cq-level = the rate point.
        return ["-cpu-used", str(self.params["preset"]), "-crf", str(task.rate_point),
                "-b:v", "0", "-aq-mode", "0", "-lag-in-frames", "0", "-tune", "psnr", "-g", str(k),
                "-keyint_min", str(k), "-row-mt", "1"]
