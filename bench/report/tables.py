"""Tidy tables from records: one row per job (summary.csv) and one row per frame (frames.csv)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from bench.metrics import metric_names
from bench.records import display_name
from bench.store import atomic_write_text


def summary_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per job: codec, sequence, rate point, rate, pooled metrics, times, status, origin.

    Works for our records and imported ones alike (missing fields are empty)."""
    rows = []
    for r in records:
        row = {
            "codec": display_name(r), "adapter": r["codec"]["adapter"], "sequence": r["sequence"]["name"],
            "group": r["sequence"]["group"], "rate_knob": r.get("rate_knob"), "rate_point": r["rate_point"],
            "status": r["status"], "frames": r["source"].get("count"), "fps": r["sequence"].get("fps"),
            "origin": r["imported"]["source"] if r.get("imported") else "measured",
            "rate_source": (r.get("rate") or {}).get("bits_source"),
            "dataset_average": (r["sequence"].get("dataset_average") or {}).get("dataset", ""),
        }
        if r["status"] == "ok":
            row.update({"bits": r["rate"].get("bits"), "bpp": r["rate"].get("bpp"), "kbps": r["rate"].get("kbps")})
            pooled = r.get("metrics") or {}
            row.update({m: pooled[m] for m in metric_names() if m in pooled})  # registry order first
            row.update({m: v for m, v in pooled.items() if m not in row})
            timing = r.get("timing") or {}
            row.update({"encode_s": timing.get("encode_s"), "decode_s": timing.get("decode_s"),
                        "pooling": (r.get("measurement") or {}).get("pooling"),
                        "psnr_peak": ((r.get("measurement") or {}).get("psnr_peak") or {}).get("yuv")})
            estimated = (r.get("codec_reported") or {}).get("estimated_bits")
            if estimated is not None and r["rate"].get("bits"):  # a learned model's likelihood estimate, beside
                row["estimated_bpp"] = estimated * r["rate"]["bpp"] / r["rate"]["bits"]  # its real rate
        else:
            row["error"] = r["error"]["message"]
        if r.get("cautions"):
            row["cautions"] = "; ".join(c.replace("**", "") for c in r["cautions"])
        row["key"] = r["key"]
        rows.append(row)
    if not rows:  # no records: the columns every reader expects, no rows
        return pd.DataFrame(columns=["codec", "adapter", "sequence", "group", "rate_knob", "rate_point", "status",
                                     "frames", "fps", "origin", "rate_source", "dataset_average", "bits", "bpp", "kbps",
                                     "key"])
    return pd.DataFrame(rows).sort_values(["group", "sequence", "codec"], kind="stable").reset_index(drop=True)


def frames_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per coded frame of every successful job (the raw material for per-frame plots)."""
    records = list(records)
    measured = {k for r in records for k in (r.get("per_frame") or {})}
    names = ("frame_type", "bits", *(m for m in metric_names() if m in measured), "sse_y", "sse_u", "sse_v", "sse_rgb")
    cols: dict[str, list[Any]] = {k: [] for k in ("codec", "sequence", "rate_point", "frame", *names)}
    for r in records:
        pf = r.get("per_frame") or {}
        n = max((len(v) for v in pf.values() if isinstance(v, list)), default=0)
        if r["status"] != "ok" or n == 0:
            continue
        cols["codec"] += [display_name(r)] * n
        cols["sequence"] += [r["sequence"]["name"]] * n
        cols["rate_point"] += [r["rate_point"]] * n
        cols["frame"] += list(range(n))
        for name in names:
            values = pf.get(name)
            cols[name] += list(values) if isinstance(values, list) and len(values) == n else [None] * n
    return pd.DataFrame(cols)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """DF as CSV; a text cell that a spreadsheet would run as a formula (=, +, -, @, tab or CR first, and not a
    number) gets a leading apostrophe, as OWASP advises."""
    atomic_write_text(path, _defused(df).to_csv(index=False, float_format="%.6f"))


def _defused(df: pd.DataFrame) -> pd.DataFrame:
    def cell(v: Any) -> Any:
        if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
            try:
                float(v)
            except ValueError:
                return "'" + v
        return v

    text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = out[c].map(cell)
    return out
