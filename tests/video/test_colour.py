"""Colour conversion checked against the matrices written out by hand, plus exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bench.video.colour import ColourSpec, convert, upsample_420
from bench.video.formats import pixel_format

# Rec. ITU-R BT.709 R'G'B' -> Y'Cb'Cr' written out as in the standard's derivation (not from our code).
BT709 = np.array([[0.2126, 0.7152, 0.0722],
                  [-0.2126 / 1.8556, -0.7152 / 1.8556, 0.5],
                  [0.5, -0.7152 / 1.5748, -0.0722 / 1.5748]])
BT601 = np.array([[0.299, 0.587, 0.114],
                  [-0.299 / 1.772, -0.587 / 1.772, 0.5],
                  [0.5, -0.587 / 1.402, -0.114 / 1.402]])


def _by_hand(rgb: np.ndarray, matrix: np.ndarray, full: bool, bits: int) -> np.ndarray:
    ycc = rgb / 255.0 @ matrix.T
    if full:
        scale = 2**bits - 1
        out = ycc * scale + np.array([0, 2 ** (bits - 1), 2 ** (bits - 1)])
    else:
        out = (ycc * np.array([219, 224, 224]) + np.array([16, 128, 128])) * 2 ** (bits - 8)
    return out


@pytest.mark.parametrize(("matrix", "table"), [("bt709", BT709), ("bt601", BT601)])
@pytest.mark.parametrize("rng_name", ["full", "limited"])
@pytest.mark.parametrize("bits", [8, 10])
def test_rgb_to_yuv444_matches_matrix_by_hand(matrix: str, table: np.ndarray, rng_name: str, bits: int) -> None:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(16, 24, 3))
    rgb[0, :8] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255],
                  [255, 0, 255]]
    planes = tuple(rgb[..., c].astype(np.uint8) for c in range(3))
    dst = pixel_format("yuv444p" if bits == 8 else "yuv444p10le")
    got = convert(planes, pixel_format("gbrp"), dst, ColourSpec(matrix, rng_name))
    exact = _by_hand(rgb.astype(np.float64), table, rng_name == "full", bits)
    want = np.clip(np.floor(exact + 0.5), 0, 2**bits - 1)
    # Equal everywhere except where the exact value sits on a rounding tie (x.5 up to float noise), where
    # either neighbour is a correct rounding.
    tie = np.abs(exact - np.floor(exact) - 0.5) < 1e-9
    for c in range(3):
        np.testing.assert_array_equal(np.where(tie[..., c], want[..., c], got[c]), want[..., c])
        assert np.all(np.abs(got[c] - np.clip(exact[..., c], 0, 2**bits - 1)) <= 0.5 + 1e-9)


def test_bt709_known_values() -> None:
    """Pure red in BT.709 limited 8-bit is (63, 102, 240); white is (235, 128, 128); black (16, 128, 128)."""
    rgb = [np.array([[255, 255, 0]], np.uint8), np.array([[0, 255, 0]], np.uint8), np.array([[0, 255, 0]], np.uint8)]
    y, cb, cr = convert(tuple(rgb), pixel_format("gbrp"), pixel_format("yuv444p"), ColourSpec("bt709", "limited"))
    assert y.tolist() == [[63, 235, 16]]
    assert cb.tolist() == [[102, 128, 128]]
    assert cr.tolist() == [[240, 128, 128]]


def test_rgb8_through_yuv444_10bit_full_range_round_trips_exactly() -> None:
    """8-bit RGB -> 10-bit full-range YUV 4:4:4 -> 8-bit RGB loses nothing (the JPEG-AI / DCVC anchor path)."""
    values = np.arange(0, 256, 5, dtype=np.uint8)
    r, g, b = np.meshgrid(values, values, values, indexing="ij")
    planes = tuple(p.reshape(52, -1) for p in (r, g, b))
    spec = ColourSpec("bt709", "full")
    yuv = convert(planes, pixel_format("gbrp"), pixel_format("yuv444p10le"), spec)
    back = convert(yuv, pixel_format("yuv444p10le"), pixel_format("gbrp"), spec)
    for a, bb in zip(planes, back, strict=True):
        np.testing.assert_array_equal(a, bb)


def test_yuv420_rgb_round_trip_error_is_small() -> None:
    rng = np.random.default_rng(8)
    smooth = ndimage.gaussian_filter(rng.normal(0, 1, (64, 64, 3)), sigma=(4, 4, 0))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 200 + 20
    planes = tuple(smooth[..., c].astype(np.uint8) for c in range(3))
    spec = ColourSpec("bt709", "limited", "bilinear")
    yuv = convert(planes, pixel_format("gbrp"), pixel_format("yuv420p"), spec)
    back = convert(yuv, pixel_format("yuv420p"), pixel_format("gbrp"), spec)
    err = np.abs(np.stack(back).astype(int) - np.stack(planes).astype(int))
    # Chroma lost to 4:2:0 on smooth content plus two roundings: well under one code value on average.
    assert err.mean() < 0.8
    assert np.percentile(err, 99) <= 3


def test_chroma_upsampling_by_hand() -> None:
    c = np.array([[0.0, 4.0], [8.0, 12.0]])
    nearest = upsample_420(c, 4, 4, "nearest")
    assert nearest.tolist() == [[0, 0, 4, 4], [0, 0, 4, 4], [8, 8, 12, 12], [8, 8, 12, 12]]
    bilinear = upsample_420(c, 4, 4, "bilinear")
    # Along each axis: 3/4 of the nearest chroma sample + 1/4 of the next one (edges replicate).
    row = [0, 1, 3, 4]
    assert bilinear[0].tolist() == row
    assert bilinear[:, 0].tolist() == [0, 2, 6, 8]
    assert bilinear[1, 1] == pytest.approx(0.75 * (0.75 * 0 + 0.25 * 4) + 0.25 * (0.75 * 8 + 0.25 * 12))


def test_yuv_bit_depth_conversions() -> None:
    p8 = (np.array([[0, 1, 128, 255]], np.uint8), np.array([[128]], np.uint8), np.array([[64]], np.uint8))
    p10 = convert(p8, pixel_format("yuv420p"), pixel_format("yuv420p10le"), ColourSpec())
    assert p10[0].tolist() == [[0, 4, 512, 1020]]
    back = convert((np.array([[1021, 1022, 1023, 2]], np.uint16), p10[1], p10[2]), pixel_format("yuv420p10le"),
                   pixel_format("yuv420p"), ColourSpec())
    assert back[0].tolist() == [[255, 255, 255, 1]]  # (x + 2) >> 2, clipped


def test_444_to_420_is_rounded_2x2_mean() -> None:
    y = np.zeros((2, 4), np.uint8)
    u = np.array([[10, 11, 0, 0], [12, 14, 1, 0]], np.uint8)  # means 11.75 -> 12, 0.25 -> 0
    out = convert((y, u, u), pixel_format("yuv444p"), pixel_format("yuv420p"), ColourSpec())
    assert out[1].tolist() == [[12, 0]]
