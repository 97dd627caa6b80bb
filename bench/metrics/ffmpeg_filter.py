"""Metrics computed by a filter of the bundled ffmpeg (``libvmaf``, ``xpsnr``) on the measured-domain frames.

A two-input ffmpeg filter gives its two inputs roles, and the filters do not agree on them: ``libvmaf`` takes
the distorted frames first and the reference second, ``xpsnr`` takes the original (source) first, because it
weights every block by the first input's spatial and temporal activity. So :func:`run_filter` has no default
order: each call names which file is input 0 (``first="source"`` or ``first="decoded"``) and says beside it
which documentation or source gives that order. Both files are raw YUV files of
:meth:`MeasuredSequence.yuv_files`, so the filter sees exactly the frames every other metric sees. The filter
writes its per-frame log into the work folder (run there, so the log's name needs no escaping in the filter
graph); the log is what we read values from.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bench.errors import BenchError
from bench.interrupts import run_captured
from bench.tools import ffmpeg_exe

if TYPE_CHECKING:  # measuring needs the frames; listing the metrics does not
    from bench.metrics.frames import MeasuredSequence


FIRST_INPUTS = ("source", "decoded")


def run_filter(seq: MeasuredSequence, filter_text: str, log_name: str, what: str, *,
               first: Literal["source", "decoded"]) -> tuple[str, list[str]]:
    """Run ``[0:v][1:v]FILTER_TEXT`` over the sequence with FIRST (the source or the decoded frames) as input 0
    and the other as input 1; return the text of LOG_NAME and the command line."""
    if first not in FIRST_INPUTS:
        raise ValueError(f"first must be one of {FIRST_INPUTS}, got {first!r}")
    ref, dec, fmt = seq.yuv_files()
    ref, dec = ref.resolve(), dec.resolve()  # ffmpeg runs in the work folder
    inputs = (ref, dec) if first == "source" else (dec, ref)
    raw = ["-f", "rawvideo", "-pix_fmt", fmt.name, "-s", f"{seq.width}x{seq.height}", "-r", f"{seq.fps:g}"]
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *raw, "-i", str(inputs[0]), *raw,
            "-i", str(inputs[1]), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"]
    log = seq.work_dir / log_name
    log.unlink(missing_ok=True)
    try:
        proc = run_captured(argv, timeout=6 * 3600, cwd=seq.work_dir)  # a run's Ctrl-C stops it
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{what}: ffmpeg could not run: {e}") from None
    if proc.returncode != 0 or not log.exists():
        last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        raise BenchError(f"{what}: ffmpeg failed (exit {proc.returncode}): {last[0]}")
    return log.read_text(encoding="utf-8"), argv


def probe_dir(name: str) -> Path:
    """A private folder for a version probe."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"lvcbench-{name}-"))
