"""Bad and hostile input: each case one line naming the file, key, sequence or codec, a non-zero exit (or a
warning where the run can go on), nothing written outside the chosen folders, nothing half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.cli import main
from bench.store.results import ResultStore

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


@pytest.mark.slow
@pytest.mark.integration
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


@pytest.mark.slow
@pytest.mark.integration
def test_a_damaged_run_manifest_is_read_as_none(finished: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    cond, results = _copy(finished, tmp_path)
    manifest = results / "bi" / "run.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    assert main(["status", "--conditions", str(cond), "--results", str(results)]) == 0
    assert main(["report", str(results / "bi"), "--out", str(tmp_path / "rep")]) == 0
    assert f"warning: {manifest}" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
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


def _validate_error(cond: Path, capsys: pytest.CaptureFixture) -> str:
    assert main(["validate", "--conditions", str(cond)]) == 2
    err = capsys.readouterr().err
    _one_line(err)
    return err


@pytest.mark.integration
@pytest.mark.parametrize(("edit", "message"), [
    (("name: bi", "name: ../escaped"), "name: '../escaped' may hold only letters"),
    (("name: bi", "name: /abs/dir"), "name: '/abs/dir' may hold only letters"),
    (("{name: Pan,", "{name: '../../../../pwned',"), "sequences[0].name: '../../../../pwned' may hold only"),
    (("{name: Pan,", "{name: '..',"), "sequences[0].name: '..' may hold only"),
    (("{name: Pan,", "{name: a/b,"), "sequences[0].name: 'a/b' may hold only"),
    (("intra_period: 4", "intra_period: 4\nintra_period: 32"), "key 'intra_period' is given twice"),
    (("name: bi", "name: bi\nx: &a [1, 1]\ny: [*a, *a]"), "aliases (*name) are not accepted"),
    (("name: bi", "name: bi\nextends: '.'"), "extends: '.' is not a file next to it"),
    (("params: {preset: ultrafast}, rate_points: [24", "params: [1, 2], rate_points: [24"),
     "codecs[0].params: expected a mapping of parameters, got a list"),
    (("group: A}", "group: A, format: gbrp}"), "sequence Pan (gbrp): codec x264: cannot code gbrp"),
])
def test_bad_conditions_are_one_line(tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture,
                                     edit: tuple[str, str], message: str) -> None:
    cond = _cond(tmp_path, clip_dir)
    cond.write_text(cond.read_text().replace(*edit, 1))
    assert message in _validate_error(cond, capsys)
    assert not (tmp_path / "escaped").exists() and not list(tmp_path.parent.glob("pwned*"))


@pytest.mark.integration
def test_files_that_are_not_conditions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    assert "not UTF-8 text" in _validate_error(latin, capsys)
    assert "is a folder; give a condition file" in _validate_error(tmp_path, capsys)


def test_null_parameters_mean_the_default(tmp_path: Path, clip_dir: Path) -> None:
    from bench.conditions.condition import load_condition

    cond = _cond(tmp_path, clip_dir)
    cond.write_text(cond.read_text().replace("params: {preset: ultrafast}", "params: {threads: null}", 1)
                    .replace("params: {preset: ultrafast}", "params: null", 1))
    x264, x265 = load_condition(cond).codecs
    assert x264.params_dict["threads"] == 1  # not "leave -threads out" (machine-dependent bitstreams)
    assert x265.params_dict["preset"] == "medium"  # params: null leaves the descriptor's own


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "message"), [
    ("fifo", "is not a regular file or a folder of PNG frames"),
    ("y4m_zero_rate", "Y4M header lacks a valid W, H or F field"),
    ("y4m_non_ascii", "Y4M header lacks a valid W, H or F field"),
    ("y4m_zero_size", "Y4M header lacks a valid W, H or F field"),
    ("png_not_png", "not a readable PNG file"),
    ("png_other_size", "differs from the first frame's"),
])
def test_bad_sequence_files_are_refused_before_coding(tmp_path: Path, clip_dir: Path, kind: str, message: str,
                                                      capsys: pytest.CaptureFixture) -> None:
    import os

    import numpy as np

    from bench.video.io import write_png_frame

    data = tmp_path / "data"
    data.mkdir()
    if kind == "fifo":
        os.mkfifo(data / "Seq.y4m")
        entry = "{name: Seq, file: Seq.y4m, group: A}"
    elif kind.startswith("y4m"):
        header = {"y4m_zero_rate": b"YUV4MPEG2 W96 H64 F30:0 C420jpeg\n",
                  "y4m_non_ascii": b"YUV4MPEG2 W96 H64 F30:1 C420jpeg X\xff\n",
                  "y4m_zero_size": b"YUV4MPEG2 W0 H0 F30:1 C420jpeg\n"}[kind]
        (data / "Seq.y4m").write_bytes(header)
        entry = "{name: Seq, file: Seq.y4m, group: A}"
    else:
        folder = data / "Seq"
        folder.mkdir()
        write_png_frame(folder / "00000.png", tuple(np.zeros((64, 96), np.uint8) for _ in range(3)))
        if kind == "png_not_png":
            (folder / "00001.png").write_text("not a png")
        else:
            write_png_frame(folder / "00001.png", tuple(np.zeros((32, 48), np.uint8) for _ in range(3)))
        entry = "{name: Seq, file: Seq, group: A, fps: 30}"
    cond = _cond(tmp_path, clip_dir)
    cond.write_text(cond.read_text().replace("{name: Pan, file: Pan_96x64_30.yuv, group: A}", entry)
                    .replace(f"data_root: {clip_dir}", f"data_root: {data}"))
    assert message in _validate_error(cond, capsys)


@pytest.mark.slow
@pytest.mark.integration
def test_output_options_naming_a_file(finished: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    cond, results = finished
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for argv in (["bd", str(results / "bi"), "--anchor", "x265", "--out", str(a_file)],
                 ["report", str(results / "bi"), "--out", str(a_file)],
                 ["run", "--conditions", str(cond), "--results", str(a_file), "--no-progress"]):
        assert main(argv) == 2
        _one_line(capsys.readouterr().err, str(a_file), "is a file; give a folder")


@pytest.mark.slow
@pytest.mark.integration
def test_a_full_disk_is_named_and_records_nothing(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    """ENOSPC while a job's files are written (here its logs, just before its record): one line naming the
    cause, exit 2, no record (so the next run codes the job), no temporary file."""
    import errno

    def full(self: ResultStore, path: Path, logs: dict) -> dict:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ResultStore, "write_logs", full)
    cond = _cond(tmp_path, clip_dir)
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
                 "--no-progress", "--jobs", "1"]) == 2
    _one_line(capsys.readouterr().err, "no space left on the device", "the next run codes it")
    assert not list((tmp_path / "r").rglob("records/*/*/*.json"))
    assert not list((tmp_path / "r").rglob("*.tmp"))
    monkeypatch.undo()
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
                 "--no-progress"]) == 0
    assert "8 coded" in capsys.readouterr().out


@pytest.mark.integration
def test_latex_and_csv_outputs_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """An imported codec named to inject a LaTeX command or a spreadsheet formula prints as text."""
    from bench.bd.tables import tex_text as _tex

    assert _tex(r"^^5cinput{/etc/passwd}") == r"\textasciicircum{}\textasciicircum{}5cinput\{/etc/passwd\}"
    assert _tex("a_b $x$ ~ 100% #1 & \\") == r"a\_b \$x\$ \textasciitilde{} 100\% \#1 \& \textbackslash{}"
    csv = tmp_path / "hostile.csv"
    import csv as csv_module

    with open(csv, "w", newline="") as f:
        writer = csv_module.writer(f)
        writer.writerow(["codec", "sequence", "rate_point", "bpp", "psnr_yuv_611"])
        for codec in ("anchor", "^^5cinput{x}", '=HYPERLINK("http://x")'):
            writer.writerows([codec, "s", i, 0.1 * i, 30 + 2 * i + (codec != "anchor")] for i in range(1, 5))
    assert main(["bd", str(csv), "--anchor", "anchor", "--out", str(tmp_path / "bd")]) == 0
    tex = next((tmp_path / "bd").glob("*.tex")).read_text()
    assert "\\textasciicircum{}\\textasciicircum{}5cinput\\{x\\}" in tex and "^^5c" not in tex
    per_seq = next((tmp_path / "bd").glob("*per_sequence.csv")).read_text()
    assert "'=HYPERLINK" in per_seq and "\n=HYPERLINK" not in per_seq and ",=HYPERLINK" not in per_seq


@pytest.mark.integration
def test_an_imported_nan_or_a_wrong_kind_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    entry = {"ave_all_frame_bpp": 0.1, "i_frame_num": 1, "p_frame_num": 3, "ave_all_frame_psnr": float("nan")}
    path = tmp_path / "fm.json"
    path.write_text(json.dumps({"B": {"BQTerrace_1920x1080_60": {"000": entry}}}))  # json writes NaN
    assert main(["bd", str(path), "--anchor", "fm", "--out", str(tmp_path / "bd")]) == 2
    _one_line(capsys.readouterr().err, str(path), "metric psnr_rgb is nan, not a finite number")
    for doc, needle in (({"results": {"bpp": 3}}, "fm.json: results.bpp: expected a list of values"),
                        ([{"video": "v", "quality": [1], "bpp": 0.1, "psnr": 30}],
                         "fm.json: entry 0.quality: expected the quality index (a finite number), got [1]")):
        path.write_text(json.dumps(doc))
        assert main(["bd", str(path), "--anchor", "fm", "--out", str(tmp_path / "bd")]) == 2
        _one_line(capsys.readouterr().err, needle)


@pytest.mark.integration
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import time

    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]"
                                                   for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nname: x\n")
    t0 = time.perf_counter()
    assert main(["validate", "--conditions", str(bomb)]) == 2
    assert time.perf_counter() - t0 < 5
    _one_line(capsys.readouterr().err, "aliases (*name) are not accepted")


@pytest.mark.slow
@pytest.mark.integration
def test_a_finished_run_reruns_on_a_read_only_results_folder(finished: tuple[Path, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture) -> None:
    """Writing anything under the results folder fails as on a read-only file system (root ignores chmod, so
    the file system's refusal is simulated where files are created); a rerun with nothing to do still rebuilds
    its tables and report, because it writes nothing there."""
    import errno
    import os
    import tempfile

    cond, results = _copy(finished, tmp_path)
    real_mkstemp, real_mkdir = tempfile.mkstemp, os.mkdir

    def read_only(*args: object, dir: str | None = None, **kw: object) -> tuple[int, str]:  # noqa: A002
        if dir is not None and str(dir).startswith(str(results)):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real_mkstemp(*args, dir=dir, **kw)  # type: ignore[arg-type]

    def no_mkdir(path: object, *args: object, **kw: object) -> None:
        if str(path).startswith(str(results)):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        real_mkdir(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(os, "mkdir", no_mkdir)
    assert main(["run", "--conditions", str(cond), "--results", str(results), "--reports", str(tmp_path / "p"),
                 "--no-progress"]) == 0, capsys.readouterr().err
    assert (tmp_path / "p" / "bi" / "index.html").is_file()
    # A run with something to code says the folder is read-only, in one line, and records nothing.
    cond.write_text(cond.read_text().replace("[24, 30, 36, 42]", "[24, 30, 36, 42, 48]", 1))
    assert main(["run", "--conditions", str(cond), "--results", str(results), "--reports", str(tmp_path / "p"),
                 "--no-progress"]) == 2
    _one_line(capsys.readouterr().err, "read-only file system")


@pytest.mark.slow
@pytest.mark.integration
def test_two_runs_keep_their_codecs_apart(tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """Two runs of different frame counts with the same codec names: never pooled; BD across the conditions is
    refused unless asked for, and then every cell says which condition fields differ."""
    results = tmp_path / "r"
    for name, frames in (("long", 8), ("short", 4)):
        cond = _cond(tmp_path, clip_dir, name=name, file=f"{name}.yaml")
        cond.write_text(cond.read_text().replace("count: 4}", f"count: {frames}}}"))
        assert main(["run", "--conditions", str(cond), "--results", str(results), "--reports", str(tmp_path / "p"),
                     "--no-progress"]) == 0
    capsys.readouterr()
    bd = ["bd", str(results / "long"), str(results / "short"), "--anchor", "long:x265", "--out", str(tmp_path / "bd")]
    assert main(bd) == 2
    _one_line(capsys.readouterr().err, "sources coded under another condition than the anchor long:x265's "
                                       "(short: frames.count)", "--allow-condition-mismatch")
    assert main([*bd, "--allow-condition-mismatch"]) == 0
    out = capsys.readouterr().out
    assert "short:x265" in out and "short:x264" in out and "long:x264" in out
    assert "(condition differs: frames.count)" in out
    per_seq = next((tmp_path / "bd").glob("*per_sequence.csv")).read_text()
    assert "short:x265" in per_seq and "frames.count" in per_seq
    same = ["bd", f"one={results / 'short'}", f"two={results / 'short'}", "--anchor", "one:x265", "--out",
            str(tmp_path / "bd2")]
    assert main(same) == 0  # the same condition twice: no flag; the two copies of x265 stay apart
    out = capsys.readouterr().out
    assert "two:x265" in out and "+0.00" in out and "condition differs" not in out


@pytest.mark.slow
@pytest.mark.integration
def test_report_takes_the_bd_options_bd_takes(finished: tuple[Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    _, results = finished
    out = tmp_path / "rep"
    assert main(["report", str(results / "bi"), "--anchor", "x265", "--out", str(out), "--metric", "psnr_y",
                 "--min-overlap", "0.9"]) == 0
    html = (out / "index.html").read_text()
    assert html.count("<h4>BD-rate on ") == 2  # one metric, its two conventions
    assert "<h4>BD-rate on PSNR-Y: per-sequence mean (JVET)" in html
    assert "<h4>BD-rate on PSNR-Y: averaged curve (DCVC)" in html
    assert "low overlap below 90%" in html and "low overlap below 50%" not in html
    assert main(["report", str(results / "bi"), "--anchor", "x265", "--out", str(out), "--metric", "vmaf"]) == 2
    _one_line(capsys.readouterr().err, "--metric vmaf: no result has it")
