"""The exact cross-check of the reference encoders: their own per-picture PSNR, recomputed from the stream.

VTM, HM and ECM print each picture's PSNR measured on their reconstruction at the internal bit depth, against
the source shifted up to that depth (``source << (b - input depth)``, no rounding), with peak ``255 << (b - 8)``
(1020 at 10 bit, not 1023), over the picture without the conformance padding, and 999.99 for a lossless plane
(EncGOP/TEncGOP ``xCalculateAddPSNR``). Decoding the stream once more at the internal bit depth gives that very
reconstruction (the decoder checks every picture's hash against the encoder's), so the same formula on it must
give the log's numbers to its four printed decimals: a larger difference is real by construction (the encoder
read other frames than we measure against, or coded something else), not output rounding. It costs one more
decode per job; reference decoders run one to two orders of magnitude faster than their encoders.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.errors import AdapterError
from bench.video.formats import PixelFormat
from bench.video.io import RawVideoReader

TOLERANCE_DB = 1e-4  # the logs print four decimals (rounding: at most 5e-5 dB)
LOSSLESS_DB = 999.99  # what the encoders print for a plane without error


def encoder_psnr(source: Path, source_fmt: PixelFormat, decoded: Path, internal_depth: int, width: int,
                 height: int, frames: int) -> list[tuple[float, float, float]]:
    """Per picture (display order) the Y, U, V PSNR as the reference encoders compute it, from the first FRAMES
    frames of SOURCE and the DECODED frames written at INTERNAL_DEPTH (16-bit containers above 8 bits)."""
    shift = internal_depth - source_fmt.bit_depth
    if shift < 0:
        raise ValueError(f"the source is {source_fmt.bit_depth}-bit, deeper than the internal {internal_depth} bits")
    peak = 255 << (internal_depth - 8)
    originals = RawVideoReader(source, source_fmt, width, height).frames(0, frames)
    reconstructions = RawVideoReader(decoded, source_fmt.with_depth(internal_depth), width, height).frames()
    out = []
    for org, rec in zip(originals, reconstructions, strict=True):
        values = []
        for o, r in zip(org, rec, strict=True):
            diff = r.astype(np.int64) - (o.astype(np.int64) << shift)
            ssd = int(np.dot(diff.ravel(), diff.ravel()))
            values.append(10 * math.log10(peak * peak * diff.size / ssd) if ssd else LOSSLESS_DB)
        out.append((values[0], values[1], values[2]))
    return out


def compare_with_log(codec: str, ours: list[tuple[float, float, float]],
                     logged: dict[int, tuple[str, int, float, float, float]], depth: int) -> dict[str, object]:
    """The exact check's record: the largest |log - ours| per plane over all pictures. A picture missing from the
    log, or any difference beyond :data:`TOLERANCE_DB`, fails the job with the first such picture named."""
    largest = {"y": 0.0, "u": 0.0, "v": 0.0}
    for poc, mine in enumerate(ours):
        if poc not in logged:
            raise AdapterError(f"codec {codec}: the encoder log has no line for picture {poc}; the exact PSNR check "
                               "needs one per picture")
        for plane, theirs, value in zip(largest, logged[poc][2:], mine, strict=True):
            diff = abs(theirs - value)
            if diff > TOLERANCE_DB:
                raise AdapterError(
                    f"codec {codec}: picture {poc}: the encoder's own PSNR-{plane.upper()} {theirs:.4f} dB differs by "
                    f"{diff:.4f} dB from ours computed its way ({value:.4f} dB at {depth} bits, peak "
                    f"{255 << (depth - 8)}) on the decoded stream: the encoder coded other frames than the suite "
                    "measures against (check the sequence's size, format and frame range)")
            largest[plane] = max(largest[plane], diff)
    return {"how": f"the log's per-picture PSNR against ours computed the encoder's way on the stream decoded "
                   f"again at its internal {depth} bits (peak {255 << (depth - 8)}, source shifted up, no rounding)",
            "pictures": len(ours), "bit_depth": depth, "peak": 255 << (depth - 8), "largest_difference_db": largest,
            "tolerance_db": TOLERANCE_DB}
