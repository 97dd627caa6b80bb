"""The cluster path through real submitit (its local executor: the same submission, pickling, job folders and
result collection as on SLURM, with local processes): a run completes, a run killed mid-way is finished by the
next one, and the records equal those of a local run."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import submitit
from conftest import REPO, group_gone, wait_until, write_clip

import bench
from bench.adapters import adapter_class
from bench.adapters.process import pinned_gpu_environment
from bench.conditions.condition import load_condition
from bench.errors import BenchError
from bench.provenance import slurm_job
from bench.run import cluster
from bench.run.cluster import run_on_submitit, scheduler_parameters
from bench.run.runner import RunOptions, run_condition
from bench.run.scheduling import allocated_gpu
from bench.run.status import condition_status
from bench.store.results import ResultStore

CODECS = """codecs:
  - {descriptor: x264, params: {preset: veryfast}, rate_points: [24, 30, 36, 42]}
  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [24, 30, 36, 42],
     resources: {cpus: 2, mem_gb: 4, time_min: 30, partition: short}}
  - {descriptor: svtav1, params: {preset: 12}, rate_points: [30, 38, 46, 54]}
"""


@pytest.fixture()
def condition(tmp_path: Path, clip_dir: Path, demo_dir: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("Pan_96x64_30.yuv", "Shapes_96x64_30.yuv"):
        (data / name).symlink_to(clip_dir / name)
    write_clip(demo_dir / "TerrainFlyover_416x240_30.yuv", data / "Terrain_96x64_30.yuv", 96, 64, 12, 100, 80)
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: c
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}, {{name: Shapes, file: Shapes_96x64_30.yuv}},
            {{name: Terrain, file: Terrain_96x64_30.yuv}}]
data_root: {data}
frames: {{first: 0, count: 6}}
intra_period: 4
metrics: {{ms_ssim: []}}
{CODECS}""")
    return path


def _comparable(results: Path) -> dict[str, tuple]:
    """What must not depend on how a job was run: key, rate, every metric, the bitstream bytes, the identity."""
    out = {}
    for r in ResultStore(results / "c").run_records():
        assert r["status"] == "ok", r["error"]
        out[r["key"]] = (r["rate"]["bits"], r["rate"]["bitstream_sha256"], json.dumps(r["metrics"], sort_keys=True),
                         json.dumps(r["per_frame"], sort_keys=True), json.dumps(r["codec"], sort_keys=True))
    return out


@pytest.mark.slow
@pytest.mark.integration
def test_submitit_run_killed_then_finished_equals_a_local_run(condition: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "evaluate.py"), "--conditions", str(condition), "--results",
           str(tmp_path / "cluster"), "--reports", str(tmp_path / "rep"), "--no-progress", "--jobs", "2",
           "--executor", "submitit-local"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                            start_new_session=True)
    records = tmp_path / "cluster" / "c" / "records"
    wait_until(lambda: len(list(records.glob("*/*/*.json"))) >= 4, 300, "four records")
    os.killpg(proc.pid, signal.SIGKILL)  # the submitting process and the job processes it started
    proc.wait()
    wait_until(lambda: group_gone(proc.pid), 60, "the killed run's processes to be gone")
    before = len(list(records.glob("*/*/*.json")))
    assert 4 <= before < 36
    left = condition_status(load_condition(condition), tmp_path / "cluster").counts()
    assert left["done"] == before and left["done"] + left["interrupted"] + left["left"] == 36, left

    outcome = run_condition(load_condition(condition), RunOptions(tmp_path / "cluster", jobs=2, progress=False,
                                                                  executor="submitit-local", remote=run_on_submitit))
    assert not outcome.failed and outcome.coded == 36 - before and outcome.skipped == before
    # Each job ran in its own submitit job, in the folder of its codec.
    assert len(list((tmp_path / "cluster" / "c" / "submitit" / "x265").glob("*_result.pkl"))) >= 1

    local = run_condition(load_condition(condition), RunOptions(tmp_path / "local", jobs=2, progress=False))
    assert not local.failed and local.coded == 36
    assert _comparable(tmp_path / "cluster") == _comparable(tmp_path / "local")


def test_scheduler_parameters_come_from_the_descriptor(condition: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    x265 = load_condition(condition).codec("x265")
    assert scheduler_parameters(x265, "slurm", 3) == {
        "name": "lvcbench-x265", "timeout_min": 32, "gpus_per_node": 0, "cpus_per_task": 2,
        "slurm_array_parallelism": 3, "mem_gb": 4, "slurm_partition": "short", "slurm_signal_delay_s": 60}
    assert scheduler_parameters(load_condition(condition).codec("x264"), "local", 2) == {
        "name": "lvcbench-x264", "timeout_min": 24 * 60 + 2, "gpus_per_node": 0}
    # The cluster options, as submitit's own job script writes them (a fake srun: submitit looks for one).
    text = condition.read_text().replace("partition: short}", "partition: short, account: proj, qos: low, "
                                         "constraint: avx2, exclusive: true, sbatch: {mail-type: END, "
                                         "reservation: r1}, setup: [module load ffmpeg, source /v/bin/activate]}")
    condition.write_text(text)
    (tmp_path / "srun").write_text("#!/bin/sh\nexit 0\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    executor = submitit.AutoExecutor(folder=tmp_path / "logs", cluster="slurm")
    executor.update_parameters(**scheduler_parameters(load_condition(condition).codec("x265"), "slurm", 3, "/co de"))
    script = executor._executor._make_submission_file_text("python -m x", "u").splitlines()
    for line in ("#SBATCH --time=32", "#SBATCH --signal=USR2@60", "#SBATCH --account=proj", "#SBATCH --qos=low",
                 "#SBATCH --constraint=avx2", "#SBATCH --exclusive", "#SBATCH --mail-type=END",
                 "#SBATCH --reservation=r1", "#SBATCH --partition=short", "#SBATCH --cpus-per-task=2"):
        assert line in script, (line, script)
    setup = script.index("module load ffmpeg")  # the user's lines, then the submitter's checkout first on the path
    assert script[setup + 1:setup + 3] == ["source /v/bin/activate", "export PYTHONPATH='/co de'${PYTHONPATH:+:$PYTHONPATH}"]
    assert setup < next(i for i, ln in enumerate(script) if ln.startswith("srun"))


@pytest.mark.gpu
def test_a_gpu_codec_asks_for_a_gpu_and_runs_pinned_to_the_one_slurm_gave(condition: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``--gpus`` pins a local job: the job's codec sees only its GPU, as cuda:0, and the record says which."""
    x265 = load_condition(condition).codec("x265")  # resources without gpus
    assert scheduler_parameters(x265, "slurm", 3, uses_gpu=True)["gpus_per_node"] == 1
    assert scheduler_parameters(x265, "slurm", 3)["gpus_per_node"] == 0
    condition.write_text(condition.read_text().replace("partition: short}", "partition: short, gpus: 0}"))
    with pytest.raises(BenchError, match=re.escape(f"x265: runs on a GPU (params.device) but resources.gpus is 0 in "
                                                   f"{condition}: its cluster jobs would get none; set resources.gpus")):
        scheduler_parameters(load_condition(condition).codec("x265"), "slurm", 3, uses_gpu=True)
    gpu_codec = adapter_class("dcvc-rt")({"device": "cuda"})
    slurm_env = {"SLURM_JOB_ID": "7", "SLURM_JOB_GPUS": "3", "CUDA_VISIBLE_DEVICES": "3"}
    assert allocated_gpu(gpu_codec, "dcvc-rt", slurm_env) == 0
    assert pinned_gpu_environment(0, slurm_env)["CUDA_VISIBLE_DEVICES"] == "3"  # what its process then sees
    assert allocated_gpu(adapter_class("dcvc-dc")({"device": "cpu"}), "dcvc-dc", slurm_env) is None
    for none in ({"SLURM_JOB_ID": "7"}, {"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, {"CUDA_VISIBLE_DEVICES": "-1"}):
        with pytest.raises(BenchError, match=re.escape("codec dcvc-rt runs on cuda (params.device) but its cluster "
                                                       "job was given no GPU (no CUDA_VISIBLE_DEVICES): set resources.gpus")):
            allocated_gpu(gpu_codec, "dcvc-rt", none)
    # submitit's local executor: the GPUs this process may use, not GPU 0 whatever CUDA_VISIBLE_DEVICES says
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert scheduler_parameters(x265, "local", 1, uses_gpu=True)["visible_gpus"] == (3, 5)
    assert "visible_gpus" not in scheduler_parameters(x265, "local", 1)  # a CPU codec asks for none
    for name, value in {**slurm_env, "SLURMD_NODENAME": "gpu07", "SLURM_ARRAY_TASK_ID": "4"}.items():
        monkeypatch.setenv(name, value)
    assert slurm_job() == {"job_id": "7", "array_task_id": "4", "node": "gpu07", "gpus": "3",
                           "cuda_visible_devices": "3"}


def _one_job(tmp_path: Path, clip_dir: Path, name: str = "one") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: 2
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [30], resources: {{time_min: 5}}}}
""")
    return path


def _signal_the_job_in_its_encode(store: Path, sig: signal.Signals, errors: list[BaseException]) -> None:
    """Send SIG to the submitit job's task process (what SLURM's scancel, time limit or --signal reach) once its
    encoder runs: the submitit-local job id is its controlling process, which runs the task as its child."""
    try:
        wait_until(lambda: any((store / "work").glob("*")), 120, "the job's encode to start")
        time.sleep(0.5)
        controller = next((store / "submitit" / "x264").glob("*_submitted.pkl")).name.split("_")[0]
        task = Path(f"/proc/{controller}/task/{controller}/children").read_text().split()[0]
        os.kill(int(task), sig)
    except BaseException as e:  # noqa: BLE001 - reported by the test's thread
        errors.append(e)


@pytest.fixture()
def slow_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An ffmpeg whose encodes (they write into a job's work folder) wait 60 s while the returned marker file
    exists; the same program with and without the wait, so that the job keys (which hash it) stay the same."""
    from bench.adapters import ffmpeg

    real = ffmpeg.ffmpeg_exe()
    marker = tmp_path / "slow"
    wrapper = tmp_path / "slow-ffmpeg"
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in */work/*) [ -e "{marker}" ] && sleep 60;; esac\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("LVCBENCH_FFMPEG", str(wrapper))  # the submitit jobs inherit it
    for cached in (ffmpeg.ffmpeg_exe, ffmpeg.ffmpeg_identity):
        cached.cache_clear()
    marker.touch()
    yield marker
    monkeypatch.undo()
    for cached in (ffmpeg.ffmpeg_exe, ffmpeg.ffmpeg_identity):
        cached.cache_clear()


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR2])
def test_a_job_the_scheduler_stops_leaves_no_record_and_the_next_run_codes_it(
        sig: signal.Signals, tmp_path: Path, clip_dir: Path, slow_ffmpeg: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """SIGTERM (scancel, a time limit, preemption) or SIGUSR2 (submitit's early warning of a time limit) during
    an encode: no failed record, a message naming the limit and the option, and a plain rerun codes the job."""
    cond, results, errors = _one_job(tmp_path, clip_dir), tmp_path / "results", []
    signaller = threading.Thread(target=_signal_the_job_in_its_encode, args=(results / "one", sig, errors))
    signaller.start()
    options = RunOptions(results, jobs=1, progress=False, executor="submitit-local", remote=run_on_submitit)
    started = time.monotonic()
    with pytest.raises(BenchError, match=r"^no job of this run left a record \(1 submitted; see "):
        run_condition(load_condition(cond), options)  # its only job: nothing to report on
    signaller.join()
    assert not errors, errors
    assert time.monotonic() - started < 50, "the job was not stopped: it waited for the encoder"
    expected = ("killed by the scheduler: time limit 5 min, resources.time_min; the next run codes it" if sig ==
                signal.SIGUSR2 else "stopped by SIGTERM from the scheduler: scancel, a time limit (5 min, "
                "resources.time_min) or preemption; the next run codes it")
    said = capsys.readouterr().out
    assert "ended without a record (" + expected in said, said
    assert list((results / "one").glob("records/*/*/*.json")) == []  # nothing recorded, failed or not

    slow_ffmpeg.unlink()
    again = run_condition(load_condition(cond), options)  # plain: no --retry-failed
    assert again.coded == 1 and not again.failed and again.skipped == 0
    assert [r["status"] for r in ResultStore(results / "one").run_records()] == ["ok"]


@pytest.mark.slow
@pytest.mark.integration
def test_a_stopped_job_is_not_recorded_not_failed_and_the_run_says_to_run_again(
        tmp_path: Path, clip_dir: Path, slow_ffmpeg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two jobs, one at a time: the first is stopped by SIGTERM in its encode, the second codes. The run says
    NOT RECORDED (not FAILED), counts it apart from the failed ones, never advises --retry-failed, exits 1; a
    plain rerun codes exactly that job and the summary line is the plain one again."""
    from bench import cli

    cond = _one_job(tmp_path, clip_dir)
    cond.write_text(cond.read_text().replace("rate_points: [30]", "rate_points: [30, 36]"))
    results, errors = tmp_path / "results", []

    def stop_the_first() -> None:
        _signal_the_job_in_its_encode(results / "one", signal.SIGTERM, errors)
        slow_ffmpeg.unlink()  # before the second job is submitted: it codes at full speed

    signaller = threading.Thread(target=stop_the_first)
    signaller.start()
    argv = ["run", "--conditions", str(cond), "--executor", "submitit-local", "--results", str(results),
            "--reports", str(tmp_path / "rep"), "--no-progress", "--no-figures"]
    assert cli.main(argv) == 1
    signaller.join()
    assert not errors, errors
    out, err = capsys.readouterr()
    stopped = [ln for ln in out.splitlines() if ln.startswith("NOT RECORDED")]
    assert len(stopped) == 1 and re.match(r"NOT RECORDED x264 / Pan / qp 3[06]: cluster job \d+ ended without", stopped[0]), out
    assert ("ended without a record (stopped by SIGTERM from the scheduler: scancel, a time limit (5 min, "
            "resources.time_min) or preemption; the next run codes it; its log: ") in stopped[0]
    assert re.search(r"^one: 2 jobs, 1 coded, 0 already recorded, 0 failed, 1 not recorded, \d+\.\d s$", out,
                     re.MULTILINE), out
    assert "  " + stopped[0] in err.splitlines()  # a job alone: its own line again in the summary
    assert err.splitlines()[-1] == ("error: 1 job(s) ended without a record (killed or stopped by the scheduler, or "
                                    "not run); run again to code them"), err
    assert "FAILED" not in out + err and "--retry-failed" not in out + err and "job(s) failed" not in err
    assert len(list((results / "one").glob("records/*/*/*.json"))) == 1  # the coded one; nothing for the other

    assert cli.main(argv) == 0  # plain: no --retry-failed
    out = capsys.readouterr().out
    assert re.search(r"^one: 2 jobs, 1 coded, 1 already recorded, 0 failed, \d+\.\d s$", out, re.MULTILINE), out
    assert [r["status"] for r in ResultStore(results / "one").run_records()] == ["ok", "ok"]


def test_not_recorded_causes_are_said_once_with_their_count() -> None:
    from types import SimpleNamespace

    from bench.cli import _not_recorded_lines
    from bench.run.runner import RunOutcome

    refused = "x264: did not run: node n1 runs bench from /a (version 1), the submitter from /b (version 2)"
    jobs = [SimpleNamespace(label=f"x264 / Pan / rate point {q}") for q in (22, 27, 32)]
    outcome = RunOutcome(jobs=[], not_recorded=[(j, f"cluster job 5_{i} did not run: ...", refused)
                                                for i, j in enumerate(jobs)])
    outcome.not_recorded.append((SimpleNamespace(label="x265 / Pan / rate point 30"), "cluster job 6 ended ...",
                                 "x265: ended without a record (...)"))
    assert _not_recorded_lines(outcome) == [f"{refused} (3 jobs)", "x265 / Pan / rate point 30: cluster job 6 ended ..."]


@pytest.mark.slow
@pytest.mark.integration
def test_a_node_with_other_code_refuses_and_a_run_without_any_record_says_so(
        tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    here, version = cluster.code_identity()
    assert version.startswith(bench.__version__ + "+") and Path(here) == Path(bench.__file__).resolve().parent
    refused = cluster.run_planned_job("c.yaml", None, str(tmp_path), "k", "x264", "Pan", 0,
                                      ("/other/bench", "0.0.1+000000000000"))
    assert refused == {"refused": f"node {socket.gethostname()} runs bench from {here} (version {version}), the "
                                  "submitter from /other/bench (version 0.0.1+000000000000): install the same code "
                                  "on the nodes or share the checkout"}
    # The submitter's bench differs from what its job processes import: every job refuses, said once for the
    # node and codec (its other jobs may run on nodes that see the right code: not cancelled); none is recorded.
    monkeypatch.setattr(cluster, "code_identity", lambda: ("/other/bench", "0.0.1+000000000000"))
    options = RunOptions(tmp_path / "results", jobs=1, progress=False, executor="submitit-local",
                         remote=run_on_submitit)
    path = _one_job(tmp_path, clip_dir)
    path.write_text(path.read_text().replace("rate_points: [30]", "rate_points: [26, 30, 38]"))
    capsys.readouterr()
    with pytest.raises(BenchError) as e:
        run_condition(load_condition(path), options)
    assert str(e.value) == (f"no job of this run left a record (3 submitted; see {tmp_path / 'results' / 'one' / 'submitit'}"
                            "/<codec>/ for their logs: x264)")
    said = [ln for ln in capsys.readouterr().out.splitlines() if "did not run" in ln]
    assert said == [f"NOT RECORDED x264: did not run: node {socket.gethostname()} runs bench from {here} (version "
                    f"{version}), the submitter from /other/bench (version 0.0.1+000000000000): install the same code "
                    "on the nodes or share the checkout (said once for this node and codec)"], said
    assert len(list((tmp_path / "results" / "one" / "submitit" / "x264").glob("*_result.pkl"))) == 3


@pytest.mark.parametrize(("resources", "error"), [
    ("{time_min: 0}", "resources.time_min: 0 is not a valid value (minutes, 1 or more)"),
    ("{exclusive: yes-please}", "resources.exclusive: 'yes-please' is not a valid value"),
    ("{sbatch: {--mail-type: END}}", "resources.sbatch.--mail-type: write sbatch options as name: value"),
    ("{setup: [module load x, 3]}", "resources.setup: a list of shell lines (text)"),
    ("{acount: p}", "resources: unknown key 'acount' (known keys here: account, constraint, cpus, exclusive,"),
])
def test_cluster_options_are_checked(tmp_path: Path, clip_dir: Path, resources: str, error: str) -> None:
    path = _one_job(tmp_path, clip_dir)
    path.write_text(path.read_text().replace("resources: {time_min: 5}", f"resources: {resources}"))
    with pytest.raises(BenchError, match=re.escape(error)):
        load_condition(path)


def test_cluster_options_survive_the_condition_as_run_and_stay_out_of_the_keys(tmp_path: Path, clip_dir: Path) -> None:
    path = _one_job(tmp_path, clip_dir)
    plain = load_condition(path)
    path.write_text(path.read_text().replace("resources: {time_min: 5}", "resources: {time_min: 5, account: p, "
                                             "exclusive: true, sbatch: {mail-type: END}, setup: [module load x]}"))
    rich = load_condition(path)
    assert dict(rich.codec("x264").resources)["sbatch"] == (("mail-type", "END"),)
    again = tmp_path / "again.yaml"
    again.write_text(rich.expanded_text())
    assert load_condition(again).codec("x264").resources == rich.codec("x264").resources
    from bench.run.runner import plan
    assert [j.key for j in plan(plain)[0]] == [j.key for j in plan(rich)[0]]


def test_threads_follow_the_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.run.scheduling import available_cores

    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert available_cores() == cores
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert available_cores() == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", str(cores + 8))  # never more than this process may run on
    assert available_cores() == cores
