"""The command line as a user meets it: one-line errors, exit codes, the helper subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from bench.cli import main


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "evaluate.py"), *args], cwd=cwd, capture_output=True,  # noqa: S603
                          text=True, timeout=120, check=False)


@pytest.mark.integration
def test_shipped_condition_without_data_says_which_file_and_where(tmp_path: Path) -> None:
    proc = run("--conditions", str(REPO / "conditions/hevc_b_ip32.yaml"), "--data-root", str(tmp_path),
               "--results", str(tmp_path / "results"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    # One error line per missing sequence, all named before anything is coded, in the condition's order.
    assert [line.split(":")[1] for line in lines] == [" sequence " + n for n in
                                                      ("BQTerrace", "BasketballDrive", "Cactus", "Kimono1", "ParkScene")]
    assert all(line.startswith("error: sequence ") and " not found; looked for " in line for line in lines)
    assert lines[0].startswith("error: sequence BQTerrace: file BQTerrace_1920x1080_60.yuv not found; looked for ")
    assert str(tmp_path / "BQTerrace_1920x1080_60.yuv") in lines[0]
    assert not (tmp_path / "results").exists()  # nothing half-written


@pytest.mark.integration
def test_uvg_condition_without_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("LVCBENCH_DATA_ROOT", raising=False)
    assert main(["validate", "--conditions", str(REPO / "conditions/uvg_ip32_96f.yaml")]) == 2
    assert "error: sequence Beauty: no data root given for Beauty_1920x1080_120fps_420_8bit_YUV.yuv" in \
        capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
def test_bad_condition_is_one_line_exit_2(tmp_path: Path) -> None:
    cond = tmp_path / "c.yaml"
    cond.write_text("dataset: demo\nframes: {count: 8}\ncodecs: [x264]\nintra_perod: 4\n")
    proc = run("--conditions", str(cond), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {cond}: (top level): unknown key 'intra_perod' (known keys here: anchor, " \
        "codecs, colour, data_root, dataset, description, frames, intra_period, metrics, name, sequences, spatial, timing)"


@pytest.mark.integration
def test_ls_and_doctor(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LVCBENCH_VTM_ROOT", "LVCBENCH_HM_ROOT", "LVCBENCH_ECM_ROOT"):
        monkeypatch.delenv(var, raising=False)
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    assert "hevc_b (5 sequences)" in out and "mcl_jcv (30 sequences)" in out
    # the demo's sequence names, which a condition's sequences: lists (before: only "generated on first use")
    assert "  demo (4 sequences, generated on first use: HopperPan, HopperZoom, TerrainFlyover, MovingShapes)\n" in out
    assert "conditions/demo.yaml" in out and "x265" in out
    assert main(["doctor"]) == 0  # the reference software is not built here: optional, "n/a", not a failure
    out = capsys.readouterr().out
    assert "ok   x265: 4." in out and "ok   vvenc: 1." in out and "FAIL" not in out
    assert "n/a  vtm: no build given; set root: (the source tree) or encoder: in the descriptor, or the " \
           "environment variable LVCBENCH_VTM_ROOT" in out  # the line names the codec: not again as "codec vtm:"
    # One descriptor by name, as `evaluate.py doctor dcvc-fm`.
    monkeypatch.delenv("LVCBENCH_DCVC_ROOT", raising=False)
    assert main(["doctor", "x265"]) == 0 and "ok   x265: 4." in capsys.readouterr().out
    assert main(["doctor", "dcvc-fm"]) == 1  # named as a failure of that codec, and the others still checked
    assert "FAIL dcvc-fm: " in (out := capsys.readouterr().out)
    assert "params.checkout: environment variable LVCBENCH_DCVC_ROOT is not set" in out
    monkeypatch.setenv("LVCBENCH_DCVC_ROOT", "/nowhere")
    assert main(["doctor", "dcvc-fm"]) == 1
    assert "FAIL dcvc-fm: /nowhere/DCVC-family/DCVC-FM has no test_video.py" in capsys.readouterr().out


@pytest.mark.integration
def test_jobs_must_be_positive(capsys: pytest.CaptureFixture) -> None:
    assert main(["--conditions", str(REPO / "conditions/demo.yaml"), "--jobs", "0"]) == 2
    assert "error: --jobs must be 1 or more, got 0" in capsys.readouterr().err
