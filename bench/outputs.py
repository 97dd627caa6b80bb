"""What a run leaves to look at beside its records: summary.csv and frames.csv, and a quick-look RD figure per
sequence (its BD tables: :mod:`bench.bdfiles`).

Everything is rebuilt from the records of the run's planned jobs only, so stale records of an earlier
version of a condition never leak into its tables (and only when a record changed: :mod:`bench.freshness`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.conditions import Condition
from bench.jobs import Job
from bench.metrics.registry import MetricSpec
from bench.report.figure_workers import FigureDrawing
from bench.report.tables import frames_frame, summary_frame, write_csv
from bench.store import ResultStore


@dataclass(frozen=True)
class RunRecords:
    """The records of a run's planned jobs, read once, metrics pooled as its condition says: in job order (as
    summary.csv and frames.csv list them) and in file order, each file once (as
    :meth:`bench.store.ResultStore.run_records` gives them: what the ranking and the report read)."""

    by_job: list[dict[str, Any]]
    by_file: list[dict[str, Any]]


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


def write_outputs(condition: Condition, records: list[dict[str, Any]], results_dir: Path, reports_dir: Path,
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
