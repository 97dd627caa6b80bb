"""What a run writes once its jobs are done: summary and per-frame CSV, quick-look figures, the ranked BD text
it prints, the BD tables, and the report with its paper figures.

The run's records are read once (:func:`bench.outputs.read_run_records`) and handed to each writer; the BD
table the terminal ranks by is computed once (:class:`bench.bdfiles.BDMemo`) where the report has the same
table (the report computes every metric with the run's BD options; the same points unless a codec has no
successful job), and its files are then written once, by the report. One drawing process
(:class:`bench.report.figure_workers.FigureDrawing`) draws the quick-look figures from the start and then the
paper figures, beside the ranking and the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from bench import ranking
from bench.bdfiles import BDMemo, bd_text, no_bd_table, write_bd_files
from bench.bdoptions import BDOptions
from bench.bdtable import with_db_columns
from bench.conditions import Condition
from bench.jobs import Job
from bench.outputs import read_run_records, write_outputs
from bench.records import failures_by_codec
from bench.report.html import build_report, usable_metrics
from bench.report.tables import narrowing_note, summary_frame
from bench.sources import sources_from
from bench.store import ResultStore


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


def _ranking_text(records: list[dict[str, Any]], anchor: str, opts: BDOptions, tables_dir: Path,
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
