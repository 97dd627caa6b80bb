"""One job: code it, check what the decoder gave back, measure it, write its record; or measure a coded job
again from its kept frames or its stored bitstream.

The record is written last (the commit point), after the bitstreams and measurements; a failure becomes a
failed record (message and stderr tail), except where the machine, not the codec, failed (a full disk): then
nothing is recorded and the next run codes the job again; or where the run was stopped (Ctrl-C, SIGTERM:
:mod:`bench.interrupts`), which a job in flight hears as ``Interrupted``: nothing recorded either.
"""


from __future__ import annotations

import contextlib
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from bench import SCHEMA_VERSION, interrupts
from bench.adapters import adapter_class
from bench.adapters.base import Adapter, CodingResult, CodingTask
from bench.adapters.process import ProcessUsage, collecting_usage
from bench.conditions.condition import CodecSpec
from bench.conditions.timing import machine
from bench.conditions.timing import summary as timing_summary
from bench.errors import AdapterError, BenchError, EnvironmentProblem, environment_problem
from bench.metrics.backends import Backend, make_backend, measuring_device
from bench.metrics.measuring import take_measurements, wanted_key
from bench.metrics.pooling import pooled_view
from bench.metrics.registry import MeasureRequest, request
from bench.provenance import environment, now
from bench.run.decoded import ChangedSinceCoding, check_bitstreams, raw_sha256, restore
from bench.run.decoded import check as check_decoded
from bench.run.decoded import keep as keep_decoded
from bench.run.inputs import Geometry, InputCache, geometry, measured_sequence
from bench.run.jobs import Job
from bench.run.scheduling import cuda_device
from bench.store.record import Record
from bench.store.results import ResultStore
from bench.tools import sha256_file
from bench.video.formats import PixelFormat

RATE_DEFINITION = "bits = bytes of the bitstream file(s) x 8 (less any verification-only NAL units, see " \
                  "excluded_bytes); bpp = bits / (W x H x frames) at the measured size; kbps = bits x fps / frames / 1000"

ESTIMATED_RATE_DEFINITION = "bits = the codec's own entropy-model estimate (sum of -log2 likelihoods), no bitstream " \
                            "written (the descriptor allowed it); bpp and kbps as for bitstreams. Marked estimated " \
                            "wherever shown: it omits the real coder's overhead"


CODING = "coding (encode and decode)"  # a job's phases as the progress bar shows them; the runner holds a coding
MEASURING = "measuring"  # slot for the first and gives it to the next job at the second (scheduling.CodingSlots)


def _base_record(job: Job, g: Geometry | None, codec_fmt: PixelFormat | None,
                 status: Literal["ok", "failed"]) -> Record:
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
        "status": status,  # after coding: where records have always held it
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
            cpus: int = 1, phase: Callable[[str], None] | None = None) -> Record:
    """Code and measure one job and write its record (ok or failed). Returns the record. PROGRESS, when given,
    hears (frames coded, frames) from adapters whose tools report each coded frame. GPU pins a GPU job to that
    GPU (recorded in the provenance); CPUS is the cores it may use (a split VTM encode runs that many segments)."""
    started = now()
    work = store.work_dir(job.codec.name, job.key)
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
        record = _code_and_measure(job, adapter, store, task, g, phase or (lambda _: None), started)
    except (EnvironmentProblem, interrupts.Interrupted):
        raise
    except BenchError as e:
        interrupts.check()  # a program the run's Ctrl-C or SIGTERM stopped: not the codec's failure, not recorded
        if (problem := environment_problem(e, f"{job.label} (writing under {store.root})", _NOT_RECORDED)):
            raise problem from None  # the disk, not the codec: nothing recorded, the next run codes it
        record = failed_record(job, str(e), getattr(e, "stderr_tail", ""), g, codec_fmt, started)
    except Exception as e:  # a bug or an unexpected tool behaviour: record it, keep the run going
        interrupts.check()
        if (problem := environment_problem(e, f"{job.label} (writing under {store.root})", _NOT_RECORDED)):
            raise problem from None
        record = failed_record(job, f"{type(e).__name__}: {e}",
                               "".join(traceback.format_exc().splitlines(keepends=True)[-15:]), g, codec_fmt, started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    store.write(record_path, record)
    return record


def _code_and_measure(job: Job, adapter: Adapter, store: ResultStore, task: CodingTask, g: Geometry,
                      phase: Callable[[str], None], started: str) -> Record:
    """Encode and decode (the adapter), check the decoded frames, measure them, keep what the record points to
    (bitstreams, decoded frames, measurements); the ok record, not yet written."""
    phase(CODING)
    with collecting_usage() as usage:  # the resource use of every program this job runs, its own
        result = adapter.code_sequence(task)
    _check_frame_count(job, result, task.fmt, g)
    decoded_sha = raw_sha256(result.decoded_path)
    t0 = time.perf_counter()
    phase(MEASURING)
    seq = measured_sequence(job, result.decoded_path, task.fmt, g, task.work_dir / "measure")
    with measuring_backend(job, adapter, task.gpu, task.cpus) as backend:
        docs, measure_errors = take_measurements(seq, list(job.condition.metrics.requests), job.key, backend)
    if not any(d["measure"] == "sse" for d in docs):  # no rate-distortion point without it
        raise BenchError(f"measuring failed: {'; '.join(measure_errors)}")
    measure_seconds = time.perf_counter() - t0
    interrupts.check()  # the commit: a job the run's stop reached before it is not recorded at all
    kept_decoded = None
    if _keeps_decoded(job, adapter):
        dest = store.decoded_path(job.codec.name, job.sequence.name, job.rate_point, job.key)
        kept_decoded = {"path": str(dest.relative_to(store.root)),
                        **keep_decoded(result.decoded_path, task.fmt, g.coded_width, g.coded_height, dest)}
    kept = _store_bitstreams(job, store, result)  # before the record, which is the commit point
    record = _ok_record(job, store, result, g, task.fmt, kept, {
        "decoded": {"sha256": decoded_sha, "format": task.fmt.name, "size": [g.coded_width, g.coded_height],
                    "kept": kept_decoded, "redecodable": adapter.can_redecode and bool(kept)},
        "timing": _timing(job, result, measure_seconds, usage),
        "measurement_errors": measure_errors,  # measures that failed: missing, taken again by the next run
        "provenance": {**environment(), **({"pinned_gpu": task.gpu} if task.gpu is not None else {}),
                       "started_at": started, "finished_at": now()}})
    for doc in docs:
        store.write_measurement(record, doc)
    return record


def _check_frame_count(job: Job, result: CodingResult, codec_fmt: PixelFormat, g: Geometry) -> None:
    """The decoder gave back exactly the frames coded, at the coded size (else the job fails, saying so)."""
    expected = job.source_id.count * codec_fmt.frame_bytes(g.coded_width, g.coded_height)
    got = result.decoded_path.stat().st_size if result.decoded_path.exists() else 0
    if got != expected:
        frames = got / codec_fmt.frame_bytes(g.coded_width, g.coded_height)
        raise AdapterError(f"codec {job.codec.name}: the decoder returned {frames:g} frames of "
                           f"{g.coded_width}x{g.coded_height} {codec_fmt.name}, expected {job.source_id.count}",
                           result.logs.get("decode", "")[-3000:])


def _store_bitstreams(job: Job, store: ResultStore, result: CodingResult) -> list[Path]:
    """Move the job's bitstreams into the store, named after its record; their new paths."""
    stem = store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key).stem
    dest_dir = store.bitstream_dir(job.codec.name, job.sequence.name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    for i, bs in enumerate(result.bitstreams):
        dest = dest_dir / f"{stem}{f'_{i}' if len(result.bitstreams) > 1 else ''}{bs.suffix}"
        shutil.move(str(bs), dest)
        kept.append(dest)
    return kept


def _ok_record(job: Job, store: ResultStore, result: CodingResult, g: Geometry, codec_fmt: PixelFormat,
               kept: list[Path], measured: dict[str, Any]) -> Record:
    """The record of a coded job: what was coded, its rate, per-frame facts, the codec's own numbers, logs; and
    MEASURED (decoded, timing, measurement_errors, provenance)."""
    sizes = [p.stat().st_size for p in kept]
    # Bytes a codec adds only for our verification (the reference software's picture-hash SEI) do not count.
    excluded = int(result.excluded_bytes)
    if result.estimated_bits is not None and not kept:
        bits, bits_source, definition = result.estimated_bits, "estimated", ESTIMATED_RATE_DEFINITION
    else:
        bits, bits_source, definition = 8 * (sum(sizes) - excluded), "bitstream", RATE_DEFINITION
    frames, w, h = job.source_id.count, g.measured_width, g.measured_height
    record = _base_record(job, g, codec_fmt, "ok")
    if result.processing:
        record["coding"]["codec_processing"] = result.processing
    if result.stream:
        record["coding"]["stream"] = result.stream  # what was coded, read back and checked
    if result.description:
        record["codec"]["coded_as"] = result.description
    record.update({
        "rate": {"bits": bits, "bpp": bits / (w * h * frames), "kbps": bits * job.source.fps / frames / 1000,
                 "bits_source": bits_source, "definition": definition,
                 "bitstreams": [str(p.relative_to(store.root)) for p in kept], "bitstream_bytes": sizes,
                 "excluded_bytes": excluded, "excluded_reason": result.excluded_reason,
                 "bitstream_sha256": [sha256_file(p) for p in kept]},
        "decoded": measured["decoded"],
        "per_frame": {"frame_type": result.frame_types, "bits": result.frame_bits, "qp": result.frame_qp,
                      "encode_s": result.frame_encode_s, "decode_s": result.frame_decode_s},
        "codec_reported": {**result.codec_reported,
                           **({"reported_metrics": result.reported_metrics} if result.reported_metrics else {})},
        "commands": result.commands, "timing": measured["timing"], "complexity": result.complexity,
        "cautions": result.cautions,
        "warnings": result.warnings,  # the tools' warning lines (an ignored option fails the job instead)
        "logs": store.write_logs(store.log_path(job.codec.name, job.sequence.name, job.rate_point, job.key),
                                 result.logs) if result.logs else None,
        "measurement_errors": measured["measurement_errors"], "provenance": measured["provenance"],
        "error": None,
    })
    return record


def run_job_with_retries(job: Job, adapter: Adapter, store: ResultStore, inputs: InputCache, retries: int,
                         progress: Callable[[int, int], None] | None = None,
                         note: Callable[[str], None] | None = None, gpu: int | None = None,
                         cpus: int = 1, phase: Callable[[str], None] | None = None) -> Record:
    """:func:`run_job`, run again up to RETRIES times while it fails; the earlier failures and their messages
    stay with the final record (``retries.failed_attempts``)."""
    failures: list[dict[str, Any]] = []
    while True:
        try:
            record = run_job(job, adapter, store, inputs, progress, gpu, cpus, phase)
        except interrupts.Interrupted:
            if failures:  # an attempt before wrote a failed record: a retry the stop ended leaves the job unrecorded
                with contextlib.suppress(OSError):
                    store.record_path(job.codec.name, job.sequence.name, job.rate_point, job.key).unlink(missing_ok=True)
            raise
        if record["status"] == "ok" or len(failures) >= retries:
            break
        error = record["error"]
        assert error is not None  # a failed record always says why (failed_record)
        failures.append({"message": error["message"], "finished_at": record["provenance"]["finished_at"]})
        if note:
            note(f"retrying {job.label} ({len(failures)}/{retries}): {error['message']}")
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
        codec_device = f"cuda:{gpu}" if gpu is not None else cuda_device(adapter)
    device = measuring_device(job.condition.metrics.device, codec_device)
    backend = make_backend(device, cpus)
    try:
        yield backend
    finally:
        backend.close()


def missing_measurements(job: Job, record: Record, store: ResultStore) -> list[MeasureRequest]:
    """The condition's measurements that RECORD (coded, ok) has no usable one of under the key they would have
    now: none stored, or a file that cannot be used (unreadable, another job's, not shaped as a measurement,
    values its metrics cannot be pooled from), each said once with its path and why. Those are taken again."""
    spec = job.condition.metrics
    missing, found = [], {}
    for r in spec.requests:
        key = wanted_key(job.key, r)
        doc, why = store.stored_measurement(record, r.measure, key)
        if doc is not None:
            found[r] = doc
            continue
        if why is not None:
            store.unusable(store.measurement_path(record, r.measure, key), why, f"{job.label}: measured again now")
        missing.append(r)
    if found:  # pooled as the report will pool them: a document no metric can be read from is no measurement
        view = pooled_view(record, list(found.values()), replace(spec, requests=tuple(found)))
        for entry in view.get("not_measured") or []:
            r = request(entry["measure"], **entry["params"])
            store.unusable(store.measurement_path(record, r.measure, wanted_key(job.key, r)), entry["reason"],
                           f"{job.label}: measured again now")
            missing.append(r)
    return missing


def can_measure_again(record: Record, adapter: Adapter) -> bool:
    """Whether a coded job's decoded frames can be had without coding: kept, or its stream decoded again."""
    decoded = record.get("decoded") or {}
    return bool(decoded.get("kept")) or (adapter.can_redecode and bool((record.get("rate") or {}).get("bitstreams")))


@dataclass
class Remeasured:
    documents: int
    how: str  # "re-decoded" | "restored"


def measure_job(job: Job, adapter: Adapter, store: ResultStore, record: Record,
                requests: list[MeasureRequest], gpu: int | None = None, cpus: int = 1) -> Remeasured:
    """Measure a coded job again for REQUESTS: get its decoded frames back (kept copy, or its stored bitstream
    decoded again), check them against the hash taken at coding time, measure, write each measurement. GPU and
    CPUS as for :func:`run_job`."""
    work = store.work_dir(job.codec.name, job.key)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        g = geometry(job.condition, job.source.width, job.source.height)
        codec_fmt = adapter.input_format(job.condition.colour.coding(job.source.fmt))
        decoded_info = record.get("decoded") or {}
        kept_info = decoded_info.get("kept")
        kept: Path | None = None
        if kept_info:
            kept = store.root / kept_info["path"]
            raw, how = work / "decoded.raw", "restored"
            _restore_kept(kept, kept_info, codec_fmt, raw, job.label)
        elif adapter.can_redecode:
            check_bitstreams(store.root, record.get("rate") or {}, job.label)  # before decoding: else blamed on it
            task = CodingTask(Path(os.devnull), codec_fmt, g.coded_width, g.coded_height, job.source.fps,
                              job.source_id.count, job.condition.intra_period, job.rate_point, work)
            raw, how = adapter.redecode(task, [store.root / p for p in record["rate"]["bitstreams"]]), "re-decoded"
        else:
            raise BenchError(f"{job.label}: its decoded frames were not kept and {job.codec.adapter} cannot decode a "
                             "stored bitstream on its own; code it again (evaluate.py run)")
        check_decoded(raw, decoded_info.get("sha256"), job.label, kept)
        seq = measured_sequence(job, raw, codec_fmt, g, work / "measure")
        with measuring_backend(job, adapter, gpu, cpus) as backend:
            docs, errors = take_measurements(seq, requests, job.key, backend)
        interrupts.check()  # stopped while measuring: nothing written
        for doc in docs:
            store.write_measurement(record, doc)
        if errors:
            raise BenchError("; ".join(errors))
        return Remeasured(len(docs), how)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore_kept(kept: Path, info: dict[str, Any], fmt: PixelFormat, raw: Path, label: str) -> None:
    """Restore a job's kept decoded frames to RAW; a kept file that is gone, or that ffmpeg cannot read and whose
    size is not the one recorded (INFO), has changed since coding."""
    if not kept.is_file():
        raise ChangedSinceCoding(f"{label}: its kept decoded frames {kept} are gone (changed since coding)")
    try:
        restore(kept, fmt, raw)
    except BenchError as e:
        if info.get("bytes") is not None and kept.stat().st_size != info["bytes"]:
            raise ChangedSinceCoding(f"{label}: its kept decoded frames {kept} changed since coding ({e})") from None
        raise


def failed_record(job: Job, message: str, stderr_tail: str = "", g: Geometry | None = None,
                  codec_fmt: PixelFormat | None = None, started: str | None = None) -> Record:
    """The record of a job that failed: what it was, the message and the tail of its tool's stderr."""
    g = g or geometry(job.condition, job.source.width, job.source.height)
    started = started or now()
    record = _base_record(job, g, codec_fmt, "failed")
    message = without_adapter_name(message, job)
    record.update({"error": {"message": message, "stderr_tail": stderr_tail[-4000:]},
                   "provenance": {**environment(), "started_at": started, "finished_at": now()}})
    return record


def without_adapter_name(message: str, job: Job | CodecSpec) -> str:
    """MESSAGE less the ``codec <adapter>: `` an adapter's errors start with (they are written to make sense
    alone: in ``doctor``, in a plan's errors). Every line that shows a failed job names the codec as the
    condition does (``mine / Pan / rate point 1: ...``), so the adapter's name (``command``) would only name
    it a second time, and by another name. JOB: the job, or its codec (a plan's rate-point errors)."""
    codec = job.codec if isinstance(job, Job) else job
    for name in dict.fromkeys((codec.adapter, adapter_class(codec.adapter).name, codec.name)):
        if message.startswith(f"codec {name}: "):
            return message[len(f"codec {name}: "):]
    return message
