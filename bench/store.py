"""The result store: one JSON record per job, written atomically, found again by its key.

Layout under ``results/<condition>/``::

    records/<codec>/<sequence>/<rate point>_<key16>.json   one per job (status ok or failed): the coding
    bitstreams/<codec>/<sequence>/<rate point>_<key16>.*   the real bitstreams the rates come from
    measurements/<codec>/<sequence>/<rate point>_<key16>/<measure>_<mkey16>.json
                                                          one per measure and parameters, per-frame values
    decoded/<codec>/<sequence>/<rate point>_<key16>.mkv    decoded frames (FFV1, lossless), only for codecs
                                                          that cannot decode a stored bitstream again
    condition.yaml, run.json                              the condition as run (extends: merged, codecs in full)
                                                          and the planned jobs of the run
    summary.csv, frames.csv                               tables rebuilt from the records after a run

Records and measurements are written to a temporary file in the same folder and renamed into place, so a run
killed at any moment leaves each whole or absent, never half-written. Both hold ``schema_version``; records of
an earlier schema are migrated (:mod:`bench.migrate`) when the store is read, so an upgrade never recodes.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import SCHEMA_VERSION
from bench.errors import BenchError
from bench.files import (  # noqa: F401  (re-exported: the store's public names)
    DamagedFile,
    atomic_write_bytes,
    atomic_write_text,
)
from bench.files import host as _host
from bench.files import load_json as _load_json
from bench.files import safe_part as _safe
from bench.metrics.registry import MetricSpec, request


class ResultStore:
    """Records of one condition under ``root`` (``results/<condition>``)."""

    strict: bool = False  # --strict: a damaged record stops the command instead of being skipped with a warning

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def record_path(self, codec: str, sequence: str, rate_point: Any, key: str) -> Path:
        return self.root / "records" / _safe(codec) / _safe(sequence) / f"{_safe(rate_point)}_{key[:16]}.json"

    def bitstream_dir(self, codec: str, sequence: str) -> Path:
        return self.root / "bitstreams" / _safe(codec) / _safe(sequence)

    def decoded_path(self, codec: str, sequence: str, rate_point: Any, key: str) -> Path:
        return self.root / "decoded" / _safe(codec) / _safe(sequence) / f"{_safe(rate_point)}_{key[:16]}.mkv"

    def log_path(self, codec: str, sequence: str, rate_point: Any, key: str) -> Path:
        return self.root / "logs" / _safe(codec) / _safe(sequence) / f"{_safe(rate_point)}_{key[:16]}.log.gz"

    def write_logs(self, path: Path, logs: dict[str, str]) -> dict[str, Any]:
        """The tools' full logs of one job, gzip-compressed, beside its record: what the record points to."""
        text = "".join(f"===== {name} =====\n{log.rstrip()}\n" for name, log in logs.items())
        data = gzip.compress(text.encode("utf-8", "replace"), mtime=0)
        atomic_write_bytes(path, data)
        return {"path": str(path.relative_to(self.root)), "bytes": len(text.encode("utf-8", "replace")),
                "compressed_bytes": len(data), "parts": list(logs)}

    def measurement_dir(self, record: dict[str, Any]) -> Path:
        """Where the measurements of one job's record live."""
        return (self.root / "measurements" / _safe(record["codec"]["name"]) / _safe(record["sequence"]["name"])
                / f"{_safe(record['rate_point'])}_{record['key'][:16]}")

    def write_measurement(self, record: dict[str, Any], doc: dict[str, Any]) -> Path:
        path = self.measurement_dir(record) / f"{_safe(doc['measure'])}_{doc['key'][:16]}.json"
        atomic_write_text(path, json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n")
        return path

    def has_measurement(self, record: dict[str, Any], measure: str, key: str) -> bool:
        """Whether RECORD's job has the measurement keyed KEY (by its file name: nothing is read)."""
        return (self.measurement_dir(record) / f"{_safe(measure)}_{key[:16]}.json").is_file()

    def measurements(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored measurements of RECORD's job (any measure, version or implementation)."""
        folder = self.measurement_dir(record)
        docs = []
        for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                docs.append(_load_json(p))
            except DamagedFile as e:
                self._damaged(e, "measured again by the next run")
        return [d for d in docs if d.get("job_key") == record["key"] and isinstance(d.get("values"), dict)]

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
        """The record at ``path``, or None if there is none. A damaged one is skipped with a warning (its job is
        coded again), or stops everything when the store is ``strict`` (``--strict``)."""
        try:
            record = _load_json(path)
            missing = [k for k in _RECORD_KEYS if k not in record]
            if missing:
                raise DamagedFile(path, f"not a complete record (no {missing[0]!r})")
            if not isinstance(record["codec"], dict) or not isinstance(record["sequence"], dict):
                raise DamagedFile(path, "not a complete record (codec or sequence is not a mapping)")
        except FileNotFoundError:
            return None
        except DamagedFile as e:
            return self._damaged(e, "its job is coded again")
        if record.get("schema_version") != SCHEMA_VERSION:
            raise BenchError(f"{path}: record schema {record.get('schema_version')} is not {SCHEMA_VERSION}; "
                             "run `evaluate.py migrate` on its results folder (or any run of its condition)")
        return record

    def upgrade(self) -> int:
        """Migrate every record of an earlier schema in place (new record and its measurements first, the old
        file removed last); returns how many. Cheap when there is nothing to do: one look per record file."""
        from bench.migrate import migrate_file

        done = 0
        for path in sorted((self.root / "records").glob("*/*/*.json")) if (self.root / "records").is_dir() else []:
            done += migrate_file(self, path)
        return done

    def write(self, path: Path, record: dict[str, Any]) -> None:
        atomic_write_text(path, json.dumps(record, indent=1, allow_nan=False, default=str) + "\n")

    def all_records(self) -> list[dict[str, Any]]:
        self.upgrade()
        out = []
        for path in sorted((self.root / "records").glob("*/*/*.json")):
            record = self.read(path)
            if record is not None:
                out.append(record)
        return out

    def write_run_manifest(self, jobs: list[dict[str, Any]], condition_name: str, metrics: MetricSpec) -> None:
        """The jobs the last run planned (key, codec, sequence, rate point) and how it measures, written when it
        starts: what ``status`` compares the records with, and what ``bd`` and reports read from this folder."""
        atomic_write_text(self.root / "run.json", json.dumps({
            "schema_version": SCHEMA_VERSION, "condition": condition_name, "metrics": metrics.describe(),
            "keys": [j["key"] for j in jobs], "jobs": jobs}, indent=1, default=str))

    def run_manifest(self) -> dict[str, Any] | None:
        path = self.root / "run.json"
        try:
            manifest = _load_json(path)
            if not isinstance(manifest.get("keys"), list):
                raise DamagedFile(path, "not a run manifest (no list of keys)")
            return manifest
        except FileNotFoundError:
            return None
        except DamagedFile as e:
            return self._damaged(e, "read as if there were no manifest: every record in the folder counts")

    def _damaged(self, e: DamagedFile, consequence: str) -> None:
        if self.strict:
            raise BenchError(f"{e} (--strict: stopped; delete or repair it)") from None
        warn(f"{e}; skipped, {consequence} (--strict stops instead)")
        return None

    def view(self, record: dict[str, Any], metrics: MetricSpec) -> dict[str, Any]:
        """RECORD with its pooled metrics and per-frame values as METRICS says (see bench.metrics.pooling)."""
        from bench.metrics.pooling import pooled_view

        if record.get("imported"):  # a producer's own numbers (evaluate.py import): nothing to pool
            return record
        return pooled_view(record, self.measurements(record) if record.get("status") == "ok" else [], metrics)

    def run_records(self) -> list[dict[str, Any]]:
        """Records of the last run's planned jobs (all records when the folder has no run manifest), with their
        metrics pooled as that run's condition says."""
        if not (self.root / "records").is_dir():
            raise BenchError(f"{self.root}: not a results folder (no records/ inside); pass results/<condition>")
        records = self.all_records()
        manifest = self.run_manifest()
        if manifest is not None and manifest.get("schema_version") == SCHEMA_VERSION:
            keys = set(manifest["keys"])
            records = [r for r in records if r["key"] in keys]
            spec = MetricSpec.from_description(manifest.get("metrics") or {})
        else:  # no manifest, or one from before the metrics were kept apart: every record, default metrics
            spec = default_metric_spec()
        return [self.view(r, spec) for r in records]

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
        for tmp in self.root.rglob(".*.tmp"):  # a half-written file of a killed writer (see atomic_write_bytes)
            host, _, pid = tmp.name.rsplit(".", 3)[-3].rpartition("-") if tmp.name.count(".") >= 4 else ("", "", "")
            if host == _host() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)


def default_metric_spec() -> MetricSpec:
    """What a condition without a ``metrics:`` block measures: PSNR (SSE) and MS-SSIM on Y and RGB."""
    return MetricSpec(requests=(request("sse"), request("ms_ssim", space="y"), request("ms_ssim", space="rgb")))


_RECORD_KEYS = ("schema_version", "key", "status", "codec", "sequence", "rate_point")
_warned: set[str] = set()


def forget_warnings() -> None:
    _warned.clear()


def warn(message: str) -> None:
    """One warning line on stderr, once per message in a process."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class WorkInProgress:
    key16: str
    host: str
    pid: int
    since: float  # modification time of the work folder (its creation, near enough)
    alive: bool | None  # None: on another host, which this one cannot check


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
