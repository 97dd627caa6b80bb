"""Standard test sets (manifests), sequence discovery and checks, and geometry parsing from files.

A manifest lists, per sequence, the facts a run depends on: file name, size, frame rate, bit depth, chroma
format and full length (sources: the VTM per-sequence cfgs and the DCVC test configs; the README's "Obtaining
the standard test sets" lists them). Geometry is also parsed from ``Name_WxH_fps`` file names and Y4M headers
and cross-checked against the manifest, so a mislabelled file stops the run instead of producing numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from bench.conditions.sequences import SequenceInfo
from bench.errors import DataError
from bench.files import LINK_LOOP, is_link_loop
from bench.video.formats import PixelFormat
from bench.video.io import PngSequenceReader, RawVideoReader, Y4mReader, read_y4m_header


def _seq(group: str, name: str, file: str, w: int, h: int, fps: float, frames: int | None, depth: int = 8) -> SequenceInfo:
    return SequenceInfo(name, group, file, w, h, fps, frames, depth)


_HEVC = [
    _seq("B", "BQTerrace", "BQTerrace_1920x1080_60.yuv", 1920, 1080, 60, 600),
    _seq("B", "BasketballDrive", "BasketballDrive_1920x1080_50.yuv", 1920, 1080, 50, 500),
    _seq("B", "Cactus", "Cactus_1920x1080_50.yuv", 1920, 1080, 50, 500),
    _seq("B", "Kimono1", "Kimono1_1920x1080_24.yuv", 1920, 1080, 24, 240),
    _seq("B", "ParkScene", "ParkScene_1920x1080_24.yuv", 1920, 1080, 24, 240),
    _seq("C", "BQMall", "BQMall_832x480_60.yuv", 832, 480, 60, 600),
    _seq("C", "BasketballDrill", "BasketballDrill_832x480_50.yuv", 832, 480, 50, 500),
    _seq("C", "PartyScene", "PartyScene_832x480_50.yuv", 832, 480, 50, 500),
    _seq("C", "RaceHorsesC", "RaceHorses_832x480_30.yuv", 832, 480, 30, 300),
    _seq("D", "BasketballPass", "BasketballPass_416x240_50.yuv", 416, 240, 50, 500),
    _seq("D", "BlowingBubbles", "BlowingBubbles_416x240_50.yuv", 416, 240, 50, 500),
    _seq("D", "BQSquare", "BQSquare_416x240_60.yuv", 416, 240, 60, 600),
    _seq("D", "RaceHorses", "RaceHorses_416x240_30.yuv", 416, 240, 30, 300),
    _seq("E", "FourPeople", "FourPeople_1280x720_60.yuv", 1280, 720, 60, 600),
    _seq("E", "Johnny", "Johnny_1280x720_60.yuv", 1280, 720, 60, 600),
    _seq("E", "KristenAndSara", "KristenAndSara_1280x720_60.yuv", 1280, 720, 60, 600),
]

_UVG_LENGTHS = {"Beauty": 600, "Bosphorus": 600, "HoneyBee": 600, "Jockey": 600, "ReadySteadyGo": 600,
                "ShakeNDry": 300, "YachtRide": 600}
_UVG = [_seq("UVG", n, f"{n}_1920x1080_120fps_420_8bit_YUV.yuv", 1920, 1080, 120, f) for n, f in _UVG_LENGTHS.items()]


def _mcl_jcv() -> list[SequenceInfo]:
    out = []
    for i in range(1, 31):
        if i in (5, 6, 7, 8, 9, 18, 20):
            fps, frames = 25, 125
        elif i in (17, 21, 22, 23, 24, 25, 29):
            fps, frames = 24, 120
        else:
            fps, frames = 30, 150
        name = f"videoSRC{i:02d}"
        out.append(_seq("MCL-JCV", name, f"{name}_1920x1080_{fps}.yuv", 1920, 1080, fps, frames))
    return out


# USTC-TD 2023 video set: the names as the release spells them; frame rate and length are read from each
# file's name and size (the release's own notes are not available here to pin them).
_USTC_TD = [SequenceInfo(f"USTC_{n}", "USTC-TD", f"USTC_{n}_1920x1080_*.yuv", 1920, 1080, None, None)
            for n in ("Badminton", "BasketballDrill", "BasketballPass", "BicycleDriving", "Dancing",
                      "FourPeople", "ParkWalking", "Running", "ShakingHands", "Snooker")]

DATASETS: dict[str, list[SequenceInfo]] = {
    "hevc_b": [s for s in _HEVC if s.group == "B"],
    "hevc_c": [s for s in _HEVC if s.group == "C"],
    "hevc_d": [s for s in _HEVC if s.group == "D"],
    "hevc_e": [s for s in _HEVC if s.group == "E"],
    "hevc": _HEVC,
    "uvg": _UVG,
    "mcl_jcv": _mcl_jcv(),
    "ustc_td": _USTC_TD,
}
# Combined manifests for published protocols that test several sets together (the SequenceInfo objects above,
# nothing re-typed; conditions/dcvc_*.yaml and dhvc_*.yaml use them):
# - dcvc_yuv420: HEVC B, C, D, E, UVG, MCL-JCV (53 sequences), the classes of microsoft/DCVC's test configs
#   (test_cfg/all_yuv420.json, DCVC-family/*/dataset_config_example*.json at commit
#   54e88645e1b4edac0694228ab2f44ed8818e345b), less their HEVC_RGB class, which has no manifest here.
# - dhvc_1_0: UVG, MCL-JCV, HEVC B (42 sequences), "Test dataset: UVG、MCL-JCV、HEVC Class B" of NJUVISION/DHVC
#   dhvc-1.0/README.md line 13 at commit 145b8b3ee2847303dc46e5d865c8fe60b95940a5.
DATASETS["dcvc_yuv420"] = [*_HEVC, *DATASETS["uvg"], *DATASETS["mcl_jcv"]]
DATASETS["dhvc_1_0"] = [*DATASETS["uvg"], *DATASETS["mcl_jcv"], *DATASETS["hevc_b"]]


def dataset_names() -> list[str]:
    return [*DATASETS, "demo"]


def dataset(name: str) -> list[SequenceInfo]:
    """The manifest of a named dataset (``demo`` is generated on first use)."""
    if name == "demo":
        from bench.conditions.demo import demo_manifest

        return demo_manifest()
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}") from None


# --- geometry from file names and headers ----------------------------------------------------------------

_NAME_GEOMETRY = re.compile(r"_(\d{1,5})x(\d{1,5})(?:_(\d+(?:\.\d+)?)(?:fps|hz)?)?(?=_|\.|$)", re.IGNORECASE)
_NAME_DEPTH = re.compile(r"_(8|10|12|16)bit", re.IGNORECASE)
_NAME_CHROMA = re.compile(r"_(420|444)(?=_|\.|$)|_p(420|444)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedGeometry:
    width: int
    height: int
    fps: float | None
    bit_depth: int | None
    chroma: str | None


def parse_file_name(name: str) -> ParsedGeometry | None:
    """Geometry from ``Name_WxH[_FPS[fps|Hz]][_10bit][_420]...``; None when the name carries no ``WxH``."""
    m = _NAME_GEOMETRY.search(name)
    if not m:
        return None
    depth = _NAME_DEPTH.search(name)
    chroma = _NAME_CHROMA.search(name)
    return ParsedGeometry(
        width=int(m.group(1)), height=int(m.group(2)),
        fps=float(m.group(3)) if m.group(3) else None,
        bit_depth=int(depth.group(1)) if depth else None,
        chroma=(chroma.group(1) or chroma.group(2)) if chroma else None,
    )


def _mismatch(seq: SequenceInfo, path: Path, what: str, manifest: float | str | None,
              found: float | str | None) -> None:
    if manifest is None or found is None:
        return
    same = float(manifest) == float(found) if isinstance(manifest, (int, float)) else manifest == found
    if not same:
        raise DataError(f"{path}: {what} is {found} by the file but {manifest} in the manifest of {seq.name}; "
                        "fix the file name or the sequence entry")


def _no_link_loop(seq: SequenceInfo, path: Path) -> None:
    """A symbolic link loop where a sequence is looked for is said as one, not as a missing file (to
    ``Path.exists`` both are False)."""
    if is_link_loop(path):
        raise DataError(f"sequence {seq.name}: {path}: {LINK_LOOP}")


def locate(seq: SequenceInfo, data_root: Path | None) -> Path:
    """Find a sequence's file under the data root; a missing file names every place looked at."""
    if Path(seq.file).is_absolute():  # a sequence given by its full path needs no data root
        path = Path(seq.file)
        if path.exists():
            return path
        _no_link_loop(seq, path)
        raise DataError(f"sequence {seq.name}: file {seq.file} not found")
    if data_root is None:
        raise DataError(f"sequence {seq.name}: no data root given for {seq.file}; pass --data-root, set "
                        "data_root in the condition, or set LVCBENCH_DATA_ROOT")
    tried: list[Path] = []
    if (found := _located_under(seq, data_root, tried)) is not None:
        return found
    raise DataError(f"sequence {seq.name}: file {seq.file} not found; looked for "
                    f"{' and '.join(str(t) for t in tried)}; check --data-root / data_root")


def _located_under(seq: SequenceInfo, root: Path, tried: list[Path]) -> Path | None:
    """A sequence's file under ROOT, or in its group's folder there, or its Y4M twin; None if none is there.
    Every place looked at is added to TRIED, for the message that says the file is missing."""
    for candidate in (root / seq.file, root / seq.group / seq.file):
        tried.append(candidate)
        _no_link_loop(seq, candidate)
        if (found := _matching(seq, candidate)) is not None:
            return found
    # Y4M next to a missing raw file is accepted too (same stem).
    y4m = (root / seq.file).with_suffix(".y4m")
    tried.append(y4m)
    return y4m if y4m.exists() else None


def _matching(seq: SequenceInfo, candidate: Path) -> Path | None:
    """CANDIDATE if it exists, or, for a file name with wildcards, the one file matching it; several matching
    are refused, naming them."""
    if any(ch in seq.file for ch in "*?["):
        matches = sorted(candidate.parent.glob(candidate.name)) if candidate.parent.is_dir() else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise DataError(f"sequence {seq.name}: several files match {candidate}: "
                            f"{', '.join(m.name for m in matches)}; keep one")
        return None
    return candidate if candidate.exists() else None


@dataclass(frozen=True)
class SourceFile:
    """A located, checked sequence file: its reader parameters and its true length."""

    info: SequenceInfo
    path: Path
    container: str
    fmt: PixelFormat
    width: int
    height: int
    fps: float
    num_frames: int

    def reader(self) -> RawVideoReader | Y4mReader | PngSequenceReader:
        if self.container == "y4m":
            return Y4mReader(self.path)
        if self.container == "png":
            return PngSequenceReader(self.path)
        return RawVideoReader(self.path, self.fmt, self.width, self.height)


def open_source(seq: SequenceInfo, path: Path) -> SourceFile:
    """Check a located file against its manifest entry and its own name/header; return what to read."""
    if not path.is_dir() and not path.is_file():
        # A FIFO or a device would block the reader (or never end): refused before anything opens it.
        raise DataError(f"sequence {seq.name}: {path} is not a regular file or a folder of PNG frames; give a file")
    if path.is_dir() and path.suffix.lower() in (".yuv", ".y4m"):
        # A folder is read as PNG frames, which carry no frame rate: named like a video file, it was meant as one.
        raise DataError(f"sequence {seq.name}: {path} is a folder, not a {path.suffix.lower()} file; give the video "
                        "file itself (a folder is read as PNG frames)")
    container = "png" if path.is_dir() else ("y4m" if path.suffix.lower() == ".y4m" else "yuv")
    width, height, fps, fmt = seq.width, seq.height, seq.fps, seq.fmt
    if container == "y4m":
        header = read_y4m_header(path)
        _mismatch(seq, path, "width", seq.width, header.width)
        _mismatch(seq, path, "height", seq.height, header.height)
        _mismatch(seq, path, "frame rate", seq.fps, header.fps)
        _mismatch(seq, path, "pixel format", seq.fmt.name, header.fmt.name)
        width, height, fps, fmt = header.width, header.height, header.fps, header.fmt
    elif container == "yuv":
        parsed = parse_file_name(path.name)
        if parsed is not None:
            _mismatch(seq, path, "width", seq.width, parsed.width)
            _mismatch(seq, path, "height", seq.height, parsed.height)
            _mismatch(seq, path, "frame rate", seq.fps, parsed.fps)
            _mismatch(seq, path, "bit depth", seq.bit_depth, parsed.bit_depth)
            width = width or parsed.width
            height = height or parsed.height
            fps = fps or parsed.fps
        if width is None or height is None:
            raise DataError(f"{path}: width and height are unknown; name the file Name_WxH_fps.yuv or give "
                            f"width/height in the sequence entry of {seq.name}")
    if fps is None and container == "png":
        raise DataError(f"{path}: frame rate is unknown (a folder of PNG frames has none); give fps in the sequence "
                        f"entry of {seq.name}")
    if fps is None:
        raise DataError(f"{path}: frame rate is unknown; name the file Name_WxH_FPS.yuv or give fps in the "
                        f"sequence entry of {seq.name}")
    source = SourceFile(seq, path, container, fmt, width or 0, height or 0, float(fps), 0)
    reader = source.reader()
    if container == "png":
        _mismatch(seq, path, "width", seq.width, reader.width)
        _mismatch(seq, path, "height", seq.height, reader.height)
        source = replace(source, fmt=reader.fmt, width=reader.width, height=reader.height)
    # A file shorter than the manifest's full length is fine as long as it holds the frames a condition
    # asks for; the planner checks the requested range against this true length.
    return replace(source, num_frames=reader.num_frames)
