"""Running a condition's jobs as cluster jobs through submitit: on SLURM, or with submitit's local executor.

Each coding job becomes one submitit job (on SLURM one job array per codec, asking for the codec descriptor's
``resources``: gpus, cpus, mem_gb, time_min, partition, account, qos, constraint, exclusive, any other sbatch
option under ``sbatch:``, and ``setup:`` lines run before the job). On the node, :func:`run_planned_job` loads
the condition file from the shared file system, plans only its own codec and sequence, finds its job by key and
runs it with the same code as a local run (retries included), writing its record into the same results folder.
Records are renamed into place, so neither a reader nor a second writer ever sees half a record; keys, records
and resume are those of a local run. The submitting process waits, shows progress, and reads the records back.

Time limit: the job may run ``resources.time_min`` minutes (default 24 h). submitit makes SLURM send SIGUSR2
before the limit (``--signal=USR2@<delay>``); we set that delay, submitit's ``slurm_signal_delay_s``, to
SIGNAL_DELAY_S (60 s) and ask SLURM for ``time_min + SIGNAL_MARGIN_MIN`` (2) minutes: the delay plus the up to
60 s earlier that SLURM may send it, so the early signal never comes before time_min minutes have passed.

A job the scheduler stops (SIGUSR2 before a time limit, SIGTERM at one, on ``scancel`` or preemption) stops
as a Ctrl-C stops a local run (:mod:`bench.interrupts`): nothing is recorded, so the next plain run codes it;
the submitting side says "ended without a record (killed by the scheduler: time limit N min,
resources.time_min; the next run codes it)" or names the cancellation. It asks SLURM itself about its jobs
(:mod:`bench.run.slurm_states`: squeue at every poll, sacct where accounting exists), so a job that vanished
without a result ends the wait instead of being "unknown" forever, and a job pending for a reason that cannot
resolve is cancelled and named in one line. An ``sbatch`` that refuses a job ends the run with one line
naming sbatch's own message and the ``resources`` option to check.

Nodes run the submitter's code: the job runs the submitter's interpreter (submitit's default) with the
submitter's checkout first on PYTHONPATH (a setup line), and refuses to run (a line on the submitting side,
no record) where its ``bench`` differs from the submitter's: version and a hash of the package's sources.

The submitting run holds the results folder's lock (:mod:`bench.run.runlock`) for as long as its cluster jobs run;
the jobs write under it and take no lock themselves (a job on another host could not take over a lock that a
process holds). A Ctrl-C or SIGTERM of the submitting run cancels the cluster jobs still queued or running.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import shlex
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import __version__, interrupts
from bench.adapters import adapter_class
from bench.conditions.condition import CodecSpec, Condition, load_condition
from bench.errors import BenchError
from bench.run.jobs import Job
from bench.run.one_job import failed_record
from bench.run.runner import NotRecorded
from bench.run.slurm_states import ACTIVE_STATES, GRACE_POLLS, Queued, SlurmQueue, hopeless
from bench.store.labels import failure
from bench.store.record import Record
from bench.store.results import ResultStore

DEFAULT_TIME_MIN = 24 * 60
SIGNAL_DELAY_S = 60  # submitit's slurm_signal_delay_s: SIGUSR2 this long before SLURM's limit
SIGNAL_MARGIN_MIN = 2  # minutes added to time_min: SIGNAL_DELAY_S, plus the 60 s early SLURM may send it
# resources keys passed to submitit's SlurmExecutor under its own names (slurm_<name>)
_SLURM_NAMES = {"partition": "slurm_partition", "account": "slurm_account", "qos": "slurm_qos",
                "constraint": "slurm_constraint"}


@functools.lru_cache(maxsize=1)
def code_identity() -> tuple[str, str]:
    """Where this process's ``bench`` package is and its version: ``__version__`` + a hash of its .py sources
    (computed once per process: a submitter's, then each job's on its node)."""
    package = Path(__file__).resolve().parents[1]  # the bench package
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return str(package), f"{__version__}+{h.hexdigest()[:12]}"


def scheduler_parameters(codec: CodecSpec, cluster: str, parallel: int, code_root: str | None = None,
                         uses_gpu: bool = False) -> dict[str, Any]:
    """submitit parameters for one codec's jobs, from its descriptor's ``resources``; CODE_ROOT (the folder
    holding the submitter's ``bench``) goes first on the job's PYTHONPATH. A codec that USES_GPU (its device
    is CUDA) asks for one GPU per job unless ``resources.gpus`` says how many; ``gpus: 0`` for it is refused."""
    r = dict(codec.resources)
    gpus = r.get("gpus", 1 if uses_gpu else 0)
    if uses_gpu and gpus < 1 and cluster == "slurm":
        raise BenchError(f"{codec.name}: runs on a GPU (params.device) but resources.gpus is 0 in "
                         f"{codec.defined_in or 'the condition'}: its cluster jobs would get none; set resources.gpus "
                         "to 1 or more, or params.device to cpu")
    params: dict[str, Any] = {"name": f"lvcbench-{codec.name}", "gpus_per_node": gpus,
                              "timeout_min": r.get("time_min", DEFAULT_TIME_MIN) + SIGNAL_MARGIN_MIN}
    if cluster != "slurm":
        # submitit's local executor sets CUDA_VISIBLE_DEVICES to its visible_gpus (default 0, 1, ...): told the
        # ones this process may use, a job runs on the first of those, not on GPU 0 whatever the user chose.
        visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
        if gpus and visible and all(v.isdigit() for v in visible):
            params["visible_gpus"] = tuple(int(v) for v in visible)
        return params
    params.update({"cpus_per_task": r.get("cpus", 1), "slurm_array_parallelism": parallel,
                   "slurm_signal_delay_s": SIGNAL_DELAY_S})
    if "mem_gb" in r:
        params["mem_gb"] = r["mem_gb"]
    params.update({_SLURM_NAMES[k]: v for k, v in r.items() if k in _SLURM_NAMES})
    if r.get("exclusive"):
        params["slurm_exclusive"] = True
    if r.get("sbatch"):
        params["slurm_additional_parameters"] = dict(r["sbatch"])
    # The user's lines first (module load, source .../activate), then the submitter's checkout ahead of all.
    setup = list(r.get("setup", ()))
    if code_root:
        setup.append(f"export PYTHONPATH={shlex.quote(code_root)}${{PYTHONPATH:+:$PYTHONPATH}}")
    if setup:
        params["slurm_setup"] = setup
    return params


def run_planned_job(condition_file: str, data_root: str | None, results_dir: str, key: str, codec: str,
                    sequence: str, retries: int, code: tuple[str, str] | None = None) -> dict[str, str]:
    """What a cluster job runs: one planned job, found by its key. Returns ``{"status": <record's status>}``;
    ``{"stopped": <signal>}`` when the scheduler stopped it (SIGTERM, or SIGUSR2 before a time limit: nothing
    recorded); ``{"refused": <line>}`` when this node's ``bench`` is not the submitter's CODE (path, version)."""
    if code is not None and code_identity()[1] != code[1]:
        here, version = code_identity()
        return {"refused": f"node {socket.gethostname()} runs bench from {here} (version {version}), the "
                           f"submitter from {code[0]} (version {code[1]}): install the same code on the nodes "
                           "or share the checkout"}
    with interrupts.stopping_on_signals(also=(signal.SIGUSR2,)):
        try:
            return {"status": _run_one(condition_file, data_root, results_dir, key, codec, sequence, retries)}
        except interrupts.Interrupted:
            return {"stopped": interrupts.stopped_by() or "a signal"}


def _run_one(condition_file: str, data_root: str | None, results_dir: str, key: str, codec: str,
             sequence: str, retries: int) -> str:
    from bench.run.inputs import InputCache
    from bench.run.one_job import run_job_with_retries
    from bench.run.runner import plan
    from bench.run.scheduling import allocated_gpu, available_cores, limit_torch_threads

    condition = load_condition(condition_file, data_root)
    jobs, adapters = plan(condition, only_sequence=sequence, only_codec=codec)
    job = next((j for j in jobs if j.key == key), None)
    if job is None:
        raise BenchError(f"{condition_file}: no job {codec} / {sequence} with key {key[:16]} any more: the "
                         "condition, the codec or the source changed since the run was submitted; run it again")
    store = ResultStore(Path(results_dir) / condition.name)
    gpu = allocated_gpu(adapters[codec], codec)
    inputs = InputCache(store.root / "prepared" / str(os.getpid()))
    limit_torch_threads(adapters, 1)
    try:
        record = run_job_with_retries(job, adapters[codec], store, inputs, retries, gpu=gpu, cpus=available_cores())
    finally:
        shutil.rmtree(inputs.root, ignore_errors=True)
    return str(record["status"])


@dataclass(eq=False)
class _Tracked:
    """A submitted job as the submitting run follows it."""

    job: Job
    sj: Any  # submitit's Job
    missing: int = 0  # polls in a row that squeue did not list it and it had left nothing
    seen: Queued | None = None  # how squeue listed it last


def run_on_submitit(condition: Condition, todo: list[Job], options: Any, store: ResultStore,
                    bar: tqdm) -> Iterator[Record | NotRecorded]:
    """Submit TODO, wait, and yield each job's record as it finishes (a NotRecorded, the failed record it would
    have been, not written to the store, for a cluster job that ended without one: the next run codes it)."""
    cluster = "slurm" if options.executor == "slurm" else "local"
    code = code_identity()
    arguments = _job_arguments(condition, options, code)
    executors = _executors(condition, cluster, options.jobs, store, code)
    tracked: list[_Tracked] = []
    queue: list[Job] = []
    if cluster == "slurm":  # one array per codec; SLURM runs --jobs of each at once
        tracked = _submit_arrays(condition, todo, executors, arguments, bar)
    else:  # submitit's local executor starts what it is given at once: keep --jobs processes in flight
        queue = list(todo)
    watch = SlurmQueue() if cluster == "slurm" else None
    said: set[str] = set()
    while queue or tracked:
        if interrupts.stopping():  # Ctrl-C or SIGTERM: submit nothing more, cancel what runs (none is recorded)
            _cancel([t.sj for t in tracked], bar)
            return
        _submit_queued(queue, tracked, max(1, options.jobs), executors, arguments)
        ended = _ended_on_slurm(tracked, store, watch, bar, said) if watch else \
            [(t, _collect(t, store)) for t in tracked if t.sj.done()]
        for t, record in ended:
            tracked.remove(t)
            _say(t.job, record, bar, said)
            bar.update(1)
            yield record
        if not ended:
            _show_states(tracked, queue, bar, watch is not None)
            time.sleep(5.0 if watch else 0.1)
    _check_something_recorded(todo, store)


def _job_arguments(condition: Condition, options: Any,
                   code: tuple[str, str]) -> Callable[[Job], tuple[Any, ...]]:
    """What run_planned_job is called with on the node for a job: paths made absolute, the submitter's CODE."""
    results = str(Path(options.results_dir).resolve())
    data_root = str(condition.data_root) if condition.data_root else None

    def arguments(job: Job) -> tuple[Any, ...]:
        return (str(condition.path.resolve()), data_root, results, job.key, job.codec.name, job.sequence.name,
                options.retries, code)

    return arguments


def _executors(condition: Condition, cluster: str, jobs: int, store: ResultStore,
               code: tuple[str, str]) -> dict[str, Any]:
    """One submitit executor per codec (by name), with the scheduler parameters of its ``resources``; its logs
    go under the results folder's ``submitit/<codec>``."""
    import submitit

    executors = {}
    for codec in condition.codecs:
        params = scheduler_parameters(codec, cluster, max(1, jobs), str(Path(code[0]).parent),
                                      adapter_class(codec.adapter)(codec.params_dict).uses_gpu())
        executor = submitit.AutoExecutor(folder=store.root / "submitit" / codec.name, cluster=cluster)
        executor.update_parameters(**params)
        executors[codec.name] = executor
    return executors


def _submit_queued(queue: list[Job], tracked: list[_Tracked], parallel: int, executors: dict[str, Any],
                   arguments: Callable[[Job], tuple[Any, ...]]) -> None:
    """Submit the first jobs of QUEUE one by one, adding them to TRACKED, until PARALLEL are in flight."""
    while queue and len(tracked) < parallel:
        job = queue.pop(0)
        sj = _submitting(job.codec, lambda job=job: executors[job.codec.name].submit(run_planned_job,
                                                                                   *arguments(job)))
        tracked.append(_Tracked(job, sj))


def _check_something_recorded(todo: list[Job], store: ResultStore) -> None:
    """Refuse a run none of whose jobs left a record (a broken setup on the nodes, say), naming their logs."""
    if todo and not (store.root / "records").is_dir():
        codecs = ", ".join(sorted({j.codec.name for j in todo}))
        raise BenchError(f"no job of this run left a record ({len(todo)} submitted; see {store.root / 'submitit'}/"
                         f"<codec>/ for their logs: {codecs})")


class _Refused(NotRecorded):
    """A job whose node runs other code than the submitter: nothing ran. Said once per node and codec (the
    codec's other jobs may run on nodes that see the right code: they are left to run)."""


def _say(job: Job, record: Record | NotRecorded, bar: tqdm, said: set[str]) -> None:
    """The console line for a job that did not end ok; a line said already (a hopeless pending reason, a
    node's refusal: the same for all of a codec's jobs) is not said again."""
    if record["status"] == "ok":
        return
    # A NotRecorded holds the failed record it would have been: its error is failed_record's.
    message = record["error"]["message"] if isinstance(record, NotRecorded) else failure(record)["message"]
    if message in said:
        return
    if isinstance(record, _Refused):
        bar.write(f"NOT RECORDED {message} (said once for this node and codec)")
        said.add(message)
    else:
        bar.write(f"{'NOT RECORDED' if isinstance(record, NotRecorded) else 'FAILED'} {job.label}: {message}")


def _submitting(codec: CodecSpec, submit: Any) -> Any:
    """SUBMIT() (submitit's submit or map_array), with a refused ``sbatch`` made one line naming the option to
    check (submitit raises with sbatch's stderr, and prints it too: that print is kept from the terminal)."""
    from submitit.core.utils import FailedJobError, FailedSubmissionError

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return submit()
    except (FailedJobError, FailedSubmissionError) as e:
        raise BenchError(refusal_line(codec, str(e))) from None


def refusal_line(codec: CodecSpec, stderr: str) -> str:
    """One line for an sbatch that refused CODEC's job: sbatch's own message (its ``sbatch: error:`` lines,
    joined) and the ``resources`` option it points at."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln] or lines[-1:] or ["(no message)"]
    text = "; ".join(dict.fromkeys(errors))
    low = text.lower()
    option = next((o for words, o in (
        # account and qos first: "Invalid account or account/partition combination" is about the account
        (("account", "association"), "account"), (("qos",), "qos"), (("partition",), "partition"),
        (("time limit",), "time_min"), (("feature", "constraint"), "constraint"), (("memory",), "mem_gb"),
        (("gres", "gpu"), "gpus"), (("node configuration", "cpu"), "cpus, gpus, mem_gb or constraint"),
        (("invalid option", "unrecognized option", "unknown option"), "sbatch"))
        if any(w in low for w in words)), "*")
    where = codec.defined_in or "the condition"
    return f"{codec.name}: sbatch refused the job: {text}; check resources.{option} in {where}"


def _submit_arrays(condition: Condition, todo: list[Job], executors: dict[str, Any], arguments: Any,
                   bar: tqdm) -> list[_Tracked]:
    """One job array per codec; a refused sbatch cancels the arrays submitted before it and ends the run."""
    tracked: list[_Tracked] = []
    try:
        for codec in condition.codecs:
            jobs = [j for j in todo if j.codec.name == codec.name]
            if jobs:
                submitted = _submitting(codec, lambda codec=codec, jobs=jobs: executors[codec.name].map_array(
                    run_planned_job, *zip(*map(arguments, jobs), strict=True)))
                tracked += [_Tracked(j, sj) for j, sj in zip(jobs, submitted, strict=True)]
    except BenchError:
        _cancel([t.sj for t in tracked], bar)
        raise
    return tracked


def _left_something(t: _Tracked, store: ResultStore) -> bool:
    job = t.job
    return (store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key).exists()
            or Path(t.sj.paths.result_pickle).exists())


def _ended_on_slurm(tracked: list[_Tracked], store: ResultStore, watch: SlurmQueue, bar: tqdm,
                    said: set[str] | None = None) -> list[tuple[_Tracked, Record | NotRecorded]]:
    """The jobs that ended since the last poll, with their records: those that left their record or result;
    those pending for a reason that cannot resolve (cancelled, said in one line per array and reason); and
    those squeue has not listed for GRACE_POLLS polls, with sacct's word on how they ended. A line said here
    goes into SAID (the caller says each job's failure once, not this line again per job)."""
    listing = watch.listed([t.sj.job_id for t in tracked])  # asked first: a job it lists has not ended before
    ended: list[tuple[_Tracked, Record | NotRecorded]] = []
    gone: list[_Tracked] = []
    cancelled: dict[str, str] = {}  # array id -> the line said for it
    for t in tracked:
        if _left_something(t, store):
            ended.append((t, _collect(t, store, ask=functools.partial(_sacct_end, watch, t.sj.job_id))))
            continue
        if listing is None:  # squeue could not be asked: nothing counts as gone on this poll
            continue
        queued = listing.get(t.sj.job_id)
        if queued is not None and queued.state in ACTIVE_STATES:
            t.seen, t.missing = queued, 0
            why = hopeless(queued.reason) if queued.state == "PENDING" else None
            if why is not None:
                array = t.sj.job_id.split("_", 1)[0]
                if array not in cancelled:
                    watch.cancel(array)
                    cancelled[array] = _hopeless_line(t, queued, watch)
                    bar.write(f"error: {cancelled[array]}")
                    if said is not None:
                        said.add(cancelled[array])
                ended.append((t, NotRecorded(failed_record(t.job, cancelled[array]), cancelled[array])))
            continue
        t.missing += 1
        if t.missing > GRACE_POLLS:
            gone.append(t)
    states = watch.ended_states([t.sj.job_id for t in gone]) if gone else {}
    ended += [(t, _collect(t, store, states.get(t.sj.job_id))) for t in gone]
    return ended


def _sacct_end(watch: SlurmQueue, job_id: str) -> str | None:
    """How sacct says JOB_ID ended; None where it does not say (no accounting, not known to it yet)."""
    return watch.ended_states([job_id]).get(job_id)


def _hopeless_line(t: _Tracked, queued: Queued, watch: SlurmQueue) -> str:
    """One line for a job that cannot start: SLURM's reason, the option(s) that cause it, what to do."""
    why = hopeless(queued.reason)
    assert why is not None
    r = dict(t.job.codec.resources)
    options = why.option.split("/")
    given = ", ".join(f"resources.{o} {r[o]}" for o in options if o in r)
    if "time_min" in options:
        minutes = r.get("time_min", DEFAULT_TIME_MIN)
        given = (f"resources.time_min {minutes}{'' if 'time_min' in r else ' (the default)'} (SLURM is asked for "
                 f"{minutes + SIGNAL_MARGIN_MIN} min: {SIGNAL_MARGIN_MIN} more for the early stop signal)")
    if why.reason == "PartitionTimeLimit":
        limit = watch.partition_limit(queued.partition)
        given += f" exceeds partition {queued.partition}'s limit{f' ({limit})' if limit else ''}"
    given = given or f"resources.{' / resources.'.join(options)} (not set)"
    return (f"{t.job.codec.name}: cluster job {t.sj.job_id.split('_', 1)[0]} cannot start ({queued.reason}): "
            f"{given}; {why.advice}; cancelled (the next run submits its jobs again)")


def _show_states(tracked: list[_Tracked], queue: list[Job], bar: tqdm, slurm: bool) -> None:
    states: dict[str, int] = {}
    for t in tracked:
        # On SLURM squeue's word (submitit's sj.state asks sacct, which may not work); locally submitit's.
        state = t.seen.state if t.seen is not None else "submitted" if slurm else t.sj.state
        states[state] = states.get(state, 0) + 1
    bar.set_postfix_str(", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
                        + (f", {len(queue)} queued here" if queue else ""))


def _cancel(submitted: list[Any], bar: tqdm) -> None:
    """Cancel cluster jobs (scancel on SLURM; a signal to submitit's local processes)."""
    for sj in submitted:
        try:
            sj.cancel(check=False)
        except Exception as e:  # a scheduler that cannot be reached now: the jobs end on their own, unrecorded or not
            bar.write(f"could not cancel cluster job {sj.job_id} ({str(e).strip() or 'the scheduler gave no reason'}); "
                      f"cancel it with the scheduler (SLURM: scancel {sj.job_id}), or it runs on and, if it "
                      "finishes, writes its record without this run's lock")


def _node_outcome(sj: Any) -> tuple[str, Any] | None:
    """What the job's function left in submitit's result pickle: ("success", its return value) or ("error",
    the traceback); None if it left none (killed, or never started)."""
    from submitit.core.utils import pickle_load

    try:
        return tuple(pickle_load(sj.paths.result_pickle))  # type: ignore[return-value]
    except Exception:  # absent or half-written (killed while writing it): as good as none
        return None


def _collect(t: _Tracked, store: ResultStore, ended_state: str | None = None,
             ask: Callable[[], str | None] | None = None) -> Record | NotRecorded:
    """The job's record; else the NotRecorded saying why there is none: from its result (a refusal, an error,
    the signal that stopped it, then with sacct's word on what sent it, through ASK, where accounting exists)
    or from ENDED_STATE, sacct's state for a job that left nothing."""
    job, sj = t.job, t.sj
    record = store.read(store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key))
    if record is not None:
        return record
    outcome = _node_outcome(sj)
    value = outcome[1] if outcome is not None and outcome[0] == "success" else None
    if isinstance(value, dict) and "refused" in value:
        return _Refused(failed_record(job, f"{job.codec.name}: did not run: {value['refused']}"),
                        f"{job.codec.name}: did not run: {value['refused']}")
    if outcome is not None and outcome[0] == "error":
        last = next((ln for ln in reversed(str(outcome[1]).splitlines()) if ln.strip()), "an error")
        why = f"raised {last.strip()}"[:600]
    else:
        stopped = value.get("stopped") if isinstance(value, dict) else None
        why = _ended_why(job, ended_state or (ask() if stopped and ask else None), stopped, t.seen)
    # Reported, not stored (nothing half-done is kept): the next plain run codes it.
    return NotRecorded(failed_record(job, f"cluster job {sj.job_id} ended without a record ({why}; the next run "
                                          f"codes it; its log: {sj.paths.stderr})"),
                       f"{job.codec.name}: ended without a record ({why}; the next run codes them; their logs: "
                       f"{Path(sj.paths.stderr).parent})")


def _ended_why(job: Job, state: str | None, stopped: str | None, seen: Queued | None) -> str:
    """How a job that left no record ended, from sacct's STATE (None: not known), the signal that STOPPED it
    on its node, and how squeue last listed it (SEEN)."""
    limit = dict(job.codec.resources).get("time_min", DEFAULT_TIME_MIN)
    word = (state or "").split(" ", 1)[0]
    # SIGUSR2 is the early warning of the time limit (submitit's --signal): the job stops on it and may end
    # COMPLETED before SLURM would have killed it.
    if word == "TIMEOUT" or (stopped == "SIGUSR2" and word not in ("CANCELLED", "PREEMPTED")):
        return f"killed by the scheduler: time limit {limit} min, resources.time_min"
    if word == "CANCELLED":
        return f"killed by the scheduler: cancelled ({state}: scancel)"
    if word in ("PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"):
        return f"killed by the scheduler: {word}"
    if word == "OUT_OF_MEMORY":
        return f"killed by the scheduler: out of memory, resources.mem_gb {dict(job.codec.resources).get('mem_gb', '(not set)')}"
    if stopped:
        return (f"stopped by {stopped} from the scheduler: scancel, a time limit ({limit} min, resources.time_min) "
                "or preemption")
    last = f"; squeue last listed it {seen.state} ({seen.reason})" if seen is not None else ""
    return f"the scheduler says {state}{last}" if state else f"left the queue without a result{last}"
