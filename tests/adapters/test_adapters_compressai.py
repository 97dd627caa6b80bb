"""The CompressAI adapter on the CPU with randomly initialised weights: every zoo architecture codes and decodes a
64x64 clip through real entropy coding, and what the suite measured is checked against compressai itself (its
own compress/decompress, run here independently of the adapter); the weight rules (zoo file names, the torch hub
cache, training checkpoints with or without entropy tables); the errors a user meets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import compressai
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from compressai.zoo import image

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.compressai_zoo import ARCHITECTURES, CompressAIModel
from bench.adapters.frame_container import INTRA, CodedFrame, LatentGroup, decode_frame, encode_frame
from bench.bd.sources import sources_from
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import AdapterError
from bench.report.html import build_report
from bench.run.runner import RunOptions, plan, run_condition
from bench.store.results import ResultStore
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter

RGB = pixel_format("gbrp")


@pytest.fixture(scope="module")
def rgb_clip(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 64x64 RGB frames of the demo's HopperPan (BT.709 full range from its 4:2:0 frames)."""
    path = tmp_path_factory.mktemp("rgb") / "clip.rgb"
    yuv = pixel_format("yuv420p")
    with RawVideoWriter(path, RGB) as w:
        for planes in RawVideoReader(clip_dir / "Pan_96x64_30.yuv", yuv, 96, 64).frames(0, 3):
            w.write(tuple(p[:, 16:80] for p in convert(planes, yuv, RGB, ColourSpec())))
    return path


def _task(clip: Path, work: Path, frames: int, intra_period: int, quality: int = 1) -> CodingTask:
    work.mkdir(parents=True, exist_ok=True)
    return CodingTask(clip, RGB, 64, 64, 30.0, frames, intra_period, quality, work)


def _input(clip: Path, i: int, multiple: int) -> torch.Tensor:
    """Frame I as the documented path defines the model input: RGB / 255, replicate-padded right and bottom."""
    planes = list(RawVideoReader(clip, RGB, 64, 64).frames(i, 1))[0]
    x = torch.from_numpy(np.stack(planes).astype(np.float32) / 255).unsqueeze(0)
    pad = -(-64 // multiple) * multiple - 64
    return F.pad(x, (0, pad, 0, pad), mode="replicate") if pad else x


def _fresh_model(arch: str, quality: int = 1, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    if arch == "ssf2020":
        from compressai.models.video import ScaleSpaceFlow

        net = ScaleSpaceFlow()
    else:
        net = image.model_architectures[arch](*image.cfgs[arch][quality])
    # The documented random_gain (50): the last convolution of each analysis transform, scaled.
    with torch.no_grad():
        for name in ("g_a", "img_encoder", "res_encoder", "motion_encoder"):
            if hasattr(net, name):
                conv = [m for m in getattr(net, name).children() if isinstance(m, torch.nn.Conv2d)][-1]
                conv.weight.mul_(50)
                conv.bias.mul_(50)
    net.update(force=True)
    return net.eval()


def _8bit(x: torch.Tensor) -> np.ndarray:
    return (x[0, :, :64, :64].clamp(0, 1) * 255 + 0.5).floor().numpy().astype(np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_codes_and_decodes(arch: str, rgb_clip: Path, tmp_path: Path) -> None:
    video = ARCHITECTURES[arch].kind == "video"
    frames = 3 if video else 2
    adapter = adapter_class("compressai")({"architecture": arch, "weights": "random"})
    result = adapter.code_sequence(_task(rgb_clip, tmp_path / "work", frames, intra_period=2))

    # One real file per frame, decoded frames for all of them; SSF: key frames at 0 and 2 (intra period 2).
    assert len(result.bitstreams) == frames and all(p.stat().st_size > 0 for p in result.bitstreams)
    assert result.frame_types == (["I", "P", "I"] if video else ["I", "I"])
    assert result.frame_bits == [8 * p.stat().st_size for p in result.bitstreams]
    decoded = [np.stack(p) for p in RawVideoReader(result.decoded_path, RGB, 64, 64).frames()]
    assert len(decoded) == frames

    # Independently of the adapter: compressai's own model (same seed) on the same input gives the same strings
    # (file = strings + the container's documented 6 + 5 per group + 4 per string bytes), and the frames the suite
    # measured are exactly the encoder-side reconstruction, rounded to 8 bits.
    net = _fresh_model(arch)
    multiple = ARCHITECTURES[arch].pad_multiple
    ref = None
    with torch.inference_mode():
        for i in range(frames):
            x = _input(rgb_clip, i, multiple)
            if not video:
                enc = net.compress(x)
                strings, groups = [s[0] for s in enc["strings"]], 1
                recon = net.decompress(enc["strings"], enc["shape"])["x_hat"]
            elif i % 2 == 0:
                recon, enc = net.encode_keyframe(x)
                strings, groups = [s[0] for s in enc["strings"]], 1
            else:
                recon, enc = net.encode_inter(x, ref)
                strings = [s[0] for k in ("motion", "residual") for s in enc["strings"][k]]
                groups = 2
            header = (6 if result.frame_types[i] == "I" else 2) + 5 * groups + 4 * len(strings)
            assert result.bitstreams[i].stat().st_size == header + sum(len(s) for s in strings)
            assert decode_frame(result.bitstreams[i].read_bytes(), result.bitstreams[i]).groups[-1].strings[-1] == \
                strings[-1]
            np.testing.assert_array_equal(decoded[i], _8bit(recon))
            ref = recon.clamp(0, 1)
    # The likelihood estimate is a diagnostic beside the real bits, one value per frame.
    assert len(result.codec_reported["estimated_frame_bits"]) == frames
    assert result.cautions and result.cautions[0].startswith("**RANDOMLY INITIALISED WEIGHTS**")
    assert result.processing["padding"]["model_size"] == [-(-64 // multiple) * multiple] * 2


@pytest.mark.slow
def test_decoder_that_does_not_reproduce_the_encoder_fails_the_job(rgb_clip: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = adapter_class("compressai")({"architecture": "bmshj2018-hyperprior", "weights": "random"})
    original = CompressAIModel.load_model
    calls = []

    def second_model_differs(self: CompressAIModel, quality: int, device: str):  # noqa: ANN202
        loaded = original(self, quality, device)
        calls.append(1)
        if len(calls) == 2:  # the decoder's instance: perturb one synthesis weight
            with torch.no_grad():
                loaded.net.g_s[0].weight.mul_(1.01)
        return loaded

    monkeypatch.setattr(CompressAIModel, "load_model", second_model_differs)
    with pytest.raises(AdapterError, match=r"does not reproduce the encoder-side reconstruction on frame\(s\) 0, 1 "
                                           r"of 2 \(bmshj2018-hyperprior on cpu\)"):
        adapter.code_sequence(_task(rgb_clip, tmp_path / "work", 2, intra_period=1))


def _condition(tmp_path: Path, clip_dir: Path, codecs: str, frames: int = 2) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: cai
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, width: 96, height: 64, fps: 30}}]
data_root: {clip_dir}
frames: {{first: 0, count: {frames}}}
intra_period: 32
metrics: {{ms_ssim: []}}
codecs: {codecs}
""")
    return path


def _records(results: Path) -> list[dict]:
    return [r for d in sorted(p.parent for p in results.glob("*/records")) for r in ResultStore(d).run_records()]


@pytest.mark.slow
@pytest.mark.integration
def test_pipeline_rate_is_the_bytes_on_disk_and_the_record_says_random(tmp_path: Path, clip_dir: Path) -> None:
    codecs = "[{name: hyper, adapter: compressai, params: {architecture: bmshj2018-hyperprior, weights: random}, " \
             "rate_points: [1, 6]}]"
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, codecs)),
                            RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed, outcome.failed
    records = _records(tmp_path / "results")
    assert len(records) == 2
    for r in records:
        files = [tmp_path / "results" / "cai" / p for p in r["rate"]["bitstreams"]]
        assert r["rate"]["bits"] == 8 * sum(f.stat().st_size for f in files) == sum(r["per_frame"]["bits"])
        assert r["rate"]["bpp"] == r["rate"]["bits"] / (96 * 64 * 2)
        assert r["per_frame"]["frame_type"] == ["I", "I"]  # an image model: all intra whatever the intra period
        assert r["cautions"][0].startswith("**RANDOMLY INITIALISED WEIGHTS** (weights: random, seed 0, analysis gain 50)")
        assert r["coding"]["codec_format"] == "gbrp"
        assert r["coding"]["codec_processing"]["padding"] == {
            "multiple": 64, "mode": "replicate", "where": "right and bottom", "coded_size": [96, 64],
            "model_size": [128, 64], "cropped_back": True}
        assert r["timing"]["warmup_excluded"] is True and r["timing"]["encode_s"] > 0
        assert r["codec"]["identity"]["device_type"] == "cpu"
        # Timed per frame: the fps are the frames' own; the model's size and arithmetic at the coded 96x64.
        assert len(r["per_frame"]["encode_s"]) == 2 and r["timing"]["encode_timed"] == "per frame"
        assert r["timing"]["decode_fps_median"] == pytest.approx(1 / np.median(r["per_frame"]["decode_s"]))
        from compressai.zoo import bmshj2018_hyperprior

        from bench.adapters.complexity import compressai_complexity
        quality = int(r["rate_point"])
        want = compressai_complexity(bmshj2018_hyperprior(quality=quality), 64, 96)
        assert r["complexity"]["params"] == want.params and r["complexity"]["padded_width"] == 128
        assert r["complexity"]["encode_kmac_per_pixel"] == want.encode_kmac_per_pixel > 0
    # N, M = 128, 192 at quality 1 and 192, 320 at 6: different models, different streams.
    assert records[0]["rate"]["bitstream_sha256"] != records[1]["rate"]["bitstream_sha256"]
    html = build_report(sources_from([str(tmp_path / "results" / "cai")]), tmp_path / "report", "t", None)
    assert "<strong>hyper: RANDOMLY INITIALISED WEIGHTS (weights: random, seed 0, analysis gain 50)" in html.read_text()


@pytest.mark.slow
@pytest.mark.integration
def test_checkpoints_saved_and_loaded_give_identical_bitstreams(tmp_path: Path, clip_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The adapter's own random model (seed 0), saved as a training run would (entropy tables present but empty,
    # under "state_dict"), with no table entries at all, and as the zoo ships files (tables included).
    net = CompressAIModel({"architecture": "bmshj2018-hyperprior", "weights": "random"}).load_model(1, "cpu").net
    tables = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
    with_tables = net.state_dict()
    untrained = {k: (v[:0] if any(t in k for t in tables) else v) for k, v in with_tables.items()}
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    torch.save({"epoch": 3, "state_dict": untrained}, ckpt / "training.pth.tar")
    torch.save({k: v for k, v in with_tables.items() if not any(t in k for t in tables)}, ckpt / "no_tables.pth.tar")
    torch.save(with_tables, ckpt / "with_tables.pth.tar")
    # The official zoo name, found in weights_dir, and (a second name for the same file) in the torch hub cache.
    (ckpt / "zoo").mkdir()
    torch.save(with_tables, ckpt / "zoo" / "bmshj2018-hyperprior-1-7eb97409.pth.tar")
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(with_tables, hub / "bmshj2018-hyperprior-1-7eb97409.pth.tar")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def codec(name: str, params: str) -> str:
        return f"{{name: {name}, adapter: compressai, params: {{architecture: bmshj2018-hyperprior, {params}}}, " \
               "rate_points: [1]}"

    codecs = "[" + ", ".join([
        codec("random", "weights: random"),
        codec("training", f"weights: checkpoints, checkpoints: {{1: {ckpt / 'training.pth.tar'}}}"),
        codec("notables", f"weights: checkpoints, checkpoints: {{1: {ckpt / 'no_tables.pth.tar'}}}"),
        codec("tables", f"weights: checkpoints, checkpoints: {{1: {ckpt / 'with_tables.pth.tar'}}}"),
        codec("zoo", f"weights: pretrained, weights_dir: {ckpt / 'zoo'}"),
        codec("hub", "weights: pretrained"),
    ]) + "]"
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, codecs)),
                            RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed, outcome.failed
    by_name = {r["codec"]["name"]: r for r in _records(tmp_path / "results")}
    streams = {name: r["rate"]["bitstream_sha256"] for name, r in by_name.items()}
    assert len({json.dumps(s) for s in streams.values()}) == 1, streams
    assert len(set(streams["random"])) == 2  # real content: the two frames code differently
    weights = {name: r["coding"]["codec_processing"]["weights"] for name, r in by_name.items()}
    assert weights["training"]["entropy_tables"] == weights["notables"]["entropy_tables"] == \
        "computed by update(force=True)"
    assert weights["tables"]["entropy_tables"] == weights["zoo"]["entropy_tables"] == "stored in the file"
    assert weights["zoo"]["source"] == "weights_dir" and weights["hub"]["source"] == "torch hub cache"
    assert weights["hub"]["file"] == str(hub / "bmshj2018-hyperprior-1-7eb97409.pth.tar")
    digest = hashlib.sha256((ckpt / "with_tables.pth.tar").read_bytes()).hexdigest()
    assert by_name["tables"]["codec"]["identity"]["weights"] == {"file": "with_tables.pth.tar", "sha256": digest}
    assert not by_name["zoo"]["cautions"] and by_name["random"]["cautions"]


@pytest.mark.integration
def test_missing_weights_stop_the_run_before_any_job(tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    codecs = f"[{{descriptor: mbt2018-mean, params: {{weights_dir: {tmp_path / 'w'}}}, rate_points: [3]}}]"
    cond = _condition(tmp_path, clip_dir, codecs)
    assert main(["--conditions", str(cond), "--results", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {cond}: codec mbt2018-mean: rate_points[0]: 3: weights file mbt2018-mean-3-723404a8.pth.tar not found in {tmp_path / 'w'} "
                   f"(weights_dir) or {tmp_path / 'torch_home' / 'hub' / 'checkpoints'} (torch hub cache); nothing is "
                   "downloaded at run time: fetch https://compressai.s3.amazonaws.com/models/v1/"
                   "mbt2018-mean-3-723404a8.pth.tar and put it in one of those folders"]
    assert not (tmp_path / "results").exists()


@pytest.mark.integration
def test_checkpoint_of_another_architecture_is_refused_by_plan_and_doctor(tmp_path: Path, clip_dir: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    other = image.model_architectures["bmshj2018-factorized"](*image.cfgs["bmshj2018-factorized"][1])
    torch.save(other.state_dict(), tmp_path / "factorized.pth.tar")
    codecs = "[{name: wrong, adapter: compressai, params: {architecture: mbt2018-mean, weights: checkpoints, " \
             f"checkpoints: {{1: {tmp_path / 'factorized.pth.tar'}}}}}, rate_points: [1]}}]"
    cond = _condition(tmp_path, clip_dir, codecs)
    with pytest.raises(AdapterError, match=r"c.yaml: codec wrong: rate_points\[0\]: 1: .*factorized.pth.tar "
                                           r"does not fit architecture mbt2018-mean: RuntimeError: Error\(s\) in "
                                           r"loading state_dict for MeanScaleHyperprior: Missing key\(s\)"):
        plan(load_condition(cond))
    assert main(["doctor", "--conditions", str(cond)]) == 1
    assert "FAIL wrong: no usable weights for mbt2018-mean:" in capsys.readouterr().out


@pytest.mark.integration
def test_doctor_lists_architectures_and_quality_levels(capsys: pytest.CaptureFixture) -> None:
    assert CompressAIModel({}).doctor().split("; architectures: ")[1].split("; ") == [
        "bmshj2018-factorized (image, quality 1..8, mse/ms-ssim)", "bmshj2018-hyperprior (image, quality 1..8, mse/ms-ssim)",
        "mbt2018-mean (image, quality 1..8, mse/ms-ssim)", "mbt2018 (image, quality 1..8, mse/ms-ssim)",
        "cheng2020-anchor (image, quality 1..6, mse/ms-ssim)", "cheng2020-attn (image, quality 1..6, mse/ms-ssim)",
        "ssf2020 (video, quality 1..9, mse)"]
    assert main(["doctor", "compressai"]) == 0
    assert f"ok   compressai: compressai {compressai.__version__}, torch {torch.__version__}; architectures: " \
        "bmshj2018-factorized (image, quality 1..8, mse/ms-ssim)" in capsys.readouterr().out
    with pytest.raises(AdapterError, match="quality 7 is not a level of cheng2020-anchor"):
        CompressAIModel({"architecture": "cheng2020-anchor", "weights": "random"}).rate_point_identity(7)


@pytest.mark.gpu
def test_device_type_is_in_the_job_key_and_cuda_is_checked(tmp_path: Path, clip_dir: Path) -> None:
    def identity(device: str) -> dict:
        return CompressAIModel({"architecture": "mbt2018", "device": device}).identity()

    assert identity("cpu")["device_type"] == "cpu" and identity("cuda")["device_type"] == "cuda"
    assert identity("cuda:0") == identity("cuda:1") == identity("cuda")  # which GPU is operational
    if not torch.cuda.is_available():
        with pytest.raises(AdapterError, match="device cuda:1: no CUDA device visible to torch"):
            CompressAIModel({"architecture": "mbt2018", "device": "cuda:1"}).doctor()
        codecs = "[{name: gpu, adapter: compressai, params: {architecture: mbt2018, weights: random, device: cuda}, " \
                 "rate_points: [1]}]"
        with pytest.raises(AdapterError, match=r"c.yaml: codec gpu: device cuda: no CUDA device visible to torch"):
            plan(load_condition(_condition(tmp_path, clip_dir, codecs)))


def test_container_round_trip_and_truncation(tmp_path: Path) -> None:
    frame = CodedFrame(INTRA, 416, 240, (LatentGroup((4, 7), (b"abc", b"")),))
    data = encode_frame(frame)
    assert len(data) == 6 + 5 + 4 * 2 + 3
    assert decode_frame(data, tmp_path / "f.bin") == frame
    with pytest.raises(AdapterError, match=r"bitstream .*f.bin: a string of 3 bytes runs past the end of the file"):
        decode_frame(data[:-5], tmp_path / "f.bin")
    with pytest.raises(AdapterError, match=r"truncated at byte 18 \(the file holds 19 bytes\)"):
        decode_frame(data[:-3], tmp_path / "f.bin")
    with pytest.raises(AdapterError, match="1 bytes left over"):
        decode_frame(data + b"x", tmp_path / "f.bin")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_records_peak_memory(rgb_clip: Path, tmp_path: Path) -> None:
    adapter = adapter_class("compressai")({"architecture": "ssf2020", "weights": "random", "device": "cuda"})
    result = adapter.code_sequence(_task(rgb_clip, tmp_path / "work", 3, intra_period=-1))
    assert result.frame_types == ["I", "P", "P"]
    assert result.timing_details["peak_gpu_memory_bytes"]["encode"] > 0
    assert result.timing_details["cuda_synchronised"] is True
