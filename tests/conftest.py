"""Shared fixtures: small real clips cut from the demo renderer, a scratch results folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import demo
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo set rendered once per test session into a private cache."""
    root = tmp_path_factory.mktemp("demo")
    demo.generate(root)
    return root


def write_clip(src: Path, dest: Path, width: int, height: int, frames: int, x: int = 0, y: int = 0) -> Path:
    """Cut a ``width x height`` window of the first frames of a 416x240 demo sequence into a raw file."""
    fmt = pixel_format("yuv420p")
    reader = RawVideoReader(src, fmt, 416, 240)
    with RawVideoWriter(dest, fmt) as w:
        for yp, up, vp in reader.frames(0, frames):
            w.write((yp[y : y + height, x : x + width], up[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2],
                     vp[y // 2 : (y + height) // 2, x // 2 : (x + width) // 2]))
    return dest


@pytest.fixture(scope="session")
def clip_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 96x64, 12-frame clips named by the Name_WxH_fps convention."""
    root = tmp_path_factory.mktemp("clips")
    write_clip(demo_dir / "HopperPan_416x240_30.yuv", root / "Pan_96x64_30.yuv", 96, 64, 12, 160, 60)
    write_clip(demo_dir / "MovingShapes_416x240_30.yuv", root / "Shapes_96x64_30.yuv", 96, 64, 12, 240, 100)
    return root


def random_planes(rng: np.random.Generator, fmt_name: str, width: int, height: int) -> tuple[np.ndarray, ...]:
    fmt = pixel_format(fmt_name)
    return tuple(rng.integers(0, fmt.peak + 1, size=shape, dtype=np.int64).astype(fmt.dtype)
                 for shape in fmt.plane_shapes(width, height))
