"""Files the suite writes and reads back: whole or not at all (atomic writes that skip identical content), a
JSON object or a named damage, and the parts of file names (values percent-encoded, the writer's host).

A leaf module (the standard library only), so that everything that writes a file can use it without
importing the result store.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
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
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename is None:  # a full disk on write or fsync: said with the file's name
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
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
        self.why = why


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


_NOT_FILES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
              (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
LINK_LOOP = "a symbolic link loop (following its links leads back to one of them); fix or remove the link"


def not_a_file(path: Path) -> str | None:
    """Why PATH cannot be read as a regular file, in words, or None when it can. A FIFO would block its reader
    and a device never end (/dev/zero), so they are refused before anything opens them; a symbolic link loop is
    told from a missing file (``Path.exists`` says False to both)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of the path is a file, not a folder)"
    except OSError as e:
        return LINK_LOOP if e.errno == errno.ELOOP else f"cannot be read ({e.strerror or e})"
    if stat.S_ISREG(mode):
        return None
    kind = next((what for test, what in _NOT_FILES if test(mode)), "not a plain file")
    return f"{kind}, not a regular file"


def is_link_loop(path: Path) -> bool:
    """Whether PATH is (or passes through) a symbolic link loop."""
    try:
        os.stat(path)
    except OSError as e:
        return e.errno == errno.ELOOP
    return False


class TooLarge(BenchError):
    """A file larger than its reader's limit (:func:`read_regular`)."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(f"{path}: larger than {limit:,} bytes")
        self.path, self.limit = path, limit


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file PATH, refusing (BenchError naming the file and why) anything else: a FIFO,
    a device, a folder, a link loop; TooLarge beyond LIMIT bytes. Opened without blocking and checked again on
    the open file, so that a FIFO put in its place between the look and the open cannot hang the reader, and
    read to at most LIMIT + 1 bytes, so that a file that grows (or says it is empty, like /proc's) is bounded
    all the same."""
    problem = not_a_file(path)
    if problem is not None:
        raise BenchError(f"{path}: {problem}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise BenchError(f"{path}: cannot be read ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BenchError(f"{path}: not a regular file")
        if info.st_size > limit:
            raise TooLarge(path, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(path, limit)
    return data


def private_temp_dir(kind: str) -> Path:
    """A new private temporary folder (mode 0700) for KIND (``figures``: a figure export's hand-over), named
    ``lvcbench-KIND-<host>-<pid>-*``; first removes those of KIND left by processes of this host that are gone
    (a run killed during a figure export leaves its folder: the next one removes it)."""
    remove_stale_temp_dirs(kind)
    return Path(tempfile.mkdtemp(prefix=f"lvcbench-{kind}-{host()}-{os.getpid()}-"))


_OLD_UNNAMED_S = 24 * 3600  # a folder named before its owner was written into the name: stale after a day


def remove_stale_temp_dirs(kind: str) -> list[Path]:
    """Remove this user's ``lvcbench-KIND-*`` temporary folders whose process (on this host) is gone; the
    folders removed."""
    import shutil
    import time

    removed = []
    for d in Path(tempfile.gettempdir()).glob(f"lvcbench-{kind}-*"):
        name_host, _, rest = d.name[len(f"lvcbench-{kind}-"):].rpartition("-")[0].rpartition("-")
        try:
            info = d.lstat()
        except OSError:
            continue
        if not d.is_dir() or d.is_symlink() or info.st_uid != os.getuid():
            continue
        if rest.isdigit() and name_host:
            stale = name_host == host() and int(rest) != os.getpid() and not pid_alive(int(rest))
        else:
            stale = time.time() - info.st_mtime > _OLD_UNNAMED_S
        if stale:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process PID exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
