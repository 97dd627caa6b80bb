"""The numbers behind the report's interactive charts: one JSON payload that the page's script draws from.

The page draws its RD, per-frame and complexity charts in the browser, when the reader opens them, from this
payload: each curve's numbers are carried once (a sequence's points serve every metric's chart) instead of
hundreds of prerendered SVGs, which keeps a report of 10 codecs x 60 sequences x 6 rate points under 3 MB.
Numbers keep six significant digits (far below any difference a chart can show; the CSV exports keep all).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from bench.bdtable import class_average_points
from bench.metrics import metric_label
from bench.records import display_name
from bench.report.styles import Style

# The quality metric the per-frame view shows, the first a codec's records carry.
PER_FRAME_METRICS = ("psnr_y", "psnr_rgb", "psnr_yuv_611")


def _num(v: Any) -> float | None:
    """A finite number at six significant digits, else None (JSON null: a gap in the curve)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else float(f"{f:.6g}")


def _column(part: pd.DataFrame, name: str) -> list[float | None]:
    return [_num(v) for v in part[name]] if name in part else [None] * len(part)


def _curves(rows: pd.DataFrame, metrics: list[str], with_kbps: bool) -> list[list[Any]]:
    """Per codec: [name, rate points, bpp, kbps or None, {metric: values}], points in ascending bpp."""
    out = []
    for codec, part in rows.groupby("codec", sort=True):
        part = part.assign(_b=pd.to_numeric(part["bpp"], errors="coerce")).sort_values("_b")
        kbps = _column(part, "kbps") if with_kbps else None
        out.append([str(codec), [str(p) for p in part["rate_point"]], _column(part, "bpp"),
                    kbps if kbps and any(k is not None for k in kbps) else None,
                    {m: _column(part, m) for m in metrics if m in part}])
    return out


def rd_entries(points: pd.DataFrame, metrics: list[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The RD charts' data: ``seq:NAME`` (one entry per sequence, every metric) and ``class:METRIC:GROUP`` (the
    frame-weighted class means, which depend on the metric), and the classes each metric has a curve for."""
    entries: dict[str, Any] = {}
    classes: dict[str, list[str]] = {}
    if points.empty:
        return entries, classes
    for seq, rows in points.groupby("sequence", sort=True):
        entries[f"seq:{seq}"] = {"title": str(seq), "kbps": True, "codecs": _curves(rows, metrics, True)}
    for metric in metrics:
        averaged = class_average_points(points, metric)
        classes[metric] = []
        for group, rows in averaged.groupby("group", sort=True):
            classes[metric].append(str(group))
            entries[f"class:{metric}:{group}"] = {"title": f"class {group} (frame-weighted mean)", "kbps": False,
                                                  "codecs": _curves(rows, [metric], False)}
    return entries, classes


def frame_entries(records: list[dict[str, Any]], anchor: str | None) -> dict[str, Any]:
    """Per sequence: each codec at its rate point closest in bpp to a reference rate (the anchor's middle rate
    point, else the median of the codecs' middle ones), so that its curves compare at about equal rate: the
    quality per frame, the bits per frame and the intra frames' indexes."""
    by_seq: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        if r["status"] == "ok" and r.get("per_frame"):
            by_seq.setdefault(r["sequence"]["name"], {}).setdefault(display_name(r), []).append(r)
    out: dict[str, Any] = {}
    for seq in sorted(by_seq):
        codecs = {c: sorted(rs, key=lambda r: r["rate"]["bpp"] or 0.0) for c, rs in by_seq[seq].items()}
        middles = {c: rs[len(rs) // 2]["rate"]["bpp"] or 0.0 for c, rs in codecs.items()}
        target = middles[anchor] if anchor in middles else float(pd.Series(list(middles.values())).median())
        metric = next((m for m in PER_FRAME_METRICS
                       if any(r["per_frame"].get(m) for rs in codecs.values() for r in rs)), None)
        if metric is None:
            continue
        curves, chosen = [], []
        for codec in sorted(codecs):
            r = min(codecs[codec], key=lambda r: abs(math.log((r["rate"]["bpp"] or 1e-9) / max(target, 1e-9))))
            pf = r["per_frame"]
            if not pf.get(metric):
                continue
            chosen.append(f"{codec} @ {r['rate_point']} ({r['rate']['bpp']:.4f} bpp)")
            intra = [i for i, t in enumerate(pf.get("frame_type") or []) if t == "I"]
            curves.append([codec, str(r["rate_point"]), [_num(v) for v in pf[metric]],
                           [int(b) for b in pf["bits"]] if pf.get("bits") else None, intra])
        if curves:
            out[seq] = {"group": str(next(iter(codecs.values()))[0]["sequence"].get("group") or ""),
                        "label": metric_label(metric), "chosen": f"at about {target:.4f} bpp: " + ", ".join(chosen),
                        "codecs": curves}
    return out


def payload(styles: dict[str, Style], metrics: list[str], rd: dict[str, Any], frames: dict[str, Any],
            scatter: dict[str, Any]) -> str:
    """The page's JSON, safe inside ``<script type="application/json">``: ``<`` is written as ``\\u003c``, so no
    name in it can close the element; the script sets every name as text, never as markup."""
    data = {"codecs": {c: [s.colour, s.svg_marker, s.dashed, s.label] for c, s in styles.items()},
            "metrics": {m: metric_label(m) for m in metrics}, "rd": rd, "frames": frames, "scatter": scatter}
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
