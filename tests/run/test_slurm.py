"""The cluster path on a real SLURM: a one-node cluster (tests/slurm_cluster.py: Debian's slurm-wlm and munge,
started in a temporary folder, no accounting) runs a small condition through ``--executor slurm``, and every
record equals the one a local run writes: same keys, bits, bitstream SHA-256s, measured values and codec identity.
The reference is the local executor, which shares no code with SLURM's submission, job scripts or scheduling.

Also checked: the test cluster itself shows the scheduler's fault cases the cluster path must handle (a partition
time limit that keeps a job pending, an unknown partition refused by sbatch, a cancelled pending array task gone
from squeue, sacct without accounting)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, slurm  # noqa: F401
from test_cluster import _comparable, slow_ffmpeg  # noqa: F401

from bench import cli

pytestmark = pytest.mark.slurm


@pytest.fixture()
def small_condition(tmp_path: Path, clip_dir: Path) -> Path:
    """Two codecs x two clips x two rate points, four 96x64 frames: eight jobs, each a few seconds."""
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: c
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}, {{name: Shapes, file: Shapes_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [26, 38]}}
  - {{descriptor: x265, params: {{preset: ultrafast}}, rate_points: [26, 38], resources: {{time_min: 10}}}}
""")
    return path


@pytest.mark.slow
@pytest.mark.integration
def test_a_condition_run_on_slurm_equals_a_local_run(slurm: SlurmCluster, small_condition: Path, tmp_path: Path,  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in slurm.env.items():  # submitit calls sbatch, squeue, sacct and scancel as subprocesses
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    assert cli.main(["run", "--conditions", str(small_condition), "--executor", "slurm", "--jobs", "2",
                     "--results", str(tmp_path / "slurm"), "--reports", str(tmp_path / "rep-slurm"),
                     "--no-progress"]) == 0
    slurm_s = time.monotonic() - started
    # Every job went through the cluster: one job array per codec, each task's result in its codec's folder.
    for codec in ("x264", "x265"):
        assert len(list((tmp_path / "slurm" / "c" / "submitit" / codec).glob("*_result.pkl"))) == 4, codec
    assert cli.main(["run", "--conditions", str(small_condition), "--executor", "local", "--jobs", "2",
                     "--results", str(tmp_path / "local"), "--reports", str(tmp_path / "rep-local"),
                     "--no-progress"]) == 0
    on_slurm, local = _comparable(tmp_path / "slurm"), _comparable(tmp_path / "local")
    assert len(local) == 8 and on_slurm == local
    print(f"SLURM cluster up in {slurm.start_s:.1f} s; condition of 8 jobs on it in {slurm_s:.1f} s")


@pytest.mark.slow
def test_the_test_cluster_shows_the_schedulers_fault_cases(slurm: SlurmCluster) -> None:  # noqa: F811
    """What the cluster path's polling must understand, as this SLURM prints it (the spec for its handling)."""
    assert {r["partition"] for r in slurm.sinfo()} == {"debug*", "short"}
    refused = slurm.client("sbatch", "-p", "nosuch", "--wrap", "true", check=False)
    assert refused.returncode == 1
    assert "invalid partition specified: nosuch" in refused.stderr
    # More than the partition's MaxTime: pending for a reason that never resolves. Just after submission the
    # reason may still read PartitionConfig; the scheduler's next pass names PartitionTimeLimit.
    job = slurm.client("sbatch", "--parsable", "-p", "short", "--time=20", "--array=0-1", "--wrap", "true").stdout
    job = job.strip().split(";")[0]
    deadline = time.monotonic() + 30
    while {r["reason"] for r in slurm.squeue("-j", job)} != {"PartitionTimeLimit"}:
        assert time.monotonic() < deadline, slurm.squeue("-j", job)
        time.sleep(0.5)
    assert [r["state"] for r in slurm.squeue("-j", job)] == ["PENDING", "PENDING"]
    # A pending array task cancelled from outside is gone from squeue at once; its sibling is still listed.
    slurm.client("scancel", f"{job}_1")
    assert [r["id"] for r in slurm.squeue("-j", job)] == [f"{job}_0"]
    slurm.client("scancel", job)
    # No accounting: sacct fails, so a poller cannot rely on it.
    sacct = slurm.client("sacct", "-j", job, "-o", "JobID,State", "--parsable2", check=False)
    assert sacct.returncode == 1 and "accounting storage is disabled" in sacct.stderr


# --- the cluster path's own handling of the fault cases (bench.run.cluster, bench.run.slurm_states) ------------------

def _condition(tmp_path: Path, clip_dir: Path, resources: str, rate_points: str = "[30]") -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(f"""
name: f
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: 2
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: {rate_points}, resources: {resources}}}
""")
    return path


def _run(cond: Path, tmp_path: Path, *extra: str) -> int:
    return cli.main(["run", "--conditions", str(cond), "--executor", "slurm", "--results", str(tmp_path / "res"),
                     "--reports", str(tmp_path / "rep"), "--no-progress", "--no-figures", *extra])


def _on_slurm(slurm: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    for name, value in slurm.env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.integration
def test_a_refused_sbatch_is_one_line_naming_the_option(slurm: SlurmCluster, tmp_path: Path, clip_dir: Path,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _on_slurm(slurm, monkeypatch)
    cond = _condition(tmp_path, clip_dir, "{partition: nosuch}")
    assert _run(cond, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: x264: sbatch refused the job: invalid partition specified: nosuch; Batch job submission failed: "
        f"Invalid partition name specified; check resources.partition in {cond}"], err
    print(err)


@pytest.mark.slow
@pytest.mark.integration
def test_a_job_that_cannot_start_is_cancelled_in_one_line(slurm: SlurmCluster, tmp_path: Path, clip_dir: Path,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _on_slurm(slurm, monkeypatch)
    cond = _condition(tmp_path, clip_dir, "{partition: short, time_min: 20}", "[26, 38]")
    started = time.monotonic()
    assert _run(cond, tmp_path) == 2  # its only jobs cancelled: nothing to report on
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    said = [ln for ln in (out + err).splitlines() if "cannot start" in ln]
    assert len(said) == 1 and said[0].startswith("error: x264: cluster job "), out + err
    assert said[0].endswith(" cannot start (PartitionTimeLimit): resources.time_min 20 (SLURM is asked for 22 min: 2 "
                            "more for the early stop signal) exceeds partition short's limit (10:00); lower time_min "
                            "or choose another partition; cancelled (the next run submits its jobs again)"), said
    assert "error: no job of this run left a record (2 submitted; see " in err
    assert seconds < 60 and slurm.squeue() == []
    print(f"{said[0]}\n({seconds:.1f} s from the command's start)")


def _wait_and_cancel(slurm: SlurmCluster, work: Path, errors: list[BaseException]) -> None:  # noqa: F811
    """Once the first array task encodes (the second pends: --jobs 1), scancel the pending one, then the running
    one, as a user would from another shell."""
    try:
        deadline = time.monotonic() + 120
        while not any(work.glob("*")) or not any(r["state"] == "RUNNING" for r in slurm.squeue()):
            assert time.monotonic() < deadline, slurm.squeue()
            time.sleep(0.5)
        rows = {r["state"]: r["id"] for r in slurm.squeue()}
        slurm.client("scancel", rows["PENDING"])
        time.sleep(2)
        slurm.client("scancel", rows["RUNNING"])
    except BaseException as e:  # noqa: BLE001 - reported by the test
        errors.append(e)


@pytest.mark.slow
@pytest.mark.integration
def test_cancelled_tasks_pending_or_running_end_the_wait_and_the_next_run_codes_them(  # noqa: F811
        slurm: SlurmCluster, tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        slow_ffmpeg: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    import threading

    _on_slurm(slurm, monkeypatch)
    cond, errors = _condition(tmp_path, clip_dir, "{time_min: 5}", "[26, 38]"), []
    cancel = threading.Thread(target=_wait_and_cancel, args=(slurm, tmp_path / "res" / "f" / "work", errors))
    cancel.start()
    started = time.monotonic()
    assert _run(cond, tmp_path, "--jobs", "1") == 2  # no record at all
    seconds = time.monotonic() - started
    cancel.join()
    assert not errors, errors
    out = capsys.readouterr().out
    ended = [ln for ln in out.splitlines() if ln.startswith("NOT RECORDED")]
    assert len(ended) == 2 and seconds < 90, out
    assert any("ended without a record (left the queue without a result; squeue last listed it PENDING (" in ln
               for ln in ended), ended
    assert any("ended without a record (stopped by SIGTERM from the scheduler: scancel, a time limit (5 min, "
               "resources.time_min) or preemption; the next run codes it" in ln for ln in ended), ended
    assert list((tmp_path / "res" / "f").glob("records/*/*/*.json")) == []
    slow_ffmpeg.unlink()
    assert _run(cond, tmp_path) == 0
    assert "f: 2 jobs, 2 coded, 0 already recorded, 0 failed" in capsys.readouterr().out
    print("\n".join(ended) + f"\n({seconds:.1f} s from the command's start)")


@pytest.mark.slow
@pytest.mark.integration
def test_a_time_limited_job_leaves_no_record_and_the_next_run_codes_it(  # noqa: F811
        slurm: SlurmCluster, tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        slow_ffmpeg: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """time_min 1: SLURM is asked for 3 min and sends SIGUSR2 60 s before (up to 60 s earlier still): the job
    stops after 1 to 2 minutes, never before the minute asked for."""
    _on_slurm(slurm, monkeypatch)
    cond = _condition(tmp_path, clip_dir, "{time_min: 1}")
    started = time.monotonic()
    assert _run(cond, tmp_path) == 2
    seconds = time.monotonic() - started
    out = capsys.readouterr().out
    assert "ended without a record (killed by the scheduler: time limit 1 min, resources.time_min; the next run " \
           "codes it" in out, out
    assert 60 <= seconds < 200, seconds
    slow_ffmpeg.unlink()
    assert _run(cond, tmp_path) == 0
    assert "f: 1 jobs, 1 coded, 0 already recorded, 0 failed" in capsys.readouterr().out
    print(f"{out.strip()}\n({seconds:.1f} s from the command's start)")


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.integration
def test_a_job_asking_for_a_gpu_is_given_one_and_its_record_says_which(  # noqa: F811
        slurm: SlurmCluster, tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """resources.gpus goes to sbatch as --gpus-per-node; the record keeps the SLURM job it ran in and the GPU
    SLURM gave it (here a CPU codec: nothing is pinned, but what the node handed out is on record). More GPUs
    than any node has is one line from sbatch naming the options to check."""
    import json

    if slurm.gpus == 0:
        pytest.skip("the test cluster has no stand-in GPUs (no CAP_MKNOD to make their device files)")
    _on_slurm(slurm, monkeypatch)
    cond = _condition(tmp_path, clip_dir, "{gpus: 1, time_min: 5}", "[26, 38]")
    assert _run(cond, tmp_path, "--jobs", "2") == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "res" / "f").glob("records/*/*/*.json")]
    given = [r["provenance"]["slurm"] for r in records]
    assert len(given) == 2 and all(g["gpus"] in ("0", "1") and g["cuda_visible_devices"] == g["gpus"]
                                   and g["node"] == slurm.node and g["job_id"] for g in given), given
    assert all("pinned_gpu" not in r["provenance"] for r in records)
    capsys.readouterr()
    cond = _condition(tmp_path, clip_dir, f"{{gpus: {slurm.gpus + 1}, time_min: 5}}")
    assert _run(cond, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: x264: sbatch refused the job: Batch job submission failed: Requested node configuration is not "
        f"available; check resources.cpus, gpus, mem_gb or constraint in {cond}"], err
    print(given, err, sep="\n")
