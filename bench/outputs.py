"""What a run leaves to look at beside its records: summary.csv and frames.csv, and a quick-look RD figure per
sequence (its BD tables: :mod:`bench.bdfiles`).

Everything is rebuilt from the records of the run's planned jobs only, so stale records of an earlier
version of a condition never leak into its tables (and only when a record changed: :mod:`bench.freshness`).
"""

from __future__ import annotations

from pathlib import Path

from bench.conditions import Condition
from bench.jobs import Job
from bench.report.plots import file_part, plot_sequence
from bench.report.tables import frames_frame, summary_frame, write_csv
from bench.store import ResultStore


def write_outputs(condition: Condition, jobs: list[Job], results_dir: Path, reports_dir: Path,
                  figures: bool = True) -> dict[str, Path]:
    store = ResultStore(results_dir / condition.name)
    store.write_run_manifest([j.manifest_entry() for j in jobs], condition.name, condition.metrics)
    records = [store.view(r, condition.metrics) for j in jobs
               if (r := store.read(store.record_path(j.codec.name, j.sequence.name, j.rate_point, j.key)))]
    summary = summary_frame(records)
    paths = {"summary": store.root / "summary.csv", "per-frame": store.root / "frames.csv"}
    write_csv(summary, paths["summary"])
    write_csv(frames_frame(records), paths["per-frame"])
    ok = summary[summary["status"] == "ok"] if not summary.empty else summary
    if not ok.empty and figures:
        first = next(r for r in records if r["status"] == "ok")
        frames = first["coding"]["frames"]
        note = (f"{condition.name}: frames {frames['first']}-{frames['first'] + frames['count'] - 1}, "
                f"intra period {condition.intra_period}; PSNR pooled as {condition.metrics.pooling}, peak "
                f"{condition.metrics.psnr_peak}; {first['coding']['colour']}; {condition.spatial.describe()}; "
                "rate from bitstream bytes")
        figure_dir = reports_dir / condition.name / "figures" / "quicklook"  # beside the paper figures
        for seq in ok["sequence"].unique():
            why = plot_sequence(summary, seq, figure_dir / f"{file_part(seq)}.png", note, condition.anchor)
            if why is not None:  # no figure without data: say which and why instead
                print(f"quick-look figure of {seq} not drawn: {why}")
        paths["RD figures (quick look, PNG)"] = figure_dir
    return paths
