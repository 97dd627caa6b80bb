"""Bad and hostile input: each case one line naming the file, key, sequence or codec, a non-zero exit (or a
warning where the run can go on), nothing written outside the chosen folders, nothing half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.store import ResultStore

BASE = """
name: {name}
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
{codecs}
anchor: {anchor}
"""
X264 = "  - {descriptor: x264, params: {preset: ultrafast}, rate_points: [24, 30, 36, 42]}"
X265 = "  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [24, 30, 36, 42]}"


def _cond(tmp_path: Path, clip_dir: Path, name: str = "bi", codecs: str = X264 + "\n" + X265,
          anchor: str = "x265", file: str = "c.yaml") -> Path:
    path = tmp_path / file
    path.write_text(BASE.format(name=name, clips=clip_dir, codecs=codecs, anchor=anchor))
    return path


def _run(*args: str) -> int:
    return main([*args])


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, clip_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("finished")
    cond = _cond(root, clip_dir)
    assert main(["run", "--conditions", str(cond), "--results", str(root / "r"), "--reports", str(root / "p"),
                 "--no-progress"]) == 0
    return cond, root / "r"


def _copy(finished: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    cond, results = finished
    shutil.copytree(results, tmp_path / "r")
    return cond, tmp_path / "r"


def _one_line(err: str, *needles: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and all(n in lines[0] for n in needles), err


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no_status"])
def test_a_damaged_record_is_skipped_with_a_warning_and_recoded(finished: tuple[Path, Path], tmp_path: Path,
                                                                damage: str, capsys: pytest.CaptureFixture) -> None:
    cond, results = _copy(finished, tmp_path)
    record = sorted((results / "bi" / "records" / "x264" / "Pan").glob("*.json"))[0]
    if damage == "truncate":
        record.write_bytes(record.read_bytes()[:300])
    elif damage == "garbage":
        record = record.with_name("zz.json")
        record.write_text("garbage")
    else:
        data = json.loads(record.read_text())
        del data["status"]
        record.write_text(json.dumps(data))
    common = ["--results", str(results)]
    for argv in (["status", "--conditions", str(cond), *common], ["bd", str(results / "bi"), "--anchor", "x265",
                                                                   "--out", str(tmp_path / "bd")],
                 ["report", str(results / "bi"), "--out", str(tmp_path / "rep")]):
        assert main(argv) == 0, argv
        err = capsys.readouterr().err
        assert f"warning: {record}" in err and "skipped" in err
    assert main(["run", "--conditions", str(cond), *common, "--reports", str(tmp_path / "p"), "--no-progress",
                 "--strict"]) == 2
    _one_line(capsys.readouterr().err, str(record), "--strict: stopped")
    assert main(["run", "--conditions", str(cond), *common, "--reports", str(tmp_path / "p"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert ("1 coded" if damage != "garbage" else "0 coded") in out
    assert len(ResultStore(results / "bi").run_records()) == 8


def test_a_damaged_run_manifest_is_read_as_none(finished: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    cond, results = _copy(finished, tmp_path)
    manifest = results / "bi" / "run.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    assert main(["status", "--conditions", str(cond), "--results", str(results)]) == 0
    assert main(["report", str(results / "bi"), "--out", str(tmp_path / "rep")]) == 0
    assert f"warning: {manifest}" in capsys.readouterr().err


def test_anchor_only_and_empty_sets_say_why_there_is_no_bd_table(tmp_path: Path, clip_dir: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    cond = _cond(tmp_path, clip_dir, name="only", codecs=X264, anchor="x264")
    results = tmp_path / "r"
    assert main(["run", "--conditions", str(cond), "--results", str(results), "--reports", str(tmp_path / "p"),
                 "--no-progress"]) == 0
    assert "no BD tables: no codec besides the anchor x264 has a successful result" in capsys.readouterr().out
    assert "No BD tables: no codec besides the anchor x264" in (tmp_path / "p" / "only" / "index.html").read_text()
    assert main(["bd", str(results / "only"), "--anchor", "x264", "--out", str(tmp_path / "bd")]) == 2
    _one_line(capsys.readouterr().err, "no BD table: no codec besides the anchor x264")
    assert main(["bd", str(results / "only"), "--anchor", "x265", "--out", str(tmp_path / "bd")]) == 2
    _one_line(capsys.readouterr().err, "the anchor x265 has no successful result (codecs with results: x264)")
    (tmp_path / "empty" / "records").mkdir(parents=True)
    assert main(["bd", str(tmp_path / "empty"), "--anchor", "x264", "--out", str(tmp_path / "bd")]) == 2
    _one_line(capsys.readouterr().err, "no BD table: no results in")
    assert main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "rep")]) == 0
