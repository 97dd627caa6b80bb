"""The ffmpeg encoders: real bitstreams, the intra period honoured, every frame decoded back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.adapters import adapter_class, adapter_names
from bench.adapters.base import CodingTask
from bench.errors import AdapterError, ConditionError
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter

ADAPTERS = ["x264", "x265", "vvenc", "svtav1", "aom"]
QP = {"x264": 30, "x265": 30, "vvenc": 30, "svtav1": 40, "aom": 40}
FAST = {"x264": {"preset": "veryfast"}, "x265": {"preset": "ultrafast"}, "vvenc": {}, "svtav1": {"preset": 12},
        "aom": {"preset": 8}}


def test_the_ffmpeg_adapters_are_registered() -> None:
    assert set(ADAPTERS) <= set(adapter_names())  # every adapter's contract: tests/checks/test_conformance.py


def _task(clip_dir: Path, tmp_path: Path, name: str, intra_period: int) -> CodingTask:
    adapter = adapter_class(name)(FAST[name])
    fmt = adapter.input_format(pixel_format("yuv420p"))
    src = clip_dir / "Pan_96x64_30.yuv"
    if fmt.name != "yuv420p":
        prepared = tmp_path / "in.yuv"
        with RawVideoWriter(prepared, fmt) as w:
            for planes in RawVideoReader(src, pixel_format("yuv420p"), 96, 64).frames():
                w.write(convert(planes, pixel_format("yuv420p"), fmt, ColourSpec()))
        src = prepared
    work = tmp_path / "work"
    work.mkdir()
    return CodingTask(src, fmt, 96, 64, 30.0, 12, intra_period, QP[name], work)


@pytest.mark.slow
@pytest.mark.parametrize("name", ADAPTERS)
@pytest.mark.parametrize("intra_period", [4, -1])
def test_codes_decodes_and_places_intra_frames(clip_dir: Path, tmp_path: Path, name: str, intra_period: int) -> None:
    task = _task(clip_dir, tmp_path, name, intra_period)
    adapter = adapter_class(name)(FAST[name])
    result = adapter.code_sequence(task)
    (bitstream,) = result.bitstreams
    assert bitstream.suffix in (".264", ".265", ".266", ".obu")
    assert bitstream.read_bytes()[:4] in (b"\0\0\0\1", b"\x12\0\x0a\x0b", b"\x12\0\x0a\x0a") or name in ("svtav1", "aom")
    # Every frame came back, at the coded size and format.
    assert result.decoded_path.stat().st_size == 12 * task.fmt.frame_bytes(96, 64)
    intra = [i for i, t in enumerate(result.frame_types or []) if t == "I"]
    assert intra == ([0, 4, 8] if intra_period == 4 else [0]), result.frame_types
    bits = result.frame_bits
    assert bits is not None and len(bits) == 12
    # Packet sizes account for the stream; intra frames cost the most.
    assert 0.9 * bitstream.stat().st_size <= sum(bits) / 8 <= bitstream.stat().st_size
    intra_bits = [b for b, t in zip(bits, result.frame_types or [], strict=True) if t == "I"]
    inter_bits = [b for b, t in zip(bits, result.frame_types or [], strict=True) if t != "I"]
    assert min(intra_bits) > max(inter_bits)
    assert "ffmpeg" in Path(result.commands[0][0]).name


def test_vvenc_codes_each_intra_period_separately(clip_dir: Path, tmp_path: Path) -> None:
    task = _task(clip_dir, tmp_path, "vvenc", 4)
    result = adapter_class("vvenc")({}).code_sequence(task)
    assert result.codec_reported["encoded_segments"] == [[0, 4], [4, 4], [8, 4]]
    assert sum(1 for c in result.commands if "libvvenc" in c) == 3


def test_low_delay_no_reordering(clip_dir: Path, tmp_path: Path) -> None:
    """x264/x265 run without B-frames: every non-intra frame is a P frame."""
    for name in ("x264", "x265"):
        d = tmp_path / name
        d.mkdir()
        result = adapter_class(name)(FAST[name]).code_sequence(_task(clip_dir, d, name, -1))
        assert result.frame_types == ["I"] + ["P"] * 11


def test_encoder_crash_is_an_adapter_error(clip_dir: Path, tmp_path: Path) -> None:
    adapter = adapter_class("x264")({"extra_args": ["-profile:v", "nosuch"]})
    with pytest.raises(AdapterError, match=r"codec x264: encoder failed with exit code \d+: .*invalid profile") as e:
        adapter.code_sequence(_task(clip_dir, tmp_path, "x264", 4))
    assert e.value.stderr_tail


@pytest.mark.parametrize(("name", "value"), [("x264", 52), ("x265", -1), ("vvenc", 64), ("svtav1", 0), ("x264", "27")])
def test_bad_qp(name: str, value: object) -> None:
    with pytest.raises(ConditionError, match=f"is not a valid QP for {name}"):
        adapter_class(name).validate_rate_point(value, "here")


def test_identity_has_versions_and_only_result_params() -> None:
    ident = adapter_class("x265")({"preset": "slow"}).identity()
    assert ident["adapter"] == "x265" and ident["params"]["preset"] == "slow"
    assert ident["ffmpeg_version"].startswith("ffmpeg version")
    assert len(ident["ffmpeg_sha256"]) == 64
    assert ident["library"] and "not found" not in ident["library"]


def test_vvenc_refuses_444() -> None:
    with pytest.raises(AdapterError, match="libvvenc codes 4:2:0"):
        adapter_class("vvenc")({}).input_format(pixel_format("yuv444p"))


def test_silent_format_conversion_is_caught(clip_dir: Path, tmp_path: Path) -> None:
    """ffmpeg would convert 4:4:4 to 4:2:0 without a word; the adapter refuses a stream in another format."""
    src = tmp_path / "in444.yuv"
    with RawVideoWriter(src, pixel_format("yuv444p")) as w:
        for planes in RawVideoReader(clip_dir / "Pan_96x64_30.yuv", pixel_format("yuv420p"), 96, 64).frames(0, 4):
            w.write(convert(planes, pixel_format("yuv420p"), pixel_format("yuv444p"), ColourSpec()))
    work = tmp_path / "w"
    work.mkdir()
    task = CodingTask(src, pixel_format("yuv444p"), 96, 64, 30.0, 4, -1, 30, work)
    ok = adapter_class("x264")({"preset": "veryfast"}).code_sequence(task)  # x264 codes 4:4:4 for real
    assert ok.decoded_path.stat().st_size == 4 * 96 * 64 * 3
    forced = adapter_class("x264")({"preset": "veryfast", "extra_args": ["-pix_fmt", "yuv420p"]})
    with pytest.raises(AdapterError, match=r"the bitstream is yuv420p, not the yuv444p it was given"):
        forced.code_sequence(task)


def test_x264_ten_bit_qp_is_on_the_8_bit_scale() -> None:
    task = CodingTask(Path("in"), pixel_format("yuv420p10le"), 96, 64, 30.0, 4, -1, 30, Path("."))
    args = adapter_class("x264")({}).encoder_args(task, 4)
    assert args[args.index("-qp") + 1] == "42"
    task8 = CodingTask(Path("in"), pixel_format("yuv420p"), 96, 64, 30.0, 4, -1, 30, Path("."))
    assert adapter_class("x264")({}).encoder_args(task8, 4)[5] == "30"


def test_thread_count_is_in_the_key_only_where_it_changes_the_stream() -> None:
    assert adapter_class("x265")({}).identity()["params"]["threads"] == 1
    assert "threads" not in adapter_class("vvenc")({}).identity()["params"]
    assert "threads" not in adapter_class("svtav1")({"threads": 2}).identity()["params"]
    with pytest.raises(AdapterError, match="threads 0"):
        adapter_class("x264")({"threads": 0}).code_sequence(
            CodingTask(Path("in"), pixel_format("yuv420p"), 96, 64, 30.0, 4, -1, 30, Path(".")))


def test_registry_is_complete_after_importing_one_adapter_module_first() -> None:
    """Importing bench.adapters.dcvc directly (as its tests do) registers only its adapters; the registry must
    still load the others (it used to treat a non-empty registry as fully loaded)."""
    code = ("import bench.adapters.dcvc\nfrom bench.adapters import adapter_names\n"
            "assert 'x264' in adapter_names() and 'dhvc-1.0' in adapter_names(), adapter_names()")
    subprocess.run([sys.executable, "-c", code], check=True)
