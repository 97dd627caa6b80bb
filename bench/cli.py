"""Command line: ``python evaluate.py [run] --conditions FILE`` and the helper subcommands.

Subcommands: ``run`` (the default; ends with BD tables against the condition's anchor), ``remeasure`` (measure
what a finished run lacks, never coding), ``migrate`` (bring a results folder to the current record schema),
``bd`` (BD tables from result folders and imported files), ``validate`` (load a condition and check its data
without coding), ``ls`` (datasets, codecs, conditions, adapters, metrics), ``doctor`` (are the codec tools
there, which versions), ``selftest`` (metrics, BD engine and importers against independent references) and
``check-adapter`` (an adapter class held to the adapter contract, bench.checks.conformance).
A user-fixable problem prints one ``error:`` line and exits 2; failed jobs make ``run`` exit 1; a run stopped by
Ctrl-C, SIGTERM or SIGHUP says what is done and what is left and exits 128 + the signal's number (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.bd.options import BDOptions
    from bench.conditions.condition import Condition
    from bench.run.runner import RunOptions, RunOutcome
    from bench.store.record import Record
    from bench.store.results import ResultStore

SUBCOMMANDS = ("run", "remeasure", "migrate", "status", "bd", "report", "import", "validate", "diff", "ls",
               "doctor", "selftest", "check-adapter")


WAIT_HELP = ("another run or remeasure holds this condition's results folder: wait for it to end, then start "
             "(default: stop at once, naming it)")
CONDITION_HELP = "test condition: a YAML file, or a name in ./conditions or the suite's conditions/ (demo)"
TOP_EPILOG = """The default command is run:
  python evaluate.py --conditions demo [--data-root DIR] [--jobs N] [--results results] [--reports reports]
      [--retry-failed] [--no-figures] [--metric psnr_y] ...   (python evaluate.py run --help lists them all)
Each command has its own --help."""


def _condition_file(text: str) -> Path:
    from bench.conditions.condition import condition_path

    return condition_path(text)


def _parser() -> argparse.ArgumentParser:
    from bench import __version__

    parser = argparse.ArgumentParser(prog="evaluate.py", description="Evaluate learned and traditional video "
                                     "codecs under one declarative test condition.", epilog=TOP_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lvc-bench {__version__}")
    sub = parser.add_subparsers(dest="command")
    run, rem = _coding_commands(sub)
    mig, st = _folder_commands(sub)
    bd, rep = _comparison_commands(sub)
    _import_command(sub)
    _check_commands(sub)
    for p in (run, rem, rep):
        _paper_options(p)
    for p in (run, rem, st, sub.choices["validate"]):
        _narrow_options(p)
    for p in (run, rem, st, bd, rep):
        p.add_argument("--strict", action="store_true", help="stop at a damaged record or manifest (default: skip it "
                       "with a warning; a run codes its job again)")
    return parser


def _coding_commands(sub: argparse._SubParsersAction) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """run and remeasure."""
    run = sub.add_parser("run", help="code and measure every job of a condition (the default)")
    run.add_argument("--conditions", required=True, type=_condition_file, help=CONDITION_HELP)
    run.add_argument("--data-root", type=Path, help="folder holding the sequence files (overrides the condition)")
    run.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default: reports)")
    run.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                     help="jobs to run at once (default: the number of CPU cores; each job's encoder and metrics "
                          "are single-threaded unless its descriptor says otherwise)")
    run.add_argument("--retry-failed", action="store_true", help="rerun jobs recorded as failed")
    run.add_argument("--executor", default="local", choices=("local", "slurm", "submitit-local"),
                     help="local: --jobs jobs at once in this process (default); slurm: one SLURM job per coding "
                          "job through submitit (an array per codec, resources from the codec descriptor), records "
                          "in the same results folder; submitit-local: the same through submitit's local processes")
    run.add_argument("--retries", type=int, default=0, help="run a job that fails again, up to this many times "
                     "(each failure's message is kept in the final record)")
    run.add_argument("--gpus", type=_gpu_list, default=(), metavar="0,1,3",
                     help="local executor: run jobs whose descriptor names a CUDA device on these GPUs, one job per "
                          "GPU, beside the --jobs CPU jobs (default: each on its descriptor's device, one at a time)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--wait", action="store_true", help=WAIT_HELP)
    _output_options(run)
    _bd_options(run)

    rem = sub.add_parser("remeasure", help="take the measurements a finished run lacks (new metrics, new metric "
                         "versions) from its stored bitstreams or kept decoded frames; codes nothing")
    rem.add_argument("--conditions", required=True, type=_condition_file, help=CONDITION_HELP)
    rem.add_argument("--metrics", default=None, metavar="vmaf,xpsnr,ms_ssim",
                     help="measure these too, beside the condition's (names of metrics.* keys: ms_ssim, vmaf, xpsnr)")
    rem.add_argument("--data-root", type=Path, help="folder holding the sequence files (overrides the condition)")
    rem.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    rem.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default: reports)")
    rem.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="jobs to measure at once")
    rem.add_argument("--no-progress", action="store_true", help="no progress bar")
    rem.add_argument("--wait", action="store_true", help=WAIT_HELP)
    _output_options(rem)
    _bd_options(rem)

    return run, rem


def _folder_commands(sub: argparse._SubParsersAction) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """migrate and status: what is in a results folder."""
    mig = sub.add_parser("migrate", help="rewrite the records of results folders in the current schema (runs, "
                         "reports and bd do it on their own when they read a folder)")
    mig.add_argument("folders", nargs="+", type=Path, help="results/<condition> folders")

    st = sub.add_parser("status", help="what a run of a condition has done, failed, is running and has left, "
                        "read from its results folder (works while the run goes on elsewhere)")
    st.add_argument("--conditions", required=True, type=_condition_file, help=CONDITION_HELP)
    st.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    st.add_argument("--data-root", type=Path, help="folder holding the sequence files (only read before a run)")

    return mig, st


def _comparison_commands(sub: argparse._SubParsersAction) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """bd and report, from result folders, imported files and published curves."""
    bd = sub.add_parser("bd", help="BD tables against an anchor from result folders and imported files")
    bd.add_argument("sources", nargs="+", help="results/<condition> folders, or files (or folders of files) to "
                    "import: DCVC/CompressAI JSON, DHVC q*.json or stdout, VTM/HM/ECM logs, CSV; NAME=PATH names "
                    "an imported curve")
    bd.add_argument("--anchor", required=True, help="codec name of the anchor")
    _bd_options(bd)
    bd.add_argument("--out", type=Path, default=Path("reports/bd"), help="folder for CSV and LaTeX (default reports/bd)")

    rep = sub.add_parser("report", help="one HTML report from result folders and imported results")
    rep.add_argument("sources", nargs="+", help="results/<condition> folders, files or folders to import "
                     "(NAME=PATH names an imported curve)")
    rep.add_argument("--anchor", default=None, help="codec name of the anchor for BD tables")
    _bd_options(rep)
    rep.add_argument("--out", type=Path, default=None, help="report folder (default reports/<first source name>)")
    rep.add_argument("--title", default=None, help="page title")
    rep.add_argument("--no-figures", action="store_true", help="no matplotlib paper figures (the page is the same)")

    for p in (bd, rep):
        p.add_argument("--with-published", action="append", default=[], metavar="ID",
                       help="add a published curve that ships with the suite (uvg/vtm-15, uvg/x265, uvg/vtm-17 ...; "
                            "`evaluate.py ls` lists them), shown and flagged as published under its own condition")
        p.add_argument("--allow-condition-mismatch", action="store_true", help="compute BD-rates between sources "
                       "coded under different conditions (flagged in every cell); default: refused, curves shown")
    return bd, rep


def _import_command(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="turn foreign result files (DCVC/CompressAI JSON, DHVC, VTM/HM/ECM logs, "
                         "CSV) into a source folder that bd and report read, and say what was found")
    imp.add_argument("sources", nargs="+", help="files or folders of files; NAME=PATH names an imported curve. Each "
                     "file is read up to 64 MB, 100,000 RD points and 1,000,000 frames of per-frame values (no result "
                     "file is near them; FIFOs and devices are refused): set LVCBENCH_IMPORT_MAX_MB, "
                     "LVCBENCH_IMPORT_MAX_POINTS or LVCBENCH_IMPORT_MAX_FRAMES to read larger ones (bd and report "
                     "read files under the same limits)")
    imp.add_argument("--out", type=Path, required=True, help="the source folder to write (records/ inside)")
    imp.add_argument("--dataset", default=None, help="the dataset the points are of (uvg, hevc_b, mcl_jcv ...): its "
                     "manifest gives each sequence's size and frame rate, and a dataset average becomes that class's "
                     "curve (default: recognised from the file or folder name, e.g. UVG-1080p)")
    imp.add_argument("--size", type=_size, default=None, metavar="WxH", help="frame size of every point (kbps <-> bpp)")
    imp.add_argument("--fps", type=_positive, default=None, help="frame rate of every point (kbps <-> bpp)")



def _check_commands(sub: argparse._SubParsersAction) -> None:
    """validate, ls, doctor and selftest."""
    val = sub.add_parser("validate", help="load a condition and check its sequences; no coding")
    val.add_argument("--conditions", required=True, type=_condition_file, help=CONDITION_HELP)
    val.add_argument("--data-root", type=Path)

    diff = sub.add_parser("diff", help="how two protocols differ: conditions, results folders or published curves; "
                          "every field, grouped as coding, measurement, environment and presentation, with its known "
                          "effect; exit 1 when a coding or measurement field differs")
    for side in ("a", "b"):
        diff.add_argument(side, metavar=side.upper(), help="a condition (file or name), a run's results folder "
                          "(results/NAME: its stored condition.yaml) or a published curve id (evaluate.py ls)")
    sub.add_parser("ls", help="list datasets, codec descriptors, conditions and adapters")
    doc = sub.add_parser("doctor", help="check that each codec's tools are installed, print versions")
    doc.add_argument("codecs", nargs="*", help="descriptors to check (codecs/<name>.yaml), e.g. dcvc-fm, or "
                     "adapters (compressai: lists its architectures)")
    doc.add_argument("--conditions", type=_condition_file, help="check only this condition's codecs (file or name)")
    test = sub.add_parser("selftest", help="compare every metric, the BD engine and the importers with independent "
                        "references on this installation (its ffmpeg, libvmaf, torch, numba); one table, exit 1 "
                        "on any failure")
    test.add_argument("--only", default=None, metavar="TEXT", help="run only the checks whose name contains TEXT "
                    "(e.g. XPSNR)")
    _check_adapter_parser(sub)


def _check_adapter_parser(sub: argparse._SubParsersAction) -> None:
    chk = sub.add_parser("check-adapter", help="hold an adapter class to the contract every adapter keeps (the "
                         "conformance suite): one line per check, exit 1 if one fails")
    chk.add_argument("adapter", help="a registered adapter (x264, a plug-in's entry-point name) or "
                     "package.module:Class (from the Python path or the current folder)")
    chk.add_argument("--params", nargs="+", metavar="KEY=VALUE", help="its parameters: key=value words (values "
                     "read as JSON where they are JSON, else text) or one JSON mapping (default: the class's "
                     "conformance_example)")
    chk.add_argument("--rate-points", nargs="+", metavar="POINT", help="rate points (JSON where JSON: 22, "
                     "[0,21]); the first is coded (default: the class's conformance_example)")
    chk.add_argument("--no-run", action="store_true", help="skip coding two real frames")


def _narrow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=None, metavar="N", help="a quick look: code only the first N of "
                        "the frames the condition takes; recorded as another condition, results/<name>.first<N>")
    parser.add_argument("--sequences", default=None, metavar="A,B", help="a quick look: only these sequences "
                        "(names as the condition lists them); recorded as another condition, results/<name>.seq-A_B")


def _load(args: argparse.Namespace) -> Condition:
    """The condition the command names, narrowed by --frames/--sequences (bench.conditions.condition.narrow): one place for
    run, remeasure, status and validate, so that each finds the same results folder."""
    from bench.conditions.condition import load_condition, narrow

    sequences = None if args.sequences is None else [n.strip() for n in args.sequences.split(",") if n.strip()]
    condition = narrow(load_condition(args.conditions, args.data_root), args.frames, sequences)
    if (args.frames, args.sequences) != (None, None) and getattr(args, "executor", "local") != "local":
        # A cluster job loads the condition file again on its node, which knows nothing of these options.
        raise BenchError(f"--frames/--sequences are for a quick look with --executor local, not {args.executor}; "
                         "for a cluster run put the narrowing in a condition file (narrow: {frames: N, sequences: "
                         "[A, B]})")
    return condition


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-figures", action="store_true", help="no matplotlib figures (figures/quicklook and the report's "
                        "paper figures); the HTML report is written all the same")
    parser.add_argument("--rebuild-outputs", action="store_true", help="write the tables, figures and report again "
                        "even if no record changed since they were written")


def _paper_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--font", choices=("serif", "sans"), default="serif",
                        help="font of the paper figures (default serif, as most papers' body text)")
    parser.add_argument("--table-times", action="store_true", help="add encode and decode time columns (relative "
                        "to the anchor's) to the LaTeX summary table")


def _bd_options(parser: argparse.ArgumentParser) -> None:
    from bench.bd.options import DEFAULT_MIN_OVERLAP, DEFAULT_MIN_POINTS, METHODS

    parser.add_argument("--metric", default=None, help="quality column (default psnr_yuv_611, or psnr_rgb for RGB "
                        "content); any MS-SSIM column also exists as <name>_db")
    parser.add_argument("--method", default="pchip", choices=METHODS, help="interpolation (default pchip)")
    parser.add_argument("--kind", default="rate", choices=("rate", "quality"), help="BD-rate or BD-quality")
    parser.add_argument("--min-points", type=int, default=DEFAULT_MIN_POINTS, help="fewest points per curve")
    parser.add_argument("--min-overlap", type=_fraction, default=DEFAULT_MIN_OVERLAP,
                        help="overlap fraction below which a value is flagged low_overlap")
    parser.add_argument("--repair", choices=("upper_hull",), default=None,
                        help="keep the upper convex hull (rate, quality) of non-monotonic curves; every value on a "
                        "repaired curve is flagged 'repaired' with the points kept and dropped; a curve whose points "
                        "come from several files or devices is refused (mixed_origins), never repaired")
    parser.add_argument("--rate-points", nargs="+", action=_RateSubset, default=((), ()),
                        metavar="[CODEC=]22,27,32", help="BD over these rate points only (labels as the tables show "
                        "them: QP, q index); one shared list and/or a list per codec (x265=22,27,32 mine=4,8,16), a "
                        "codec's own replacing the shared one; give sources before it")
    parser.add_argument("--rate-exclude", nargs="+", action=_RateSubset, default=((), ()), metavar="[CODEC=]42",
                        help="leave these rate points out of BD (DCVC's --rate_exclude); shared and/or per codec, "
                        "as --rate-points")


class _RateSubset(argparse.Action):
    """``--rate-points``/``--rate-exclude``: (shared labels, per-codec labels), checked as the option is read
    (a source path written after the option is caught here, not reported as a missing source)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None, option_string: str | None = None) -> None:
        from bench.bd.options import parse_rate_subset

        tokens = [values] if isinstance(values, str) else [str(v) for v in values or ()]
        try:
            setattr(namespace, self.dest, parse_rate_subset(self.option_strings[0], tokens))
        except ValueError as e:
            parser.error(str(e))


def _options(args: argparse.Namespace, default_metric: str) -> BDOptions:
    from bench.bd.options import BDOptions

    return BDOptions(metric=args.metric or default_metric, kind=args.kind, method=args.method,
                     min_points=args.min_points, min_overlap=args.min_overlap, repair=args.repair,
                     rate_points=args.rate_points[0], rate_exclude=args.rate_exclude[0],
                     rate_points_by_codec=args.rate_points[1], rate_exclude_by_codec=args.rate_exclude[1])


def _fraction(text: str) -> float:
    """A fraction from 0 to 1 (float() alone takes 'nan', which no comparison would ever flag)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a fraction from 0 to 1, e.g. 0.5")
    return value


def _positive(text: str) -> float:
    """A positive, finite number (a frame rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number, e.g. 30 or 29.97")
    return value


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    if not (w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: give the frame size as WIDTHxHEIGHT, e.g. 1920x1080")
    return int(w), int(h)


def _folder_for_output(path: Path, option: str) -> None:
    if path.exists() and not path.is_dir():
        raise BenchError(f"{option} {path}: is a file; give a folder (it is created if missing)")


def _import(args: argparse.Namespace) -> int:
    import json

    from bench.bd.importers import (
        GivenGeometry,
        check_import_folder,
        describe_import,
        import_sources,
        split_label,
    )
    from bench.conditions.datasets import DATASETS
    from bench.store.results import ResultStore

    _folder_for_output(args.out, "--out")
    check_import_folder(args.out)
    if args.dataset is not None and args.dataset not in DATASETS:
        raise BenchError(f"--dataset {args.dataset}: not a dataset with a manifest; these are: {', '.join(DATASETS)}")
    if (args.size is None) != (args.fps is None) and args.dataset is None:
        raise BenchError("--size and --fps go together (a kbps <-> bpp conversion needs both), or give --dataset")
    size: tuple[int, int] | None = args.size  # _size's (width, height), or None when --size is not given
    width, height = size if size is not None else (None, None)
    given = GivenGeometry(width, height, args.fps, args.dataset)
    imported = import_sources([split_label(s) for s in args.sources], given)
    records = imported.records
    store = ResultStore(args.out)
    for r in records:
        store.write(store.record_path(r["codec"]["name"], r["sequence"]["name"], r["rate_point"], r["key"]), r)
    n = len(imported.curves())
    print(f"{args.out}: {len(records)} RD points imported, {n} curve{'s' if n != 1 else ''}, each with the file(s) "
          "it comes from (bd and report read this folder as a source)")
    print("\n".join(describe_import(imported)))
    curves = {c: [str(p) for p in paths] for c, paths in imported.curves().items()}
    (args.out / "import.json").write_text(json.dumps({"sources": args.sources, "points": len(records),
                                                      "given": given.describe(), "curves": curves}, indent=1))
    return 0


def _bd(args: argparse.Namespace) -> int:
    from bench.bd.options import default_metric
    from bench.bd.sources import condition_flags, mismatch_message, mismatched_sources, sources_from
    from bench.report.bd_files import write_bd_tables
    from bench.report.tables import summary_frame

    sources = sources_from(args.sources, args.with_published)
    if mismatched_sources(sources, args.anchor) and not args.allow_condition_mismatch:
        raise BenchError(f"no BD table: {mismatch_message(sources, args.anchor)}")
    points = summary_frame([r for s in sources for r in s.records])
    if points.empty:
        raise BenchError(f"no BD table: no results in {', '.join(args.sources)}")
    yuv = "psnr_yuv_611" in points.columns and bool(points["psnr_yuv_611"].notna().any())
    _folder_for_output(args.out, "--out")
    text, paths = write_bd_tables(points, args.anchor, _options(args, default_metric(yuv)), args.out, "cli",
                                  condition_differs=condition_flags(sources, args.anchor))
    print(text)
    for label, path in paths.items():
        print(f"  {label}: {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from bench.bd.sources import sources_from
    from bench.report.html import build_report

    sources = sources_from(args.sources, args.with_published)
    name = Path(args.sources[0].partition("=")[2] or args.sources[0]).stem if len(args.sources) == 1 else "comparison"
    out = args.out or Path("reports") / name
    _folder_for_output(out, "--out")
    title = args.title or f"lvc-bench report: {', '.join(s.label for s in sources)}"
    path = build_report(sources, out, title, args.anchor, args.method, args.allow_condition_mismatch,
                        _options(args, ""), figures=not args.no_figures,  # metric "": every headline metric
                        font=args.font, table_times=args.table_times)
    print(f"report: {path}")
    return 0


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        gpus = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GPU numbers separated by commas (0,1,3), got {text!r}") from None
    if any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise argparse.ArgumentTypeError(f"expected distinct GPU numbers 0 or more, got {text!r}")
    return gpus


def _check_gpus(gpus: tuple[int, ...], executor: str) -> None:
    """--gpus names GPUs this machine has, for the executor that uses it; else stop before anything runs."""
    if executor != "local":
        raise BenchError(f"--gpus is for --executor local; with {executor} each job gets the GPUs its descriptor's "
                         "resources.gpus asks for")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if max(gpus) >= count:
        raise BenchError(f"--gpus {','.join(map(str, gpus))}: torch sees {count} CUDA device(s) here (numbered from 0, "
                         "after CUDA_VISIBLE_DEVICES); list only those")


def _run(args: argparse.Namespace) -> int:
    from bench.run.runner import RunOptions

    if args.jobs < 1:
        raise BenchError(f"--jobs must be 1 or more, got {args.jobs}")
    if args.retries < 0:
        raise BenchError(f"--retries must be 0 or more, got {args.retries}")
    if args.gpus:
        _check_gpus(args.gpus, args.executor)
    _folder_for_output(args.results, "--results")
    _folder_for_output(args.reports, "--reports")
    if args.executor == "local":  # a fresh installation: compile while the condition is read and planned
        from bench.metrics.warmup import warm_early_if_cold

        warm_early_if_cold()
    condition = _load(args)
    if condition.narrowed is not None:
        print(f"{condition.name}: {condition.narrowed.describe()} (its own results folder: "
              f"{args.results / condition.name})")
    remote = None
    if args.executor != "local":
        from bench.run.cluster import run_on_submitit

        remote = run_on_submitit
    return _run_locked(args, condition, RunOptions(args.results, args.jobs, args.retry_failed, not args.no_progress,
                                                   args.retries, args.executor, gpus=args.gpus, remote=remote,
                                                   wait=args.wait))


def _run_locked(args: argparse.Namespace, condition: Condition, options: RunOptions, code: bool = True) -> int:
    """run_condition and the outputs, the results folder's lock (bench.run.runlock) held from the end of planning to
    the last output; a run stopped by Ctrl-C or SIGTERM says what is done and what is left, and exits 128 + the
    signal's number."""
    import contextlib
    import dataclasses

    from bench.run.runner import run_condition

    with contextlib.ExitStack() as held:  # the lock run_condition takes, kept until the outputs are written
        outcome = run_condition(condition, dataclasses.replace(options, hold=held), code)
        if outcome.stopped:
            for line in outcome.stop_lines(condition.name, code):
                print(line, file=sys.stderr)
            return 128 + signal.Signals[outcome.stopped].value
        return _finish(args, condition, outcome)


def _outcome_line(name: str, outcome: RunOutcome) -> str:
    measured = (f", {outcome.measured} measured again ({outcome.measurements} measurements; {outcome.redecoded} "
                f"bitstreams decoded again, {outcome.restored} kept decodes restored)" if outcome.measured else "")
    # "coded": coded and ok; a job that failed is counted once, as failed
    return (f"{name}: {len(outcome.jobs)} jobs, {outcome.coded - outcome.coded_failed} coded{measured}, "
            f"{outcome.skipped} already recorded, "
            f"{len(outcome.failed)} failed"
            + (f", {len(outcome.not_recorded)} not recorded" if outcome.not_recorded else "")
            + f", {outcome.seconds:.1f} s")


def _not_recorded_lines(outcome: RunOutcome) -> list[str]:
    """The jobs that ended without a record, each cause once: a job alone with its own message, several with
    the cause in words common to them all and their count (a node running other code refuses every job)."""
    causes: dict[str, list[tuple[str, str]]] = {}
    for job, message, summary in outcome.not_recorded:
        causes.setdefault(summary, []).append((job.label, message))
    return [f"{jobs[0][0]}: {jobs[0][1]}" if len(jobs) == 1 else f"{summary} ({len(jobs)} jobs)"
            for summary, jobs in causes.items()]


def _remeasure(args: argparse.Namespace) -> int:
    import dataclasses

    from bench.metrics import measures
    from bench.run.runner import RunOptions

    if args.jobs < 1:
        raise BenchError(f"--jobs must be 1 or more, got {args.jobs}")
    condition = _load(args)
    spec = condition.metrics
    if args.metrics:
        keys = {m.condition_key: m for m in measures().values() if m.condition_key}
        extra = list(spec.requests)
        for name in (n.strip() for n in args.metrics.split(",") if n.strip()):
            if name not in keys:
                raise BenchError(f"--metrics {name}: not a measure; use one of {', '.join(sorted(keys))}")
            m = keys[name]
            value = m.condition_default if m.condition_default not in (False, None) else True
            extra += [r for r in m.requests_from_condition(value, f"--metrics {name}") if r not in extra]
        condition = dataclasses.replace(condition, metrics=dataclasses.replace(spec, requests=tuple(extra)))
    return _run_locked(args, condition, RunOptions(args.results, args.jobs, progress=not args.no_progress,
                                                   wait=args.wait), code=False)


def _migrate(args: argparse.Namespace) -> int:
    from bench.run.runlock import holding
    from bench.store.migrate import migrate_folder
    from bench.store.results import ResultStore

    skipped = 0
    for folder in args.folders:
        if not (folder / "records").is_dir():
            raise BenchError(f"{folder}: not a results folder (no records/ inside); pass results/<condition>")
        with holding(folder, "migrate", waitable=False):  # a run on the folder would rewrite the same records
            done = migrate_folder(ResultStore(folder))
        print(f"{folder}: {done.migrated} record(s) migrated"
              + (f", {len(done.skipped)} skipped (named below)" if done.skipped else ""))
        for line in done.skipped + done.strays:
            print(f"  skipped {line}", file=sys.stderr)
        skipped += len(done.skipped)
    return 2 if skipped else 0


def _finish(args: argparse.Namespace, condition: Condition, outcome: RunOutcome) -> int:
    """What run and remeasure print and write once their jobs are done: tables, BD, report, failures. Outputs
    made from exactly these records and settings are not written again (``--rebuild-outputs`` forces it)."""
    import dataclasses

    from bench.report.freshness import outputs_stamp, remember_outputs, unchanged_outputs
    from bench.store.results import ResultStore

    store = ResultStore(args.results / condition.name)
    figures = not getattr(args, "no_figures", False)
    settings = {"condition": condition.expanded_text(), "coding": condition.coding_fields(), "anchor": condition.anchor,
                "metrics": condition.metrics.describe(), "codecs": [c.name for c in condition.codecs],
                "reports": str(args.reports), "figures": figures,
                "font": args.font, "table_times": args.table_times,
                "bd": dataclasses.asdict(_options(args, _default_metric(condition)))}
    stamp = outputs_stamp(store, outcome.jobs, settings)
    print(_outcome_line(condition.name, outcome))
    state = None if getattr(args, "rebuild_outputs", False) else unchanged_outputs(store, stamp)
    if state is not None:
        print(state["text"])
        print("  (no record changed since these outputs were written: nothing rewritten; --rebuild-outputs "
              "writes them again)")
        paths = {k: Path(v) for k, v in state["paths"].items()}
    else:
        from bench.report.run_outputs import write_run_outputs

        text, paths = write_run_outputs(condition, outcome.jobs, args.results, args.reports,
                                        _options(args, _default_metric(condition)), figures, args.font,
                                        args.table_times)
        remember_outputs(store, stamp, text, paths)
    for label, path in paths.items():
        print(f"  {label}: {path}")
    return _report_failures(store, outcome)


def _default_metric(condition: Condition) -> str:
    from bench.bd.options import default_metric

    return default_metric(yuv=not all(s.fmt.family == "rgb" for s in condition.sequences))


def _report_failures(store: ResultStore, outcome: RunOutcome) -> int:
    """Cautions, jobs not measured, metrics that are not finite, failed jobs and jobs that left no record, and
    the exit code they make."""
    from bench.store.labels import cautions

    records = store.run_records()
    non_finite, said = _non_finite_lines(store, records)
    for codec, text in cautions(records):
        if text not in said:  # a non-finite job's caution: said once, below, with its file's path
            print(f"  CAUTION {codec}: {text}")
    for job, message in outcome.measure_failed:
        print(f"  NOT MEASURED {job.label}: {message}", file=sys.stderr)
    for line in non_finite:
        print(f"  NON-FINITE {line}", file=sys.stderr)
    _report_unfinished(outcome)
    return _failure_exit_code(outcome, len(non_finite))


def _report_unfinished(outcome: RunOutcome) -> None:
    """The FAILED and NOT RECORDED lines of the jobs that ended without a good record, each kind with its error
    line."""
    if outcome.failed:
        from bench.store.labels import failure, job_name

        for record in outcome.failed:  # named as the run's own FAILED lines name them (bench.run.jobs.Job.label)
            print(f"  FAILED {job_name(record)}: {failure(record)['message']}", file=sys.stderr)
        print(f"error: {len(outcome.failed)} job(s) failed; fix the cause and rerun (add --retry-failed to code the "
              "same jobs again unchanged, e.g. after a crash)", file=sys.stderr)
    for line in _not_recorded_lines(outcome):
        print(f"  NOT RECORDED {line}", file=sys.stderr)
    if outcome.not_recorded:  # not failed: nothing is stored, so a plain run codes them
        print(f"error: {len(outcome.not_recorded)} job(s) ended without a record (killed or stopped by the "
              "scheduler, or not run); run again to code them", file=sys.stderr)


def _failure_exit_code(outcome: RunOutcome, non_finite_jobs: int) -> int:
    """1 when a job failed, left no record, could not be measured or has metrics that are not finite (the last
    two say so here in an error line; the first two have had theirs), else 0."""
    if outcome.failed or outcome.not_recorded:
        return 1
    if outcome.measure_failed:
        print(f"error: {len(outcome.measure_failed)} job(s) could not be measured", file=sys.stderr)
        return 1
    if non_finite_jobs:
        print(f"error: {non_finite_jobs} job(s) have metrics that are not finite numbers (shown as no value, "
              "never as numbers); delete the measurement files named above and run `evaluate.py remeasure`",
              file=sys.stderr)
        return 1
    return 0


def _non_finite_lines(store: ResultStore, records: list[Record]) -> tuple[list[str], set[str]]:
    """One line per job with a metric whose per-frame values are not all finite (bench.metrics.pooling): its
    caution, naming the measurement files by their paths; and the cautions these lines replace."""
    from bench.metrics.pooling import non_finite_caution

    lines, said = [], set()
    for r in records:
        if not r.get("non_finite"):
            continue
        files = sorted({str(p) for e in r["non_finite"]
                        for p in store.measurement_dir(r).glob(f"*_{e['measurement_key'][:16]}.json")})
        lines.append(f"{r['codec']['name']}: {non_finite_caution(r, r['non_finite'], files or None)}")
        said.add(non_finite_caution(r, r["non_finite"]))
    return lines, said


def _status(args: argparse.Namespace) -> int:
    from bench.run.status import condition_status

    print(condition_status(_load(args), args.results).render())
    return 0


def _protocol(text: str) -> tuple[str, dict[str, Any]]:
    """What TEXT names, as a label and a protocol: a run's results folder, a published curve id, or a condition."""
    from bench.bd.published import catalogue
    from bench.bd.published import protocol as published_protocol
    from bench.conditions.condition import load_condition, unset_variables_kept
    from bench.conditions.diff import protocol

    path = Path(text)
    if path.is_dir():
        if not (path / "condition.yaml").is_file():
            raise BenchError(f"{path}: no condition.yaml in it, so not a run's results folder; give a run's folder "
                             "(results/NAME), a condition file or name, or a published curve id (evaluate.py ls)")
        from bench.conditions.diff import with_identities
        from bench.store.results import ResultStore

        with unset_variables_kept():
            stated = protocol(load_condition(path / "condition.yaml"))
        return f"results folder {path}", with_identities(stated, list(ResultStore(path).run_records()))
    if text in catalogue():
        return f"published curve {text}", published_protocol(text)
    with unset_variables_kept():  # a checkout's ${VAR} names where it is, not what the protocol is
        return f"condition {text}", protocol(load_condition(_condition_file(text)))


def _diff(args: argparse.Namespace) -> int:
    from bench.conditions.diff import changes_numbers, differences, render

    (label_a, a), (label_b, b) = _protocol(args.a), _protocol(args.b)
    found = differences(a, b)
    print(render(found, label_a, label_b))
    return 1 if changes_numbers(found) else 0


def _validate(args: argparse.Namespace) -> int:
    from bench.run.runner import SequenceProblems, survey

    condition = _load(args)
    checked, jobs, _ = survey(condition)  # every sequence checked: each bad one is named, not just the first
    bad = [c for c in checked if c.error is not None]

    def count(n: int, noun: str) -> str:  # "1 sequence", "4 sequences"
        return f"{n} {noun}{'' if n == 1 else 's'}"

    print(f"{condition.name}: {count(len(condition.sequences), 'sequence')}"
          + (f" ({len(bad)} cannot be used, named below)" if bad else "")
          + f", {count(len(condition.codecs), 'codec')}, {count(len(jobs), 'job')}" + (" of the others" if bad else ""))
    if condition.narrowed is not None:
        print(f"  ({condition.narrowed.describe()})")
    for c in checked:
        if c.source is not None and c.source_id is not None:
            s, ident = c.source, c.source_id
            print(f"  {c.sequence.name}: {s.path} ({s.width}x{s.height} {s.fmt.name} {s.fps:g} fps, frames "
                  f"{ident.first}..{ident.first + ident.count - 1})")
    if bad:  # one error: line each (main prints them), the exit code 2 of every user-fixable problem
        raise SequenceProblems([str(c.error) for c in bad])
    return 0


def _ls(_: argparse.Namespace) -> int:
    from bench.adapters import adapter_class, adapter_names, adapter_origin
    from bench.conditions.condition import REPO_ROOT
    from bench.conditions.datasets import DATASETS, dataset_names
    from bench.conditions.demo import SEQUENCE_NAMES as DEMO_SEQUENCES

    print("datasets:")
    for name in dataset_names():
        seqs = DATASETS.get(name)
        print(f"  {name}" + (f" ({len(seqs)} sequences)" if seqs else f" ({len(DEMO_SEQUENCES)} sequences, "
                             f"generated on first use: {', '.join(DEMO_SEQUENCES)})" if name == "demo" else ""))
    names = adapter_names()
    print("adapters: " + ", ".join(n for n in names if adapter_origin(n) == "built-in"))
    for n in names:
        if adapter_origin(n) != "built-in":
            print(f"  {n}: {adapter_origin(n)}; {adapter_class(n).capabilities.describe()}")
    from bench.metrics import measures, metrics

    print("metrics: " + ", ".join(metrics()))
    print("measures (metrics: keys): " + ", ".join(f"{m.condition_key or m.name} ({m.scope})" for m in measures().values()))
    print("codecs (codecs/*.yaml): " + ", ".join(sorted(p.stem for p in (REPO_ROOT / "codecs").glob("*.yaml"))))
    from bench.adapters.plugins import plugin_descriptors

    shipped = plugin_descriptors()
    if shipped:  # the repository's own come first when a condition names one (bench.conditions.condition.find_descriptor)
        print("codecs (from plug-ins): " + ", ".join(
            f"{d.name} ({d.dist}" + ("; the repository's codecs/ has one of that name, used instead)"
                                     if (REPO_ROOT / "codecs" / f"{d.name}.yaml").is_file() else ")")
            for d in sorted(shipped.values(), key=lambda d: d.name)))
    print("conditions: " + ", ".join(sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "conditions").glob("*.yaml"))))
    from bench.bd.published import catalogue, load, protocol_words

    print("published curves (--with-published ID; evaluate.py diff ID CONDITION compares the protocol each states):")
    for curve_id in catalogue():
        curve = load(curve_id)
        print(f"  {curve_id}: {curve['title']}; {protocol_words(curve)}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from bench.checks.doctor import doctor

    return doctor(args.codecs, args.conditions)


def _selftest(args: argparse.Namespace) -> int:
    from bench.checks.selftest import selftest

    return selftest(args.only)


def _check_adapter(args: argparse.Namespace) -> int:
    from bench.checks.adapter_check import check_adapter_command

    return check_adapter_command(args.adapter, args.params, args.rate_points, run=not args.no_run)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run", *argv]
    args = _parser().parse_args(argv)
    from bench.interrupts import sigterm_as_keyboard_interrupt
    from bench.store.results import ResultStore, forget_warnings

    ResultStore.strict = bool(getattr(args, "strict", False))
    forget_warnings()  # each command warns afresh (several commands may run in one process: the tests)
    handlers = {"run": _run, "remeasure": _remeasure, "migrate": _migrate, "status": _status, "bd": _bd,
                "report": _report, "import": _import, "validate": _validate, "diff": _diff, "ls": _ls, "doctor": _doctor,
                "selftest": _selftest, "check-adapter": _check_adapter}
    try:
        with sigterm_as_keyboard_interrupt():  # outside a run's jobs SIGTERM ends the command as Ctrl-C does
            return handlers[args.command](args)
    except BenchError as e:
        for line in getattr(e, "lines", None) or [str(e)]:  # several problems (bad sequences): a line each
            print(f"error: {line}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a read-only folder: named as what it is, one line
        from bench.errors import environment_problem

        where = [str(p) for p in (getattr(args, a, None) for a in ("results", "reports", "out")) if p is not None]
        problem = environment_problem(e, f"a file under {' or '.join(where)}" if where else "")
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"interrupted{f' by {e}' if str(e) else ''}: records written so far are complete; rerun to finish",
              file=sys.stderr)
        return 128 + (signal.Signals[str(e)].value if str(e) in signal.Signals.__members__ else signal.SIGINT)
