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
    superseded/<UTC time>-<key16>/...                     a job's record, bitstreams, measurements and logs moved
                                                          aside (same paths below) when what its measurements come
                                                          from changed since coding and it is coded again, or a
                                                          folder found where a measurement file goes; why.txt

A measurement file that cannot be used (unreadable, another job's, not shaped as one) is named with why in every
output that reads it, its metrics shown as not measured; the next run or ``remeasure`` takes it again (a folder
or other non-file where its file should be is moved aside into superseded/ first). One that no measurement the
condition asks for would be read from (a stray file, a damaged one of an earlier key) is named as not used, to
be removed; it never stops a command, not even under ``--strict``.

A measurement file is read, checked and pooled once per process while it is unchanged (same path, inode, size
and times): a run's triage reads it, its tables reuse what was read.

Records and measurements are written to a temporary file in the same folder and renamed into place, so a run
killed at any moment leaves each whole or absent, never half-written. Both hold ``schema_version``; records of
an earlier schema are migrated (:mod:`bench.store.migrate`) when the store is read, so an upgrade never recodes.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import stat
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeGuard, cast

from bench import SCHEMA_VERSION
from bench.errors import BenchError
from bench.files import (  # noqa: F401  (re-exported: the store's public names)
    DamagedFile,
    atomic_write_bytes,
    atomic_write_text,
)
from bench.files import host as _host
from bench.files import load_json as _load_json
from bench.files import pid_alive as _alive
from bench.files import safe_part as _safe
from bench.metrics.registry import MetricSpec, request
from bench.store.record import Record

# What follows a measurement file that cannot be used, wherever it is read.
MEASURE_AGAIN = "the next `evaluate.py run` or `evaluate.py remeasure` measures it again"
# ... and one that nothing would read from (no measurement the condition asks for is stored under its name).
NOT_USED = "not used by any job (no measurement the condition asks for is stored under this name); remove it"


class StoredMeasurement(dict):  # type: ignore[type-arg]
    """A measurement document as read from its file. ``pooled`` keeps what pooling made of it
    (:func:`bench.metrics.pooling.pooled_view`), so that a file read again unchanged is not pooled again; the
    document is shared by every reader in the process, which only read it."""

    __slots__ = ("pooled",)

    def __init__(self, doc: dict[str, Any]) -> None:
        super().__init__(doc)
        self.pooled: dict[Any, Any] = {}


class ResultStore:
    """Records of one condition under ``root`` (``results/<condition>``)."""

    strict: bool = False  # --strict: a damaged record stops the command instead of being skipped with a warning
    # Measurement files read and checked in this process, by the file (path, device, inode, size, modification
    # and change times) and what the check depends on (the job's key and frame count), oldest first: the tables
    # reuse what a run's triage read. Bounded by the per-frame values held (_MEMO_VALUES).
    _memo: ClassVar[OrderedDict[tuple[Any, ...], tuple[dict[str, Any] | None, str | None, int]]] = OrderedDict()
    _memo_values: ClassVar[int] = 0
    _memo_lock: ClassVar[threading.Lock] = threading.Lock()  # jobs' threads may read while the tables do

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

    def measurement_dir(self, record: Mapping[str, Any]) -> Path:
        """Where the measurements of one job's record live. A Mapping, not a Record: it reads only the codec's
        and sequence's names, the rate point and the key, and is also handed those alone (bench.report.freshness,
        for a job that may have no record yet)."""
        return (self.root / "measurements" / _safe(record["codec"]["name"]) / _safe(record["sequence"]["name"])
                / f"{_safe(record['rate_point'])}_{record['key'][:16]}")

    def write_measurement(self, record: Record, doc: dict[str, Any]) -> Path:
        path = self.measurement_dir(record) / f"{_safe(doc['measure'])}_{doc['key'][:16]}.json"
        atomic_write_text(path, json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n")
        return path

    def measurement_path(self, record: Record, measure: str, key: str) -> Path:
        """Where RECORD's job keeps its measurement of MEASURE keyed KEY."""
        return self.measurement_dir(record) / f"{_safe(measure)}_{key[:16]}.json"

    def stored_measurement(self, record: Record, measure: str,
                           key: str) -> tuple[dict[str, Any] | None, str | None]:
        """RECORD's measurement of MEASURE keyed KEY when it can be used; else None and why not (None: there is
        no such file, the measurement was never taken)."""
        path = self.measurement_path(record, measure, key)
        if not path.exists() and not path.is_symlink():
            return None, None
        doc, why = self._read_measurement(path, record)
        if why is None and doc is not None and doc.get("key") != key:
            why = f"holds a measurement keyed {str(doc.get('key'))[:16]}, not the {key[:16]} its name says"
        return (doc, None) if why is None else (None, why)

    def read_measurements(self, record: Record) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The stored measurements of RECORD's job that can be used (any measure, version or implementation),
        and the files that cannot, by name, with why (unreadable, another job's, not a measurement). Nothing is
        said here: :meth:`view` says each, with what follows (measured again, or not used by any job)."""
        folder = self.measurement_dir(record)
        docs, problems = [], {}
        for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            doc, why = self._read_measurement(p, record)
            if doc is not None:
                docs.append(doc)
            else:
                problems[p.name] = str(why)
        return docs, problems

    def unusable(self, path: Path, why: str, consequence: str = MEASURE_AGAIN) -> None:
        """Say once that the stored file PATH cannot be used and why, and what follows; ``--strict``: stop."""
        self._damaged(DamagedFile(path, why), consequence)

    def supersede(self, record: Record, why: str) -> Path:
        """Move RECORD's job aside before it is coded again: its record first (then the next run codes it, even
        if this one is killed now), its bitstreams, measurements, kept decoded frames and logs (see
        :meth:`set_aside`). Returns the folder they went to."""
        named = [*((record.get("rate") or {}).get("bitstreams") or []),
                 ((record.get("decoded") or {}).get("kept") or {}).get("path"), (record.get("logs") or {}).get("path")]
        return self.set_aside(record["key"], [
            self.record_path(record["codec"]["name"], record["sequence"]["name"], record["rate_point"], record["key"]),
            self.measurement_dir(record), *(self.root / p for p in named if p)], why)

    def set_aside(self, key: str, paths: list[Path], why: str) -> Path:
        """Move PATHS (files or folders in this results folder) into ``superseded/<UTC time>-<key16>/`` under
        their paths here, in order, with WHY in ``why.txt``. Nothing is deleted. Returns that folder."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        dest = self.root / "superseded" / f"{stamp}-{key[:16]}"
        n = 1
        while dest.exists():
            n += 1
            dest = dest.with_name(f"{stamp}-{key[:16]}-{n}")
        root = self.root.resolve()
        dest.mkdir(parents=True)
        atomic_write_text(dest / "why.txt", f"{why}\n")
        for path in paths:
            if not (path.exists() or path.is_symlink()) or not path.resolve().is_relative_to(root):
                continue  # gone already, or a hand-edited record naming a file outside the folder: left alone
            target = dest / path.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        return dest

    @classmethod
    def _read_measurement(cls, path: Path, record: Record) -> tuple[dict[str, Any] | None, str | None]:
        """The measurement file PATH read and checked for RECORD's job (:func:`measurement_problem`): its document
        or why it cannot be used. Remembered while the file is unchanged (see ``_memo``)."""
        try:
            st = os.stat(path)
        except OSError:
            st = None
        memo_key = None
        # A file changed in the last two seconds is read each time: rewritten in place with the same size within
        # one tick of the file system's clock, it would look unchanged (what git calls a racy file).
        if st is not None and stat.S_ISREG(st.st_mode) and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2e9:
            memo_key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, record["key"],
                        (record.get("source") or {}).get("count"))
            with cls._memo_lock:
                if (hit := cls._memo.get(memo_key)) is not None:
                    cls._memo.move_to_end(memo_key)
                    return hit[0], hit[1]
        try:
            doc: dict[str, Any] | None = StoredMeasurement(_load_json(path))
            why = measurement_problem(doc, path.name, record)  # type: ignore[arg-type]
        except DamagedFile as e:
            doc, why = None, e.why
        except OSError as e:  # a permission, a folder where a file should be: said, never raised
            doc, why = None, f"cannot be read ({e.strerror or e})"
        doc = doc if why is None else None
        if memo_key is not None:
            cls._remember(memo_key, doc, why)
        return doc, why

    @classmethod
    def _remember(cls, memo_key: tuple[Any, ...], doc: dict[str, Any] | None, why: str | None) -> None:
        size = sum(len(v) for v in doc["values"].values()) if doc is not None else 1
        with cls._memo_lock:
            if memo_key in cls._memo:  # read by two threads at once: counted once
                return
            cls._memo[memo_key] = (doc, why, size)
            cls._memo_values += size
            while cls._memo_values > _MEMO_VALUES and len(cls._memo) > 1:
                cls._memo_values -= cls._memo.popitem(last=False)[1][2]

    def work_dir(self, codec: str, key: str) -> Path:
        """A job's scratch folder while it runs, under its codec (two codec entries with the same settings have
        the same job keys); its name (key, host, process id) is what ``status`` reads to tell running jobs from
        interrupted ones."""
        return self.root / "work" / _safe(codec) / f"{key[:16]}-{_host()}-{os.getpid()}"

    def work_in_progress(self) -> list[WorkInProgress]:
        """The work folders present now: jobs running, or left behind by a run that was killed (those of an
        earlier version, directly under work/, under the codec name "")."""
        out = []
        work = self.root / "work"
        for d in sorted([*work.glob("*/*"), *_old_work_dirs(work)]) if work.is_dir() else []:
            host, _, pid = d.name[17:].rpartition("-")
            if len(d.name) < 19 or not pid.isdigit() or not d.is_dir():
                continue
            alive = None if host != _host() else (int(pid) == os.getpid() or _alive(int(pid)))
            codec = d.parent.name if d.parent != work else ""
            out.append(WorkInProgress(codec, d.name[:16], host, int(pid), d.stat().st_mtime, alive))
        return out

    def read(self, path: Path) -> Record | None:
        """The record at ``path``, or None if there is none. A damaged one is skipped with a warning (its job is
        coded again), or stops everything when the store is ``strict`` (``--strict``)."""
        try:
            record = _load_json(path)
            missing = [k for k in _RECORD_KEYS if k not in record]
            if missing:
                raise DamagedFile(path, f"not a complete record (no {missing[0]!r})")
            if not _is_record(record):
                raise DamagedFile(path, "not a complete record (codec or sequence is not a mapping)")
        except FileNotFoundError:
            return None
        except DamagedFile as e:
            self._damaged(e, "its job is coded again")
            return None
        if record.get("schema_version") != SCHEMA_VERSION:
            raise BenchError(f"{path}: record schema {record.get('schema_version')} is not {SCHEMA_VERSION}; "
                             "run `evaluate.py migrate` on its results folder (or any run of its condition)")
        return record

    def upgrade(self) -> int:
        """Migrate every record of an earlier schema in place (new record and its measurements first, the old
        file removed last); returns how many. Cheap when there is nothing to do: one look per record file."""
        from bench.store.migrate import migrate_file

        done = 0
        for path in sorted((self.root / "records").glob("*/*/*.json")) if (self.root / "records").is_dir() else []:
            done += migrate_file(self, path)
        return done

    def write(self, path: Path, record: Record) -> None:
        atomic_write_text(path, json.dumps(record, indent=1, allow_nan=False, default=str) + "\n")

    def all_records(self) -> list[Record]:
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
            self._damaged(e, "read as if there were no manifest: every record in the folder counts")
            return None

    def _damaged(self, e: DamagedFile, consequence: str) -> None:
        if self.strict:
            raise BenchError(f"{e} (--strict: stopped; delete or repair it)") from None
        warn(f"{e}; skipped, {consequence} (--strict stops instead)")

    def view(self, record: Record, metrics: MetricSpec) -> Record:
        """RECORD with its pooled metrics and per-frame values as METRICS says (see bench.metrics.pooling). Each
        measurement file that cannot be used is said once: the one a metric would come from as measured again
        by the next run (``--strict``: stops), any other as not used by any job, to be removed."""
        if record.get("imported"):  # a producer's own numbers (evaluate.py import): nothing to pool
            return record
        if record.get("status") != "ok":
            return _pooled(record, [], metrics)
        docs, problems = self.read_measurements(record)
        view = _pooled(record, docs, metrics, problems)
        # The file each not-measured metric is blamed on (damaged, or readable but giving no value of it).
        blamed = {e["file"]: e["reason"] for e in view.get("not_measured") or [] if e["file"]}
        for name, why in {**problems, **blamed}.items():
            path = self.measurement_dir(record) / name
            if name in blamed:
                self.unusable(path, blamed[name])
            else:  # nothing would read it, so nothing measures it again: a warning, never a stop under --strict
                warn(f"{path}: {why}; {NOT_USED}")
        return view

    def run_records(self) -> list[Record]:
        """Records of the last run's planned jobs (all records when the folder has no run manifest), with their
        metrics pooled as that run's condition says."""
        if not (self.root / "records").is_dir():
            raise BenchError(f"{self.root}: not a results folder (no records/ inside); pass results/<condition>")
        records = self.all_records()
        manifest = self.run_manifest()
        if manifest is not None and manifest.get("schema_version") == SCHEMA_VERSION:
            # By codec and key where the manifest lists its jobs: a key leaves the codec's name out, so a codec
            # entry renamed with the same settings would otherwise bring its old records back beside the new.
            jobs = manifest.get("jobs")
            if isinstance(jobs, list) and all(isinstance(j, dict) and "codec" in j and "key" in j for j in jobs):
                planned = {(str(j["codec"]), j["key"]) for j in jobs}
                records = [r for r in records if (r["codec"].get("name"), r["key"]) in planned]
            else:
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
            found = [*parent.glob("*/*"), *_old_work_dirs(parent)] if parent.name == "work" else parent.iterdir()
            for d in found:
                # work/<codec>/<key16>-<host>-<pid> (before: work/<key16>-<host>-<pid>), prepared/<pid>: only
                # this host's processes can be checked.
                host, _, pid = d.name[17:].rpartition("-") if parent.name == "work" else (_host(), "", d.name)
                if host == _host() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)
            for d in parent.iterdir() if parent.name == "work" else ():
                with contextlib.suppress(OSError):  # a codec's folder once its jobs' folders are gone
                    d.rmdir()
            if not any(parent.iterdir()):
                parent.rmdir()
        for tmp in self.root.rglob(".*.tmp"):  # a half-written file of a killed writer (see atomic_write_bytes)
            host, _, pid = tmp.name.rsplit(".", 3)[-3].rpartition("-") if tmp.name.count(".") >= 4 else ("", "", "")
            if host == _host() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)


def _old_work_dirs(work: Path) -> list[Path]:
    """Job folders of the layout before work folders were per codec: work/<key16>-<host>-<pid> (a run killed
    before the upgrade left them; they may hold gigabytes of frames)."""
    if not work.is_dir():
        return []
    return [d for d in work.iterdir() if d.is_dir() and len(d.name) >= 19 and d.name[16] == "-"
            and all(c in "0123456789abcdef" for c in d.name[:16]) and d.name.rpartition("-")[2].isdigit()]


def _is_record(data: dict[str, Any]) -> TypeGuard[Record]:
    """Whether DATA, a stored JSON object, has what every reader of a record indexes without looking: the keys of
    _RECORD_KEYS, its codec and sequence mappings. The rest is taken as the suite wrote it (as Record, and the
    JSON Schema generated from it, say): a record is not validated in full each time it is read."""
    return (all(k in data for k in _RECORD_KEYS) and isinstance(data["codec"], dict)
            and isinstance(data["sequence"], dict))


def _pooled(record: Record, docs: list[dict[str, Any]], metrics: MetricSpec,
            problems: Mapping[str, str] | None = None) -> Record:
    """RECORD's view: :func:`bench.metrics.pooling.pooled_view`, which returns RECORD with the keys of a view
    (metrics, per_frame, measurement, cautions, codec_reported, the condition's fields with the metrics,
    non_finite, not_measured: all of them Record's) set over it. It is below the store, so it cannot name Record:
    its plain dict is said to be one here."""
    from bench.metrics.pooling import pooled_view

    return cast(Record, pooled_view(record, docs, metrics, problems))


def measurement_problem(doc: dict[str, Any], name: str, record: Record) -> str | None:
    """Why the measurement document DOC, stored as file NAME, cannot be used for RECORD's job (None: it can):
    another job's, not what its name says, or not shaped as :func:`bench.metrics.measuring.document` writes
    (per-frame lists of numbers, one value per coded frame for a frame measure)."""
    if not isinstance(doc.get("job_key"), str) or doc.get("kind", "measurement") != "measurement":
        return "is not a measurement document (no job key)"
    if doc.get("job_key") != record["key"]:
        return (f"holds a measurement of another job (job key {str(doc.get('job_key'))[:16]}, this job's is "
                f"{record['key'][:16]})")
    measure, key = doc.get("measure"), doc.get("key")
    if not isinstance(measure, str) or not isinstance(key, str) or name != f"{_safe(measure)}_{key[:16]}.json":
        return f"holds measurement {str(measure)[:40]!r} keyed {str(key)[:16]}, not what its file name says"
    params = doc.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(v, (str, int, float, bool, type(None)))
                                               for v in params.values()):
        return "its parameters are not a mapping of plain values"
    if not isinstance(doc.get("version"), int) or not isinstance(doc.get("constants", {}), dict):
        return "has no version number or its constants are not a mapping"
    values = doc.get("values")
    if not isinstance(values, dict) or not values or not all(isinstance(v, list) for v in values.values()):
        return "holds no per-frame values (a mapping of lists)"
    if not {type(x) for v in values.values() for x in v} <= _NUMBERS:  # by exact type: a bool is no number here
        return "holds a per-frame value that is not a number"
    # Every measure, of either scope, stores one value per coded frame in each list (VMAF's scores, XPSNR's
    # per-plane values too): a shorter list would be pooled over fewer frames than the job coded.
    frames = (record.get("source") or {}).get("count")
    wrong = next((k for k, v in values.items() if len(v) != frames), None)
    if isinstance(frames, int) and wrong is not None:
        return f"holds {len(values[wrong])} values of {wrong[:40]}, for a job of {frames} coded frames"
    return None


_NUMBERS = {int, float, type(None)}


_MEMO_VALUES = 2_000_000  # per-frame values held by ResultStore._memo at most (about 100 MB with their pooling)


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
    codec: str  # as its folder is named
    key16: str
    host: str
    pid: int
    since: float  # modification time of the work folder (its creation, near enough)
    alive: bool | None  # None: on another host, which this one cannot check


