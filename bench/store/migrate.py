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

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench import SCHEMA_VERSION
from bench.errors import BenchError, environment_problem
from bench.files import DamagedFile
from bench.files import load_json as _load_json
from bench.metrics.measuring import document
from bench.metrics.registry import MeasureOutput, measurement_key, request
from bench.provenance import now
from bench.store.keys import coding_key
from bench.store.record import Record

# What a skipped record's owner can do: the job of a record that is not read is coded again by the next run.
_AFTER = "move it aside (its job is coded again by the next run)"


class Unmigratable(BenchError):
    """A stored record that cannot be brought forward: not a record, or one of schema 1 with a field missing or
    of the wrong kind. Left where it is; ``evaluate.py migrate`` names it and why."""


@dataclass
class Migration:
    """What ``evaluate.py migrate`` did to a results folder: records migrated, and every file it skipped with why."""

    migrated: int = 0
    skipped: list[str] = field(default_factory=list)  # "<file>: <why>; <what to do>", one per record skipped
    strays: list[str] = field(default_factory=list)  # files under records/ that are no record, left as they are


def migrate_folder(store: Any) -> Migration:
    """Migrate every record of STORE's folder that is of an earlier schema; every file it could not migrate is
    named with why, and nothing is raised for one (the others are migrated all the same). A full or read-only
    disk still stops it (EnvironmentProblem): no record could be written."""
    out = Migration()
    records = store.root / "records"
    for path in sorted(records.rglob("*")) if records.is_dir() else []:
        if path.is_dir() or path.name.startswith("."):  # a writer's temporary file is not a record
            continue
        if path.suffix != ".json" or len(path.relative_to(records).parts) != 3 or not path.is_file():
            out.strays.append(f"{path}: not a record (records are records/<codec>/<sequence>/<rate point>_<key>"
                              ".json); left as it is")
            continue
        try:
            out.migrated += _migrate_file(store, path)
        except (DamagedFile, Unmigratable) as e:
            out.skipped.append(f"{e}; {_AFTER}")
        except BenchError as e:
            out.skipped.append(str(e))
        except OSError as e:
            if (problem := environment_problem(e, str(path))) is not None:
                raise problem from None
            out.skipped.append(f"{path}: cannot be read or rewritten ({e.strerror or e})")
    return out


def migrate_file(store: Any, path: Path) -> int:
    """Migrate the record at PATH if it is of an earlier schema; 1 if it was, 0 if it is current or cannot be
    (damaged, not a record, or of schema 1 with fields missing: left to the reader, which says so, and named by
    ``evaluate.py migrate``). BenchError for a schema this version does not know."""
    try:
        return _migrate_file(store, path)
    except (DamagedFile, Unmigratable):
        return 0


def _migrate_file(store: Any, path: Path) -> int:
    record = _load_json(path)
    if "schema_version" not in record:
        raise Unmigratable(f"{path}: not a record (no schema_version)")
    version = record.get("schema_version")
    if version == SCHEMA_VERSION:
        return 0
    if version != 1:
        raise BenchError(f"{path}: record schema {version!r} is unknown to this version of the suite "
                         f"(it writes {SCHEMA_VERSION}); update the suite or move the folder aside")
    if (problem := v1_problem(record)) is not None:
        raise Unmigratable(f"{path}: a schema-1 record {problem}")
    try:
        new, docs = migrate_v1(record)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        raise Unmigratable(f"{path}: a schema-1 record with a field of an unexpected kind") from None
    try:  # checked before anything is written: records and measurements are strict JSON
        json.dumps([new, docs], allow_nan=False, default=str)
    except ValueError:
        raise Unmigratable(f"{path}: a schema-1 record holding NaN or infinity, which records may not") from None
    for doc in docs:
        store.write_measurement(new, doc)
    target = store.record_path(new["codec"]["name"], new["sequence"]["name"], new["rate_point"], new["key"])
    store.write(target, new)
    if target != path:
        path.unlink(missing_ok=True)
    return 1


def v1_problem(old: dict[str, Any]) -> str | None:
    """What keeps a schema-1 record from being migrated, in words ("without condition.fields"), or None."""
    problem = _v1_layout_problem(old)
    if problem is not None or old.get("status") != "ok":
        return problem
    return _v1_measured_problem(old)


def _v1_lacks(where: str, value: Any, kind: type) -> str | None:
    """How VALUE, found at WHERE, fails to be of KIND (text or a mapping), in words; None if it is."""
    if isinstance(value, kind):
        return None
    return f"without {where}" if value is None else f"whose {where} is not {'text' if kind is str else 'a mapping'}"


def _v1_layout_problem(old: dict[str, Any]) -> str | None:
    """What of the fields every schema-1 record has, whatever its status, is missing or of the wrong kind."""
    for name, kind in (("key", str), ("condition", dict), ("source", dict), ("sequence", dict), ("codec", dict)):
        if (problem := _v1_lacks(name, old.get(name), kind)) is not None:
            return problem
    for outer, inner, kind in (("condition", "fields", dict), ("codec", "identity", dict), ("codec", "name", str),
                               ("sequence", "name", str), ("sequence", "format", str)):
        if (problem := _v1_lacks(f"{outer}.{inner}", old[outer].get(inner), kind)) is not None:
            return problem
    if "rate_point" not in old:
        return "without 'rate_point'"
    for name in ("measurement", "provenance"):
        if old.get(name) is not None and not isinstance(old[name], dict):
            return f"whose {name} is not a mapping"
    return None


def _v1_measured_problem(old: dict[str, Any]) -> str | None:
    """What an ok schema-1 record lacks of what its measurements are migrated from: its frame count, its
    per-frame SSE and samples, the colour spaces its MS-SSIM was measured in."""
    frames = old["source"].get("count")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        return f"whose source.count is {frames!r}, not a frame count"
    pf = old.get("per_frame")
    if not isinstance(pf, dict):
        return "without per_frame (its per-frame SSE is what a migrated record is measured from)"
    if (problem := _v1_per_frame_problem(pf, frames)) is not None:
        return problem
    spaces = (old.get("measurement") or {}).get("ms_ssim") or []
    if not isinstance(spaces, list) or not all(s in ("y", "rgb") for s in spaces):
        return f"whose measurement.ms_ssim is {spaces!r}, not a list of y, rgb"
    return None


def _v1_per_frame_problem(pf: dict[str, Any], frames: int) -> str | None:
    """Which per-frame list is not what a measurement holds: each plane's SSE, one per frame, and the samples
    per frame of each of y, u, v, rgb, all finite and not negative."""
    for name, count, what in (*((p, frames, "one per frame") for p in ("sse_y", "sse_u", "sse_v", "sse_rgb")),
                              ("samples", 4, "y, u, v, rgb")):
        values = pf.get(name)
        if not isinstance(values, list) or len(values) != count or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in values):
            return f"whose per_frame.{name} is not a list of {count} finite numbers ({what})"
    return None


def migrate_v1(old: dict[str, Any]) -> tuple[Record, list[dict[str, Any]]]:
    """A schema-1 record as (schema-2 record, its measurement documents)."""
    fields = {k: v for k, v in old["condition"]["fields"].items() if k != "metrics"}
    key = coding_key(fields, {**old["source"], "format": old["sequence"]["format"]}, old["codec"]["identity"],
                     old["rate_point"])
    # The old record's keys as they were, in their order, less what measurements now hold; its condition and
    # the rest come as schema 1 wrote them (v1_problem checked what is read here). A schema-1 record's keys are
    # Record's (the schema test checks a migrated one), so this plain dict is said to be one; what is set after
    # the cast is checked as Record's.
    plain = {k: v for k, v in old.items() if k not in ("metrics", "measurement")}
    plain.update({"schema_version": SCHEMA_VERSION, "key": key, "condition": {**old["condition"], "fields": fields},
                  "migrated": {"from_schema": 1, "old_key": old["key"], "at": now()}})
    new = cast(Record, plain)
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
        if isinstance(values, list) and len(values) == frames and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
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
