"""The HTML report: one self-contained page per run (or per comparison of runs) plus its paper exports.

``index.html`` needs nothing but a browser and fetches nothing. The answer comes first (the ranked summary),
then one section per metric, chosen with a selector: its BD tables, its class curves and, collapsed by class,
its per-sequence curves; then the per-frame view, the tables about the runs and their provenance. Charts are
drawn by the page's script from one JSON payload (``chart_data``), when first shown; the strip plots are
inline SVG. Rendering is jinja2 with autoescaping on and undefined variables an error; every string taken
from records (sequence names, command lines, stderr) is escaped. Next to it: ``figures/`` (matplotlib PDF,
SVG and PNG at publication size), ``tables/`` (BD CSV, booktabs LaTeX, the ranked summary), ``data/`` (tidy
CSV).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from bench import __version__
from bench.bd import ranking
from bench.bd.engine import METHODS, USABLE
from bench.bd.sources import (
    Source,
    condition_differences,
    condition_flags,
    displays,
    mismatch_message,
    mismatched_sources,
)
from bench.bd.tables import (
    DCVC,
    JVET,
    OVERALL,
    BDOptions,
    higher_is_better,
    spread_table,
    time_ratios,
    with_db_columns,
)
from bench.conditions.timing import EXCLUSIVE_LABEL, SHARED_LABEL
from bench.errors import BenchError
from bench.metrics import definitions, headline_columns, metric_label
from bench.report import chart_data, page_tables, run_tables
from bench.report.bd_files import BDMemo, no_bd_table, write_bd_tables
from bench.report.figure_workers import FigureDrawing
from bench.report.latex import fit_table
from bench.report.origins import origins, setting_differences
from bench.report.styles import Style, codec_styles
from bench.report.svg import Strip, strip_chart
from bench.report.tables import (
    complexity_frame,
    complexity_latex,
    frames_frame,
    narrowing_note,
    summary_frame,
    write_csv,
)
from bench.store.labels import cautions, empty_folders, failures_by_codec
from bench.store.record import Record
from bench.store.results import atomic_write_text

# Up to this many sequences the per-sequence and per-frame charts are open when the page loads; beyond, each
# class is a collapsed section drawn when opened (a page of 60 sequences would otherwise draw 600 charts).
OPEN_UP_TO = 12
SCRIPT = Path(__file__).parent / "templates" / "charts.js"


@dataclass
class BDAnalysis:
    """What the BD stage found: one section per metric, the ranked summary's inputs and the files written."""

    anchor: str | None
    no_bd: str | None = None
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary_tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def usable_metrics(points: pd.DataFrame) -> list[str]:
    """The headline metrics POINTS have a value of: a report has a section, and BD tables, for each."""
    return [m for m in headline_columns() if m in points.columns and pd.to_numeric(points[m], errors="coerce").notna().any()]


def _bd_section(metric: str, opts: BDOptions, per_seq: pd.DataFrame, classes: pd.DataFrame, averaged: pd.DataFrame,
                styles: dict) -> dict[str, Any]:
    """One metric's BD summary: both conventions, the spread of each mean, a strip plot of the sequences."""
    labels = {c: st.label for c, st in styles.items()}
    jvet_columns, jvet_rows = page_tables.pivot_rows(classes, labels)
    dcvc_columns, dcvc_rows = page_tables.pivot_rows(averaged, labels)
    spread = spread_table(classes) if not classes.empty else pd.DataFrame()
    strips = []
    usable = per_seq[per_seq["status"].isin([str(s) for s in USABLE])] if not per_seq.empty else per_seq
    overall = classes[classes["group"] == OVERALL].set_index("codec") if not classes.empty else classes
    for codec, part in usable.groupby("codec", sort=True):
        row = overall.loc[codec] if codec in overall.index else None
        ci = (row["ci_low"], row["ci_high"]) if row is not None and pd.notna(row["ci_low"]) else None
        strips.append(Strip(labels.get(str(codec), str(codec)), styles[codec].colour if codec in styles else "#555",
                            [(float(v), f"{codec} / {seq} ({grp}): {v:+.2f}") for v, seq, grp in
                             zip(part["value"], part["sequence"], part["group"], strict=True)],
                            float(row["value"]) if row is not None and pd.notna(row["value"]) else None, ci))
    unit = "BD-rate [%]" if opts.kind == "rate" else f"BD-{metric_label(metric)}"
    return {
        "metric": metric, "label": ranking.metric_name(metric), "method": opts.describe(),
        # What the tables hold, from the BD kind: "BD-rate on PSNR-Y" (percent) or "BD-PSNR-Y [dB]" (test - anchor).
        "heading": f"BD-rate on {ranking.metric_name(metric)}" if opts.kind == "rate" else unit,
        "jvet": JVET, "jvet_columns": jvet_columns, "jvet_rows": jvet_rows,
        "dcvc": DCVC, "dcvc_columns": dcvc_columns, "dcvc_rows": dcvc_rows,
        "spread_columns": list(spread.columns), "spread": page_tables.spread_rows(spread, labels),
        "strip": strip_chart(strips, f"{unit} of each sequence against the anchor (dots), mean (bar), 95 % CI "
                             "of the mean, Student t (line)", title=f"{JVET}: {metric_label(metric)}") if strips else "",
        "per_sequence": page_tables.per_sequence_rows(per_seq, labels),
    }


def _summary(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], anchor: str, records: list[Record],
             kind: str, out: Path, labels: dict[str, str], times: str | None, ratios: pd.DataFrame,
             note: str | None = None) -> dict[str, Any]:
    """The ranked summary: rows for the page (coloured cells), and its Markdown and LaTeX files; TIMES (how the
    times were taken): the LaTeX table also has encode and decode time columns, from RATIOS. NOTE (a narrowed
    run's, :func:`bench.report.tables.narrowing_note`) opens the Markdown, the caption and the page's note."""
    rows = ranking.ranked(tables, anchor, kind, failures_by_codec(records), labels)
    ranking.attach_times(rows, ratios)
    metrics = list(tables)
    out.mkdir(parents=True, exist_ok=True)
    anchor_label = labels.get(anchor, anchor)
    atomic_write_text(out / "summary.md", ranking.as_markdown(rows, metrics, anchor_label, kind, note))
    caption = (f"{f'{note}. ' if note else ''}{'BD-rate' if kind == 'rate' else 'BD-quality'} against "
               f"{anchor_label}: per-sequence mean (JVET) and averaged curve (DCVC)")
    summary_tex = ranking.as_latex(rows, metrics, anchor_label, caption, times=times, kind=kind)
    atomic_write_text(out / "summary.tex", fit_table(summary_tex))  # to a column, else the page: report.latex
    page = []
    best = ranking.best_values(rows, metrics, kind)  # bold, as in summary.md and summary.tex (the note says so)
    for i, r in enumerate(rows, start=1):
        cells = []
        for m in metrics:
            c = r.cells.get(m)
            jvet = "--" if c is None or c.value is None else f"{c.value:+.2f}" + ("" if c.status == "ok" else " †")
            ci = c.interval() if c is not None else ""
            better = higher_is_better(m)  # colours follow the metric's direction (a BD-MSE falls when better)
            cells.append({"text": jvet, "ci": ci, "colour": ranking.colour(c.value if c else None, kind, better),
                          "best": c is not None and c.value is not None and c.value == best[(m, "jvet")],
                          "title": f"status {page_tables.words(c.status)}, sequences {c.sequences}" if c else "no value"})
            cells.append({"text": "--" if c is None or c.averaged is None else f"{c.averaged:+.2f}", "ci": "",
                          "colour": ranking.colour(c.averaged if c else None, kind, better),
                          "best": c is not None and c.averaged is not None and c.averaged == best[(m, "dcvc")],
                          "title": "averaged curve (DCVC)"})
        page.append({"rank": i, "codec": r.label, "cells": cells, "verdict": page_tables.statuses_in(r.verdict),
                     "failed": r.failed})
    return {"metrics": [ranking.metric_name(m) for m in metrics], "rows": page,
            "note": f"{f'{note}. ' if note else ''}{page_tables.summary_note(rows, metrics, anchor_label, kind)}",
            "files": ["tables/summary.md", "tables/summary.tex"]}


def _complexity_section(points: pd.DataFrame, headline: tuple[str, pd.DataFrame] | None, tables: Path,
                        labels: dict[str, str], kind: str = "rate") -> dict[str, Any]:
    """The complexity table (and its LaTeX), how the times were taken, and the BD value (KIND: BD-rate or
    BD-quality) against decoding time and against kMAC/pixel, one point per codec. HEADLINE: the first BD
    metric and its class summary, whose per-sequence mean over all sequences is the value drawn."""
    table = complexity_frame(points) if not points.empty else pd.DataFrame()
    if table.empty:
        return {"columns": [], "rows": [], "label": "", "charts": {}, "latex": ""}
    modes = {m for m in table["timing_mode"].dropna()} if "timing_mode" in table else set()
    label = EXCLUSIVE_LABEL if modes == {"exclusive"} else SHARED_LABEL
    note = narrowing_note(points)  # a quick look (--frames/--sequences) says so first
    caption = (f"{f'{note}. ' if note else ''}Model size, arithmetic and speed. fps: median over jobs of each "
               f"job's median; times {label}. kMAC/pixel counted by torch.utils.flop_counter on one frame "
               "(convolutions and matrix products).")
    tables.mkdir(parents=True, exist_ok=True)
    # Every LaTeX writer leaves the layout to fit_table, applied here by its caller (as for summary.tex and the
    # BD tables): a column if it fits, else the page (report.latex).
    atomic_write_text(tables / "complexity.tex", fit_table(complexity_latex(table, caption, labels=labels)))
    charts: dict[str, Any] = {}
    if headline is not None:
        metric, classes = headline
        bd, axis = (("BD-rate", f"BD-rate [%] ({ranking.metric_name(metric)})") if kind == "rate" else
                    (f"BD-{ranking.metric_name(metric)}", f"BD-{metric_label(metric)}"))
        overall = classes[classes["group"] == OVERALL].set_index("codec")["value"]
        for x_col, x_label, what in (("decode_ms_per_frame", "decoding time [ms/frame]", "decoding time"),
                                     ("decode_kmac_per_pixel", "decoding kMAC/pixel", "decoding kMAC/pixel")):
            points = [[str(r.codec), float(getattr(r, x_col)), float(overall[r.codec])]
                      for r in table.itertuples(index=False)
                      if pd.notna(getattr(r, x_col)) and getattr(r, x_col) > 0 and pd.notna(overall.get(r.codec))]
            if points:
                charts[f"bd-{x_col}"] = {"title": f"{bd} against {what}", "x": x_label, "points": points,
                                         "y": f"{axis}, per-sequence mean"}
    return {"columns": [head for _, head, _ in COMPLEXITY_COLUMNS], "rows": _complexity_rows(table, labels),
            "label": label, "charts": charts, "latex": "tables/complexity.tex"}


# The page's complexity table: column, header, format ("M": millions with 2 decimals; None: text as it is).
COMPLEXITY_COLUMNS = (("codec", "codec", None), ("params", "parameters", "M"),
                      ("encode_kmac_per_pixel", "encode kMAC/pixel", ".1f"),
                      ("decode_kmac_per_pixel", "decode kMAC/pixel", ".1f"), ("encode_fps", "encode frames/s", ".1f"),
                      ("decode_fps", "decode frames/s", ".1f"), ("decode_ms_per_frame", "decode ms/frame", ".2f"),
                      ("peak_rss_mib", "peak memory, processes (MiB)", ".0f"),
                      ("peak_gpu_mib", "peak GPU memory (MiB)", ".0f"), ("threads", "threads", None),
                      ("device", "device", None), ("timed", "what the encode time covers", None),
                      ("timing_mode", "timing", None))


def _complexity_rows(table: pd.DataFrame, labels: dict[str, str]) -> list[list[str]]:
    def cell(column: str, fmt: str | None, v: Any) -> str:
        if page_tables.missing(v):
            return ""
        if column == "codec":
            return labels.get(str(v), str(v))
        return str(v) if fmt is None else f"{v / 1e6:.2f} M" if fmt == "M" else format(v, fmt)

    return [[cell(c, fmt, row[c] if c in row else None) for c, _, fmt in COMPLEXITY_COLUMNS]
            for row in table.to_dict("records")]


def _bd_analysis(sources: list[Source], points: pd.DataFrame, ok_points: pd.DataFrame, anchor: str | None,
                 metrics: list[str], method: str, bd: BDOptions | None, allow_mismatch: bool, styles: dict,
                 tables: Path, memo: BDMemo | None = None) -> BDAnalysis:
    """BD tables per metric (BD's settings when given; its metric only when it names one), written to TABLES;
    MEMO: tables already computed from the same points are not computed again. No anchor, no usable anchor, or
    sources coded under other conditions: no tables, and the reason."""
    no_bd = no_bd_table(points, anchor) if anchor is not None else None
    if no_bd is None and anchor is not None and mismatched_sources(sources, anchor) and not allow_mismatch:
        no_bd = mismatch_message(sources, anchor)
    if anchor is None or no_bd is not None:
        return BDAnalysis(None, no_bd)
    analysis = BDAnalysis(anchor)
    differs = condition_flags(sources, anchor)
    labels = {c: st.label for c, st in styles.items()}
    for metric in [bd.metric] if bd is not None and bd.metric else metrics:
        opts = replace(bd, metric=metric, method=method) if bd is not None else BDOptions(metric=metric, method=method)
        computed: dict[str, pd.DataFrame] = {}
        _, paths = write_bd_tables(ok_points, anchor, opts, tables, "report", computed, differs, labels, memo)
        analysis.files += [f"tables/{p.name}" for p in paths.values()]
        analysis.sections[metric] = _bd_section(metric, opts, computed["per_sequence"], computed["classes"],
                                                computed["average_curve"], styles)
        analysis.summary_tables[metric] = (computed["classes"], computed["average_curve"])
    return analysis


def _speed_tables(ok_points: pd.DataFrame, times: pd.DataFrame, labels: dict[str, str]) -> dict[str, Any]:
    """Encode and decode milliseconds per frame per codec, and TIMES (the ratios against the anchor)."""
    per_frame_ms = []
    for codec, part in ok_points.groupby("codec", sort=True):
        frames = pd.to_numeric(part["frames"], errors="coerce").sum()
        enc = pd.to_numeric(part["encode_s"], errors="coerce").sum() if "encode_s" in part else float("nan")
        dec = pd.to_numeric(part["decode_s"], errors="coerce").sum() if "decode_s" in part else float("nan")
        per_frame_ms.append([labels.get(str(codec), str(codec)), f"{1000 * enc / frames:.2f}" if frames and enc else "",
                             f"{1000 * dec / frames:.2f}" if frames and dec else ""])
    return {"times": page_tables.time_rows(times, labels) if not times.empty else [],
            "time_columns": page_tables.TIME_COLUMNS,
            "per_frame_ms": per_frame_ms}


def _by_group(names: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(class, its names) in class order, from name -> class."""
    groups: dict[str, list[str]] = {}
    for name, group in sorted(names.items(), key=lambda kv: (kv[1], kv[0])):
        groups.setdefault(group, []).append(name)
    return list(groups.items())


def _chart_sections(records: list[Record], ok_points: pd.DataFrame, metrics: list[str], styles: dict,
                    anchor: str | None, scatter: dict[str, Any]) -> dict[str, Any]:
    """The charts' JSON payload and what the template lays out around it: classes per metric, sequences by
    class, the per-frame view's sequences by class."""
    rd, classes = chart_data.rd_entries(ok_points, metrics)
    frames = chart_data.frame_entries(records, anchor, metrics)
    sequences = dict(zip(ok_points["sequence"].astype(str), ok_points["group"].astype(str), strict=True)) \
        if not ok_points.empty else {}
    # A sequence gets a chart for a metric only where some curve has a value of it (no empty chart): the others
    # are named under the metric's charts.
    drawn = {m: {s for s, part in ok_points.groupby(ok_points["sequence"].astype(str)) if chart_data.has_data(part, m)}
             for m in metrics} if not ok_points.empty else {}
    return {"chart_data": Markup(chart_data.payload(styles, metrics, rd, frames, scatter)),
            "chart_script": Markup(SCRIPT.read_text()), "rd_classes": classes,
            "sequence_groups": {m: _by_group({s: g for s, g in sequences.items() if s in drawn[m]}) for m in metrics},
            "no_chart": {m: sorted(set(sequences) - drawn[m]) for m in metrics},
            "open_sequences": len(sequences) <= OPEN_UP_TO,
            "frame_groups": _by_group({s: e["group"] for s, e in frames.items()}),
            "frame_notes": {s: e["chosen"] for s, e in frames.items()}, "open_frames": len(frames) <= OPEN_UP_TO,
            "codecs": [{"name": c, "label": s.label, "colour": s.colour, "dashed": s.line != "solid"}
                       for c, s in styles.items()]}


def report_styles(sources: list[Source], codecs: list[str], anchor: str | None,
                  differ: dict[str, str]) -> dict[str, Style]:
    """Every curve's style (:mod:`bench.report.styles`: colour and marker by codec family, line and fill by
    source), its label followed by the settings in which it differs from the same-named codec of another run
    (DIFFER: :func:`bench.report.origins.setting_differences` of SOURCES)."""
    styles = codec_styles(codecs, anchor, displays(sources), origins(sources))
    return {c: replace(st, label=f"{st.label} ({differ[c]})") if c in differ else st for c, st in styles.items()}


def build_report(sources: list[Source], out_dir: Path, title: str, anchor: str | None,
                 method: str = "pchip", allow_condition_mismatch: bool = False,
                 bd: BDOptions | None = None, figures: bool = True,
                 progress: Callable[[str], None] | None = None, font: str = "serif",
                 table_times: bool = False, bd_memo: BDMemo | None = None,
                 drawing: FigureDrawing | None = None) -> Path:
    """Write ``out_dir/index.html`` and its exports; return the HTML path. BD tables use BD's settings (overlap,
    points, kind, repair) when given, for its metric only when it names one, else for every headline metric.
    The page is written before the paper figures (``figures=False``: none; ``font``: serif or sans) are waited
    for, then once more listing them; ``progress`` hears what is being waited for. ``table_times``: the LaTeX
    summary also has encode and decode time columns. ``bd_memo``: BD tables its caller has computed from these
    sources' successful points (a run's terminal ranking) are not computed again. ``drawing``: the drawing
    processes a run has started (its quick-look figures) to hand the paper figures to as well."""
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}")
    if (empty := empty_folders(sources)) is not None:  # before anything is written
        raise BenchError(f"no report: {empty}")
    records = [r for s in sources for r in s.records]
    points = with_db_columns(summary_frame(records))
    ok_points = points[points["status"] == "ok"] if not points.empty else points
    differ = setting_differences(sources)  # parses every run's condition: once, for the labels and the page
    styles = report_styles(sources, list(points["codec"]), anchor, differ) if not points.empty else {}
    metrics = usable_metrics(ok_points) if not ok_points.empty else []
    if bd is not None and bd.metric and bd.metric not in points.columns:  # before anything is written
        raise BenchError(f"--metric {bd.metric}: no result has it; these do: {', '.join(metrics) or 'none'}")
    out_dir.mkdir(parents=True, exist_ok=True)
    # The paper figures (matplotlib) are drawn in another process while this one builds the page.
    exports = None
    if metrics and figures:
        exports = drawing if drawing is not None else FigureDrawing()
        exports.paper(ok_points, metrics, out_dir / "figures", styles, font)
    try:
        page = _page(sources, records, points, ok_points, metrics, styles, anchor, method, bd,
                     allow_condition_mismatch, table_times, out_dir, title, exports is not None, differ, bd_memo)
    except BaseException:
        if exports is not None:
            exports.cancel()
        raise
    return _write_page(page, out_dir / "index.html", exports, progress)


def _page(sources: list[Source], records: list[Record], points: pd.DataFrame, ok_points: pd.DataFrame,
          metrics: list[str], styles: dict, anchor: str | None, method: str, bd: BDOptions | None,
          allow_condition_mismatch: bool, table_times: bool, out_dir: Path, title: str,
          figures_pending: bool, differ: dict[str, str], bd_memo: BDMemo | None = None) -> dict[str, Any]:
    """Everything the page shows, with the tables and data files it lists written on the way; DIFFER: curve ->
    the settings in which it differs from the same-named codec of another run."""
    labels = {c: st.label for c, st in styles.items()}
    bd_stage = _bd_analysis(sources, points, ok_points, anchor, metrics, method, bd, allow_condition_mismatch,
                            styles, out_dir / "tables", bd_memo)
    headline = next(((m, classes) for m, (classes, _) in bd_stage.summary_tables.items()), None)
    complexity = _complexity_section(ok_points, headline, out_dir / "tables", labels,
                                     bd.kind if bd is not None else "rate")
    ratios = time_ratios(ok_points, bd_stage.anchor) if bd_stage.anchor is not None else pd.DataFrame()
    summary = _summary(bd_stage.summary_tables, bd_stage.anchor, records, bd.kind if bd is not None else "rate",
                       out_dir / "tables", labels, (complexity["label"] or SHARED_LABEL) if table_times else None,
                       ratios, narrowing_note(points)) \
        if bd_stage.summary_tables and bd_stage.anchor is not None else None  # tables only come with an anchor
    tables_written = bd_stage.files + (summary["files"] if summary else []) + \
        ([complexity["latex"]] if complexity["latex"] else [])
    write_csv(points, out_dir / "data" / "per_sequence.csv")
    write_csv(frames_frame(records), out_dir / "data" / "per_frame.csv")
    failures = run_tables.failures(records)
    identities, commands, environment = run_tables.provenance(records)
    reported_columns, reported_rows = run_tables.reported_table(records)
    reported_rows = page_tables.labelled(reported_rows, labels)
    bd_metrics = list(bd_stage.sections) or metrics
    page_bd = BDOptions(method=method) if bd is None else replace(bd, method=method,
                                                                  metric=bd_metrics[0] if bd_metrics else bd.metric)
    page = dict(
        title=title, generated=datetime.now(timezone.utc).isoformat(timespec="seconds"), version=__version__,
        sources=sources, anchor=bd_stage.anchor, anchor_label=labels.get(anchor, anchor),
        no_bd=bd_stage.no_bd, differences=condition_differences(sources), quick_look=narrowing_note(points),
        codec_differences=sorted(differ.items()),
        metrics=metrics, metric_labels={m: metric_label(m) for m in metrics}, bd_sections=bd_stage.sections,
        summary=summary, complexity=complexity, checks=page_tables.labelled(run_tables.check_rows(records), labels), failures=failures,
        failure_groups=run_tables.failure_groups(failures), stream_rows=page_tables.labelled(run_tables.stream_rows(records), labels),
        identities=identities, commands=commands, environment=environment, definitions=[(metric_label(k), k, v) for k, v in definitions().items()],
        bd_method=page_bd.describe(), jvet_label=JVET, dcvc_label=DCVC, exported=[], figures_skipped=[],
        figures_pending=figures_pending, tables_written=tables_written, reported_rows=reported_rows,
        reported_columns=reported_columns, n_records=len(records), n_failed=len(failures), cautions=cautions(records),
        open_up_to=OPEN_UP_TO, **_speed_tables(ok_points, ratios, labels),
        **_chart_sections(records, ok_points, metrics, styles, bd_stage.anchor, complexity["charts"]),
    )
    return page


def _write_page(page: dict[str, Any], path: Path, exports: FigureDrawing | None,
                progress: Callable[[str], None] | None) -> Path:
    """The page now (it needs no figure file), then again listing the paper figures once they are drawn."""
    template = _environment().get_template("report.html.j2")
    atomic_write_text(path, template.render(**page))
    if exports is None:
        return path
    if progress is not None:
        progress(f"report written: {path}; drawing the paper figures into {path.parent / 'figures'} ...")
    try:
        exported, skipped = exports.finish("paper")
    except BenchError:  # the page stays, saying the figures are missing
        atomic_write_text(path, template.render(**{**page, "figures_pending": False}))
        raise
    for line in skipped:
        print(f"figure {line}")
    atomic_write_text(path, template.render(**{**page, "exported": exported, "figures_skipped": skipped,
                                                 "figures_pending": False}))
    return path


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
