"""The Python API: the command line's engine for notebooks and training loops, its results as pandas objects.

    from bench import api

    run = api.evaluate("demo", codecs=["x264", "x265"], sequences=["HopperPan"], frames=8)
    run.summary                      # one row per job: summary.csv's columns
    run.bd("x265").classes           # BD tables against x265 (per_sequence, classes, average_curve, times)
    api.bd([run, "results/other"], anchor="x265", published=["uvg/vtm-17"])

:func:`evaluate` runs a condition exactly as ``evaluate.py run`` does (the same planning, job keys, records,
measurements and resumption: a second call codes nothing), narrowed by ``sequences``/``frames`` as
``--sequences``/``--frames`` narrow it, with its codecs replaced by ``codecs`` where given (descriptor names or
inline entries, as a condition file writes them; :func:`model_codec` writes the entry of your own model's
factory). Nothing but the results folder is written unless ``report=True`` (then the run's summary, tables,
figures and page, as the command line writes them). :func:`bd` is ``evaluate.py bd``: results folders (or
evaluations) and published curves in, the BD tables out, refused across conditions unless allowed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.conditions.condition import Condition
    from bench.report.bd_files import BDTables
    from bench.run.jobs import Job
    from bench.store.record import Record

class _Keep:
    """The type of :data:`KEEP` (a value no codec name can equal)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # anchor=KEEP: the condition's anchor, where the codecs given still include it


@dataclass
class Evaluation:
    """A run of a condition: where its records are, and the records of its planned jobs (in job order)."""

    condition: Condition
    results_dir: Path
    records: list[Record]  # pooled as the condition's metrics say
    coded: int
    failed: int
    report: Path | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """One row per job, as summary.csv."""
        from bench.report.tables import summary_frame

        return summary_frame(self.records)

    @property
    def frames(self) -> pd.DataFrame:
        """One row per coded frame, as frames.csv."""
        from bench.report.tables import frames_frame

        return frames_frame(self.records)

    def bd(self, anchor: str | None = None, **options: Any) -> BDTables:
        """This run's BD tables against ANCHOR (default: the condition's), from this evaluation's own records
        (not what its folder holds now: a later evaluation under the same name replaces its planned jobs);
        OPTIONS as :func:`bd` takes them."""
        anchor = anchor or self.condition.anchor
        if anchor is None:
            raise BenchError(f"{self.condition.name}: no anchor: name one (run.bd('x265'))")
        return bd([self], anchor, **options)


def model_codec(name: str, factory: str, rate_points: Sequence[Any], *, kind: str = "image",
                options: Mapping[str, Any] | None = None, files: Sequence[str | Path] = (),
                path: Sequence[str | Path] = (), python: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """A codec entry for your own model (``adapter: python-model``): FACTORY ``package.module:function`` returns
    the codec for a rate point (the protocol in the README); OPTIONS are its keyword arguments and FILES the
    checkpoints it reads (both part of the job key: another checkpoint is another job); PATH the folders to
    import it from."""
    params: dict[str, Any] = {"model": factory, "kind": kind, "options": dict(options or {}),
                              # Absolute: a condition resolves relative paths from its own folder, not from here.
                              "files": [str(Path(f).resolve()) for f in files],
                              "path": [str(Path(p).resolve()) for p in path], "device": device}
    if python is not None:
        params["python"] = python
    return {"name": name, "adapter": "python-model", "params": params, "rate_points": list(rate_points)}


def _codec_name(entry: str | Mapping[str, Any]) -> str:
    return entry if isinstance(entry, str) else str(entry.get("name") or entry.get("descriptor"))


def _overrides(base_anchor: str | None, codecs: Sequence[str | Mapping[str, Any]] | None, name: str | None,
               anchor: str | None | _Keep) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if codecs is not None:
        out["codecs"] = [c if isinstance(c, str) else dict(c) for c in codecs]
    if name is not None:
        out["name"] = name
    if not isinstance(anchor, _Keep):
        out["anchor"] = anchor
    elif codecs is not None and base_anchor not in [_codec_name(c) for c in codecs]:
        out["anchor"] = None  # the condition's anchor is not among the codecs given: no anchor, unless named
    return out


def evaluate(condition: str | Path, *, codecs: Sequence[str | Mapping[str, Any]] | None = None,
             name: str | None = None, anchor: str | None | _Keep = KEEP, sequences: Sequence[str] | None = None,
             frames: int | None = None, data_root: str | Path | None = None, results: str | Path = "results",
             jobs: int = 1, progress: bool = False, retry_failed: bool = False, report: bool = False,
             reports: str | Path = "reports") -> Evaluation:
    """Run CONDITION (a file, or a name as ``--conditions`` takes it) and return its records. NAME: the results
    folder's name (default: the condition's; give one per checkpoint or codec set that should not share it)."""
    from bench.conditions.condition import condition_path, load_condition, narrow, unset_variables_kept
    from bench.report.run_outputs import read_run_records
    from bench.run.runner import RunOptions, run_condition
    from bench.store.results import ResultStore

    path = condition_path(str(condition))
    with unset_variables_kept():  # only its anchor is read: codecs that will not run need no checkout
        base_anchor = load_condition(path, data_root).anchor
    loaded = load_condition(path, data_root, _overrides(base_anchor, codecs, name, anchor))
    cond = narrow(loaded, frames, None if sequences is None else list(sequences))
    with contextlib.ExitStack() as hold:  # the folder stays locked until its records (and outputs) are read
        outcome = run_condition(cond, RunOptions(results_dir=Path(results), jobs=jobs, progress=progress,
                                                 retry_failed=retry_failed, hold=hold))
        if outcome.stopped is not None:
            raise KeyboardInterrupt(outcome.stopped)
        store = ResultStore(Path(results) / cond.name)
        page = _write_outputs(cond, outcome.jobs, Path(results), Path(reports)) if report else None
        records = read_run_records(store, outcome.jobs, cond.metrics).by_job
    return Evaluation(cond, store.root.resolve(), records, outcome.coded, len(outcome.failed), page)


def _write_outputs(condition: Condition, jobs: list[Job], results: Path, reports: Path) -> Path:
    """What ``evaluate.py run`` writes after its jobs (summary, tables, figures, the page), with the run
    command's default BD options; the page's path."""
    from bench.bd.options import BDOptions, default_metric
    from bench.report.run_outputs import write_run_outputs

    yuv = not all(s.fmt.family == "rgb" for s in condition.sequences)
    _, paths = write_run_outputs(condition, jobs, results, reports, BDOptions(metric=default_metric(yuv)),
                                 say=lambda _text: None)
    return paths["report"]


def bd(sources: Sequence[Evaluation | str | Path], anchor: str, *, published: Sequence[str] = (),
       metric: str | None = None, method: str = "pchip", allow_condition_mismatch: bool = False) -> BDTables:
    """``evaluate.py bd``: the BD tables (:class:`bench.report.bd_files.BDTables`: ``per_sequence``, ``classes``
    (JVET convention), ``average_curve`` (DCVC convention), ``times``) of SOURCES (evaluations, results
    folders, imported files) and PUBLISHED curves (ids) against ANCHOR (a codec name as the tables name it)."""
    from bench.bd.options import BDOptions, default_metric
    from bench.bd.sources import condition_flags, mismatch_message, mismatched_sources, sources_from
    from bench.report.bd_files import compute_bd_tables
    from bench.report.tables import summary_frame

    evaluations = [s for s in sources if isinstance(s, Evaluation)]
    folders = [e.results_dir for e in evaluations]
    if len(set(folders)) < len(folders):
        twice = next(f for f in folders if folders.count(f) > 1)
        raise BenchError(f"two evaluations of one results folder ({twice}): the later one's jobs replaced the "
                         "earlier one's there; give each its own name= to compare them side by side")
    # An evaluation's own records, not what its folder holds now (a later evaluation may have replaced them).
    found = sources_from([str(s.results_dir) if isinstance(s, Evaluation) else str(s) for s in sources], published,
                         loaded={e.results_dir: e.records for e in evaluations})
    if mismatched_sources(found, anchor) and not allow_condition_mismatch:
        raise BenchError(f"no BD table: {mismatch_message(found, anchor)}")
    points = summary_frame([r for s in found for r in s.records])
    if points.empty:
        raise BenchError("no BD table: no results in the sources given")
    yuv = "psnr_yuv_611" in points.columns and bool(points["psnr_yuv_611"].notna().any())
    options = BDOptions(metric=metric or default_metric(yuv), method=method)
    return compute_bd_tables(points, anchor, options, condition_flags(found, anchor))
