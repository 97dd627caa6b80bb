"""Where decoded frames come from when a job is measured after it was coded.

A job's decoded frames are measured while it is coded; to measure them again later (a new metric, a new
metric version) the suite needs them back, bit for bit. Two ways, chosen per codec:

* **re-decode**: codecs whose decoder runs on its own (the ffmpeg encoders, VTM/HM/ECM, CompressAI) decode the
  stored bitstream again (:meth:`~bench.adapters.base.Adapter.redecode`). Nothing extra is kept.
* **keep**: codecs whose decoding happens only inside their own harness (the DCVC family's ``test_video.py``,
  DHVC) keep the decoded frames compressed losslessly with FFV1 (``decoded/`` in the results folder), unless
  the condition's codec entry says ``keep_decoded: never``; ``always`` keeps them for any codec.

Either way the frames are checked against the SHA-256 of the raw decoded frames that the record holds from
coding time. What they come from is checked first: a stored bitstream whose SHA-256 is not the record's, or a
kept file that is gone or restores to other frames, has changed since coding (:class:`ChangedSinceCoding`:
the job is coded again). Frames re-decoded from an unchanged bitstream that still differ mean a decoder that is
not deterministic, and the measurement stops saying so.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.interrupts import run_captured
from bench.store.record import Rate
from bench.tools import ffmpeg_exe, sha256_file
from bench.video.formats import PixelFormat


def raw_sha256(path: Path) -> str:
    """SHA-256 of the raw decoded frames (the file the codec's decoder wrote)."""
    return sha256_file(path, chunk=1 << 22)


def _ffmpeg(argv: list[str], what: str) -> None:
    try:
        proc = run_captured(argv, timeout=6 * 3600)  # a run's Ctrl-C stops it (bench.interrupts)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"{what}: ffmpeg could not run: {e}") from None
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        raise BenchError(f"{what}: ffmpeg failed (exit {proc.returncode}): {last[0]}")


def keep(raw: Path, fmt: PixelFormat, width: int, height: int, dest: Path) -> dict[str, Any]:
    """Compress the raw decoded frames RAW to FFV1 at DEST (atomically); returns what the record keeps."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt",
            fmt.name, "-s", f"{width}x{height}", "-r", "25", "-i", str(raw), "-c:v", "ffv1", "-level", "3",
            "-threads", "1", "-f", "matroska", str(tmp)]
    try:
        _ffmpeg(argv, f"keeping decoded frames {dest.name}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return {"codec": "ffv1 (level 3, lossless) in Matroska", "bytes": dest.stat().st_size, "raw_bytes": raw.stat().st_size}


def restore(kept: Path, fmt: PixelFormat, dest: Path) -> list[str]:
    """Decode a kept FFV1 file back to raw frames in FMT at DEST; returns the command line."""
    if not kept.is_file():
        raise BenchError(f"{kept}: the kept decoded frames are missing; code the job again (evaluate.py run)")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", str(kept), "-f", "rawvideo",
            "-pix_fmt", fmt.name, str(dest)]
    _ffmpeg(argv, f"restoring decoded frames {kept.name}")
    return argv


class ChangedSinceCoding(BenchError):
    """What a coded job's frames come back from (its stored bitstream, its kept decoded frames) is not what was
    stored when it was coded: it cannot be measured again, only coded again."""


def check_bitstreams(root: Path, rate: Rate, what: str) -> None:
    """The stored bitstreams a record names (paths under ROOT) are there with the SHA-256 it holds; else
    :class:`ChangedSinceCoding` naming the first that is not."""
    for rel, expected in zip(rate.get("bitstreams") or [], rate.get("bitstream_sha256") or [], strict=False):
        path = root / rel
        if not path.is_file():
            raise ChangedSinceCoding(f"{what}: its bitstream {path} is gone (changed since coding)")
        if sha256_file(path) != expected:
            raise ChangedSinceCoding(f"{what}: its bitstream {path} changed since coding (its SHA-256 is not the one "
                                     "its record holds)")


def check(path: Path, expected: str | None, what: str, restored_from: Path | None = None) -> None:
    """The frames at PATH are those measured at coding time (when the record knows their hash): re-decoded from
    a bitstream checked unchanged, or RESTORED_FROM a kept file."""
    if expected is None or raw_sha256(path) == expected:
        return
    if restored_from is not None:
        raise ChangedSinceCoding(f"{what}: its kept decoded frames {restored_from} restore to frames that differ from "
                                 "those measured when the job was coded (SHA-256): the file changed since coding")
    raise BenchError(f"{what}: the decoded frames differ from those measured when the job was coded (SHA-256), "
                     "though its bitstream is unchanged: the decoder is not deterministic here, so the job must be "
                     "coded again to measure it")
