"""Provenance: the software and machine a record was produced with (never part of a job key)."""

from __future__ import annotations

import functools
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
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
