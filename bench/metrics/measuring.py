"""Taking measurements: run the requested measures over one job's measured-domain frames.

All per-frame measures share one pass over the frames, in batches on the job's backend (CPU kernels or a GPU;
:mod:`bench.metrics.backends`), read and colour-converted once and ahead of the measuring (so a frame is read and
converted once, however many measures there are); each sequence measure then runs on its own. Every result becomes one measurement
document, keyed by the job, the measure, its version, parameters and implementation
(:func:`~bench.metrics.registry.measurement_key`); the store writes each atomically beside the job's record.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bench import SCHEMA_VERSION, interrupts
from bench.errors import BenchError
from bench.metrics.registry import MeasureOutput, MeasureRequest, measure, measurement_key
from bench.provenance import now

if TYPE_CHECKING:  # measuring loads them; writing a measurement document (migrations) does not
    from bench.metrics.backends import Backend
    from bench.metrics.frames import MeasuredSequence


def take_measurements(seq: MeasuredSequence, requests: list[MeasureRequest], job_key: str,
                      backend: Backend | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Measure SEQ for every request: (one document per request that succeeded, in the order asked; one message
    per request that failed). A failed measure does not stop the others; it is simply missing, and the next run
    takes it again. Per-frame measures run on BACKEND (default: the CPU, one thread)."""
    if backend is None:
        from bench.metrics.backends import CpuBackend

        backend = CpuBackend(1)
    outputs: dict[MeasureRequest, tuple[MeasureOutput, float, dict[str, Any]]] = {}
    errors: list[str] = []
    per_frame = [r for r in requests if measure(r.measure).scope == "frame"]
    if per_frame:
        try:
            outputs.update(_frame_pass(seq, per_frame, backend))
        except BenchError as e:
            errors.append(f"{', '.join(r.describe() for r in per_frame)}: {e}")
    for r in requests:
        if r not in per_frame:
            t0 = time.perf_counter()
            try:
                out = measure(r.measure).sequence(seq, r.params_dict)
            except BenchError as e:
                errors.append(str(e))
                continue
            outputs[r] = (out, time.perf_counter() - t0, {"device": "cpu (external program)"})
    domain = f"source format {seq.fmt.name} at {seq.width}x{seq.height}"
    return [document(job_key, r, *outputs[r], seq.count, domain) for r in requests if r in outputs], errors


def _frame_pass(seq: MeasuredSequence, requests: list[MeasureRequest],
                backend: Backend) -> dict[MeasureRequest, tuple[MeasureOutput, float, dict[str, Any]]]:
    outs = {r: MeasureOutput({}) for r in requests}
    seconds = dict.fromkeys(requests, 0.0)
    families = set().union(*(measure(r.measure).families(r.params_dict) for r in requests))
    for i, batch in enumerate(seq.batches(backend, families)):
        interrupts.check()  # a run's Ctrl-C stops a long measurement at its next batch of frames
        for r in requests:
            m, params = measure(r.measure), r.params_dict
            t0 = time.perf_counter()
            if i == 0:
                outs[r].constants = m.constants(batch, params)
            for name, values in m.frames(batch, params).items():
                outs[r].values.setdefault(name, []).extend(values)
            seconds[r] += time.perf_counter() - t0
    computed_by = backend.describe()
    return {r: (outs[r], seconds[r], computed_by) for r in requests}


def document(job_key: str, req: MeasureRequest, out: MeasureOutput, seconds: float, computed_by: dict[str, Any],
             frames: int, domain: str | None) -> dict[str, Any]:
    m = measure(req.measure)
    implementation = m.implementation(req.params_dict)
    return {
        "schema_version": SCHEMA_VERSION, "kind": "measurement",
        "key": measurement_key(job_key, req, implementation), "job_key": job_key,
        "measure": m.name, "version": m.version, "params": req.params_dict, "implementation": implementation,
        "scope": m.scope, "description": m.description, "domain": domain, "frames": frames,
        "values": out.values, "constants": out.constants, "commands": out.commands,
        "seconds": seconds, "computed_by": computed_by, "measured_at": now(),
    }


def wanted_key(job_key: str, req: MeasureRequest) -> str:
    """The key a stored measurement for REQ must have to be used now (the installed implementation)."""
    return measurement_key(job_key, req, measure(req.measure).implementation(req.params_dict))
