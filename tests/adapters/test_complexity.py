"""Model complexity (bench.adapters.complexity): PyTorch's MAC convention pinned on single layers, a hand count of
every convolution of bmshj2018-factorized at quality 1 (random weights) against what is measured through its
real compress/decompress, its parameters counted by hand, shared parameters counted once, and kMAC/pixel
divided by the unpadded frame."""

from __future__ import annotations

import pytest
import torch
from compressai.zoo import bmshj2018_factorized, ssf2020
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bench.adapters.complexity import compressai_complexity, count_macs, counted_operators, parameter_count
from bench.errors import BenchError

# bmshj2018-factorized at quality 1 (compressai.zoo.image.cfgs): N=128 channels inside, M=192 in the latent;
# compressai.models.google.FactorizedPrior with compressai.models.utils.conv/deconv (5x5, stride 2, padding 2,
# deconv output_padding 1) and compressai.layers.GDN.
N, M, K = 128, 192, 5


def conv_macs(out_h: int, out_w: int, c_out: int, c_in: int, k: int) -> int:
    """A convolution: every output pixel of every output channel is a k*k*c_in dot product."""
    return out_h * out_w * c_out * c_in * k * k


def deconv_macs(in_h: int, in_w: int, c_in: int, c_out: int, k: int) -> int:
    """A transposed convolution as PyTorch counts it: every INPUT pixel of every input channel is scattered
    through a k*k kernel into every output channel (torch.utils.flop_counter.conv_flop_count, transposed)."""
    return in_h * in_w * c_in * c_out * k * k


def gdn_macs(h: int, w: int, c: int) -> int:
    """GDN (and its inverse) computes norm = F.conv2d(x**2, gamma.reshape(C, C, 1, 1), beta): a 1x1
    convolution C -> C, counted; the square, the (r)sqrt and the product x * norm are elementwise: not
    counted."""
    return conv_macs(h, w, c, c, 1)


def factorized_analysis_macs(h: int, w: int) -> int:
    """g_a: conv(3,N) GDN conv(N,N) GDN conv(N,N) GDN conv(N,M), each conv halving the size."""
    return (conv_macs(h // 2, w // 2, N, 3, K) + gdn_macs(h // 2, w // 2, N)
            + conv_macs(h // 4, w // 4, N, N, K) + gdn_macs(h // 4, w // 4, N)
            + conv_macs(h // 8, w // 8, N, N, K) + gdn_macs(h // 8, w // 8, N)
            + conv_macs(h // 16, w // 16, M, N, K))


def factorized_synthesis_macs(h: int, w: int) -> int:
    """g_s: deconv(M,N) IGDN deconv(N,N) IGDN deconv(N,N) IGDN deconv(N,3), each deconv doubling the size."""
    return (deconv_macs(h // 16, w // 16, M, N, K) + gdn_macs(h // 8, w // 8, N)
            + deconv_macs(h // 8, w // 8, N, N, K) + gdn_macs(h // 4, w // 4, N)
            + deconv_macs(h // 4, w // 4, N, N, K) + gdn_macs(h // 2, w // 2, N)
            + deconv_macs(h // 2, w // 2, N, 3, K))


@pytest.fixture(scope="module")
def factorized() -> nn.Module:
    torch.manual_seed(0)
    return bmshj2018_factorized(quality=1, pretrained=False).eval()


def test_pytorch_counts_a_conv_multiply_add_as_two_flops_and_ignores_the_bias() -> None:
    conv = nn.Conv2d(3, 8, 3, padding=1)  # with a bias, and padded borders: both still counted as below
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        conv(x)
    assert counter.get_total_flops() == 2 * conv_macs(10, 12, 8, 3, 3)
    macs, by_op = count_macs(lambda: conv(x))
    assert macs == conv_macs(10, 12, 8, 3, 3) == 25920
    assert by_op == {"convolution": 25920}


def test_pytorch_counts_a_transposed_conv_per_input_pixel() -> None:
    deconv = nn.ConvTranspose2d(8, 4, 5, stride=2, padding=2, output_padding=1)
    macs, _ = count_macs(lambda: deconv(torch.rand(1, 8, 10, 12)))
    assert macs == deconv_macs(10, 12, 8, 4, 5) == 96000


def test_elementwise_ops_are_not_counted() -> None:
    x = torch.rand(1, 16, 32, 32)
    macs, by_op = count_macs(lambda: torch.rsqrt(x**2 + 1) * x)
    assert (macs, by_op) == (0, {})
    assert "convolution" in counted_operators() and "mm" in counted_operators()
    assert "mul" not in counted_operators()


@pytest.mark.parametrize(("height", "width", "padded"), [(256, 256, (256, 256)), (240, 416, (256, 448))])
def test_factorized_quality_1_matches_the_hand_count(factorized: nn.Module, height: int, width: int,
                                                     padded: tuple[int, int]) -> None:
    c = compressai_complexity(factorized, height, width)
    h, w = padded
    assert (c.padded_height, c.padded_width) == padded
    # compress = g_a + the entropy bottleneck (quantisation and range coding: nothing counted); decompress =
    # the entropy bottleneck + g_s. Every counted MAC is a convolution, so the hand count is exact.
    assert c.encode_macs == factorized_analysis_macs(h, w)
    assert c.decode_macs == factorized_synthesis_macs(h, w)
    assert c.encode_macs_by_op == {"convolution": c.encode_macs}
    assert c.decode_macs_by_op == {"convolution": c.decode_macs}
    # Per padded pixel: convs 2400 + 25600 + 6400 + 2400 = 36800, GDN 1x1 convs 4096 + 1024 + 256 = 5376.
    assert c.encode_macs == c.decode_macs == (36800 + 5376) * h * w


def test_kmac_per_pixel_divides_by_the_unpadded_frame(factorized: nn.Module) -> None:
    c = compressai_complexity(factorized, 240, 416)
    assert c.encode_macs == 42176 * 448 * 256 == 4_837_081_088
    assert c.encode_kmac_per_pixel == pytest.approx(4_837_081_088 / (416 * 240) / 1000)
    assert c.encode_kmac_per_pixel == pytest.approx(48.448328, abs=1e-6)
    assert c.decode_kmac_per_pixel == pytest.approx(c.decode_macs / (416 * 240) / 1000)
    record = c.to_dict()
    assert (record["height"], record["width"], record["frame"]) == (240, 416, "intra")
    assert record["torch_version"] == torch.__version__
    assert f"torch {torch.__version__}" in record["method"] and "416*240" in record["method"]
    assert "entropy coder" in record["method"] and "FALLBACK" not in record["method"]


def test_factorized_quality_1_parameters_by_hand(factorized: nn.Module) -> None:
    convs = (3 * N * 25 + N) + 2 * (N * N * 25 + N) + (N * M * 25 + M)
    deconvs = (M * N * 25 + N) + 2 * (N * N * 25 + N) + (N * 3 * 25 + 3)
    gdns = 6 * (N + N * N)  # beta and gamma of each GDN/IGDN
    # EntropyBottleneck(M), filters (3, 3, 3, 3): per channel, matrices 1x3 then 3x3 x3 then 3x1 (33), biases
    # 3+3+3+3+1 (13), factors 3x4 (12), and the three quantiles.
    bottleneck = M * (33 + 13 + 12 + 3)
    assert parameter_count(factorized) == convs + deconvs + gdns + bottleneck == 2_998_147
    assert parameter_count(factorized) == sum(p.numel() for p in factorized.parameters())


def test_shared_parameters_are_counted_once() -> None:
    first, second = nn.Linear(4, 4), nn.Linear(4, 4)
    second.weight = first.weight  # tied: 16 weights, two biases of 4
    assert parameter_count(nn.Sequential(first, second)) == 16 + 4 + 4
    assert parameter_count(nn.Sequential(first, first)) == 16 + 4  # the same layer used twice


def test_fallback_to_the_transforms_when_compress_cannot_be_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    model = bmshj2018_factorized(quality=1, pretrained=False)

    def broken(x: torch.Tensor) -> dict:
        raise RuntimeError("no entropy coder here")

    monkeypatch.setattr(model, "compress", broken)
    c = compressai_complexity(model, 64, 64)
    assert c.encode_macs == factorized_analysis_macs(64, 64)
    assert c.decode_macs == factorized_synthesis_macs(64, 64)
    assert "FALLBACK" in c.method and "RuntimeError: no entropy coder here" in c.method


def test_video_model_p_frame_and_bad_frame_kinds(factorized: nn.Module) -> None:
    torch.manual_seed(0)
    model = ssf2020(quality=1, pretrained=False).eval()
    inter = compressai_complexity(model, 64, 96)
    intra = compressai_complexity(model, 64, 96, frame="intra")
    assert (inter.frame, inter.padded_height, inter.padded_width) == ("inter", 128, 128)
    # A P frame runs two analysis transforms, two hyperpriors and two synthesis transforms (motion, residual)
    # against the key frame's one of each.
    assert inter.encode_macs > intra.encode_macs > 0 and inter.decode_macs > intra.decode_macs > 0
    assert "encode_inter" in inter.method
    with pytest.raises(BenchError, match="'intra' \\(an image model\\)"):
        compressai_complexity(factorized, 64, 64, frame="inter")
    with pytest.raises(BenchError, match="not a CompressAI model"):
        compressai_complexity(nn.Conv2d(3, 3, 1), 64, 64)
