"""Shared fixtures and helpers: small real clips cut from the demo renderer, condition files over them, a
private cache for the whole session, a DCVC-shaped checkout around the stand-in script, a VTM log, and a wait
for an event (a file appearing, a process group gone) with a deadline instead of a fixed sleep."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.conditions import demo
from bench.store.results import ResultStore
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter

REPO = Path(__file__).resolve().parent.parent

# hypothesis keeps its example database and constants cache in ./.hypothesis by default: a temporary folder
# instead, set before hypothesis is first imported, removed at exit.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="lvcbench-hypothesis-"))
atexit.register(shutil.rmtree, os.environ["HYPOTHESIS_STORAGE_DIRECTORY"], True)
try:
    from hypothesis import settings

    settings.register_profile("lvcbench", database=None)
    settings.load_profile("lvcbench")
except ImportError:  # only the fuzz tests need it, and they skip without it
    pass
STANDIN = Path(__file__).with_name("dcvc_standin.py")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test writes only under its temporary folders: the probe and demo caches included (the user's
    ~/.cache/lvcbench is never touched). A test that wants its own cache sets LVCBENCH_CACHE itself."""
    before = os.environ.get("LVCBENCH_CACHE")
    os.environ["LVCBENCH_CACHE"] = str(tmp_path_factory.mktemp("lvcbench-cache"))
    yield
    if before is None:
        os.environ.pop("LVCBENCH_CACHE", None)
    else:
        os.environ["LVCBENCH_CACHE"] = before


def wait_until(ready: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for READY (an event a test cannot be told of directly: records appearing, a process group gone),
    checking every 50 ms; fail naming WHAT after TIMEOUT seconds. Nothing is asserted on how long it took."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def group_gone(pgid: int) -> bool:
    """Whether no live process of the process group PGID is left. Killed ones may stay zombies until someone
    reaps them (in a container nobody may), so on Linux the process table is read: state Z does not count."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, pgrp ...
        except (OSError, IndexError):
            continue  # gone while being read
        if int(fields[2]) == pgid and fields[0] != "Z":
            return False
    return True


def condition_file(tmp_path: Path, clip_dir: Path, codecs: str = "[x264, x265]", extra: str = "",
                   name: str = "t", metrics: str = "{ms_ssim: []}") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
sequences:
  - {{name: Pan, file: Pan_96x64_30.yuv, group: A}}
  - {{name: Shapes, file: Shapes_96x64_30.yuv, group: B}}
data_root: {clip_dir}
frames: {{first: 0, count: 8}}
intra_period: 4
metrics: {metrics}
{f"codecs: {codecs}" if codecs else ""}
{extra}
""")
    return path


def records(results: Path, name: str = "t") -> list[dict]:
    """The last run's records with their measurements pooled as its condition says (what tables and reports see)."""
    return ResultStore(results / name).run_records()


VTM_LOG = """VVCSoftware: VTM Encoder Version 23.13 [Linux][GCC 12.2.0][64 bit] [SIMD=AVX2]
POC    0 LId:  0 TId: 0 ( IDR_W_RADL, I-SLICE, QP 27 )     512000 bits [Y 38.1000 dB    U 41.0000 dB    V 42.0000 dB]

\tTotal Frames |  Bitrate      Y-PSNR   U-PSNR   V-PSNR   YUV-PSNR 
\t       97    a  3416.5964    36.7669  41.5226  42.3380  38.1849  

 Total Time:      120.000 sec. [user]      121.500 sec. [elapsed]
"""



def dcvc_checkout(tmp_path: Path, name: str) -> Path:
    """A folder shaped like the generation's: its script (the stand-in), checkpoints, and the two helpers the
    q-scale probe imports (src.utils.stream_helper.get_state_dict, src.utils.common.interpolate_log)."""
    import torch

    from bench.adapters.dcvc import GENERATIONS

    folder = tmp_path / name
    (folder / "src" / "utils").mkdir(parents=True)
    shutil.copy(STANDIN, folder / GENERATIONS[name].script)
    (folder / "src" / "__init__.py").write_text("")
    (folder / "src" / "utils" / "__init__.py").write_text("")
    (folder / "src" / "utils" / "stream_helper.py").write_text(
        "import torch\n\ndef get_state_dict(path):\n    return torch.load(path, map_location='cpu')\n")
    (folder / "src" / "utils" / "common.py").write_text(
        "import numpy as np\n\ndef interpolate_log(min_val, max_val, num, decending=True):\n"
        "    values = np.exp(np.linspace(np.log(min_val), np.log(max_val), num))\n"
        "    return values[::-1] if decending else values\n")
    torch.save({"q_scale": torch.tensor([[1.5], [1.0], [0.7], [0.45]])}, folder / "image.pth.tar")
    torch.save({"y_q_scale": torch.tensor([[1.4], [1.0], [0.8], [0.5]]),
                "mv_y_q_scale": torch.tensor([[1.2], [1.0], [0.9], [0.6]])}, folder / "video.pth.tar")
    return folder




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
