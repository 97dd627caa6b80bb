"""Imports are bounded and honest: every file is read whole only up to a stated limit, FIFOs, devices and link
loops are refused before anything opens them, a point given twice is refused naming both places, a non-finite
rate point is refused, and every reader's refusal says where in the file (line and column, or key path) and
what was expected there, in one line with no Python exception name. With the command-line messages that name
the file or folder and what to do (a folder named like a video file, a symbolic link loop, ``--min-overlap
nan``, ``import --out`` into a run's results folder).

The files are written here as their producers write them (a DHVC q*.json is Python's ``json.dump`` output, NaN
included; a DCVC JSON a ``json.dump`` of nested dicts; a CSV the ``csv`` module's), each damaged in one place,
so that the message must point at that place and nowhere else."""

from __future__ import annotations

import csv
import gc
import json
import os
import re
import threading
import tracemalloc
from pathlib import Path

import pytest

from bench.bd.importers import (
    DEFAULT_LIMIT_MB,
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_POINTS,
    FRAMES_ENV,
    LIMIT_ENV,
    POINTS_ENV,
    ImportError_,
    import_file,
    import_sources,
)
from bench.cli import main
from bench.errors import BenchError

PYTHON_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback")
CSV_HEAD = "codec,sequence,rate_point,bpp,psnr_y\n"


def _error(args: list[str], capsys: pytest.CaptureFixture) -> str:
    """The one line a refused command prints (exit 2), checked to hold no Python exception name."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not PYTHON_NAME.search(err), err
    return err


# --- duplicate points ------------------------------------------------------------------------------------------

def test_a_point_given_twice_in_a_csv_names_both_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [f"c,BQTerrace,{q},0.{q},3{q}\n" for q in range(1, 9)] + ["c,BQTerrace,3,0.9,39\n"]
    path = tmp_path / "dup.csv"
    path.write_text(CSV_HEAD + "".join(rows))
    err = _error(["import", str(path), "--out", str(tmp_path / "o")], capsys)
    assert err == f"error: {path}: lines 4 and 10 both give c / BQTerrace / rate point 3; keep one of them"
    assert not (tmp_path / "o" / "records").exists()  # nothing written: no later row replaced an earlier one
    # Two spellings of one sequence (the file stem and our manifest's name) are one point.
    path.write_text(CSV_HEAD + "c,BQTerrace,1,0.1,31\nc,BQTerrace_1920x1080_60,1,0.2,32\n")
    with pytest.raises(ImportError_, match=r"lines 2 and 3 both give c / BQTerrace / rate point 1"):
        import_file(path)
    # A NAME= makes every row one curve: the hint says so.
    path.write_text(CSV_HEAD + "a,S,1,0.1,31\nb,S,1,0.2,32\n")
    with pytest.raises(ImportError_, match=r"lines 2 and 3 both give N / S / rate point 1 \(NAME=N names every"):
        import_file(path, "N")


def test_a_point_given_twice_in_a_dhvc_log_or_a_json_names_where(tmp_path: Path) -> None:
    log = tmp_path / "out.txt"
    run = "frame: 0 bpp: 0.1 psnr: 30.0\nq=1, seq_len=1, frame_dir.stem=Beauty, bpp=0.1, psnr=30.0\n"
    log.write_text(run + "noise\n" + run)
    with pytest.raises(ImportError_, match=r"out.txt: lines 2 and 5 both close sequence Beauty at q=1"):
        import_file(log)
    # A JSON object with a key twice: json.loads would keep the last silently (one point lost).
    entry = '{"i_frame_num": 1, "p_frame_num": 0, "ave_all_frame_bpp": 0.1, "ave_all_frame_psnr": 30}'
    dcvc = tmp_path / "fm.json"
    dcvc.write_text(f'{{"HEVC_B": {{"BQTerrace": {{"000": {entry}, "000": {entry}}}}}}}')
    with pytest.raises(ImportError_, match=r"fm.json: key '000' is given twice in one object"):
        import_file(dcvc)


# --- size, FIFOs, devices, link loops ----------------------------------------------------------------------------

@pytest.mark.integration
def test_files_beyond_the_limit_are_refused_and_the_limit_is_stated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "big.csv"
    path.write_text(CSV_HEAD + "".join(f"c,S,{q},0.{q},3{q}\n" for q in range(1, 10)) + "#" * 2000 + "\n")
    monkeypatch.setenv(LIMIT_ENV, "0.001")  # 1000 bytes
    err = _error(["import", str(path), "--out", str(tmp_path / "o")], capsys)
    assert f"{path}: larger than 0.001 MB, the import limit" in err and f"set {LIMIT_ENV}" in err
    monkeypatch.setenv(LIMIT_ENV, "1")  # raised, it is read (the 2000-byte line is a field no column holds)
    with pytest.raises(ImportError_, match=r"big.csv: line 11: 1 fields, but the header has 5"):
        import_file(path)
    monkeypatch.setenv(LIMIT_ENV, "lots")
    with pytest.raises(BenchError, match=rf"{LIMIT_ENV}='lots': expected a size in MB"):
        import_file(path)
    monkeypatch.delenv(LIMIT_ENV)
    # The help states the default the code applies.
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"up to {DEFAULT_LIMIT_MB} MB" in help_text and LIMIT_ENV in help_text


# --- points and frames: counted as a file is read --------------------------------------------------------------

def _limit_message(where: str, count: int, what: str, env: str) -> str:
    return (f"{where}: more than {count:,} {what} in one file, the import limit (no producer's result file is near "
            f"it): not a result file? set {env} to a larger number to read it")


def test_a_csv_beyond_the_point_limit_is_refused_at_the_line_that_crosses_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "many.csv"
    rows = [f"c,S,{q},0.{q},3{q}\n" for q in range(1, 9)]
    # A blank line 4: the sixth point is on line 8 of the file (its sixth row would say line 7).
    path.write_text(CSV_HEAD + "".join(rows[:2]) + "\n" + "".join(rows[2:]))
    monkeypatch.setenv(POINTS_ENV, "5")
    err = _error(["import", str(path), "--out", str(tmp_path / "o")], capsys)
    assert err == "error: " + _limit_message(f"{path}: line 8", 5, "RD points", POINTS_ENV)
    assert not (tmp_path / "o" / "records").exists()
    monkeypatch.setenv(POINTS_ENV, "8")  # exactly at the limit: every point, as written
    assert [(r["rate_point"], r["rate"]["bpp"]) for r in import_file(path)] == \
        [(str(q), float(f"0.{q}")) for q in range(1, 9)]
    monkeypatch.delenv(POINTS_ENV)  # the default, far above a paper's file
    assert len(import_file(path)) == 8


def test_the_point_limit_stops_reading_before_the_rest_of_the_file_costs_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """200,000 rows under the size limit: refused having built the 1,000 points up to the limit (tracemalloc's
    peak), not after building all of them (515 MB of records measured so, the memory the limit is there to spare)."""
    path = tmp_path / "huge.csv"
    path.write_text(CSV_HEAD + "".join(f"c,S,{q},0.5,30\n" for q in range(200_000)))
    monkeypatch.setenv(POINTS_ENV, "1000")
    monkeypatch.setenv(LIMIT_ENV, "4")  # the file is read into a buffer of the size limit: 4 MB, not 64
    tracemalloc.start()
    try:
        with pytest.raises(ImportError_) as caught:
            import_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == _limit_message(f"{path}: line 1002", 1000, "RD points", POINTS_ENV)
    assert peak < 30e6, f"{peak / 1e6:.0f} MB for a {path.stat().st_size / 1e6:.1f} MB file"


ENTRY = {"i_frame_num": 1, "p_frame_num": 2, "ave_all_frame_bpp": 0.1, "ave_all_frame_psnr": 30}


@pytest.mark.parametrize(("name", "content", "where"), [
    ("fm.json", json.dumps({"B": {"BQTerrace": {k: ENTRY for k in ("000", "001", "002")}}}), "B.BQTerrace.002"),
    ("ssf.json", '{"results": {"bpp": [0.1, 0.2, 0.3], "psnr-rgb": [30, 32, 34]}}', "results.bpp"),
    # A DHVC q*.json repeats a point on every rerun (the last one wins): entry 2 repeats entry 0, entry 3 is the third.
    ("q1.json", "[" + ", ".join(f'{{"video": "Beauty", "quality": {q}, "bpp": 0.1, "psnr": 30}}' for q in (1, 2, 1, 3))
     + "]", "entry 3"),
    ("out.txt", "".join(f"frame: 0 bpp: 0.1 psnr: 30\nq={q}, frame_dir.stem=Beauty, bpp=0.1, psnr=30\n"
                        for q in (1, 2, 3)), "line 6"),
])
def test_every_reader_counts_points_against_the_limit(name: str, content: str, where: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert len(import_file(path)) == 3
    monkeypatch.setenv(POINTS_ENV, "2")
    with pytest.raises(ImportError_) as caught:
        import_file(path)
    assert str(caught.value) == _limit_message(f"{path}: {where}", 2, "RD points", POINTS_ENV)


def test_per_frame_values_are_counted_against_their_own_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "out.txt"
    log.write_text("".join(f"frame: 0 bpp: 0.1 psnr: 30\nframe: 1 bpp: 0.2 psnr: 31\n"
                           f"q={q}, frame_dir.stem=Beauty, bpp=0.15, psnr=30.5\n" for q in (1, 2)))
    monkeypatch.setenv(FRAMES_ENV, "3")  # the fourth frame line is line 5
    with pytest.raises(ImportError_) as caught:
        import_file(log)
    assert str(caught.value) == _limit_message(f"{log}: line 5", 3, "frames of per-frame values", FRAMES_ENV)
    monkeypatch.setenv(FRAMES_ENV, "4")
    assert [r["per_frame"]["psnr_rgb"] for r in import_file(log)] == [[30.0, 31.0], [30.0, 31.0]]
    # DCVC: a point's frames are its longest per-frame list (frame_psnr here), counted before any is converted.
    lists = {"frame_bpp": [0.1, 0.1, 0.1], "frame_type": [0, 1, 1], "frame_psnr": [30, 30, 30]}
    longer = {**lists, "frame_psnr": [30, 30, 30, 30]}
    dcvc = tmp_path / "fm.json"
    dcvc.write_text(json.dumps({"B": {"BQTerrace": {"000": {**ENTRY, **lists}, "001": {**ENTRY, **longer}}}}))
    monkeypatch.setenv(FRAMES_ENV, "6")  # 3 + 4 frames: over (counting frame_bpp alone would make it 6)
    with pytest.raises(ImportError_) as caught:
        import_file(dcvc)
    assert str(caught.value) == _limit_message(f"{dcvc}: B.BQTerrace.001", 6, "frames of per-frame values",
                                               FRAMES_ENV)
    monkeypatch.setenv(FRAMES_ENV, "7")
    assert [len(r["per_frame"]["psnr_rgb"]) for r in import_file(dcvc)] == [3, 4]


@pytest.mark.parametrize("env", [POINTS_ENV, FRAMES_ENV])
@pytest.mark.parametrize("value", ["0", "-5", "1.5", "lots"])
def test_a_limit_that_is_no_count_is_named(env: str, value: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.csv"
    path.write_text(CSV_HEAD + "c,S,1,0.1,30\n")
    monkeypatch.setenv(env, value)
    default = DEFAULT_MAX_POINTS if env == POINTS_ENV else DEFAULT_MAX_FRAMES
    with pytest.raises(ImportError_) as caught:
        import_file(path)
    assert str(caught.value) == (f"{env}={value!r}: expected a whole number of at least 1 (default {default:,}), "
                                 f"e.g. {default * 10}")


@pytest.mark.integration
def test_the_help_states_every_import_limit(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for stated in (f"up to {DEFAULT_LIMIT_MB} MB", f"{DEFAULT_MAX_POINTS:,} RD points",
                   f"{DEFAULT_MAX_FRAMES:,} frames of per-frame values", LIMIT_ENV, POINTS_ENV, FRAMES_ENV):
        assert stated in help_text, stated


def test_the_cycle_collector_is_left_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading pauses the cycle collector (records hold no cycles); it is on again after a read and after a
    refusal, and left off where the caller had turned it off."""
    path = tmp_path / "p.csv"
    path.write_text(CSV_HEAD + "c,S,1,0.1,30\nc,S,2,0.2,32\n")
    assert gc.isenabled()
    import_sources([(None, path)])
    assert gc.isenabled()
    monkeypatch.setenv(POINTS_ENV, "1")
    with pytest.raises(ImportError_):
        import_sources([(None, path)])
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(ImportError_):
            import_file(path)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_csv_lines_are_split_as_the_csv_module_splits_an_open_file(tmp_path: Path) -> None:
    r"""Rows are read from slices of the text (no copy of it): \r\n, \r and \n endings and a quoted field over
    two lines give the line numbers the csv module gives reading the file as its documentation says (open with
    newline='')."""
    path = tmp_path / "ends.csv"
    path.write_bytes(b'codec,sequence,rate_point,bpp,psnr_y\r\nc,"S\r\nT",1,0.1,30\rc,S,2,0.2,32\nc,S,3,0.3\r\n')
    with path.open(newline="") as f:
        reader = csv.reader(f)
        rows = list(reader)
        bad_line = reader.line_num
    assert len(rows[-1]) == 4 and bad_line == 5
    with pytest.raises(ImportError_, match=rf"ends.csv: line {bad_line}: 4 fields, but the header has 5"):
        import_file(path)
    path.write_bytes(path.read_bytes().replace(b"0.3\r\n", b"0.3,34\r\n"))
    assert [(r["sequence"]["name"], r["rate_point"]) for r in import_file(path)] == \
        [(row[1], row[2]) for row in rows[1:]]


def test_a_field_longer_than_the_csv_reader_takes_is_named(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(CSV_HEAD + "c,S,1,0.1," + "9" * 200_000 + "\n")  # under the size limit, over csv's field limit
    with pytest.raises(ImportError_, match=r"long.csv: line 2: a field longer than 131,072 characters"):
        import_file(path)


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(ImportError_, import_file, fifo).value))
    reader.start()
    reader.join(10)
    if reader.is_alive():  # it opened the FIFO and hangs: unblock it, then fail
        with open(fifo, "w"):
            pass
        reader.join()
        pytest.fail("import opened a FIFO and waited for a writer")
    assert str(outcome[0]) == f"{fifo}: a FIFO (named pipe), not a regular file; give a result file"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_at_once(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    err = _error(["import", "/dev/zero", "--out", str(tmp_path / "o")], capsys)
    assert err == "error: /dev/zero: a character device, not a regular file; give a result file"


def test_a_symbolic_link_loop_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    loop = "a symbolic link loop (following its links leads back to one of them); fix or remove the link"
    assert _error(["import", str(tmp_path / "a.csv"), "--out", str(tmp_path / "o")], capsys) == \
        f"error: {tmp_path / 'a.csv'}: {loop}"
    assert _error(["validate", "--conditions", str(tmp_path / "a.csv")], capsys) == \
        f"error: {tmp_path / 'a.csv'}: {loop}"
    data = tmp_path / "data"
    data.mkdir()
    (data / "L_96x64_30.yuv").symlink_to(data / "L_96x64_30.yuv")
    cond = tmp_path / "c.yaml"
    cond.write_text(f"name: c\nsequences: [{{name: L, file: L_96x64_30.yuv}}]\ndata_root: {data}\ncodecs: [x264]\n")
    assert _error(["validate", "--conditions", str(cond)], capsys) == \
        f"error: sequence L: {data / 'L_96x64_30.yuv'}: {loop}"


def test_a_folder_named_like_a_video_file_is_named_as_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "data" / "D_416x240_30.yuv").mkdir(parents=True)
    cond = tmp_path / "c.yaml"
    cond.write_text(f"name: c\nsequences: [{{name: D, file: D_416x240_30.yuv}}]\ndata_root: {tmp_path / 'data'}\n"
                    "codecs: [x264]\n")
    assert _error(["validate", "--conditions", str(cond)], capsys) == (
        f"error: sequence D: {tmp_path / 'data' / 'D_416x240_30.yuv'} is a folder, not a .yuv file; give the video "
        "file itself (a folder is read as PNG frames)")


# --- non-finite values, readers' refusals ---------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "message"), [
    # DHVC's q*.json as json.dump writes a NaN quality (the store raised a traceback; report showed 'nan')
    ("q1.json", '[{"video": "Beauty", "quality": NaN, "bpp": 0.1, "psnr": 30.0}]',
     r"q1.json: entry 0.quality: expected the quality index \(a finite number\), got nan"),
    ("q1.json", '[{"video": "Beauty", "quality": 1, "bpp": "0.1x", "psnr": 30.0}]',
     r"q1.json: entry 0.bpp: expected a number, got '0.1x'"),
    ("q1.json", '[{"video": ["Beauty"], "quality": 1, "bpp": 0.1, "psnr": 30.0}]',
     r"q1.json: entry 0.video: expected the sequence's folder or name, got \['Beauty'\]"),
    ("p.csv", CSV_HEAD + "c,S,NaN,0.1,30\n", r"p.csv: c / S / NaN: the rate point is 'NaN', not a finite number"),
    ("p.csv", CSV_HEAD + "c,S,1,-0.1,30\n", r"p.csv: c / S / 1: bpp is -0.1, not positive"),
    ("p.csv", CSV_HEAD + "c,S,1,,30\n", r"p.csv: c / S / 1: neither bpp nor kbps"),
    ("p.csv", CSV_HEAD + "c,S,1\n", r"p.csv: line 2: 3 fields, but the header has 5"),
    ("p.csv", CSV_HEAD + "c,S,1,0.1,30,extra\n", r"p.csv: line 2: 6 fields, but the header has 5"),
    ("p.csv", CSV_HEAD + '"c,S,1,0.1,30\n', r"p.csv: line 2: a quoted field is never closed"),
    ("p.csv", CSV_HEAD + "c,,1,0.1,30\n", r"p.csv: line 2: column sequence is empty"),
    ("p.csv", "codec,sequence,rate_point,bpp,bpp\nc,S,1,0.1,0.2\n", r"p.csv: line 1: column 'bpp' is given twice"),
    ("p.csv", "codec,sequence,rate_point,bpp,frames\nc,S,1,0.1,2.5\n", r"p.csv: line 2, column frames: '2.5' is not a "
     "whole number"),
    ("p.csv", "codec,sequence,rate_point,kbps,fps\nc,S,1,100,-30\n", r"p.csv: line 2, column fps: '-30' is not a "
     "positive number"),
    ("ssf.json", '{"results": {"bpp": [0.1], "psnr-rgb": [{"a": 1}]}}',
     r"ssf.json: results.psnr-rgb\[0\]: expected a number, got \{'a': 1\}"),
    ("ssf.json", '{"results": {"bpp": 3, "psnr-rgb": [30]}}', r"ssf.json: results.bpp: expected a list of values"),
    ("ssf.json", '{"name": 3, "results": {"bpp": [0.1], "psnr-rgb": [30]}}', r"ssf.json: name: expected text, got 3"),
    ("ssf.json", '{"results": {"bpp": [0.1], "psnr-rgb": [30]}, "meta": [1]}',
     r"ssf.json: meta: expected a mapping \(CompressAI's meta block\), got \[1\]"),
    ("ssf.json", '{"results": {"bpp": [0.1], "ms-ssim-db-rgb": [-20]}}',
     r"ssf.json: results.ms-ssim-db-rgb\[0\]: -20.0 is not an MS-SSIM in dB"),
    ("fm.json", '{"B": {"BQTerrace": {"0": {"ave_all_frame_bpp": 0.1, "i_frame_num": 1, "p_frame_num": 1, '
     '"ave_all_frame_psnr": 30, "frame_bpp": [0.1, "x"]}}}}', r"fm.json: B.BQTerrace.0.frame_bpp\[1\]: expected a "
     "number, got 'x'"),
    ("fm.json", '{"B": {"BQTerrace": {"0": {"ave_all_frame_bpp": 0.1, "i_frame_num": 1.5, "p_frame_num": 1, '
     '"ave_all_frame_psnr": 30}}}}', r"fm.json: B.BQTerrace.0.i_frame_num: expected a whole number of at least 0"),
    ("fm.json", '{"B": {"BQTerrace": {"0": {"ave_all_frame_bpp": 0.1, "i_frame_num": 1, "p_frame_num": 1, '
     '"ave_all_frame_psnr": 30, "avg_frame_encoding_time": "x"}}}}',
     r"fm.json: B.BQTerrace.0.avg_frame_encoding_time: expected a number, got 'x'"),
    ("fm.json", '{"B": {"Bad\\nName": 1}}', r"fm.json: B.'Bad\\nName': expected a mapping of rate keys"),
    ("out.txt", "frame: 0 bpp: 1-2 psnr: 30\n", r"out.txt: line 1: bpp: '1-2' is not a number"),
    ("Seq_qp32.log", "Total Frames |  Bitrate     Y-PSNR\n      0    a   512.5   35.1\n",
     r"Seq_qp32.log: the 'Total Frames' summary counts 0 frames"),
    ("p.json", '{"B": ' + "[" * 100_000 + "]" * 100_000 + "}", r"p.json: JSON nested too deeply"),
    ("p.json", "[" + "9" * 5000 + "]", r"p.json: a number of thousands of digits"),
    ("p.csv", b"\xff\xfe codec", r"p.csv: not UTF-8 text \(byte 0 cannot be read\)"),
])
def test_a_readers_refusal_says_where_and_what_was_expected(tmp_path: Path, name: str, content: str | bytes,
                                                             message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ImportError_, match=message) as caught:
        import_file(path)
    text = str(caught.value)
    assert "\n" not in text and not PYTHON_NAME.search(text) and len(text) < 400, text


def test_a_spreadsheets_byte_order_mark_is_no_column_name(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeff".encode() + (CSV_HEAD + "c,S,1,0.1,30\nc,S,2,0.2,32\n").encode())
    records = import_file(path)
    assert [(r["codec"]["name"], r["rate_point"], r["rate"]["bpp"], r["metrics"]["psnr_y"]) for r in records] == \
        [("c", "1", 0.1, 30.0), ("c", "2", 0.2, 32.0)]


def test_what_a_producer_reported_beside_its_numbers_stays_json(tmp_path: Path) -> None:
    """A NaN in a key no metric is read from (DCVC's own extra numbers) is kept as its text, so the record is
    strict JSON as the store writes it."""
    path = tmp_path / "fm.json"
    path.write_text('{"B": {"BQTerrace": {"0": {"ave_all_frame_bpp": 0.1, "i_frame_num": 1, "p_frame_num": 1, '
                    '"ave_all_frame_psnr": 30, "lambda": NaN}}}}')
    [record] = import_file(path)
    assert record["codec_reported"]["lambda"] == "nan"
    json.dumps(record, allow_nan=False)


# --- command-line options and folders --------------------------------------------------------------------------

@pytest.mark.integration
def test_import_refuses_a_runs_results_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "results" / "demo"
    (run / "records").mkdir(parents=True)
    (run / "run.json").write_text('{"keys": []}')
    points = tmp_path / "pts.csv"
    points.write_text(CSV_HEAD + "c,A,1,0.1,30\n")
    err = _error(["import", str(points), "--out", str(run)], capsys)
    assert err.startswith(f"error: --out {run}: a run's results folder (run.json in it)")
    assert f"--out {tmp_path / 'results' / 'demo-imported'}" in err
    assert not any((run / "records").iterdir())
    # A folder an import wrote is imported into again (the same points, the same files).
    out = tmp_path / "imported"
    assert main(["import", str(points), "--out", str(out)]) == 0
    assert main(["import", str(points), "--out", str(out)]) == 0
    assert len(list((out / "records").rglob("*.json"))) == 1


@pytest.mark.integration
@pytest.mark.parametrize("value", ["nan", "inf", "-0.1", "1.5", "half"])
def test_min_overlap_must_be_a_fraction(value: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bd", str(tmp_path), "--anchor", "x", "--min-overlap", value])
    assert caught.value.code == 2
    assert f"argument --min-overlap: '{value}': give a fraction from 0 to 1" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-30"])
def test_import_fps_must_be_a_positive_number(value: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["import", str(tmp_path), "--out", str(tmp_path / "o"), "--size", "416x240", "--fps", value])
    assert f"argument --fps: '{value}': give a positive number" in capsys.readouterr().err


def test_a_fifo_in_an_imported_folder_is_not_opened(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.csv")
    (folder / "a.csv").write_text(CSV_HEAD + "c,S,1,0.1,30\n")
    assert [r["rate_point"] for r in import_sources([(None, folder)]).records] == ["1"]
