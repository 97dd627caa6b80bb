"""What SLURM itself says about a run's jobs: ``squeue`` for the jobs it still holds, ``sacct`` (where
accounting exists) for how the others ended.

submitit learns a job's state from ``sacct`` alone, and ``sacct`` lists neither an array task cancelled while
pending nor, without accounting, any job at all: a job that died before writing its result stayed "unknown"
and the run waited forever. So the submitting run asks ``squeue`` for the jobs it submitted at every poll
(:class:`SlurmQueue`); a job that ``squeue`` no longer lists and that has left neither its record nor its result
for :data:`GRACE_POLLS` polls has ended without a record, and ``sacct`` (asked once whether it works: without
accounting it fails, and is not asked again) says how, where it can.

A job pending for a reason that waiting cannot resolve (:data:`HOPELESS`: a time limit over the partition's,
an account or QoS that does not exist, a constraint no node has) is cancelled and named in one line, with the
``resources`` option to change.
"""

from __future__ import annotations

import subprocess
from typing import NamedTuple

# squeue's states of a job that still runs or may still run (squeue --states documents them).
ACTIVE_STATES = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
                 "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD", "STOPPED", "SPECIAL_EXIT")
# A job that neither squeue lists nor has left its record or result this many polls in a row has ended: the
# grace covers a result written on a shared file system that this host sees a moment later.
GRACE_POLLS = 2
SQUEUE_FORMAT = "%i|%T|%r|%P"  # job id (array tasks as JOBID_TASK with --array), state, reason, partition
SACCT_FIELDS = "JobID,State,ExitCode"


class Hopeless(NamedTuple):
    """A pending reason that waiting cannot resolve: SLURM's name, the resources option(s) that cause it, and
    what to do."""

    reason: str
    option: str
    advice: str


HOPELESS = (
    Hopeless("PartitionTimeLimit", "time_min", "lower time_min or choose another partition"),
    Hopeless("QOSMaxWallDurationPerJobLimit", "time_min", "lower time_min or choose another qos"),
    Hopeless("AssocMaxWallDurationPerJobLimit", "time_min", "lower time_min or use another account"),
    Hopeless("PartitionNodeLimit", "cpus/mem_gb/gpus", "ask for less or choose another partition"),
    Hopeless("InvalidAccount", "account", "name an account you belong to (sacctmgr show assoc user=$USER)"),
    Hopeless("InvalidQOS", "qos", "name a QoS your account may use (sacctmgr show assoc user=$USER)"),
    Hopeless("BadConstraints", "constraint", "name features the partition's nodes have (sinfo -o '%N %f')"),
    Hopeless("QOSMaxCpuPerJobLimit", "cpus", "ask for fewer cpus or choose another qos"),
    Hopeless("QOSMaxGRESPerJob", "gpus", "ask for fewer gpus or choose another qos"),
    Hopeless("QOSMaxMemoryPerJob", "mem_gb", "ask for less memory or choose another qos"),
    Hopeless("QOSMaxNodePerJobLimit", "cpus/mem_gb/gpus", "ask for less or choose another qos"),
    Hopeless("AssocMaxCpuPerJobLimit", "cpus", "ask for fewer cpus or use another account"),
    Hopeless("AssocMaxNodesPerJobLimit", "cpus/mem_gb/gpus", "ask for less or use another account"),
    Hopeless("ReqNodeNotAvail", "partition/constraint", "no node of the partition can run it; choose another "
                                                        "partition or constraint"),
)


class Queued(NamedTuple):
    """One job as squeue lists it."""

    state: str
    reason: str
    partition: str


def parse_squeue(text: str) -> dict[str, Queued]:
    """``squeue --noheader --array --format=%i|%T|%r|%P`` output -> job id -> (state, reason, partition).
    Ids are as submitit names them: ``JOBID`` or ``JOBID_TASK``."""
    jobs = {}
    for line in text.splitlines():
        fields = line.strip().split("|", 3)
        if len(fields) == 4 and fields[0]:
            jobs[fields[0]] = Queued(fields[1].strip(), fields[2].strip(), fields[3].strip())
    return jobs


def parse_sacct(text: str) -> dict[str, str]:
    """``sacct --noheader --parsable2 --format=JobID,State,ExitCode`` output -> job id -> state (``TIMEOUT``,
    ``CANCELLED by 1000``, ``OUT_OF_MEMORY`` ...); steps (``123_4.batch``) are skipped, their job's line
    counts; a pending array's range line (``123_[5-9]``) names each task."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 2 or not fields[0] or "." in fields[0]:
            continue
        job_id, state = fields[0], fields[1].strip()
        for one in _expand(job_id):
            states[one] = state
    return states


def _expand(job_id: str) -> list[str]:
    """``123_[1-3,7%2]`` -> 123_1, 123_2, 123_3, 123_7; anything else as it is."""
    if "_[" not in job_id or not job_id.endswith("]"):
        return [job_id]
    base, inner = job_id[:-1].split("_[", 1)
    out = []
    for part in inner.split("%", 1)[0].split(","):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            out += [f"{base}_{i}" for i in range(int(low), int(high or low) + 1)]
    return out


def hopeless(reason: str) -> Hopeless | None:
    """The :data:`HOPELESS` entry REASON (squeue's %r) starts with; None for a reason that can resolve.
    ``ReqNodeNotAvail`` counts only when it names no unavailable node (all the partition's nodes are out of
    reach for this job, not just down now)."""
    for h in HOPELESS:
        if reason == h.reason or reason.startswith(h.reason + ","):
            if h.reason == "ReqNodeNotAvail" and reason.partition("UnavailableNodes:")[2].strip(" ,"):
                return None  # named nodes are down or drained now: they may come back
            return h
    return None


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None


class SlurmQueue:
    """The submitting run's view of its jobs: squeue at every poll, sacct for the ended ones where it works."""

    def __init__(self) -> None:
        self._sacct: bool | None = None  # None: not asked yet

    def listed(self, job_ids: list[str]) -> dict[str, Queued] | None:
        """The jobs of JOB_IDS that squeue lists (its array tasks one by one); None when squeue cannot be
        asked now (the controller unreachable): no job counts as gone on such a poll."""
        bases = sorted({j.split("_", 1)[0] for j in job_ids})
        if not bases:
            return {}
        done = _run(["squeue", "--noheader", "--array", f"--format={SQUEUE_FORMAT}", f"--jobs={','.join(bases)}"])
        if done is None:
            return None
        if done.returncode != 0:
            # One job id that SLURM has forgotten makes squeue fail, though it means "none of these is queued".
            return {} if "Invalid job id" in done.stderr else None
        wanted = set(job_ids)
        return {k: v for k, v in parse_squeue(done.stdout).items() if k in wanted}

    def ended_states(self, job_ids: list[str]) -> dict[str, str]:
        """How sacct says JOB_IDS ended ({} where accounting is off, found out once)."""
        if self._sacct is False or not job_ids:
            return {}
        done = _run(["sacct", "--noheader", "--parsable2", f"--format={SACCT_FIELDS}",
                     f"--jobs={','.join(sorted(set(job_ids)))}"])
        if done is None or done.returncode != 0 or "disabled" in done.stderr:
            self._sacct = False  # "Slurm accounting storage is disabled": never asked again in this run
            return {}
        self._sacct = True
        return parse_sacct(done.stdout)

    @staticmethod
    def partition_limit(partition: str) -> str | None:
        """PARTITION's time limit as sinfo writes it (``10:00``, ``1-00:00:00``, ``infinite``); None if unknown."""
        done = _run(["sinfo", "--noheader", f"--partition={partition}", "--format=%l"]) if partition else None
        lines = done.stdout.split() if done is not None and done.returncode == 0 else []
        return lines[0] if lines else None

    @staticmethod
    def cancel(job_id: str) -> None:
        _run(["scancel", job_id])
