"""Property-based tests (hypothesis): the condition loader and every importer, given any document built from
the keys and shapes they accept (and wrong values in every place), either succeed or raise the suite's one-line
error; never another exception. A fixed budget per test keeps CI fast; ``LVCBENCH_FUZZ_EXAMPLES`` raises it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.conditions import load_condition
from bench.errors import BenchError
from bench.importers import import_file
from bench.report.tables import frames_frame, summary_frame

EXAMPLES = int(os.environ.get("LVCBENCH_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

leaf = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=12), st.sampled_from(["x264", "x265", "demo", "yuv420p", "auto", "-1", "..", "a/b"]))
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                     max_leaves=12)

CONDITION_KEYS = ["name", "description", "dataset", "sequences", "data_root", "frames", "intra_period", "colour",
                  "spatial", "metrics", "codecs", "anchor", "extends"]
SECTION_KEYS = {"frames": ["first", "count"], "colour": ["source_format", "coding_format", "matrix", "range",
                                                         "chroma_upsampling"],
                "spatial": ["mode", "multiple", "pad", "crop_anchor"],
                "metrics": ["pooling", "psnr_peak", "ms_ssim", "vmaf", "xpsnr", "device"]}
codec_entry = st.one_of(
    st.sampled_from(["x264", "x265", "nosuch"]),
    st.fixed_dictionaries({}, optional={"descriptor": st.sampled_from(["x264", "x265", "dcvc-fm"]),
                                        "name": value, "adapter": st.sampled_from(["x264", "command", "a:b", "?"]),
                                        "params": value, "rate_points": value, "keep_decoded": value}))
condition = st.fixed_dictionaries({}, optional={
    **{k: value for k in CONDITION_KEYS},
    **{k: st.one_of(value, st.fixed_dictionaries({}, optional={sk: value for sk in keys}))
       for k, keys in SECTION_KEYS.items()},
    "codecs": st.one_of(value, st.lists(codec_entry, max_size=3)),
    "sequences": st.one_of(value, st.lists(st.fixed_dictionaries(
        {"name": value, "file": value}, optional={"group": value, "format": value, "fps": value}), max_size=2)),
})


@FUZZ
@given(doc=condition)
def test_condition_loader_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("cond") / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_condition(path)
    except BenchError as e:
        assert "\n" not in str(e).strip() or "Traceback" not in str(e)


def _imports(path: Path) -> None:
    try:
        records = import_file(path)
    except BenchError:
        return
    summary_frame(records)  # what bd and the report build first
    frames_frame(records)


number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**20), st.none(),
                   st.text(max_size=4), st.lists(st.floats(), max_size=3))
dcvc_entry = st.fixed_dictionaries({}, optional={
    k: number for k in ("ave_all_frame_bpp", "i_frame_num", "p_frame_num", "ave_all_frame_psnr", "ave_all_frame_quality",
                        "ave_all_frame_msssim", "ave_all_frame_psnr_y", "frame_pixel_num", "avg_frame_encoding_time")
} | {"frame_bpp": st.one_of(value, st.lists(number, max_size=3)), "frame_type": value, "frame_psnr": value})
dcvc_doc = st.dictionaries(st.sampled_from(["B", "UVG", "C"]), st.one_of(value, st.dictionaries(
    st.sampled_from(["BQTerrace_1920x1080_60", "Beauty", "x"]), st.one_of(value, st.dictionaries(
        st.sampled_from(["000", "001", "q1"]), st.one_of(value, dcvc_entry), max_size=2)), max_size=2)), max_size=2)
compressai_doc = st.fixed_dictionaries({"results": st.one_of(value, st.dictionaries(
    st.sampled_from(["bpp", "bitrate", "psnr-rgb", "ms-ssim-rgb", "q", "psnr-yuv", "encoding_time"]),
    st.one_of(number, st.lists(number, min_size=1, max_size=3)), max_size=5))},
    optional={"meta": value, "name": value, "description": value})
dhvc_doc = st.lists(st.one_of(value, st.fixed_dictionaries({"video": value, "quality": value, "bpp": number,
                                                            "psnr": number}, optional={"msssim": number})),
                    max_size=4)
csv_row = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(["1", "0.1", "nan", "inf", "-", "", "1e400"])),
                   min_size=0, max_size=7)


@FUZZ
@given(doc=dcvc_doc)
def test_dcvc_importer_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("dcvc") / "fm.json"
    path.write_text(json.dumps(doc))
    _imports(path)


@FUZZ
@given(doc=compressai_doc)
def test_compressai_importer_never_crashes(doc: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("cai") / "ssf.json"
    path.write_text(json.dumps(doc))
    _imports(path)


@FUZZ
@given(doc=dhvc_doc)
def test_dhvc_importer_never_crashes(doc: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("dhvc") / "q1.json"
    path.write_text(json.dumps(doc))
    _imports(path)


@FUZZ
@given(header=st.lists(st.sampled_from(["codec", "sequence", "rate_point", "bpp", "kbps", "psnr_y", "group",
                                        "fps", "frames", "encode_s", "zz"]), max_size=8),
       rows=st.lists(csv_row, max_size=4))
def test_csv_importer_never_crashes(header: list, rows: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    import csv

    path = tmp_path_factory.mktemp("csv") / "points.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    _imports(path)


@FUZZ
@given(lines=st.lists(st.one_of(
    st.builds(lambda i, b, p: f"frame: {i} bpp: {b} psnr: {p}", st.integers(0, 9), st.sampled_from(["0.1", "-", "x"]),
              st.sampled_from(["30", "nan", "1e999"])),
    st.builds(lambda q, s, b, p: f"q={q}, frame_dir.stem={s}, bpp={b}, psnr={p}", st.sampled_from(["1", "x"]),
              st.sampled_from(["Beauty", ".."]), st.sampled_from(["0.1", "1e999", "-1"]),
              st.sampled_from(["30", "nan"])),
    st.text(max_size=20)), max_size=6))
def test_dhvc_stdout_and_vtm_log_importers_never_crash(lines: list, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("logs")
    (folder / "out.txt").write_text("\n".join(lines))
    _imports(folder / "out.txt")
    (folder / "BQTerrace_qp32.log").write_text("Total Frames |  Bitrate     Y-PSNR    U-PSNR    V-PSNR    YUV-PSNR\n"
                                               + "\n".join(lines))
    _imports(folder / "BQTerrace_qp32.log")
