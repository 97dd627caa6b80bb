"""Files the suite writes and reads back: whole or not at all (atomic writes that skip identical content), a
JSON object or a named damage, and the parts of file names (values percent-encoded, the writer's host).

A leaf module (the standard library only), so that everything that writes a file can use it without
importing the result store.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.errors import BenchError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone makes files private (0600)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, nothing in between."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, nothing in between. A file
    that already holds exactly ``data`` is left alone (a rerun of a finished run writes nothing, so it works on
    a read-only results folder)."""
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's host and process id are in the name: a process killed mid-write (kill -9) leaves its file,
    # which the next run recognises as stale and removes (clean_stale_work).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{host()}-{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_part(part: Any) -> str:
    """A name or rate point as one file-name component: other characters percent-encoded (so two different
    values never share a name) and a leading dot encoded (so '..' is never a path step)."""
    if isinstance(part, (list, tuple)):  # an [intra, inter] rate point: "22-27"
        part = "-".join(str(p) for p in part)
    text = quote(str(part), safe="-_.")
    return "%2E" + text[1:] if text.startswith(".") else text or "%00"


class DamagedFile(BenchError):
    """A stored file that cannot be read as what it should be (a run never leaves one; a disk fault or a hand
    edit can)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path


def load_json(path: Path) -> dict[str, Any]:
    """A stored JSON object, or DamagedFile naming it."""
    if not path.is_file():
        if path.exists():
            raise DamagedFile(path, "not a regular file")
        raise FileNotFoundError(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DamagedFile(path, f"not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise DamagedFile(path, "not a JSON object")
    return data


def host() -> str:
    return safe_part(socket.gethostname()) or "host"
