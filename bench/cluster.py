"""Running a condition's jobs as cluster jobs through submitit: on SLURM, or with submitit's local executor.

Each coding job becomes one submitit job (on SLURM one job array per codec, asking for the codec descriptor's
``resources``: gpus, cpus, mem_gb, time_min, partition). On the node, :func:`run_planned_job` loads the
condition file from the shared file system, plans only its own codec and sequence, finds its job by key and
runs it with the same code as a local run (retries included), writing its record into the same results folder.
Records are renamed into place, so neither a reader nor a second writer ever sees half a record; keys, records
and resume are those of a local run. The submitting process waits, shows progress, and reads the records back.

A job the scheduler kills (time limit, preemption) leaves no record, so the next run codes it again; until
then ``status`` shows it as interrupted (same host) or running (another host, which cannot be checked).

The submitting run holds the results folder's lock (:mod:`bench.runlock`) for as long as its cluster jobs run;
the jobs write under it and take no lock themselves (a job on another host could not take over a lock that a
process holds). A Ctrl-C or SIGTERM of the submitting run cancels the cluster jobs still queued or running.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import interrupts
from bench.conditions import CodecSpec, Condition, load_condition
from bench.errors import BenchError
from bench.job_run import failed_record
from bench.jobs import Job
from bench.record import Record
from bench.store import ResultStore

DEFAULT_TIME_MIN = 24 * 60


def scheduler_parameters(codec: CodecSpec, cluster: str, parallel: int) -> dict[str, Any]:
    """submitit parameters for one codec's jobs, from its descriptor's ``resources``."""
    r = dict(codec.resources)
    params: dict[str, Any] = {"name": f"lvcbench-{codec.name}", "timeout_min": r.get("time_min", DEFAULT_TIME_MIN),
                              "gpus_per_node": r.get("gpus", 0)}
    if cluster == "slurm":
        params.update({"cpus_per_task": r.get("cpus", 1), "slurm_array_parallelism": parallel})
        if "mem_gb" in r:
            params["mem_gb"] = r["mem_gb"]
        if "partition" in r:
            params["slurm_partition"] = r["partition"]
    return params


def run_planned_job(condition_file: str, data_root: str | None, results_dir: str, key: str, codec: str,
                    sequence: str, retries: int) -> str:
    """What a cluster job runs: one planned job, found by its key; returns its record's status."""
    from bench.inputs import InputCache
    from bench.job_run import run_job_with_retries
    from bench.runner import plan
    from bench.scheduling import available_cores, limit_torch_threads

    condition = load_condition(condition_file, data_root)
    jobs, adapters = plan(condition, only_sequence=sequence, only_codec=codec)
    job = next((j for j in jobs if j.key == key), None)
    if job is None:
        raise BenchError(f"{condition_file}: no job {codec} / {sequence} with key {key[:16]} any more: the "
                         "condition, the codec or the source changed since the run was submitted; run it again")
    store = ResultStore(Path(results_dir) / condition.name)
    inputs = InputCache(store.root / "prepared" / str(os.getpid()))
    limit_torch_threads(adapters, 1)
    try:
        record = run_job_with_retries(job, adapters[codec], store, inputs, retries, cpus=available_cores())
    finally:
        shutil.rmtree(inputs.root, ignore_errors=True)
    return record["status"]


def run_on_submitit(condition: Condition, todo: list[Job], options: Any, store: ResultStore,
                    bar: tqdm) -> Iterator[dict[str, Any]]:
    """Submit TODO, wait, and yield each job's record as it finishes (a stand-in failed record, not written to
    the store, for a cluster job that ended without one)."""
    import submitit

    cluster = "slurm" if options.executor == "slurm" else "local"
    results = str(Path(options.results_dir).resolve())
    data_root = str(condition.data_root) if condition.data_root else None

    def arguments(job: Job) -> tuple[Any, ...]:
        return (str(condition.path.resolve()), data_root, results, job.key, job.codec.name, job.sequence.name,
                options.retries)

    executors = {}
    for codec in condition.codecs:
        executor = submitit.AutoExecutor(folder=store.root / "submitit" / codec.name, cluster=cluster)
        executor.update_parameters(**scheduler_parameters(codec, cluster, max(1, options.jobs)))
        executors[codec.name] = executor
    running: list[tuple[Job, Any]] = []
    queue: list[Job] = []
    if cluster == "slurm":  # one array per codec; SLURM runs --jobs of each at once
        for codec in condition.codecs:
            jobs = [j for j in todo if j.codec.name == codec.name]
            if jobs:
                submitted = executors[codec.name].map_array(run_planned_job, *zip(*map(arguments, jobs), strict=True))
                running += list(zip(jobs, submitted, strict=True))
    else:  # submitit's local executor starts what it is given at once: keep --jobs processes in flight
        queue = list(todo)
    poll = 5.0 if cluster == "slurm" else 0.1
    while queue or running:
        if interrupts.stopping():  # Ctrl-C or SIGTERM: submit nothing more, cancel what runs (none is recorded)
            _cancel([sj for _, sj in running], bar)
            return
        while queue and len(running) < max(1, options.jobs):
            job = queue.pop(0)
            running.append((job, executors[job.codec.name].submit(run_planned_job, *arguments(job))))
        finished = [(job, sj) for job, sj in running if sj.done()]
        for job, sj in finished:
            running.remove((job, sj))
            record = _collect(job, sj, store)
            if record["status"] != "ok":
                bar.write(f"FAILED {job.label}: {record['error']['message']}")
            bar.update(1)
            yield record
        if not finished:
            states: dict[str, int] = {}
            for _, sj in running:
                states[sj.state] = states.get(sj.state, 0) + 1
            bar.set_postfix_str(", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
                                + (f", {len(queue)} queued here" if queue else ""))
            time.sleep(poll)


def _cancel(submitted: list[Any], bar: tqdm) -> None:
    """Cancel cluster jobs (scancel on SLURM; a signal to submitit's local processes)."""
    for sj in submitted:
        try:
            sj.cancel(check=False)
        except Exception as e:  # a scheduler that cannot be reached now: the jobs end on their own, unrecorded or not
            bar.write(f"could not cancel cluster job {sj.job_id} ({str(e).strip() or 'the scheduler gave no reason'}); "
                      f"cancel it with the scheduler (SLURM: scancel {sj.job_id}), or it runs on and, if it "
                      "finishes, writes its record without this run's lock")


def _collect(job: Job, submitted: Any, store: ResultStore) -> Record:
    record = store.read(store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key))
    if record is not None:
        return record
    try:
        why = f"raised {submitted.exception()!r}"[:600]
    except Exception as e:  # submitit's UncompletedJobError for a job that was killed or timed out
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:600]
    return failed_record(job, f"cluster job {submitted.job_id} ended without a record ({submitted.state}; {why}); "
                              "the next run codes it again")  # reported, not stored: nothing half-done is kept
