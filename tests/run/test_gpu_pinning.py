"""Local GPU pinning (--gpus): GPU jobs run one per listed GPU, beside the CPU jobs, each told its GPU; codec
processes see only their GPU. No GPU is needed: the probe codec below is x264 that claims a CUDA device (an
adapter's ``device`` parameter is what makes a job a GPU job) and notes which GPU it was given and when."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import condition_file, records

import bench.adapters
from bench.adapters.base import CodingResult, CodingTask, Param
from bench.adapters.ffmpeg import X264
from bench.adapters.process import pinned_gpu_environment
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import AdapterError
from bench.run.runner import RunOptions, run_condition

SEEN: list[tuple[str, int | None, float, float]] = []  # (codec, gpu, start, end) of every probe job
STARTED = {"gpu": 0, "cpu": 0}  # probe jobs started so far, by the device they claim
RENDEZVOUS = {"mode": ""}  # what the probes wait for before coding (set by each test)
_STATE = threading.Condition()
WAIT_S = 60.0  # a wait that runs out means the jobs were not running side by side: the test fails on it


class GpuProbe(X264):
    """x264 that claims a GPU: real bitstreams, with the GPU it was given and its start and end noted.

    Overlap is made certain by events, not by sleeping: in "side by side" mode the first three GPU jobs (one per
    listed GPU) and the first CPU job each wait until all four have started, which they can only do if the
    runner runs them at once; in "one at a time" mode each job gives a second job of its device 0.2 s to start
    beside it, which it must not."""

    name = "gpu-probe"
    capabilities = replace(X264.capabilities, gpu=True)
    PARAMS: ClassVar[dict[str, Param]] = {**X264.PARAMS, "device": Param(str, "cuda", "as a neural codec's")}

    def code_sequence(self, task: CodingTask) -> CodingResult:
        kind = "cpu" if self.params["device"] == "cpu" else "gpu"
        with _STATE:
            start = time.monotonic()
            STARTED[kind] += 1
            mine = STARTED[kind]
            _STATE.notify_all()
            if RENDEZVOUS["mode"] == "side by side" and mine <= (3 if kind == "gpu" else 1):
                _STATE.wait_for(lambda: STARTED["gpu"] >= 3 and STARTED["cpu"] >= 1, timeout=WAIT_S)
            elif RENDEZVOUS["mode"] == "one at a time":
                _STATE.wait_for(lambda: STARTED[kind] > mine, timeout=0.2)
        result = super().code_sequence(task)
        with _STATE:
            SEEN.append((self.params["device"], task.gpu, start, time.monotonic()))
        return result


def _reset(mode: str) -> None:
    SEEN.clear()
    STARTED.update(gpu=0, cpu=0)
    RENDEZVOUS["mode"] = mode


@pytest.fixture(autouse=True)
def _probe_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe is an adapter for these tests only: registered for each, gone afterwards."""
    bench.adapters.adapter_names()  # the built-in adapters first, as every caller sees them
    monkeypatch.setitem(bench.adapters._REGISTRY, GpuProbe.name, GpuProbe)


def _overlap(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return a[2] < b[3] and b[2] < a[3]


def _most_at_once(jobs: list[tuple[Any, ...]]) -> int:
    """The largest number of JOBS running at the same moment (a sweep over their starts and ends)."""
    events = sorted([(s[2], 1) for s in jobs] + [(s[3], -1) for s in jobs], key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


PROBES = """codecs:
  - {name: on-gpu, adapter: gpu-probe, params: {preset: ultrafast, device: cuda}, rate_points: [24, 30, 36, 42]}
  - {name: on-cpu, adapter: gpu-probe, params: {preset: ultrafast, device: cpu}, rate_points: [24, 30, 36, 42]}
"""


@pytest.mark.gpu
@pytest.mark.integration
def test_gpu_jobs_run_one_per_listed_gpu_beside_the_cpu_jobs(tmp_path: Path, clip_dir: Path) -> None:
    _reset("side by side")
    condition = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=PROBES))
    outcome = run_condition(condition, RunOptions(tmp_path / "results", jobs=1, progress=False, gpus=(0, 1, 3)))
    assert outcome.coded == 16 and not outcome.failed
    gpu_jobs = [s for s in SEEN if s[0] == "cuda"]
    cpu_jobs = [s for s in SEEN if s[0] == "cpu"]
    assert len(gpu_jobs) == 8 and len(cpu_jobs) == 8
    assert {s[1] for s in gpu_jobs} <= {0, 1, 3} and all(s[1] is None for s in cpu_jobs)
    # Never two jobs on one GPU at once; the three GPUs in use together; --jobs 1 bounds only the CPU jobs.
    for i, a in enumerate(gpu_jobs):
        assert not any(a[1] == b[1] and _overlap(a, b) for b in gpu_jobs[i + 1 :])
    assert _most_at_once(gpu_jobs) == 3 and _most_at_once(cpu_jobs) == 1
    assert any(_overlap(a, b) for a in cpu_jobs for b in gpu_jobs)
    # The record says which GPU ran it; the GPU is not part of the key, so a rerun elsewhere resumes.
    recs = records(tmp_path / "results")
    pinned = sorted(r["provenance"].get("pinned_gpu", -1) for r in recs if r["codec"]["name"] == "on-gpu")
    assert set(pinned) <= {0, 1, 3} and len(pinned) == 8
    assert all("pinned_gpu" not in r["provenance"] for r in recs if r["codec"]["name"] == "on-cpu")
    again = run_condition(condition, RunOptions(tmp_path / "results", jobs=1, progress=False))
    assert again.coded == 0 and again.skipped == 16


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.integration
def test_without_gpus_each_gpu_job_waits_for_its_own_device(tmp_path: Path, clip_dir: Path) -> None:
    _reset("one at a time")
    probes = PROBES.replace("device: cuda}", "device: 'cuda:0'}").replace("device: cpu}", "device: cuda}")
    condition = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=probes))
    outcome = run_condition(condition, RunOptions(tmp_path / "results", jobs=2, progress=False))
    assert outcome.coded == 16 and not outcome.failed
    assert all(s[1] is None for s in SEEN)  # nothing pinned: the descriptor's device as written
    # "cuda" and "cuda:0" are the same GPU for a fresh process: one job at a time on it.
    assert _most_at_once(SEEN) == 1


@pytest.mark.gpu
@pytest.mark.parametrize(("visible", "gpu", "expected"), [(None, 3, "3"), ("2,5,7", 1, "5"), (" 4 , 6", 1, "6"),
                                                          ("GPU-8f3c,GPU-11aa", 0, "GPU-8f3c")])
def test_codec_process_sees_only_its_gpu(visible: str | None, gpu: int, expected: str) -> None:
    base = {"PATH": "/usr/bin"} | ({"CUDA_VISIBLE_DEVICES": visible} if visible is not None else {})
    env = pinned_gpu_environment(gpu, base)
    assert env["CUDA_VISIBLE_DEVICES"] == expected and env["PATH"] == "/usr/bin"


@pytest.mark.gpu
def test_gpu_beyond_the_visible_ones_is_an_error() -> None:
    with pytest.raises(AdapterError, match=r"GPU 2: CUDA_VISIBLE_DEVICES='4,6' lists 2 GPU\(s\)"):
        pinned_gpu_environment(2, {"CUDA_VISIBLE_DEVICES": "4,6"})


@pytest.mark.gpu
def test_pinned_dcvc_job_gets_cuda_0_in_a_process_that_sees_one_gpu(tmp_path: Path) -> None:
    from bench.adapters import adapter_class

    task = CodingTask(tmp_path / "in.yuv", None, 64, 64, 30.0, 2, -1, 0, tmp_path, gpu=2)  # type: ignore[arg-type]
    fm = adapter_class("dcvc-fm")({"checkout": str(tmp_path), "device": "cuda:1", "i_frame_model": "i.pth",
                                   "p_frame_model": "p.pth"})
    assert fm.process_device(task) == "cuda:0" and fm.device_args("cuda:0") == ["--cuda", "1", "--cuda_idx", "0"]
    assert fm.environment(task)["CUDA_VISIBLE_DEVICES"] in ("2", *_visible_entry(2))
    unpinned = CodingTask(tmp_path / "in.yuv", None, 64, 64, 30.0, 2, -1, 0, tmp_path)  # type: ignore[arg-type]
    assert fm.process_device(unpinned) == "cuda:1"
    cpu = adapter_class("dcvc-fm")({"checkout": str(tmp_path), "device": "cpu", "i_frame_model": "i.pth",
                                    "p_frame_model": "p.pth"})
    assert cpu.process_device(task) == "cpu" and cpu.device_args("cpu") == ["--cuda", "0"]


def _visible_entry(gpu: int) -> list[str]:
    import os

    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return [visible[gpu]] if len(visible) > gpu else []


@pytest.mark.gpu
@pytest.mark.integration
def test_cli_refuses_gpus_this_machine_does_not_have(tmp_path: Path, clip_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cond = condition_file(tmp_path, clip_dir)
    argv = ["--conditions", str(cond), "--results", str(tmp_path / "r"), "--no-progress", "--gpus", str(count)]
    assert main(argv) == 2
    assert f"torch sees {count} CUDA device(s) here" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # stopped before anything was written
    assert main([*argv[:-1], "0", "--executor", "slurm"]) == 2
    assert "--gpus is for --executor local" in capsys.readouterr().err
