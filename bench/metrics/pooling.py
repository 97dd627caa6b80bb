"""From stored measurements to the numbers a record shows: per-frame metric values and pooled metrics.

Nothing is measured here. A record's measurements (one document per measure and parameters) are turned into
every registered metric whose measure the condition asked for, with the condition's pooling and PSNR peak;
so changing either only re-runs this, in milliseconds per job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bench.metrics.registry import MeasureRequest, MetricSpec, PoolingContext, definitions, metrics, request


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
    by_request = {_request_of(d): d for d in docs}
    wanted = [r for r in spec.requests if r in by_request]
    ctx = PoolingContext(spec.pooling, spec.psnr_peak, _bit_depth(record))
    pooled: dict[str, float | None] = {}
    per_frame: dict[str, Any] = dict(record.get("per_frame") or {})
    for req in wanted:
        doc = by_request[req]
        per_frame.update({k: v for k, v in doc["values"].items() if not _shadowed(k, req)})
        per_frame.update(doc.get("constants") or {})
    for m in metrics().values():
        if m.request is None or m.request not in wanted or m.pool is None:
            continue
        doc = by_request[m.request]
        values, constants = doc["values"], doc.get("constants") or {}
        pooled[m.name] = m.pool(values, constants, ctx)
        if m.per_frame is not None:
            per_frame[m.name] = m.per_frame(values, constants, ctx)
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
