"""Stored measurements are used only when they can be trusted: a value of an older version of its measure (XPSNR
1, measured with its inputs swapped) is never used again, and a per-frame value that is NaN or infinite makes
that job's metric ``non_finite`` in every output, never a capped 100 dB."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import condition_file

from bench.cli import main
from bench.conditions.condition import load_condition
from bench.metrics import request
from bench.metrics.measuring import wanted_key
from bench.metrics.psnr import PSNR_CAP_DB, psnr
from bench.metrics.registry import measure, measurement_key
from bench.run.runner import plan
from bench.store.results import ResultStore

CODECS = ("\n  - {descriptor: x264, params: {preset: veryfast}, rate_points: [24, 32, 40, 48]}\n"
          "  - {descriptor: x265, params: {preset: ultrafast}, rate_points: [24, 32, 40, 48]}")


def _condition(tmp_path: Path, clip_dir: Path, metrics: str) -> Path:
    return condition_file(tmp_path, clip_dir, CODECS, "anchor: x265", metrics=metrics)


@pytest.fixture(scope="module")
def coded(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One finished run with XPSNR (its condition and results folder), copied by each test that changes it."""
    root = tmp_path_factory.mktemp("coded")
    cond = _condition(root, clip_dir, "{ms_ssim: [], xpsnr: true}")
    assert main(["--conditions", str(cond), "--results", str(root / "results"), "--reports", str(root / "reports"),
                 "--no-progress", "--no-figures", "--jobs", "2"]) == 0
    return cond, root / "results"


def _copy(coded: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, list[str]]:
    cond, results = coded
    shutil.copytree(results, tmp_path / "results")
    argv = ["--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports"), "--no-progress",
            "--no-figures"]
    return cond, tmp_path / "results", argv


def _job(store: ResultStore, codec: str, sequence: str, rate_point: int) -> dict:
    return next(r for r in store.all_records()
                if (r["codec"]["name"], r["sequence"]["name"], r["rate_point"]) == (codec, sequence, rate_point))


def _view(store: ResultStore, key: str) -> dict:
    return next(v for v in store.run_records() if v["key"] == key)


def test_the_measure_version_is_part_of_the_measurement_key(clip_dir: Path, tmp_path: Path) -> None:
    job = plan(load_condition(_condition(tmp_path, clip_dir, "{xpsnr: true}")))[0][0]
    req = request("xpsnr")
    impl = measure("xpsnr").implementation({})
    assert measure("xpsnr").version == 2
    assert wanted_key(job.key, req) == measurement_key(job.key, req, impl) == measurement_key(job.key, req, impl, 2)
    assert measurement_key(job.key, req, impl, version=1) != measurement_key(job.key, req, impl)


@pytest.mark.slow
@pytest.mark.integration
def test_an_xpsnr_value_stored_under_version_1_is_not_reused(coded: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    cond, results, argv = _copy(coded, tmp_path)
    store = ResultStore(results / "t")
    record = _job(store, "x264", "Pan", 32)
    [v2] = [d for d in store.read_measurements(record)[0] if d["measure"] == "xpsnr"]
    assert v2["version"] == 2
    good = _view(store, record["key"])["metrics"]["xpsnr_y"]
    # A version-1 value beside it, measured later (so "the newest" alone would pick it): never used.
    v1 = {**v2, "version": 1, "key": measurement_key(record["key"], request("xpsnr"), v2["implementation"], 1),
          "values": {k: [9.0] * len(v) for k, v in v2["values"].items()}, "measured_at": "2999-01-01T00:00:00+00:00"}
    store.write_measurement(record, v1)
    assert _view(store, record["key"])["metrics"]["xpsnr_y"] == good
    # With only the version-1 value left, XPSNR is missing (not the old number) ...
    (store.measurement_dir(record) / f"xpsnr_{v2['key'][:16]}.json").unlink()
    view = _view(store, record["key"])
    assert "xpsnr_y" not in view["metrics"] and "xpsnr" in view["measurement"]["missing"]
    # ... and the next run measures it again (only that job, nothing coded) and uses the new value.
    assert main(["--conditions", str(cond), *argv]) == 0
    assert "1 measured again (1 measurements; 1 bitstreams decoded again" in capsys.readouterr().out
    assert _view(store, record["key"])["metrics"]["xpsnr_y"] == good
    assert (store.measurement_dir(record) / f"xpsnr_{v1['key'][:16]}.json").exists()  # still there, unused


def test_psnr_is_capped_only_for_zero_error() -> None:
    assert psnr(0.0, 255) == PSNR_CAP_DB
    assert psnr(1.0, 255) == pytest.approx(10 * math.log10(255**2))
    for bad in (math.nan, math.inf, -1.0):
        assert math.isnan(psnr(bad, 255)), bad


@pytest.mark.integration
def test_nan_in_a_stored_sse_is_non_finite_in_every_output(coded: tuple[Path, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    cond, results, argv = _copy(coded, tmp_path)
    store = ResultStore(results / "t")
    record = _job(store, "x264", "Pan", 32)
    [path] = store.measurement_dir(record).glob("sse_*.json")
    doc = json.loads(path.read_text())
    doc["values"]["sse_y"][2] = math.nan  # what a damaged file could hold (json writes NaN unless told not to)
    path.write_text(json.dumps(doc))

    assert main(["--conditions", str(cond), *argv]) == 1
    out, err = capsys.readouterr()
    named = "psnr_y, psnr_yuv_611, psnr_yuv_vtm"  # PSNR-U, -V and -RGB read other SSEs and stay finite
    labels = "PSNR-Y, PSNR-YUV (6:1:1) and PSNR-YUV (VTM 4:1:1 MSE)"  # the reader's words, not the column keys
    said = (f"{labels} of Pan at rate point 32: not a finite number (NaN or infinite per-frame values at "
            "frame(s) 2 in the stored measurement ")
    # Said once in the terminal, with the file's path and what to do; no CAUTION line repeating it.
    assert f"NON-FINITE x264: {said}{path}), so shown as no value; delete that file and run `evaluate.py " \
           "remeasure` to measure again" in err
    assert "error: 1 job(s) have metrics that are not finite numbers" in err
    assert (out + err).count(said) == 1 and "CAUTION" not in out and named not in out + err
    # summary.csv: empty cells (NaN), named in the non_finite column; never the 100 dB cap.
    summary = pd.read_csv(results / "t" / "summary.csv")
    row = summary[(summary["codec"] == "x264") & (summary["sequence"] == "Pan") & (summary["rate_point"] == 32)]
    assert row[["psnr_y", "psnr_yuv_611", "psnr_yuv_vtm"]].isna().all(axis=None)
    assert row["non_finite"].tolist() == [named] and row["psnr_u"].notna().all()
    assert summary["non_finite"].notna().sum() == 1
    psnr_columns = [c for c in summary.columns if c.startswith("psnr_") and c != "psnr_peak"]
    assert not (summary[psnr_columns] >= PSNR_CAP_DB - 1e-9).any(axis=None)
    frames = pd.read_csv(results / "t" / "frames.csv")
    job = frames[(frames["codec"] == "x264") & (frames["sequence"] == "Pan") & (frames["rate_point"] == 32)]
    assert job["psnr_y"].isna().tolist() == [i == 2 for i in range(8)]
    # The BD tables: that sequence's and that class's values have the status non_finite, naming the point.
    tables = tmp_path / "reports" / "t" / "tables"
    per_seq = pd.read_csv(next(tables.glob("bd_*_psnr_yuv_611_*per_sequence.csv")))
    pan = per_seq[(per_seq["codec"] == "x264") & (per_seq["sequence"] == "Pan")].iloc[0]
    assert pan["status"] == "non_finite" and pd.isna(pan["value"])
    assert "x264 Pan at rate point 32" in pan["message"]
    assert per_seq[per_seq["sequence"] == "Shapes"]["status"].tolist() == ["ok"]
    averaged = pd.read_csv(next(tables.glob("bd_*_psnr_yuv_611_*average_curve.csv")))
    assert averaged[averaged["group"] == "A"]["status"].tolist() == ["non_finite"]
    per_seq_y = pd.read_csv(next(tables.glob("bd_*_psnr_y_rate_*per_sequence.csv")))
    assert per_seq_y[per_seq_y["sequence"] == "Pan"]["status"].tolist() == ["non_finite"]
    # PSNR-RGB reads a finite SSE: its BD value for Pan is computed as before.
    per_seq_rgb = pd.read_csv(next(tables.glob("bd_*_psnr_rgb_*per_sequence.csv")))
    assert per_seq_rgb[per_seq_rgb["sequence"] == "Pan"]["status"].tolist() == ["ok"]
    # The report page says so at the top, naming the job and metrics.
    page = (tmp_path / "reports" / "t" / "index.html").read_text()
    assert f"{said}{path.name})" in page and named not in page.split('id="cautions"')[1].split("</div>")[0]


@pytest.mark.integration
def test_a_lossless_encode_is_capped_not_non_finite(clip_dir: Path, tmp_path: Path) -> None:
    """x264 at QP 0 is lossless: SSE exactly 0 and XPSNR printed as inf by the filter. Both show the 100 dB
    cap (before, the infinite XPSNR could not be written and failed the job); nothing is non_finite."""
    cond = tmp_path / "ll.yaml"
    cond.write_text(f"""
name: ll
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 4}}
intra_period: 4
metrics: {{ms_ssim: [], xpsnr: true}}
codecs: [{{descriptor: x264, params: {{preset: veryfast}}, rate_points: [0]}}]
""")
    assert main(["--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
                 "--no-progress", "--no-figures"]) == 0
    summary = pd.read_csv(tmp_path / "r" / "ll" / "summary.csv")
    assert summary[["psnr_y", "psnr_yuv_611", "xpsnr_y", "xpsnr_u", "xpsnr_v"]].eq(PSNR_CAP_DB).all(axis=None)
    assert "non_finite" not in summary.columns
    [doc] = [json.loads(p.read_text()) for p in (tmp_path / "r" / "ll" / "measurements").rglob("xpsnr_*.json")]
    assert doc["values"]["xpsnr_y"] == [None] * 4  # the filter's inf, kept as "no error"
