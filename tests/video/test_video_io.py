"""Frame I/O: raw YUV/RGB at 8 and 10 bit, Y4M, PNG folders; sizes checked; frames stream."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import random_planes

from bench.errors import DataError
from bench.video.formats import pixel_format
from bench.video.io import (
    PngSequenceReader,
    RawVideoReader,
    RawVideoWriter,
    Y4mReader,
    read_y4m_header,
    write_png_frame,
    write_y4m,
)


@pytest.mark.parametrize("fmt_name", ["yuv420p", "yuv420p10le", "yuv444p", "yuv444p10le", "gbrp", "gbrp10le"])
def test_raw_round_trip_is_exact(tmp_path: Path, fmt_name: str) -> None:
    rng = np.random.default_rng(1)
    fmt = pixel_format(fmt_name)
    frames = [random_planes(rng, fmt_name, 34, 18) for _ in range(3)]
    with RawVideoWriter(tmp_path / "a.raw", fmt) as w:
        for f in frames:
            w.write(f)
    assert (tmp_path / "a.raw").stat().st_size == 3 * fmt.frame_bytes(34, 18)
    reader = RawVideoReader(tmp_path / "a.raw", fmt, 34, 18)
    assert reader.num_frames == 3
    for want, got in zip(frames, reader.frames(), strict=True):
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, b)
    # Reading from the middle gives the right frame.
    np.testing.assert_array_equal(next(reader.frames(2, 1))[0], frames[2][0])


def test_ten_bit_is_little_endian_16_bit_container(tmp_path: Path) -> None:
    fmt = pixel_format("yuv420p10le")
    planes = (np.full((2, 2), 0x3FF, np.uint16), np.full((1, 1), 1, np.uint16), np.full((1, 1), 512, np.uint16))
    with RawVideoWriter(tmp_path / "a.yuv", fmt) as w:
        w.write(planes)
    assert (tmp_path / "a.yuv").read_bytes() == bytes([0xFF, 0x03] * 4 + [0x01, 0x00, 0x00, 0x02])


def test_gbrp_file_plane_order_is_g_b_r(tmp_path: Path) -> None:
    fmt = pixel_format("gbrp")
    r, g, b = (np.full((1, 2), v, np.uint8) for v in (10, 20, 30))
    with RawVideoWriter(tmp_path / "a.rgb", fmt) as w:
        w.write((r, g, b))
    assert (tmp_path / "a.rgb").read_bytes() == bytes([20, 20, 30, 30, 10, 10])


def test_size_not_whole_frames_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "Bad_16x16_30.yuv"
    path.write_bytes(b"\0" * (384 * 2 + 7))
    with pytest.raises(DataError, match=r"Bad_16x16_30.yuv: size 775 bytes is not a whole number of 16x16 yuv420p"):
        RawVideoReader(path, pixel_format("yuv420p"), 16, 16)


def test_interrupted_writer_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), RawVideoWriter(tmp_path / "a.yuv", pixel_format("yuv420p")) as w:
        w.write(random_planes(np.random.default_rng(0), "yuv420p", 4, 4))
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt_name", ["yuv420p", "yuv420p10le", "yuv444p"])
def test_y4m_round_trip_and_header(tmp_path: Path, fmt_name: str) -> None:
    rng = np.random.default_rng(2)
    frames = [random_planes(rng, fmt_name, 20, 12) for _ in range(4)]
    n = write_y4m(tmp_path / "a.y4m", iter(frames), pixel_format(fmt_name), 20, 12, 50)
    assert n == 4
    header = read_y4m_header(tmp_path / "a.y4m")
    assert (header.width, header.height, header.fps, header.fmt.name) == (20, 12, 50.0, fmt_name)
    reader = Y4mReader(tmp_path / "a.y4m")
    assert reader.num_frames == 4
    for want, got in zip(frames, reader.frames(), strict=True):
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, b)


def test_y4m_truncated_is_an_error(tmp_path: Path) -> None:
    write_y4m(tmp_path / "a.y4m", iter([random_planes(np.random.default_rng(3), "yuv420p", 8, 8)] * 2),
              pixel_format("yuv420p"), 8, 8, 25)
    data = (tmp_path / "a.y4m").read_bytes()
    (tmp_path / "a.y4m").write_bytes(data[:-5])
    with pytest.raises(DataError, match="not a whole number"):
        Y4mReader(tmp_path / "a.y4m")


def test_png_folder_natural_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frames = [random_planes(rng, "gbrp", 10, 6) for _ in range(11)]
    for i, f in enumerate(frames):
        write_png_frame(tmp_path / f"im{i + 1}.png", f)  # im1 .. im11: natural, not lexical, order
    reader = PngSequenceReader(tmp_path)
    assert (reader.width, reader.height, reader.num_frames) == (10, 6, 11)
    for want, got in zip(frames, reader.frames(), strict=True):
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, b)


def test_reading_streams_frames(tmp_path: Path) -> None:
    """Peak memory while reading does not grow with the number of frames read."""
    fmt = pixel_format("yuv420p")
    frame = random_planes(np.random.default_rng(5), "yuv420p", 320, 240)
    with RawVideoWriter(tmp_path / "a.yuv", fmt) as w:
        for _ in range(200):
            w.write(frame)
    reader = RawVideoReader(tmp_path / "a.yuv", fmt, 320, 240)

    def peak(count: int) -> int:
        tracemalloc.start()
        total = 0
        for planes in reader.frames(0, count):
            total += int(planes[0][0, 0])
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(10), peak(200)
    assert large < small * 1.5 + 200_000, (small, large)
    assert large < 10 * fmt.frame_bytes(320, 240)
