"""The exact cross-check of the reference encoders (bench.adapters.reference_psnr), against VTM's own numbers.

The references are VTM 23.13's own per-picture PSNR lines (tests/data/vtm/exact, written by the encoder) for two
real streams, which ffmpeg's independent VVC decoder decodes here at the internal 10 bits (byte-identical to
VTM's DecoderApp output, checked when the fixtures were made); the sources are ffmpeg's testsrc2, regenerated
as they were then. The recomputed values must agree to the log's four decimals on every picture and plane, and
any other reading of the same data (the 8-bit output, frames off by one, chroma planes swapped, peak 1023)
must be refused: each moves the PSNR far beyond the 1e-4 dB tolerance.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench.adapters.reference import parse_pictures
from bench.adapters.reference_psnr import TOLERANCE_DB, compare_with_log, encoder_psnr
from bench.errors import AdapterError
from bench.tools import ffmpeg_exe
from bench.video.formats import pixel_format

EXACT = Path(__file__).parents[1] / "data" / "vtm" / "exact"
CASES = {"ldb_qp37": (416, 240, 4), "ra_qp32_202x118": (202, 118, 8)}  # name: width, height, frames
YUV420 = pixel_format("yuv420p")


def _ffmpeg(*args: str) -> None:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def _case(tmp_path: Path, name: str, pix_fmt: str = "yuv420p10le") -> tuple[Path, Path, dict, tuple[int, int, int]]:
    """(source, stream decoded by ffmpeg at PIX_FMT, the log's pictures, geometry) of fixture NAME."""
    width, height, frames = CASES[name]
    source, decoded = tmp_path / "source.yuv", tmp_path / f"decoded_{pix_fmt}.yuv"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30", "-frames:v", str(frames), "-pix_fmt",
            "yuv420p", "-f", "rawvideo", str(source))
    _ffmpeg("-f", "vvc", "-i", str(EXACT / f"{name}.bin"), "-pix_fmt", pix_fmt, "-f", "rawvideo", str(decoded))
    return source, decoded, parse_pictures((EXACT / f"{name}_encoder.log").read_text()), (width, height, frames)


@pytest.mark.parametrize("name", sorted(CASES))
def test_recomputed_psnr_equals_vtm_log_on_every_picture(tmp_path: Path, name: str) -> None:
    source, decoded, logged, (width, height, frames) = _case(tmp_path, name)
    ours = encoder_psnr(source, YUV420, decoded, 10, width, height, frames)
    check = compare_with_log("vtm", ours, logged, 10)
    assert check["pictures"] == frames == len(logged)
    assert max(check["largest_difference_db"].values()) <= TOLERANCE_DB
    # Every value, not only the largest difference: the log prints four decimals.
    for poc, (y, u, v) in enumerate(ours):
        assert logged[poc][2:] == pytest.approx((y, u, v), abs=5.01e-5)


def test_the_8bit_output_is_refused_as_the_encoders_measurement(tmp_path: Path) -> None:
    """The rounded 8-bit output is not what the encoder measured: the check sees the rounding (0.01 dB and more
    here), which is why it decodes again at the internal bit depth."""
    source, decoded, logged, (width, height, frames) = _case(tmp_path, "ldb_qp37", "yuv420p")
    ours = encoder_psnr(source, YUV420, decoded, 8, width, height, frames)
    assert max(abs(a - b) for poc, mine in enumerate(ours) for a, b in zip(logged[poc][2:], mine, strict=True)) > 0.005
    with pytest.raises(AdapterError, match=r"^codec vtm: picture \d: the encoder's own PSNR-[YUV] [\d.]+ dB differs by "
                                           r"[\d.]+ dB from ours computed its way \([\d.]+ dB at 8 bits, peak 255\)"):
        compare_with_log("vtm", ours, logged, 8)


def test_frames_off_by_one_or_swapped_planes_or_peak_1023_are_refused(tmp_path: Path) -> None:
    source, decoded, logged, (width, height, frames) = _case(tmp_path, "ra_qp32_202x118")
    good = encoder_psnr(source, YUV420, decoded, 10, width, height, frames)
    shifted = dict(logged)
    shifted.update({poc + 1: logged[poc] for poc in range(frames - 1)})
    with pytest.raises(AdapterError, match=r"picture 1: "):
        compare_with_log("vtm", good, shifted, 10)
    swapped = [(y, v, u) for y, u, v in good]
    with pytest.raises(AdapterError, match=r"PSNR-U"):
        compare_with_log("vtm", swapped, logged, 10)
    # Peak 1023 instead of VTM's 255 << 2 = 1020 moves every value by 20 log10(1023/1020) = 0.0255 dB.
    peak_1023 = [tuple(p + 20 * np.log10(1023 / 1020) for p in picture) for picture in good]
    with pytest.raises(AdapterError, match=r"differs by 0\.025\d dB"):
        compare_with_log("vtm", peak_1023, logged, 10)
    with pytest.raises(AdapterError, match=r"the encoder log has no line for picture 7"):
        compare_with_log("vtm", good, {k: v for k, v in logged.items() if k != 7}, 10)


def test_a_source_deeper_than_the_internal_depth_is_not_recomputed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the source is 10-bit, deeper than the internal 8 bits"):
        encoder_psnr(tmp_path / "s.yuv", pixel_format("yuv420p10le"), tmp_path / "d.yuv", 8, 16, 16, 1)
