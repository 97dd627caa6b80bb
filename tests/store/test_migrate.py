"""``evaluate.py migrate`` on a results folder of schema-1 records, some of them broken as disks and hands break
them (a field missing, a field of the wrong kind, a record cut short, a file that is no record): the good record
is migrated, every other file is named with why and what to do, nothing is raised, and a run on the same folder
neither crashes nor loses the broken files (they are left where they are, for the user to move aside).

The schema-1 record is the one a schema-1 run wrote (tests/data/schema1), damaged here one field at a time."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.store.migrate import migrate_file, migrate_folder, v1_problem
from bench.store.results import ResultStore

DATA = Path(__file__).parents[1] / "data" / "schema1"
PYTHON_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback")
AFTER = "move it aside (its job is coded again by the next run)"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    results = tmp_path / "r"
    shutil.copytree(DATA, results)
    return results


def _original(folder: Path) -> tuple[Path, dict]:
    [path] = (folder / "records").glob("*/*/*.json")
    return path, json.loads(path.read_text())


def _beside(path: Path, rate: str, record: dict | str) -> Path:
    """A damaged copy of the record under another rate point's name, beside it."""
    copy = path.with_name(path.name.replace("32_", f"{rate}_"))
    copy.write_text(record if isinstance(record, str) else json.dumps(record))
    return copy


@pytest.mark.integration
def test_every_skipped_record_is_named_with_why(folder: Path, capsys: pytest.CaptureFixture) -> None:
    path, old = _original(folder)
    no_sse = _beside(path, "22", {**old, "per_frame": {k: v for k, v in old["per_frame"].items() if k != "sse_y"}})
    bad_condition = _beside(path, "27", {**old, "condition": "not a mapping"})
    short_sse = _beside(path, "30", {**old, "per_frame": {**old["per_frame"], "sse_u": old["per_frame"]["sse_u"][:3]}})
    cut = _beside(path, "37", path.read_text()[:500])
    not_object = _beside(path, "42", "[1, 2]")
    stray = path.parent.parent / "README.txt"
    stray.write_text("hand-written note")
    assert main(["migrate", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{folder}: 1 record(s) migrated, 5 skipped (named below)\n"
    assert not PYTHON_NAME.search(err), err
    assert err.splitlines() == [
        f"  skipped {no_sse}: a schema-1 record whose per_frame.sse_y is not a list of 8 finite numbers (one per "
        f"frame); {AFTER}",
        f"  skipped {bad_condition}: a schema-1 record whose condition is not a mapping; {AFTER}",
        f"  skipped {short_sse}: a schema-1 record whose per_frame.sse_u is not a list of 8 finite numbers (one per "
        f"frame); {AFTER}",
        f"  skipped {cut}: not readable JSON (Unterminated string starting at: line 24 column 20 (char 495)); {AFTER}",
        f"  skipped {not_object}: not a JSON object; {AFTER}",
        f"  skipped {stray}: not a record (records are records/<codec>/<sequence>/<rate point>_<key>.json); left as "
        "it is"]
    # The good record is migrated (re-keyed, schema 2); the skipped files are where they were, unchanged.
    damaged = (no_sse, bad_condition, short_sse, cut, not_object, stray)
    migrated = [p for p in (folder / "records").glob("*/*/*.json") if p not in damaged]
    assert [json.loads(p.read_text())["migrated"]["old_key"] for p in migrated] == [old["key"]]
    assert json.loads(migrated[0].read_text())["schema_version"] == 2
    assert all(p.exists() for p in damaged)
    # Once moved aside, migrate has nothing left to say.
    for p in damaged:
        p.rename(folder / p.name)
    assert main(["migrate", str(folder)]) == 0
    assert capsys.readouterr() == (f"{folder}: 0 record(s) migrated\n", "")


@pytest.mark.integration
def test_a_run_reading_the_folder_does_not_crash_on_a_broken_old_record(folder: Path) -> None:
    """store.upgrade (what run, report, bd and status call) migrates what it can and leaves the rest: the
    reader then names the old record and points at migrate, in one line."""
    path, old = _original(folder)
    broken = _beside(path, "22", {**old, "per_frame": {k: v for k, v in old["per_frame"].items() if k != "sse_y"}})
    store = ResultStore(folder)
    assert store.upgrade() == 1
    assert broken.exists() and migrate_file(store, broken) == 0
    with pytest.raises(Exception, match=r"record schema 1 is not 2; run `evaluate.py migrate`") as caught:
        store.all_records()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda r: r.pop("key"), "without key"),
    (lambda r: r["codec"].pop("identity"), "without codec.identity"),
    (lambda r: r["sequence"].update(format=420), "whose sequence.format is not text"),
    (lambda r: r["source"].update(count="8"), "whose source.count is '8', not a frame count"),
    (lambda r: r["per_frame"].update(samples=[1, 2]), "whose per_frame.samples is not a list of 4 finite numbers"),
    (lambda r: r["per_frame"]["sse_v"].__setitem__(0, float("nan")), "whose per_frame.sse_v is not a list of 8"),
    (lambda r: r["measurement"].update(ms_ssim=["yuv"]), "whose measurement.ms_ssim is ['yuv'], not a list of y, rgb"),
    (lambda r: r.update(provenance=[]), "whose provenance is not a mapping"),
    (lambda r: r.pop("rate_point"), "without 'rate_point'"),
    (lambda r: r.pop("per_frame"), "without per_frame"),
])
def test_what_keeps_a_schema_1_record_from_migrating(folder: Path, edit: object, problem: str) -> None:
    _, old = _original(folder)
    assert v1_problem(old) is None
    edit(old)  # type: ignore[operator]
    assert (v1_problem(old) or "").startswith(problem)


def test_unknown_schema_and_unreadable_files_never_raise(folder: Path) -> None:
    path, old = _original(folder)
    newer = _beside(path, "22", {**old, "schema_version": 99})
    no_version = _beside(path, "27", {"a": 1})
    done = migrate_folder(ResultStore(folder))
    assert done.migrated == 1
    assert done.skipped == [
        f"{newer}: record schema 99 is unknown to this version of the suite (it writes 2); update the suite or move "
        "the folder aside",
        f"{no_version}: not a record (no schema_version); {AFTER}"]
