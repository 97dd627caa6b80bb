"""What a run writes once its jobs are done: summary and per-frame CSV, quick-look figures, the ranked BD text
it prints, the BD tables, and the report with its paper figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench import ranking
from bench.bdfiles import no_bd_table, write_bd_tables
from bench.bdoptions import BDOptions
from bench.conditions import Condition
from bench.jobs import Job
from bench.outputs import write_outputs
from bench.records import failures_by_codec
from bench.report.html import build_report
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
    paths = write_outputs(condition, jobs, results, reports, figures)
    report_dir = reports / condition.name
    text = _ranking_text(ResultStore(results / condition.name), condition.anchor, opts, report_dir / "tables") \
        if condition.anchor else ""
    say(text)
    paths["report"] = build_report(sources_from([str(results / condition.name)]), report_dir,
                                   f"lvc-bench report: {condition.name}", condition.anchor, opts.method,
                                   figures=figures, progress=say, font=font, table_times=table_times)
    if figures:
        paths["paper figures (PDF, SVG, PNG)"] = report_dir / "figures"
    paths["report tables (BD: CSV and LaTeX; ranked summary: Markdown and LaTeX; complexity: LaTeX)"] = report_dir / "tables"
    paths["report data (tidy CSV)"] = report_dir / "data"
    return text, paths


def _print(text: str) -> None:
    print(text, flush=True)  # before the progress bars and figure processes that follow write theirs


def _ranking_text(store: ResultStore, anchor: str, opts: BDOptions, tables: Path) -> str:
    """The ranked table against ANCHOR on OPTS's metric and the BD details, as the terminal shows them; or why
    there is none (the failures are listed after it: BD tables against nothing would only confuse)."""
    records = store.run_records()
    points = summary_frame(records)
    why = no_bd_table(points, anchor)
    if why is not None:
        return f"no BD tables: {why}"
    computed: dict = {}
    details, _ = write_bd_tables(points, anchor, opts, tables, "report", computed)
    rows = ranking.ranked({opts.metric: (computed["classes"], computed["average_curve"])}, anchor, opts.kind,
                          failures_by_codec(records))
    note = narrowing_note(points)  # a quick look (--frames/--sequences) says so above its ranking
    head = f"{note}.\n" if note else ""
    return (f"{head}Ranking against {anchor} (BD-rate [%], {ranking.metric_name(opts.metric)}):\n"
            f"{ranking.as_text(rows, [opts.metric])}\n\nDetails: {details}")
