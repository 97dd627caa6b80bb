"""Reading and writing frame sequences: raw YUV/RGB, Y4M and PNG folders, one frame at a time.

Readers yield planes lazily (memory does not grow with the number of frames); writers write to a temporary
name and rename on success, so an interrupted run never leaves a truncated file under the final name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
from PIL import Image

from bench.errors import DataError
from bench.video.formats import PixelFormat, Planes, pixel_format


def _to_file_order(fmt: PixelFormat, planes: Planes) -> Planes:
    # ffmpeg's planar RGB (gbrp) stores G, B, R; we keep R, G, B in memory.
    return (planes[1], planes[2], planes[0]) if fmt.family == "rgb" else planes


def _from_file_order(fmt: PixelFormat, planes: Planes) -> Planes:
    return (planes[2], planes[0], planes[1]) if fmt.family == "rgb" else planes


def _split_planes(buffer: bytes, fmt: PixelFormat, width: int, height: int) -> Planes:
    planes = []
    offset = 0
    for rows, cols in fmt.plane_shapes(width, height):
        count = rows * cols
        plane = np.frombuffer(buffer, dtype=fmt.dtype, count=count, offset=offset).reshape(rows, cols)
        planes.append(plane)
        offset += count * fmt.dtype.itemsize
    return _from_file_order(fmt, tuple(planes))


class RawVideoReader:
    """Planar raw video (``.yuv``/``.rgb``): frames are back to back with no header."""

    def __init__(self, path: Path, fmt: PixelFormat, width: int, height: int) -> None:
        self.path = Path(path)
        self.fmt, self.width, self.height = fmt, width, height
        self.frame_bytes = fmt.frame_bytes(width, height)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            raise DataError(f"{self.path}: file not found") from None
        if size % self.frame_bytes:
            raise DataError(
                f"{self.path}: size {size} bytes is not a whole number of {width}x{height} {fmt.name} frames "
                f"({self.frame_bytes} bytes each); check the width, height, bit depth and chroma format"
            )
        self.num_frames = size // self.frame_bytes

    def frame_bytes_at(self, first: int, count: int) -> Iterator[bytes]:
        """Raw bytes of frames ``first .. first+count-1`` (used for hashing what is read)."""
        with open(self.path, "rb") as f:
            f.seek(first * self.frame_bytes)
            for _ in range(count):
                buf = f.read(self.frame_bytes)
                if len(buf) != self.frame_bytes:
                    raise DataError(f"{self.path}: ended before frame {first + count - 1}")
                yield buf

    def frames(self, first: int = 0, count: int | None = None) -> Iterator[Planes]:
        count = self.num_frames - first if count is None else count
        for buf in self.frame_bytes_at(first, count):
            yield _split_planes(buf, self.fmt, self.width, self.height)


class RawVideoWriter:
    """Writes planar raw video atomically: ``<path>.partial`` is renamed to ``path`` on a clean close."""

    def __init__(self, path: Path, fmt: PixelFormat) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self._tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        self._file = open(self._tmp, "wb")  # noqa: SIM115 (closed in close()/__exit__)

    def write(self, planes: Planes) -> None:
        try:
            for plane in _to_file_order(self.fmt, planes):
                self._file.write(np.ascontiguousarray(plane, dtype=self.fmt.dtype).tobytes())
        except OSError as e:  # a full disk: said with the file's name (a write's own error names none)
            raise OSError(e.errno, e.strerror, str(self.path)) from None

    def close(self, commit: bool = True) -> None:
        self._file.close()
        if commit:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RawVideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(commit=exc_type is None)


# --- Y4M -------------------------------------------------------------------------------------------------

_Y4M_COLORSPACES = {
    "420": "yuv420p", "420jpeg": "yuv420p", "420paldv": "yuv420p", "420mpeg2": "yuv420p",
    "444": "yuv444p", "420p10": "yuv420p10le", "444p10": "yuv444p10le",
    "420p12": "yuv420p12le", "444p12": "yuv444p12le", "420p16": "yuv420p16le", "444p16": "yuv444p16le",
}


_Y4M_TAGS = {"yuv420p": "420jpeg", "yuv444p": "444", "yuv420p10le": "420p10", "yuv444p10le": "444p10",
             "yuv420p12le": "420p12", "yuv444p12le": "444p12", "yuv420p16le": "420p16", "yuv444p16le": "444p16"}


class Y4mHeader:
    """The stream header of a YUV4MPEG2 file."""

    def __init__(self, width: int, height: int, fps: float, fmt: PixelFormat, header_len: int) -> None:
        self.width, self.height, self.fps, self.fmt, self.header_len = width, height, fps, fmt, header_len


def read_y4m_header(path: Path) -> Y4mHeader:
    with open(path, "rb") as f:
        line = f.readline(4096)
    if not line.startswith(b"YUV4MPEG2 ") or not line.endswith(b"\n"):
        raise DataError(f"{path}: not a Y4M file (no 'YUV4MPEG2' stream header)")
    try:
        fields = {tok[:1]: tok[1:] for tok in line.decode("ascii").split()[1:]}
        width, height = int(fields["W"]), int(fields["H"])
        num, den = fields.get("F", "25:1").split(":")
        fps = int(num) / int(den)
        if width <= 0 or height <= 0 or fps <= 0:
            raise ValueError("not positive")
    except (KeyError, ValueError, UnicodeDecodeError, ZeroDivisionError):
        raise DataError(f"{path}: Y4M header lacks a valid W, H or F field (positive numbers, F num:den): "
                        f"{line[:200]!r}") from None
    colorspace = fields.get("C", "420jpeg")
    if colorspace not in _Y4M_COLORSPACES:
        raise DataError(f"{path}: Y4M colour space C{colorspace} is not supported (use 4:2:0 or 4:4:4)")
    return Y4mHeader(width, height, fps, pixel_format(_Y4M_COLORSPACES[colorspace]), len(line))


class Y4mReader:
    """YUV4MPEG2 file; each frame is ``FRAME[ params]\\n`` followed by planar samples."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: file not found")
        self.header = read_y4m_header(self.path)
        self.fmt, self.width, self.height = self.header.fmt, self.header.width, self.header.height
        self.frame_bytes = self.fmt.frame_bytes(self.width, self.height)
        # Frames normally carry no parameters, so each takes len("FRAME\n") + payload; verify that.
        stride = 6 + self.frame_bytes
        payload = self.path.stat().st_size - self.header.header_len
        if payload % stride:
            raise DataError(
                f"{self.path}: size is not a whole number of {self.width}x{self.height} {self.fmt.name} frames "
                "(or frames carry parameters, which are not supported)"
            )
        self.num_frames = payload // stride
        self._stride = stride

    def frame_bytes_at(self, first: int, count: int) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            f.seek(self.header.header_len + first * self._stride)
            for i in range(count):
                marker = f.read(6)
                if marker != b"FRAME\n":
                    raise DataError(f"{self.path}: frame {first + i} does not start with FRAME")
                buf = f.read(self.frame_bytes)
                if len(buf) != self.frame_bytes:
                    raise DataError(f"{self.path}: ended before frame {first + count - 1}")
                yield buf

    def frames(self, first: int = 0, count: int | None = None) -> Iterator[Planes]:
        count = self.num_frames - first if count is None else count
        for buf in self.frame_bytes_at(first, count):
            yield _split_planes(buf, self.fmt, self.width, self.height)


def write_y4m(path: Path, frames: Iterator[Planes], fmt: PixelFormat, width: int, height: int, fps: int) -> int:
    """Write frames to a Y4M file atomically; returns the number of frames written."""
    tag = _Y4M_TAGS.get(fmt.name)
    if tag is None:
        raise ValueError(f"Y4M cannot hold {fmt.name}")
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    count = 0
    with open(tmp, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C{tag}\n".encode("ascii"))
        for planes in frames:
            f.write(b"FRAME\n")
            for plane in planes:
                f.write(np.ascontiguousarray(plane, dtype=fmt.dtype).tobytes())
            count += 1
    os.replace(tmp, path)
    return count


# --- PNG folders -----------------------------------------------------------------------------------------

def _natural_key(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


class PngSequenceReader:
    """A folder of 8-bit RGB PNG files, in natural order (``im00001.png``, ``im00002.png``, ...)."""

    fmt = pixel_format("gbrp")

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder)
        if not self.path.is_dir():
            raise DataError(f"{self.path}: PNG folder not found")
        self.files = sorted(self.path.glob("*.png"), key=_natural_key)
        if not self.files:
            raise DataError(f"{self.path}: folder holds no .png files")
        sizes = [_png_size(p) for p in self.files]  # headers only: a bad frame is found before any coding
        self.width, self.height = sizes[0]
        odd = next((p for p, s in zip(self.files, sizes, strict=True) if s != sizes[0]), None)
        if odd is not None:
            raise DataError(f"{odd}: size {_png_size(odd)[0]}x{_png_size(odd)[1]} differs from the first frame's "
                            f"{self.width}x{self.height} ({self.files[0].name})")
        self.num_frames = len(self.files)

    def frame_bytes_at(self, first: int, count: int) -> Iterator[bytes]:
        for path in self.files[first : first + count]:
            yield path.read_bytes()

    def frames(self, first: int = 0, count: int | None = None) -> Iterator[Planes]:
        count = self.num_frames - first if count is None else count
        for path in self.files[first : first + count]:
            planes = read_png_frame(path)
            if planes[0].shape != (self.height, self.width):
                raise DataError(f"{path}: size {planes[0].shape[::-1]} differs from the first frame's")
            yield planes


def _png_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                raise DataError(f"{path}: not a PNG file (it is {im.format})")
            return im.size
    except (OSError, SyntaxError, ValueError) as e:  # PIL's UnidentifiedImageError is an OSError
        raise DataError(f"{path}: not a readable PNG file ({type(e).__name__}: {e})") from None


def read_png_frame(path: Path) -> Planes:
    """One 8-bit PNG as (R, G, B) planes."""
    with Image.open(path) as im:
        if im.mode not in ("RGB", "RGBA", "L", "P"):
            raise DataError(f"{path}: PNG mode {im.mode} is not 8-bit RGB")
        rgb = np.asarray(im.convert("RGB"))
    return (rgb[..., 0].copy(), rgb[..., 1].copy(), rgb[..., 2].copy())


def write_png_frame(path: Path, planes: Planes) -> None:
    rgb = np.stack([np.asarray(p, dtype=np.uint8) for p in planes], axis=-1)
    tmp = Path(path).with_name(Path(path).name + ".partial")
    Image.fromarray(rgb, "RGB").save(tmp, format="PNG")
    os.replace(tmp, path)
