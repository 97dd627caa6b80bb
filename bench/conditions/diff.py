"""How two test protocols differ (``evaluate.py diff A B``): every field, grouped by what it changes, each with
its known effect where one is documented.

A protocol is what a condition fixes, flattened to dotted field names (``colour.matrix``,
``codec[x265].params.preset``: a codec's name is kept whole, dots and all): from a condition file, from the
``condition.yaml`` a results folder stores (the condition as that run used it), or from a published curve's
``protocol`` block. The groups say what a difference can move:

* **coding**: the bitstreams or their decoded frames (sequences, frames, intra period, colour path, spatial
  handling, each codec's settings and rate points): BD-rates between them compare protocols as much as codecs;
* **measurement**: the numbers taken from the same bitstreams (which metrics, pooling, PSNR peak, where they
  are computed, how times are taken);
* **environment**: where things are and how they run (a codec's checkout, interpreter, threads: the parameters
  its adapter declares as not changing results), which no number depends on;
* **presentation**: only what a reader sees (names, descriptions, curve styles).

Lists whose order means nothing (the sequences, the measures) are compared as sets. For a results folder the
codecs' identities as its records store them (versions, binary and checkpoint hashes) are compared too.

A field only one side states (a published curve's protocol says less than a condition) is listed as not stated
there, not as equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.conditions.condition import Condition
from bench.errors import ConditionError

CODING, MEASUREMENT, ENVIRONMENT, PRESENTATION = "coding", "measurement", "environment", "presentation"
GROUPS = (CODING, MEASUREMENT, ENVIRONMENT, PRESENTATION)
_UNORDERED = ("sequences", "metrics.measures")
NOT_STATED = "(not stated)"

# Field-name prefixes of the measurement and presentation groups; every other field is coding (the safe side: a
# field nobody classified is assumed to change the bitstreams).
_MEASUREMENT = ("metrics.", "timing", "anchor")
_PRESENTATION = ("name", "description", "title")
_CODEC_PRESENTATION = ("description", "display.", "defined_in")

# Known effects, by field prefix (the longest matching prefix wins). Each says what moves and where that is
# documented or why it follows; none is an estimate of this run's numbers.
EFFECTS: dict[str, str] = {
    "colour.matrix": "the YUV/RGB matrix changes every RGB picture and metric (in microsoft/DCVC issue #38 the "
                     "conversion used to make RGB test data, ffmpeg's default against DCVC's, moved results by "
                     "more than 1 dB)",
    "colour.range": "limited against full range changes every RGB picture and metric from the same YUV",
    "colour.source_format": "other source samples: RGB sources and YUV 4:2:0 sources are different content "
                            "(microsoft/DCVC issue #52: two papers' RGB files disagreed)",
    "colour.coding_format": "what the codec is given; DCVC's test_conditions.md codes YUV content as 4:2:0 and RGB "
                            "content as 4:4:4 for the traditional anchors",
    "colour.chroma_upsampling": "how 4:2:0 chroma is brought to 4:4:4 before RGB metrics: RGB values move",
    "intra_period": "each intra frame costs rate and resets drift; DCVC's test_conditions.md recommends 32 and calls "
                    "10 and 12 not reasonable",
    "frames.count": "other frames are coded, and learned codecs' quality drifts along a sequence: 96 frames and all "
                    "frames give different BD-rates (microsoft/DCVC issue #128 asks which of the two a paper used)",
    "frames.first": "other frames are coded",
    "spatial": "cropping drops content (DCVC 2021 cropped to a multiple of 64); padding codes pixels no metric sees",
    "sequences": "other content: class means and BD-rates average other sequences",
    "dataset": "other content: class means and BD-rates average other sequences",
    "narrowed": "a part of the condition (fewer frames or sequences): its own keys, flagged in BD tables",
    "metrics.pooling": "the mean of per-frame PSNRs is never below the PSNR of the mean MSE (Jensen's inequality); "
                       "the gap grows with the spread of per-frame quality",
    "metrics.psnr_peak": "the PSNR peak of high-bit-depth content: every PSNR moves by a constant "
                         "(20 log10 of the peaks' ratio)",
    "metrics.device": "where metrics run: the GPU path equals the CPU path to float rounding (the selftest checks)",
    "metrics.measures": "which metrics are taken: numbers of the others do not move",
    "timing": "how times are taken: no quality or rate number moves",
    "anchor": "the curve every BD-rate is computed against: every BD number moves",
}
_CODEC_EFFECTS = {
    "adapter": "another codec implementation",
    "params": "the codec's own settings: other bitstreams",
    "rate_points": "other rate points: the BD overlap interval moves",
    "identity": "another codec version or binary (the anchor's version matters: VTM-15 and VTM-17 differ)",
}


@dataclass(frozen=True)
class Difference:
    """One field whose values differ (or that one side does not state)."""

    group: str
    field: str
    a: Any
    b: Any
    note: str


_CODEC = re.compile(r"codec\[(.*?)\]")


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = value


def flatten(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Nested mappings to dotted field names; lists and scalars are values. The ``codec`` mapping's keys are
    codec names, kept whole (they may hold dots): ``codec[NAME].field``."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "codec" and isinstance(value, Mapping):
            for name, settings in value.items():
                _flatten(settings, f"codec[{name}]", out)
        else:
            _flatten(value, str(key), out)
    return out


def _codec_of(field: str) -> tuple[str, str] | None:
    """``codec[NAME].rest`` -> (NAME, rest); None for a field that is not a codec's."""
    m = _CODEC.match(field)
    return (m.group(1), field[m.end():].lstrip(".")) if m else None


def _codec_protocol(c: Any) -> dict[str, Any]:
    return {"adapter": c.adapter, "params": dict(c.params), "rate_points": list(c.rate_points),
            "description": c.description, "display": dict(c.display)}


def protocol(condition: Condition) -> dict[str, Any]:
    """CONDITION's protocol, flattened: what it codes, how it measures, how it presents (defaults written out)."""
    coding = condition.coding_fields()
    doc: dict[str, Any] = {
        "name": condition.name, "description": condition.description, "dataset": condition.dataset,
        "sequences": [s.name for s in condition.sequences], **coding,
        # One value, so that a whole condition and a part of it differ in one line.
        "narrowed": condition.narrowed.describe() if condition.narrowed is not None else "no: the whole condition",
        "metrics": condition.metrics.describe(), "timing": condition.timing, "anchor": condition.anchor,
        "codec": {c.name: _codec_protocol(c) for c in condition.codecs},
    }
    return flatten(doc)


def _affects_result(adapter: Any, param: str) -> bool:
    """Whether ADAPTER's parameter PARAM changes results, as the adapter declares it (unknown: it does)."""
    from bench.adapters import adapter_class

    try:
        declared = adapter_class(str(adapter)).PARAMS.get(param)
    except ConditionError:  # an adapter this installation lacks (a plug-in's): assume the parameter matters
        return True
    return declared is None or declared.affects_result


def with_identities(protocol: dict[str, Any], records: list[Mapping[str, Any]]) -> dict[str, Any]:
    """PROTOCOL with each codec's identity as the first of RECORDS of that codec stores it (versions, binary and
    checkpoint hashes: what a condition file cannot say), flattened under ``codec[NAME].identity``."""
    seen: dict[str, Mapping[str, Any]] = {}
    for r in records:
        codec = r.get("codec") or {}
        if r.get("status") == "ok" and codec.get("name") not in seen:
            seen[str(codec.get("name"))] = codec.get("identity") or {}
    return {**protocol, **flatten({"codec": {name: {"identity": identity} for name, identity in seen.items()}})}


def changes_numbers(diffs: list[Difference]) -> bool:
    """Whether any difference can move a number: one of coding or measurement."""
    return any(d.group in (CODING, MEASUREMENT) for d in diffs)


def group_of(field: str, adapter: Any = None) -> str:
    """The group of a flattened field name (ADAPTER: the codec's adapter, for a codec's parameter)."""
    if (codec := _codec_of(field)) is not None:
        rest = codec[1]
        if rest.startswith("params.") and adapter is not None and not _affects_result(adapter, rest.split(".")[1]):
            return ENVIRONMENT
        return PRESENTATION if rest.startswith(_CODEC_PRESENTATION) else CODING
    if field.startswith(_MEASUREMENT):
        return MEASUREMENT
    return PRESENTATION if field.split(".")[0] in _PRESENTATION else CODING


def effect_of(field: str) -> str:
    """The documented effect of a difference in FIELD, or ""."""
    if (codec := _codec_of(field)) is not None:
        return _CODEC_EFFECTS.get(codec[1].split(".")[0], "")
    best = max((p for p in EFFECTS if field == p or field.startswith(p + ".")), key=len, default=None)
    return EFFECTS[best] if best else ""


def _same(a: Any, b: Any, field: str = "") -> bool:
    def canonical(v: Any) -> Any:
        if field in _UNORDERED and isinstance(v, list):
            return sorted(json.dumps(x, sort_keys=True, default=str) for x in v)
        return v
    return json.dumps(canonical(a), sort_keys=True, default=str) == json.dumps(canonical(b), sort_keys=True, default=str)


def _codecs(p: Mapping[str, Any]) -> set[str]:
    return {c[0] for f in p if (c := _codec_of(f)) is not None}


def _codec_summary(p: Mapping[str, Any], name: str) -> str:
    adapter, points = p.get(f"codec[{name}].adapter"), p.get(f"codec[{name}].rate_points")
    return f"{adapter or 'a codec'}" + (f" at {_shown(points)}" if points is not None else "")


def _renamed(p: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for f, v in p.items():
        codec = _codec_of(f)
        out[f"codec[{names[codec[0]]}]{f[len(codec[0]) + 7:]}" if codec and codec[0] in names else f] = v
    return out


def _paired(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A and B with each codec only one side has, whose adapter is that of exactly one codec only the other side
    has, renamed ``A's name | B's name`` on both sides: the two are compared setting by setting (a paper's RGB
    model against its YUV one, a published VTM curve against the condition's VTM) instead of listed apart."""
    only_a, only_b = sorted(_codecs(a) - _codecs(b)), sorted(_codecs(b) - _codecs(a))
    names: dict[str, str] = {}
    for adapter in {a.get(f"codec[{n}].adapter") for n in only_a} - {None}:
        mine = [n for n in only_a if a.get(f"codec[{n}].adapter") == adapter]
        theirs = [n for n in only_b if b.get(f"codec[{n}].adapter") == adapter]
        if len(mine) == len(theirs) == 1:
            names[mine[0]] = names[theirs[0]] = f"{mine[0]} | {theirs[0]}"
    return _renamed(a, names), _renamed(b, names)


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Difference]:
    """Every field of A or B whose values differ, in group order, then by field name. A codec only one side
    has is one line, not one per setting, unless it pairs with one only the other side has (:func:`_paired`)."""
    a, b = _paired(a, b)
    only = _codecs(a) ^ _codecs(b)

    def group(f: str) -> str:
        codec = _codec_of(f)
        return group_of(f, (a.get(f"codec[{codec[0]}].adapter") or b.get(f"codec[{codec[0]}].adapter"))
                        if codec else None)

    fields = sorted({f for f in {*a, *b} if (_codec_of(f) or ("",))[0] not in only},
                    key=lambda f: (GROUPS.index(group(f)), f))
    out = [Difference(group(f), f, a.get(f, NOT_STATED), b.get(f, NOT_STATED), effect_of(f))
           for f in fields if not (f in a and f in b and _same(a[f], b[f], f))]
    out += [Difference(CODING, f"codec[{name}]", _codec_summary(a, name) if name in _codecs(a) else "(absent)",
                       _codec_summary(b, name) if name in _codecs(b) else "(absent)",
                       "a codec only one side codes") for name in sorted(only)]
    return sorted(out, key=lambda d: GROUPS.index(d.group))


def _sequences(a: Any, b: Any) -> str | None:
    """Two sequence lists as what they share and what each adds, not as two long lists."""
    if not (isinstance(a, list) and isinstance(b, list)):
        return None
    only_a, only_b = [s for s in a if s not in b], [s for s in b if s not in a]
    parts = [f"{len(a)} -> {len(b)} sequences, {len(a) - len(only_a)} in both (order aside)"]
    parts += [f"only in A: {', '.join(only_a)}"] if only_a else []
    parts += [f"only in B: {', '.join(only_b)}"] if only_b else []
    return "; ".join(parts)


def _shown(value: Any, field: str = "") -> str:
    if value is None and field == "frames.count":
        return "all frames"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _unstated(diffs: list[Difference], side: str) -> str:
    fields = [f"{d.field} ({_shown(d.a if side == 'B' else d.b, d.field)})" for d in diffs
              if (d.b if side == "B" else d.a) == NOT_STATED]
    return f"  not stated by {side}: {', '.join(fields)}" if fields else ""


def render(diffs: list[Difference], label_a: str, label_b: str) -> str:
    """The differences as text: a heading per group, a line per field both sides state (A's value -> B's) with
    its effect below, then the fields only one side states, on one line per side."""
    if not diffs:
        return f"{label_a} and {label_b}: no field differs"
    lines = [f"A: {label_a}", f"B: {label_b}"]
    for group in GROUPS:
        mine = [d for d in diffs if d.group == group]
        if not mine:
            continue
        lines += ["", f"{group} ({len(mine)} field{'s' if len(mine) != 1 else ''})"]
        for d in mine:
            if NOT_STATED not in (d.a, d.b):
                both = _sequences(d.a, d.b) if d.field == "sequences" else None
                lines.append(f"  {d.field}: {both or f'{_shown(d.a, d.field)} -> {_shown(d.b, d.field)}'}")
                lines += [f"      {d.note}"] if d.note else []
        lines += [text for side in ("B", "A") if (text := _unstated(mine, side))]
    return "\n".join(lines)
