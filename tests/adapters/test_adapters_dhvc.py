"""DHVC adapters without a DHVC checkout: our driver's protocol and per-frame files, the official-script check and
its parser, the intra-period mapping, and DHVC 2.0's plain refusal. The stand-in checkout below has a model with
DHVC 1.0's interface (compress -> 6-byte head + packed strings, decompress with the temporal context) and a
test.py that prints the official per-frame lines. The real checkout runs in the opt-in test at the end."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.codec_logs import dhvc_frame_lines
from bench.conditions.condition import load_condition
from bench.errors import AdapterError, ConditionError
from bench.run.runner import RunOptions, run_condition
from bench.store.results import ResultStore
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter, write_png_frame

MODEL = '''
import struct
import numpy as np
import torch
import torch.nn as nn


class Net(nn.Module):
    """Quantises each sample to STEP levels; the 'context' is a frame counter since the last reset."""

    def __init__(self):
        super().__init__()
        self.step = nn.Parameter(torch.tensor(16.0))

    def compress_mode(self):
        pass

    def get_temp_bias(self, x):
        return torch.zeros(1)

    def compress(self, x, z_lists, get_latent=False):
        q = torch.round(x * 255 / self.step).to(torch.uint8).numpy().tobytes()
        extra = bytes(int(z_lists[-1].item()))  # P frames cost a byte more per frame since the reset
        b, _, h, w = x.shape
        return struct.pack("3H", b, h // 64, w // 64), struct.pack("<BI", 1, len(q) + len(extra)) + q + extra

    def decompress(self, head, strings, z_lists, get_latent=False):
        b, h, w = struct.unpack("3H", head)
        n, length = struct.unpack("<BI", strings[:5])
        q = np.frombuffer(strings[5 : 5 + b * 3 * h * 64 * w * 64], np.uint8).reshape(b, 3, h * 64, w * 64)
        return torch.from_numpy(q.astype(np.float32)) * self.step / 255, z_lists[-1] + 1


def dhvc_base():
    return Net()
'''

TEST_PY = '''
import argparse, struct, sys
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from models.dhvc import dhvc_base

p = argparse.ArgumentParser()
for flag in ("-d", "-c", "-p", "-q", "-g", "-f"):
    p.add_argument(flag)
a = p.parse_args()
net = dhvc_base()
net.load_state_dict(torch.load(a.c)["state_dict"])
seq = sorted(Path(a.p).glob("*/"))[0]
for fi, png in enumerate(sorted(seq.glob("*.png"))[: int(a.f)]):
    x = torch.from_numpy(np.asarray(Image.open(png)).transpose(2, 0, 1)[None] / 255.).float()
    h, w = x.shape[2:]
    H, W = (h + 63) // 64 * 64, (w + 63) // 64 * 64
    l, t = (W - w) // 2, (H - h) // 2
    xp = F.pad(x, (l, W - w - l, t, H - h - t))
    if fi % int(a.g) == 0:
        z = [net.get_temp_bias(xp)] * 2
    head, s = net.compress(xp, z)
    data = head + s
    rec, zn = net.decompress(data[:6], data[6:], z)
    z = [z[-1], zn]
    rec = rec.clamp(0, 1)[:, :, t : t + h, l : l + w]
    psnr = -10 * np.log10(torch.mean((x - rec) ** 2).item())
    print("frame:", fi, "bpp:", len(data) * 8 / (h * w) * float(__import__("os").environ.get("BPP_SKEW", "1")),
          "psnr:", psnr)
'''


DHIC_MODEL = '''
import numpy as np
import torch
import torch.nn as nn


class Vae(nn.Module):
    """DHIC's coding interface: quality q quantises to 4 + q // 8 levels per sample, one string per 'latent'."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(1.0))

    def sample_lmb(self, cur_qp=None, bs=1):
        return [cur_qp] * bs, None

    def forward_bottomup(self, x, layer_qp):
        return {"x": x, "qp": layer_qp[0]}, None

    def forward_topdown(self, fdict, mode):
        levels = 4 + fdict["qp"] // 8
        if mode == "compress":
            q = torch.round(fdict["x"] * (levels - 1)).to(torch.uint8).numpy()
            fdict["shape"] = q.shape
            fdict["bit_strings"] = [[q[:, c].tobytes()] for c in range(3)] + [[bytes([levels])]]
            return fdict
        b, h64, w64 = fdict["shape"]
        planes = [np.frombuffer(s[0], np.uint8).reshape(b, h64 * 64, w64 * 64) for s in fdict["bit_strings"][:3]]
        fdict["x_hat"] = torch.from_numpy(np.stack(planes, 1).astype(np.float32)) / (levels - 1)
        return fdict

    def get_initial_fdict(self, layer_qp, shape):
        return {"qp": layer_qp[0], "shape": shape}


def dhvc():
    return Vae()
'''


def _dhic_checkout(tmp_path: Path) -> Path:
    import torch

    root = tmp_path / "DHVC"
    models = root / "dhic" / "models"
    models.mkdir(parents=True)
    (models / "__init__.py").write_text("")
    (models / "dhvc_dec_intra_var_rate.py").write_text(DHIC_MODEL)
    torch.save({"state_dict": {"gain": torch.tensor(1.0)}}, root / "dhic" / "checkpoint.pth.tar")
    return root


def _checkout(tmp_path: Path) -> Path:
    import torch

    root = tmp_path / "DHVC"
    models = root / "dhvc-1.0" / "models"
    models.mkdir(parents=True)
    (models / "__init__.py").write_text("")
    (models / "dhvc.py").write_text(MODEL)
    (root / "dhvc-1.0" / "test.py").write_text(TEST_PY)
    sys.path.insert(0, str(root / "dhvc-1.0"))
    try:
        from models.dhvc import dhvc_base
    finally:
        sys.path.pop(0)
        sys.modules.pop("models.dhvc", None)
        sys.modules.pop("models", None)
    torch.save({"state_dict": dhvc_base().state_dict()}, root / "dhvc-1.0" / "q3.pth.tar")
    (tmp_path / "stubs" / "ptflops").mkdir(parents=True)  # test.py's FLOP counter, replaced by the check anyway
    (tmp_path / "stubs" / "ptflops" / "__init__.py").write_text("def get_model_complexity_info(*a, **k):\n    pass\n")
    return root


def _condition(tmp_path: Path, clip_dir: Path, root: Path, **params: object) -> Path:
    """RGB content (a PNG folder, as DHVC's test sets are), so their RGB PSNR and ours are of the same frames."""
    rgb = tmp_path / "data" / "PanRGB"
    rgb.mkdir(parents=True)
    yuv = pixel_format("yuv420p")
    for i, planes in enumerate(RawVideoReader(clip_dir / "Pan_96x64_30.yuv", yuv, 96, 64).frames(0, 5)):
        write_png_frame(rgb / f"im{i + 1:05d}.png", convert(planes, yuv, pixel_format("gbrp"), ColourSpec()))
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in params.items())
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: dhvc
sequences: [{{name: PanRGB, file: PanRGB, format: gbrp, width: 96, height: 64, fps: 30}}]
data_root: {tmp_path / "data"}
frames: {{first: 0, count: 5}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs: [{{name: dhvc, adapter: dhvc-1.0, params: {{checkout: {root}, python: {sys.executable},
          checkpoints: [q3.pth.tar], official_check: true{extra}}}, rate_points: [0]}}]
""")
    return path


@pytest.fixture()
def stub_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stubs"))


@pytest.mark.slow
@pytest.mark.integration
def test_driver_and_official_check_end_to_end(tmp_path: Path, clip_dir: Path, stub_path: None) -> None:
    root = _checkout(tmp_path)
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, root)),
                            RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed, outcome.failed
    (r,) = ResultStore(tmp_path / "results" / "dhvc").run_records()
    # One real file per frame: 6-byte head, count, length, 3 x 128 x 64 samples, and a byte per frame since the
    # context reset (only at frame 0: our -1 is passed as gop = frame count).
    sizes = [6 + 5 + 3 * 128 * 64 + k for k in range(5)]
    assert r["rate"]["bitstream_bytes"] == sizes and r["per_frame"]["bits"] == [8 * s for s in sizes]
    assert r["per_frame"]["frame_type"] == ["I", "P", "P", "P", "P"] and r["codec_reported"]["gop_passed"] == 5
    check = r["codec_reported"]["official_check"]
    assert check["bits_equal"] and check["their_bits"] == [8 * s for s in sizes]
    assert check["max_psnr_difference_to_driver"] < 1e-6
    # Ours is on the 8-bit frames the driver saved, theirs on the unrounded output: a small, real difference.
    diff = r["codec_reported"]["difference_to_ours"]
    assert 0 < abs(diff["psnr_rgb"]) < 0.1 and diff["bpp"] == pytest.approx(0, abs=1e-12)
    assert r["timing"]["encode_s"] > 0 and r["timing"]["decode_s"] > 0
    # DHVC decodes only inside its own driver: the decoded frames are kept (FFV1) for measuring later.
    assert r["decoded"]["kept"]["bytes"] > 0 and not r["decoded"]["redecodable"]


@pytest.mark.slow
@pytest.mark.integration
def test_official_check_mismatch_fails_the_job(tmp_path: Path, clip_dir: Path, stub_path: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = _checkout(tmp_path)
    monkeypatch.setenv("BPP_SKEW", "1.01")  # the stand-in test.py then reports 1 % more bits
    outcome = run_condition(load_condition(_condition(tmp_path, clip_dir, root)),
                            RunOptions(tmp_path / "results", progress=False))
    (failed,) = outcome.failed
    assert failed["error"]["message"].startswith("the driver does not reproduce the official test.py: "
                                                 "bits [196696, 196704")


def test_intra_period_and_rate_points(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    cls = adapter_class("dhvc-1.0")
    adapter = cls(cls.validate_params({"checkout": str(root), "checkpoints": ["q3.pth.tar"]}, "w"))
    task = CodingTask(tmp_path / "x", pixel_format("gbrp"), 96, 64, 30.0, 96, -1, 0, tmp_path)
    assert adapter.gop(task) == 96
    assert adapter.gop(CodingTask(tmp_path / "x", pixel_format("gbrp"), 96, 64, 30.0, 96, 32, 0, tmp_path)) == 32
    with pytest.raises(AdapterError, match=r"rate point 1 has no checkpoint \(the descriptor lists 1\)"):
        adapter.checkpoint(1)
    with pytest.raises(ConditionError, match=r"expected an index into the descriptor's checkpoints list"):
        cls.validate_rate_point(-1, "w")
    with pytest.raises(AdapterError, match=r"has no models/ folder; point checkout: at a clone of NJUVISION/DHVC"):
        cls(cls.validate_params({"checkout": str(tmp_path)}, "w")).identity()


@pytest.mark.slow
@pytest.mark.integration
def test_dhic_end_to_end(tmp_path: Path, clip_dir: Path) -> None:
    """Every frame an image at its quality index; one real stream per frame with our 28-byte header."""
    root = _dhic_checkout(tmp_path)
    cond = _condition(tmp_path, clip_dir, root)
    cond.write_text(cond.read_text().replace("intra_period: -1", "intra_period: 1").replace(
        "adapter: dhvc-1.0", "adapter: dhic").replace("checkpoints: [q3.pth.tar], official_check: true",
                                                      "checkpoint: checkpoint.pth.tar").replace(
        "rate_points: [0]", "rate_points: [0, 63]"))
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed, outcome.failed
    records = ResultStore(tmp_path / "results" / "dhvc").run_records()
    assert [r["rate_point"] for r in records] == [0, 63]
    for r in records:
        # header 28 bytes + 3 planes of 128 x 64 + the one-byte fourth string
        assert r["rate"]["bitstream_bytes"] == [28 + 3 * 128 * 64 + 1] * 5
        assert r["per_frame"]["frame_type"] == ["I"] * 5
    low, high = (r["metrics"]["psnr_rgb"] for r in records)
    assert high > low + 10  # 11 levels at q 63 against 4 at q 0
    with pytest.raises(ConditionError, match=r"dhic is an image codec; set intra_period: 1"):
        adapter_class("dhic")({"checkout": str(root)}).check_condition(4, "c.yaml")
    with pytest.raises(ConditionError, match=r"64 is not a rate point for dhic: expected a quality index 0..63"):
        adapter_class("dhic").validate_rate_point(64, "c.yaml")


@pytest.mark.slow
def test_dhic_checkpoint_that_does_not_fit_is_an_error(tmp_path: Path, clip_dir: Path) -> None:
    import torch

    root = _dhic_checkout(tmp_path)
    torch.save({"state_dict": {"gain": torch.tensor(1.0), "extra": torch.zeros(2)}}, root / "dhic" / "checkpoint.pth.tar")
    cls = adapter_class("dhic")
    adapter = cls(cls.validate_params({"checkout": str(root), "python": sys.executable,
                                       "checkpoint": "checkpoint.pth.tar"}, "w"))
    raw = tmp_path / "in.raw"
    raw.write_bytes(bytes(96 * 64 * 3))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(AdapterError, match=r'Unexpected key\(s\) in state_dict: "extra"'):
        adapter.code_sequence(CodingTask(raw, pixel_format("gbrp"), 96, 64, 30.0, 1, 1, 3, work))


def test_official_per_frame_lines() -> None:
    text = ("frame: 0 bpp: 1.0037660256410257 psnr: 6.434210\nframe: 1 bpp: 0.25 psnr: 31.5\n"
            "\x1b[92mq=0, time=55.1s. evaluate 2 out of 8 frames. frame_dir.stem=s, bpp=0.6, psnr=19.0\x1b[0m\n")
    assert dhvc_frame_lines(text) == [(0, 1.0037660256410257, 6.43421), (1, 0.25, 31.5)]


@pytest.mark.integration
def test_dhvc_2_is_not_available_and_says_so(tmp_path: Path, clip_dir: Path) -> None:
    cls = adapter_class("dhvc-2.0")
    adapter = cls(cls.validate_params({"checkout": str(tmp_path)}, "w"))
    message = (r"codec dhvc-2.0: DHVC 2.0 is not available upstream: NJUVISION/DHVC publishes no DHVC 2.0 code "
               r"\(only the paper, arXiv 2410.02598\)")
    for call in (adapter.doctor, adapter.identity):
        with pytest.raises(AdapterError, match=message):
            call()
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: d2
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: -1
codecs: [{{name: dhvc2, adapter: dhvc-2.0, params: {{checkout: {tmp_path}}}, rate_points: [0]}}]
""")
    with pytest.raises(AdapterError, match=message):
        run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert not (tmp_path / "results" / "d2" / "records").exists()  # nothing that could pass for a result


@pytest.mark.skipif(not os.environ.get("LVCBENCH_DHVC_ROOT") or not os.environ.get("LVCBENCH_DHVC_CHECKPOINT"),
                    reason="set LVCBENCH_DHVC_ROOT (a NJUVISION/DHVC clone), LVCBENCH_DHVC_CHECKPOINT and optionally "
                           "LVCBENCH_DHVC_PYTHON to run DHVC 1.0 for real")
def test_real_dhvc_1(tmp_path: Path, demo_dir: Path) -> None:
    cls = adapter_class("dhvc-1.0")
    adapter = cls(cls.validate_params({
        "checkout": os.environ["LVCBENCH_DHVC_ROOT"], "python": os.environ.get("LVCBENCH_DHVC_PYTHON", sys.executable),
        "checkpoints": [os.environ["LVCBENCH_DHVC_CHECKPOINT"]], "official_check": True}, "w"))
    yuv, rgb = pixel_format("yuv420p"), pixel_format("gbrp")
    raw = tmp_path / "in.rgb"
    with RawVideoWriter(raw, rgb) as writer:
        for planes in RawVideoReader(demo_dir / "HopperPan_416x240_30.yuv", yuv, 416, 240).frames(0, 3):
            writer.write(convert(planes, yuv, rgb, ColourSpec("bt709", "full", "bilinear")))
    work = tmp_path / "work"
    work.mkdir()
    result = adapter.code_sequence(CodingTask(raw, rgb, 416, 240, 30.0, 3, -1, 0, work))
    assert result.codec_reported["official_check"]["bits_equal"]
    assert [p.stat().st_size * 8 for p in result.bitstreams] == result.frame_bits


@pytest.mark.skipif(not os.environ.get("LVCBENCH_DHVC_ROOT") or not os.environ.get("LVCBENCH_DHIC_CHECKPOINT"),
                    reason="set LVCBENCH_DHVC_ROOT, LVCBENCH_DHIC_CHECKPOINT and optionally LVCBENCH_DHVC_PYTHON to run "
                           "DHIC for real")
def test_real_dhic(tmp_path: Path, demo_dir: Path) -> None:
    cls = adapter_class("dhic")
    adapter = cls(cls.validate_params({
        "checkout": os.environ["LVCBENCH_DHVC_ROOT"], "python": os.environ.get("LVCBENCH_DHVC_PYTHON", sys.executable),
        "checkpoint": os.environ["LVCBENCH_DHIC_CHECKPOINT"]}, "w"))
    yuv, rgb = pixel_format("yuv420p"), pixel_format("gbrp")
    raw = tmp_path / "in.rgb"
    with RawVideoWriter(raw, rgb) as writer:
        for planes in RawVideoReader(demo_dir / "HopperPan_416x240_30.yuv", yuv, 416, 240).frames(0, 2):
            writer.write(convert(planes, yuv, rgb, ColourSpec("bt709", "full", "bilinear")))
    work = tmp_path / "work"
    work.mkdir()
    result = adapter.code_sequence(CodingTask(raw, rgb, 416, 240, 30.0, 2, 1, 3, work))
    sizes = [p.stat().st_size for p in result.bitstreams]
    assert len(sizes) == 2 and all(s > 28 for s in sizes) and result.frame_types == ["I", "I"]
