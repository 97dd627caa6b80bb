"""What a run leaves to look at: summary.csv and frames.csv beside the records, an RD figure per sequence.

Everything is rebuilt from the records of the run's planned jobs only, so stale records of an earlier
version of a condition never leak into its tables.
"""

from __future__ import annotations

from pathlib import Path

from bench.conditions import Condition
from bench.jobs import Job
from bench.report.plots import plot_sequence
from bench.report.tables import frames_frame, summary_frame, write_csv
from bench.store import ResultStore


def write_outputs(condition: Condition, jobs: list[Job], results_dir: Path, reports_dir: Path) -> dict[str, Path]:
    store = ResultStore(results_dir / condition.name)
    records = [r for j in jobs if (r := store.read(store.record_path(j.codec.name, j.sequence.name, j.rate_point, j.key)))]
    summary = summary_frame(records)
    paths = {"summary": store.root / "summary.csv", "per-frame": store.root / "frames.csv"}
    write_csv(summary, paths["summary"])
    write_csv(frames_frame(records), paths["per-frame"])
    ok = summary[summary["status"] == "ok"] if not summary.empty else summary
    if not ok.empty:
        first = next(r for r in records if r["status"] == "ok")
        frames = first["coding"]["frames"]
        note = (f"{condition.name}: frames {frames['first']}-{frames['first'] + frames['count'] - 1}, "
                f"intra period {condition.intra_period}; PSNR pooled as {condition.metrics.pooling}, peak "
                f"{condition.metrics.psnr_peak}; {first['coding']['colour']}; {condition.spatial.describe()}; "
                "rate from bitstream bytes")
        figure_dir = reports_dir / condition.name / "rd"
        for seq in ok["sequence"].unique():
            plot_sequence(summary, seq, figure_dir / f"{seq}.png", note)
        paths["RD figures"] = figure_dir
    return paths
