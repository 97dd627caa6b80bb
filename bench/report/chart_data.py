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

from bench.bd.tables import class_average_points, with_db_columns
from bench.metrics import metric_label
from bench.report.styles import Style
from bench.store.labels import display_name
from bench.store.record import Record


def finite_curve(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """ROWS' finite (bpp, METRIC) points in ascending bpp, as columns ``x`` and ``y``."""
    if metric not in rows or rows.empty:
        return pd.DataFrame({"x": [], "y": []})
    xy = pd.DataFrame({"x": pd.to_numeric(rows["bpp"], errors="coerce"), "y": pd.to_numeric(rows[metric], errors="coerce")})
    xy = xy[xy["x"].map(math.isfinite) & xy["y"].map(math.isfinite)]
    return xy.sort_values("x")


def has_data(rows: pd.DataFrame, metric: str) -> bool:
    """Whether ROWS hold at least one finite (bpp, METRIC) point: a curve that can be drawn."""
    return not finite_curve(rows, metric).empty


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


def _frame_values(per_frame: dict[str, Any], metric: str) -> list[float | None] | None:
    """A job's per-frame values of METRIC (a ``<name>_db`` column: its metric's per-frame values in dB, by the
    same transform as the pooled column), or None where the job has none."""
    values = per_frame.get(metric)
    if isinstance(values, list) and values:
        return [_num(v) for v in values]
    base = per_frame.get(metric.removesuffix("_db")) if metric.endswith("_db") else None
    if isinstance(base, list) and base:
        column = metric.removesuffix("_db")
        return [_num(v) for v in with_db_columns(pd.DataFrame({column: pd.to_numeric(pd.Series(base), errors="coerce")}))[metric]]
    return None


def frame_entries(records: list[Record], anchor: str | None, metrics: list[str]) -> dict[str, Any]:
    """Per sequence: each codec at its rate point closest in bpp to a reference rate (the anchor's middle rate
    point, else the median of the codecs' middle ones), so that its curves compare at about equal rate: the
    quality per frame on each of METRICS it has per frame (the page shows the selected one), the bits per frame
    and the intra frames' indexes."""
    by_seq: dict[str, dict[str, list[Record]]] = {}
    for r in records:
        if r["status"] == "ok" and r.get("per_frame"):
            by_seq.setdefault(r["sequence"]["name"], {}).setdefault(display_name(r), []).append(r)
    out: dict[str, Any] = {}
    for seq in sorted(by_seq):
        codecs = {c: sorted(rs, key=lambda r: r["rate"]["bpp"] or 0.0) for c, rs in by_seq[seq].items()}
        middles = {c: rs[len(rs) // 2]["rate"]["bpp"] or 0.0 for c, rs in codecs.items()}
        target = middles[anchor] if anchor in middles else float(pd.Series(list(middles.values())).median())
        curves: list[list[object]] = []  # codec, rate point, its values per metric, bits per frame, intra frames
        chosen: list[str] = []
        shown: set[str] = set()  # the metrics of any curve
        for codec in sorted(codecs):
            r = min(codecs[codec], key=lambda r: abs(math.log((r["rate"]["bpp"] or 1e-9) / max(target, 1e-9))))
            pf = r["per_frame"]
            values = {m: v for m in metrics if (v := _frame_values(pf, m)) is not None}
            if not values:
                continue
            chosen.append(f"{codec} @ {r['rate_point']} ({r['rate']['bpp']:.4f} bpp)")
            shown.update(values)
            intra = [i for i, t in enumerate(pf.get("frame_type") or []) if t == "I"]
            curves.append([codec, str(r["rate_point"]), values,
                           [int(b) for b in pf["bits"]] if pf.get("bits") else None, intra])
        if curves:
            out[seq] = {"group": str(next(iter(codecs.values()))[0]["sequence"].get("group") or ""),
                        "metrics": [m for m in metrics if m in shown],
                        "chosen": f"at about {target:.4f} bpp: " + ", ".join(chosen), "codecs": curves}
    return out


def payload(styles: dict[str, Style], metrics: list[str], rd: dict[str, Any], frames: dict[str, Any],
            scatter: dict[str, Any]) -> str:
    """The page's JSON, safe inside ``<script type="application/json">``: ``<`` is written as ``\\u003c``, so no
    name in it can close the element; the script sets every name as text, never as markup."""
    data = {"codecs": {c: [s.colour, s.svg_marker, s.svg_dash, s.label, s.filled, s.anchor] for c, s in styles.items()},
            "metrics": {m: metric_label(m) for m in metrics}, "rd": rd, "frames": frames, "scatter": scatter}
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
