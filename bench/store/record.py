"""The record: what one job (or one imported RD point) leaves in the store, as types, and its JSON Schema.

Records stay plain JSON dicts on disk and in memory (they are written, read, migrated and shown as such); these
TypedDicts say which keys each block holds and what they hold, so that the places that build records (the
runner's one-job path, the importers, the cluster path, the migration) and the ones that read them are checked
by a type checker against one description. ``record.schema.json`` beside this file is generated from them
(``python -m bench.store.record > bench/store/record.schema.json``; a test fails when it is out of date) for anyone who reads
records without this code. Every record carries ``schema_version``; records of an earlier schema are brought
forward by :mod:`bench.store.migrate` when a results folder is read.

The top level is closed (an unknown key is an error); the blocks inside are open, because adapters add facts of
their own (a codec's stream checks, a driver's timing details) that the schema does not enumerate.
"""

# No ``from __future__ import annotations`` here: TypedDict reads Required[] from evaluated annotations.
import json
import sys
import types
import typing
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    from typing import Required
else:  # Python 3.10: typing has no Required yet
    from typing_extensions import Required

from bench import SCHEMA_VERSION


class ConditionRef(TypedDict):
    name: str
    file: str
    fields: dict[str, Any]  # Condition.coding_fields(): what changes a bitstream


class SequenceRef(TypedDict, total=False):
    name: Required[str]
    group: Required[str]
    file: str
    width: int | None
    height: int | None
    fps: float | None
    format: str
    frames_in_file: int
    dataset_average: dict[str, Any]  # an imported point that is a mean over a dataset


class SourceRef(TypedDict, total=False):
    size: int
    sha256: str
    first: int
    count: int | None


class CodecRef(TypedDict, total=False):
    name: Required[str]
    adapter: Required[str]
    description: str
    identity: dict[str, Any]  # versions, hashes and result-changing parameters: part of the job key
    coded_as: str
    name_in_source: str  # when a comparison renamed it "run:codec"


class Coding(TypedDict, total=False):
    coding_format: str
    codec_format: str | None
    colour: str
    spatial: str
    intra_period: int
    frames: dict[str, int]  # first, count: the frames coded (bench.run.jobs.SourceIdentity's, always numbers)
    geometry: dict[str, int] | None
    stream: dict[str, Any]
    codec_processing: dict[str, Any]


class Rate(TypedDict, total=False):
    bits: int | float | None
    bpp: float | None
    kbps: float | None
    bits_source: str
    definition: str
    bitstreams: list[str]
    bitstream_bytes: list[int]
    excluded_bytes: int
    excluded_reason: str | None
    bitstream_sha256: list[str]
    conversion: str


class Decoded(TypedDict, total=False):
    sha256: str | None  # None: migrated from schema 1, which kept no hash of the decoded frames
    format: str
    size: list[int]
    kept: dict[str, Any] | None
    redecodable: bool
    note: str  # why a field is empty: a record migrated from schema 1 says it kept no hash of the decoded frames


class Failure(TypedDict, total=False):
    message: Required[str]
    stderr_tail: str


class ImportedRef(TypedDict, total=False):
    source: Required[str]  # the producer's file (a published curve: its path in the producer's repository)
    format: Required[str]  # the importer's format (bench.bd.importers.detect)
    # Where the point comes from, as BD tells one curve from points of several merged: the file, or its folder
    # for formats that spread one curve over files (one VTM log per QP). Absent from records imported before it
    # was written: bench.bd.importers.with_origin derives it for them.
    origin: str
    name_in_file: str  # the producer's curve name, where the import told same-named files apart ...
    told_apart_by: str  # ... and by what
    published: dict[str, Any]  # a shipped published curve: its id, condition and source


class Record(TypedDict, total=False):
    schema_version: Required[int]
    key: Required[str]
    status: Required[Literal["ok", "failed"]]
    condition: ConditionRef
    sequence: Required[SequenceRef]
    source: Required[SourceRef]
    codec: Required[CodecRef]
    rate_point: Required[Any]
    rate_knob: str | None
    coding: Coding
    rate: Rate
    decoded: Decoded
    per_frame: dict[str, Any]  # frame_type, bits, qp, encode_s, decode_s (measured values live apart)
    codec_reported: dict[str, Any]
    commands: list[list[str]]
    timing: dict[str, Any]
    complexity: dict[str, Any] | None
    cautions: list[str]
    warnings: list[str]
    logs: dict[str, Any] | None
    measurement_errors: list[str]
    provenance: dict[str, Any]
    error: Failure | None
    retries: dict[str, Any]
    imported: ImportedRef  # an imported point: its file, format and origin (a published curve: where from) ...
    # ... with the pooled values its producer reported (a view: the values pooled from the measurements, None
    # for a metric whose values pool to no number, such as MS-SSIM with a frame too small to have one) ...
    metrics: dict[str, float | None]
    measurement: dict[str, Any]  # ... and how that producer measured (a view: how they were pooled)
    migrated: dict[str, Any]  # brought forward from an earlier schema: from which, its old key, when
    # Only in a view of a record (bench.metrics.pooling.pooled_view), never stored, so left out of the JSON Schema
    # (VIEW_ONLY): the metrics whose per-frame values are not all finite, and the requested measurements that
    # have no usable values, with why.
    non_finite: list[dict[str, Any]]
    not_measured: list[dict[str, Any]]


VIEW_ONLY = ("non_finite", "not_measured")  # Record's keys that a stored record never has


def _schema(kind: Any) -> dict[str, Any]:
    """The JSON Schema of a type these TypedDicts use."""
    origin = get_origin(kind)
    if kind is Any:
        return {}
    if kind is type(None):
        return {"type": "null"}
    if kind in (str, int, float, bool):
        return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[kind]}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema(k) for k in get_args(kind)]}
    if origin is Literal:
        return {"enum": list(get_args(kind))}
    if origin is list:
        return {"type": "array", "items": _schema(get_args(kind)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(get_args(kind)[1])}
    if typing.is_typeddict(kind):
        hints = get_type_hints(kind)
        shown = {k: v for k, v in hints.items() if kind is not Record or k not in VIEW_ONLY}
        return {"type": "object", "properties": {k: _schema(v) for k, v in shown.items()},
                "required": sorted(kind.__required_keys__), "additionalProperties": kind is not Record}
    raise TypeError(f"no JSON Schema for {kind!r}")


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a stored record of this schema version."""
    schema = _schema(Record)
    schema["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"lvc-bench record, schema "
            f"{SCHEMA_VERSION}", "description": __doc__.split("\n\n")[0].replace("\n", " "), **schema}


if __name__ == "__main__":
    json.dump(json_schema(), sys.stdout, indent=1)
    sys.stdout.write("\n")
