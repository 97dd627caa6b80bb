"""A run's output stage in proportion: its records are read once, each BD table is computed once, and what it
writes and prints is what ``evaluate.py report`` and ``evaluate.py bd`` make of the same results folder on their
own (each reads the records and computes every table itself, the way the run did before it shared them); its
quick-look figures, drawn beside the rest by the drawing process that then draws the paper figures, are those
drawn in this process.

The counts are observed on the real code path: every open of a record file for reading (whatever reads it), and
every call of the BD engine (:func:`bench.bd.tables.per_sequence`, through the name :mod:`bench.report.bd_files` calls),
each wrapped to count and then do what it always does.
"""

from __future__ import annotations

import builtins
import importlib.util
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, condition_file

import bench.report.bd_files
from bench.bd.options import BDOptions
from bench.bd.tables import with_db_columns
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import BenchError
from bench.report import plots
from bench.report.figure_workers import FigureDrawing
from bench.report.run_outputs import write_run_outputs
from bench.report.styles import codec_styles
from bench.report.tables import summary_frame
from bench.run.runner import plan
from bench.store.results import ResultStore

HEADLINE = "psnr_yuv_611"  # the run's default BD metric for YUV content, and the report's first section


def _run(root: Path, clip_dir: Path, codecs: str) -> tuple[Any, list[Any]]:
    """A real run of CODECS against x265 on two 96x64 clips of 8 frames (no figures), then its condition and
    planned jobs as the run hands them to its output stage."""
    cond = condition_file(root, clip_dir, codecs=codecs, extra="anchor: x265")
    main(["--conditions", str(cond), "--results", str(root / "results"), "--reports", str(root / "reports"),
          "--no-progress", "--no-figures"])
    condition = load_condition(cond)
    jobs, _ = plan(condition)
    return condition, jobs


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, clip_dir: Path) -> tuple[Path, Any, list[Any]]:
    root = tmp_path_factory.mktemp("outputs")
    condition, jobs = _run(root, clip_dir, "[x264, x265]")
    return root, condition, jobs


def _counting(monkeypatch: pytest.MonkeyPatch, records: Path) -> tuple[Counter[Path], Counter[str]]:
    """Count the opens for reading of files under RECORDS (by any route: open, Path.open, Path.read_text) and
    the BD engine's calls by metric, from now on."""
    reads: Counter[Path] = Counter()
    real_open = io.open

    def counted_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)) and "r" in mode and Path(file).is_relative_to(records):
            reads[Path(file)] += 1
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", counted_open)  # what pathlib opens with
    monkeypatch.setattr(builtins, "open", counted_open)
    engine: Counter[str] = Counter()
    real_engine = bench.report.bd_files.per_sequence

    def counted_engine(points: Any, anchor: str, opts: BDOptions) -> Any:
        engine[opts.metric] += 1
        return real_engine(points, anchor, opts)

    monkeypatch.setattr(bench.report.bd_files, "per_sequence", counted_engine)
    return reads, engine


@pytest.mark.integration
def test_records_read_once_and_each_bd_table_computed_once(run: tuple[Path, Any, list[Any]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, condition, jobs = run
    store = root / "results" / "t"
    files = sorted((store / "records").glob("*/*/*.json"))
    assert len(files) == len(jobs) == 16  # 2 codecs x 2 sequences x 4 QPs, every job with its record
    reads, engine = _counting(monkeypatch, store / "records")
    text, _ = write_run_outputs(condition, jobs, root / "results", root / "again", BDOptions(metric=HEADLINE),
                                figures=False, say=lambda line: None)
    monkeypatch.undo()
    assert dict(reads) == {p: 1 for p in files}  # before: 5 (two migration looks, three reads)
    tables = root / "again" / "t" / "tables"
    written = {p.name.removeprefix("bd_report_").removesuffix("_rate_pchip_classes.csv")
               for p in tables.glob("bd_report_*_classes.csv")}
    assert HEADLINE in written and len(written) >= 3  # PSNR-Y, PSNR-YUV, PSNR-RGB at least
    assert dict(engine) == {m: 1 for m in written}  # before: the headline twice (terminal ranking, then report)
    assert "Ranking against x265 (BD-rate [%], PSNR-YUV (6:1:1))" in text


def _bd_text(root: Path, source: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``evaluate.py bd`` prints for SOURCE against x265 (its own read and computation), paths left out."""
    capsys.readouterr()
    assert main(["bd", str(source), "--anchor", "x265", "--out", str(root / "bd")]) == 0
    return "\n".join(line for line in capsys.readouterr().out.splitlines() if not line.startswith("  BD ")
                     and not line.startswith("  time ratios") and not line.startswith("  LaTeX"))


@pytest.mark.integration
def test_outputs_are_those_of_report_and_bd_reading_on_their_own(run: tuple[Path, Any, list[Any]],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root, condition, jobs = run
    out = root / "shared"
    text, _ = write_run_outputs(condition, jobs, root / "results", out, BDOptions(metric=HEADLINE), figures=False,
                                say=lambda line: None)
    assert main(["report", str(root / "results" / "t"), "--anchor", "x265", "--out", str(root / "alone"),
                 "--no-figures", "--title", "lvc-bench report: t"]) == 0
    for folder in ("tables", "data"):
        mine = sorted(p.name for p in (out / "t" / folder).iterdir())
        assert mine == sorted(p.name for p in (root / "alone" / folder).iterdir())
        for name in mine:
            assert (out / "t" / folder / name).read_bytes() == (root / "alone" / folder / name).read_bytes(), name
    page, alone = ((p / "index.html").read_text().splitlines() for p in (out / "t", root / "alone"))
    differ = [(a, b) for a, b in zip(page, alone, strict=True) if a != b]
    assert all("generated" in a for a, _ in differ) and len(differ) <= 1  # the time it was written, if another
    assert text.split("\n\nDetails: ", 1)[1] == _bd_text(root, root / "results" / "t", capsys)


@pytest.mark.integration
def test_the_runs_bd_options_are_those_of_its_tables_and_page(run: tuple[Path, Any, list[Any]],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A run given non-default BD options (here: at least 5 points a curve, with 4 rate points: every curve is
    refused) ranks with them, and the headline tables and page it writes are computed with them too, as
    ``evaluate.py bd`` computes them: the report once rewrote those files with the defaults."""
    root, condition, jobs = run
    opts = BDOptions(metric=HEADLINE, min_points=5)
    text, _ = write_run_outputs(condition, jobs, root / "results", root / "five", opts, figures=False,
                                say=lambda line: None)
    capsys.readouterr()
    assert main(["bd", str(root / "results" / "t"), "--anchor", "x265", "--out", str(root / "bd5"),
                 "--min-points", "5"]) == 0
    written = {t: (root / "five" / "t" / "tables" / f"bd_report_{HEADLINE}_rate_pchip_{t}.csv").read_text()
               for t in ("per_sequence", "classes", "average_curve")}
    for table, csv in written.items():
        assert csv == (root / "bd5" / f"bd_cli_{HEADLINE}_rate_pchip_{table}.csv").read_text(), table
    assert written["per_sequence"].count("too_few_points") == 2, written["per_sequence"]  # both sequences refused
    assert "at least 5 points" in text
    assert "at least 5 points" in (root / "five" / "t" / "index.html").read_text()


@pytest.mark.slow
@pytest.mark.integration
def test_a_codec_without_any_result_keeps_its_rows_in_the_terminal(tmp_path: Path, clip_dir: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A codec all of whose jobs failed is in the terminal's BD details (status missing, as ``bd`` shows it)
    and not in the report's tables (built from successful points): the two are computed apart then, each as
    its command would."""
    condition, jobs = _run(tmp_path, clip_dir, "[x265, {descriptor: x264, name: broken, params: {extra_args: "
                                               "[-no-such-option]}}, {descriptor: x264, name: fine}]")
    reads, engine = _counting(monkeypatch, tmp_path / "results" / "t" / "records")
    text, _ = write_run_outputs(condition, jobs, tmp_path / "results", tmp_path / "again",
                                BDOptions(metric=HEADLINE), figures=False, say=lambda line: None)
    monkeypatch.undo()
    assert set(reads.values()) == {1} and len(reads) == len(jobs)
    assert engine[HEADLINE] == 2
    per_sequence = (tmp_path / "again" / "t" / "tables" / f"bd_report_{HEADLINE}_rate_pchip_per_sequence.csv")
    assert "broken" not in per_sequence.read_text() and "fine" in per_sequence.read_text()
    details = text.split("\n\nDetails: ", 1)[1]
    assert "broken" in details.split("Spread of")[0]
    assert details == _bd_text(tmp_path, tmp_path / "results" / "t", capsys)


@pytest.mark.integration
def test_quicklook_figures_drawn_beside_are_those_drawn_here(run: tuple[Path, Any, list[Any]]) -> None:
    """The quick-look figures a run draws in a process of its own (its summary handed over as JSON) are, byte for
    byte, those :func:`bench.report.plots.plot_sequence` draws in this process from the summary itself."""
    root, _, _ = run
    summary = summary_frame(ResultStore(root / "results" / "t").run_records())
    sequences = sorted(set(summary["sequence"]))
    here, beside = root / "quicklook_here", root / "quicklook_beside"
    for seq in sequences:
        assert plots.plot_sequence(summary, seq, here / f"{seq}.png", "a note", "x265") is None
    drawing = FigureDrawing()
    drawing.quicklook(summary, sequences, beside, "a note", "x265")
    assert drawing.handover.is_dir()
    assert drawing.finish("quicklook") == ([], [])
    assert not drawing.handover.exists()  # its hand-over folder removed, and nothing else (it is kept, not parsed)
    assert sorted(p.name for p in beside.iterdir()) == [f"{s}.png" for s in sequences]
    for seq in sequences:
        assert (beside / f"{seq}.png").read_bytes() == (here / f"{seq}.png").read_bytes(), seq


@pytest.mark.slow
@pytest.mark.integration
def test_one_drawing_process_draws_the_quick_looks_then_the_paper_figures(run: tuple[Path, Any, list[Any]],
                                                                          tmp_path: Path) -> None:
    """A run's quick-look and paper figures are drawn by one process, which pays matplotlib's import once; a job
    that fails there (its folder cannot be made: a file stands in the way) is raised, as one line naming that
    folder, to whoever asks for that kind of figure, and the job after it in the same process is still drawn and
    listed; the hand-over folder is removed. A drawing process that dies answers every job left with one line."""
    root, _, _ = run
    summary = summary_frame(ResultStore(root / "results" / "t").run_records())
    sequences = sorted(set(summary["sequence"]))
    points = with_db_columns(summary)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    drawing = FigureDrawing()
    drawing.quicklook(summary, sequences, blocker / "quicklook", "a note", "x265")
    drawing.paper(points, ["psnr_y"], tmp_path / "paper", codec_styles(sorted(set(points["codec"])), "x265"))
    assert len(drawing._procs) == 1  # two figures: no second process
    written, _ = drawing.finish("paper")
    with pytest.raises(BenchError) as failed:
        drawing.finish("quicklook")
    message = str(failed.value)
    assert message.startswith(f"figure export into {blocker / 'quicklook'} failed: ") and "\n" not in message
    assert "Not a directory" in message
    drawn = sorted(p.name for p in (tmp_path / "paper").iterdir())
    stems = sorted({name.rsplit(".", 1)[0] for name in drawn})
    assert "rd_classes_psnr_y" in stems and drawn == sorted(f"{s}.{e}" for s in stems for e in ("pdf", "png", "svg"))
    assert written == drawn and not drawing.handover.exists()

    dying = FigureDrawing()
    dying.quicklook(summary, sequences, tmp_path / "never", "a note", "x265")
    dying._procs[0].kill()
    dying._procs[0].wait()
    dying.paper(points, ["psnr_y"], tmp_path / "never_paper", {})  # handed to a dead process: no broken pipe here
    for kind in ("quicklook", "paper"):
        with pytest.raises(BenchError, match="figure export into .* failed: the drawing process ended with exit "
                                             "status -9 before answering"):
            dying.finish(kind)


def test_the_benchmark_folder_is_a_run_the_store_reads_whole(tmp_path: Path) -> None:
    """benchmarks/output_stage.py times a results folder that the store reads as a run's: every record with its
    metrics pooled from its own measurement files (none missing), one per planned job, 2 codecs x 2 sequences x
    4 rate points for 16 records."""
    spec = importlib.util.spec_from_file_location("output_stage", REPO / "benchmarks" / "output_stage.py")
    assert spec is not None and spec.loader is not None
    bench_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_module)
    bench_module.write_results(16, tmp_path)
    condition, jobs, _ = bench_module.synthetic_run(16)
    store = ResultStore(tmp_path / condition.name)
    store.write_run_manifest([j.manifest_entry() for j in jobs], condition.name, condition.metrics)
    records = store.run_records()
    assert len(records) == 16 and {r["key"] for r in records} == {j.key for j in jobs}
    assert all(r["status"] == "ok" and not r.get("not_measured") and not r.get("cautions") for r in records)
    points = summary_frame(records)
    assert points.groupby(["codec", "sequence"]).size().tolist() == [4] * 4
    assert points["psnr_yuv_611"].between(25, 45).all() and points["ms_ssim_y"].between(0.9, 1).all()
