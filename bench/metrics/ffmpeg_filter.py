"""Metrics computed by a filter of the bundled ffmpeg (``libvmaf``, ``xpsnr``) on the measured-domain frames.

The decoded frames are the filter's first (main) input and the source frames its second (reference) input,
as both filters expect; both are raw YUV files of :meth:`MeasuredSequence.yuv_files`, so the filter sees
exactly the frames every other metric sees. The filter writes its per-frame log into the work folder (run
there, so the log's name needs no escaping in the filter graph); the log is what we read values from.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from bench.adapters.ffmpeg import ffmpeg_exe
from bench.errors import BenchError

if TYPE_CHECKING:  # measuring needs the frames; listing the metrics does not
    from bench.metrics.frames import MeasuredSequence


def run_filter(seq: MeasuredSequence, filter_text: str, log_name: str, what: str) -> tuple[str, list[str]]:
    """Run ``[0:v][1:v]FILTER_TEXT`` over the sequence; return the text of LOG_NAME and the command line."""
    ref, dec, fmt = seq.yuv_files()
    ref, dec = ref.resolve(), dec.resolve()  # ffmpeg runs in the work folder
    raw = ["-f", "rawvideo", "-pix_fmt", fmt.name, "-s", f"{seq.width}x{seq.height}", "-r", f"{seq.fps:g}"]
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *raw, "-i", str(dec), *raw,
            "-i", str(ref), "-lavfi", f"[0:v][1:v]{filter_text}", "-f", "null", "-"]
    log = seq.work_dir / log_name
    log.unlink(missing_ok=True)
    try:
        proc = subprocess.run(argv, cwd=seq.work_dir, capture_output=True, text=True, timeout=6 * 3600, check=False)
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
