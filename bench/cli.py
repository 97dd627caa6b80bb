"""Command line: ``python evaluate.py [run] --conditions FILE`` and the helper subcommands.

Subcommands: ``run`` (the default), ``validate`` (load a condition and check its data without coding),
``ls`` (datasets, codecs, conditions, adapters) and ``doctor`` (are the codec tools there, which versions).
A user-fixable problem prints one ``error:`` line and exits 2; failed jobs make ``run`` exit 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.errors import BenchError

SUBCOMMANDS = ("run", "validate", "ls", "doctor")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evaluate.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="code and measure every job of a condition (the default)")
    run.add_argument("--conditions", required=True, type=Path, help="test condition YAML file")
    run.add_argument("--data-root", type=Path, help="folder holding the sequence files (overrides the condition)")
    run.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="reports folder (default: reports)")
    run.add_argument("--jobs", type=int, default=1, help="jobs to run at once (default: 1)")
    run.add_argument("--retry-failed", action="store_true", help="rerun jobs recorded as failed")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    val = sub.add_parser("validate", help="load a condition and check its sequences; no coding")
    val.add_argument("--conditions", required=True, type=Path)
    val.add_argument("--data-root", type=Path)

    sub.add_parser("ls", help="list datasets, codec descriptors, conditions and adapters")
    doc = sub.add_parser("doctor", help="check that each codec's tools are installed, print versions")
    doc.add_argument("--conditions", type=Path, help="check only this condition's codecs")
    return parser


def _run(args: argparse.Namespace) -> int:
    from bench.conditions import load_condition
    from bench.outputs import write_outputs
    from bench.runner import RunOptions, run_condition

    if args.jobs < 1:
        raise BenchError(f"--jobs must be 1 or more, got {args.jobs}")
    condition = load_condition(args.conditions, args.data_root)
    outcome = run_condition(condition, RunOptions(args.results, args.jobs, args.retry_failed, not args.no_progress))
    paths = write_outputs(condition, outcome.jobs, args.results, args.reports)
    print(f"{condition.name}: {len(outcome.jobs)} jobs, {outcome.coded} coded, {outcome.skipped} already recorded, "
          f"{len(outcome.failed)} failed, {outcome.seconds:.1f} s")
    for label, path in paths.items():
        print(f"  {label}: {path}")
    if outcome.failed:
        for record in outcome.failed:
            print(f"  FAILED {record['codec']['name']} / {record['sequence']['name']} / {record['rate_point']}: "
                  f"{record['error']['message']}", file=sys.stderr)
        print(f"error: {len(outcome.failed)} job(s) failed; fix the cause and rerun with --retry-failed",
              file=sys.stderr)
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    from bench.conditions import load_condition
    from bench.runner import plan

    condition = load_condition(args.conditions, args.data_root)
    jobs, _ = plan(condition)
    seqs = {j.sequence.name: j for j in jobs}
    print(f"{condition.name}: {len(condition.sequences)} sequences, {len(condition.codecs)} codecs, {len(jobs)} jobs")
    for name, job in seqs.items():
        print(f"  {name}: {job.source.path} ({job.source.width}x{job.source.height} {job.source.fmt.name} "
              f"{job.source.fps:g} fps, frames {job.source_id.first}..{job.source_id.first + job.source_id.count - 1})")
    return 0


def _ls(_: argparse.Namespace) -> int:
    from bench.adapters import adapter_names
    from bench.conditions import REPO_ROOT
    from bench.datasets import DATASETS, dataset_names

    print("datasets:")
    for name in dataset_names():
        seqs = DATASETS.get(name)
        print(f"  {name}" + (f" ({len(seqs)} sequences)" if seqs else " (generated on first use)"))
    print("adapters: " + ", ".join(adapter_names()))
    print("codecs (codecs/*.yaml): " + ", ".join(sorted(p.stem for p in (REPO_ROOT / "codecs").glob("*.yaml"))))
    print("conditions: " + ", ".join(sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "conditions").glob("*.yaml"))))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from bench.adapters import adapter_class, adapter_names
    from bench.conditions import load_condition

    if args.conditions:
        specs = [(c.name, c.adapter, c.params_dict) for c in load_condition(args.conditions).codecs]
    else:
        specs = [(n, n, {}) for n in adapter_names()]
    problems = 0
    for name, adapter, params in specs:
        try:
            print(f"  ok   {name}: {adapter_class(adapter)(params).doctor()}")
        except BenchError as e:
            problems += 1
            print(f"  FAIL {name}: {e}")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    args = _parser().parse_args(argv)
    handlers = {"run": _run, "validate": _validate, "ls": _ls, "doctor": _doctor}
    try:
        return handlers[args.command](args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: records written so far are complete; rerun to finish", file=sys.stderr)
        return 130
