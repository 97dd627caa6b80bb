"""Tidy tables from records: one row per job (summary.csv) and one row per frame (frames.csv)."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.metrics import metric_names
from bench.store.labels import display_name, failure
from bench.store.record import Record
from bench.store.results import atomic_write_text

# The first words of the line every table of a narrowed run carries (see :func:`narrowing_note`).
QUICK_LOOK = "Quick look, not the condition"


def narrowing_text(record: Record) -> str | None:
    """What ``--frames``/``--sequences`` kept of the condition RECORD was coded under ("narrowed from demo (first
    2 frames, sequence HopperPan)"), read from the record's condition fields (``narrowed: {from, frames,
    sequences}``, bench.conditions.condition.Condition.coding_fields); None for a record of a whole condition and for an
    imported one."""
    condition = record.get("condition")
    cut = (condition.get("fields") or {}).get("narrowed") if condition else None
    if not isinstance(cut, dict):
        return None
    parts = []
    if cut.get("frames") is not None:
        parts.append(f"first {cut['frames']} frame{'s' if cut['frames'] != 1 else ''}")
    if cut.get("sequences") is not None:
        names = list(cut["sequences"])
        parts.append(f"sequence{'s' if len(names) != 1 else ''} {', '.join(names)}")
    return f"narrowed from {cut.get('from')} ({', '.join(parts)})"


def narrowing_note(points: pd.DataFrame) -> str | None:
    """The one line that every BD, summary and complexity table made from POINTS (:func:`summary_frame`) carries
    when some of them were coded under a narrowed condition: "Quick look, not the condition: narrowed from demo
    (first 2 frames, sequence HopperPan)"; where only some curves were narrowed, naming them. None otherwise."""
    if points.empty or "narrowed" not in points:
        return None
    cut = points[points["narrowed"].map(lambda v: isinstance(v, str) and v != "")]
    if cut.empty:
        return None
    whole = len(cut) == len(points)  # every point narrowed: the table is the quick look
    parts = [text if whole else f"{text} for {', '.join(sorted(set(part['codec'].astype(str))))}"
             for text, part in cut.groupby("narrowed", sort=True)]
    return f"{QUICK_LOOK}: {'; '.join(parts)}"


def summary_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per job: codec, sequence, rate point, rate, pooled metrics, times, status, origin.

    Works for our records and imported ones alike (missing fields are empty)."""
    rows = []
    for r in records:
        row = {
            "codec": display_name(r), "adapter": r["codec"]["adapter"], "sequence": r["sequence"]["name"],
            "group": r["sequence"]["group"], "rate_knob": r.get("rate_knob"), "rate_point": r["rate_point"],
            "status": r["status"], "frames": r["source"].get("count"), "fps": r["sequence"].get("fps"),
            "origin": r["imported"]["source"] if r.get("imported") else "measured",
            # What BD tells one curve from points of several merged by (bench.bd.tables.point_origins).
            "curve_origin": r["imported"].get("origin") if r.get("imported") else None,
            "rate_source": (r.get("rate") or {}).get("bits_source"),
            "dataset_average": (r["sequence"].get("dataset_average") or {}).get("dataset", ""),
        }
        if (cut := narrowing_text(r)) is not None:  # a quick look (--frames/--sequences): a column says so
            row["narrowed"] = cut
        if r["status"] == "ok":
            row.update({"bits": r["rate"].get("bits"), "bpp": r["rate"].get("bpp"), "kbps": r["rate"].get("kbps")})
            pooled = r.get("metrics") or {}
            row.update({m: pooled[m] for m in metric_names() if m in pooled})  # registry order first
            row.update({m: v for m, v in pooled.items() if m not in row})
            if r.get("non_finite"):  # those metrics' cells are empty (NaN): this column says why
                row["non_finite"] = ", ".join(e["metric"] for e in r["non_finite"])
            if r.get("not_measured"):  # empty too: no usable measurement (the cautions column says why)
                row["not_measured"] = ", ".join(m for e in r["not_measured"] for m in e["metrics"])
            timing = r.get("timing") or {}
            row.update(_resources(timing, r.get("complexity") or {}))
            row.update({"encode_s": timing.get("encode_s"), "decode_s": timing.get("decode_s"),
                        "pooling": (r.get("measurement") or {}).get("pooling"),
                        "psnr_peak": ((r.get("measurement") or {}).get("psnr_peak") or {}).get("yuv")})
            estimated = (r.get("codec_reported") or {}).get("estimated_bits")
            if estimated is not None and r["rate"].get("bits"):  # a learned model's likelihood estimate, beside
                row["estimated_bpp"] = estimated * r["rate"]["bpp"] / r["rate"]["bits"]  # its real rate
        else:
            row["error"] = failure(r)["message"]
        if r.get("cautions"):
            row["cautions"] = "; ".join(c.replace("**", "") for c in r["cautions"])
        row["key"] = r["key"]
        rows.append(row)
    if not rows:  # no records: the columns every reader expects, no rows
        return pd.DataFrame(columns=["codec", "adapter", "sequence", "group", "rate_knob", "rate_point", "status",
                                     "frames", "fps", "origin", "rate_source", "dataset_average", "bits", "bpp", "kbps",
                                     "key"])
    return pd.DataFrame(rows).sort_values(["group", "sequence", "codec"], kind="stable").reset_index(drop=True)


def _resources(timing: dict[str, Any], complexity: dict[str, Any]) -> dict[str, Any]:
    """A job's speed, memory and model-complexity columns (empty where not known)."""
    gpu = timing.get("peak_gpu_memory_bytes")
    gpu_peak = max((v for v in gpu.values() if v), default=None) if isinstance(gpu, dict) else gpu
    machine = timing.get("machine") or {}
    return {
        "timing_mode": timing.get("mode"), "encode_timed": timing.get("encode_timed"),
        "encode_fps_median": timing.get("encode_fps_median"), "encode_fps_p95": timing.get("encode_fps_p95"),
        "decode_fps_median": timing.get("decode_fps_median"), "decode_fps_p95": timing.get("decode_fps_p95"),
        "threads": timing.get("threads"), "device": timing.get("device") or "cpu",
        "cpu": machine.get("cpu"),
        "peak_rss_mib": timing["peak_rss_bytes"] / 2**20 if timing.get("peak_rss_bytes") else None,
        "peak_gpu_mib": gpu_peak / 2**20 if gpu_peak else None,
        "params": complexity.get("params"),
        "encode_kmac_per_pixel": complexity.get("encode_kmac_per_pixel"),
        "decode_kmac_per_pixel": complexity.get("decode_kmac_per_pixel"),
    }


def _numbers(part: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(part[name], errors="coerce") if name in part else pd.Series(dtype=float)


def _distinct(part: pd.DataFrame, name: str) -> str | None:
    """The distinct values of a column, as text; a whole number as one: a column with gaps is float to pandas,
    and a thread count of 1 would read "1.0"."""
    values = part[name].dropna().unique() if name in part else []
    return ", ".join(_whole(v) for v in values) if len(values) else None


def _whole(v: Any) -> str:
    return str(int(v)) if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer() else str(v)


def complexity_frame(points: pd.DataFrame) -> pd.DataFrame:
    """One row per codec: parameters, kMAC/pixel (encode, decode), encode and decode fps (median over its jobs of
    each job's median fps), peak memory (largest over its jobs), threads, device, and how it was timed."""
    ok = points[points["status"] == "ok"] if "status" in points else points
    if "origin" in ok:  # an imported or published curve was not run here: it has no size, speed or memory
        ok = ok[ok["origin"] == "measured"]
    rows = []
    for codec, part in ok.groupby("codec", sort=True):
        col = functools.partial(_numbers, part)
        first = functools.partial(_distinct, part)
        decode_fps = col("decode_fps_median").median()  # NaN when no job has one
        rows.append({
            "codec": codec, "params": col("params").max(),
            "encode_kmac_per_pixel": col("encode_kmac_per_pixel").median(),
            "decode_kmac_per_pixel": col("decode_kmac_per_pixel").median(),
            "encode_fps": col("encode_fps_median").median(), "decode_fps": decode_fps,
            "decode_ms_per_frame": None if pd.isna(decode_fps) else 1000 / decode_fps,
            "peak_rss_mib": col("peak_rss_mib").max(), "peak_gpu_mib": col("peak_gpu_mib").max(),
            "threads": first("threads"), "device": first("device"), "timed": first("encode_timed"),
            "timing_mode": first("timing_mode"),
        })
    return pd.DataFrame(rows)


def missing(v: Any) -> bool:
    """Whether a table cell V holds nothing to show: None, NaN (float or numpy), pandas' NA or NaT, or empty
    text. The one test every reader-facing table of the report uses before formatting a value."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, str):
        return v == ""
    return isinstance(v, (float, np.floating)) and math.isnan(v)


# Why a complexity cell can be empty, said under the LaTeX table for each column that has one (in this order).
COMPLEXITY_UNKNOWN = {
    "params": "Params: counted only from the torch modules of codecs the suite runs in Python (CompressAI, "
              "python-model, DHVC/DHIC), so none for other codecs or for a model holding no torch.nn.Module.",
    "kmac": "kMAC/pixel: counted only for codecs the suite runs as torch models in Python (CompressAI, python-model, "
            "DHVC/DHIC), not for programs it starts (traditional encoders, command codecs) nor for DCVC.",
    "fps": "Frames/s: no coding time recorded.",
    "memory": "Peak memory: not measured (no program of the codec's was watched and no GPU used).",
    "threads": "Threads: the adapter sets no thread count (the codec's program or model chooses).",
    "device": "Device: not recorded.",
}


def _known(v: Any) -> bool:
    """A number to print: not missing and finite (an infinite or NaN value is no measurement)."""
    return not missing(v) and not (isinstance(v, (float, np.floating)) and not math.isfinite(v))


def complexity_latex(table: pd.DataFrame, caption: str, label: str = "tab:complexity",
                     labels: dict[str, str] | None = None) -> str:
    """The complexity table as booktabs LaTeX (LABELS: codec -> the name to print), as written, before any
    layout: like every LaTeX writer of the suite it leaves the environment, column gap and font size to
    :func:`bench.report.latex.fit_table`, which its caller applies. What is not known is a dash, never "nan",
    and a note under the table says why for each column that has one; a thread count is a whole number."""
    from bench.bd.tables import tex_text

    unknown: list[str] = []

    def dash(why: str) -> str:
        unknown.append(why)
        return "--"

    def num(v: Any, fmt: str, why: str) -> str:
        return format(v, fmt) if _known(v) else dash(why)

    def text(v: Any, why: str) -> str:
        return tex_text(_whole(v)) if _known(v) else dash(why)

    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{tex_text(caption)}}}", f"\\label{{{tex_text(label)}}}",
             r"\begin{tabular}{lrrrrrrll}", r"\toprule",
             r"Codec & Params (M) & \multicolumn{2}{c}{kMAC/pixel} & \multicolumn{2}{c}{Frames/s} & Peak memory (MiB) & "
             r"Threads & Device \\", r"\cmidrule(lr){3-4}\cmidrule(lr){5-6}",
             r" & & enc. & dec. & enc. & dec. & & & \\", r"\midrule"]
    for r in table.itertuples(index=False):
        params = None if missing(r.params) else r.params / 1e6
        memory = max((v for v in (r.peak_gpu_mib, r.peak_rss_mib) if not missing(v)), default=None)
        lines.append(" & ".join([tex_text((labels or {}).get(str(r.codec), str(r.codec))), num(params, ".2f", "params"),
                                 num(r.encode_kmac_per_pixel, ".1f", "kmac"), num(r.decode_kmac_per_pixel, ".1f", "kmac"),
                                 num(r.encode_fps, ".1f", "fps"), num(r.decode_fps, ".1f", "fps"),
                                 num(memory, ".0f", "memory"), text(r.threads, "threads"),
                                 text(r.device, "device")]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if unknown:  # each column's reason once, in the table's column order
        lines.append(r"\\[2pt]{\footnotesize --: not known. " + tex_text(
            " ".join(why for key, why in COMPLEXITY_UNKNOWN.items() if key in unknown)) + "}")
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


def frames_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per coded frame of every successful job (the raw material for per-frame plots)."""
    records = list(records)
    measured = {k for r in records for k in (r.get("per_frame") or {})}
    names = ("frame_type", "bits", *(m for m in metric_names() if m in measured), "sse_y", "sse_u", "sse_v", "sse_rgb")
    cols: dict[str, list[Any]] = {k: [] for k in ("codec", "sequence", "rate_point", "frame", *names)}
    cut: list[tuple[str | None, int]] = []  # each job's narrowing and its number of rows
    for r in records:
        pf = r.get("per_frame") or {}
        # Per-frame lists only: "samples" holds the measure's constants (samples of Y, U, V, RGB), and a job of
        # fewer than 4 frames would otherwise get 4 rows of nothing.
        n = max((len(v) for k, v in pf.items() if isinstance(v, list) and k != "samples"), default=0)
        if r["status"] != "ok" or n == 0:
            continue
        cols["codec"] += [display_name(r)] * n
        cols["sequence"] += [r["sequence"]["name"]] * n
        cols["rate_point"] += [r["rate_point"]] * n
        cols["frame"] += list(range(n))
        for name in names:
            values = pf.get(name)
            cols[name] += list(values) if isinstance(values, list) and len(values) == n else [None] * n
        cut.append((narrowing_text(r), n))
    if any(text for text, _ in cut):  # a quick look (--frames/--sequences): a column says so, as in summary.csv
        cols["narrowed"] = [text for text, n in cut for _ in range(n)]
    return pd.DataFrame(cols)


def write_csv(df: pd.DataFrame, path: Path, note: str | None = None) -> None:
    """DF as CSV; a text cell that a spreadsheet would run as a formula (=, +, -, @, tab or CR first, and not a
    number) gets a leading apostrophe, as OWASP advises. NOTE (:func:`narrowing_note`): a first column
    ``narrowed`` holding it on every row, so that the file still reads with ``pandas.read_csv`` as it is (a
    ``#`` comment line would become its header) and no row can be copied without it."""
    if note is not None:
        df = df.drop(columns="narrowed", errors="ignore")
        df.insert(0, "narrowed", note)
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
