"""Bringing stored results forward: records of an earlier schema become records of this one, nothing recoded.

Schema 1 (before measurements were kept apart) stored one record per job whose key also covered the
``metrics:`` block, with pooled metrics and per-frame SSE and MS-SSIM inside. Migrating one:

* re-keys it with today's coding key, computed from what the record itself holds (its condition's coding
  fields, source identity and format, codec identity and rate point), so a run of the same condition finds it;
* moves its per-frame SSE and sample counts into an ``sse`` measurement and its per-frame MS-SSIM values into
  ``ms_ssim`` measurements (implementation: the pytorch-msssim version its provenance names), keyed as new
  ones are; pooled numbers are recomputed from them, so they equal what the old record said;
* keeps its bitstreams where they are (the record points at them); decoded frames were not kept by schema 1,
  so a new metric for a codec that cannot decode its stream again (DCVC, DHVC) needs that job coded again.

Measurements are written first, then the new record, then the old file is removed: a migration killed halfway
is finished by the next one. Runs, reports, ``bd`` and ``status`` migrate a results folder when they read it;
``evaluate.py migrate RESULTS`` does it on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import SCHEMA_VERSION
from bench.errors import BenchError
from bench.jobs import coding_key
from bench.metrics.measuring import document
from bench.metrics.registry import MeasureOutput, measurement_key, request
from bench.provenance import now
from bench.record import Record


def migrate_file(store: Any, path: Path) -> int:
    """Migrate the record at PATH if it is of an earlier schema; 1 if it was, 0 if it is current."""
    from bench.files import DamagedFile
    from bench.files import load_json as _load_json

    try:
        record = _load_json(path)
    except DamagedFile:
        return 0  # left to the reader, which skips it with a warning (or stops under --strict)
    version = record.get("schema_version")
    if version == SCHEMA_VERSION:
        return 0
    if version != 1:
        raise BenchError(f"{path}: record schema {version!r} is unknown to this version of the suite "
                         f"(it writes {SCHEMA_VERSION}); update the suite or move the folder aside")
    new, docs = migrate_v1(record)
    for doc in docs:
        store.write_measurement(new, doc)
    target = store.record_path(new["codec"]["name"], new["sequence"]["name"], new["rate_point"], new["key"])
    store.write(target, new)
    if target != path:
        path.unlink(missing_ok=True)
    return 1


def migrate_v1(old: dict[str, Any]) -> tuple[Record, list[dict[str, Any]]]:
    """A schema-1 record as (schema-2 record, its measurement documents)."""
    fields = {k: v for k, v in old["condition"]["fields"].items() if k != "metrics"}
    key = coding_key(fields, {**old["source"], "format": old["sequence"]["format"]}, old["codec"]["identity"],
                     old["rate_point"])
    new = {k: v for k, v in old.items() if k not in ("metrics", "measurement")}
    new.update({"schema_version": SCHEMA_VERSION, "key": key,
                "condition": {**old["condition"], "fields": fields},
                "migrated": {"from_schema": 1, "old_key": old["key"], "at": now()}})
    if old.get("status") != "ok":
        return new, []
    pf = old.get("per_frame") or {}
    new["per_frame"] = {k: pf.get(k) for k in ("frame_type", "bits")}
    new["decoded"] = {"sha256": None, "kept": None,
                      "note": "migrated from schema 1, which kept no hash of the decoded frames"}
    measurement = old.get("measurement") or {}
    domain = measurement.get("domain")
    frames = old["source"]["count"]
    docs = [document(key, request("sse"), MeasureOutput(
        {p: list(pf[p]) for p in ("sse_y", "sse_u", "sse_v", "sse_rgb")}, {"samples": list(pf["samples"])}),
        0.0, {"device": "cpu", "implementation": "migrated from schema 1"}, frames, domain)]
    version = ((old.get("provenance") or {}).get("packages") or {}).get("pytorch-msssim") or "unknown"
    for space in measurement.get("ms_ssim") or []:
        values = pf.get(f"ms_ssim_{space}")
        if isinstance(values, list) and len(values) == frames:
            req = request("ms_ssim", space=space)
            doc = document(key, req, MeasureOutput({"ms_ssim": values}), 0.0,
                           {"device": "cpu", "implementation": f"pytorch_msssim {version}"}, frames, domain)
            # Keyed as what computed them: version 1 of the measure (pytorch_msssim on the CPU) and the library's
            # version, never as today's; the next run measures MS-SSIM again instead of mixing implementations.
            doc["version"], doc["implementation"] = 1, {"pytorch_msssim": version}
            doc["key"] = measurement_key(key, req, doc["implementation"], version=1)
            docs.append(doc)
    for doc in docs:
        doc["migrated_from_schema"] = 1
        doc["measured_at"] = (old.get("provenance") or {}).get("finished_at")
    return new, docs
