"""One writer per results folder: ``run`` and ``remeasure`` hold an advisory lock on their condition's results
folder (``results/<condition>/run.lock``) from start to end, so that two of them never code the same jobs.

The lock is ``flock`` on the open lock file: the operating system holds it for the process and drops it when
the process ends, however it ends (kill -9 included), so a lock file left behind never keeps anyone out. The
holder writes who it is into the file (host, process id, command, since when), which a second command reads to
say who holds the folder; the text is only believed while the lock is held. The file is never removed (a
second process could otherwise lock a file that a third has just replaced).

Cluster jobs (:mod:`bench.run.cluster`) write their records under the lock of the run that submitted them and take
none themselves. Within one process the lock is re-entered (the command holds it and ``run_condition`` takes it
again). On a network file system the lock is only as good as its locking: see the README (results folders).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.errors import BenchError
from bench.files import host, remove_stale_temp_dirs

LOCK_FILE = "run.lock"

_held: dict[Path, int] = {}  # folders this process holds (resolved) -> how many holders within it
_guard = threading.Lock()


class FolderInUse(BenchError):
    """Another process holds the results folder's lock."""


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def holding(folder: Path, command: str, wait: bool = False, note: Callable[[str], None] = _note,
            waitable: bool = True) -> Iterator[None]:
    """Hold FOLDER's lock while inside, as COMMAND (``run``, ``remeasure``, ``migrate``). Held by another process:
    FolderInUse naming it (and, if WAITABLE, the command's --wait), or with WAIT, NOTE says who and this waits
    for it to end. Taking it first, this process also removes the figure exports' temporary folders of killed
    processes (:func:`bench.files.remove_stale_temp_dirs`): the next run cleans up after a killed one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BenchError(f"{folder}: cannot make the results folder ({e.strerror or e}); give a --results folder "
                         "this user can write") from None
    key = folder.resolve()
    with _guard:
        reentered = key in _held
        _held[key] = _held.get(key, 0) + 1
    fd = None
    try:
        if not reentered:
            fd = _acquire(folder, command, wait, note, waitable)
            with contextlib.suppress(OSError):
                remove_stale_temp_dirs("figures")
        yield
    finally:
        with _guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
        if fd is not None:
            os.close(fd)  # releases the lock; the holder's text stays, believed only while locked


def _acquire(folder: Path, command: str, wait: bool, note: Callable[[str], None], waitable: bool) -> int | None:
    """Lock FOLDER/run.lock and write who holds it; the open file (closing it releases the lock), or None where
    no lock can be had (a warning says why: a file system without locks, a lock file this user cannot write on
    one that locks only writable files). A lock file that cannot be a lock (a link, a folder): BenchError."""
    path = folder / LOCK_FILE
    fd, read_only = _open(path, note)
    if fd is None:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(path)
            if not wait:
                advice = ("rerun with --wait to start when it does, or give another --results folder" if waitable
                          else "then run this again")
                raise FolderInUse(f"{folder}: in use by {holder}; wait for it to end, {advice}") from None
            note(f"{folder}: in use by {holder}; waiting for it to end (--wait)")
            fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError as e:  # any other: no lock to be had here (EBADF: NFS locks only files open for writing)
        os.close(fd)
        why = (f"{path} is not writable by this user (another user's?) and this file system locks only files it can "
               f"write ({e.strerror}); make it writable (chmod a+w) or remove it" if read_only
               else f"this file system does not lock files ({e.strerror})")
        note(f"warning: {folder}: {why}; nothing keeps a second run out of this folder, so run one at a time "
             "(README: results folders on network file systems)")
        return None
    except BaseException:
        os.close(fd)
        raise
    if not read_only:
        _write_holder(fd, command)
    return fd


def _open(path: Path, note: Callable[[str], None]) -> tuple[int | None, bool]:
    """PATH opened to be locked, and whether only for reading (another user's lock file, a read-only folder: a
    read-only open locks all the same where the file system allows it); (None, _) with a warning where it
    cannot be opened at all. Never follows a link (a lock taken on a link's target locks someone else's file);
    created readable and writable by all that the umask allows, so that the group's runs can lock it too."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o666), False
    except OSError as e:
        first = e
    if first.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        try:
            return os.open(path, os.O_RDONLY | flags), True
        except OSError as e:
            note(f"warning: {path.parent}: cannot open {path} ({first.strerror}; read-only: {e.strerror}); nothing "
                 "keeps a second run out of this folder, so run one at a time")
            return None, True
    if first.errno == errno.ELOOP or path.is_symlink():
        raise BenchError(f"{path}: a symbolic link, where the results folder's lock file should be; remove it "
                         "(a run makes it again)") from None
    if path.is_dir():
        raise BenchError(f"{path}: a folder, where the results folder's lock file should be; remove or rename it")
    raise BenchError(f"{path}: cannot open the results folder's lock file ({first.strerror or first}); check that "
                     "the folder is writable and has space, then rerun") from None


def _write_holder(fd: int, command: str) -> None:
    now = time.time()
    text = json.dumps({"host": host(), "pid": os.getpid(), "command": command, "argv": " ".join(sys.argv)[:300],
                       "since": datetime.datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds"),
                       "since_epoch": now})
    with contextlib.suppress(OSError):  # read-only: locked all the same, only nameless
        os.ftruncate(fd, 0)
        os.pwrite(fd, (text + "\n").encode(), 0)


def describe_holder(path: Path) -> str:
    """Who holds the lock at PATH, in words: its command, host, process id, since when."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        since = float(info["since_epoch"])
        ago = max(0.0, time.time() - since)
        age = f"{ago:.0f} s" if ago < 120 else f"{ago / 60:.0f} min" if ago < 7200 else f"{ago / 3600:.1f} h"
        return (f"another `{info['command']}` (host {info['host']}, pid {info['pid']}, since {info['since']}, {age} "
                f"ago: {info['argv']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another run (it has not written its name into the lock file yet)"
