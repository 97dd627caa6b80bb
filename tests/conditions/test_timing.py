"""Complexity and speed measured fairly: per-frame rates, the programs' own memory and CPU, exclusive timing,
and the complexity table the report and LaTeX show."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.adapters.process import collecting_usage, run, run_program
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.conditions.timing import EXCLUSIVE_LABEL, SHARED_LABEL, frame_rates, summary

CONDITION = """
name: {name}
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: []}}
{timing}
codecs:
  - {{descriptor: x264, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
  - {{descriptor: x265, params: {{preset: ultrafast}}, rate_points: [24, 30, 36, 42]}}
anchor: x265
"""


def test_frame_rates_by_hand() -> None:
    # Frame times 10, 20, 20, 40 ms: median 20 ms = 50 fps; the 95th percentile time (numpy's linear rule:
    # 20 + 0.85 * 20 = 37 ms) is the slow end, 27.03 fps.
    rates = frame_rates([0.010, 0.020, 0.020, 0.040])
    assert rates["fps_median"] == pytest.approx(50.0)
    assert rates["fps_p95"] == pytest.approx(1 / 0.037)
    assert frame_rates(None) == {"fps_median": None, "fps_p95": None}
    per_sequence = summary(2.0, 0.5, 10, None, None, "shared")
    assert per_sequence["encode_fps_median"] == 5.0 and per_sequence["encode_timed"] == "per sequence"
    assert per_sequence["encode_fps_p95"] is None and per_sequence["label"] == SHARED_LABEL
    assert summary(1.0, 1.0, 4, [0.25] * 4, [0.5] * 4, "exclusive")["decode_fps_median"] == 2.0


@pytest.mark.slow
def test_a_programs_peak_memory_is_its_own_not_the_parents(tmp_path: Path) -> None:
    """A child forked from this (large) process reports wait4's ru_maxrss as big as the parent was; the
    high-water mark read while it runs is the program's own: a 300 MiB child of a parent holding 400 MiB
    more reads about 300 MiB."""
    ballast = np.ones(400 * 2**20 // 8)  # noqa: F841 (kept alive while the child runs)
    code = "import time; x = bytearray(300 * 2**20); time.sleep(0.3)"
    with collecting_usage() as usage:
        run([sys.executable, "-c", code], "300 MiB", 60, separate_stdout=True)
        out = run_program([sys.executable, "-c", "print(sum(range(10**7)))"], "sum", 60, tmp_path / "sum.log")
    assert out.strip() == str(sum(range(10**7)))
    big, small = usage
    assert 300 * 2**20 <= big.peak_rss_bytes < 420 * 2**20, big.peak_rss_bytes / 2**20
    assert small.peak_rss_bytes < 200 * 2**20 and small.cpu_s > 0.05 and big.wall_s >= 0.3


@pytest.mark.slow
@pytest.mark.integration
def test_exclusive_timing_is_keyed_labelled_and_tabled(tmp_path: Path, clip_dir: Path) -> None:
    for name, timing in (("shared", ""), ("alone", "timing: exclusive")):
        (tmp_path / f"{name}.yaml").write_text(CONDITION.format(name=name, clips=clip_dir, timing=timing))
    shared, alone = (load_condition(tmp_path / f"{n}.yaml") for n in ("shared", "alone"))
    assert "timing" not in shared.coding_fields() and alone.coding_fields()["timing"] == "exclusive"
    for name in ("shared", "alone"):
        assert main(["run", "--conditions", str(tmp_path / f"{name}.yaml"), "--results", str(tmp_path / "r"),
                     "--reports", str(tmp_path / "p"), "--no-progress", "--no-figures"]) == 0
    summary_csv = pd.read_csv(tmp_path / "r" / "alone" / "summary.csv")
    assert set(summary_csv["timing_mode"]) == {"exclusive"}
    for column in ("encode_fps_median", "decode_fps_median", "peak_rss_mib", "threads", "device", "cpu"):
        assert summary_csv[column].notna().all(), column
    assert (summary_csv["peak_rss_mib"] > 1).all() and (summary_csv["peak_rss_mib"] < 2000).all()
    html = (tmp_path / "p" / "alone" / "index.html").read_text()
    assert EXCLUSIVE_LABEL in html and 'id="complexity-table"' in html and "BD-rate against decoding time" in html
    assert SHARED_LABEL in (tmp_path / "p" / "shared" / "index.html").read_text()
    tex = (tmp_path / "p" / "alone" / "tables" / "complexity.tex").read_text()
    assert "\\label{tab:complexity}" in tex and "x264 & --" in tex and "exclusive" in tex
    # The two runs code the same bitstreams: BD between them is not refused for the timing mode alone.
    assert main(["bd", str(tmp_path / "r" / "shared"), str(tmp_path / "r" / "alone"), "--anchor", "shared:x265",
                 "--out", str(tmp_path / "bd")]) == 0


TORCH_MODEL = '''
import numpy as np
import torch


class Codec:
    """One 3x3 convolution, 3 -> 8 channels, then 8-bit quantisation: arithmetic we can count by hand."""

    def __init__(self, rate_point, device):
        torch.manual_seed(0)
        self.net = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.back = torch.nn.Conv2d(8, 3, 1)

    def compress(self, frame):
        with torch.no_grad():
            y = self.net(torch.from_numpy(frame)[None])
        return np.clip(np.rint(y.numpy() * 16 + 128), 0, 255).astype(np.uint8).tobytes()

    def decompress(self, data, height, width):
        y = torch.from_numpy((np.frombuffer(data, np.uint8).astype(np.float32) - 128) / 16).reshape(1, 8, height, width)
        with torch.no_grad():
            return self.back(y)[0].clamp(0, 1).numpy()


def make(rate_point, device):
    return Codec(rate_point, device)
'''


@pytest.mark.slow
@pytest.mark.integration
def test_a_python_models_complexity_is_counted_in_its_own_interpreter(tmp_path: Path, clip_dir: Path) -> None:
    (tmp_path / "conv_codec.py").write_text(TORCH_MODEL)
    (tmp_path / "conv.yaml").write_text("adapter: python-model\nparams: {model: 'conv_codec:make', kind: image}\n"
                                        "rate_points: [1]\n")
    cond = tmp_path / "c.yaml"
    cond.write_text(CONDITION.format(name="conv", clips=clip_dir, timing="").replace(
        "  - {descriptor: x264, params: {preset: ultrafast}, rate_points: [24, 30, 36, 42]}\n", "  - {descriptor: conv}\n")
        .replace("anchor: x265", ""))
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
                 "--no-progress", "--no-figures"]) == 0
    from bench.store.results import ResultStore

    [record] = [r for r in ResultStore(tmp_path / "r" / "conv").run_records() if r["codec"]["name"] == "conv"]
    c = record["complexity"]
    # By hand, on the 96x64 frame: encode 96*64*8*3*3*3 MACs, decode 96*64*3*8 (1x1); parameters 3*8*9+8 + 8*3+3.
    assert c["encode_macs"] == 96 * 64 * 8 * 3 * 9 and c["decode_macs"] == 96 * 64 * 3 * 8
    assert c["encode_kmac_per_pixel"] == pytest.approx(8 * 3 * 9 / 1000) and c["params"] == 3 * 8 * 9 + 8 + 8 * 3 + 3
    assert "in the codec's own interpreter" in c["method"]
    assert record["timing"]["encode_timed"] == "per frame" and len(record["per_frame"]["decode_s"]) == 4
