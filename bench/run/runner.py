"""Run a condition: plan the jobs, skip what is recorded, code what is not, measure what is missing.

This is the one measurement path. For every job not yet coded the runner (one job: :mod:`bench.run.one_job`;
its input and measured window: :mod:`bench.run.inputs`; GPUs and threads: :mod:`bench.run.scheduling`)

1. prepares the input: the condition's frame range of the source, cropped if the condition says so,
   converted to the coding format and then to the format the codec takes, padded to the condition's
   multiple; written once per sequence and format as a raw file;
2. lets the adapter encode it to real bitstream(s) and decode them in a separate step;
3. checks that the decoder returned exactly the frames it was given, and hashes them;
4. converts the decoded frames back (codec format -> coding format -> source format, cropping away any
   padding) and measures every frame against the untouched source frames with :mod:`bench.metrics`;
5. keeps the decoded frames (FFV1) if the codec cannot decode its stream again (:mod:`bench.run.decoded`);
6. writes each measurement, then the record (the commit point), atomically. Rate is the bitstream bytes x 8.

A job already coded whose condition now asks for a measurement it lacks (a new metric, a new metric version)
is only measured: its frames are re-decoded from the stored bitstream or restored from the kept copy, checked
against the hash taken at coding time, and measured. Pooling and the PSNR peak need no measuring at all.

A failed job becomes a failed record (message and stderr tail) and the run goes on.

One run (or remeasure) at a time per results folder: the run holds its lock (:mod:`bench.run.runlock`). The first
Ctrl-C or SIGTERM stops it cleanly (:mod:`bench.interrupts`): no new job starts, the jobs in flight are stopped
and not recorded, and the outcome says what is done and what is left; the next run finishes the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypedDict

from tqdm import tqdm

from bench import interrupts
from bench.adapters import adapter_class
from bench.adapters.base import Adapter
from bench.conditions.condition import CodecSpec, Condition
from bench.conditions.datasets import SequenceInfo, SourceFile, locate, open_source
from bench.errors import AdapterError, BenchError, ConditionError, DataError
from bench.files import not_a_file
from bench.metrics.backends import make_backend
from bench.metrics.measuring import wanted_key
from bench.metrics.registry import MeasureRequest
from bench.run.inputs import InputCache, geometry
from bench.run.jobs import Job, SourceIdentity, identify_source, job_key
from bench.run.one_job import (
    CODING,
    MEASURING,
    ChangedSinceCoding,
    can_measure_again,
    measure_job,
    missing_measurements,
    run_job_with_retries,
    without_adapter_name,
)
from bench.run.runlock import holding
from bench.run.scheduling import CodingSlots, GpuSlots, available_cores, limit_torch_threads
from bench.store.labels import failure
from bench.store.record import Record
from bench.store.results import ResultStore, atomic_write_text, warn


@dataclass
class RunOptions:
    results_dir: Path = Path("results")
    jobs: int = 1  # local: jobs at once; submitit-local: processes at once; slurm: array tasks at once per codec
    retry_failed: bool = False
    progress: bool = True
    retries: int = 0  # run a failed job again up to this many times in the same run
    executor: str = "local"  # local threads, or one submitit job per coding job (slurm, or submitit's local)
    # For another executor: what submits the coding jobs and yields their records (a NotRecorded for a job that
    # left none; bench.run.cluster.run_on_submitit, given by the caller, so that the runner never imports the cluster
    # code that imports it).
    remote: Callable[..., Iterable[Record | NotRecorded]] | None = None
    gpus: tuple[int, ...] = ()  # local: GPU jobs pinned one per listed GPU; empty: each on its descriptor's device
    wait: bool = False  # another run holds the results folder: wait for it (default: refuse, naming it)
    # Where the results folder's lock goes once taken: the caller's stack keeps it held until the caller is done
    # (the command's tables and report); None: released when run_condition returns.
    hold: contextlib.ExitStack | None = None


class NotRecorded(dict[str, Any]):
    """What the remote executor yields for a job that ended without a record: the failed record it would have
    been (never written to the store) and SUMMARY, its cause without the job's own cluster id and log, so that
    the run's summary says each cause once with the count of jobs it hit.

    It reads as that record does (its key, status, error), but it is no Record: nothing stored, nothing counted
    as coded or failed. Its type says so, so that whatever takes the executor's records tells it apart
    (``isinstance``) before counting one."""

    def __init__(self, record: Record, summary: str) -> None:
        super().__init__(record)
        self.summary = summary


class _Unfinished(TypedDict):
    """A job the run's stop reached before it started or while it ran (nothing recorded: the next run does it),
    or, through the remote executor, one found changed since coding, to be submitted (``code_again``)."""

    status: Literal["not_started", "interrupted", "code_again"]


class _MeasureFailed(TypedDict):
    """A coded job whose measuring failed, and why (its record stays; the next run measures it again)."""

    status: Literal["measure_failed"]
    message: str


class _Measured(TypedDict):
    """A coded job measured again: how its frames were had again (re-decoded, restored) and documents written."""

    status: Literal["measured"]
    how: str
    documents: int


# What running one job gives (see _Work.one): its record (coded now, ok or failed), or how else it ended.
JobResult = Record | _Unfinished | _MeasureFailed | _Measured


@dataclass
class RunOutcome:
    jobs: list[Job]
    coded: int = 0  # jobs coded (encoded, decoded, measured), failed ones included
    coded_failed: int = 0  # of those, how many failed (the run line counts only the others as coded)
    measured: int = 0  # jobs coded earlier that were only measured (missing measurements)
    redecoded: int = 0  # of those, how many had their stored bitstream decoded again
    restored: int = 0  # ... and how many had their kept decoded frames restored
    measurements: int = 0  # measurement documents written
    skipped: int = 0
    failed: list[Record] = field(default_factory=list)
    measure_failed: list[tuple[Job, str]] = field(default_factory=list)
    # Remote jobs that ended without a record (killed or stopped by the scheduler, gone from its queue, refused by
    # a node running other code): (job, its message, the same cause in words common to every job it hit). Not
    # failed: nothing is stored, so the next plain run codes them.
    not_recorded: list[tuple[Job, str, str]] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM); None: it ran to its end
    interrupted: list[Job] = field(default_factory=list)  # in flight when it stopped: stopped, not recorded
    not_started: list[Job] = field(default_factory=list)  # not started because it stopped
    stop_seconds: float = 0.0  # from the signal to the end of the last job in flight

    def stop_lines(self, name: str, code: bool = True) -> list[str]:
        """What a stopped run says: how fast it stopped, what is done, what is left and how to finish."""
        left = len(self.interrupted) + len(self.not_started)
        done = "coded" if code else "measured"
        return [f"stopped by {self.stopped}: no job started after it; the {len(self.interrupted)} job(s) in flight "
                f"were stopped and are not recorded ({self.stop_seconds:.2f} s from the signal to the last one's end)",
                f"{name}: {len(self.jobs)} jobs: {len(self.jobs) - left} done ({self.coded + self.measured} {done} in "
                f"this run, {len(self.failed)} failed), {left} left ({len(self.interrupted)} stopped mid-job, "
                f"{len(self.not_started)} not started); nothing half-written is kept",
                f"run the same command again to finish the {left} left" if left else "nothing is left to do"]


# --- planning ------------------------------------------------------------------------------------------------

def plan(condition: Condition, only_sequence: str | None = None,
         only_codec: str | None = None) -> tuple[list[Job], dict[str, Adapter]]:
    """Locate and check every sequence, identify the frames read, and key every job. No coding happens here;
    any problem with the data stops the run before anything is written, naming every bad sequence at once (one
    bad sequence: its own error; several: :class:`SequenceProblems`, one line each). ONLY_SEQUENCE plans that
    sequence alone, ONLY_CODEC that codec alone (a cluster node running one job reads and hashes just its own
    source)."""
    checked, jobs, adapters = survey(condition, only_sequence, only_codec)
    bad = [c.error for c in checked if c.error is not None]
    if len(bad) == 1:
        raise bad[0]
    if bad:
        raise SequenceProblems([str(e) for e in bad])
    return jobs, adapters


@dataclass(frozen=True)
class CheckedSequence:
    """One sequence as planning found it: its file and the frames read, or what is wrong with it."""

    sequence: SequenceInfo
    source: SourceFile | None = None
    source_id: SourceIdentity | None = None
    error: BenchError | None = None


class SequenceProblems(DataError):
    """Several sequences of a condition cannot be used; ``lines``: one self-contained line each (the command line
    prints each as its own ``error:`` line)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def survey(condition: Condition, only_sequence: str | None = None, only_codec: str | None = None
           ) -> tuple[list[CheckedSequence], list[Job], dict[str, Adapter]]:
    """Check every sequence (a bad one does not stop the checks of the others: ``validate`` lists them all) and
    key the jobs of the good ones. A codec problem (its parameters, a rate point) still stops at once: it is
    not a sequence's."""
    codecs = [c for c in condition.codecs if only_codec is None or c.name == only_codec]
    adapters = {c.name: adapter_class(c.adapter)(c.params_dict) for c in codecs}
    for name, adapter in adapters.items():
        adapter.check_condition(condition.intra_period, f"{condition.path}: codec {name}")
    identities = {name: a.identity() for name, a in adapters.items()}
    checked = [_check_sequence(condition, seq, adapters) for seq in condition.sequences
               if only_sequence is None or seq.name == only_sequence]
    jobs = []
    for c in checked:
        if c.source is None or c.source_id is None:
            continue
        for codec in codecs:
            for i, rp in enumerate(codec.rate_points):
                try:
                    extra = adapters[codec.name].rate_point_identity(rp)
                except (AdapterError, ConditionError) as e:
                    raise type(e)(_rate_point_problem(condition, codec, i, rp, str(e))) from None
                identity = {**identities[codec.name], **extra}
                key = job_key(condition, c.source_id, c.sequence, identity, rp)
                jobs.append(Job(condition, c.sequence, c.source, c.source_id, codec, identity, rp, key))
    return checked, jobs, adapters


def _rate_point_problem(condition: Condition, codec: CodecSpec, index: int, rate_point: Any, message: str) -> str:
    """One line for a rate point its codec refuses: the file that lists it (the descriptor's, or the condition's
    where the codec is written there), the codec as the user named it (left out where the file is named after
    it), the key, the rate point, then the adapter's MESSAGE without its own ``codec <adapter>: ``; each once."""
    file = Path(codec.defined_in) if codec.defined_in else condition.path
    named = "" if file.stem == codec.name and file.resolve() != condition.path.resolve() else f"codec {codec.name}: "
    message = without_adapter_name(message, codec)
    value = "" if message.startswith(f"rate point {rate_point!r}") else f"{json.dumps(rate_point)}: "
    return f"{file}: {named}rate_points[{index}]: {value}{message}"


def _check_sequence(condition: Condition, seq: SequenceInfo, adapters: dict[str, Adapter]) -> CheckedSequence:
    """Locate SEQ, check it against its manifest and the condition (frames, size, the codecs' input formats)
    and hash the frames read; a problem is kept, named, for the caller to report with the others."""
    try:
        path = locate(seq, condition.data_root)
        source = open_source(seq, path)
        first = condition.frames.first
        count = condition.frames.count if condition.frames.count is not None else source.num_frames - first
        if count < 1 or first + count > source.num_frames:
            raise DataError(f"sequence {seq.name}: {path}: holds {source.num_frames} frames but the condition asks "
                            f"for frames {first}..{first + (condition.frames.count or 1) - 1}; use a shorter frame "
                            "count (--frames N) or the complete file")
        if seq.frames is not None and source.num_frames > seq.frames:
            raise DataError(f"sequence {seq.name}: {path}: holds {source.num_frames} frames, more than the "
                            f"{seq.frames} its manifest lists; is it the right file?")
        g = geometry(condition, source.width, source.height)
        if condition.spatial.mode == "none" and source.fmt.chroma == "420" and (g.coded_width % 2 or g.coded_height % 2):
            raise DataError(f"sequence {seq.name}: {path}: {source.width}x{source.height} is odd, which 4:2:0 codecs "
                            "cannot take; set spatial.mode to pad or crop")
        coding = condition.colour.coding(source.fmt)
        for adapter in adapters.values():
            try:  # a format the codec cannot take is known now, not after the first encode
                adapter.input_format(coding)
            except AdapterError as e:
                raise AdapterError(f"{condition.path}: sequence {seq.name} ({coding.name}): {e}; set "
                                   "colour.coding_format to one it takes") from None
        return CheckedSequence(seq, source, identify_source(source, first, count))
    except BenchError as e:
        return CheckedSequence(seq, error=e)


# --- the run -------------------------------------------------------------------------------------------------

def run_condition(condition: Condition, options: RunOptions, code: bool = True) -> RunOutcome:
    """Code every planned job that has no record and measure every coded job the condition's measurements it
    lacks. CODE False (``remeasure``): measure only; a job without a record is left alone."""
    t0 = time.perf_counter()
    if condition.timing == "exclusive":
        options = replace(options, jobs=1)  # torch threads and split encodes get the whole machine too
    jobs, adapters = plan(condition)
    store = ResultStore(options.results_dir / condition.name)
    with contextlib.ExitStack() as here:  # one writer per results folder, from here to the caller's end
        (options.hold if options.hold is not None else here).enter_context(holding(store.root, "run" if code else "remeasure", options.wait))
        outcome = _run_jobs(condition, options, code, jobs, adapters, store)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _run_jobs(condition: Condition, options: RunOptions, code: bool, jobs: list[Job], adapters: dict[str, Adapter],
              store: ResultStore) -> RunOutcome:
    """:func:`run_condition` under the results folder's lock: triage, then code and measure what is to do; the
    first Ctrl-C or SIGTERM stops it cleanly (the outcome says so)."""
    store.clean_stale_work()
    store.upgrade()  # records of an earlier schema keep their codings
    outcome = RunOutcome(jobs)
    to_code, to_measure = _triage(jobs, adapters, store, options.retry_failed, code, outcome)
    todo = [*to_code, *(j for j in jobs if j.key in to_measure)]
    if todo and condition.metrics.device.startswith("cuda"):
        make_backend(condition.metrics.device, 1).close()  # no GPU: the one-line error now, before any coding
    atomic_write_text(store.root / "condition.yaml", condition.expanded_text())  # means the same when files move
    store.write_run_manifest([j.manifest_entry() for j in jobs], condition.name, condition.metrics)
    inputs = InputCache(store.root / "prepared" / str(os.getpid()))
    if todo:  # a rerun with nothing to do never imports torch
        limit_torch_threads({n: adapters[n] for n in {j.codec.name for j in todo}}, options.jobs)
    _warm_cpu_kernels(condition, options, todo if options.executor == "local" else
                      [j for j in jobs if j.key in to_measure], adapters)
    try:
        with interrupts.stopping_on_signals(), tqdm(total=len(todo), desc=f"{condition.name}", unit="job",
                                                    disable=not options.progress or not todo,
                                                    dynamic_ncols=True) as bar:
            work = _Work(condition, options, adapters, store, inputs, to_measure, outcome, bar, code)
            if options.executor != "local":
                work.remote(to_code, jobs)
            else:
                work.local(todo)
            outcome.stopped, outcome.stop_seconds = interrupts.stopped_by(), interrupts.seconds_since_stop()
    finally:
        shutil.rmtree(inputs.root, ignore_errors=True)
        store.clean_stale_work()
    return outcome


def _warm_cpu_kernels(condition: Condition, options: RunOptions, measured_here: list[Job],
                      adapters: dict[str, Adapter]) -> None:
    """Start compiling the CPU measuring kernels now, in the background, for the bit depths this process will
    measure (MEASURED_HERE), unless they are measured on a GPU: on a fresh installation that compile takes
    seconds, which then overlap planning, input preparation and the first encodes instead of following them."""
    cpu = condition.metrics.device == "cpu" or (condition.metrics.device == "auto" and any(
        not adapters[j.codec.name].uses_gpu() for j in measured_here))
    if not measured_here or not cpu or condition.timing == "exclusive":
        return  # exclusive timing: nothing may run beside a job's timed encode, a compile included
    from bench.metrics.kernels import warm_in_background  # imports numba: only when something is measured

    depths = set()
    for codec, fmt in {(j.codec.name, j.source.fmt) for j in measured_here}:  # measured as the codec coded them
        try:
            depths.add(adapters[codec].input_format(condition.colour.coding(fmt)).bit_depth)
        except BenchError:  # a codec that refuses the format fails its job later, named
            depths.add(fmt.bit_depth)
    warm_in_background(depths)


def _triage(jobs: list[Job], adapters: dict[str, Adapter], store: ResultStore, retry_failed: bool, code: bool,
            outcome: RunOutcome) -> tuple[list[Job], dict[str, tuple[Record, list[MeasureRequest]]]]:
    """Which jobs to code (no record, or a failed one with RETRY_FAILED; CODE False: none) and which coded jobs
    to measure again (key -> their record and the measurements they lack); the rest are counted as skipped or
    failed in OUTCOME."""
    to_code: list[Job] = []
    to_measure: dict[str, tuple[Record, list[MeasureRequest]]] = {}
    for job in jobs:
        existing = store.read(store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key))
        if existing is None or (existing["status"] == "failed" and retry_failed):
            if code:
                to_code.append(job)
            continue
        if existing["status"] == "failed":
            outcome.skipped += 1
            outcome.failed.append(existing)
            continue
        _clear_measurement_paths(job, existing, store)
        missing = missing_measurements(job, existing, store)
        if not missing:
            outcome.skipped += 1
        elif can_measure_again(existing, adapters[job.codec.name]):
            to_measure[job.key] = (existing, missing)
        elif code:  # nothing to measure from (kept nowhere, no decoder of its own): the only way is to code it
            to_code.append(job)
        else:
            outcome.measure_failed.append((job, f"{job.label}: its decoded frames were not kept and its codec cannot "
                                                "decode a stored bitstream; run the condition to code it again"))
    return to_code, to_measure


def _clear_measurement_paths(job: Job, record: Record, store: ResultStore) -> None:
    """Anything but a folder where JOB's measurement folder should be (a file, a dangling link), or anything but
    a regular file where a measurement file its condition asks for should be (a folder, a FIFO, a device), would
    stop the measurement from being written (a rename cannot replace it): moved aside into superseded/ (nothing
    is deleted) and said once; the job is then measured again."""
    folder = store.measurement_dir(record)
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        blocking = [folder]
    else:
        wanted = [store.measurement_path(record, r.measure, wanted_key(job.key, r)) for r in job.condition.metrics.requests]
        blocking = [p for p in wanted if p.exists() and not p.is_file()]
    if not blocking:
        return
    said = [f"{p}: {not_a_file(p) or 'not a regular file'}" for p in blocking]
    kept = store.set_aside(job.key, blocking, f"where {job.label} keeps its measurements: {'; '.join(said)}")
    for line in said:
        warn(f"{line}, where a measurement should be; moved aside into {kept}; {job.label}: measured again now")


@dataclass
class _Work:
    """The jobs of one run in flight: each coded or measured, counted in the outcome, shown on the bar."""

    condition: Condition
    options: RunOptions
    adapters: dict[str, Adapter]
    store: ResultStore
    inputs: InputCache
    to_measure: dict[str, tuple[Record, list[MeasureRequest]]]
    outcome: RunOutcome
    bar: Any  # tqdm
    code: bool = True  # False (remeasure): a job whose bitstream changed since coding is named, not coded again
    cpu_share: int = 1  # cores each job may use (split VTM segments, torch threads)
    coding: CodingSlots | None = None  # local CPU jobs: how many code at once (each measured beside the next)

    def __post_init__(self) -> None:
        self.cpu_share = max(1, available_cores() // self.options.jobs)

    def one(self, job: Job, gpu: int | None = None) -> JobResult:
        """Code JOB (or only measure it, if it is coded) and return its record or measuring result; once the run
        is stopping, ``not_started`` or ``interrupted`` (nothing recorded: the next run does it)."""
        if interrupts.stopping():
            return {"status": "not_started"}
        try:
            result = self.measure_only(job, gpu) if job.key in self.to_measure else self.code_job(job, gpu)
        except interrupts.Interrupted:
            return {"status": "interrupted"}
        if result["status"] == "measure_failed" and interrupts.stopping():
            return {"status": "interrupted"}  # a measuring program that the stop ended: nothing was written
        return result

    def code_job(self, job: Job, gpu: int | None) -> Record:
        owner = threading.get_ident()

        def frame_done(coded: int, total: int) -> None:
            if threading.get_ident() == owner:  # an in-process codec, coding in the job's own thread
                interrupts.check()  # stops at its next frame (a program's frames are heard on another thread)
            # One status line that moves with every coded frame (the reference software takes minutes a frame
            # at 1080p); with several jobs in flight it shows the latest report.
            self.bar.set_postfix_str(f"{job.label}: frame {coded}/{total}")

        def phase(what: str) -> None:  # every adapter: which job is in flight, and what it is doing
            self.bar.set_postfix_str(f"{job.label}: {what}")
            if self.coding is not None:
                if what == MEASURING:
                    self.coding.coded()  # the next job codes while this one is measured
                elif what == CODING:
                    self.coding.coding_again()  # a retry (a no-op for the first attempt, which holds its slot)

        return run_job_with_retries(job, self.adapters[job.codec.name], self.store, self.inputs,
                                    self.options.retries, frame_done, self.bar.write, gpu, self.cpu_share, phase)

    def measure_only(self, job: Job, gpu: int | None) -> JobResult:
        """Measure a coded JOB again. Its bitstream or kept frames changed since coding: ``remeasure`` says so;
        a run sets the old record aside and codes the job again the way it codes any job (here, or through the
        remote executor: status ``code_again``, for :meth:`remote` to submit)."""
        record, missing = self.to_measure[job.key]
        try:
            done = measure_job(job, self.adapters[job.codec.name], self.store, record, missing, gpu, self.cpu_share)
        except OSError as e:  # a full disk, a folder where a measurement file goes: one line naming the file
            where = e.filename2 if getattr(e, "filename2", None) is not None else e.filename
            return {"status": "measure_failed", "message": f"{where or self.store.measurement_dir(record)}: "
                    f"{e.strerror or e}; fix it (or free space) and run again: it measures what was not written"}
        except BenchError as e:
            if not isinstance(e, ChangedSinceCoding):
                return {"status": "measure_failed", "message": str(e)}
            if not self.code:  # remeasure codes nothing: it says what the next run will do
                return {"status": "measure_failed", "message": f"{e}; the next `evaluate.py run` codes this job again, "
                                                                  "keeping its old record aside in superseded/"}
            kept = self.store.supersede(record, str(e))
            self.bar.write(f"CODING AGAIN {e}; its old record, bitstreams and measurements are kept in {kept}")
            del self.to_measure[job.key]
            return self.one(job, gpu) if self.options.executor == "local" else {"status": "code_again"}
        return {"status": "measured", "how": done.how, "documents": done.documents}

    def count(self, job: Job, result: JobResult) -> None:
        """RESULT of JOB in the outcome and on the bar. A ``code_again`` is not counted: :meth:`remote` submits
        the job again and counts what that gives (the local executor codes it in place, see measure_only)."""
        outcome = self.outcome
        if result["status"] in ("interrupted", "not_started"):
            (outcome.interrupted if result["status"] == "interrupted" else outcome.not_started).append(job)
            return  # not done: the bar keeps counting only what was done
        elif result["status"] == "measured":
            outcome.measured += 1
            outcome.measurements += result["documents"]
            outcome.redecoded += result["how"] == "re-decoded"
            outcome.restored += result["how"] == "restored"
        elif result["status"] == "measure_failed":
            outcome.measure_failed.append((job, result["message"]))
            self.bar.write(f"MEASURING FAILED {job.label}: {result['message']}")
        elif result["status"] in ("ok", "failed"):  # coded now: its record
            outcome.coded += 1
            if result["status"] != "ok":
                outcome.coded_failed += 1
                outcome.failed.append(result)
                self.bar.write(f"FAILED {job.label}: {failure(result)['message']}")
        self.bar.update(1)

    def remote(self, to_code: list[Job], jobs: list[Job]) -> None:
        """One process per coding job, started by submitit (records land in the store); measuring needs no
        scheduler: done here, one job at a time. A job found changed since coding while measuring is coded
        again the same way, submitted once the measuring is done."""
        if self.options.remote is None:
            raise BenchError(f"executor {self.options.executor}: no remote runner given (RunOptions.remote: "
                             "bench.run.cluster.run_on_submitit)")
        self.submit(to_code)
        again = []
        for job in jobs:
            if job.key in self.to_measure:
                result = self.one(job, None)
                if result["status"] == "code_again":
                    again.append(job)
                else:
                    self.count(job, result)
        if again and interrupts.stopping():
            self.outcome.not_started += again  # set aside already: the next run codes them
        elif again:
            self.submit(again)

    def submit(self, to_code: list[Job]) -> None:
        """Code TO_CODE through the remote executor, counting each record that comes back."""
        remote = self.options.remote
        assert remote is not None  # remote(), the one caller, refuses a run without one
        came, by_key = set(), {job.key: job for job in to_code}
        for record in remote(self.condition, to_code, self.options, self.store, self.bar):
            came.add(record["key"])
            if isinstance(record, NotRecorded):  # said on the console by the remote executor already
                self.outcome.not_recorded.append((by_key[record["key"]], record["error"]["message"], record.summary))
                continue
            self.outcome.coded += 1
            if record["status"] != "ok":
                self.outcome.coded_failed += 1
                self.outcome.failed.append(record)
        if interrupts.stopping():  # the cluster jobs still queued or running were cancelled: none recorded
            self.outcome.not_started += [job for job in to_code if job.key not in came]

    def local(self, todo: list[Job]) -> None:
        """CPU jobs share --jobs threads; GPU jobs run beside them, one per GPU (see GpuSlots); with ``timing:
        exclusive`` every job runs alone, so that its times are its own."""
        slots = GpuSlots(self.options.gpus)
        on_gpu = {job.key: self.adapters[job.codec.name] for job in todo if self.adapters[job.codec.name].uses_gpu()}

        def one_on_a_gpu(job: Job) -> JobResult:
            with slots.take(self.adapters[job.codec.name]) as gpu:
                return self.one(job, gpu)

        exclusive = self.condition.timing == "exclusive"
        self.coding = None if exclusive else CodingSlots(self.options.jobs)

        def one_on_the_cpu(job: Job) -> JobResult:
            with self.coding.slot() if self.coding is not None else contextlib.nullcontext():
                return self.one(job)

        # Twice --jobs threads: --jobs coding, and as many measuring what they coded (CodingSlots).
        with ThreadPoolExecutor(max_workers=1 if exclusive else 2 * max(1, self.options.jobs)) as cpu_pool, \
                ThreadPoolExecutor(max_workers=slots.workers(list(on_gpu.values()))) as gpu_pool:
            gpu_pool = cpu_pool if exclusive else gpu_pool
            futures = {gpu_pool.submit(one_on_a_gpu, job) if job.key in on_gpu else cpu_pool.submit(one_on_the_cpu, job): job
                       for job in todo}
            for fut in as_completed(futures):
                self.count(futures[fut], fut.result())
