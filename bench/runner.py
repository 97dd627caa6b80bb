"""Run a condition: plan the jobs, skip what is recorded, code what is not, measure what is missing.

This is the one measurement path. For every job not yet coded the runner

1. prepares the input: the condition's frame range of the source, cropped if the condition says so,
   converted to the coding format and then to the format the codec takes, padded to the condition's
   multiple; written once per sequence and format as a raw file;
2. lets the adapter encode it to real bitstream(s) and decode them in a separate step;
3. checks that the decoder returned exactly the frames it was given, and hashes them;
4. converts the decoded frames back (codec format -> coding format -> source format, cropping away any
   padding) and measures every frame against the untouched source frames with :mod:`bench.metrics`;
5. keeps the decoded frames (FFV1) if the codec cannot decode its stream again (:mod:`bench.decoded`);
6. writes each measurement, then the record (the commit point), atomically. Rate is the bitstream bytes x 8.

A job already coded whose condition now asks for a measurement it lacks (a new metric, a new metric version)
is only measured: its frames are re-decoded from the stored bitstream or restored from the kept copy, checked
against the hash taken at coding time, and measured. Pooling and the PSNR peak need no measuring at all.

A failed job becomes a failed record (message and stderr tail) and the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench import SCHEMA_VERSION
from bench.adapters import adapter_class
from bench.adapters.base import Adapter, CodingResult, CodingTask, sha256_file
from bench.adapters.process import ProcessUsage, collecting_usage
from bench.conditions import Condition
from bench.datasets import locate, open_source
from bench.decoded import check as check_decoded
from bench.decoded import keep as keep_decoded
from bench.decoded import raw_sha256, restore
from bench.errors import AdapterError, BenchError, DataError, EnvironmentProblem, environment_problem
from bench.jobs import Job, canonical_json, identify_source, job_key
from bench.metrics.backends import Backend, make_backend, measuring_device
from bench.metrics.frames import MeasuredSequence
from bench.metrics.measuring import take_measurements, wanted_key
from bench.metrics.registry import MeasureRequest
from bench.provenance import environment, now
from bench.store import ResultStore, atomic_write_text
from bench.timing import machine
from bench.timing import summary as timing_summary
from bench.video.colour import convert
from bench.video.formats import PixelFormat
from bench.video.io import RawVideoReader, RawVideoWriter
from bench.video.spatial import crop, pad, padded_size

RATE_DEFINITION = "bits = bytes of the bitstream file(s) x 8 (less any verification-only NAL units, see " \
                  "excluded_bytes); bpp = bits / (W x H x frames) at the measured size; kbps = bits x fps / frames / 1000"

ESTIMATED_RATE_DEFINITION = "bits = the codec's own entropy-model estimate (sum of -log2 likelihoods), no bitstream " \
                            "written (the descriptor allowed it); bpp and kbps as for bitstreams. Marked estimated " \
                            "wherever shown: it omits the real coder's overhead"


EXECUTORS = ("local", "slurm", "submitit-local")


@dataclass
class RunOptions:
    results_dir: Path = Path("results")
    jobs: int = 1  # local: jobs at once; submitit-local: processes at once; slurm: array tasks at once per codec
    retry_failed: bool = False
    progress: bool = True
    retries: int = 0  # run a failed job again up to this many times in the same run
    executor: str = "local"  # local threads, or one submitit job per coding job (slurm, or submitit's local)
    # For another executor: what submits the coding jobs and yields their records (bench.cluster.run_on_submitit,
    # given by the caller, so that the runner never imports the cluster code that imports it).
    remote: Callable[..., Iterable[dict[str, Any]]] | None = None
    gpus: tuple[int, ...] = ()  # local: GPU jobs pinned one per listed GPU; empty: each on its descriptor's device


@dataclass
class RunOutcome:
    jobs: list[Job]
    coded: int = 0  # jobs coded (encoded, decoded, measured)
    measured: int = 0  # jobs coded earlier that were only measured (missing measurements)
    redecoded: int = 0  # of those, how many had their stored bitstream decoded again
    restored: int = 0  # ... and how many had their kept decoded frames restored
    measurements: int = 0  # measurement documents written
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    measure_failed: list[tuple[Job, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Geometry:
    """Where the measured window sits in the source and what size the codec sees."""

    source_width: int
    source_height: int
    measured_width: int
    measured_height: int
    offset_x: int
    offset_y: int
    coded_width: int
    coded_height: int


def geometry(condition: Condition, width: int, height: int) -> Geometry:
    spatial = condition.spatial
    if spatial.mode == "crop":
        mw, mh = width // spatial.multiple * spatial.multiple, height // spatial.multiple * spatial.multiple
        if spatial.crop_anchor == "center":
            ox, oy = (width - mw) // 4 * 2, (height - mh) // 4 * 2  # even offsets keep 4:2:0 chroma aligned
        else:
            ox = oy = 0
        return Geometry(width, height, mw, mh, ox, oy, mw, mh)
    if spatial.mode == "pad":
        cw, ch = padded_size(width, height, spatial.multiple)
        return Geometry(width, height, width, height, 0, 0, cw, ch)
    return Geometry(width, height, width, height, 0, 0, width, height)


# --- planning ------------------------------------------------------------------------------------------------

def plan(condition: Condition, only_sequence: str | None = None,
         only_codec: str | None = None) -> tuple[list[Job], dict[str, Adapter]]:
    """Locate and check every sequence, identify the frames read, and key every job. No coding happens here;
    any problem with the data stops the run before anything is written. ONLY_SEQUENCE plans that sequence
    alone, ONLY_CODEC that codec alone (a cluster node running one job reads and hashes just its own source)."""
    codecs = [c for c in condition.codecs if only_codec is None or c.name == only_codec]
    adapters = {c.name: adapter_class(c.adapter)(c.params_dict) for c in codecs}
    for name, adapter in adapters.items():
        adapter.check_condition(condition.intra_period, f"{condition.path}: codec {name}")
    identities = {name: a.identity() for name, a in adapters.items()}
    jobs = []
    for seq in condition.sequences:
        if only_sequence is not None and seq.name != only_sequence:
            continue
        path = locate(seq, condition.data_root)
        source = open_source(seq, path)
        first = condition.frames.first
        count = condition.frames.count if condition.frames.count is not None else source.num_frames - first
        if count < 1 or first + count > source.num_frames:
            raise DataError(f"{path}: holds {source.num_frames} frames but the condition asks for frames "
                            f"{first}..{first + (condition.frames.count or 1) - 1}; use a shorter frame count "
                            "or the complete file")
        if seq.frames is not None and source.num_frames > seq.frames:
            raise DataError(f"{path}: holds {source.num_frames} frames, more than the {seq.frames} the manifest of "
                            f"{seq.name} lists; is it the right file?")
        source_id = identify_source(source, first, count)
        g = geometry(condition, source.width, source.height)
        if condition.spatial.mode == "none" and source.fmt.chroma == "420" and (g.coded_width % 2 or g.coded_height % 2):
            raise DataError(f"{path}: {source.width}x{source.height} is odd, which 4:2:0 codecs cannot take; "
                            "set spatial.mode to pad or crop")
        coding = condition.colour.coding(source.fmt)
        for codec in codecs:
            try:  # a format the codec cannot take is known now, not after the first encode
                adapters[codec.name].input_format(coding)
            except AdapterError as e:
                raise AdapterError(f"{condition.path}: sequence {seq.name} ({coding.name}): {e}; set "
                                   "colour.coding_format to one it takes") from None
            for rp in codec.rate_points:
                try:
                    extra = adapters[codec.name].rate_point_identity(rp)
                except AdapterError as e:
                    raise AdapterError(f"{condition.path}: codec {codec.name}, rate point {rp}: {e}") from None
                identity = {**identities[codec.name], **extra}
                key = job_key(condition, source_id, seq, identity, rp)
                jobs.append(Job(condition, seq, source, source_id, codec, identity, rp, key))
    return jobs, adapters


# --- input preparation ---------------------------------------------------------------------------------------

class InputCache:
    """Prepared raw inputs, one per (frames read, formats, spatial handling); built once, shared by jobs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def path_for(self, job: Job, codec_fmt: PixelFormat) -> Path:
        c = job.condition
        ident = canonical_json({"source": job.source_id.as_dict(), "coding": c.colour.coding(job.source.fmt).name,
                                "codec_fmt": codec_fmt.name, "colour": c.coding_fields()["colour"],
                                "spatial": c.coding_fields()["spatial"]})
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        return self.root / f"{job.sequence.name}_{codec_fmt.name}_{digest}.raw"

    def get(self, job: Job, codec_fmt: PixelFormat) -> Path:
        path = self.path_for(job, codec_fmt)
        with self._guard:
            lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                self._write(job, codec_fmt, path)
        return path

    @staticmethod
    def _write(job: Job, codec_fmt: PixelFormat, path: Path) -> None:
        c = job.condition
        src_fmt = job.source.fmt
        coding = c.colour.coding(src_fmt)
        g = geometry(c, job.source.width, job.source.height)
        spec = c.colour.spec
        with RawVideoWriter(path, codec_fmt) as writer:
            for planes in job.source.reader().frames(job.source_id.first, job.source_id.count):
                if c.spatial.mode == "crop":
                    planes = crop(planes, src_fmt, g.measured_width, g.measured_height, g.offset_x, g.offset_y)
                planes = convert(convert(planes, src_fmt, coding, spec), coding, codec_fmt, spec)
                if c.spatial.mode == "pad":
                    planes = pad(planes, codec_fmt, g.coded_width, g.coded_height, c.spatial.pad)
                writer.write(planes)


# --- one job -------------------------------------------------------------------------------------------------

def measured_sequence(job: Job, decoded: Path, codec_fmt: PixelFormat, g: Geometry, work: Path) -> MeasuredSequence:
    """The job's frame pairs in the measured domain: source frames (cropped as the condition says) and decoded
    frames converted back codec format -> coding format -> source format, padding cropped away."""
    c = job.condition
    src_fmt = job.source.fmt
    coding = c.colour.coding(src_fmt)
    spec = c.colour.spec

    def pairs() -> Iterator[tuple[Any, Any]]:
        dec_reader = RawVideoReader(decoded, codec_fmt, g.coded_width, g.coded_height)
        sources = job.source.reader().frames(job.source_id.first, job.source_id.count)
        for ref, dec in zip(sources, dec_reader.frames(0, job.source_id.count), strict=True):
            if c.spatial.mode == "crop":
                ref = crop(ref, src_fmt, g.measured_width, g.measured_height, g.offset_x, g.offset_y)
            dec = crop(dec, codec_fmt, g.measured_width, g.measured_height)
            yield ref, convert(convert(dec, codec_fmt, coding, spec), coding, src_fmt, spec)

    return MeasuredSequence(src_fmt, g.measured_width, g.measured_height, job.source.fps, job.source_id.count,
                            spec, work, pairs)


def _base_record(job: Job, g: Geometry | None, codec_fmt: PixelFormat | None) -> dict[str, Any]:
    c = job.condition
    seq = job.sequence
    return {
        "schema_version": SCHEMA_VERSION,
        "key": job.key,
        "condition": {"name": c.name, "file": str(c.path), "fields": c.coding_fields()},
        "sequence": {"name": seq.name, "group": seq.group, "file": str(job.source.path), "width": job.source.width,
                     "height": job.source.height, "fps": job.source.fps, "format": job.source.fmt.name,
                     "frames_in_file": job.source.num_frames},
        "source": job.source_id.as_dict(),
        "codec": {"name": job.codec.name, "adapter": job.codec.adapter, "description": job.codec.description,
                  "identity": job.codec_identity},
        "rate_point": job.rate_point,
        "rate_knob": adapter_class(job.codec.adapter).rate_knob,
        "coding": {
            "coding_format": c.colour.coding(job.source.fmt).name,
            "codec_format": codec_fmt.name if codec_fmt else None,
            "colour": c.colour.spec.describe(),
            "spatial": c.spatial.describe(),
            "intra_period": c.intra_period,
            "frames": {"first": job.source_id.first, "count": job.source_id.count},
            "geometry": g.__dict__ if g else None,
        },
    }


_NOT_RECORDED = "the job is not recorded as failed: the next run codes it"


def _timing(job: Job, result: CodingResult, measure_seconds: float, usage: list[ProcessUsage]) -> dict[str, Any]:
    """The record's timing block: the adapter's times and facts, the fps derived from them (per frame when the
    codec showed its frames), the programs' own resource use, the machine, and whether it was shared."""
    out: dict[str, Any] = {"encode_s": result.encode_seconds, "decode_s": result.decode_seconds,
                           "measure_s": measure_seconds, **result.timing_details}
    out.update(timing_summary(result.encode_seconds, result.decode_seconds, job.source_id.count,
                              result.frame_encode_s, result.frame_decode_s, job.condition.timing))
    if usage:
        out["processes"] = [asdict(u) for u in usage]
        out["peak_rss_bytes"] = max((u.peak_rss_bytes for u in usage if u.peak_rss_bytes), default=None)
        out["peak_rss_is"] = ("the largest resident-memory high-water mark (VmHWM, read every 20 ms while each "
                              "ran) among the job's programs")
        out["cpu_s"] = sum(u.cpu_s for u in usage)
    out.setdefault("timed", "per frame: the codec's own coding calls" if result.frame_encode_s else
                   "per sequence: wall clock of the codec's processes, start-up and raw file I/O included")
    out["machine"] = machine()
    return out


def run_job(job: Job, adapter: Adapter, store: ResultStore, inputs: InputCache,
            progress: Callable[[int, int], None] | None = None, gpu: int | None = None,
            cpus: int = 1, phase: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Code and measure one job and write its record (ok or failed). Returns the record. PROGRESS, when given,
    hears (frames coded, frames) from adapters whose tools report each coded frame. GPU pins a GPU job to that
    GPU (recorded in the provenance); CPUS is the cores it may use (a split VTM encode runs that many segments)."""
    started = now()
    work = store.work_dir(job.key)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    record_path = store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key)
    g = geometry(job.condition, job.source.width, job.source.height)
    codec_fmt = None
    try:
        codec_fmt = adapter.input_format(job.condition.colour.coding(job.source.fmt))
        task = CodingTask(inputs.get(job, codec_fmt), codec_fmt, g.coded_width, g.coded_height, job.source.fps,
                          job.source_id.count, job.condition.intra_period, job.rate_point, work, progress=progress,
                          gpu=gpu, cpus=cpus)
        if phase is not None:
            phase("coding (encode and decode)")
        with collecting_usage() as usage:  # the resource use of every program this job runs, its own
            result = adapter.code_sequence(task)
        expected = job.source_id.count * codec_fmt.frame_bytes(g.coded_width, g.coded_height)
        got = result.decoded_path.stat().st_size if result.decoded_path.exists() else 0
        if got != expected:
            frames = got / codec_fmt.frame_bytes(g.coded_width, g.coded_height)
            raise AdapterError(f"codec {job.codec.name}: the decoder returned {frames:g} frames of "
                               f"{g.coded_width}x{g.coded_height} {codec_fmt.name}, expected {job.source_id.count}",
                               result.logs.get("decode", "")[-3000:])
        decoded_sha = raw_sha256(result.decoded_path)
        t0 = time.perf_counter()
        if phase is not None:
            phase("measuring")
        seq = measured_sequence(job, result.decoded_path, codec_fmt, g, work / "measure")
        with measuring_backend(job, adapter, gpu, cpus) as backend:
            docs, measure_errors = take_measurements(seq, list(job.condition.metrics.requests), job.key, backend)
        if not any(d["measure"] == "sse" for d in docs):  # no rate-distortion point without it
            raise BenchError(f"measuring failed: {'; '.join(measure_errors)}")
        measure_seconds = time.perf_counter() - t0
        kept_decoded = None
        if _keeps_decoded(job, adapter):
            dest = store.decoded_path(job.codec.name, job.sequence.name, job.rate_point, job.key)
            kept_decoded = {"path": str(dest.relative_to(store.root)),
                            **keep_decoded(result.decoded_path, codec_fmt, g.coded_width, g.coded_height, dest)}
        # Move the bitstreams into the store first; the record written last is the commit point.
        kept = []
        dest_dir = store.bitstream_dir(job.codec.name, job.sequence.name)
        dest_dir.mkdir(parents=True, exist_ok=True)
        for i, bs in enumerate(result.bitstreams):
            suffix = f"_{i}" if len(result.bitstreams) > 1 else ""
            dest = dest_dir / f"{record_path.stem}{suffix}{bs.suffix}"
            shutil.move(str(bs), dest)
            kept.append(dest)
        sizes = [p.stat().st_size for p in kept]
        # Bytes a codec adds only for our verification (the reference software's picture-hash SEI) do not count.
        excluded = int(result.excluded_bytes)
        if result.estimated_bits is not None and not kept:
            bits, bits_source, definition = result.estimated_bits, "estimated", ESTIMATED_RATE_DEFINITION
        else:
            bits, bits_source, definition = 8 * (sum(sizes) - excluded), "bitstream", RATE_DEFINITION
        frames, w, h = job.source_id.count, g.measured_width, g.measured_height
        record = _base_record(job, g, codec_fmt)
        if result.processing:
            record["coding"]["codec_processing"] = result.processing
        if result.stream:
            record["coding"]["stream"] = result.stream  # what was coded, read back and checked
        if result.description:
            record["codec"]["coded_as"] = result.description
        record.update({
            "status": "ok",
            "rate": {"bits": bits, "bpp": bits / (w * h * frames), "kbps": bits * job.source.fps / frames / 1000,
                     "bits_source": bits_source, "definition": definition,
                     "bitstreams": [str(p.relative_to(store.root)) for p in kept], "bitstream_bytes": sizes,
                     "excluded_bytes": excluded, "excluded_reason": result.excluded_reason,
                     "bitstream_sha256": [sha256_file(p) for p in kept]},
            "decoded": {"sha256": decoded_sha, "format": codec_fmt.name, "size": [g.coded_width, g.coded_height],
                        "kept": kept_decoded, "redecodable": adapter.can_redecode and bool(kept)},
            "per_frame": {"frame_type": result.frame_types, "bits": result.frame_bits, "qp": result.frame_qp,
                          "encode_s": result.frame_encode_s, "decode_s": result.frame_decode_s},
            "codec_reported": {**result.codec_reported,
                               **({"reported_metrics": result.reported_metrics} if result.reported_metrics else {})},
            "commands": result.commands,
            "timing": _timing(job, result, measure_seconds, usage),
            "complexity": result.complexity,
            "cautions": result.cautions,
            "warnings": result.warnings,  # the tools' warning lines (an ignored option fails the job instead)
            "logs": store.write_logs(store.log_path(job.codec.name, job.sequence.name, job.rate_point, job.key),
                                     result.logs) if result.logs else None,
            "measurement_errors": measure_errors,  # measures that failed: missing, taken again by the next run
            "provenance": {**environment(), **({"pinned_gpu": gpu} if gpu is not None else {}),
                           "started_at": started, "finished_at": now()},
            "error": None,
        })
        for doc in docs:
            store.write_measurement(record, doc)
    except EnvironmentProblem:
        raise
    except BenchError as e:
        if (problem := environment_problem(e, job.label, _NOT_RECORDED)) is not None:
            raise problem from None  # the disk, not the codec: nothing recorded, the next run codes it
        record = _failed_record(job, g, codec_fmt, started, str(e), getattr(e, "stderr_tail", ""))
    except Exception as e:  # a bug or an unexpected tool behaviour: record it, keep the run going
        if (problem := environment_problem(e, job.label, _NOT_RECORDED)) is not None:
            raise problem from None
        record = _failed_record(job, g, codec_fmt, started, f"{type(e).__name__}: {e}",
                                "".join(traceback.format_exc().splitlines(keepends=True)[-15:]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    store.write(record_path, record)
    return record


def run_job_with_retries(job: Job, adapter: Adapter, store: ResultStore, inputs: InputCache, retries: int,
                         progress: Callable[[int, int], None] | None = None,
                         note: Callable[[str], None] | None = None, gpu: int | None = None,
                         cpus: int = 1, phase: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`run_job`, run again up to RETRIES times while it fails; the earlier failures and their messages
    stay with the final record (``retries.failed_attempts``)."""
    failures: list[dict[str, Any]] = []
    while True:
        record = run_job(job, adapter, store, inputs, progress, gpu, cpus, phase)
        if record["status"] == "ok" or len(failures) >= retries:
            break
        failures.append({"message": record["error"]["message"], "finished_at": record["provenance"]["finished_at"]})
        if note:
            note(f"retrying {job.label} ({len(failures)}/{retries}): {record['error']['message']}")
    if failures:
        record["retries"] = {"allowed": retries, "failed_attempts": failures}
        store.write(store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key), record)
    return record


def _keeps_decoded(job: Job, adapter: Adapter) -> bool:
    """Whether this job keeps its decoded frames: always/never as the codec entry says; auto, when the codec
    cannot decode a stored bitstream again."""
    return {"always": True, "never": False}.get(job.codec.keep_decoded, not adapter.can_redecode)


@contextlib.contextmanager
def measuring_backend(job: Job, adapter: Adapter, gpu: int | None, cpus: int) -> Iterator[Backend]:
    """Where JOB is measured: the condition's ``metrics: device``; for ``auto``, the GPU its codec ran on (the
    pinned one, GPU), else the CPU with CPUS kernel threads (the job's share of the cores, as for coding)."""
    codec_device = None
    if adapter.uses_gpu():
        codec_device = f"cuda:{gpu}" if gpu is not None else _cuda_device(adapter)
    device = measuring_device(job.condition.metrics.device, codec_device)
    backend = make_backend(device, cpus)
    try:
        yield backend
    finally:
        backend.close()


def missing_measurements(job: Job, record: dict[str, Any], store: ResultStore) -> list[MeasureRequest]:
    """The condition's measurements that RECORD (coded, ok) has not got under the key they would have now."""
    # Checked by file name: a rerun of a finished condition must not read every job's per-frame values.
    return [r for r in job.condition.metrics.requests
            if not store.has_measurement(record, r.measure, wanted_key(job.key, r))]


def can_measure_again(record: dict[str, Any], adapter: Adapter) -> bool:
    """Whether a coded job's decoded frames can be had without coding: kept, or its stream decoded again."""
    decoded = record.get("decoded") or {}
    return bool(decoded.get("kept")) or (adapter.can_redecode and bool((record.get("rate") or {}).get("bitstreams")))


@dataclass
class Remeasured:
    documents: int
    how: str  # "re-decoded" | "restored"


def measure_job(job: Job, adapter: Adapter, store: ResultStore, record: dict[str, Any],
                requests: list[MeasureRequest], gpu: int | None = None, cpus: int = 1) -> Remeasured:
    """Measure a coded job again for REQUESTS: get its decoded frames back (kept copy, or its stored bitstream
    decoded again), check them against the hash taken at coding time, measure, write each measurement. GPU and
    CPUS as for :func:`run_job`."""
    work = store.work_dir(job.key)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        g = geometry(job.condition, job.source.width, job.source.height)
        codec_fmt = adapter.input_format(job.condition.colour.coding(job.source.fmt))
        decoded_info = record.get("decoded") or {}
        if decoded_info.get("kept"):
            raw, how = work / "decoded.raw", "restored"
            restore(store.root / decoded_info["kept"]["path"], codec_fmt, raw)
        elif adapter.can_redecode:
            task = CodingTask(Path(os.devnull), codec_fmt, g.coded_width, g.coded_height, job.source.fps,
                              job.source_id.count, job.condition.intra_period, job.rate_point, work)
            raw, how = adapter.redecode(task, [store.root / p for p in record["rate"]["bitstreams"]]), "re-decoded"
        else:
            raise BenchError(f"{job.label}: its decoded frames were not kept and {job.codec.adapter} cannot decode a "
                             "stored bitstream on its own; code it again (evaluate.py run)")
        check_decoded(raw, decoded_info.get("sha256"), job.label)
        seq = measured_sequence(job, raw, codec_fmt, g, work / "measure")
        with measuring_backend(job, adapter, gpu, cpus) as backend:
            docs, errors = take_measurements(seq, requests, job.key, backend)
        for doc in docs:
            store.write_measurement(record, doc)
        if errors:
            raise BenchError("; ".join(errors))
        return Remeasured(len(docs), how)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _failed_record(job: Job, g: Geometry, codec_fmt: PixelFormat | None, started: str, message: str,
                   stderr_tail: str) -> dict[str, Any]:
    record = _base_record(job, g, codec_fmt)
    record.update({"status": "failed", "error": {"message": message, "stderr_tail": stderr_tail[-4000:]},
                   "provenance": {**environment(), "started_at": started, "finished_at": now()}})
    return record


# --- the run -------------------------------------------------------------------------------------------------

def run_condition(condition: Condition, options: RunOptions, code: bool = True) -> RunOutcome:
    """Code every planned job that has no record and measure every coded job the condition's measurements it
    lacks. CODE False (``remeasure``): measure only; a job without a record is left alone."""
    t0 = time.perf_counter()
    if condition.timing == "exclusive":
        options = replace(options, jobs=1)  # torch threads and split encodes get the whole machine too
    jobs, adapters = plan(condition)
    store = ResultStore(options.results_dir / condition.name)
    store.root.mkdir(parents=True, exist_ok=True)
    store.clean_stale_work()
    store.upgrade()  # records of an earlier schema keep their codings
    outcome = RunOutcome(jobs)
    to_code: list[Job] = []
    to_measure: dict[str, tuple[dict[str, Any], list[MeasureRequest]]] = {}
    for job in jobs:
        existing = store.read(store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key))
        if existing is None or (existing["status"] == "failed" and options.retry_failed):
            if code:
                to_code.append(job)
            continue
        if existing["status"] == "failed":
            outcome.skipped += 1
            outcome.failed.append(existing)
            continue
        missing = missing_measurements(job, existing, store)
        if not missing:
            outcome.skipped += 1
        elif can_measure_again(existing, adapters[job.codec.name]):
            to_measure[job.key] = (existing, missing)
        elif code:  # nothing to measure from (kept nowhere, no decoder of its own): the only way is to code it
            to_code.append(job)
        else:
            outcome.measure_failed.append((job, f"{job.label}: its decoded frames were not kept and its codec cannot "
                                                "decode a stored bitstream; run the condition to code it again"))
    todo = [*to_code, *(j for j in jobs if j.key in to_measure)]
    if todo and condition.metrics.device.startswith("cuda"):
        make_backend(condition.metrics.device, 1).close()  # no GPU: the one-line error now, before any coding
    atomic_write_text(store.root / "condition.yaml", condition.text)
    store.write_run_manifest([j.manifest_entry() for j in jobs], condition.name, condition.metrics,
                             condition.displays())
    inputs = InputCache(store.root / "prepared" / str(os.getpid()))
    if todo:  # a rerun with nothing to do never imports torch
        limit_torch_threads({n: adapters[n] for n in {j.codec.name for j in todo}}, options.jobs)
    try:
        with tqdm(total=len(todo), desc=f"{condition.name}", unit="job", disable=not options.progress or not todo,
                  dynamic_ncols=True) as bar:
            cpu_share = max(1, available_cores() // options.jobs)  # cores each job may use (split VTM segments)

            def one(job: Job, gpu: int | None = None) -> dict[str, Any]:
                if job.key in to_measure:
                    return _measure_only(job, gpu)

                def frame_done(coded: int, total: int) -> None:
                    # One status line that moves with every coded frame (the reference software takes
                    # minutes a frame at 1080p); with several jobs in flight it shows the latest report.
                    bar.set_postfix_str(f"{job.label}: frame {coded}/{total}")

                def phase(what: str) -> None:  # every adapter: which job is in flight, and what it is doing
                    bar.set_postfix_str(f"{job.label}: {what}")

                return run_job_with_retries(job, adapters[job.codec.name], store, inputs, options.retries,
                                            frame_done, bar.write, gpu, cpu_share, phase)

            def _measure_only(job: Job, gpu: int | None) -> dict[str, Any]:
                record, missing = to_measure[job.key]
                try:
                    done = measure_job(job, adapters[job.codec.name], store, record, missing, gpu, cpu_share)
                except BenchError as e:
                    return {"status": "measure_failed", "message": str(e)}
                return {"status": "measured", "how": done.how, "documents": done.documents}

            def count(job: Job, result: dict[str, Any]) -> None:
                if result["status"] == "measured":
                    outcome.measured += 1
                    outcome.measurements += result["documents"]
                    outcome.redecoded += result["how"] == "re-decoded"
                    outcome.restored += result["how"] == "restored"
                elif result["status"] == "measure_failed":
                    outcome.measure_failed.append((job, result["message"]))
                    bar.write(f"MEASURING FAILED {job.label}: {result['message']}")
                else:
                    outcome.coded += 1
                    if result["status"] != "ok":
                        outcome.failed.append(result)
                        bar.write(f"FAILED {job.label}: {result['error']['message']}")
                bar.update(1)

            if options.executor != "local":  # one process per coding job, started by submitit; records land here
                if options.remote is None:
                    raise BenchError(f"executor {options.executor}: no remote runner given (RunOptions.remote: "
                                     "bench.cluster.run_on_submitit)")
                for record in options.remote(condition, to_code, options, store, bar):
                    outcome.coded += 1
                    if record["status"] != "ok":
                        outcome.failed.append(record)
                for job in jobs:  # measuring needs no scheduler: done here, one job at a time
                    if job.key in to_measure:
                        count(job, _measure_only(job, None))
            else:
                # CPU jobs share --jobs threads; GPU jobs run beside them, one per GPU (see GpuSlots).
                slots = GpuSlots(options.gpus)
                on_gpu = {job.key: adapters[job.codec.name] for job in todo if adapters[job.codec.name].uses_gpu()}

                def one_on_a_gpu(job: Job) -> dict[str, Any]:
                    with slots.take(adapters[job.codec.name]) as gpu:
                        return one(job, gpu)

                exclusive = condition.timing == "exclusive"  # every job alone: its times are its own
                with ThreadPoolExecutor(max_workers=1 if exclusive else max(1, options.jobs)) as cpu_pool, \
                        ThreadPoolExecutor(max_workers=slots.workers(list(on_gpu.values()))) as gpu_pool:
                    gpu_pool = cpu_pool if exclusive else gpu_pool
                    futures = {gpu_pool.submit(one_on_a_gpu, job) if job.key in on_gpu else cpu_pool.submit(one, job): job
                               for job in todo}
                    for fut in as_completed(futures):
                        count(futures[fut], fut.result())
    finally:
        shutil.rmtree(inputs.root, ignore_errors=True)
        store.clean_stale_work()
    outcome.seconds = time.perf_counter() - t0
    return outcome


class GpuSlots:
    """One job per GPU at a time on the local executor, so a job's GPU time and peak memory are its own.

    With ``--gpus 0,1,3`` a GPU job takes whichever listed GPU is free and is pinned to it (numbered as this
    process sees the GPUs); without, it waits for the device its descriptor names. CPU jobs never wait here."""

    def __init__(self, gpus: tuple[int, ...]) -> None:
        self.gpus = gpus
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for gpu in gpus:
            self._free.put(gpu)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def workers(self, adapters: list[Adapter]) -> int:
        """Threads for the GPU jobs of ADAPTERS: one per GPU they can use."""
        return len(self.gpus) if self.gpus else max(1, len({_cuda_device(a) for a in adapters}))

    @contextlib.contextmanager
    def take(self, adapter: Adapter) -> Iterator[int | None]:
        """Wait for a GPU; yield the one pinned (None without ``--gpus``); give it back afterwards."""
        if self.gpus:
            gpu = self._free.get()
            try:
                yield gpu
            finally:
                self._free.put(gpu)
            return
        with self._guard:
            lock = self._locks.setdefault(_cuda_device(adapter), threading.Lock())
        with lock:
            yield None


def _cuda_device(adapter: Adapter) -> str:
    device = str(adapter.params.get("device", "cuda"))
    return "cuda:0" if device == "cuda" else device  # a fresh process's current device is its first


def limit_torch_threads(adapters: dict[str, Adapter], jobs: int) -> None:
    """Keep torch's thread pool from fighting the jobs that run beside it.

    Jobs run as threads of this process and torch has one pool for all of them: with two jobs on two cores
    and torch's default of one thread per core, four OpenMP workers spin against each other. Measured here:
    one 416x240 RGB MS-SSIM took 54 ms on one thread and 1.3 s on two while an encoder held the other core; a
    random-weight bmshj2018-hyperprior frame took 20-30 s with two in-process jobs on the default pool against
    about 2 s with one thread each. So in-process torch codecs get cores / jobs threads."""
    if not any(a.capabilities.in_process_torch for a in adapters.values()):
        return  # measuring on the CPU uses the suite's kernels, with their own thread budget, not torch
    import torch

    torch.set_num_threads(max(1, available_cores() // max(1, jobs)))


def available_cores() -> int:
    """Cores this process may run on (on a SLURM node: the ones the job was given)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
