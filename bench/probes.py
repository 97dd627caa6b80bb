"""Facts about installed tools, remembered across runs: a binary's or a checkpoint's SHA-256 and a probed
version string, keyed by the files they were taken from (resolved path, size, modification time), so that a
rerun with the same tools plans without hashing hundreds of megabytes or starting ffmpeg again, and a changed
file is probed afresh. Kept in ``$LVCBENCH_CACHE/probes.json`` (default ``~/.cache/lvcbench``); a damaged or
unwritable cache only costs the probes.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

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
    from bench.adapters.base import sha256_file

    return remembered("sha256", [path], lambda: sha256_file(path))


def forget() -> None:
    """Drop what this process remembers (tests that change LVCBENCH_CACHE)."""
    global _MEMORY
    with _LOCK:
        _MEMORY = None
