"""What a run writes once its jobs are done: summary and per-frame CSV, quick-look figures, the ranked BD text
it prints, the BD tables, and the report with its paper figures.

Everything is rebuilt from the records of the run's planned jobs only, so stale records of an earlier version of a
condition never leak into its tables (and only when a record changed: :mod:`bench.report.freshness`).

The run's records are read once (:func:`read_run_records`) and handed to each writer; the BD
table the terminal ranks by is computed once (:class:`bench.report.bd_files.BDMemo`) where the report has the same
table (the report computes every metric with the run's BD options; the same points unless a codec has no
successful job), and its files are then written once, by the report. One drawing process
(:class:`bench.report.figure_workers.FigureDrawing`) draws the quick-look figures from the start and then the
paper figures, beside the ranking and the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from bench.bd import ranking
from bench.bd.options import BDOptions
from bench.bd.sources import sources_from
from bench.bd.tables import with_db_columns
from bench.conditions.condition import Condition
from bench.metrics.registry import MetricSpec
from bench.report.bd_files import BDMemo, bd_text, no_bd_table, write_bd_files
from bench.report.figure_workers import FigureDrawing
from bench.report.html import build_report, usable_metrics
from bench.report.tables import frames_frame, narrowing_note, summary_frame, write_csv
from bench.run.jobs import Job
from bench.store.labels import failures_by_codec
from bench.store.record import Record
from bench.store.results import ResultStore


@dataclass(frozen=True)
class RunRecords:
    """The records of a run's planned jobs, read once, metrics pooled as its condition says: in job order (as
    summary.csv and frames.csv list them) and in file order, each file once (as
    :meth:`bench.store.results.ResultStore.run_records` gives them: what the ranking and the report read)."""

    by_job: list[Record]
    by_file: list[Record]


def read_run_records(store: ResultStore, jobs: list[Job], metrics: MetricSpec) -> RunRecords:
    """Each planned job's record read and viewed with METRICS once (a job without a record is left out). The run
    manifest names the same jobs and METRICS (the run writes it before), so the file-ordered list is what
    ``run_records`` would read again: only records whose key the run planned, each file once, sorted by path."""
    found = []
    for j in jobs:
        path = store.record_path(j.codec.name, j.sequence.name, j.rate_point, j.key)
        if (r := store.read(path)) is not None:
            found.append((path, store.view(r, metrics)))
    keys = {j.key for j in jobs}
    by_file = {path: r for path, r in found if r["key"] in keys}  # a record's file holding another key is no job's
    return RunRecords([r for _, r in found], [by_file[p] for p in sorted(by_file)])


def write_outputs(condition: Condition, records: list[Record], results_dir: Path, reports_dir: Path,
                  figures: bool = True) -> tuple[dict[str, Path], FigureDrawing | None]:
    """summary.csv and frames.csv of RECORDS (the run's, in job order: :func:`read_run_records`) and, with
    FIGURES, a quick-look RD figure per sequence, handed to a drawing process (returned: the caller hands it the
    paper figures too, and collects both once its own work is done)."""
    store = ResultStore(results_dir / condition.name)
    summary = summary_frame(records)
    paths = {"summary": store.root / "summary.csv", "per-frame": store.root / "frames.csv"}
    ok = summary[summary["status"] == "ok"] if not summary.empty else summary
    drawing = None
    if not ok.empty and figures:
        first = next(r for r in records if r["status"] == "ok")
        frames = first["coding"]["frames"]
        note = (f"{condition.name}: frames {frames['first']}-{frames['first'] + frames['count'] - 1}, "
                f"intra period {condition.intra_period}; PSNR pooled as {condition.metrics.pooling}, peak "
                f"{condition.metrics.psnr_peak}; {first['coding']['colour']}; {condition.spatial.describe()}; "
                "rate from bitstream bytes")
        figure_dir = reports_dir / condition.name / "figures" / "quicklook"  # beside the paper figures
        # Started before the CSV files are written: its start-up (matplotlib) overlaps with them.
        drawing = FigureDrawing()
        drawing.quicklook(summary, [str(s) for s in ok["sequence"].unique()], figure_dir, note, condition.anchor)
        paths["RD figures (quick look, PNG)"] = figure_dir
    try:
        write_csv(summary, paths["summary"])
        write_csv(frames_frame(records), paths["per-frame"])
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    return paths, drawing


def write_run_outputs(condition: Condition, jobs: list[Job], results: Path, reports: Path, opts: BDOptions,
                      figures: bool = True, font: str = "serif", table_times: bool = False,
                      say: Callable[[str], None] | None = None) -> tuple[str, dict[str, Path]]:
    """Every output of a run of CONDITION (its planned JOBS) under RESULTS and REPORTS; OPTS: the BD table the
    terminal shows (its metric ranks the codecs). Returns the text SAY was given and the paths, by what they
    hold."""
    say = say or _print
    say(f"writing summary.csv, frames.csv{', quick-look figures' if figures else ''}, BD tables and the report ...")
    store = ResultStore(results / condition.name)
    store.write_run_manifest([j.manifest_entry() for j in jobs], condition.name, condition.metrics)
    records = read_run_records(store, jobs, condition.metrics)
    paths, drawing = write_outputs(condition, records.by_job, results, reports, figures)
    report_dir = reports / condition.name
    memo = BDMemo()
    try:
        text = _ranking_text(records.by_file, condition.anchor, opts, report_dir / "tables", memo) \
            if condition.anchor else ""
        say(text)
        # The run's BD settings (points, overlap, repair, kind, rate subsets) for every metric of the page, not
        # only the ranked one: its tables then say what the terminal said (they were once the defaults').
        paths["report"] = build_report(sources_from([str(store.root)], loaded={store.root: records.by_file}),
                                       report_dir, f"lvc-bench report: {condition.name}", condition.anchor,
                                       opts.method, bd=replace(opts, metric=""), figures=figures, progress=say,
                                       font=font, table_times=table_times, bd_memo=memo, drawing=drawing)
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    for line in drawing.finish("quicklook")[1] if drawing is not None else []:
        print(line)  # a sequence without any quick-look metric: which, and why
    if figures:
        paths["paper figures (PDF, SVG, PNG)"] = report_dir / "figures"
    paths["report tables (BD: CSV and LaTeX; ranked summary: Markdown and LaTeX; complexity: LaTeX)"] = report_dir / "tables"
    paths["report data (tidy CSV)"] = report_dir / "data"
    return text, paths


def _print(text: str) -> None:
    print(text, flush=True)  # before the progress bars and figure processes that follow write theirs


def _ranking_text(records: list[Record], anchor: str, opts: BDOptions, tables_dir: Path,
                  memo: BDMemo) -> str:
    """The ranked table against ANCHOR on OPTS's metric and the BD details, as the terminal shows them; or why
    there is none (the failures are listed after it: BD tables against nothing would only confuse). Its BD
    files are written here only where the report (given MEMO, which then holds the tables) writes none of that
    name: for a metric the report has no section for."""
    points = summary_frame(records)
    why = no_bd_table(points, anchor)
    if why is not None:
        return f"no BD tables: {why}"
    note = narrowing_note(points)  # a quick look (--frames/--sequences) says so above its ranking and details
    ok = _report_points(points)
    # From the successful points, the report's: the same BD as from every point, unless a codec has no successful
    # job at all; then from every point, so that the terminal keeps that codec's rows (status missing).
    tables = memo.tables(ok if set(ok["codec"]) == set(points["codec"]) else points, anchor, opts)
    if opts.metric not in usable_metrics(ok):  # else the report writes these files, from the same tables (memo)
        write_bd_files(tables, anchor, opts, tables_dir, "report", note)
    rows = ranking.ranked({opts.metric: (tables.classes, tables.average_curve)}, anchor, opts.kind,
                          failures_by_codec(records))
    head = f"{note}.\n" if note else ""
    return (f"{head}Ranking against {anchor} (BD-rate [%], {ranking.metric_name(opts.metric)}):\n"
            f"{ranking.as_text(rows, [opts.metric])}\n\nDetails: {bd_text(tables, anchor, opts, note)}")


def _report_points(points: pd.DataFrame) -> pd.DataFrame:
    """The successful points of POINTS, as the report computes its BD tables from them (so that the memo finds
    the ranking's table there: :func:`bench.report.html.build_report`)."""
    points = with_db_columns(points)
    return points[points["status"] == "ok"] if not points.empty else points
