"""A transform video codec in numpy, for the python-model example: what your own model implements.

It follows the suite's protocol (``bench/adapters/model_driver.py``): ``make_codec(rate_point, device,
**options)`` returns an object with ``compress(frame) -> bytes``, ``decompress(data, height, width) -> frame``
(frames: float32 arrays (3, H, W) of R, G, B in [0, 1]) and ``reset()``, called before every intra frame.

The codec: R, G, B to Y, Cb, Cr (BT.601, full range, on 0..255); an intra frame codes the picture, a predicted
frame the difference to the previous decoded picture (closed loop: the encoder predicts from what the decoder
will have); 8x8 orthonormal DCT; a uniform quantiser whose step follows the quality (1..100; chroma twice as
coarse); the integers zlib-compressed. Nothing about the suite is imported here.
"""

import struct
import zlib

import numpy as np

_KR, _KB = 0.299, 0.114


def _dct_matrix(n):
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def _to_ycbcr(rgb):
    r, g, b = rgb * 255.0
    y = _KR * r + (1 - _KR - _KB) * g + _KB * b
    return np.stack([y, (b - y) / (2 * (1 - _KB)), (r - y) / (2 * (1 - _KR))])


def _to_rgb(ycc):
    y, cb, cr = ycc
    r = y + 2 * (1 - _KR) * cr
    b = y + 2 * (1 - _KB) * cb
    g = (y - _KR * r - _KB * b) / (1 - _KR - _KB)
    return np.clip(np.stack([r, g, b]) / 255.0, 0.0, 1.0).astype(np.float32)


class DctCodec:
    def __init__(self, quality, block=8):
        if not 1 <= quality <= 100:
            raise ValueError(f"quality must be 1..100, got {quality}")
        self.step = 2.0 ** ((100 - quality) / 12.0)  # quality 100: step 1; every 12 points halves the rate-ish
        self.n = block
        self.dct = _dct_matrix(block)
        self.reference = None

    def reset(self):
        self.reference = None

    def _blocks(self, planes):
        c, h, w = planes.shape
        return planes.reshape(c, h // self.n, self.n, w // self.n, self.n).transpose(0, 1, 3, 2, 4)

    def _unblocks(self, blocks, h, w):
        return blocks.transpose(0, 1, 3, 2, 4).reshape(3, h, w)

    def _steps(self):
        return np.array([self.step, 2 * self.step, 2 * self.step]).reshape(3, 1, 1, 1, 1)

    def _reconstruct(self, q, prediction, h, w):
        coefficients = q.astype(np.float64) * self._steps()
        residual = self._unblocks(self.dct.T @ coefficients @ self.dct, h, w)
        picture = prediction + residual
        self.reference = picture
        return picture

    def _padded(self, h, w):
        return -(-h // self.n) * self.n, -(-w // self.n) * self.n

    def compress(self, frame):
        _, h, w = frame.shape
        ph, pw = self._padded(h, w)
        ycc = np.pad(_to_ycbcr(frame.astype(np.float64)), ((0, 0), (0, ph - h), (0, pw - w)), mode="edge")
        intra = self.reference is None
        prediction = np.zeros_like(ycc) if intra else self.reference
        coefficients = self.dct @ self._blocks(ycc - prediction) @ self.dct.T
        q = np.round(coefficients / self._steps()).astype(np.int16)
        self._reconstruct(q, prediction, ph, pw)
        return struct.pack("<?", intra) + zlib.compress(q.tobytes(), 9)

    def decompress(self, data, height, width):
        ph, pw = self._padded(height, width)
        (intra,) = struct.unpack("<?", data[:1])
        q = np.frombuffer(zlib.decompress(data[1:]), dtype=np.int16).reshape(3, ph // self.n, pw // self.n,
                                                                          self.n, self.n)
        prediction = np.zeros((3, ph, pw)) if intra or self.reference is None else self.reference
        picture = self._reconstruct(q, prediction, ph, pw)
        return _to_rgb(picture[:, :height, :width])


def make_codec(rate_point, device, block=8):
    """The factory the suite calls (device is unused: numpy runs on the CPU)."""
    return DctCodec(int(rate_point), block=block)
