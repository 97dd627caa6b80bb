"""The result store: one JSON record per job, written atomically, found again by its key.

Layout under ``results/<condition>/``::

    records/<codec>/<sequence>/<rate point>_<key16>.json   one per job (status ok or failed)
    bitstreams/<codec>/<sequence>/<rate point>_<key16>.*   the real bitstreams the rates come from
    condition.yaml                                        the condition file as it was run
    summary.csv, frames.csv                               tables rebuilt from the records after a run

A record is written to a temporary file in the same folder and renamed into place, so a run killed at any
moment leaves each record whole or absent, never half-written. A record holds ``schema_version``; records of
another schema are refused with a message instead of being misread.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import SCHEMA_VERSION
from bench.errors import BenchError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone makes files private (0600)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, nothing in between."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _safe(part: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in str(part))


class ResultStore:
    """Records of one condition under ``root`` (``results/<condition>``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def record_path(self, codec: str, sequence: str, rate_point: Any, key: str) -> Path:
        return self.root / "records" / _safe(codec) / _safe(sequence) / f"{_safe(rate_point)}_{key[:16]}.json"

    def bitstream_dir(self, codec: str, sequence: str) -> Path:
        return self.root / "bitstreams" / _safe(codec) / _safe(sequence)

    def work_dir(self, key: str) -> Path:
        """A job's scratch folder while it runs; its name (key, host, process id) is what ``status`` reads to
        tell running jobs from interrupted ones."""
        return self.root / "work" / f"{key[:16]}-{_host()}-{os.getpid()}"

    def work_in_progress(self) -> list[WorkInProgress]:
        """The work folders present now: jobs running, or left behind by a run that was killed."""
        out = []
        for d in sorted((self.root / "work").glob("*")) if (self.root / "work").is_dir() else []:
            host, _, pid = d.name[17:].rpartition("-")
            if len(d.name) < 19 or not pid.isdigit():
                continue
            alive = None if host != _host() else (int(pid) == os.getpid() or _alive(int(pid)))
            out.append(WorkInProgress(d.name[:16], host, int(pid), d.stat().st_mtime, alive))
        return out

    def read(self, path: Path) -> dict[str, Any] | None:
        """The record at ``path``, or None if there is none."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        record = json.loads(text)
        if record.get("schema_version") != SCHEMA_VERSION:
            raise BenchError(f"{path}: record schema {record.get('schema_version')} is not {SCHEMA_VERSION}; "
                             "move the old results folder aside and rerun")
        return record

    def write(self, path: Path, record: dict[str, Any]) -> None:
        atomic_write_text(path, json.dumps(record, indent=1, allow_nan=False, default=str) + "\n")

    def all_records(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted((self.root / "records").glob("*/*/*.json")):
            record = self.read(path)
            if record is not None:
                out.append(record)
        return out

    def write_run_manifest(self, jobs: list[dict[str, Any]], condition_name: str) -> None:
        """The jobs the last run planned (key, codec, sequence, rate point), written when it starts: what
        ``status`` compares the records with, and what ``bd`` and reports read from this folder."""
        atomic_write_text(self.root / "run.json", json.dumps({
            "schema_version": SCHEMA_VERSION, "condition": condition_name, "keys": [j["key"] for j in jobs],
            "jobs": jobs}, indent=1, default=str))

    def run_manifest(self) -> dict[str, Any] | None:
        path = self.root / "run.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def run_records(self) -> list[dict[str, Any]]:
        """Records of the last run's planned jobs (all records when the folder has no run manifest)."""
        if not (self.root / "records").is_dir():
            raise BenchError(f"{self.root}: not a results folder (no records/ inside); pass results/<condition>")
        records = self.all_records()
        manifest = self.root / "run.json"
        if manifest.exists():
            keys = set(json.loads(manifest.read_text(encoding="utf-8"))["keys"])
            records = [r for r in records if r["key"] in keys]
        return records

    def clean_stale_work(self) -> None:
        """Remove the work and prepared-input folders of runs that are no longer alive (a killed run leaves
        them behind; their names end in the run's process id)."""
        for parent in (self.root / "work", self.root / "prepared"):
            if not parent.is_dir():
                continue
            for d in parent.iterdir():
                # work/<key16>-<host>-<pid>, prepared/<pid>: only this host's processes can be checked.
                host, _, pid = d.name[17:].rpartition("-") if parent.name == "work" else (_host(), "", d.name)
                if host == _host() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)
            if not any(parent.iterdir()):
                parent.rmdir()


@dataclass(frozen=True)
class WorkInProgress:
    key16: str
    host: str
    pid: int
    since: float  # modification time of the work folder (its creation, near enough)
    alive: bool | None  # None: on another host, which this one cannot check


def _host() -> str:
    return _safe(socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
