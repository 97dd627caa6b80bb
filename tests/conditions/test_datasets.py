"""Dataset manifests, file-name and Y4M geometry, and the checks that stop a run on bad data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import random_planes

from bench.conditions.condition import load_condition
from bench.conditions.datasets import DATASETS, SequenceInfo, dataset, locate, open_source, parse_file_name
from bench.errors import DataError
from bench.run.runner import plan
from bench.video.formats import pixel_format
from bench.video.io import write_y4m


def test_manifests() -> None:
    assert [s.name for s in DATASETS["hevc_b"]] == ["BQTerrace", "BasketballDrive", "Cactus", "Kimono1", "ParkScene"]
    assert {s.group for s in DATASETS["hevc"]} == {"B", "C", "D", "E"}
    assert len(DATASETS["hevc_c"]) == len(DATASETS["hevc_d"]) == 4 and len(DATASETS["hevc_e"]) == 3
    uvg = DATASETS["uvg"]
    assert len(uvg) == 7 and all((s.width, s.height, s.fps) == (1920, 1080, 120) for s in uvg)
    assert {s.name: s.frames for s in uvg}["ShakeNDry"] == 300
    mcl = DATASETS["mcl_jcv"]
    assert len(mcl) == 30
    assert {s.name: (s.fps, s.frames) for s in mcl}["videoSRC05"] == (25, 125)
    assert {s.name: (s.fps, s.frames) for s in mcl}["videoSRC17"] == (24, 120)
    assert {s.name: s.file for s in mcl}["videoSRC30"] == "videoSRC30_1920x1080_30.yuv"
    assert len(DATASETS["ustc_td"]) == 10
    for name, seqs in DATASETS.items():
        for s in seqs:
            parsed = parse_file_name(s.file)
            assert parsed is not None and (parsed.width, parsed.height) == (s.width, s.height), (name, s.name)
            if s.fps is not None:
                assert parsed.fps == s.fps, (name, s.name)
    with pytest.raises(DataError, match="unknown dataset 'hevc_f'"):
        dataset("hevc_f")


@pytest.mark.parametrize(("name", "want"), [
    ("BQTerrace_1920x1080_60.yuv", (1920, 1080, 60.0, None, None)),
    ("Beauty_1920x1080_120fps_420_8bit_YUV.yuv", (1920, 1080, 120.0, 8, "420")),
    ("MarketPlace_1920x1080_60fps_10bit_420.yuv", (1920, 1080, 60.0, 10, "420")),
    ("Seq_832x480_29.97Hz_P420.yuv", (832, 480, 29.97, None, "420")),
    ("clip_64x48.yuv", (64, 48, None, None, None)),
])
def test_parse_file_name(name: str, want: tuple) -> None:
    p = parse_file_name(name)
    assert p is not None and (p.width, p.height, p.fps, p.bit_depth, p.chroma) == want


def test_parse_file_name_without_geometry() -> None:
    assert parse_file_name("foreman.yuv") is None


def _seq(file: str, **kw: object) -> SequenceInfo:
    base = {"name": "S", "group": "g", "file": file, "width": 16, "height": 8, "fps": 30.0, "frames": 4}
    base.update(kw)
    return SequenceInfo(**base)  # type: ignore[arg-type]


def test_locate_names_every_place_looked_at(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        locate(_seq("S_16x8_30.yuv"), tmp_path)
    message = str(e.value)
    assert "sequence S: file S_16x8_30.yuv not found" in message
    assert str(tmp_path / "S_16x8_30.yuv") in message and str(tmp_path / "g" / "S_16x8_30.yuv") in message


def test_locate_takes_a_full_path_or_the_one_file_a_wildcard_matches(tmp_path: Path) -> None:
    full = tmp_path / "S_16x8_30.yuv"
    with pytest.raises(DataError, match=f"sequence S: file {re.escape(str(full))} not found$"):
        locate(_seq(str(full)), None)  # a full path needs no data root
    full.write_bytes(b"")
    assert locate(_seq(str(full)), None) == full
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "T_16x8_30.yuv").write_bytes(b"")
    assert locate(_seq("T_*.yuv"), tmp_path) == tmp_path / "g" / "T_16x8_30.yuv"
    (tmp_path / "S_16x8_60.yuv").write_bytes(b"")
    with pytest.raises(DataError, match=r"several files match .*S_\*\.yuv: S_16x8_30.yuv, S_16x8_60.yuv; keep one"):
        locate(_seq("S_*.yuv"), tmp_path)


def test_open_source_cross_checks_file_name(tmp_path: Path) -> None:
    path = tmp_path / "S_16x8_25.yuv"
    path.write_bytes(b"\0" * 192 * 4)
    with pytest.raises(DataError, match=r"S_16x8_25.yuv: frame rate is 25.0 by the file but 30.0 in the manifest of S"):
        open_source(_seq("S_16x8_25.yuv"), path)
    wrong = tmp_path / "S_32x8_30.yuv"
    wrong.write_bytes(b"\0" * 192 * 4)
    with pytest.raises(DataError, match=r"width is 32 by the file but 16 in the manifest"):
        open_source(_seq("S_32x8_30.yuv"), wrong)


def test_open_source_reads_y4m_geometry(tmp_path: Path) -> None:
    frames = [random_planes(np.random.default_rng(i), "yuv420p", 16, 8) for i in range(3)]
    write_y4m(tmp_path / "S.y4m", iter(frames), pixel_format("yuv420p"), 16, 8, 30)
    src = open_source(_seq("S.y4m", width=None, height=None, fps=None, frames=None), tmp_path / "S.y4m")
    assert (src.container, src.width, src.height, src.fps, src.num_frames) == ("y4m", 16, 8, 30.0, 3)
    with pytest.raises(DataError, match=r"S.y4m: height is 8 by the file but 10 in the manifest"):
        open_source(_seq("S.y4m", height=10), tmp_path / "S.y4m")


def _condition(tmp_path: Path, frames: int, size_bytes: int) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "Clip_16x8_30.yuv").write_bytes(b"\x80" * size_bytes)
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
sequences:
  - {{name: Clip, file: Clip_16x8_30.yuv}}
data_root: data
frames: {{count: {frames}}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs: [x264]
""")
    return cond


def test_wrong_size_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Clip_16x8_30.yuv: size 500 bytes is not a whole number of 16x8 yuv420p frames"):
        plan(load_condition(_condition(tmp_path, 2, 500)))


def test_too_few_frames_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"Clip_16x8_30.yuv: holds 3 frames but the condition asks for frames 0..4"):
        plan(load_condition(_condition(tmp_path, 5, 192 * 3)))


def test_planning_keys_jobs(tmp_path: Path) -> None:
    jobs, _ = plan(load_condition(_condition(tmp_path, 2, 192 * 3)))
    assert len(jobs) == 4 and len({j.key for j in jobs}) == 4
    again, _ = plan(load_condition(_condition(tmp_path, 2, 192 * 3)))
    assert [j.key for j in again] == [j.key for j in jobs]
    # Any change to the frames read changes every key.
    (tmp_path / "data" / "Clip_16x8_30.yuv").write_bytes(b"\x81" * 192 * 3)
    changed, _ = plan(load_condition(tmp_path / "c.yaml"))
    assert not {j.key for j in changed} & {j.key for j in jobs}
