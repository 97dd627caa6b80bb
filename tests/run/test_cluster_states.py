"""How the cluster path reads SLURM's answers (bench.run.slurm_states) and decides that a job has ended: squeue and
sacct output as SLURM prints it (formats from their manual pages; the lines below were written the way
SLURM 22.05 prints them, e.g. ``squeue -h -r -o '%i|%T|%r|%P'``), fake ``squeue``/``sacct``/``sbatch`` programs
on PATH for the calls themselves, and a fake scheduler for the polling decisions. The real check is
tests/run/test_slurm.py, on a real SLURM."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.run import cluster
from bench.run.slurm_states import GRACE_POLLS, Queued, SlurmQueue, hopeless, parse_sacct, parse_squeue

SQUEUE = """\
4242_3|PENDING|PartitionTimeLimit|short
4242_0|RUNNING|None|short
4243|PENDING|ReqNodeNotAvail, UnavailableNodes:node[01-02]|gpu
4244|PENDING|Priority|debug
"""
# sacct --noheader --parsable2 --format=JobID,State,ExitCode: jobs, their steps, a pending array's range line
SACCT = """\
4242_0|TIMEOUT|0:0
4242_0.batch|CANCELLED|0:15
4242_0.0|CANCELLED by 0|0:15
4242_1|CANCELLED by 1000|0:0
4242_[4-6%2]|PENDING|0:0
4245|OUT_OF_MEMORY|0:125
"""

# The same call's real output, copied as printed by slurm-wlm 22.05.8 with slurmdbd 22.05.8 on MariaDB 10.11
# (Debian bookworm), one node: job 40 `sbatch --time=1 --wrap "sleep 300"`; array 41 `--array=0-3%1 --wrap
# "sleep 30"` with 41_2 cancelled while pending and then 41_0 while running; arrays 10 and 11 cancelled while
# wholly pending (PartitionTimeLimit), 18 a job that exited 1. A task cancelled while pending among others (41_2)
# is in no line at all, even with accounting: the reason the run asks squeue first.
REAL_SACCT = """\
10_[0]|CANCELLED by 0|0:0
11_[0-1%2]|CANCELLED by 0|0:0
18|FAILED|1:0
40|TIMEOUT|0:0
40.batch|CANCELLED|0:15
41_0|CANCELLED by 0|0:0
41_0.batch|CANCELLED|0:15
41_1|COMPLETED|0:0
41_1.batch|COMPLETED|0:0
41_3|COMPLETED|0:0
41_3.batch|COMPLETED|0:0
"""


def test_real_sacct_output_and_what_the_run_says_for_each_state() -> None:
    states = parse_sacct(REAL_SACCT)
    assert states == {"10_0": "CANCELLED by 0", "11_0": "CANCELLED by 0", "11_1": "CANCELLED by 0", "18": "FAILED",
                      "40": "TIMEOUT", "41_0": "CANCELLED by 0", "41_1": "COMPLETED", "41_3": "COMPLETED"}
    job = SimpleNamespace(codec=SimpleNamespace(resources=(("time_min", 5),)))
    why = {i: cluster._ended_why(job, states.get(i), None, None) for i in ("40", "41_0", "41_2", "18")}  # type: ignore[arg-type]
    assert why == {"40": "killed by the scheduler: time limit 5 min, resources.time_min",
                   "41_0": "killed by the scheduler: cancelled (CANCELLED by 0: scancel)",
                   "41_2": "left the queue without a result", "18": "the scheduler says FAILED"}
    # A job that stopped on the time limit's early signal ends COMPLETED (it exits before SLURM kills it).
    assert cluster._ended_why(job, "COMPLETED", "SIGUSR2", None) == why["40"]  # type: ignore[arg-type]
    assert cluster._ended_why(job, "CANCELLED by 0", "SIGTERM", None) == why["41_0"]  # type: ignore[arg-type]


def test_squeue_lines_are_read_per_array_task() -> None:
    jobs = parse_squeue(SQUEUE)
    assert jobs["4242_3"] == Queued("PENDING", "PartitionTimeLimit", "short")
    assert jobs["4242_0"].state == "RUNNING" and jobs["4243"].reason.startswith("ReqNodeNotAvail, Unavailable")
    assert set(jobs) == {"4242_3", "4242_0", "4243", "4244"}
    assert parse_squeue("") == {} and parse_squeue("garbage without fields\n") == {}


def test_sacct_lines_skip_steps_and_expand_pending_ranges() -> None:
    states = parse_sacct(SACCT)
    assert states == {"4242_0": "TIMEOUT", "4242_1": "CANCELLED by 1000", "4242_4": "PENDING", "4242_5": "PENDING",
                      "4242_6": "PENDING", "4245": "OUT_OF_MEMORY"}


@pytest.mark.parametrize(("reason", "option"), [
    ("PartitionTimeLimit", "time_min"), ("QOSMaxWallDurationPerJobLimit", "time_min"), ("InvalidAccount", "account"),
    ("InvalidQOS", "qos"), ("BadConstraints", "constraint"), ("ReqNodeNotAvail, UnavailableNodes:", "partition/constraint"),
    ("ReqNodeNotAvail", "partition/constraint")])
def test_reasons_that_cannot_resolve(reason: str, option: str) -> None:
    found = hopeless(reason)
    assert found is not None and found.option == option


@pytest.mark.parametrize("reason", ["Priority", "Resources", "None", "BeginTime", "Dependency", "QOSMaxJobsPerUserLimit",
                                    "ReqNodeNotAvail, UnavailableNodes:node[01-02]", "PartitionConfig",
                                    "PartitionTimeLimitX"])
def test_reasons_that_resolve_by_waiting(reason: str) -> None:
    assert hopeless(reason) is None


def _fake(bin_dir: Path, name: str, stdout: str, stderr: str = "", code: int = 0) -> None:
    (bin_dir / f"{name}.out").write_text(stdout)
    (bin_dir / f"{name}.err").write_text(stderr)
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "$@" >> "{bin_dir}/{name}.args"\ncat "{bin_dir}/{name}.out"\n'
                      f'cat "{bin_dir}/{name}.err" >&2\nexit {code}\n')
    script.chmod(0o755)


@pytest.fixture()
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_squeue_is_asked_for_the_submitted_arrays_only(bin_dir: Path) -> None:
    _fake(bin_dir, "squeue", SQUEUE)
    listed = SlurmQueue().listed(["4242_0", "4242_1", "4242_3", "4244"])
    assert listed == {"4242_0": Queued("RUNNING", "None", "short"), "4242_3": Queued("PENDING", "PartitionTimeLimit",
                                                                                           "short"),
                      "4244": Queued("PENDING", "Priority", "debug")}
    args = (bin_dir / "squeue.args").read_text().split()
    assert "--array" in args and "--jobs=4242,4244" in args and "--noheader" in args


def test_squeue_forgetting_every_job_means_none_is_queued_and_a_failure_means_unknown(bin_dir: Path) -> None:
    _fake(bin_dir, "squeue", "", "slurm_load_jobs error: Invalid job id specified", 1)
    assert SlurmQueue().listed(["77"]) == {}
    _fake(bin_dir, "squeue", "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)", 1)
    assert SlurmQueue().listed(["77"]) is None  # not "gone": nothing may end on such a poll


def test_sacct_without_accounting_is_asked_once(bin_dir: Path) -> None:
    _fake(bin_dir, "sacct", "", "sacct: error: Slurm accounting storage is disabled", 1)
    watch = SlurmQueue()
    assert watch.ended_states(["1"]) == {} and watch.ended_states(["2"]) == {}
    assert len((bin_dir / "sacct.args").read_text().splitlines()) == 1
    _fake(bin_dir, "sacct", SACCT)
    assert SlurmQueue().ended_states(["4242_0"])["4242_0"] == "TIMEOUT"


class _Watch:
    """A scheduler that lists what the test says, counting cancels."""

    def __init__(self, listing: dict[str, Queued] | None, ended: dict[str, str] | None = None) -> None:
        self.listing, self.ended, self.cancelled = listing, ended or {}, []

    def listed(self, ids: list[str]) -> dict[str, Queued] | None:
        return self.listing

    def ended_states(self, ids: list[str]) -> dict[str, str]:
        return {i: s for i, s in self.ended.items() if i in ids}

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    @staticmethod
    def partition_limit(partition: str) -> str:
        return "10:00"


class _Bar:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)


def _tracked(tmp_path: Path, job_id: str, resources: dict[str, Any]) -> Any:
    codec = SimpleNamespace(name="x265", resources=tuple(resources.items()), defined_in="c.yaml")
    job = SimpleNamespace(codec=codec, sequence=SimpleNamespace(name="Pan"), rate_point=30, key=job_id * 4,
                          label=f"x265 / Pan / 30 ({job_id})")
    paths = SimpleNamespace(result_pickle=tmp_path / f"{job_id}_0_result.pkl", stderr=tmp_path / f"{job_id}_0_log.err")
    return cluster._Tracked(job, SimpleNamespace(job_id=job_id, paths=paths))


class _Store:
    def record_path(self, *parts: Any) -> Path:
        return Path("/nonexistent") / str(parts[-1])

    def read(self, path: Path) -> None:
        return None


@pytest.fixture()
def no_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "failed_record", lambda job, message: {"status": "failed", "key": job.key,
                                                                       "error": {"message": message}})


@pytest.mark.usefixtures("no_records")
def test_a_job_gone_from_squeue_without_a_result_ends_after_the_grace_polls(tmp_path: Path) -> None:
    t = _tracked(tmp_path, "9_1", {"time_min": 5})
    watch, bar = _Watch({"9_1": Queued("PENDING", "Priority", "debug")}), _Bar()
    assert cluster._ended_on_slurm([t], _Store(), watch, bar) == []
    watch.listing = {}  # cancelled while pending: gone from squeue, and sacct (here: none) does not list it
    for _ in range(GRACE_POLLS):
        assert cluster._ended_on_slurm([t], _Store(), watch, bar) == []
    [(_, record)] = cluster._ended_on_slurm([t], _Store(), watch, bar)
    message = record["error"]["message"]
    assert message.startswith("cluster job 9_1 ended without a record (left the queue without a result; squeue "
                              "last listed it PENDING (Priority); the next run codes it;"), message


@pytest.mark.usefixtures("no_records")
def test_an_unanswered_squeue_never_ends_a_job(tmp_path: Path) -> None:
    t = _tracked(tmp_path, "9_1", {})
    for _ in range(GRACE_POLLS + 3):
        assert cluster._ended_on_slurm([t], _Store(), _Watch(None), _Bar()) == []


@pytest.mark.usefixtures("no_records")
def test_a_timed_out_job_names_the_limit_and_the_option(tmp_path: Path) -> None:
    t = _tracked(tmp_path, "9_2", {"time_min": 5})
    watch = _Watch({}, {"9_2": "TIMEOUT"})
    for _ in range(GRACE_POLLS):
        cluster._ended_on_slurm([t], _Store(), watch, _Bar())
    [(_, record)] = cluster._ended_on_slurm([t], _Store(), watch, _Bar())
    assert "(killed by the scheduler: time limit 5 min, resources.time_min; the next run codes it;" in \
        record["error"]["message"]


@pytest.mark.usefixtures("no_records")
def test_a_hopeless_pending_array_is_cancelled_once_and_said_in_one_line(tmp_path: Path) -> None:
    tasks = [_tracked(tmp_path, f"77_{i}", {"time_min": 1440, "partition": "short"}) for i in range(3)]
    watch, bar = _Watch({f"77_{i}": Queued("PENDING", "PartitionTimeLimit", "short") for i in range(3)}), _Bar()
    ended = cluster._ended_on_slurm(tasks, _Store(), watch, bar)
    assert len(ended) == 3 and watch.cancelled == ["77"]
    assert bar.lines == ["error: x265: cluster job 77 cannot start (PartitionTimeLimit): resources.time_min 1440 "
                         "(SLURM is asked for 1442 min: 2 more for the early stop signal) exceeds partition short's "
                         "limit (10:00); lower time_min or choose another partition; cancelled (the next run submits "
                         "its jobs again)"]


def test_an_sbatch_refusal_is_one_line_naming_the_option() -> None:
    codec = SimpleNamespace(name="x264", defined_in="/c/cond.yaml")
    stderr = ("sbatch: error: invalid partition specified: nosuch\n"
              "sbatch: error: Batch job submission failed: Invalid partition name specified\n")
    assert cluster.refusal_line(codec, stderr) == (
        "x264: sbatch refused the job: invalid partition specified: nosuch; Batch job submission failed: Invalid "
        "partition name specified; check resources.partition in /c/cond.yaml")
    gpu = "sbatch: error: Batch job submission failed: Requested node configuration is not available\n"
    assert cluster.refusal_line(codec, gpu).endswith("check resources.cpus, gpus, mem_gb or constraint in /c/cond.yaml")
    account = "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"
    assert cluster.refusal_line(codec, account).endswith("check resources.account in /c/cond.yaml")
