"""The HTML report: one self-contained page per run (or per comparison of runs) plus its paper exports.

``index.html`` needs nothing but a browser: charts are inline SVG (hover a point for its codec, rate point,
bpp, kbps and quality), styles and the few lines of script that switch the rate axis are inline, nothing is
fetched. Rendering is jinja2 with autoescaping on and undefined variables an error; every string taken from
records (sequence names, command lines, stderr) is escaped. Next to it: ``figures/`` (matplotlib PDF, SVG
and PNG at publication size), ``tables/`` (BD CSV and booktabs LaTeX), ``data/`` (tidy CSV).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from html import escape as html_escape
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from bench import __version__, ranking
from bench.bdrate import METHODS
from bench.bdtable import (
    DCVC,
    JVET,
    OVERALL,
    BDOptions,
    class_average_points,
    pivot_classes,
    spread_table,
    time_ratios,
    with_db_columns,
)
from bench.errors import BenchError
from bench.metrics import definitions, headline_columns, metric_label, metric_names
from bench.outputs import no_bd_table, write_bd_tables
from bench.records import cautions, display_name, failures_by_codec
from bench.report.plots import finish_export, start_export
from bench.report.styles import codec_styles
from bench.report.svg import Series, Strip, legend, line_chart, strip_chart
from bench.report.tables import complexity_frame, complexity_latex, frames_frame, summary_frame, write_csv
from bench.sources import Source, condition_differences, condition_flags, mismatch_message, mismatched_sources
from bench.store import atomic_write_text
from bench.timing import EXCLUSIVE_LABEL, SHARED_LABEL


@dataclass
class Figure:
    key: str
    svg: str


def _usable_metrics(points: pd.DataFrame) -> list[str]:
    return [m for m in headline_columns() if m in points.columns and pd.to_numeric(points[m], errors="coerce").notna().any()]


def _tip(codec: str, rate_point: Any, bpp: float, kbps: float | None, metric: str, value: float, where: str) -> str:
    kb = f", {kbps:.1f} kbps" if kbps is not None and not math.isnan(kbps) else ""
    return f"{codec} @ {rate_point} ({where}): {bpp:.5f} bpp{kb}, {metric_label(metric)} {value:.3f}"


def _rd_figure(key: str, title: str, rows: pd.DataFrame, metric: str, styles: dict, where: str) -> Figure:
    """One chart drawn against bpp; the page's script redraws its x axis as kbps and/or log on request."""
    series = []
    for codec, part in rows.groupby("codec", sort=True):
        bpp = pd.to_numeric(part["bpp"], errors="coerce").to_numpy(dtype=float)
        kbps = pd.to_numeric(part["kbps"], errors="coerce").to_numpy(dtype=float) if "kbps" in part else bpp * math.nan
        q = pd.to_numeric(part[metric], errors="coerce").to_numpy(dtype=float)
        order = [i for i in bpp.argsort() if not (math.isnan(bpp[i]) or math.isnan(q[i]))]
        style = styles[codec]
        points = [(float(bpp[i]), float(q[i]), _tip(str(codec), part["rate_point"].iloc[i], float(bpp[i]),
                                                   None if math.isnan(kbps[i]) else float(kbps[i]), metric,
                                                   float(q[i]), where)) for i in order]
        alt = [None if math.isnan(kbps[i]) else float(kbps[i]) for i in order]
        series.append(Series(str(codec), style.colour, style.svg_marker, points, alt_x=alt, dashed=style.dashed))
    svg = line_chart(series, "bpp (bitstream bits / pixels)", metric_label(metric), title=title,
                     switchable=True)
    return Figure(key, svg)


def _per_frame_figures(records: list[dict[str, Any]], styles: dict, anchor: str | None) -> list[dict[str, Any]]:
    """Per sequence: quality and bits against frame index, each codec at its rate point closest in bpp to a
    reference rate (the anchor's middle rate point, else the median of the codecs' middle ones), so that the
    curves compare at about equal rate; intra frames ringed; bits on a log axis (P frames stay visible)."""
    by_seq: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        if r["status"] == "ok" and r.get("per_frame"):
            by_seq.setdefault(r["sequence"]["name"], {}).setdefault(display_name(r), []).append(r)
    out = []
    for seq in sorted(by_seq):
        codecs = {c: sorted(rs, key=lambda r: r["rate"]["bpp"] or 0.0) for c, rs in by_seq[seq].items()}
        middles = {c: rs[len(rs) // 2]["rate"]["bpp"] or 0.0 for c, rs in codecs.items()}
        target = middles[anchor] if anchor in middles else float(pd.Series(list(middles.values())).median())
        metric = next((m for m in ("psnr_y", "psnr_rgb", "psnr_yuv_611")
                       if any(r["per_frame"].get(m) for rs in codecs.values() for r in rs)), None)
        if metric is None:
            continue
        q_series, b_series, chosen = [], [], []
        for codec in sorted(codecs):
            r = min(codecs[codec], key=lambda r: abs(math.log((r["rate"]["bpp"] or 1e-9) / max(target, 1e-9))))
            pf = r["per_frame"]
            if not pf.get(metric):
                continue
            intra = {i for i, t in enumerate(pf.get("frame_type") or []) if t == "I"}
            style = styles[codec]
            chosen.append(f"{codec} @ {r['rate_point']} ({r['rate']['bpp']:.4f} bpp)")
            # Dense charts: only intra frames get a marker (and a hover text); the line carries the codec name.
            q_series.append(Series(codec, style.colour, style.svg_marker,
                                   [(i, float(v), f"{codec} @ {r['rate_point']} intra frame {i}: "
                                     f"{metric_label(metric)} {v:.3f}" if i in intra else "")
                                    for i, v in enumerate(pf[metric])], intra, markers=False, dashed=style.dashed))
            if pf.get("bits"):
                b_series.append(Series(codec, style.colour, style.svg_marker,
                                       [(i, float(b), f"{codec} @ {r['rate_point']} intra frame {i}: {b:.0f} bits"
                                         if i in intra else "") for i, b in enumerate(pf["bits"])], intra,
                                       markers=False, dashed=style.dashed))
        if q_series:
            out.append({"sequence": seq, "chosen": f"at about {target:.4f} bpp: " + ", ".join(chosen),
                        "quality": line_chart(q_series, "frame", f"{metric_label(metric)} per frame",
                                              title=f"{seq}: {metric_label(metric)} per frame", width=560),
                        "bits": line_chart(b_series, "frame", "bits per frame (log)", title=f"{seq}: bits per frame",
                                           width=560, log_y=True) if b_series else ""})
    return out


def _stream_table(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per codec: how its streams were coded, as read back and checked, and the tools' warnings."""
    rows: dict[str, dict[str, Any]] = {}
    for r in records:
        if r.get("status") != "ok" or r.get("imported"):
            continue
        codec = display_name(r)
        row = rows.setdefault(codec, {"jobs": 0, "checked": 0, "coded_as": set(), "from": set(), "overrides": set(),
                                      "warnings": {}})
        row["jobs"] += 1
        stream = (r.get("coding") or {}).get("stream")
        if stream:
            row["checked"] += 1
            row["from"].add(stream.get("settings_from", ""))
            row["overrides"].update(stream.get("overrides") or [])
        if r["codec"].get("coded_as"):
            row["coded_as"].add(re.sub(r" \(checked: [^)]*\)$", "", r["codec"]["coded_as"]))
        for w in r.get("warnings") or []:
            row["warnings"][w] = row["warnings"].get(w, 0) + 1
    out = []
    for codec, row in rows.items():
        warnings = "; ".join(f"{w} ({n} jobs)" for w, n in list(row["warnings"].items())[:4])
        more = len(row["warnings"]) - 4
        out.append([codec, " | ".join(sorted(row["coded_as"])) or "(no stream facts: not an ffmpeg encoder)",
                    f"{row['checked']} of {row['jobs']}", ", ".join(sorted(row["from"])),
                    ", ".join(sorted(row["overrides"])) or "none",
                    (warnings + (f"; {more} more" if more > 0 else "")) or "none"])
    return out


def _reported_table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Codec-reported minus measured, one column per number any codec reports, with the PSNR difference that
    output rounding explains.

    A codec that measures before rounding to the output bit depth (VTM/HM at internal 10 bit with 8-bit output;
    the DCVC scripts on float reconstructions) sees less error by the rounding noise, an MSE of about 1/12 per
    sample: 10 log10(1 + 1/(12 MSE)). Per-frame averaging and correlated rounding move it a little, so a PSNR
    difference is flagged when theirs is below ours by more than 0.01 dB or above by more than 1.5 times that
    estimate plus 0.01 dB, each plane against its own bound (VTM 23.13 LDB on the demo: 0.092 dB at QP 22 against
    an estimate of 0.082); a rate when it differs by more than 0.1 %. The bound shown is PSNR-Y's (PSNR-RGB's
    for codecs that report only RGB)."""
    rows = [r for r in records if r["status"] == "ok" and (r.get("codec_reported") or {}).get("difference_to_ours")]
    keys = [k for k in (*metric_names(), "kbps", "bpp") if any(k in r["codec_reported"]["difference_to_ours"] for r in rows)]
    table = []
    for r in rows:
        diff = r["codec_reported"]["difference_to_ours"]
        pf = r["per_frame"]

        n = pf["samples"]
        bounds = {"psnr_y": _rounding_bound(pf.get("sse_y"), n[0]), "psnr_u": _rounding_bound(pf.get("sse_u"), n[1]),
                  "psnr_v": _rounding_bound(pf.get("sse_v"), n[2]),
                  "psnr_rgb": _rounding_bound(pf.get("sse_rgb"), n[3])}
        for combined in ("psnr_yuv_611", "psnr_yuv_vtm"):  # a weighted mean of the planes: at most their largest
            bounds[combined] = max(bounds["psnr_y"], bounds["psnr_u"], bounds["psnr_v"])
        rgb = "psnr_rgb" in diff and "psnr_y" not in diff
        rounding = bounds["psnr_rgb" if rgb else "psnr_y"]
        beyond = any(d < -0.01 or d > 1.5 * bounds[k] + 0.01 for k, d in diff.items() if k in bounds)
        for k, ours in (("kbps", r["rate"].get("kbps")), ("bpp", r["rate"].get("bpp"))):
            beyond |= k in diff and bool(ours) and abs(diff[k]) / ours > 0.001
        cells = [display_name(r), r["sequence"]["name"], str(r["rate_point"])]
        cells += [(f"{diff[k]:+.6f}" if k == "bpp" else f"{diff[k]:+.4f}") if k in diff else "" for k in keys]
        table.append([*cells, f"{rounding:.4f}", "yes" if beyond else "no"])
    return [f"&Delta; {html_escape(metric_label(k))}" for k in keys], table


def _rounding_bound(sse: list[int] | None, samples: int) -> float:
    """PSNR gain of measuring before rounding to integers: 10 log10(1 + 1/(12 MSE)) at the mean MSE."""
    mse = sum(sse) / len(sse) / samples if sse else 0.0
    return 10 * math.log10(1 + 1 / (12 * mse)) if mse > 0 else 0.0




def _pivot_rows(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    if summary.empty:
        return [], []
    pivot = pivot_classes(summary)
    return ["codec", *pivot.columns], [[idx, *row] for idx, row in zip(pivot.index, pivot.values.tolist(), strict=True)]


def _bd_section(metric: str, opts: BDOptions, per_seq: pd.DataFrame, classes: pd.DataFrame, averaged: pd.DataFrame,
                styles: dict) -> dict[str, Any]:
    """One metric's BD summary: both conventions, the spread of each mean, a strip plot of the sequences."""
    jvet_columns, jvet_rows = _pivot_rows(classes)
    dcvc_columns, dcvc_rows = _pivot_rows(averaged)
    spread = spread_table(classes) if not classes.empty else pd.DataFrame()
    strips = []
    usable = per_seq[per_seq["status"].isin(["ok", "low_overlap"])] if not per_seq.empty else per_seq
    overall = classes[classes["group"] == OVERALL].set_index("codec") if not classes.empty else classes
    for codec, part in usable.groupby("codec", sort=True):
        row = overall.loc[codec] if codec in overall.index else None
        ci = (row["ci_low"], row["ci_high"]) if row is not None and pd.notna(row["ci_low"]) else None
        strips.append(Strip(str(codec), styles[codec].colour if codec in styles else "#555",
                            [(float(v), f"{codec} / {seq} ({grp}): {v:+.2f}") for v, seq, grp in
                             zip(part["value"], part["sequence"], part["group"], strict=True)],
                            float(row["value"]) if row is not None and pd.notna(row["value"]) else None, ci))
    unit = "BD-rate [%]" if opts.kind == "rate" else f"BD-{metric_label(metric)}"
    return {
        "metric": metric, "label": ranking.metric_name(metric), "method": opts.describe(),
        "jvet": JVET, "jvet_columns": jvet_columns, "jvet_rows": jvet_rows,
        "dcvc": DCVC, "dcvc_columns": dcvc_columns, "dcvc_rows": dcvc_rows,
        "spread_columns": list(spread.columns), "spread": spread.values.tolist() if not spread.empty else [],
        "strip": strip_chart(strips, f"{unit} of each sequence against the anchor (dots), mean (bar), 95 % CI "
                             "(line)", title=f"{JVET}: {metric_label(metric)}") if strips else "",
        "per_sequence": _fmt_table(per_seq[["codec", "group", "sequence", "value", "status", "overlap_quality",
                                            "overlap_rate", "points_anchor", "points_test", "message"]]),
    }


def _failure_groups(failures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures grouped by cause (the message with numbers and paths blanked), largest group first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in failures:
        cause = re.sub(r"/\S+|\d+", "…", f["message"].splitlines()[0] if f["message"] else "")
        groups.setdefault(cause, []).append(f)
    return [{"cause": c, "count": len(fs), "items": fs} for c, fs in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


def _summary(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], anchor: str, records: list[dict[str, Any]],
             kind: str, out: Path) -> dict[str, Any]:
    """The ranked summary: rows for the page (coloured cells), and its Markdown and LaTeX files."""
    rows = ranking.ranked(tables, anchor, kind, failures_by_codec(records))
    metrics = list(tables)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.md", ranking.as_markdown(rows, metrics, anchor))
    caption = f"BD-rate against {anchor}: per-sequence mean (JVET) and averaged curve (DCVC)"
    atomic_write_text(out / "summary.tex", ranking.as_latex(rows, metrics, anchor, caption))
    page = []
    for i, r in enumerate(rows, start=1):
        cells = []
        for m in metrics:
            c = r.cells.get(m)
            jvet = "--" if c is None or c.value is None else f"{c.value:+.2f}" + ("" if c.status == "ok" else " †")
            ci = f"[{c.ci[0]:+.1f}, {c.ci[1]:+.1f}]" if c is not None and c.ci else ""
            cells.append({"text": jvet, "ci": ci, "colour": ranking.colour(c.value if c else None, kind),
                          "title": f"status {c.status}, sequences {c.sequences}" if c else "no value"})
            cells.append({"text": "--" if c is None or c.averaged is None else f"{c.averaged:+.2f}", "ci": "",
                          "colour": ranking.colour(c.averaged if c else None, kind), "title": "averaged curve (DCVC)"})
        page.append({"rank": i, "codec": r.codec, "cells": cells, "verdict": r.verdict, "failed": r.failed})
    return {"metrics": [ranking.metric_name(m) for m in metrics], "rows": page,
            "files": ["tables/summary.md", "tables/summary.tex"]}


def _complexity_section(points: pd.DataFrame, headline: tuple[str, pd.DataFrame] | None, styles: dict,
                        tables: Path) -> dict[str, Any]:
    """The complexity table (and its LaTeX), how the times were taken, and BD-rate against decoding time and
    against kMAC/pixel, one point per codec. HEADLINE: the first BD metric and its class summary, whose
    per-sequence mean over all sequences is the BD-rate drawn."""
    table = complexity_frame(points) if not points.empty else pd.DataFrame()
    if table.empty:
        return {"columns": [], "rows": [], "label": "", "charts": [], "latex": ""}
    modes = {m for m in table["timing_mode"].dropna()} if "timing_mode" in table else set()
    label = EXCLUSIVE_LABEL if modes == {"exclusive"} else SHARED_LABEL
    caption = (f"Model size, arithmetic and speed. fps: median over jobs of each job's median; times {label}. "
               "kMAC/pixel counted by torch.utils.flop_counter on one frame (convolutions and matrix products).")
    tables.mkdir(parents=True, exist_ok=True)
    atomic_write_text(tables / "complexity.tex", complexity_latex(table, caption))
    charts = []
    if headline is not None:
        metric, classes = headline
        overall = classes[classes["group"] == OVERALL].set_index("codec")["value"]
        for x_col, x_label, what in (("decode_ms_per_frame", "decoding time [ms/frame], log", "decoding time"),
                                     ("decode_kmac_per_pixel", "decoding kMAC/pixel, log", "decoding kMAC/pixel")):
            series = []
            for r in table.itertuples(index=False):
                x, bd = getattr(r, x_col), overall.get(r.codec)
                if x is None or pd.isna(x) or x <= 0 or bd is None or pd.isna(bd):
                    continue
                st = styles.get(r.codec)
                series.append(Series(str(r.codec), st.colour if st else "#555", st.svg_marker if st else "circle",
                                     [(float(x), float(bd), f"{r.codec}: {x:.3g}, {bd:+.2f} %")], line=False))
            if series:
                charts.append(line_chart(series, x_label, f"BD-rate [%] ({ranking.metric_name(metric)}, "
                                         "per-sequence mean)", log_x=True, title=f"BD-rate against {what}"))
    shown = table.assign(params=table["params"].map(lambda v: "" if pd.isna(v) else f"{v / 1e6:.2f} M"))
    return {"columns": list(shown.columns), "rows": _fmt_table(shown), "label": label, "charts": charts,
            "latex": "tables/complexity.tex"}


def _fmt_table(df: pd.DataFrame) -> list[list[str]]:
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"
        return str(v)

    return [[cell(v) for v in row] for row in df.itertuples(index=False)]


def build_report(sources: list[Source], out_dir: Path, title: str, anchor: str | None,
                 method: str = "pchip", allow_condition_mismatch: bool = False,
                 bd: BDOptions | None = None, figures: bool = True,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write ``out_dir/index.html`` and its exports; return the HTML path. BD tables use BD's settings (overlap,
    points, kind, repair) when given, for its metric only when it names one, else for every headline metric.
    The page is written before the paper figures (``figures=False``: none) are waited for, then once more
    listing them; ``progress`` hears what is being waited for."""
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}")
    records = [r for s in sources for r in s.records]
    points = with_db_columns(summary_frame(records))
    ok_points = points[points["status"] == "ok"] if not points.empty else points
    styles = codec_styles(list(points["codec"]), anchor) if not points.empty else {}
    metrics = _usable_metrics(ok_points) if not ok_points.empty else []
    out_dir.mkdir(parents=True, exist_ok=True)
    # The paper figures (matplotlib) are drawn in a second process while this one builds the page.
    exports = start_export(ok_points, metrics, out_dir / "figures", anchor) if metrics and figures else None

    # --- BD tables per metric ---------------------------------------------------------------------------------
    bd_sections, tables_written = [], []
    no_bd = no_bd_table(points, anchor) if anchor is not None else None
    differs = condition_flags(sources, anchor)
    if no_bd is None and mismatched_sources(sources, anchor) and not allow_condition_mismatch:
        no_bd = mismatch_message(sources, anchor)
    if no_bd is not None:
        anchor = None  # the page says why below, and shows the curves it has
    bd_metrics = metrics
    if bd is not None and bd.metric:
        if bd.metric not in points.columns:
            raise BenchError(f"--metric {bd.metric}: no result has it; these do: {', '.join(metrics) or 'none'}")
        bd_metrics = [bd.metric]
    summary_tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if anchor is not None:
        for metric in bd_metrics:
            opts = replace(bd, metric=metric, method=method) if bd is not None else BDOptions(metric=metric,
                                                                                              method=method)
            computed: dict[str, pd.DataFrame] = {}
            _, paths = write_bd_tables(ok_points, anchor, opts, out_dir / "tables", "report", computed, differs)
            per_seq, classes, averaged = computed["per_sequence"], computed["classes"], computed["average_curve"]
            tables_written += [str(p.relative_to(out_dir)) for p in paths.values()]
            bd_sections.append(_bd_section(metric, opts, per_seq, classes, averaged, styles))
            summary_tables[metric] = (classes, averaged)
    summary = _summary(summary_tables, anchor, records, bd.kind if bd is not None else "rate", out_dir / "tables") \
        if summary_tables and anchor is not None else None
    if summary is not None:
        tables_written += summary["files"]

    # --- RD figures ---------------------------------------------------------------------------------------------
    class_figures, sequence_figures = [], []
    by_sequence = list(ok_points.groupby("sequence", sort=True)) if not ok_points.empty else []
    for metric in metrics:
        averaged = class_average_points(ok_points, metric)
        for group, rows in averaged.groupby("group", sort=True):
            class_figures.append(_rd_figure(f"class-{metric}-{group}", f"class {group} (frame-weighted mean)",
                                            rows.assign(kbps=float("nan")), metric, styles, f"class {group}"))
        for seq, rows in by_sequence:
            sequence_figures.append(_rd_figure(f"seq-{metric}-{seq}", str(seq), rows, metric, styles, str(seq)))

    # --- tables about the runs ---------------------------------------------------------------------------------------
    headline = next(((m, classes) for m, (classes, _) in summary_tables.items()), None)
    complexity = _complexity_section(ok_points, headline, styles, out_dir / "tables")
    if complexity["latex"]:
        tables_written.append(complexity["latex"])
    times = time_ratios(ok_points, anchor) if anchor is not None and not ok_points.empty else pd.DataFrame()
    per_frame_ms = []
    for codec, part in ok_points.groupby("codec", sort=True):
        frames = pd.to_numeric(part["frames"], errors="coerce").sum()
        enc = pd.to_numeric(part.get("encode_s"), errors="coerce").sum() if "encode_s" in part else float("nan")
        dec = pd.to_numeric(part.get("decode_s"), errors="coerce").sum() if "decode_s" in part else float("nan")
        per_frame_ms.append([codec, f"{1000 * enc / frames:.2f}" if frames and enc else "",
                             f"{1000 * dec / frames:.2f}" if frames and dec else ""])
    checks, failures, identities, commands = [], [], {}, {}
    for r in records:
        codec, seq = display_name(r), r["sequence"]["name"]
        if r["status"] != "ok":
            failures.append({"what": f"{codec} / {seq} / {r['rate_point']}", "message": r["error"]["message"],
                             "stderr": r["error"].get("stderr_tail", "")})
            continue
        if not r.get("imported"):
            frame_bits = r["per_frame"].get("bits")
            stream = r["rate"]["bitstream_sha256"]
            checks.append([codec, seq, str(r["rate_point"]), str(r["source"]["count"]),
                           str(len(r["per_frame"]["psnr_y"])),
                           str(sum(r["rate"]["bitstream_bytes"])) if stream else "none (estimated bits)",
                           str(round(sum(frame_bits) / 8)) if frame_bits else "",
                           stream[0][:16] + (f" (+{len(stream) - 1} files)" if len(stream) > 1 else "") if stream else ""])
        identities.setdefault(codec, json.dumps(r["codec"].get("identity") or r.get("imported"), indent=1, sort_keys=True,
                                                default=str))
        if r.get("commands") and codec not in commands:
            commands[codec] = [" ".join(c) for c in r["commands"]]
    env = next((r["provenance"] for r in records if r.get("provenance")), {})
    reported_columns, reported_rows = _reported_table(records)
    stream_rows = _stream_table(records)

    # --- exports of the data ---------------------------------------------------------------------------------------
    write_csv(points, out_dir / "data" / "per_sequence.csv")
    write_csv(frames_frame(records), out_dir / "data" / "per_frame.csv")

    differences = condition_differences(sources)
    page_bd = BDOptions(method=method) if bd is None else replace(bd, method=method,
                                                                  metric=bd_metrics[0] if bd_metrics else bd.metric)
    template = _environment().get_template("report.html.j2")
    page = dict(
        title=title, generated=datetime.now(timezone.utc).isoformat(timespec="seconds"), version=__version__,
        sources=sources, anchor=anchor, differences=differences, metrics=metrics, metric_labels={m: metric_label(m) for m in metrics},
        bd_sections=bd_sections, class_figures=class_figures, sequence_figures=sequence_figures,
        legend=legend([(c, s.colour, s.svg_marker, s.dashed) for c, s in styles.items()]),
        per_frame=_per_frame_figures(records, styles, anchor), times=_fmt_table(times) if not times.empty else [],
        time_columns=list(times.columns), per_frame_ms=per_frame_ms, complexity=complexity, checks=checks,
        failures=failures, failure_groups=_failure_groups(failures), summary=summary,
        stream_rows=stream_rows, no_bd=no_bd,
        identities=identities, commands=commands, environment=json.dumps(env, indent=1, sort_keys=True, default=str),
        definitions=definitions(), bd_method=page_bd.describe(), jvet_label=JVET, dcvc_label=DCVC,
        exported=[], figures_pending=exports is not None, tables_written=tables_written, reported_rows=reported_rows,
        reported_columns=reported_columns,
        n_records=len(records), n_failed=len(failures), cautions=cautions(records),
    )
    path = out_dir / "index.html"
    atomic_write_text(path, template.render(**page))  # usable now; the figures follow
    if exports is None:
        return path
    if progress is not None:
        progress(f"report written: {path}; drawing the paper figures into {out_dir / 'figures'} ...")
    try:
        exported = finish_export(exports)
    except BenchError:  # the page stays (it needs no figure file), saying the figures are missing
        atomic_write_text(path, template.render(**{**page, "figures_pending": False}))
        raise
    atomic_write_text(path, template.render(**{**page, "exported": exported, "figures_pending": False}))
    return path


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
