"""Property-based tests (hypothesis): the condition loader and every importer (CSV, DCVC and CompressAI JSON, DHVC
q*.json and stdout, VTM/HM/ECM logs), given any document built from the keys and shapes they accept (and wrong
values, wrong kinds of keys and broken syntax in every place), either succeed or raise the suite's one-line error
(a :class:`BenchError` whose message names the file and what was expected, with no Python exception name in
it); never another exception. Records they accept must be writable as the store writes them (strict JSON).

The budget is fixed (``derandomize``: the same examples on every run) so that CI takes the same time each time;
``LVCBENCH_FUZZ_EXAMPLES`` raises it per test. The module prints how many examples ran and how long they took.
The crash classes found by fuzzing from the command line are kept as explicit regression cases at the end."""

from __future__ import annotations

import csv
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bd.importers import UNFORESEEN, import_file, import_sources
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import BenchError
from bench.report.tables import frames_frame, summary_frame

EXAMPLES = int(os.environ.get("LVCBENCH_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
RAN = {"examples": 0, "seconds": 0.0}


@pytest.fixture(scope="module", autouse=True)
def _report_budget(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the examples run and their time (the CI log's record of the fuzz budget)."""
    start = time.perf_counter()
    yield
    line = (f"fuzz: {RAN['examples']} examples ({EXAMPLES} per test, LVCBENCH_FUZZ_EXAMPLES) in "
            f"{time.perf_counter() - start:.1f} s")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{line}")


# Any exception name of Python's (TypeError, JSONDecodeError, UnicodeDecodeError ...): never in a message.
PYTHON_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback")


def _said_well(error: BenchError) -> None:
    """A refusal as a user sees it: one line, no Python exception name, not the importer's last-resort message
    (every reader names what it expected where), and short (a broken file's 'value' is cut, not printed)."""
    message = str(error)
    assert "\n" not in message.strip(), message
    # The one place a Python name belongs: a user's own adapter module (package.module:Class) failing to import.
    users_module = re.search(r"adapter '[^']*:[^']*': (cannot import|importing)", message)
    assert users_module or not PYTHON_NAME.search(message), message
    assert UNFORESEEN not in message, message
    assert len(message) < 600, message[:600]


def _counted() -> None:
    RAN["examples"] += 1


# --- the condition loader ------------------------------------------------------------------------------------

# Keys of every kind YAML gives (text, numbers, booleans, null): {0: 1, x: 2} crashed the loader once.
key = st.one_of(st.text(max_size=8), st.integers(-3, 3), st.booleans(), st.none())
leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=12), st.sampled_from(["x264", "x265", "demo", "yuv420p", "auto", "-1", "..", "a/b"]))
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(key, inner, max_size=4)),
                     max_leaves=12)

CONDITION_KEYS = ["name", "description", "dataset", "sequences", "data_root", "frames", "intra_period", "colour",
                  "spatial", "metrics", "codecs", "anchor", "extends", "timing"]
SECTION_KEYS = {"frames": ["first", "count"], "colour": ["source_format", "coding_format", "matrix", "range",
                                                         "chroma_upsampling"],
                "spatial": ["mode", "multiple", "pad", "crop_anchor"],
                "metrics": ["pooling", "psnr_peak", "ms_ssim", "vmaf", "xpsnr", "device"]}
params = st.one_of(value, st.dictionaries(st.one_of(key, st.sampled_from(["preset", "crf", "threads", "extra_args"])),
                                          value, min_size=1, max_size=4))
codec_entry = st.one_of(
    st.sampled_from(["x264", "x265", "nosuch"]),
    st.fixed_dictionaries({}, optional={"descriptor": st.sampled_from(["x264", "x265", "dcvc-fm"]),
                                        "name": st.one_of(st.sampled_from(["c1", "c2"]), value),
                                        "adapter": st.sampled_from(["x264", "command", "a:b", "?"]),
                                        "params": params, "rate_points": value, "keep_decoded": value}),
    # an inline codec that passes its name and adapter, so that its params are read
    st.fixed_dictionaries({"name": st.just("c3"), "adapter": st.sampled_from(["x264", "python-model"]),
                           "params": params, "rate_points": st.one_of(st.just([22]), value)}))
KEY_STRATEGIES = {
    **{k: value for k in CONDITION_KEYS},
    **{k: st.one_of(value, st.fixed_dictionaries({}, optional={sk: value for sk in keys}))
       for k, keys in SECTION_KEYS.items()},
    "codecs": st.one_of(value, st.lists(codec_entry, max_size=3)),
    "sequences": st.one_of(value, st.lists(st.fixed_dictionaries(
        {"name": value, "file": value}, optional={"group": value, "format": value, "fps": value}), max_size=2)),
}
fuzzed = st.fixed_dictionaries({}, optional=KEY_STRATEGIES)
one_key = st.sampled_from(sorted(KEY_STRATEGIES)).flatmap(lambda k: st.fixed_dictionaries({k: KEY_STRATEGIES[k]}))
# A condition that loads (the demo set), some of its keys dropped and some replaced by fuzzed ones: a document
# must pass name, dataset and sequences before its codecs and their params are read.
VALID = {"name": "f", "dataset": "demo", "frames": {"first": 0, "count": 2}, "codecs": ["x264"]}
condition = st.one_of(fuzzed, st.builds(lambda drop, over: {**{k: v for k, v in VALID.items() if k not in drop}, **over},
                                        st.sets(st.sampled_from(sorted(VALID)), max_size=1), st.one_of(one_key, fuzzed)),
                      st.builds(lambda codecs: {**VALID, "codecs": codecs}, st.lists(codec_entry, min_size=1, max_size=3)))


def _loads(path: Path) -> None:
    try:
        load_condition(path)
    except BenchError as e:
        _said_well(e)


@pytest.mark.slow
@FUZZ
@given(doc=condition)
def test_condition_loader_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    path = tmp_path_factory.mktemp("cond") / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))  # mixed keys cannot be sorted
    _loads(path)


# YAML that a dump of Python values never writes: complex keys, aliases, tags, merge keys, dates, broken syntax.
yaml_fragment = st.sampled_from([
    "name: t", "dataset: demo", "codecs: [x264]", "? {a: 1}\n: 2", "? [1, 2]\n: x", "2020-01-01: x", "<<: {name: m}",
    "a: &x [1]\nb: *x", "codecs: [{name: c, adapter: x264, params: {0: 1, x: 2}, rate_points: [1]}]",
    "codecs: [{descriptor: x264, params: {1: 2}}]", "codecs: [{descriptor: x264, params: {? {a: 1} : 1}}]",
    "metrics: {? [y] : true}", "frames: {first: !!binary aGk=, count: 2}", "name: !!python/object:os.system x",
    "sequences: [{name: s, file: a.yuv, fps: .nan}]", "intra_period: .inf", "codecs:\n- x264\n- x264", "{", ": :",
    "name: t\nname: u", "yes: 1", "on: [x264]", "\t- x", "---\n---", "extends: c.yaml", "extends: [nope.yaml, 1]",
])


@pytest.mark.slow
@FUZZ
@given(parts=st.lists(st.one_of(yaml_fragment, st.text(max_size=10)), min_size=1, max_size=5))
def test_condition_loader_never_crashes_on_raw_yaml(parts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    path = tmp_path_factory.mktemp("raw") / "c.yaml"
    path.write_text("\n".join(parts))
    _loads(path)


# --- the importers -------------------------------------------------------------------------------------------

def _imports(path: Path) -> None:
    """Import PATH; what is accepted must be what the store can write and the tables can read."""
    try:
        records = import_file(path)
    except BenchError as e:
        _said_well(e)
        return
    for r in records:  # as ResultStore.write writes it: a NaN anywhere refused there was a traceback
        json.dumps(r, allow_nan=False, default=str)
    summary_frame(records)  # what bd and the report build first
    frames_frame(records)


number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**20), st.none(),
                   st.text(max_size=4), st.lists(st.floats(), max_size=3), st.booleans(),
                   st.just(10**400))  # an integer no float holds
numbers = st.lists(number, max_size=3)
# Mostly a value the format has there, so that examples reach past the first check into the rest of the reader.
good_float, good_count = st.floats(0.01, 60), st.integers(0, 3)
dcvc_entry = st.fixed_dictionaries({
    "ave_all_frame_bpp": st.one_of(good_float, good_float, number), "i_frame_num": st.one_of(good_count, number),
    "p_frame_num": st.one_of(good_count, good_count, number),
    "ave_all_frame_psnr": st.one_of(good_float, good_float, number)}, optional={
    k: st.one_of(good_float, number) for k in (
        "ave_all_frame_quality", "ave_all_frame_msssim", "ave_all_frame_psnr_y", "ave_all_frame_psnr_u",
        "frame_pixel_num", "avg_frame_encoding_time", "avg_frame_decoding_time", "something_else")
} | {k: st.one_of(st.lists(good_float, max_size=3), value, numbers) for k in ("frame_bpp", "frame_type", "frame_psnr")})
dcvc_doc = st.dictionaries(st.sampled_from(["B", "UVG", "C", ""]), st.one_of(value, st.dictionaries(
    st.sampled_from(["BQTerrace_1920x1080_60", "Beauty", "x", "", ".."]), st.one_of(value, st.dictionaries(
        st.sampled_from(["000", "001", "q1", ""]), st.one_of(value, dcvc_entry), max_size=2)), max_size=2)), max_size=2)
compressai_doc = st.fixed_dictionaries({"results": st.one_of(value, st.dictionaries(
    st.sampled_from(["bpp", "bitrate", "psnr-rgb", "ms-ssim-rgb", "ms-ssim-db-rgb", "q", "qp", "psnr-yuv",
                     "encoding_time", "decoding_time", "psnr", "other"]),
    st.one_of(number, st.lists(st.one_of(good_float, number), min_size=2, max_size=2), st.lists(good_float, min_size=2,
                                                                                             max_size=2)),
    max_size=5))},
    optional={"meta": st.one_of(value, st.fixed_dictionaries({}, optional={"dataset": value})), "name": value,
              "description": value})
dhvc_doc = st.lists(st.one_of(value, st.fixed_dictionaries(
    {"video": st.one_of(value, st.sampled_from(["Beauty", "videos/UVG/Jockey", ""])),
     "quality": st.one_of(good_count, number, value), "bpp": st.one_of(good_float, number),
     "psnr": st.one_of(good_float, number)}, optional={"msssim": st.one_of(good_float, number)})), max_size=4)


def _json_file(tmp_path_factory: pytest.TempPathFactory, name: str, doc: object) -> Path:
    path = tmp_path_factory.mktemp("json") / name
    path.write_text(json.dumps(doc, default=str))  # NaN and Infinity as Python's json writes them (producers do)
    return path


@pytest.mark.slow
@FUZZ
@given(doc=dcvc_doc)
def test_dcvc_importer_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    _imports(_json_file(tmp_path_factory, "fm.json", doc))


@pytest.mark.slow
@FUZZ
@given(doc=compressai_doc)
def test_compressai_importer_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    _imports(_json_file(tmp_path_factory, "ssf.json", doc))


@pytest.mark.slow
@FUZZ
@given(doc=dhvc_doc)
def test_dhvc_importer_never_crashes(doc: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    _imports(_json_file(tmp_path_factory, "q1.json", doc))


csv_cell = st.one_of(st.text(max_size=6), st.sampled_from(["1", "0.1", "nan", "inf", "-", "", "1e400", "2.5", " 3 ",
                                                           "BQTerrace", "BQTerrace_1920x1080_60", "0"]))
csv_header = st.lists(st.sampled_from(["codec", "sequence", "rate_point", "bpp", "kbps", "psnr_y", "group", "fps",
                                       "frames", "encode_s", "zz", "", " bpp"]), max_size=8)


@pytest.mark.slow
@FUZZ
@given(header=csv_header, rows=st.lists(st.lists(csv_cell, max_size=8), max_size=5))
def test_csv_importer_never_crashes(header: list, rows: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    path = tmp_path_factory.mktemp("csv") / "points.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    _imports(path)


@pytest.mark.slow
@FUZZ
@given(text=st.lists(st.one_of(st.sampled_from(["codec,sequence,rate_point,bpp\n", "c,S,1,0.1\n", '"', '""', ",",
                                                "\n", "\r\n", "\r", "\x00", "\ufeff", "c,S,1\n", "a,b,c,d,e,f\n"]),
                               st.text(max_size=5)), max_size=10).map("".join))
def test_csv_importer_never_crashes_on_broken_syntax(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    path = tmp_path_factory.mktemp("csvtext") / "points.csv"
    path.write_text(text, newline="")
    _imports(path)


@FUZZ
@given(data=st.binary(max_size=64), name=st.sampled_from(["a.json", "a.csv", "a_qp32.log", "a.txt"]))
def test_importers_never_crash_on_bytes(data: bytes, name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(data)
    _imports(path)


log_line = st.one_of(
    st.builds(lambda i, b, p: f"frame: {i} bpp: {b} psnr: {p}", st.sampled_from(["0", "9", "1" * 5000]),
              st.sampled_from(["0.1", "-", "x", "1-2", "1e999"]), st.sampled_from(["30", "nan", "1e999", "3.3.3"])),
    st.builds(lambda q, s, b, p: f"q={q}, frame_dir.stem={s}, bpp={b}, psnr={p}", st.sampled_from(["1", "x", "nan"]),
              st.sampled_from(["Beauty", "..", "Beauty_1920x1080_120"]), st.sampled_from(["0.1", "1e999", "-1", "1-2"]),
              st.sampled_from(["30", "nan", "3.3.3"])),
    st.builds(lambda f, r, y: f"  {f}    a   {r}   {y}   40.1   41.2   36.9", st.sampled_from(["32", "0", "-1", "x"]),
              st.sampled_from(["512.5", "1e999", "nan", "-3"]), st.sampled_from(["35.1", "inf", "nan"])),
    st.sampled_from(["Total Frames |  Bitrate     Y-PSNR    U-PSNR    V-PSNR    YUV-PSNR",
                     " Total Time:     12.5 sec. [user]     13.1 sec. [elapsed]",
                     " Total Time: 1.2.3 sec. [user] 4.5.6 sec. [elapsed]", "HM software: Encoder Version [16.25]",
                     "Average:", "\x1b[32m", ""]),
    st.text(max_size=20))


@pytest.mark.slow
@FUZZ
@given(lines=st.lists(log_line, max_size=8))
def test_dhvc_stdout_and_vtm_log_importers_never_crash(lines: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    _counted()
    folder = tmp_path_factory.mktemp("logs")
    (folder / "out.txt").write_text("\n".join(lines))
    _imports(folder / "out.txt")
    (folder / "BQTerrace_qp32.log").write_text("Total Frames |  Bitrate     Y-PSNR    U-PSNR    V-PSNR    YUV-PSNR\n"
                                               + "\n".join(lines))
    _imports(folder / "BQTerrace_qp32.log")


@pytest.mark.gpu
@pytest.mark.slow
@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(["a_mse_cpu.csv", "a_mse_cuda.csv", "b.csv", "c.csv"]),
                                st.lists(st.tuples(st.sampled_from(["c", "d"]), st.sampled_from(["BQTerrace", "S"]),
                                                   st.sampled_from(["1", "2"])), min_size=1, max_size=3)),
                      min_size=1, max_size=3, unique_by=lambda f: f[0]),
       label=st.sampled_from([None, "N"]))
def test_folder_import_never_crashes(files: list, label: str | None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Files read together (curves told apart by file names, points shared between files refused)."""
    _counted()
    folder = tmp_path_factory.mktemp("folder")
    for name, rows in files:
        (folder / name).write_text("codec,sequence,rate_point,bpp,psnr_y\n"
                                   + "".join(f"{c},{s},{q},0.{q},3{q}\n" for c, s, q in rows))
    try:
        imported = import_sources([(label, folder)])
    except BenchError as e:
        _said_well(e)
        return
    points = [(r["codec"]["name"], r["sequence"]["name"], str(r["rate_point"])) for r in imported.records]
    assert len(points) == len(set(points))  # two files never feed one point


# --- the crash classes found from the command line, kept as regression cases -----------------------------------

def _cli_error(args: list[str], capsys: pytest.CaptureFixture) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not PYTHON_NAME.search(err), err
    return err


def test_params_keys_of_mixed_kinds_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndataset: demo\ncodecs:\n  - name: c1\n    adapter: x264\n    params: {0: 1, x: 2}\n"
                    "    rate_points: [32]\n")
    err = _cli_error(["validate", "--conditions", str(path)], capsys)
    assert f"{path}: not valid YAML (line 6): keys of different kinds in one mapping: 0 (a number) and 'x'" in err
    # Each mapping of one kind, merged into one: a descriptor's text names and a condition's {0: 1}.
    path.write_text("name: c\ndataset: demo\ncodecs:\n  - descriptor: x264\n    params: {0: 1}\n")
    err = _cli_error(["validate", "--conditions", str(path)], capsys)
    assert "codecs[0] (descriptor x264.yaml).params: parameter names are text, got 0" in err


def test_yaml_mapping_used_as_key_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\ndataset: demo\n? {a: 1}\n: 2\n")
    err = _cli_error(["validate", "--conditions", str(path)], capsys)
    assert f"{path}: not valid YAML (line 3): a mapping is used as a key" in err
    path.write_text("name: c\n? [1, 2]\n: 2\n")
    assert "(line 2): a list is used as a key" in _cli_error(["validate", "--conditions", str(path)], capsys)


def test_nan_rate_point_is_refused_by_import_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    q1 = tmp_path / "q1.json"  # DHVC's q*.json, with a quality Python's json wrote as NaN
    q1.write_text('[{"video": "Beauty", "quality": 1, "bpp": 0.1, "psnr": 30.0},\n'
                  ' {"video": "Beauty", "quality": NaN, "bpp": 0.2, "psnr": 31.0}]')
    expected = f"{q1}: entry 1.quality: expected the quality index (a finite number), got nan"
    assert expected in _cli_error(["import", str(q1), "--out", str(tmp_path / "o")], capsys)
    assert not (tmp_path / "o" / "records").exists()
    # report read the same file and showed a rate point 'nan'
    assert expected in _cli_error(["report", str(q1), "--out", str(tmp_path / "r"), "--no-figures"], capsys)
