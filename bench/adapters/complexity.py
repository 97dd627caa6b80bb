"""Model complexity of neural codecs: parameter count and multiply-accumulates per pixel.

This module owns how the suite counts a learned codec's cost independently of the machine it runs on:

* :func:`parameter_count`: the model's unique ``nn.Parameter`` elements (weights shared between layers once;
  buffers such as the entropy coder's CDF tables are not parameters and are not counted);
* :func:`count_macs`: the multiply-accumulates (MACs) of one call, counted by PyTorch's own
  ``torch.utils.flop_counter.FlopCounterMode``, with a per-operator breakdown;
* :func:`compressai_complexity`: encode and decode kMAC/pixel of a CompressAI model on one frame at a given
  coded size, as a :class:`ModelComplexity` record that says what was counted and with which torch.

What is counted is only what FlopCounterMode has a formula for in the running torch (convolutions and
transposed convolutions, matrix products, attention kernels: :func:`counted_operators` lists them). Everything
else is not counted: elementwise work (GDN's square, square root and product, activations, the masking of a
masked convolution's weight, additions), pooling, interpolation, ``grid_sample``, quantisation and the entropy
coder itself (CompressAI's range coder runs in C++ outside torch). The figures are therefore a lower bound on
arithmetic dominated by, and in practice close to, the convolutions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (the usual name)

from bench.adapters.driver_complexity import count_macs as _count_macs
from bench.adapters.driver_complexity import counted_operators, parameter_count
from bench.errors import BenchError

__all__ = ["ModelComplexity", "compressai_complexity", "count_macs", "counted_operators", "parameter_count"]

def count_macs(fn: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """Run ``fn()`` once without autograd and return its MACs, total and per operator (``"convolution"`` ...);
    see :mod:`bench.adapters.driver_complexity` for what is counted."""
    macs, by_op, _ = _count_macs(fn)
    return macs, by_op


# CompressAI's own evaluation scripts pad image-model inputs to a multiple of 2^6 (the hyperprior models
# downsample by 64) and video-model inputs to 2^7; the suite's CompressAI adapter codes frames the same way,
# so the coded size measured here is the one the suite codes.
IMAGE_PAD_MULTIPLE = 64
VIDEO_PAD_MULTIPLE = 128


@dataclass(frozen=True)
class ModelComplexity:
    """A neural codec's size and arithmetic on one frame; kMAC/pixel is per pixel of the unpadded frame."""

    params: int
    encode_macs: int
    decode_macs: int
    encode_kmac_per_pixel: float
    decode_kmac_per_pixel: float
    height: int  # the frame as coded by the suite (the denominator of kMAC/pixel)
    width: int
    padded_height: int  # what the model actually ran on
    padded_width: int
    frame: str  # "intra" or "inter" (a video model's P frame)
    method: str
    torch_version: str
    encode_macs_by_op: dict[str, int] = field(default_factory=dict)
    decode_macs_by_op: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    # Right and bottom, replicating the edge, as the suite's CompressAI adapter pads (the counts do not depend
    # on the padded values, only on the padded size).
    h, w = x.shape[-2:]
    extra = (0, -(-w // multiple) * multiple - w, 0, -(-h // multiple) * multiple - h)
    return F.pad(x, extra, mode="replicate") if any(extra) else x


def _checked(model: torch.nn.Module, frame: str | None, height: int, width: int) -> tuple[bool, str]:
    """Whether MODEL is a video model, and the frame kind to count (a video model's default: inter)."""
    video = hasattr(model, "encode_inter")
    frame = frame or ("inter" if video else "intra")
    if frame not in ("intra", "inter") or (frame == "inter" and not video):
        allowed = "'intra' or 'inter'" if video else "'intra' (an image model)"
        raise BenchError(f"complexity: frame must be {allowed} for {type(model).__name__}, not {frame!r}")
    if not hasattr(model, "update"):
        raise BenchError(f"complexity: {type(model).__name__} is not a CompressAI model (it has no update())")
    if height <= 0 or width <= 0:
        raise BenchError(f"complexity: the frame size must be positive, not {width}x{height}")
    return video, frame


def _coding_calls(model: Any, video: bool, frame: str,
                  frames: list[torch.Tensor]) -> tuple[Callable[[], Any], Callable[[], Any], str]:
    """The encode and decode calls counted (decode uses what encode produced) and what they are, in words.
    MODEL: a CompressAI model, its coding methods looked up as for any duck-typed object (compressai ships no
    types, and torch.nn.Module's type says an attribute it does not define is a Tensor or a Module)."""
    coded: dict[str, Any] = {}
    if video and frame == "inter":
        with torch.no_grad():
            ref, _ = model.encode_keyframe(frames[0])

        def encode() -> None:
            coded["out"] = model.encode_inter(frames[1], ref)[1]

        def decode() -> None:
            model.decode_inter(ref, coded["out"]["strings"], coded["out"]["shape"])

        return encode, decode, ("encode = encode_inter(x, ref) (motion and residual analysis, hyperpriors, and "
                                "the motion/residual synthesis and warping that rebuild the reference), decode = "
                                "decode_inter(ref, strings, shapes), one P frame whose reference was coded as a "
                                "key frame first (not counted)")
    if video:
        def encode() -> None:
            coded["out"] = model.encode_keyframe(frames[0])[1]

        def decode() -> None:
            model.decode_keyframe(coded["out"]["strings"], coded["out"]["shape"])

        return encode, decode, ("encode = encode_keyframe(x) (includes the reconstruction), "
                                "decode = decode_keyframe(strings, shape)")

    def compress() -> None:
        coded["out"] = model.compress(frames[0])

    def decompress() -> None:
        model.decompress(coded["out"]["strings"], coded["out"]["shape"])

    return compress, decompress, "encode = model.compress(x), decode = model.decompress(strings, shape)"


def compressai_complexity(model: torch.nn.Module, height: int, width: int, *, frame: str | None = None,
                          pad_multiple: int | None = None) -> ModelComplexity:
    """Count ``model``'s parameters and encode/decode MACs on one random ``1x3xheight x width`` frame.

    Image models: encode is ``model.compress(x)``, decode ``model.decompress(strings, shape)``. Video models
    (``ssf2020``: they have ``encode_inter``): ``frame="inter"`` (their default) counts one P frame,
    ``encode_inter(x, ref)`` and ``decode_inter(ref, strings, shapes)`` against a reference coded first as a
    key frame (not counted); ``frame="intra"`` counts ``encode_keyframe``/``decode_keyframe``. A video
    encoder's count includes the decoding it does to build the next reference, as it must.

    The frame is padded on the right and bottom to ``pad_multiple`` (default: 64 for image models, 128 for
    video models, CompressAI's evaluation convention); MACs per pixel divide by the unpadded
    ``height * width``. The entropy models' CDF tables are built first if empty (``model.update()``), so a
    model with random weights can compress; a loaded model's tables are left as they are.

    If an image model's ``compress``/``decompress`` cannot run under the counter, the analysis transform
    ``g_a`` is counted as the encoder and the synthesis transform ``g_s`` as the decoder instead (hyperprior
    and context model then missing), and ``method`` says so and why.
    """
    video, frame = _checked(model, frame, height, width)
    coder: Any = model  # its CompressAI methods (update, g_a ...): see _coding_calls
    multiple = pad_multiple or (VIDEO_PAD_MULTIPLE if video else IMAGE_PAD_MULTIPLE)
    coder.update()  # fills empty CDF tables only (force=False): a loaded model's are kept
    frames = _random_frames(model, height, width, multiple)
    padded_h, padded_w = frames[0].shape[-2:]
    where = (f"one random 1x3x{height}x{width} frame padded right/bottom (replicate) to a multiple of "
             f"{multiple}, 1x3x{padded_h}x{padded_w}")
    encode, decode, what = _coding_calls(coder, video, frame, frames)
    try:
        enc, enc_ops = count_macs(encode)
        dec, dec_ops = count_macs(decode)
    except Exception as error:  # whatever broke inside the model's coding path: fall back and say why
        (enc, enc_ops), (dec, dec_ops), what = _transforms_counted(model, video, frames[0], error)
    pixels = height * width
    return ModelComplexity(
        params=parameter_count(model), encode_macs=enc, decode_macs=dec,
        encode_kmac_per_pixel=enc / pixels / 1000, decode_kmac_per_pixel=dec / pixels / 1000,
        height=height, width=width, padded_height=padded_h, padded_width=padded_w, frame=frame,
        method=_method(where, what, height, width), torch_version=torch.__version__, encode_macs_by_op=enc_ops,
        decode_macs_by_op=dec_ops)


def _random_frames(model: torch.nn.Module, height: int, width: int, multiple: int) -> list[torch.Tensor]:
    """Two random 1x3xHEIGHTxWIDTH frames padded to MULTIPLE, on MODEL's device and in its dtype."""
    param = next(model.parameters())
    # A fixed seed makes the run repeatable; the counts themselves do not depend on the pixel values.
    gen = torch.Generator().manual_seed(0)
    return [_pad(torch.rand(1, 3, height, width, generator=gen), multiple).to(param.device, param.dtype)
            for _ in range(2)]


def _transforms_counted(model: torch.nn.Module, video: bool, x: torch.Tensor,
                        error: Exception) -> tuple[tuple[int, dict[str, int]], tuple[int, dict[str, int]], str]:
    """The fallback when MODEL's coding calls broke with ERROR on frame X: the encode and decode counts of its
    analysis and synthesis transforms alone, and what they are, in words; a video model, or one without both
    transforms, cannot fall back and is refused with ERROR's message."""
    if video or not (hasattr(model, "g_a") and hasattr(model, "g_s")):
        raise BenchError(f"complexity: {type(model).__name__} could not be counted: "
                         f"{type(error).__name__}: {error}") from error
    coder: Any = model  # its g_a and g_s, looked up as in _coding_calls
    with torch.no_grad():
        y = coder.g_a(x)
    encode = count_macs(lambda: coder.g_a(x))
    decode = count_macs(lambda: coder.g_s(y))
    return encode, decode, (f"compress/decompress could not be counted ({type(error).__name__}: {error}); "
                            f"FALLBACK: encode = analysis transform g_a(x) only, decode = synthesis transform "
                            f"g_s(y) only (hyperprior and context model not counted)")


def _method(where: str, what: str, height: int, width: int) -> str:
    """The record's ``method``: the counter, the frame counted (WHERE), the calls counted (WHAT), how kMAC/pixel
    is computed from a HEIGHTxWIDTH frame, and what is and is not counted."""
    return (f"torch.utils.flop_counter.FlopCounterMode (torch {torch.__version__}) on {where}; {what}; "
            f"MACs = counted FLOPs / 2; kMAC/pixel = MACs / ({width}*{height}) / 1000 (the unpadded "
            f"frame). Counted operators: {', '.join(counted_operators())} (bias adds ignored; a "
            f"convolution counts its full kernel at the borders, a masked convolution its full kernel, a "
            f"transposed convolution per input pixel). Not counted: elementwise ops (GDN's "
            f"square/sqrt/product, activations, additions), pooling, interpolation, grid_sample, "
            f"quantisation and the entropy coder (outside torch)")
