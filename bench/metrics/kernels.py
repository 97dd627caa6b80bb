"""The CPU arithmetic of the default metrics, compiled with numba: SSE, MS-SSIM and the YUV -> RGB conversion.

Why compiled kernels, measured on 1920x1080 frames on one core of a 2-core AMD EPYC (``benchmarks/metrics_speed.py``
prints the current figures): ``pytorch_msssim.ms_ssim`` on Y took 0.35-0.9 s per frame, mostly in grouped 1-D
convolutions and full-frame temporaries; OpenCV's separable filter (5 ms a pass) plus numpy element-wise maps
took 76 ms; these row kernels, which keep a row's five filtered maps in cache and never write a full-frame
temporary, take 13-17 ms (8-10 ms on two threads). The float64 numpy conversion to RGB took 60-70 ms per frame pair, the same arithmetic
here about 20 ms. Every kernel uses numba's ``error_model="numpy"``: with Python's, a division checks for zero
and that check alone kept the SSIM map loop from vectorising (10 against 16 ms at the first scale).

Definitions, unchanged from the ones the suite documents:

* **SSE**: exact integer sum of squared differences (int64 accumulator).
* **MS-SSIM**: exactly ``pytorch_msssim.ms_ssim`` (window 11, sigma 1.5, ``K = (0.01, 0.03)``, five scales,
  weights ``0.0448, 0.2856, 0.3001, 0.2363, 0.1333``): valid (unpadded) separable Gaussian filtering along rows
  then columns, float32 maps, ``relu`` of each scale's mean contrast-structure and of the last scale's mean SSIM,
  2x2 average pooling with one zero sample of padding on each side of an odd dimension (``avg_pool2d`` with
  ``padding = size % 2``, padding counted in the mean), the product of the scale terms raised to the weights;
  the mean over channels for R, G, B. Float32 sums in another order than torch's give agreement to about 1e-7
  on natural content (the tests hold it within 5e-6); on near-flat frames close to the peak, where float32 is
  itself up to 7e-5 from float64 (sigma = E[x^2] - mu^2 cancels large numbers), within 1e-4.
* **YUV -> RGB**: the arithmetic of :func:`bench.video.colour.convert`, operation for operation in float64 and
  with no fast-math, so that every output sample is identical (the tests compare the two on every format).

Kernels release the GIL: the row bands of one large frame, or the channels of an RGB frame, run on as many
threads as the measuring budget allows (:class:`Kernels`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from numba import njit

from bench.video.colour import MATRICES, ColourSpec, _dequantise_yuv
from bench.video.formats import PixelFormat, Planes, make_format

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_WINDOW = 11
MS_SSIM_MIN_SIDE = (MS_SSIM_WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1  # 161: pytorch_msssim's bound
T = TypeVar("T")
_PARALLEL_MIN_ROWS = 256  # below this a frame's rows are not split across threads (overhead exceeds the gain)


# pytorch_msssim's window, _fspecial_gauss_1d(11, 1.5): exp(-x^2 / 2 sigma^2) normalised, in float32. Kept as
# its exact float32 values rather than recomputed: numpy's exp differs from torch's in the last bit, and a window
# whose sum is off by 1e-7 moves sigma^2 = E[x^2] - mu^2 of a flat 8-bit area by 0.006, MS-SSIM by about 2e-6
# (measured). tests/metrics/test_fast_metrics.py checks these against pytorch_msssim.
GAUSSIAN_WINDOW = (0.0010283804, 0.007598758, 0.036000773, 0.10936069, 0.21300553, 0.26601171,
                   0.21300553, 0.10936069, 0.036000773, 0.007598758, 0.0010283804)


def gaussian_window() -> np.ndarray:
    return np.array(GAUSSIAN_WINDOW, dtype=np.float32)


# --- compiled kernels ---------------------------------------------------------------------------------------

@njit(nogil=True, cache=True, error_model="numpy")
def _sse(a, b):  # pragma: no cover - compiled
    total = 0
    for i in range(a.shape[0]):
        ra = a[i]
        rb = b[i]
        for j in range(a.shape[1]):
            d = np.int64(ra[j]) - np.int64(rb[j])
            total += d * d
    return total


# The filtering may fuse each multiply and add into one FMA instruction (LLVM's "contract" flag, nothing else of
# fast-math): 15 % faster MS-SSIM (14.2 against 16.6 ms for Y of a 1080p frame, 43 against 50 ms for RGB,
# measured) for a rounding that moves MS-SSIM by about 5e-8, while torch's own summation order already differs
# from ours by 1e-7. The conversion to RGB stays without it: its samples must equal colour.convert's.
_CONTRACT = {"contract"}

# The 11 taps are written out: with the window's length known to the compiler each output sample is one
# vectorised expression held in registers, about twice as fast as accumulating tap by tap through memory
# (measured: 3.5 against 7.0 ms for five 1080p horizontal passes). Not inlined into _ssim_rows: as fast (9.5 ms
# for the first MS-SSIM scale of a 1080p frame either way) and 20 % less to compile (1.3 against 1.6 s a signature).

@njit(nogil=True, cache=True, error_model="numpy", fastmath=_CONTRACT)
def _filter_row(v, out, g):  # pragma: no cover - compiled
    g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10]
    for j in range(out.shape[0]):
        out[j] = (g0 * v[j] + g1 * v[j + 1] + g2 * v[j + 2] + g3 * v[j + 3] + g4 * v[j + 4] + g5 * v[j + 5]
                  + g6 * v[j + 6] + g7 * v[j + 7] + g8 * v[j + 8] + g9 * v[j + 9] + g10 * v[j + 10])


@njit(nogil=True, cache=True, error_model="numpy", fastmath=_CONTRACT)
def _ssim_rows(x, y, g, c1, c2, r0, r1):  # pragma: no cover - compiled
    """Sums of the SSIM and contrast-structure maps over output rows r0..r1-1 of the valid 11-tap filtering of
    x and y: along the rows first (as pytorch_msssim), then along the columns."""
    w = x.shape[1]
    ow = w - 10
    g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10]
    vx = np.empty(w, np.float32)
    vy = np.empty(w, np.float32)
    vxx = np.empty(w, np.float32)
    vyy = np.empty(w, np.float32)
    vxy = np.empty(w, np.float32)
    mx = np.empty(ow, np.float32)
    my = np.empty(ow, np.float32)
    exx = np.empty(ow, np.float32)
    eyy = np.empty(ow, np.float32)
    exy = np.empty(ow, np.float32)
    sum_ssim = np.zeros(ow, np.float64)  # per-column accumulators keep the loops vectorisable
    sum_cs = np.zeros(ow, np.float64)
    two = np.float32(2.0)
    f32 = np.float32
    for i in range(r0, r1):
        x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = (x[i], x[i + 1], x[i + 2], x[i + 3], x[i + 4], x[i + 5],
                                                       x[i + 6], x[i + 7], x[i + 8], x[i + 9], x[i + 10])
        y0, y1, y2, y3, y4, y5, y6, y7, y8, y9, y10 = (y[i], y[i + 1], y[i + 2], y[i + 3], y[i + 4], y[i + 5],
                                                       y[i + 6], y[i + 7], y[i + 8], y[i + 9], y[i + 10])
        for j in range(w):  # along the rows: the 11 input rows of output row i, five sums in registers
            a0, a1, a2, a3, a4, a5 = f32(x0[j]), f32(x1[j]), f32(x2[j]), f32(x3[j]), f32(x4[j]), f32(x5[j])
            a6, a7, a8, a9, a10 = f32(x6[j]), f32(x7[j]), f32(x8[j]), f32(x9[j]), f32(x10[j])
            b0, b1, b2, b3, b4, b5 = f32(y0[j]), f32(y1[j]), f32(y2[j]), f32(y3[j]), f32(y4[j]), f32(y5[j])
            b6, b7, b8, b9, b10 = f32(y6[j]), f32(y7[j]), f32(y8[j]), f32(y9[j]), f32(y10[j])
            vx[j] = (g0 * a0 + g1 * a1 + g2 * a2 + g3 * a3 + g4 * a4 + g5 * a5
                     + g6 * a6 + g7 * a7 + g8 * a8 + g9 * a9 + g10 * a10)
            vy[j] = (g0 * b0 + g1 * b1 + g2 * b2 + g3 * b3 + g4 * b4 + g5 * b5
                     + g6 * b6 + g7 * b7 + g8 * b8 + g9 * b9 + g10 * b10)
            vxx[j] = (g0 * (a0 * a0) + g1 * (a1 * a1) + g2 * (a2 * a2) + g3 * (a3 * a3) + g4 * (a4 * a4)
                      + g5 * (a5 * a5) + g6 * (a6 * a6) + g7 * (a7 * a7) + g8 * (a8 * a8) + g9 * (a9 * a9)
                      + g10 * (a10 * a10))
            vyy[j] = (g0 * (b0 * b0) + g1 * (b1 * b1) + g2 * (b2 * b2) + g3 * (b3 * b3) + g4 * (b4 * b4)
                      + g5 * (b5 * b5) + g6 * (b6 * b6) + g7 * (b7 * b7) + g8 * (b8 * b8) + g9 * (b9 * b9)
                      + g10 * (b10 * b10))
            vxy[j] = (g0 * (a0 * b0) + g1 * (a1 * b1) + g2 * (a2 * b2) + g3 * (a3 * b3) + g4 * (a4 * b4)
                      + g5 * (a5 * b5) + g6 * (a6 * b6) + g7 * (a7 * b7) + g8 * (a8 * b8) + g9 * (a9 * b9)
                      + g10 * (a10 * b10))
        # then along the columns
        _filter_row(vx, mx, g)
        _filter_row(vy, my, g)
        _filter_row(vxx, exx, g)
        _filter_row(vyy, eyy, g)
        _filter_row(vxy, exy, g)
        for j in range(ow):
            m11 = mx[j] * mx[j]
            m22 = my[j] * my[j]
            m12 = mx[j] * my[j]
            cs = (two * (exy[j] - m12) + c2) / ((exx[j] - m11) + (eyy[j] - m22) + c2)
            mx[j] = ((two * m12 + c1) / (m11 + m22 + c1)) * cs  # reuse the row buffers for the two maps
            my[j] = cs
        for j in range(ow):
            sum_ssim[j] += mx[j]
            sum_cs[j] += my[j]
    return sum_ssim.sum(), sum_cs.sum()


@njit(nogil=True, cache=True, error_model="numpy")
def _pool2(x):  # pragma: no cover - compiled
    """avg_pool2d(kernel 2, stride 2, padding = size % 2 per side, padding counted) of a 2-D array, float32."""
    h, w = x.shape
    ph = h % 2
    pw = w % 2
    oh = (h + 2 * ph - 2) // 2 + 1
    ow = (w + 2 * pw - 2) // 2 + 1
    out = np.empty((oh, ow), np.float32)
    quarter = np.float32(0.25)
    if ph == 0 and pw == 0:  # even sides (most frames at most scales): no padding to test for, vectorised
        for i in range(oh):
            r0, r1, o = x[2 * i], x[2 * i + 1], out[i]
            for j in range(ow):
                o[j] = (((np.float32(r0[2 * j]) + np.float32(r0[2 * j + 1])) + np.float32(r1[2 * j]))
                        + np.float32(r1[2 * j + 1])) * quarter
        return out
    for i in range(oh):
        for j in range(ow):
            s = np.float32(0.0)
            for a in range(2):
                r = 2 * i - ph + a
                if 0 <= r < h:
                    for b in range(2):
                        c = 2 * j - pw + b
                        if 0 <= c < w:
                            s += np.float32(x[r, c])
            out[i, j] = s * quarter
    return out


@njit(nogil=True, cache=True, error_model="numpy")
def _upsampled_row(c, lut, i, width, up, out, vert):  # pragma: no cover - compiled
    """Row i of the chroma plane C dequantised (LUT: each code's value) at luma width: up 0 as is (4:4:4), 1
    nearest, 2 bilinear (3/4 and 1/4 of the two nearest samples, rows first, then columns, edges replicated:
    colour.upsample_420's order).
    VERT: scratch of C's width. Bilinear: the vertical step once per chroma sample, then the even and the odd
    output samples in loops of their own, the replicated edges apart (no test per sample: they vectorise)."""
    if up == 0:
        for j in range(width):
            out[j] = lut[c[i, j]]
        return
    if up == 1:
        for j in range(width):
            out[j] = lut[c[i // 2, j // 2]]
        return
    ch, cw = c.shape
    ci = i // 2
    top, bottom = c[ci], c[max(ci - 1, 0) if i % 2 == 0 else min(ci + 1, ch - 1)]
    for m in range(cw):
        vert[m] = 0.75 * lut[top[m]] + 0.25 * lut[bottom[m]]
    out[0] = 0.75 * vert[0] + 0.25 * vert[0]  # even j = 2m: its other sample is m - 1, replicated at the left
    for m in range(1, (width + 1) // 2):
        out[2 * m] = 0.75 * vert[m] + 0.25 * vert[m - 1]
    for m in range(min(width // 2, cw - 1)):  # odd j = 2m + 1: its other sample is m + 1 ...
        out[2 * m + 1] = 0.75 * vert[m] + 0.25 * vert[m + 1]
    if width % 2 == 0:  # ... replicated at the right
        out[width - 1] = 0.75 * vert[cw - 1] + 0.25 * vert[cw - 1]


@njit(nogil=True, cache=True, error_model="numpy")
def _yuv_to_rgb_rows(y, cb, cr, y_lut, c_lut, r_out, g_out, b_out, r0, r1, up, scale, kr, kb, kg, cr_to_r, cb_to_b):  # pragma: no cover
    """Rows r0..r1-1 of R, G, B from Y, Cb and Cr codes (dequantised by the tables Y_LUT and C_LUT: the same
    float64 values as colour.convert's arithmetic gives), colour.convert's operations in its order.
    Three passes per row (gather luma, float RGB, quantise) so that the last two vectorise: twice as fast as
    one fused loop (measured, 8 against 15 ms a 1080p frame)."""
    width = y.shape[1]
    u = np.empty(width, np.float64)
    v = np.empty(width, np.float64)
    yy = np.empty(width, np.float64)
    fr = np.empty(width, np.float64)
    fg = np.empty(width, np.float64)
    fb = np.empty(width, np.float64)
    vert = np.empty(cb.shape[1], np.float64)
    for i in range(r0, r1):
        _upsampled_row(cb, c_lut, i, width, up, u, vert)
        _upsampled_row(cr, c_lut, i, width, up, v, vert)
        y_row = y[i]
        for j in range(width):
            yy[j] = y_lut[y_row[j]]
        for j in range(width):
            r = yy[j] + cr_to_r * v[j]
            b = yy[j] + cb_to_b * u[j]
            fg[j] = (yy[j] - kr * r - kb * b) / kg
            fr[j] = r
            fb[j] = b
        r_row, g_row, b_row = r_out[i], g_out[i], b_out[i]
        for j in range(width):
            r_row[j] = min(max(math.floor(fr[j] * scale + 0.5), 0.0), scale)
            g_row[j] = min(max(math.floor(fg[j] * scale + 0.5), 0.0), scale)
            b_row[j] = min(max(math.floor(fb[j] * scale + 0.5), 0.0), scale)


def _dequantisation_tables(bit_depth: int, spec: ColourSpec) -> tuple[np.ndarray, np.ndarray]:
    """Every code's dequantised luma and chroma value, computed by colour._dequantise_yuv itself (so a lookup
    gives the identical float64 the reference conversion uses)."""
    codes = np.arange(1 << bit_depth, dtype=np.uint16 if bit_depth > 8 else np.uint8)
    y, c, _ = _dequantise_yuv((codes, codes, codes), make_format("yuv", "444", bit_depth), spec)
    return y, c


# --- the callable side ---------------------------------------------------------------------------------------

def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of A (no copy). numba compiles one signature per writability of each argument, and the
    frames reach the kernels both ways (read from a file: read-only; converted or pooled here: writable): passed
    read-only always, each kernel is compiled once per dtype, which halves the compiling a fresh installation
    does and lets :func:`warm` cover every call."""
    view = a.view()
    view.flags.writeable = False
    return view


class Kernels:
    """The compiled kernels with a thread budget: at most THREADS kernels run at once, whichever threads call
    them (the measuring thread and the read-ahead thread of a job share one budget), and the row bands of one
    large frame or the channels of an RGB frame are spread over that many threads."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, int(threads))
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="measure") if self.threads > 1 else None
        self._permits = threading.BoundedSemaphore(self.threads)
        self._window = gaussian_window()
        self._luts: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def _bands(self, rows: int) -> list[tuple[int, int]]:
        n = self.threads if rows >= _PARALLEL_MIN_ROWS else 1
        edges = [rows * k // n for k in range(n + 1)]
        return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]

    def _call(self, kernel: Callable[..., T], *args: Any) -> T:
        with self._permits:  # a compiled kernel releases the GIL: the permit is what bounds the cores used
            return kernel(*args)

    def _map(self, fn: Callable[..., T], items: list[tuple[Any, ...]]) -> list[T]:
        """FN(*item) for each item, on the pool when there is one. FN takes its permits itself (through _call);
        the caller never holds one while it waits here."""
        if self._pool is None or len(items) == 1:
            return [fn(*it) for it in items]
        return list(self._pool.map(lambda it: fn(*it), items))

    def _kernel_map(self, kernel: Callable[..., T], items: list[tuple[Any, ...]]) -> list[T]:
        return self._map(lambda *args: self._call(kernel, *args), items)

    def sse(self, a: np.ndarray, b: np.ndarray) -> int:
        """Exact sum of squared differences of two integer planes."""
        if a.shape != b.shape:
            raise ValueError(f"planes differ in size: {a.shape} and {b.shape}")
        return int(self._call(_sse, _read_only(a), _read_only(b)))

    def ms_ssim(self, reference: np.ndarray, distorted: np.ndarray, data_range: float) -> float | None:
        """MS-SSIM of two (C, H, W) or (H, W) integer or float arrays (channel mean), or None when the frame is
        too small for five scales (shorter side 160 px or less)."""
        ref = reference if reference.ndim == 3 else reference[None]
        dec = distorted if distorted.ndim == 3 else distorted[None]
        if min(ref.shape[-2:]) < MS_SSIM_MIN_SIDE:
            return None
        # Whole channels in parallel, one per thread, as long as they fill every thread; the channels left over
        # (R, G, B on two threads: B) each split in row bands over all threads, so no thread idles while one
        # channel finishes (three channels on two threads in parallel alone would scale 1.5x at best).
        channels = ref.shape[0]
        whole = channels // self.threads * self.threads if self.threads > 1 else 0
        values = self._map(lambda a, b: self._ms_ssim_plane(a, b, data_range, split=False),
                           [(ref[c], dec[c]) for c in range(whole)]) if whole else []
        values += [self._ms_ssim_plane(ref[c], dec[c], data_range, split=True) for c in range(whole, channels)]
        return float(np.mean(values))

    def _ms_ssim_plane(self, x: np.ndarray, y: np.ndarray, data_range: float, split: bool) -> float:
        c1 = np.float32((0.01 * data_range) ** 2)
        c2 = np.float32((0.03 * data_range) ** 2)
        terms = []
        levels = len(MS_SSIM_WEIGHTS)
        x, y = _read_only(np.ascontiguousarray(x)), _read_only(np.ascontiguousarray(y))
        for level in range(levels):
            rows = x.shape[0] - MS_SSIM_WINDOW + 1
            cols = x.shape[1] - MS_SSIM_WINDOW + 1
            bands = self._bands(rows) if split else [(0, rows)]
            parts = self._kernel_map(_ssim_rows, [(x, y, self._window, c1, c2, a, b) for a, b in bands])
            ssim_sum = sum(p[0] for p in parts)
            cs_sum = sum(p[1] for p in parts)
            if level < levels - 1:
                terms.append(max(cs_sum / (rows * cols), 0.0))
                # the two pools side by side when this plane's rows are split (a channel of its own is one thread)
                pooled = self._kernel_map(_pool2, [(x,), (y,)]) if len(bands) > 1 else [self._call(_pool2, x), self._call(_pool2, y)]
                x, y = (_read_only(p) for p in pooled)
            else:
                terms.append(max(ssim_sum / (rows * cols), 0.0))
        return float(np.prod(np.power(terms, MS_SSIM_WEIGHTS)))

    def yuv_to_rgb(self, planes: Planes, fmt: PixelFormat, spec: ColourSpec) -> Planes:
        """One YUV frame to R, G, B at its bit depth, identical to ``convert(planes, fmt, rgb, spec)``."""
        y, cb, cr = (_read_only(p) for p in planes)
        height, width = y.shape
        if fmt.chroma == "420":
            up = {"nearest": 1, "bilinear": 2}.get(spec.chroma_upsampling)
            if up is None:
                raise ValueError(f"unknown chroma upsampling {spec.chroma_upsampling!r}")
        else:
            up = 0
        kr, kb = MATRICES[spec.matrix]
        kg = 1 - kr - kb  # the constants exactly as colour.ycbcr_to_rgb forms them
        y_lut, c_lut = self._tables(fmt.bit_depth, spec)
        r, g, b = (np.empty((height, width), fmt.dtype) for _ in range(3))
        constants = (up, float(fmt.peak), kr, kb, kg, 2 * (1 - kr), 2 * (1 - kb))
        self._kernel_map(_yuv_to_rgb_rows, [(y, cb, cr, y_lut, c_lut, r, g, b, r0, r1, *constants)
                                            for r0, r1 in self._bands(height)])
        out = (r, g, b)
        return out

    def _tables(self, bit_depth: int, spec: ColourSpec) -> tuple[np.ndarray, np.ndarray]:
        key = (bit_depth, spec.range)
        if key not in self._luts:
            tables = _dequantisation_tables(bit_depth, ColourSpec(range=spec.range))
            self._luts[key] = (_read_only(tables[0]), _read_only(tables[1]))
        return self._luts[key]


# --- compiling ahead of the first measurement ------------------------------------------------------------------

WARM_SIDE = MS_SSIM_MIN_SIDE + 15  # frames this size take every path of a real one: five MS-SSIM scales, odd sizes


def warm(bit_depths: Iterable[int] = (8,)) -> None:
    """Compile, or load from numba's cache, every kernel signature that measuring frames of BIT_DEPTHS uses, by
    measuring a small synthetic frame through the same public calls a job makes (SSE per plane, the conversion
    to RGB, MS-SSIM on Y and on RGB): what a job then calls is compiled already."""
    kernels = Kernels(1)
    side = WARM_SIDE
    for depth in sorted(set(bit_depths)):
        fmt = make_format("yuv", "420", depth)
        rng = np.random.default_rng(depth)
        y, cb, cr = (rng.integers(0, fmt.peak + 1, shape, dtype=fmt.dtype)
                     for shape in ((side, side + 1), ((side + 1) // 2, (side + 2) // 2), ((side + 1) // 2, (side + 2) // 2)))
        for plane in (y, cb):
            kernels.sse(plane, plane[::-1].copy())
        rgb = np.stack(kernels.yuv_to_rgb((y, cb, cr), fmt, ColourSpec()))
        kernels.ms_ssim(y, y[::-1].copy(), float(fmt.peak))
        kernels.ms_ssim(rgb, rgb[:, ::-1].copy(), float(fmt.peak))
    kernels.close()


def warm_in_background(bit_depths: Iterable[int]) -> threading.Thread | None:
    """:func:`warm` on a daemon thread, started now. The first job's measuring would compile the kernels itself
    (seconds on a fresh installation; numba's cache, next to this file, keeps them for every later process);
    started when a run begins, the compiling overlaps planning, input preparation and the first encodes. A job
    that reaches a kernel still compiling waits for that compile (numba's lock), never compiles it twice. Bit
    depths already warmed (or being warmed) by this process are left out: None when none is left."""
    with _WARMING_LOCK:
        depths = tuple(sorted(set(bit_depths) - _WARMING))
        _WARMING.update(depths)
    if not depths:
        return None
    thread = threading.Thread(target=warm, args=(depths,), name="warm-kernels", daemon=True)
    thread.start()
    return thread


_WARMING: set[int] = set()  # bit depths this process has started warming (a run's early start, then its plan)
_WARMING_LOCK = threading.Lock()
