"""From stored measurements to the numbers a record shows: per-frame metric values and pooled metrics.

Nothing is measured here. A record's measurements (one document per measure and parameters) are turned into
every registered metric whose measure the condition asked for, with the condition's pooling and PSNR peak;
so changing either only re-runs this, in milliseconds per job.

Only measurements of a measure's registered version are used: a bumped version (XPSNR 2, MS-SSIM 2) means the
old values are wrong for the same frames, so they are treated as missing (the next run or ``remeasure``
takes them again) and never mixed with new ones; where several of one version remain (an older ffmpeg's),
the most recently measured is used.

A per-frame value that is NaN or infinite (a damaged measurement file; no measure writes one) makes that
job's pooled metric NaN, never a number: the view lists it under ``non_finite`` (metric, measure, the
measurement's key, the frames) and adds a caution naming the sequence, rate point, metrics (by their labels),
the measurement file and what to do, which summary.csv and the report show (the terminal says it once, with
the file's path).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from bench.metrics.registry import (
    MeasureRequest,
    MetricSpec,
    PoolingContext,
    definitions,
    measures,
    metric_name,
    metrics,
    request,
)

NON_FINITE = "non_finite"  # the key (record field, CSV column, BD status) of metrics whose values are not all finite


def _request_of(doc: Mapping[str, Any]) -> MeasureRequest:
    return request(doc["measure"], **(doc.get("params") or {}))


def pooled_view(record: dict[str, Any], docs: Iterable[Mapping[str, Any]], spec: MetricSpec) -> dict[str, Any]:
    """A copy of RECORD with ``metrics`` (pooled), ``per_frame`` (raw and per-metric values) and ``measurement``
    (how) from DOCS, for the measures SPEC asks for. A measurement missing for a requested measure leaves its
    metrics out (the report and tables then show them empty)."""
    view = dict(record)
    fields = dict((record.get("condition") or {}).get("fields") or {})
    fields["metrics"] = spec.describe()
    view["condition"] = {**(record.get("condition") or {}), "fields": fields}
    if record.get("status") != "ok":
        return view
    by_request = current_measurements(docs, spec)
    wanted = [r for r in spec.requests if r in by_request]
    ctx = PoolingContext(spec.pooling, spec.psnr_peak, _bit_depth(record))
    per_frame: dict[str, Any] = dict(record.get("per_frame") or {})
    for req in wanted:
        doc = by_request[req]
        per_frame.update({k: v for k, v in doc["values"].items() if not _shadowed(k, req)})
        per_frame.update(doc.get("constants") or {})
    pooled, non_finite = _pool(by_request, wanted, ctx, per_frame)
    if non_finite:
        view[NON_FINITE] = non_finite
        view["cautions"] = [*(record.get("cautions") or []), non_finite_caution(record, non_finite)]
    view["metrics"] = pooled
    view["per_frame"] = per_frame
    view["codec_reported"] = _with_difference(record, pooled)
    view["measurement"] = {
        "pooling": spec.pooling,
        "psnr_peak": {"convention": spec.psnr_peak, "yuv": ctx.yuv_peak, "rgb": ctx.rgb_peak},
        "measures": [{"measure": r.measure, "params": r.params_dict, "version": by_request[r]["version"],
                      "implementation": by_request[r]["implementation"], "key": by_request[r]["key"],
                      "seconds": by_request[r].get("seconds")} for r in wanted],
        "missing": [r.describe() for r in spec.requests if r not in by_request],
        "definitions": {k: v for k, v in definitions().items() if k in pooled},
        "domain": next((by_request[r].get("domain") for r in wanted), None),
    }
    return view


def current_measurements(docs: Iterable[Mapping[str, Any]], spec: MetricSpec) -> dict[MeasureRequest, Mapping[str, Any]]:
    """The measurement used for each request of SPEC: one of the measure's registered version (an older
    version's values are not used, see the module's docstring), the most recently measured where several are."""
    known = measures()
    out: dict[MeasureRequest, Mapping[str, Any]] = {}
    for doc in sorted(docs, key=lambda d: str(d.get("measured_at") or "")):
        req = _request_of(doc)
        if req in spec.requests and req.measure in known and doc.get("version") == known[req.measure].version:
            out[req] = doc
    return out


def _pool(by_request: Mapping[MeasureRequest, Mapping[str, Any]], wanted: list[MeasureRequest], ctx: PoolingContext,
          per_frame: dict[str, Any]) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """Every metric of the WANTED measurements, pooled (PER_FRAME gets each metric's per-frame values), and
    the metrics whose per-frame values are not all finite (pooled as NaN, whatever the pooling made of them)."""
    pooled: dict[str, float | None] = {}
    non_finite: list[dict[str, Any]] = []
    for m in metrics().values():
        if m.request is None or m.request not in wanted or m.pool is None:
            continue
        doc = by_request[m.request]
        values, constants = doc["values"], doc.get("constants") or {}
        pooled[m.name] = m.pool(values, constants, ctx)
        frames = m.per_frame(values, constants, ctx) if m.per_frame is not None else [pooled[m.name]]
        if m.per_frame is not None:
            per_frame[m.name] = frames
        bad = [i for i, v in enumerate(frames) if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            pooled[m.name] = math.nan
            non_finite.append({"metric": m.name, "measure": m.request.measure, "measurement_key": doc["key"],
                               "frames": bad})
    return pooled, non_finite


def non_finite_caution(record: Mapping[str, Any], non_finite: list[dict[str, Any]],
                       files: list[str] | None = None) -> str:
    """One line for a reader: the job (sequence, rate point), each metric that is not a finite number by its
    label, the frames, the measurement file(s) they come from (FILES: their paths; default: their names, as the
    store names them) and what to do. The metrics' keys stay in the record's ``non_finite`` and the CSV files."""
    frames = sorted({i for entry in non_finite for i in entry["frames"]})
    shown = ", ".join(map(str, frames[:8])) + (" ..." if len(frames) > 8 else "")
    stored = files or sorted({f"{e['measure']}_{e['measurement_key'][:16]}.json" for e in non_finite})
    names = [metric_name(e["metric"]) for e in non_finite]
    named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return (f"{named} of {record['sequence']['name']} at rate point {record['rate_point']}: not a finite number "
            f"(NaN or infinite per-frame values at frame(s) {shown} in the stored measurement "
            f"{', '.join(stored)}), so shown as no value; delete {'that file' if len(stored) == 1 else 'those files'}"
            " and run `evaluate.py remeasure` to measure again")


def _with_difference(record: Mapping[str, Any], ours: Mapping[str, float | None]) -> dict[str, Any]:
    """The codec's own numbers, with codec-reported minus measured for each it reports under one of our names
    (measured as this view pools them)."""
    reported = dict(record.get("codec_reported") or {})
    theirs = reported.get("reported_metrics") or {}
    rate = record.get("rate") or {}
    diff: dict[str, float] = {}
    for name, value in theirs.items():
        mine = {"kbps": rate.get("kbps"), "bpp": rate.get("bpp")}.get(name, ours.get(name))
        if mine is not None and value is not None:
            diff[name] = float(value) - float(mine)
    if diff:
        reported["difference_to_ours"] = diff
    return reported


def _shadowed(name: str, req: MeasureRequest) -> bool:
    # A measure's raw value named like a metric (``ms_ssim`` of two spaces) would collide; metrics carry it.
    return name == req.measure


def _bit_depth(record: Mapping[str, Any]) -> int:
    from bench.video.formats import pixel_format

    return pixel_format(record["sequence"]["format"]).bit_depth
