"""The cluster path through real submitit (its local executor: the same submission, pickling, job folders and
result collection as on SLURM, with local processes): a run completes, a run killed mid-way is finished by the
next one, and the records equal those of a local run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, group_gone, wait_until, write_clip

from bench.cluster import run_on_submitit, scheduler_parameters
from bench.conditions import load_condition
from bench.runner import RunOptions, run_condition
from bench.status import condition_status
from bench.store import ResultStore

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


def test_scheduler_parameters_come_from_the_descriptor(condition: Path) -> None:
    x265 = load_condition(condition).codec("x265")
    assert scheduler_parameters(x265, "slurm", 3) == {
        "name": "lvcbench-x265", "timeout_min": 30, "gpus_per_node": 0, "cpus_per_task": 2,
        "slurm_array_parallelism": 3, "mem_gb": 4, "slurm_partition": "short"}
    assert scheduler_parameters(load_condition(condition).codec("x264"), "local", 2) == {
        "name": "lvcbench-x264", "timeout_min": 24 * 60, "gpus_per_node": 0}
