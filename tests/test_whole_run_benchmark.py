"""benchmarks/whole_run.py compares the suite with a bare shell loop that must code the very same streams: its
x265 command line, written out in the benchmark on its own, must equal the one the suite's x265 adapter runs.
The adapter's is captured from ``code_sequence`` itself (the program runner replaced by one that records the
command and stops), so a change to either side fails here. Nothing is timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.adapters import ffmpeg as ffmpeg_adapters
from bench.adapters.base import CodingTask
from bench.video.formats import make_format

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "whole_run.py"


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("whole_run_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


class _Stop(Exception):
    pass


def _adapter_commands(monkeypatch: pytest.MonkeyPatch, params: dict[str, Any], task: CodingTask) -> list[list[str]]:
    """The encode and decode command lines the x265 adapter builds for TASK (nothing is run)."""
    seen: list[list[str]] = []

    def record(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        seen.append(list(argv))
        raise _Stop

    monkeypatch.setattr(ffmpeg_adapters, "run", record)
    adapter = ffmpeg_adapters.X265(params)
    with pytest.raises(_Stop):
        adapter.code_sequence(task)
    with pytest.raises(_Stop):
        adapter._decode(task, task.work_dir / "stream.265", task.work_dir / "decoded.yuv")
    return seen


@pytest.mark.parametrize(("preset", "threads", "qp", "intra_period", "frames"),
                         [("medium", 1, 22, 32, 32), ("slow", 3, 37, 8, 20), ("ultrafast", 2, 30, -1, 5)])
def test_bare_encode_is_the_adapters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, preset: str, threads: int,
                                     qp: int, intra_period: int, frames: int) -> None:
    bench = _benchmark()
    source = tmp_path / "Src_416x240_30.yuv"
    fmt = make_format("yuv", "420", 8)
    task = CodingTask(source, fmt, 416, 240, 30.0, frames, intra_period, qp, tmp_path)
    encode, decode = _adapter_commands(monkeypatch, {"preset": preset, "threads": threads}, task)
    keyint = frames if intra_period == -1 else min(intra_period, frames)
    exe = ffmpeg_adapters.ffmpeg_exe()
    assert bench.bare_encode_argv(exe, source, "yuv420p", 416, 240, 30.0, frames, preset, threads, qp, keyint,
                                  tmp_path / "stream.265") == encode
    # The bare decode is the adapter's without what the suite adds to check the stream (frame types through
    # showinfo, the encoder's per-frame QPs as side data): anything else added on either side shows here.
    kept = list(decode)
    for pair in (["-export_side_data", "venc_params"], ["-vf", "showinfo"]):
        at = kept.index(pair[0])
        assert kept[at:at + 2] == pair
        del kept[at:at + 2]
    assert bench.bare_decode_argv(exe, tmp_path / "stream.265", "yuv420p", tmp_path / "decoded.yuv") == kept
