"""Running one of our driver scripts in a codec's own Python environment: the machinery the DHVC line and the
``python-model`` adapter share.

A driver is a standalone script (standard library, numpy, and whatever the codec itself imports; nothing from
``bench``) run with the interpreter of the codec's environment, so that its dependencies never meet ours. It
gets one JSON job description (``spec.json``), reads the input as 8-bit planar R, G, B frames, writes one
bitstream file per frame and the decoded frames the same way, and prints one JSON line per frame (``{"frame":
i, "bytes": ..., "encode_s": ..., "decode_s": ...}``) and a last ``{"done": true, ...}`` line; a driver asked
to (``"complexity": true`` in the spec) first prints a ``{"complexity": ...}`` line counted by
``driver_complexity.py`` on one frame, untimed (it is also the timed pass's warm-up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.adapters.base import CodingTask
from bench.adapters.process import pinned_gpu_environment, run_program
from bench.errors import AdapterError
from bench.video.io import RawVideoReader, RawVideoWriter


@dataclass
class DriverRun:
    argv: list[str]
    frames: list[dict[str, Any]]  # the per-frame lines, in order
    done: dict[str, Any]  # the last line
    log: str
    complexity: dict[str, Any] | None = None  # the driver's {"complexity": ...} line, when it counted


def run_driver(python: str, driver: Path, spec: dict[str, Any], task: CodingTask, what: str,
               timeout: float | None, pinned: bool, expect_frames: int | None = None,
               cwd: Path | None = None) -> DriverRun:
    """Write SPEC next to the job, run DRIVER with PYTHON, pass per-frame progress on; an AdapterError unless it
    reported every frame and finished. PINNED: only the job's GPU is visible to the driver (as cuda:0). CWD: the
    driver's working folder (None: the suite's own), where the model's relative paths start; the python-model
    adapter gives each step's own folder, so that a file one step wrote at a relative path is not where the next
    step looks (it would otherwise be in the user's folder, seen by both)."""
    work = task.work_dir.resolve()
    (work / "spec.json").write_text(json.dumps(spec, indent=1))
    argv = [python, str(driver), str(work / "spec.json")]
    reports: list[dict[str, Any]] = []

    def on_line(line: str) -> None:
        if line.startswith("{"):
            try:
                reports.append(json.loads(line))
            except ValueError:
                return
            if task.progress is not None and "frame" in reports[-1]:
                task.progress(reports[-1]["frame"] + 1, task.frames)

    log = run_program(argv, f"{what}: driver", timeout, work / "driver.log", on_line,
                      cwd=cwd, env=pinned_gpu_environment(task.gpu) if pinned and task.gpu is not None else None)
    frames = [r for r in reports if "frame" in r]
    done = next((r for r in reports if r.get("done")), None)
    expected = task.frames if expect_frames is None else expect_frames
    if len(frames) != expected or done is None:
        raise AdapterError(f"{what}: the driver reported {len(frames)} of {expected} frames", log[-3000:])
    complexity = next((r["complexity"] for r in reports if isinstance(r.get("complexity"), dict)), None)
    return DriverRun(argv, frames, done, log, complexity)


def write_planar_rgb(task: CodingTask, dest: Path) -> None:
    """The prepared input (8-bit RGB) as drivers read it: planar R, G, B frames back to back."""
    with open(dest, "wb") as f:
        for planes in RawVideoReader(task.input_path, task.fmt, task.width, task.height).frames(0, task.frames):
            for plane in planes:
                f.write(plane.astype("uint8").tobytes())


def read_planar_rgb(src: Path, task: CodingTask, dest: Path) -> Path:
    """A driver's decoded planar R, G, B frames as the raw frames the runner expects (``task.fmt``)."""
    plane = task.width * task.height
    with open(src, "rb") as f, RawVideoWriter(dest, task.fmt) as writer:
        for i in range(task.frames):  # our gbrp files hold G, B, R; the writer takes R, G, B
            buf = f.read(3 * plane)
            if len(buf) != 3 * plane:
                raise AdapterError(f"{src}: the driver's decoded frames end before frame {i}")
            data = np.frombuffer(buf, dtype=np.uint8).reshape(3, task.height, task.width)
            writer.write((data[0], data[1], data[2]))
    return dest
