"""External programs and files the suite depends on: where the bundled ffmpeg is, its identity, a file's SHA-256,
and these facts remembered across runs.

A binary's or a checkpoint's SHA-256 and a probed version string are remembered keyed by the files they were taken from (resolved path, size, modification time), so that a
rerun with the same tools plans without hashing hundreds of megabytes or starting ffmpeg again, and a changed
file is probed afresh. Kept in ``$LVCBENCH_CACHE/probes.json`` (default ``~/.cache/lvcbench``); a damaged or
unwritable cache only costs the probes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench.errors import AdapterError, BenchError

T = TypeVar("T")
_LOCK = threading.Lock()
_MEMORY: dict[str, Any] | None = None


def cache_root() -> Path:
    return Path(os.environ.get("LVCBENCH_CACHE", Path.home() / ".cache" / "lvcbench"))


def _cache_file() -> Path:
    return cache_root() / "probes.json"


def _load() -> dict[str, Any]:
    global _MEMORY
    if _MEMORY is None:
        try:
            data = json.loads(_cache_file().read_text(encoding="utf-8"))
            _MEMORY = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _MEMORY = {}
    return _MEMORY


def _file_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def remembered(kind: str, files: Sequence[Path], compute: Callable[[], T]) -> T:
    """COMPUTE()'s value for KIND, taken again only when one of FILES changed (JSON-serialisable values)."""
    key = json.dumps([kind, *(_file_key(f) for f in files)])
    with _LOCK:
        store = _load()
        if key in store:
            return store[key]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        store[key] = value
        try:
            from bench.files import atomic_write_text

            _cache_file().parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(_cache_file(), json.dumps(store, indent=0, sort_keys=True))
        except OSError:
            pass  # a read-only home: the value is still right, only not remembered
    return value


def tool_sha256(path: Path) -> str:
    """The SHA-256 of a program, script or checkpoint, hashed once per version of the file."""
    return remembered("sha256", [path], lambda: sha256_file(path))


def forget() -> None:
    """Drop what this process remembers (tests that change LVCBENCH_CACHE)."""
    global _MEMORY
    with _LOCK:
        _MEMORY = None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """``$LVCBENCH_FFMPEG`` if set, else the binary of the ``imageio-ffmpeg`` wheel."""
    exe = os.environ.get("LVCBENCH_FFMPEG")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise AdapterError(f"no ffmpeg binary: install imageio-ffmpeg or set LVCBENCH_FFMPEG ({e})") from None


@functools.lru_cache(maxsize=1)
def ffmpeg_identity() -> dict[str, str]:
    """The ffmpeg every adapter and metric runs: its version line and its SHA-256 (part of job keys)."""
    exe = Path(ffmpeg_exe())

    def version() -> str:
        from bench.interrupts import run_captured

        done = run_captured([str(exe), "-hide_banner", "-version"], timeout=60)
        if done.returncode != 0:
            raise BenchError(f"ffmpeg -version failed ({exe}): {(done.stderr or '').strip()[-300:] or 'no message'}")
        return done.stdout.splitlines()[0].strip() if done.stdout else "unknown"

    return {"ffmpeg_version": remembered("ffmpeg -version", [exe], version), "ffmpeg_sha256": tool_sha256(exe)}
