"""Reading what codecs and their test scripts print, for the adapters (checking a run against the codec's own
numbers) and the importers (turning published files into records) alike: one reading of each format.

* DCVC's test-script JSON: one result entry's all-frame averages under our metric names;
* DHVC 1.0 ``test.py``'s per-frame ``frame: i bpp: b psnr: p`` lines;
* the VTM/HM/ECM encoder log: its version banner and its ``Total Frames |`` summary.
"""

from __future__ import annotations

import re
from typing import Any


def dcvc_entry_metrics(entry: dict[str, Any]) -> dict[str, float | None]:
    """One DCVC result entry's all-frame averages under our metric names.

    DCVC (2021) writes ``ave_all_frame_quality``: PSNR when above 1, else MS-SSIM. With ``..._psnr_y`` present
    the content was YUV 4:2:0 and ``ave_all_frame_psnr`` is the 6:1:1 average; otherwise RGB. An MS-SSIM of 0
    means ``--calc_ssim`` was off: absent, not a value."""
    def num(key: str) -> float | None:
        v = entry.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    if "ave_all_frame_quality" in entry:
        q = num("ave_all_frame_quality")
        return {"psnr_rgb" if q is not None and q > 1 else "ms_ssim_rgb": q}
    ms = num("ave_all_frame_msssim") or None
    if "ave_all_frame_psnr_y" in entry:
        out = {"psnr_yuv_611": num("ave_all_frame_psnr"), "ms_ssim_yuv_611": ms}
        out.update({f"psnr_{p}": num(f"ave_all_frame_psnr_{p}") for p in "yuv"})
        out["ms_ssim_y"] = num("ave_all_frame_msssim_y") or None
        return out
    return {"psnr_rgb": num("ave_all_frame_psnr"), "ms_ssim_rgb": ms}


DHVC_FRAME = re.compile(r"^\s*frame:\s*(\d+)\s+bpp:\s*([-\d.eE+]+)\s+psnr:\s*([-\d.eE+]+)", re.MULTILINE)


def dhvc_frame_lines(text: str) -> list[tuple[int, float, float]]:
    """(frame, bpp, psnr) from DHVC 1.0 test.py's per-frame ``frame: i bpp: b psnr: p`` lines."""
    return [(int(m.group(1)), float(m.group(2)), float(m.group(3))) for m in DHVC_FRAME.finditer(text)]


# VTM/ECM: ``VVCSoftware: VTM Encoder Version 23.13 [Linux]...`` (the version may hold spaces: ``23.3 (2nd Ed)``;
# ECM's reads like ``11.0ecm8.1``); HM: ``HM software: Encoder Version [16.25] (including RExt)[Linux]...``.
_VERSION = re.compile(r"(?:VVCSoftware: (?:VTM|ECM)|HM software:)[^\n]*?Version (?:\[([^\]\n]+)\]|([^\[\n]+?)\s*\[)")


def parse_version(text: str) -> str | None:
    """The version from the encoder's (or decoder's) banner line."""
    m = _VERSION.search(text)
    return (m.group(1) or m.group(2)).strip() if m else None


def parse_summary(text: str) -> dict[str, float] | None:
    """The ``Total Frames |`` summary of a VTM/HM/ECM encoder log: header names -> values, plus ``frames``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("Total Frames")), None)
    if start is None or "|" not in lines[start]:
        return None
    header = lines[start].split("|", 1)[1].split()
    values = next((line.split() for line in lines[start + 1 :] if line.strip()), [])
    if values and values[0] == "Average:":
        values = values[1:]
    try:
        frames = int(values[0])
        numbers = [float(v) for v in values[2 : 2 + len(header)]]
    except (IndexError, ValueError):
        return None
    return {"frames": frames, **dict(zip(header, numbers, strict=False))}
