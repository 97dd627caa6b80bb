"""The run path end to end on real encoders: records, resume, failures, kill -9, parallel jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, condition_file, records, wait_until

from bench.adapters import adapter_class
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import AdapterError
from bench.run.runner import RunOptions, plan, run_condition
from bench.run.status import condition_status
from bench.store.results import ResultStore
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, write_png_frame, write_y4m

FAST = ("codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [24, 32, 40]}\n"
        "  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [24, 32, 40]}")


@pytest.mark.slow
def test_run_records_every_job_and_resumes(tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture) -> None:
    cond = condition_file(tmp_path, clip_dir, codecs="", extra=FAST)
    results, reports = tmp_path / "results", tmp_path / "reports"
    argv = ["--conditions", str(cond), "--results", str(results), "--reports", str(reports), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "12 jobs, 12 coded, 0 already recorded, 0 failed" in out
    recs = records(results)
    assert len(recs) == 12 and all(r["status"] == "ok" for r in recs)
    r = next(x for x in recs if x["codec"]["name"] == "x264" and x["sequence"]["name"] == "Pan" and x["rate_point"] == 32)
    # Rate is the bytes of the stored bitstream.
    stream = results / "t" / r["rate"]["bitstreams"][0]
    assert r["rate"]["bits"] == 8 * stream.stat().st_size == 8 * r["rate"]["bitstream_bytes"][0]
    assert r["rate"]["bpp"] == pytest.approx(r["rate"]["bits"] / (96 * 64 * 8))
    assert r["rate"]["kbps"] == pytest.approx(r["rate"]["bits"] * 30 / 8 / 1000)
    assert len(r["per_frame"]["psnr_y"]) == 8 and r["per_frame"]["frame_type"] == list("IPPPIPPP")
    assert r["metrics"]["psnr_y"] == pytest.approx(sum(r["per_frame"]["psnr_y"]) / 8)
    assert r["commands"][0][0].endswith(tuple(["ffmpeg-linux-x86_64-v9.0.2", "ffmpeg"]))
    assert r["provenance"]["packages"]["numpy"] and r["codec"]["identity"]["library"]
    assert r["measurement"]["pooling"] == "mean_psnr" and r["measurement"]["psnr_peak"]["yuv"] == 255
    # Monotonic RD: higher QP, fewer bits and lower PSNR.
    for codec in ("x264", "x265"):
        for seq in ("Pan", "Shapes"):
            pts = sorted((x["rate_point"], x["rate"]["bits"], x["metrics"]["psnr_y"]) for x in recs
                         if x["codec"]["name"] == codec and x["sequence"]["name"] == seq)
            assert [p[1] for p in pts] == sorted((p[1] for p in pts), reverse=True)
            assert [p[2] for p in pts] == sorted((p[2] for p in pts), reverse=True)
    summary = pd.read_csv(results / "t" / "summary.csv")
    assert len(summary) == 12 and set(summary["status"]) == {"ok"}
    assert len(pd.read_csv(results / "t" / "frames.csv")) == 12 * 8
    assert (reports / "t" / "figures" / "quicklook" / "Pan.png").stat().st_size > 10_000
    mtimes = {p: p.stat().st_mtime_ns for p in (results / "t" / "records").glob("*/*/*.json")}

    # Second run: nothing is coded, nothing is rewritten (its speed is a benchmark's business, not a test's).
    assert main(argv) == 0
    assert "12 jobs, 0 coded, 12 already recorded, 0 failed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (results / "t" / "records").glob("*/*/*.json")} == mtimes
    assert not (results / "t" / "work").exists() or not any((results / "t" / "work").iterdir())
    assert condition_status(load_condition(cond), results).counts() == {"done": 12, "failed": 0, "running": 0, "interrupted": 0, "left": 0}


@pytest.mark.slow
@pytest.mark.integration
def test_failed_job_is_recorded_and_retried(tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture) -> None:
    bad = ("codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [30]}\n"
           "  - {name: broken, adapter: x264, params: {extra_args: ['-profile:v', 'nosuch']},"
           " rate_points: [30]}")
    cond = condition_file(tmp_path, clip_dir, codecs="", extra=bad)
    results = tmp_path / "results"
    argv = ["--conditions", str(cond), "--results", str(results), "--reports", str(tmp_path / "rep"), "--no-progress"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    # The codec is named once, as the condition names it (not by its adapter, x264, a second time), the rate
    # point in its adapter's words, then the cause.
    assert "FAILED broken / Pan / qp 30: encoder failed with exit code" in err and "codec x264" not in err
    assert "invalid profile: nosuch" in err
    assert ("2 job(s) failed; fix the cause and rerun (add --retry-failed to code the same jobs again unchanged, "
            "e.g. after a crash)\n") in err
    # the run line counts a failed job once, as failed, not also as coded
    assert "4 jobs, 2 coded, 0 already recorded, 2 failed" in out
    failed = [r for r in records(results) if r["status"] == "failed"]
    assert len(failed) == 2 and all(r["error"]["stderr_tail"] for r in failed)
    assert len([r for r in records(results) if r["status"] == "ok"]) == 2
    # A rerun does not retry (and still says it failed); --retry-failed does.
    assert main(argv) == 1
    assert "0 coded, 4 already recorded, 2 failed" in capsys.readouterr().out
    assert main([*argv, "--retry-failed"]) == 1
    assert "4 jobs, 0 coded, 2 already recorded, 2 failed" in capsys.readouterr().out  # both failed again


@pytest.mark.integration
def test_decoder_returning_wrong_frame_count_fails_the_job(tmp_path: Path, clip_dir: Path) -> None:
    short = ("codecs:\n  - {name: short, adapter: x264, params: {preset: veryfast, decode_args: ['-frames:v', '5']},"
             " rate_points: [30]}")
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=short))
    outcome = run_condition(cond, RunOptions(tmp_path / "results", progress=False))
    assert len(outcome.failed) == 2
    assert outcome.failed[0]["error"]["message"] == (
        "the decoder returned 5 frames of 96x64 yuv420p, expected 8")


@pytest.mark.integration
def test_parallel_jobs_give_the_same_records(tmp_path: Path, clip_dir: Path) -> None:
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=FAST))
    one = run_condition(cond, RunOptions(tmp_path / "r1", jobs=1, progress=False))
    two = run_condition(cond, RunOptions(tmp_path / "r2", jobs=2, progress=False))
    assert one.coded == two.coded == 12 and not one.failed and not two.failed

    def key_metrics(root: Path) -> dict:
        return {r["key"]: (r["rate"]["bits"], r["metrics"]["psnr_y"]) for r in records(root)}

    assert key_metrics(tmp_path / "r1") == key_metrics(tmp_path / "r2")


@pytest.mark.integration
def test_two_codec_entries_with_the_same_settings_keep_apart(tmp_path: Path, clip_dir: Path) -> None:
    """Same descriptor and params under two names: the same job keys. Run side by side (--jobs 2) they must not
    share a work folder, and status must say each one's own state, not the other's."""
    twins = ("codecs:\n  - {name: a, descriptor: x264, params: {preset: veryfast}, rate_points: [30]}\n"
             "  - {name: b, descriptor: x264, params: {preset: veryfast}, rate_points: [30]}\nanchor: a\n")
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=twins))
    jobs, _ = plan(cond)
    assert len({j.key for j in jobs}) == 2 and len(jobs) == 4  # a and b share keys
    outcome = run_condition(cond, RunOptions(tmp_path / "results", jobs=2, progress=False))
    assert outcome.coded == 4 and not outcome.failed
    by_codec = {(r["codec"]["name"], r["sequence"]["name"]): r["rate"]["bitstream_sha256"]
                for r in records(tmp_path / "results")}
    assert by_codec[("a", "Pan")] == by_codec[("b", "Pan")] and by_codec[("a", "Shapes")] == by_codec[("b", "Shapes")]
    store = ResultStore(tmp_path / "results" / "t")
    b_pan = next(j for j in jobs if j.codec.name == "b" and j.sequence.name == "Pan")
    path = store.record_path("b", "Pan", 30, b_pan.key)
    store.write(path, {**store.read(path), "status": "failed", "error": {"message": "b's own failure"}})
    rows = {(r["codec"], r["sequence"]): (r["state"], r["detail"]) for r in condition_status(cond, tmp_path / "results").rows}
    assert rows[("a", "Pan")] == ("done", "") and rows[("b", "Pan")] == ("failed", "b's own failure")


@pytest.mark.integration
def test_a_renamed_codec_entry_does_not_bring_back_its_old_records(tmp_path: Path, clip_dir: Path) -> None:
    """Job keys leave the codec's name out: after renaming an entry (same settings), the run's records, its tables
    and ``report``/``bd`` reading the folder hold the new name's only, not the old folder's as well."""
    one = "codecs:\n  - {name: a, descriptor: x264, params: {preset: veryfast}, rate_points: [30]}\nanchor: a\n"
    path = condition_file(tmp_path, clip_dir, codecs="", extra=one)
    run_condition(load_condition(path), RunOptions(tmp_path / "results", progress=False))
    path.write_text(path.read_text().replace("name: a,", "name: b,").replace("anchor: a", "anchor: b"))
    run_condition(load_condition(path), RunOptions(tmp_path / "results", progress=False))
    assert {r["codec"]["name"] for r in records(tmp_path / "results")} == {"b"}
    assert (tmp_path / "results" / "t" / "records" / "a").is_dir()  # kept on disk, not read as this run's


def test_work_folders_of_the_earlier_layout_are_shown_and_cleaned(tmp_path: Path, clip_dir: Path) -> None:
    """Before work folders were per codec a job's was work/<key16>-<host>-<pid>: one a killed run left behind is
    still reported as interrupted and removed by the next run's clean-up."""
    from bench.files import host

    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=FAST))
    jobs, _ = plan(cond)
    store = ResultStore(tmp_path / "results" / "t")
    old = store.root / "work" / f"{jobs[0].key[:16]}-{host()}-999999"  # no such process
    (old / "encode").mkdir(parents=True)
    rows = condition_status(cond, tmp_path / "results").rows
    assert [r["state"] for r in rows].count("interrupted") == 1
    store.clean_stale_work()
    assert not (store.root / "work").exists()


@pytest.mark.slow
@pytest.mark.integration
def test_kill_9_mid_run_then_rerun_completes(tmp_path: Path, clip_dir: Path) -> None:
    slow = ("codecs:\n  - {descriptor: x265, params: {preset: medium}, rate_points: [20, 24, 28, 32, 36, 40]}\n"
            "  - {descriptor: vvenc, rate_points: [24, 32, 40]}")
    cond = condition_file(tmp_path, clip_dir, codecs="", extra=slow)
    results = tmp_path / "results"
    cmd = [sys.executable, str(REPO / "evaluate.py"), "--conditions", str(cond), "--results", str(results),
           "--reports", str(tmp_path / "rep"), "--no-progress", "--jobs", "2"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # noqa: S603
                            start_new_session=True)
    wait_until(lambda: len(list((results / "t" / "records").glob("*/*/*.json"))) >= 3, 120, "three records")
    # `status`, from the results folder alone while the run goes on: the manifest lists all 18 jobs.
    during = condition_status(load_condition(cond), results).counts()
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its encoders, mid-job
    proc.wait()
    assert sum(during.values()) == 18 and during["done"] >= 3 and during["running"] >= 1, during
    done_before = len(list((results / "t" / "records").glob("*/*/*.json")))
    assert 3 <= done_before < 18
    after_kill = condition_status(load_condition(cond), results)
    counts = after_kill.counts()
    assert counts["done"] == done_before and counts["running"] == 0 and counts["interrupted"] >= 1, counts
    assert counts["interrupted"] + counts["left"] == 18 - done_before
    assert "the next run codes it again" in after_kill.render()
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    recs = records(results)
    assert len(recs) == 18 and all(r["status"] == "ok" for r in recs)
    assert f"{18 - done_before} coded, {done_before} already recorded" in rerun.stdout
    # Exactly one record per planned job, nothing half-written, no leftovers of the killed run.
    jobs, _ = plan(load_condition(cond))
    assert sorted(r["key"] for r in recs) == sorted(j.key for j in jobs)
    assert not list(results.rglob("*.tmp")) and not list(results.rglob("*.partial"))
    assert not (results / "t" / "work").exists() or not any((results / "t" / "work").iterdir())
    assert condition_status(load_condition(cond), results).counts()["done"] == 18


@pytest.mark.integration
def test_retries_keep_each_failure_with_the_final_record(tmp_path: Path, clip_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    x264 = adapter_class("x264")
    original = x264.code_sequence
    calls: list[int] = []

    def flaky(self, task):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) <= 2:  # the first two attempts of the first job fail, as a preempted node would
            raise AdapterError(f"codec x264: transient failure {len(calls)}")
        return original(self, task)

    monkeypatch.setattr(x264, "code_sequence", flaky)
    one = ("codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [30]}")
    cond = load_condition(condition_file(tmp_path, clip_dir, codecs="", extra=one))
    outcome = run_condition(cond, RunOptions(tmp_path / "r", progress=False, retries=1))
    assert [r["status"] for r in outcome.failed] == ["failed"]  # 2 failures > 1 retry: the first job fails
    failed = outcome.failed[0]
    assert failed["error"]["message"] == "transient failure 2"  # the record names the codec: no "codec x264: "
    assert [a["message"] for a in failed["retries"]["failed_attempts"]] == ["transient failure 1"]
    calls.clear()
    outcome = run_condition(cond, RunOptions(tmp_path / "r", progress=False, retries=2, retry_failed=True))
    assert not outcome.failed
    ok = [r for r in records(tmp_path / "r") if r["sequence"]["name"] == failed["sequence"]["name"]][0]
    assert ok["status"] == "ok" and ok["retries"] == {"allowed": 2, "failed_attempts": [
        {"message": "transient failure 1", "finished_at": ok["retries"]["failed_attempts"][0]["finished_at"]},
        {"message": "transient failure 2", "finished_at": ok["retries"]["failed_attempts"][1]["finished_at"]}]}


@pytest.mark.integration
def test_png_and_ten_bit_y4m_sources(tmp_path: Path, clip_dir: Path) -> None:
    """An RGB PNG folder coded as YUV 4:2:0 (BT.709 full range) and a 10-bit Y4M source, measured in their
    own formats: RGB PSNR for the PNGs, 10-bit PSNR with the VTM peak for the Y4M."""
    fmt8, fmt10 = pixel_format("yuv420p"), pixel_format("yuv420p10le")
    frames = list(RawVideoReader(clip_dir / "Pan_96x64_30.yuv", fmt8, 96, 64).frames(0, 6))
    png_dir = tmp_path / "data" / "PanRGB"
    png_dir.mkdir(parents=True)
    for i, f in enumerate(frames):
        write_png_frame(png_dir / f"im{i + 1:05d}.png", convert(f, fmt8, pixel_format("gbrp"), ColourSpec("bt709", "limited")))
    write_y4m(tmp_path / "data" / "Pan10.y4m", (convert(f, fmt8, fmt10, ColourSpec()) for f in frames), fmt10, 96, 64, 30)
    cond = tmp_path / "c.yaml"
    cond.write_text("""
sequences:
  - {name: PanRGB, file: PanRGB, format: gbrp, fps: 30}
data_root: data
frames: {count: 6}
intra_period: -1
colour: {coding_format: yuv420p, matrix: bt709, range: full}
metrics: {ms_ssim: []}
codecs:
  - {descriptor: x264, params: {preset: veryfast}, rate_points: [24, 36]}
""")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed and outcome.coded == 2
    recs = records(tmp_path / "results", "c")
    assert {r["sequence"]["format"] for r in recs} == {"gbrp"}
    assert all(r["coding"]["coding_format"] == "yuv420p" for r in recs)
    hi, lo = sorted(recs, key=lambda r: r["rate_point"])
    assert hi["metrics"]["psnr_rgb"] > lo["metrics"]["psnr_rgb"] > 25

    cond.write_text("""
sequences:
  - {name: Pan10, file: Pan10.y4m, format: yuv420p10le}
data_root: data
frames: {count: 6}
intra_period: -1
metrics: {ms_ssim: [], psnr_peak: vtm}
codecs:
  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [30]}
""")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert not outcome.failed
    (rec,) = [r for r in records(tmp_path / "results", "c") if r["sequence"]["name"] == "Pan10"]
    assert rec["sequence"]["format"] == rec["coding"]["codec_format"] == "yuv420p10le"
    assert rec["measurement"]["psnr_peak"] == {"convention": "vtm", "yuv": 1020, "rgb": 1023}


@pytest.mark.slow
def test_anchor_that_failed_everywhere_gives_failures_not_a_crash(tmp_path: Path, clip_dir: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    bad = ("codecs:\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [30]}\n"
           "  - {name: broken, adapter: x264, params: {extra_args: ['-profile:v', 'nosuch']}, rate_points: [30]}\n"
           "anchor: broken")
    cond = condition_file(tmp_path, clip_dir, codecs="", extra=bad)
    argv = ["--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "rep"),
            "--no-progress"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "no BD tables: the anchor broken has no successful result (codecs with results: x264)" in captured.out
    assert "error: 2 job(s) failed" in captured.err and (tmp_path / "rep" / "t" / "index.html").is_file()
