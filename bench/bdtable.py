"""BD tables over many codecs and sequences, in both aggregation conventions, named.

* ``jvet``: BD per sequence against the anchor, then the arithmetic mean per class, then the mean over all
  sequences ("Overall", as the JVET CTC template). A class mean uses only sequences with a usable BD value
  and says how many that was.
* ``average_curve``: per class, one RD curve per codec made of the frame-weighted mean bpp and quality of
  each rate point over the class's sequences, then one BD value of those curves (DCVC's
  ``compare_bd_rate.py``); its "Average" is the plain mean of the class values, as the DCVC papers print it.

Time ratios (encode, decode) are the geometric mean over sequences of (test time summed over rate points)
/ (anchor time summed over rate points), as in JVET tables.

Input is the tidy table of :func:`bench.report.tables.summary_frame` (our records and imported ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.bdrate import (
    DEFAULT_MIN_OVERLAP,
    DEFAULT_MIN_POINTS,
    BDResult,
    Curve,
    Status,
    compare,
    prepare_curve,
)
from bench.errors import BenchError
from bench.metrics import metric as registered_metric

OVERALL = "Overall"


@dataclass(frozen=True)
class BDOptions:
    metric: str = "psnr_yuv_611"
    kind: str = "rate"
    method: str = "pchip"
    min_points: int = DEFAULT_MIN_POINTS
    min_overlap: float = DEFAULT_MIN_OVERLAP
    repair: str | None = None

    def describe(self) -> str:
        what = "BD-rate [%] (rate at equal quality)" if self.kind == "rate" else f"BD-{self.metric} (at equal rate)"
        repair = f", non-monotonic curves repaired by {self.repair}" if self.repair else ""
        return (f"{what} on {self.metric} against bpp; {self.method} interpolation, exact integration over the "
                f"overlap; at least {self.min_points} points; low overlap below {self.min_overlap:.0%}{repair}")


def with_db_columns(points: pd.DataFrame) -> pd.DataFrame:
    """Add ``<ms-ssim metric>_db`` = -10 log10(1 - x) for every MS-SSIM column (for BD in dB)."""
    out = points.copy()
    for col in [c for c in points.columns if (m := registered_metric(c)) is not None and m.display == "db" and c == m.name]:
        values = pd.to_numeric(out[col], errors="coerce")
        out[f"{col}_db"] = -10 * np.log10(np.clip(1 - values, 1e-12, None))
    return out


def _curves(points: pd.DataFrame, metric: str) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    if metric not in points.columns:
        raise BenchError(f"metric {metric!r} is in none of the results; available: "
                         f"{', '.join(c for c in points.columns if registered_metric(c) is not None)}")
    ok = points[points["status"] == "ok"]
    rate = pd.to_numeric(ok["bpp"], errors="coerce").to_numpy(dtype=float)
    quality = pd.to_numeric(ok[metric], errors="coerce").to_numpy(dtype=float)
    keys = list(zip(ok["codec"], ok["sequence"], strict=True))
    groups: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return {k: (rate[idx], quality[idx]) for k, idx in groups.items()}


def _row(codec: str, group: str, sequence: str, r: BDResult, opts: BDOptions) -> dict[str, object]:
    return {"codec": codec, "group": group, "sequence": sequence, "value": r.value, "status": str(r.status),
            "overlap_quality": r.overlap_quality, "overlap_rate": r.overlap_rate, "points_anchor": r.points[0],
            "points_test": r.points[1], "dropped_anchor": list(r.dropped[0]), "dropped_test": list(r.dropped[1]),
            "message": r.message, "metric": opts.metric, "kind": opts.kind, "method": opts.method,
            "repair": opts.repair}


def _prepared(curve: tuple[np.ndarray, np.ndarray], who: str, opts: BDOptions) -> Curve:
    return prepare_curve(curve[0], curve[1], who, opts.min_points, opts.repair, opts.method)


def _bd(anchor: Curve, test: Curve, opts: BDOptions) -> BDResult:
    m = registered_metric(opts.metric)
    return compare(anchor, test, opts.kind, opts.method, opts.min_overlap, opts.repair,
                   m.saturates_at if m is not None and m.display != "db" else None)


def check_anchor(points: pd.DataFrame, anchor: str) -> None:
    codecs = sorted(set(points["codec"]))
    if anchor not in codecs:
        raise BenchError(f"anchor {anchor!r} is not among the results' codecs: {', '.join(codecs)}")


def per_sequence(points: pd.DataFrame, anchor: str, opts: BDOptions) -> pd.DataFrame:
    """One BD result per (test codec, sequence); sequences the anchor lacks get status ``missing``."""
    check_anchor(points, anchor)
    curves = _curves(points, opts.metric)
    group_of = dict(zip(points["sequence"], points["group"], strict=True))
    # Each anchor curve is validated once and compared with every test codec.
    anchors = {s: _prepared(c, "anchor", opts) for (codec, s), c in curves.items() if codec == anchor}
    rows = []
    for codec in sorted(set(points["codec"]) - {anchor}):
        for seq in sorted({s for c, s in curves if c == codec} | set(anchors)):
            a, t = anchors.get(seq), curves.get((codec, seq))
            lacking = [who for who, c in ((anchor, curves.get((anchor, seq))), (codec, t))
                       if c is not None and np.isnan(c[1]).all()]
            if a is None or t is None:
                who = anchor if a is None else codec
                r = BDResult(None, Status.MISSING, opts.kind, opts.method, message=f"no results of {who} for {seq}")
            elif lacking:
                r = BDResult(None, Status.METRIC_MISSING, opts.kind, opts.method,
                             message=f"{' and '.join(lacking)} has no {opts.metric} values for {seq}")
            else:
                r = _bd(a, _prepared(t, "test", opts), opts)
            rows.append(_row(codec, group_of[seq], seq, r, opts))
    return pd.DataFrame(rows)


def _mean_row(codec: str, group: str, part: pd.DataFrame) -> dict[str, object]:
    usable = part[part["status"].isin(["ok", "low_overlap"])]
    if usable.empty:
        status = "none_usable"
    elif len(usable) < len(part):
        status = "incomplete"
    elif (usable["status"] == "low_overlap").any():
        status = "low_overlap"
    else:
        status = "ok"
    return {"codec": codec, "group": group, "value": float(usable["value"].mean()) if len(usable) else None,
            "status": status, "sequences_used": len(usable), "sequences": len(part)}


def jvet_summary(per_seq: pd.DataFrame) -> pd.DataFrame:
    """Mean of per-sequence values per class, then over all sequences (``Overall``)."""
    rows = []
    for codec, part in per_seq.groupby("codec", sort=True):
        for group, gpart in part.groupby("group", sort=True):
            rows.append(_mean_row(str(codec), str(group), gpart))
        rows.append(_mean_row(str(codec), OVERALL, part))
    return pd.DataFrame(rows)


def class_average_points(points: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per codec, class and rate point: the frame-weighted mean bpp and quality over the class's sequences.

    A rate point that some of the class's sequences lack is left out (it would bias the mean)."""
    ok = points[points["status"] == "ok"]
    w = pd.to_numeric(ok["frames"], errors="coerce").fillna(1.0)
    df = pd.DataFrame({"codec": ok["codec"], "group": ok["group"], "sequence": ok["sequence"],
                       "rate_point": ok["rate_point"].astype(str), "w": w,
                       "wb": w * pd.to_numeric(ok["bpp"], errors="coerce"),
                       "wq": w * pd.to_numeric(ok[metric], errors="coerce")}).dropna(subset=["wb", "wq"])
    per_rp = df.groupby(["codec", "group", "rate_point"], sort=True).agg(
        w=("w", "sum"), wb=("wb", "sum"), wq=("wq", "sum"), sequences=("sequence", "nunique")).reset_index()
    n_seq = df.groupby(["codec", "group"])["sequence"].nunique().rename("n_seq").reset_index()
    per_rp = per_rp.merge(n_seq, on=["codec", "group"])
    per_rp = per_rp[per_rp["sequences"] == per_rp["n_seq"]]
    out = pd.DataFrame({"codec": per_rp["codec"], "group": per_rp["group"], "rate_point": per_rp["rate_point"],
                        "sequences": per_rp["sequences"], "bpp": per_rp["wb"] / per_rp["w"],
                        metric: per_rp["wq"] / per_rp["w"]})
    return out.reset_index(drop=True)


def average_curve(points: pd.DataFrame, anchor: str, opts: BDOptions) -> pd.DataFrame:
    """BD of the class-averaged curves (frame-weighted mean bpp and quality per rate point), and their mean."""
    check_anchor(points, anchor)
    averaged = class_average_points(points, opts.metric)
    curves = {(str(c), str(g)): (part["bpp"].to_numpy(), part[opts.metric].to_numpy())
              for (c, g), part in averaged.groupby(["codec", "group"], sort=True)}
    ok = points[points["status"] == "ok"]
    rows = []
    for codec in sorted(set(ok["codec"]) - {anchor}):
        values = []
        for group in sorted(set(ok["group"])):
            a, t = curves.get((anchor, group)), curves.get((codec, group))
            if a is None or t is None:
                r = BDResult(None, Status.MISSING, opts.kind, opts.method, message=f"no results for class {group}")
            else:
                r = _bd(_prepared(a, "anchor", opts), _prepared(t, "test", opts), opts)
            rows.append(_row(codec, group, "", r, opts))
            values.append(r)
        usable = [r.value for r in values if r.usable]
        rows.append({"codec": codec, "group": "Average", "value": float(np.mean(usable)) if usable else None,
                     "status": "ok" if len(usable) == len(values) else ("incomplete" if usable else "none_usable")})
    return pd.DataFrame(rows)


def time_ratios(points: pd.DataFrame, anchor: str) -> pd.DataFrame:
    """Geometric mean over sequences of summed test time / summed anchor time (encode and decode)."""
    check_anchor(points, anchor)
    ok = points[points["status"] == "ok"]
    cols = [c for c in ("encode_s", "decode_s") if c in ok.columns]
    sums = ok[["codec", "sequence"]].join(ok[cols].apply(pd.to_numeric, errors="coerce")) \
        .groupby(["codec", "sequence"]).sum(min_count=1)
    rows = []
    coded = set(sums.index.get_level_values(0))
    for codec in sorted(set(ok["codec"]) - {anchor}):
        out: dict[str, object] = {"codec": codec}
        for col in ("encode_s", "decode_s"):
            name = col.replace("_s", "_ratio")
            if col not in cols or codec not in coded or anchor not in coded:  # e.g. every anchor job failed
                out[name] = None
                continue
            ratio = (sums.loc[codec, col] / sums.loc[anchor, col]).dropna()
            ratio = ratio[(ratio > 0) & np.isfinite(ratio)]  # 0: no separate time (e.g. decode inside one script)
            out[name] = float(np.exp(np.log(ratio).mean())) if len(ratio) else None
            if col == "encode_s":
                out["sequences"] = len(ratio)
        rows.append(out)
    return pd.DataFrame(rows)


def pivot_classes(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows = codecs, columns = classes then Overall/Average, cells = value with its status flag."""
    def cell(row: pd.Series) -> str:
        if row["value"] is None or (isinstance(row["value"], float) and math.isnan(row["value"])):
            return f"n/a ({row['status']})"
        flag = {"ok": "", "low_overlap": " (low overlap)", "incomplete": f" ({row.get('sequences_used', '?')}/"
                f"{row.get('sequences', '?')} seq)"}.get(str(row["status"]), f" ({row['status']})")
        differs = row.get("condition_differs") if "condition_differs" in row else None
        if isinstance(differs, str) and differs:
            flag += f" (condition differs: {differs})"
        return f"{row['value']:+.2f}{flag}"

    table = summary.assign(cell=summary.apply(cell, axis=1)).pivot(index="codec", columns="group", values="cell")
    order = [c for c in table.columns if c not in (OVERALL, "Average")] + [c for c in (OVERALL, "Average")
                                                                          if c in table.columns]
    return table[order]


def latex_table(summary: pd.DataFrame, caption: str) -> str:
    """A booktabs table of the class summary (values with 1 decimal; a dagger marks flagged cells)."""
    values = summary.pivot(index="codec", columns="group", values="value")
    status = summary.pivot(index="codec", columns="group", values="status")
    cols = [c for c in values.columns if c not in (OVERALL, "Average")] + [c for c in (OVERALL, "Average")
                                                                          if c in values.columns]
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{_tex(caption)}}}",
             r"\begin{tabular}{l" + "r" * len(cols) + "}", r"\toprule",
             "Codec & " + " & ".join(_tex(str(c)) for c in cols) + r" \\", r"\midrule"]
    for codec in values.index:
        cells = []
        for c in cols:
            v, s = values.loc[codec, c], status.loc[codec, c]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("--")
            else:
                cells.append(f"{v:+.1f}" + ("" if s == "ok" else r"$^\dagger$"))
        lines.append(_tex(str(codec)) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    """TEXT as LaTeX prints it literally: every special character escaped in one pass (so an imported name like
    ``^^5cinput{/etc/passwd}`` cannot become a command), and control characters dropped."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text if ch >= " " or ch == "\t")
