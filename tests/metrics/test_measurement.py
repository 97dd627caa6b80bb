"""Measurement apart from coding: the job key never holds a measurement setting, a metrics change codes
nothing, kept or re-decoded frames are checked, and schema-1 results are reused after an upgrade."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import write_clip

from bench.adapters.ffmpeg import FfmpegAdapter
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import ConditionError
from bench.run.runner import RunOptions, plan, run_condition
from bench.run.status import condition_status
from bench.store.results import ResultStore

DATA = Path(__file__).parents[1] / "data"
FAST = ("codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [24, 32, 40, 48]}\n"
        "  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [24, 32, 40, 48]}\nanchor: x265")


def _condition(tmp_path: Path, clip_dir: Path, metrics: str, codecs: str = FAST, intra_period: int = 4,
               file: str = "t.yaml") -> Path:
    path = tmp_path / file
    path.write_text(f"""
name: t
sequences:
  - {{name: Pan, file: Pan_96x64_30.yuv, group: A}}
  - {{name: Shapes, file: Shapes_96x64_30.yuv, group: B}}
data_root: {clip_dir}
frames: {{first: 0, count: 8}}
intra_period: {intra_period}
metrics: {metrics}
{codecs}
""")
    return path


@pytest.fixture
def encoder_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every code_sequence call of the ffmpeg adapters (encode + decode), by codec name."""
    calls: list[str] = []
    real = FfmpegAdapter.code_sequence

    def counted(self: FfmpegAdapter, task: object) -> object:
        calls.append(self.name)
        return real(self, task)  # type: ignore[arg-type]

    monkeypatch.setattr(FfmpegAdapter, "code_sequence", counted)
    return calls


def test_no_measurement_setting_is_in_the_job_key(tmp_path: Path, clip_dir: Path) -> None:
    keys = {}
    for i, metrics in enumerate(("{ms_ssim: []}", "{ms_ssim: [y, rgb], vmaf: [vmaf_v0.6.1, vmaf_v0.6.1neg], "
                                 "xpsnr: true, pooling: psnr_of_mean_mse, psnr_peak: vtm}")):
        jobs, _ = plan(load_condition(_condition(tmp_path, clip_dir, metrics, file=f"m{i}.yaml")))
        keys[i] = [j.key for j in jobs]
    assert keys[0] == keys[1] and len(set(keys[0])) == 16
    # ... while a coding setting does change every key (the test above could otherwise pass by accident).
    jobs, _ = plan(load_condition(_condition(tmp_path, clip_dir, "{ms_ssim: []}", intra_period=8, file="ip8.yaml")))
    assert not set(keys[0]) & {j.key for j in jobs}


@pytest.mark.slow
@pytest.mark.integration
def test_changing_metrics_codes_nothing_and_measures_only_what_is_missing(
        tmp_path: Path, clip_dir: Path, encoder_calls: list[str], capsys: pytest.CaptureFixture) -> None:
    results, reports = tmp_path / "results", tmp_path / "reports"
    argv = ["--results", str(results), "--reports", str(reports), "--no-progress", "--jobs", "2"]
    first = _condition(tmp_path, clip_dir, "{ms_ssim: []}")
    assert main(["--conditions", str(first), *argv]) == 0
    assert len(encoder_calls) == 16
    before = pd.read_csv(results / "t" / "summary.csv")
    records_before = {p.name: p.read_bytes() for p in (results / "t" / "records").glob("*/*/*.json")}

    # VMAF and XPSNR added, pooling changed: no encoder runs, every job is decoded again and measured.
    second = _condition(tmp_path, clip_dir, "{ms_ssim: [], vmaf: true, xpsnr: true, pooling: psnr_of_mean_mse}",
                        file="t2.yaml")
    assert main(["--conditions", str(second), *argv]) == 0
    out = capsys.readouterr().out
    assert len(encoder_calls) == 16, "a metrics change invoked an encoder"
    assert "16 jobs, 0 coded, 16 measured again (32 measurements; 16 bitstreams decoded again" in out
    assert {p.name: p.read_bytes() for p in (results / "t" / "records").glob("*/*/*.json")} == records_before
    after = pd.read_csv(results / "t" / "summary.csv")
    assert list(after["key"]) == list(before["key"]) and list(after["bits"]) == list(before["bits"])
    assert after["vmaf"].between(0, 100).all() and after["xpsnr_y"].notna().all()
    assert set(after["pooling"]) == {"psnr_of_mean_mse"}
    # PSNR of the mean MSE is at most the mean of the PSNRs (Jensen), and differs where frames differ.
    assert (after["psnr_y"] <= before["psnr_y"] + 1e-9).all() and (after["psnr_y"] < before["psnr_y"] - 1e-4).any()
    frames = pd.read_csv(results / "t" / "frames.csv")
    assert frames["vmaf"].notna().all() and frames["xpsnr_y"].notna().all()
    tables = list((reports / "t" / "tables").glob("*vmaf*per_sequence.csv"))
    assert tables, "no BD table on VMAF"
    page = (reports / "t" / "index.html").read_text()
    assert "VMAF" in page and "XPSNR-Y" in page

    # Pooling back: computed from stored per-frame values, nothing measured, nothing coded.
    assert main(["--conditions", str(first), *argv]) == 0
    assert "0 coded, 16 already recorded" in capsys.readouterr().out and len(encoder_calls) == 16
    again = pd.read_csv(results / "t" / "summary.csv")
    assert list(again["psnr_y"]) == list(before["psnr_y"]) and "vmaf" not in again.columns
    # remeasure on demand: the measures named are taken only where missing.
    assert main(["remeasure", "--conditions", str(first), "--metrics", "vmaf,xpsnr", *argv]) == 0
    assert "16 already recorded" in capsys.readouterr().out and len(encoder_calls) == 16


@pytest.mark.slow
@pytest.mark.integration
def test_kept_decoded_frames_are_restored_and_checked(tmp_path: Path, clip_dir: Path, encoder_calls: list[str],
                                                      capsys: pytest.CaptureFixture) -> None:
    kept = "codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [32], keep_decoded: always}"
    results = tmp_path / "results"
    argv = ["--results", str(results), "--reports", str(tmp_path / "rep"), "--no-progress"]
    assert main(["--conditions", str(_condition(tmp_path, clip_dir, "{ms_ssim: []}", kept)), *argv]) == 0
    store = ResultStore(results / "t")
    recs = store.all_records()
    assert all(r["decoded"]["kept"]["bytes"] > 0 for r in recs)
    raw = 96 * 64 * 3 // 2 * 8
    assert all(r["decoded"]["kept"]["raw_bytes"] == raw for r in recs)
    cond2 = _condition(tmp_path, clip_dir, "{ms_ssim: [], xpsnr: true}", kept, file="t2.yaml")
    assert main(["remeasure", "--conditions", str(cond2), *argv]) == 0
    assert "2 measured again (2 measurements; 0 bitstreams decoded again, 2 kept decodes restored)" in \
        capsys.readouterr().out
    assert len(encoder_calls) == 2
    # A decode that does not give the frames measured at coding time is refused, not measured.
    path = next((results / "t" / "records").glob("x264/Pan/*.json"))
    record = json.loads(path.read_text())
    record["decoded"]["sha256"] = "0" * 64
    store.write(path, record)
    cond3 = _condition(tmp_path, clip_dir, "{ms_ssim: [], vmaf: true}", kept, file="t3.yaml")
    assert main(["remeasure", "--conditions", str(cond3), *argv]) == 1
    assert "differ from those measured when the job was coded" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.integration
def test_schema_1_records_are_migrated_and_reused(tmp_path: Path, demo_dir: Path, encoder_calls: list[str],
                                                  capsys: pytest.CaptureFixture) -> None:
    """A record and bitstream written by the suite before measurements were kept apart (schema 1, fixture)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    write_clip(demo_dir / "HopperPan_416x240_30.yuv", clips / "Pan_208x176_30.yuv", 208, 176, 8, 100, 40)
    cond = tmp_path / "t.yaml"
    cond.write_text(f"""
name: t
sequences: [{{name: Pan, file: Pan_208x176_30.yuv, group: A}}]
data_root: {clips}
frames: {{first: 0, count: 8}}
intra_period: 4
metrics: {{ms_ssim: [y, rgb]}}
codecs:
  - {{descriptor: x264, params: {{preset: veryfast}}, rate_points: [32]}}
""")
    results = tmp_path / "results"
    shutil.copytree(DATA / "schema1", results / "t")
    old_path = next((results / "t" / "records").glob("*/*/*.json"))
    old = json.loads(old_path.read_text())
    assert old["schema_version"] == 1
    # The fixture was coded with the ffmpeg build of its day; a later wheel would (rightly) recode it. Give it
    # today's tool identity so that the test is about the migration, not about the ffmpeg version.
    jobs, _ = plan(load_condition(cond))
    for k in ("ffmpeg_version", "ffmpeg_sha256", "library"):
        old["codec"]["identity"][k] = jobs[0].codec_identity[k]
    old_path.write_text(json.dumps(old))

    # status reads the old folder (migrating it) and finds the job done.
    assert condition_status(load_condition(cond), results).counts()["done"] == 1
    # Its SSE is reused as it is; its MS-SSIM was computed by pytorch_msssim (version 1 of the measure), so
    # the stored bitstream is decoded again and MS-SSIM measured by today's kernels. Nothing is coded.
    outcome = run_condition(load_condition(cond), RunOptions(results, progress=False))
    assert (outcome.coded, outcome.measured, outcome.redecoded, outcome.skipped) == (0, 1, 1, 0)
    assert not encoder_calls and not old_path.exists()
    [view] = ResultStore(results / "t").run_records()
    assert view["key"] == jobs[0].key and view["migrated"]["old_key"] == old["key"]
    for name, value in old["metrics"].items():
        if name.startswith("ms_ssim"):  # measured again: equal to pytorch_msssim's values within float32 rounding
            assert view["metrics"][name] == pytest.approx(value, abs=5e-6), name
        else:  # the same numbers, pooled again from the migrated values
            assert view["metrics"][name] == pytest.approx(value, rel=1e-12), name
    assert view["per_frame"]["ms_ssim_rgb"] == pytest.approx(old["per_frame"]["ms_ssim_rgb"], abs=5e-6)
    assert view["rate"]["bits"] == old["rate"]["bits"]
    # A new metric on a migrated record: its stored bitstream is decoded again; nothing is coded.
    assert main(["remeasure", "--conditions", str(cond), "--metrics", "vmaf", "--results", str(results),
                 "--reports", str(tmp_path / "rep"), "--no-progress"]) == 0
    assert "1 measured again (1 measurements; 1 bitstreams decoded again" in capsys.readouterr().out
    assert not encoder_calls


@pytest.mark.gpu
@pytest.mark.integration
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where there is no GPU")
def test_asking_for_a_gpu_where_there_is_none_is_one_error(tmp_path: Path, clip_dir: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    cond = _condition(tmp_path, clip_dir, "{device: cuda}")
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "metrics: device cuda asked for, but torch sees no CUDA device" in err and len(err.splitlines()) == 1
    assert not list((tmp_path / "r").rglob("records/*/*/*.json"))  # nothing coded


@pytest.mark.integration
def test_migrate_command_and_unknown_schema(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    results = tmp_path / "r"
    shutil.copytree(DATA / "schema1", results)
    assert main(["migrate", str(results)]) == 0
    assert "1 record(s) migrated" in capsys.readouterr().out
    [path] = (results / "records").glob("*/*/*.json")
    assert json.loads(path.read_text())["schema_version"] == 2
    assert len(list((results / "measurements").glob("*/*/*/*.json"))) == 3  # sse, ms_ssim y, ms_ssim rgb
    assert main(["migrate", str(results)]) == 0 and "0 record(s) migrated" in capsys.readouterr().out
    record = json.loads(path.read_text())
    record["schema_version"] = 99
    path.write_text(json.dumps(record))
    assert main(["migrate", str(results)]) == 2
    assert "record schema 99 is unknown" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.parametrize(("metrics", "message"), [
    ("{vmaf: maybe}", "metrics.vmaf: expected true, false or model names"),
    ("{vmaf: [vmaf_v9]}", "metrics.vmaf: expected true, false or model names"),
    ("{xpsnr: [y]}", "metrics.xpsnr: expected true or false"),
    ("{ms_ssim: [yuv]}", "metrics.ms_ssim: expected a list of y, rgb"),
    ("{vmf: true}", "metrics: unknown key 'vmf'"),
    ("{device: gpu}", "metrics.device: expected auto, cpu, cuda or cuda:N, got 'gpu'"),
])
def test_bad_metrics_block_is_one_error(tmp_path: Path, clip_dir: Path, metrics: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        load_condition(_condition(tmp_path, clip_dir, metrics))
