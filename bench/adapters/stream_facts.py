"""What was coded, read back from the stream and the encoder's own report, and checked against what was asked.

For every job of the ffmpeg encoders: the frame types the decoder reports (``showinfo``) give the intra
positions, which must be exactly those of the condition's intra period; x264 and x265 write their settings
into the stream (an SEI user-data message: ``rc=cqp qp=32 bframes=0 keyint=8 scenecut=0 ...``), SVT-AV1 and
VVenC print theirs (``BRC mode / CQP Assignment : CQP / 40.00``, ``Rate control : QP 37``, ``PicReordering :
0``); each must say constant QP at the asked QP, the asked intra period, no reordering and no scene-cut. A
mismatch fails the job with the reason. The facts become the record's ``coding.stream`` and the description the
report shows (:func:`describe`), so that a codec is described by what its streams are, not by a fixed sentence.

Warnings: lines of the encoder and decoder logs that say an option was ignored or unknown fail the job
(:func:`refused_options`); other warnings are listed in the record (:func:`warnings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bench.errors import AdapterError

_IGNORED = re.compile(r"error parsing option|unknown (?:\w+ )?option|has not been used for any stream|"
                      r"invalid parameter|cannot find \w+ option|option .* not found", re.IGNORECASE)
_WARNING = re.compile(r"\[warn(?:ing)?\]|\bwarning\b", re.IGNORECASE)


def refused_options(log: str) -> list[str]:
    """Lines saying an option was ignored, unknown or could not be parsed."""
    return [line.strip() for line in log.splitlines() if _IGNORED.search(line)]


def warnings(log: str) -> list[str]:
    """The other warning lines, each once, in order."""
    out: dict[str, None] = {}
    for line in log.splitlines():
        if _WARNING.search(line) and not _IGNORED.search(line):
            out.setdefault(re.sub(r"@ 0x[0-9a-f]+", "", line.strip()), None)
    return list(out)


@dataclass
class StreamFacts:
    """What the stream and the encoder say was coded."""

    source: str  # where the settings were read: "x264 SEI in the stream", "encoder log", ...
    rate_control: str | None = None  # "cqp" when constant QP
    qp: float | None = None
    keyint: int | None = None
    reordering: bool | None = None  # True: B-frames or picture reordering
    scenecut: bool | None = None
    intra_frames: list[int] = field(default_factory=list)  # display positions of intra frames (decoder)
    frame_qp: list[float] | None = None
    raw: dict[str, str] = field(default_factory=dict)  # the settings as written

    def as_record(self) -> dict[str, Any]:
        return {"settings_from": self.source, "rate_control": self.rate_control, "qp": self.qp,
                "keyint": self.keyint, "reordering": self.reordering, "scene_cut": self.scenecut,
                "intra_frames": self.intra_frames, "settings": self.raw}


# --- reading -----------------------------------------------------------------------------------------------------

def sei_options(stream: bytes, marker: bytes) -> dict[str, str] | None:
    """The ``key=value`` settings x264 (marker ``x264 - core``) or x265 (``x265 (build``) write into an SEI
    user-data message of the stream; bare words become ``word: ""``."""
    start = stream.find(marker)
    if start < 0:
        return None
    end = start
    while end < len(stream) and 32 <= stream[end] < 127:
        end += 1
    text = stream[start:end].decode("ascii")
    _, _, options = text.partition("options: ")
    out: dict[str, str] = {}
    for word in options.split():
        k, _, v = word.partition("=")
        out[k] = v
    return out


def from_x26x_sei(stream: bytes, x265: bool) -> StreamFacts | None:
    opts = sei_options(stream, b"x265 (build" if x265 else b"x264 - core")
    if opts is None:
        return None
    facts = StreamFacts(f"{'x265' if x265 else 'x264'} settings SEI in the stream", raw=opts)
    facts.rate_control = opts.get("rc")
    qp = opts.get("qp")
    facts.qp = float(qp) if qp not in (None, "") else None
    facts.keyint = int(opts["keyint"]) if opts.get("keyint", "").isdigit() else None
    facts.reordering = opts.get("bframes", "0") != "0"
    facts.scenecut = opts.get("scenecut", "0") not in ("0", "") if "scenecut" in opts else ("no-scenecut" not in opts)
    return facts


_SVT_BRC = re.compile(r"BRC mode / CQP Assignment\s*:\s*(\w+)\s*/\s*([\d.]+)")
_SVT_GOP = re.compile(r"gop size / mini-gop size / key-frame type\s*:\s*(\d+)\s*/\s*(\d+)")
_SVT_PRED = re.compile(r"preset / tune / pred struct\s*:\s*[^/]+/[^/]+/\s*(.+)$", re.MULTILINE)


def from_svtav1_log(log: str) -> StreamFacts | None:
    brc = _SVT_BRC.search(log)
    if brc is None:
        return None
    facts = StreamFacts("SVT-AV1 configuration in the encoder log")
    facts.rate_control = "cqp" if brc.group(1).upper() == "CQP" else brc.group(1).lower()
    facts.qp = float(brc.group(2))
    gop = _SVT_GOP.search(log)
    facts.keyint = int(gop.group(1)) if gop else None
    pred = _SVT_PRED.search(log)
    # SVT-AV1 names its prediction structure "low delay", "random access" or, when every frame is a key frame
    # (keyint 1), "all intra": only random access reorders pictures.
    facts.reordering = None if pred is None else pred.group(1).strip().lower() not in ("low delay", "all intra")
    facts.raw = {k: v for k, v in (("brc", brc.group(0)), ("gop", gop.group(0) if gop else ""),
                                   ("pred struct", pred.group(0).strip() if pred else "")) if v}
    return facts


_VVENC_LINE = re.compile(r"vvenc \[\w+\]: ([A-Za-z][^:]*?)\s*:\s*(.+)$", re.MULTILINE)
_VVENC_POC = re.compile(r"^POC\s+(\d+)\s+TId:\s*\d+\s*\(\s*[\w_]+,\s*(\w)-SLICE,\s*QP\s+(\d+)", re.MULTILINE)


def from_vvenc_log(log: str) -> StreamFacts | None:
    settings = {k.strip(): v.strip() for k, v in _VVENC_LINE.findall(log)}
    if "Rate control" not in settings:
        return None
    facts = StreamFacts("VVenC configuration in the encoder log", raw=settings)
    rc = settings["Rate control"]
    facts.rate_control = "cqp" if rc.startswith("QP") else rc
    facts.qp = float(settings["QP"]) if settings.get("QP", "").isdigit() else None
    period = settings.get("Intra period (keyframe)", "")
    facts.keyint = int(period) if period.isdigit() else None
    facts.reordering = settings.get("PicReordering") not in (None, "0")
    pocs = {int(p): int(q) for p, _, q in _VVENC_POC.findall(log)}
    facts.frame_qp = [pocs[i] for i in sorted(pocs)] if pocs else None
    return facts


_H264_QP = re.compile(r"Video encoding parameters: type \d+; qp=(-?\d+)")


def frame_qp_from_showinfo(log: str) -> list[float] | None:
    """Per-frame base QP the decoder exports (H.264), from ``showinfo`` with ``-export_side_data venc_params``."""
    qps = [float(q) for q in _H264_QP.findall(log)]
    return qps or None


# --- checking ----------------------------------------------------------------------------------------------------

def expected_intra(frames: int, intra_period: int) -> list[int]:
    return [0] if intra_period == -1 else list(range(0, frames, intra_period))


def check_settings(facts: StreamFacts, qp: float | None, keyint: int | None, released: set[str],
                   codec: str) -> StreamFacts:
    """FACTS if the settings the encoder reports are constant QP at QP, intra period KEYINT, no reordering and no
    scene-cut (aspects in RELEASED, overridden on purpose, and None values are not checked); else AdapterError."""
    problems = []
    if "rate" not in released and facts.rate_control is not None and facts.rate_control != "cqp":
        problems.append(f"rate control {facts.rate_control}, not constant QP")
    if qp is not None and facts.qp is not None and abs(facts.qp - qp) > 1e-6:
        problems.append(f"QP {facts.qp:g}, not {qp:g}")
    if keyint is not None and facts.keyint is not None and facts.keyint != keyint:
        problems.append(f"intra period {facts.keyint}, not {keyint}")
    if "reorder" not in released and facts.reordering:
        problems.append("picture reordering (B-frames) in a low-delay condition")
    if "scenecut" not in released and facts.scenecut:
        problems.append("scene-cut detection on")
    if problems:
        raise AdapterError(f"{codec}: the stream is not what the condition asks ({facts.source}): "
                           + "; ".join(problems))
    return facts


def check_frame_types(facts: StreamFacts, frame_types: list[str] | None, frames: int, intra_period: int,
                      b_frames_reorder: bool, codec: str) -> StreamFacts:
    """FACTS with the intra positions the decoder reports, if they are exactly the intra period's (-1: not
    checked beyond frame 0 being intra) and there are no B-frames where B means reordering; else AdapterError."""
    problems = []
    if frame_types is None or len(frame_types) != frames:
        # A decoder that returned another number of frames fails the job in the runner, which says so plainly;
        # here only what cannot be checked is noted.
        facts.raw["frame_types"] = f"unchecked: the decoder reported {len(frame_types or [])} for {frames} frames"
    else:
        facts.intra_frames = [i for i, t in enumerate(frame_types) if t == "I"]
        want = expected_intra(frames, intra_period)
        if facts.intra_frames[:1] != [0] or (intra_period != -1 and facts.intra_frames != want):
            problems.append(f"intra frames at {positions(facts.intra_frames)}; the intra period {intra_period} puts "
                            f"them at {positions(want)}")
        if b_frames_reorder and "B" in frame_types:
            problems.append(f"B-frames at {positions([i for i, t in enumerate(frame_types) if t == 'B'])} in a "
                            "low-delay condition")
    if problems:
        raise AdapterError(f"{codec}: the stream is not what the condition asks (frame types from the decoder): "
                           + "; ".join(problems))
    return facts


def positions(frames: list[int]) -> str:
    return ", ".join(map(str, frames[:8])) + (f" ... ({len(frames)} in all)" if len(frames) > 8 else "") or "none"


def describe(facts: dict[str, Any], library: str | None, threads: Any, overrides: list[str]) -> str:
    """The codec as its streams are: rate control, intra structure, reordering, threads, overrides."""
    parts = [library] if library else []
    if facts.get("rate_control") == "cqp":
        parts.append("constant QP")
    elif facts.get("rate_control"):
        parts.append(f"rate control {facts['rate_control']}")
    intra = facts.get("intra_frames") or []
    if len(intra) > 1:
        parts.append(f"intra every {intra[1] - intra[0]} frames")
    elif facts.get("keyint"):
        parts.append(f"intra period {facts['keyint']}")
    elif intra:
        parts.append("intra frame 0 only")
    if facts.get("reordering") is False or facts.get("reordering") is None and intra:
        parts.append("low delay, no reordering")
    if threads:
        parts.append(f"{threads} thread{'s' if threads != 1 else ''}")
    if overrides:
        parts.append("overrides " + ", ".join(overrides))
    return ", ".join(parts) + f" (checked: {facts.get('settings_from', 'frame types')})"
