"""The built-in demo set: four 416x240 sequences generated deterministically, cached, never downloaded.

Three sequences move a virtual camera over natural images that ship with matplotlib (a photograph,
``grace_hopper.jpg``, and a shaded-relief rendering of a real elevation model, ``jacksboro_fault_dem.npz``):
a diagonal pan, a zoom with a slow rotation, and a fly-over. The fourth is synthetic: textured shapes moving
at different speeds over a noisy gradient. Motion is sub-pixel and sampled with cubic splines, so coded
frames behave like camera video (inter prediction helps, rate falls smoothly with QP).

Frames are rendered in RGB, quantised to 8 bits, and converted to YUV 4:2:0 8-bit with BT.709 limited range
(the convention of the HEVC/UVG test sequences). Files go to ``$LVCBENCH_CACHE/demo/v1`` (default
``~/.cache/lvcbench``), named ``Name_416x240_30.yuv``, written atomically. Bump ``DEMO_VERSION`` whenever
the rendering changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.conditions.sequences import SequenceInfo
from bench.tools import cache_root
from bench.video.colour import ColourSpec, convert
from bench.video.formats import make_format
from bench.video.io import RawVideoWriter

DEMO_VERSION = 1
WIDTH, HEIGHT, FPS, FRAMES = 416, 240, 30, 32
DEMO_COLOUR = ColourSpec(matrix="bt709", range="limited", chroma_upsampling="bilinear")


def demo_root() -> Path:
    return cache_root() / "demo" / f"v{DEMO_VERSION}"


# --- source images --------------------------------------------------------------------------------------

def _photo() -> np.ndarray:
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0  # 600 x 512


def _terrain() -> np.ndarray:
    from matplotlib import cbook, colormaps
    from matplotlib.colors import LightSource

    # What get_sample_data's default (asfileobj=True) returns for a .npz, with a type the checker knows.
    dem = np.load(cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False))
    elevation = np.asarray(dem["elevation"], dtype=np.float64)
    shaded = LightSource(azdeg=315, altdeg=40).shade(elevation, cmap=colormaps["gist_earth"], blend_mode="overlay",
                                                     vert_exag=0.08, dx=10, dy=10)
    return np.asarray(shaded[..., :3], dtype=np.float64)  # 344 x 403


def _spline(image: np.ndarray) -> np.ndarray:
    """Cubic B-spline coefficients per channel, computed once per image rather than once per frame."""
    from scipy import ndimage  # here, not at the top: only generating the demo needs it

    return np.stack([ndimage.spline_filter(image[..., c], order=3, mode="mirror") for c in range(3)], axis=-1)


def _sample(coefficients: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Cubic-spline samples of an RGB image (given as spline coefficients) at (rows, cols)."""
    from scipy import ndimage

    return np.stack([ndimage.map_coordinates(coefficients[..., c], [rows, cols], order=3, mode="mirror",
                                             prefilter=False) for c in range(3)], axis=-1)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    return rows, cols


def _camera(image: np.ndarray, t: int, centre: tuple[float, float], velocity: tuple[float, float],
            scale: float, zoom_rate: float, angle_rate: float) -> np.ndarray:
    """A camera over ``image``: centre moves by ``velocity`` px/frame, zoom and rotate about it."""
    gy, gx = _grid()
    gy -= (HEIGHT - 1) / 2
    gx -= (WIDTH - 1) / 2
    s = scale / (1.0 + zoom_rate * t)
    a = np.deg2rad(angle_rate * t)
    rows = centre[0] + velocity[0] * t + s * (np.cos(a) * gy + np.sin(a) * gx)
    cols = centre[1] + velocity[1] * t + s * (-np.sin(a) * gy + np.cos(a) * gx)
    return _sample(image, rows, cols)


def _synthetic_factory() -> Callable[[int], np.ndarray]:
    from scipy import ndimage

    rng = np.random.default_rng(20261122)
    gy, gx = _grid()
    background = np.stack([0.25 + 0.5 * gx / WIDTH, 0.3 + 0.4 * gy / HEIGHT, 0.6 - 0.3 * gx / WIDTH], axis=-1)
    noise = _spline(ndimage.gaussian_filter(rng.standard_normal((HEIGHT + 64, WIDTH + 128, 3)), sigma=(1.5, 1.5, 0)))
    stripes = 0.5 + 0.5 * np.sin(gx / 3.0)[..., None] * np.cos(gy / 5.0)[..., None]
    discs = [(rng.uniform(30, HEIGHT - 30), rng.uniform(30, WIDTH - 30), rng.uniform(18, 40),
              rng.uniform(-2.5, 2.5), rng.uniform(-3.5, 3.5), rng.uniform(0.1, 0.9, 3)) for _ in range(5)]

    def render(t: int) -> np.ndarray:
        # The noise texture drifts by a sub-pixel amount each frame, like a slowly panning textured wall.
        shifted = _sample(noise, gy + 20 + 0.7 * t, gx + 40 + 1.3 * t)
        frame = background + 0.12 * shifted
        for cy, cx, radius, vy, vx, colour in discs:
            y, x = cy + vy * t, cx + vx * t
            edge = np.clip(radius - np.hypot(gy - y, gx - x) + 0.5, 0.0, 1.0)[..., None]  # anti-aliased rim
            frame = frame * (1 - edge) + edge * (colour * (0.6 + 0.4 * stripes))
        # A rotating square with fine stripes inside: hard for motion compensation, like real detail.
        a = np.deg2rad(3.0 * t)
        u = np.cos(a) * (gx - 300) + np.sin(a) * (gy - 120)
        v = -np.sin(a) * (gx - 300) + np.cos(a) * (gy - 120)
        inside = np.clip(45.5 - np.maximum(np.abs(u), np.abs(v)), 0.0, 1.0)[..., None]
        checker = (0.5 + 0.5 * np.sign(np.sin(u / 4.0) * np.sin(v / 4.0)))[..., None]
        frame = frame * (1 - inside) + inside * (0.15 + 0.7 * checker)
        return np.clip(frame, 0.0, 1.0)

    return render


def _renderers() -> dict[str, Callable[[int], np.ndarray]]:
    photo = _spline(_photo())
    terrain = _spline(_terrain())
    return {
        "HopperPan": lambda t: _camera(photo, t, (250.0, 220.0), (1.9, 2.6), 1.0, 0.0, 0.0),
        "HopperZoom": lambda t: _camera(photo, t, (230.0, 256.0), (0.0, 0.0), 1.15, 0.015, 0.25),
        "TerrainFlyover": lambda t: _camera(terrain, t, (150.0, 150.0), (1.3, 1.7), 0.55, 0.004, -0.4),
        "MovingShapes": _synthetic_factory(),
    }


SEQUENCE_NAMES = ("HopperPan", "HopperZoom", "TerrainFlyover", "MovingShapes")


def _file_name(name: str) -> str:
    return f"{name}_{WIDTH}x{HEIGHT}_{FPS}.yuv"


def generate(root: Path) -> None:
    """Render every demo sequence that is not cached yet."""
    root.mkdir(parents=True, exist_ok=True)
    missing = [n for n in SEQUENCE_NAMES if not (root / _file_name(n)).exists()]
    if not missing:
        return
    renderers = _renderers()
    rgb, yuv = make_format("rgb", "444", 8), make_format("yuv", "420", 8)
    for name in missing:
        with RawVideoWriter(root / _file_name(name), yuv) as writer:
            for t in range(FRAMES):
                # Cubic splines overshoot at edges: clip before quantising, or values would wrap around.
                frame = np.floor(np.clip(renderers[name](t), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
                planes = (frame[..., 0], frame[..., 1], frame[..., 2])
                writer.write(convert(planes, rgb, yuv, DEMO_COLOUR))


def demo_manifest() -> list[SequenceInfo]:
    """The demo sequences (generated into the cache on first use)."""
    generate(demo_root())
    return [SequenceInfo(n, "demo", _file_name(n), WIDTH, HEIGHT, FPS, FRAMES) for n in SEQUENCE_NAMES]
