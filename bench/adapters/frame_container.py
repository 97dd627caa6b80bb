"""The file format of one coded frame of an in-process learned codec (the CompressAI models): what the rate counts.

A learned model's ``compress`` returns byte strings and latent shapes, not a file. We write each frame to its
own file, which is what the suite measures (rate = file bytes x 8), so the layout below is part of every rate
and is kept small. All integers are big-endian.

::

    u8   kind              0: intra (an image, or a video model's key frame), 1: inter
    (intra only)
    u16  width, u16 height  the coded frame size before the model's own padding
    u8   groups             latent groups that follow (1 for image models and key frames; SSF inter: 2)
    per group:
      u16 rows, u16 cols    the latent shape the decoder needs (the model's "shape")
      u8  strings           entropy-coded strings in this group (one per latent: y, z, ...)
      per string: u32 length, then that many bytes

The overhead is 6 bytes (intra) or 2 (inter) + 5 per group + 4 per string: 19 bytes for a hyperprior image or
an SSF key frame, 28 for an SSF inter frame. Nothing else is hidden in memory: the decoder needs only these bytes and the model's weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from bench.errors import AdapterError

INTRA, INTER = 0, 1


@dataclass(frozen=True)
class LatentGroup:
    shape: tuple[int, int]
    strings: tuple[bytes, ...]


@dataclass(frozen=True)
class CodedFrame:
    kind: int
    width: int  # 0 for inter frames (the size is the key frame's)
    height: int
    groups: tuple[LatentGroup, ...]


def encode_frame(frame: CodedFrame) -> bytes:
    """The bytes of one frame file."""
    out = [struct.pack(">B", frame.kind)]
    if frame.kind == INTRA:
        out.append(struct.pack(">HH", frame.width, frame.height))
    out.append(struct.pack(">B", len(frame.groups)))
    for group in frame.groups:
        out.append(struct.pack(">HHB", group.shape[0], group.shape[1], len(group.strings)))
        for s in group.strings:
            out.append(struct.pack(">I", len(s)))
            out.append(s)
    return b"".join(out)


def decode_frame(data: bytes, path: Path) -> CodedFrame:
    """Parse one frame file; a truncated or foreign file is an AdapterError naming it."""
    pos = 0

    def take(fmt: str) -> tuple[int, ...]:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(data):
            raise AdapterError(f"bitstream {path}: truncated at byte {pos} (the file holds {len(data)} bytes)")
        values = struct.unpack_from(fmt, data, pos)
        pos += size
        return values

    (kind,) = take(">B")
    if kind not in (INTRA, INTER):
        raise AdapterError(f"bitstream {path}: first byte {kind} is not a frame kind (0 intra, 1 inter)")
    width = height = 0
    if kind == INTRA:
        width, height = take(">HH")
    groups = []
    for _ in range(take(">B")[0]):
        rows, cols, count = take(">HHB")
        strings = []
        for _ in range(count):
            (length,) = take(">I")
            if pos + length > len(data):
                raise AdapterError(f"bitstream {path}: a string of {length} bytes runs past the end of the file")
            strings.append(data[pos:pos + length])
            pos += length
        groups.append(LatentGroup((rows, cols), tuple(strings)))
    if pos != len(data):
        raise AdapterError(f"bitstream {path}: {len(data) - pos} bytes left over after the last string")
    return CodedFrame(kind, width, height, tuple(groups))
