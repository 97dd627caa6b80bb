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

A requested measurement that cannot be used (no file, a damaged or foreign file: see
:func:`bench.store.results.measurement_problem`, or values its metrics cannot be pooled from) leaves its metrics out and
is listed under ``not_measured`` (measure, metrics, the file and why), with a caution naming the job, the metrics
and the reason; the next ``run`` or ``remeasure`` takes it again (:func:`bench.run.one_job.missing_measurements`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bench.metrics.registry import (
    MeasureRequest,
    Metric,
    MetricSpec,
    PoolingContext,
    definitions,
    measures,
    metric_name,
    metrics,
    request,
)

# A record is a Mapping[str, Any] here, not bench.store.record.Record: the store is above this layer, and
# pooled_view is also handed mappings that are no record (the self-test's few keys of a clip).
NOT_MEASURED = "not_measured"  # the key (record field, CSV column) of metrics without a usable measurement
NON_FINITE = "non_finite"  # the key (record field, CSV column, BD status) of metrics whose values are not all finite


def _request_of(doc: Mapping[str, Any]) -> MeasureRequest:
    return request(doc["measure"], **(doc.get("params") or {}))


def pooled_view(record: Mapping[str, Any], docs: Iterable[Mapping[str, Any]], spec: MetricSpec,
                problems: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of RECORD with ``metrics`` (pooled), ``per_frame`` (raw and per-metric values) and ``measurement``
    (how) from DOCS, for the measures SPEC asks for. A measurement missing for a requested measure leaves its
    metrics out (the report and tables then show them empty) and is listed under ``not_measured`` with why:
    PROBLEMS (file name -> why it cannot be used, from the store), else what the record or DOCS tell. The view
    of a stored record is typed as a Record by the store (bench.store.results)."""
    docs = list(docs)
    view = dict(record)
    fields = dict((record.get("condition") or {}).get("fields") or {})
    fields["metrics"] = spec.describe()
    view["condition"] = {**(record.get("condition") or {}), "fields": fields}
    if record.get("status") != "ok":
        return view
    by_request = current_measurements(docs, spec)
    ctx = PoolingContext(spec.pooling, spec.psnr_peak, _bit_depth(record))
    per_frame: dict[str, Any] = dict(record.get("per_frame") or {})
    pooled, frames, non_finite, broken = _pool(by_request, [r for r in spec.requests if r in by_request], ctx)
    wanted = [r for r in spec.requests if r in by_request and r not in broken]
    for req in wanted:
        doc = by_request[req]
        per_frame.update({k: v for k, v in doc["values"].items() if not _shadowed(k, req)})
        per_frame.update(doc.get("constants") or {})
    per_frame.update(frames)  # each metric's per-frame values, after the raw ones they may be named like
    cautions = list(record.get("cautions") or [])
    if non_finite:
        view[NON_FINITE] = non_finite
        cautions.append(non_finite_caution(record, non_finite))
    missing = [not_measured_entry(r, record, docs, problems or {}, broken) for r in spec.requests if r not in wanted]
    if missing:
        view[NOT_MEASURED] = missing
        cautions.append(not_measured_caution(record, missing))
    if cautions:
        view["cautions"] = cautions
    view["metrics"] = pooled
    view["per_frame"] = per_frame
    view["codec_reported"] = _with_difference(record, pooled)
    view["measurement"] = {
        "pooling": spec.pooling,
        "psnr_peak": {"convention": spec.psnr_peak, "yuv": ctx.yuv_peak, "rgb": ctx.rgb_peak},
        "measures": [{"measure": r.measure, "params": r.params_dict, "version": by_request[r]["version"],
                      "implementation": by_request[r]["implementation"], "key": by_request[r]["key"],
                      "seconds": by_request[r].get("seconds")} for r in wanted],
        "missing": [r.describe() for r in spec.requests if r not in wanted],
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
        try:
            req = _request_of(doc)
        except TypeError:  # parameters no measure takes (the store has checked their shape): not ours to use
            continue
        if req in spec.requests and req.measure in known and doc.get("version") == known[req.measure].version:
            out[req] = doc
    return out


def _pool(by_request: Mapping[MeasureRequest, Mapping[str, Any]], wanted: list[MeasureRequest], ctx: PoolingContext,
          ) -> tuple[dict[str, float | None], dict[str, list[Any]], list[dict[str, Any]], dict[MeasureRequest, str]]:
    """Every metric of the WANTED measurements, pooled, and per frame (metrics that have per-frame values); the
    metrics whose per-frame values are not all finite (pooled as NaN, whatever the pooling made of them); and
    the measurements whose values their metrics cannot be pooled from (none of their metrics is kept), why."""
    pooled: dict[str, float | None] = {}
    frames_of: dict[str, list[Any]] = {}
    non_finite: list[dict[str, Any]] = []
    broken: dict[MeasureRequest, str] = {}
    for m in metrics().values():
        if m.request is None or m.request not in wanted or m.pool is None or m.request in broken:
            continue
        doc = by_request[m.request]
        done = _pool_one(m, doc, ctx)
        if isinstance(done, str):
            broken[m.request] = done
            continue
        pooled[m.name], frames, bad = done
        if m.per_frame is not None:
            frames_of[m.name] = frames
        if bad:
            pooled[m.name] = math.nan
            non_finite.append({"metric": m.name, "measure": m.request.measure, "measurement_key": doc["key"],
                               "frames": bad})
    dropped = {m.name for m in metrics().values() if m.request in broken}
    return ({k: v for k, v in pooled.items() if k not in dropped}, {k: v for k, v in frames_of.items() if k not in dropped},
            [e for e in non_finite if e["metric"] not in dropped], broken)


def _pool_one(m: Metric, doc: Mapping[str, Any], ctx: PoolingContext) -> tuple[float | None, list[Any], list[int]] | str:
    """Metric M of the measurement DOC: pooled, per frame, and the frames whose value is not finite; or why its
    values give none. A document read from a stored file keeps this (its ``pooled``, see
    :class:`bench.store.results.StoredMeasurement`): the same unchanged file is pooled once per process."""
    memo = getattr(doc, "pooled", None)
    if memo is not None and (m.name, ctx) in memo:
        return memo[(m.name, ctx)]  # type: ignore[no-any-return]
    assert m.pool is not None  # _pool, its one caller, skips the metrics that have none
    values, constants = doc["values"], doc.get("constants") or {}
    done: tuple[float | None, list[Any], list[int]] | str
    try:
        value = m.pool(values, constants, ctx)
        frames = m.per_frame(values, constants, ctx) if m.per_frame is not None else [value]
        done = value, frames, [i for i, v in enumerate(frames) if isinstance(v, float) and not math.isfinite(v)]
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as e:  # a hand-made document
        missing = f"no {e.args[0]!r}" if isinstance(e, KeyError) and e.args else "values of the wrong shape"
        done = f"its values give no {metric_name(m.name)} ({missing})"
    if memo is not None:
        memo[(m.name, ctx)] = done
    return done


def not_measured_entry(req: MeasureRequest, record: Mapping[str, Any], docs: list[Mapping[str, Any]],
                       problems: Mapping[str, str], broken: Mapping[MeasureRequest, str]) -> dict[str, Any]:
    """What a view says of a requested measurement it has no usable values for: the measure, its metrics, the
    stored file at fault (if one is) and why (see :func:`pooled_view`)."""
    entry: dict[str, Any] = {"measure": req.measure, "params": req.params_dict, "file": None,
                             "metrics": [m.name for m in metrics().values() if m.request == req and m.pool is not None]}
    mine = [d for d in docs if d.get("measure") == req.measure and d.get("params", {}) == req.params_dict]
    current = measures()[req.measure].version if req.measure in measures() else None
    damaged = sorted(n for n in problems if re.fullmatch(rf"{re.escape(req.measure)}_[0-9a-f]{{16}}\.json", n))
    errors = [e for e in record.get("measurement_errors") or [] if str(e).startswith(req.measure)]
    if req in broken:
        doc = next(d for d in mine if d.get("version") == current)
        entry.update(file=f"{req.measure}_{str(doc.get('key'))[:16]}.json", reason=broken[req])
    elif damaged:
        entry.update(file=damaged[0], reason=problems[damaged[0]])
    elif any(d.get("version") != current for d in mine):
        entry["reason"] = (f"only a measurement by an earlier version of {req.measure} is stored (version "
                           f"{current} is used now)")
    elif errors:
        entry["reason"] = f"measuring failed when the job was coded: {'; '.join(map(str, errors))[:300]}"
    else:
        entry["reason"] = "no measurement is stored"
    return entry


def not_measured_caution(record: Mapping[str, Any], entries: list[dict[str, Any]]) -> str:
    """One line for a reader: the job, each metric it has no value for (by its label) and why, and what to do."""
    names = [metric_name(n) for e in entries for n in e["metrics"]] or [e["measure"] for e in entries]
    named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    why = "; ".join(f"{e['file']}: {e['reason']}" if e["file"] else f"{e['measure']}: {e['reason']}" for e in entries)
    return (f"{named} of {(record.get('sequence') or {}).get('name')} at rate point {record.get('rate_point')}: "
            f"not measured ({why}), so shown as no value; the next `evaluate.py run` or `evaluate.py remeasure` "
            "measures it again")


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
