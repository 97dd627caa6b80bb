"""Provenance: the software and machine a record was produced with (never part of a job key)."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import __version__

_PACKAGES = ("numpy", "scipy", "numba", "torch", "pytorch-msssim", "imageio-ffmpeg", "pandas", "matplotlib", "compressai")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision(repo: Path) -> dict[str, Any]:
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"revision": rev, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"revision": None, "dirty": None}


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Package versions, Python, OS, host, CPU and the suite's git revision; computed once per process."""
    return {
        "lvc_bench": __version__,
        "git": git_revision(Path(__file__).resolve().parent.parent),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        **({"slurm": slurm_job()} if os.environ.get("SLURM_JOB_ID") else {}),
    }


# What SLURM tells a job about itself (sbatch's "OUTPUT ENVIRONMENT VARIABLES"), as the record keeps it.
_SLURM_VARIABLES = {"job_id": "SLURM_JOB_ID", "array_job_id": "SLURM_ARRAY_JOB_ID", "array_task_id":
                    "SLURM_ARRAY_TASK_ID", "node": "SLURMD_NODENAME", "partition": "SLURM_JOB_PARTITION",
                    "cpus_per_task": "SLURM_CPUS_PER_TASK", "gpus": "SLURM_JOB_GPUS",
                    "cuda_visible_devices": "CUDA_VISIBLE_DEVICES"}


def slurm_job() -> dict[str, str]:
    """The SLURM job this process runs in: its ids, node, partition, CPUs and the GPUs SLURM gave it (its own
    numbers, and ``CUDA_VISIBLE_DEVICES`` as the job started), for the provenance of a record coded there."""
    return {name: os.environ[var] for name, var in _SLURM_VARIABLES.items() if os.environ.get(var)}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
