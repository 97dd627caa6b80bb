"""One record type: every record the suite writes or reads (a coded job, a failed one, a migrated schema-1 one,
an imported point, a published curve) validates against the JSON Schema generated from bench.store.record, and the
schema file shipped beside it is the generated one."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, condition_file

from bench.bd.importers import import_path
from bench.bd.published import catalogue, load
from bench.conditions.condition import load_condition
from bench.run.runner import RunOptions, run_condition
from bench.store.migrate import migrate_v1
from bench.store.record import json_schema
from bench.store.results import ResultStore

DATA = Path(__file__).parents[1] / "data"
VALIDATOR = jsonschema.Draft202012Validator(json_schema())


def _problems(record: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(record)]


def test_the_shipped_schema_is_the_generated_one() -> None:
    shipped = json.loads((REPO / "bench" / "store" / "record.schema.json").read_text())
    assert shipped == json_schema(), "regenerate it: python -m bench.store.record > bench/store/record.schema.json"
    jsonschema.Draft202012Validator.check_schema(shipped)


@pytest.mark.integration
def test_coded_and_failed_records_validate(tmp_path: Path, clip_dir: Path) -> None:
    extra = ("codecs:\n  - {descriptor: x264, params: {preset: ultrafast}, rate_points: [30]}\n"
             "  - {name: broken, adapter: command, params: {encode: [python3, -c, 'raise SystemExit(3)', '{input}', "
             "'{bitstream}'], decode: [python3, -c, 'pass', '{bitstream}', '{decoded}']}, rate_points: [1]}")
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=extra))
    outcome = run_condition(cond, RunOptions(tmp_path / "results", progress=False))
    assert outcome.coded == 4 and len(outcome.failed) == 2
    stored = [json.loads(p.read_text()) for p in (tmp_path / "results" / "t" / "records").glob("*/*/*.json")]
    assert {r["status"] for r in stored} == {"ok", "failed"} and len(stored) == 4
    for record in stored:
        assert _problems(record) == [], record["key"]
    assert all(_problems(r) == [] for r in ResultStore(tmp_path / "results" / "t").all_records())  # as read back


def test_migrated_imported_and_published_records_validate() -> None:
    old = json.loads(next((DATA / "schema1" / "records").glob("*/*/*.json")).read_text())
    new, _ = migrate_v1(old)
    assert _problems(new) == []
    imported = [*import_path(DATA / "dcvc" / "test.json"),
                *import_path(DATA / "compressai-results" / "video" / "UVG-1080p")]
    assert len(imported) > 10 and all(_problems(r) == [] for r in imported)
    published = [r for curve in catalogue() for r in load(curve)["records"]]
    assert len(published) > 100 and all(_problems(r) == [] for r in published)


@pytest.mark.parametrize(("change", "says"), [
    (lambda r: r.update(extra_key=1), "Additional properties are not allowed ('extra_key' was unexpected)"),
    (lambda r: r.pop("codec"), "'codec' is a required property"),
    (lambda r: r["rate"].update(bpp="0.1"), "rate/bpp: '0.1' is not valid"),
    (lambda r: r.update(status="done"), "status: 'done' is not one of ['ok', 'failed']"),
])
def test_a_malformed_record_is_named(change, says: str) -> None:
    record = json.loads(json.dumps(load("uvg/x265")["records"][0]))  # a copy of a valid record
    assert _problems(record) == []
    change(record)
    assert any(says in p for p in _problems(record)), _problems(record)

