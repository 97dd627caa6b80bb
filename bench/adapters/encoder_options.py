"""Encoder option strings merged, not replaced, and the settings a condition fixes protected.

ffmpeg keeps only the last ``-x265-params`` (``-x264-params``, ``-svtav1-params`` ...) it is given: a user's
``extra_args: [-x265-params, ipratio=1:pbratio=1]`` used to drop the suite's ``qp=..:keyint=..:bframes=0``
without a word, and every "QP" job wrote the same CRF-28 stream. Here both strings are parsed and merged key by
key into one (:func:`merge_args`). A user key or plain ffmpeg option that contradicts what the condition fixes
(rate-control mode and QP, intra period, B-frames or reordering, scene-cut) is refused when the condition is
read (:func:`check_extra_args`), unless the descriptor lists it in ``overrides:``; the record then says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.errors import ConditionError


@dataclass(frozen=True)
class EncoderOptions:
    """One encoder's option string (its flag, e.g. ``-x265-params``) and what the condition fixes: keys of the
    string and plain ffmpeg options, each with the aspect it fixes (a key of :data:`ASPECTS`)."""

    flag: str | None
    protected_keys: dict[str, str]
    protected_options: dict[str, str]
    aliases: tuple[str, ...] = ()  # other flags taking the same string (x264's -x264opts)


ASPECTS = {"rate": "the rate control (constant QP at the rate point)", "intra": "the intra period",
           "reorder": "the low-delay structure (no B-frames, no reordering)",
           "scenecut": "scene-cut detection (off: intra frames only where the intra period puts them)"}
_RATE, _INTRA, _REORDER, _SCENECUT = "rate", "intra", "reorder", "scenecut"
_COMMON_OPTIONS = {"-qp": _RATE, "-crf": _RATE, "-b:v": _RATE, "-maxrate": _RATE, "-bufsize": _RATE, "-pass": _RATE,
                   "-g": _INTRA, "-keyint_min": _INTRA}


def normalise(key: str) -> str:
    """x264/x265 accept ``a_b`` for ``a-b``; VVenC's keys are case-insensitive; x265's ``no-x`` negates ``x``."""
    k = key.strip().lower().replace("_", "-")
    return k[3:] if k.startswith("no-") else k


def _keys(rate: Iterable[str] = (), intra: Iterable[str] = (), reorder: Iterable[str] = (),
          scenecut: Iterable[str] = ()) -> dict[str, str]:
    out: dict[str, str] = {}
    for keys, what in ((rate, _RATE), (intra, _INTRA), (reorder, _REORDER), (scenecut, _SCENECUT)):
        out.update({normalise(k): what for k in keys})
    return out


X264_OPTIONS = EncoderOptions(
    "-x264-params",
    _keys(rate=("qp", "crf", "bitrate", "vbv-maxrate", "vbv-bufsize", "pass", "crf-max", "qpmin", "qpmax"),
          intra=("keyint", "min-keyint", "keyint-min", "intra-refresh"),
          reorder=("bframes", "b-adapt", "b-pyramid", "open-gop"), scenecut=("scenecut",)),
    {**_COMMON_OPTIONS, "-bf": _REORDER, "-sc_threshold": _SCENECUT, "-b_strategy": _REORDER}, ("-x264opts",))
X265_OPTIONS = EncoderOptions(
    "-x265-params",
    _keys(rate=("qp", "crf", "bitrate", "vbv-maxrate", "vbv-bufsize", "pass", "qpmin", "qpmax"),
          intra=("keyint", "min-keyint", "intra-refresh", "radl"),
          reorder=("bframes", "b-adapt", "b-pyramid", "open-gop"), scenecut=("scenecut", "hist-scenecut")),
    {**_COMMON_OPTIONS, "-bf": _REORDER})
SVTAV1_OPTIONS = EncoderOptions(
    "-svtav1-params",
    _keys(rate=("rc", "qp", "crf", "tbr", "mbr", "aq-mode"), intra=("keyint", "irefresh-type"),
          reorder=("pred-struct",), scenecut=("scd",)),
    _COMMON_OPTIONS)
VVENC_OPTIONS = EncoderOptions(
    "-vvenc-params",
    _keys(rate=("qp", "ratecontrol", "targetbitrate", "bitrate", "passes", "pass"),
          intra=("intraperiod", "intraperiodsec", "refreshsec", "decodingrefreshtype"),
          reorder=("picreordering",)),
    {**_COMMON_OPTIONS, "-qpa": _RATE, "-period": _INTRA, "-refresh": _INTRA})
AOM_OPTIONS = EncoderOptions(
    "-aom-params",
    _keys(rate=("end-usage", "cq-level", "target-bitrate", "min-q", "max-q"),
          intra=("kf-max-dist", "kf-min-dist", "enable-fwd-kf"), reorder=("lag-in-frames", "auto-alt-ref")),
    {**_COMMON_OPTIONS, "-lag-in-frames": _REORDER, "-auto-alt-ref": _REORDER, "-aq-mode": _RATE})
ALL_FLAGS = ("-x264-params", "-x264opts", "-x265-params", "-svtav1-params", "-vvenc-params", "-aom-params",
             "-kvazaar-params")


def parse(value: str) -> list[tuple[str, str | None]]:
    """``k=v:k2=v2:flag`` into (key, value) pairs, in order."""
    out: list[tuple[str, str | None]] = []
    for item in value.split(":"):
        if item.strip():
            k, eq, v = item.partition("=")
            out.append((k.strip(), v.strip() if eq else None))
    return out


def render(pairs: list[tuple[str, str | None]]) -> str:
    return ":".join(k if v is None else f"{k}={v}" for k, v in pairs)


def _split(args: list[str], opts: EncoderOptions) -> tuple[list[str], list[str]]:
    """(the values of this encoder's option-string flags, the other arguments)."""
    strings, rest = [], []
    flags = {opts.flag, *opts.aliases} - {None}
    i = 0
    while i < len(args):
        if args[i] in flags and i + 1 < len(args):
            strings.append(args[i + 1])
            i += 2
            continue
        rest.append(args[i])
        i += 1
    return strings, rest


def overridden_aspects(overrides: list[str], opts: EncoderOptions, where: str) -> set[str]:
    """The aspects (rate, intra, reorder, scenecut) the descriptor's overrides: release from the checks;
    ConditionError for an entry that is not a setting the condition fixes."""
    out = set()
    for o in overrides:
        what = opts.protected_options.get(o) or opts.protected_keys.get(normalise(o))
        if what is None:
            raise ConditionError(f"{where}.overrides: {o!r} is not a setting the condition fixes (those are "
                                 f"{', '.join(sorted({*opts.protected_keys, *opts.protected_options}))})")
        out.add(what)
    return out


def check_extra_args(extra: list[str], opts: EncoderOptions, overrides: list[str], codec: str, where: str) -> None:
    """ConditionError naming the first user key or option that contradicts the condition (unless overridden),
    or the option string of another encoder (which ffmpeg would ignore with only a warning)."""
    overridden_aspects(overrides, opts, where)
    allowed = {normalise(o) for o in overrides}
    strings, rest = _split(extra, opts)
    for arg in rest:
        if arg in ALL_FLAGS:
            raise ConditionError(f"{where}.extra_args: {arg} is not an option of {codec} (its string is "
                                 f"{opts.flag or 'none'}); ffmpeg would ignore it")
        what = opts.protected_options.get(arg)
        if what is not None and normalise(arg) not in allowed:
            raise ConditionError(f"{where}.extra_args: {arg} would change {ASPECTS[what]}, which the condition fixes; remove "
                                 f"it, or add {arg!r} to the descriptor's overrides: to override it on purpose")
    for value in strings:
        for key, _ in parse(value):
            what = opts.protected_keys.get(normalise(key))
            if what is not None and normalise(key) not in allowed:
                raise ConditionError(f"{where}.extra_args: {opts.flag} key {key!r} would change {ASPECTS[what]}, which the "
                                     f"condition fixes; remove it, or add {key!r} to the descriptor's overrides: to "
                                     "override it on purpose")


def merge_args(ours: list[str], extra: list[str], opts: EncoderOptions) -> tuple[list[str], list[str]]:
    """Our encoder arguments and the user's, with every option string of this encoder merged into one (ours
    first; a user key replaces ours of the same name, new keys are appended). Returns (arguments, the user keys
    that replaced one of ours)."""
    our_strings, our_rest = _split(ours, opts)
    their_strings, their_rest = _split(extra, opts)
    if opts.flag is None or not their_strings:
        return [*ours, *extra], []
    merged: dict[str, tuple[str, str | None]] = {}
    for value in our_strings:
        for k, v in parse(value):
            merged[normalise(k)] = (k, v)
    replaced = []
    for value in their_strings:
        for k, v in parse(value):
            if normalise(k) in merged and merged[normalise(k)][1] != v:
                replaced.append(k)
            merged[normalise(k)] = (k, v)
    return [*our_rest, opts.flag, render(list(merged.values())), *their_rest], replaced
