"""Comparisons that cannot mislead: published curves and dataset averages, rate-point subsets, the spread and
t confidence interval of every mean, typed statuses."""

from __future__ import annotations

import json
from pathlib import Path

import bjontegaard
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.bd.engine import Status
from bench.bd.importers import GivenGeometry, dataset_geometry, dataset_key, import_file, import_path
from bench.bd.published import catalogue, load
from bench.bd.sources import sources_from
from bench.bd.tables import CLASS_MEAN, OVERALL, BDOptions, average_curve, jvet_summary, per_sequence, spread
from bench.cli import main
from bench.errors import BenchError
from bench.report.tables import summary_frame

COMPRESSAI_UVG = Path(__file__).parents[1] / "data" / "compressai-results" / "video" / "UVG-1080p"


def _cai(name: str) -> dict[str, list[float]]:
    return json.loads((COMPRESSAI_UVG / f"{name}-medium-tune-zerolatency.json").read_text())["results"]


@pytest.mark.integration
def test_compressai_uvg_files_as_published_give_the_bjontegaard_package_value(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture) -> None:
    """CompressAI's UVG folder as shipped (five files), no renaming: x265 against x264 on PSNR-Y, PCHIP, all 8
    points, equal to the bjontegaard package (which works on their kbps; BD-rate does not see the constant bpp
    factor)."""
    want = bjontegaard.bd_rate(_cai("x264")["bitrate"], _cai("x264")["psnr-y"], _cai("x265")["bitrate"],
                               _cai("x265")["psnr-y"], method="pchip")
    assert main(["bd", str(COMPRESSAI_UVG), "--anchor", "x264-medium-tune-zerolatency", "--metric", "psnr_y",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "averaged curve (DCVC)" in out
    table = pd.read_csv(next(tmp_path.glob("*_average_curve.csv")))
    row = table[(table["codec"] == "x265-medium-tune-zerolatency") & (table["group"] == "UVG")].iloc[0]
    assert row["value"] == pytest.approx(want, abs=1e-6) and row["status"] == "ok"
    assert (row["points_anchor"], row["points_test"]) == (8, 8)
    # A dataset average is not a sequence: the per-sequence convention says so instead of inventing a value,
    # for each of the folder's other four files.
    per_seq = pd.read_csv(next(tmp_path.glob("*_per_sequence.csv")))
    assert sorted(per_seq["codec"]) == ["VTM-v15.0-lowdelay", "ssf2020-from-authors", "ssf2020-mse-ans-vimeo",
                                        "x265-medium-tune-zerolatency"]
    assert set(per_seq["status"]) == {"average_only"}


def test_kbps_becomes_bpp_by_the_stated_rule_from_the_manifest_the_file_or_the_user(tmp_path: Path) -> None:
    [first, *_] = import_path(COMPRESSAI_UVG)
    kbps = first["rate"]["kbps"]
    assert first["rate"]["bpp"] == pytest.approx(kbps * 1000 / (120 * 1920 * 1080), rel=1e-15)
    assert first["rate"]["conversion"].endswith("1920x1080 at 120 fps from our manifest of uvg")
    # The same file elsewhere: its folder no longer names the dataset, so the rate stays kbps and BD says why.
    moved = tmp_path / "x265.json"
    moved.write_text((COMPRESSAI_UVG / "x265-medium-tune-zerolatency.json").read_text())
    [bare, *_] = import_file(moved)
    assert bare["rate"]["bpp"] is None and "kbps only, not converted" in bare["rate"]["conversion"]
    [given, *_] = import_file(moved, given=GivenGeometry(832, 480, 30.0))
    assert given["rate"]["bpp"] == pytest.approx(given["rate"]["kbps"] * 1000 / (30 * 832 * 480), rel=1e-15)
    assert "given on the command line (832x480, 30 fps)" in given["rate"]["conversion"]
    [named, *_] = import_file(moved, given=GivenGeometry(dataset="uvg"))
    assert named["sequence"]["name"] == "UVG (dataset average)"
    # bpp -> kbps, the other way, by the same rule (DCVC gives bpp; our manifest gives BQMall 832x480 at 60 fps).
    bqmall = next(r for r in load("hevc_c/vtm-17")["records"] if r["sequence"]["name"] == "BQMall")
    assert bqmall["rate"]["kbps"] == pytest.approx(bqmall["rate"]["bpp"] * 832 * 480 * 60 / 1000, rel=1e-12)
    rows = summary_frame([bare, *import_file(moved, "other")])
    table = per_sequence(rows.assign(psnr_y=rows["psnr_y"]), "x265-medium-tune-zerolatency",
                         BDOptions(metric="psnr_y"))
    assert set(table["status"]) == {str(Status.RATE_UNKNOWN)} and "--size and --fps" in table["message"][0]


def test_dataset_names_and_geometry() -> None:
    assert [dataset_key(n) for n in ("UVG-1080p", "UVG", "HEVC_B", "MCL-JCV", "hevc class C", "kodak")] == \
        ["uvg", "uvg", "hevc_b", "mcl_jcv", "hevc_c", None]
    assert dataset_geometry("uvg") == (1920, 1080, 120.0)
    assert "differ in frame size or rate (24, 25, 30 fps)" in str(dataset_geometry("mcl_jcv"))


@pytest.mark.integration
def test_import_command_with_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "ssf.json"
    source.write_text(json.dumps({"name": "ssf", "results": {"bitrate": [1000.0, 2000.0, 4000.0, 8000.0],
                                                             "psnr-y": [33.0, 35.0, 37.0, 39.0]}}))
    assert main(["import", str(source), "--dataset", "uvg", "--out", str(tmp_path / "src")]) == 0
    out = capsys.readouterr().out
    assert "rate: bpp from kbps: bpp = kbps x 1000 / (fps x width x height), 1920x1080 at 120 fps" in out
    assert "dataset averages of uvg: one curve per class" in out
    assert main(["import", str(source), "--dataset", "kodak", "--out", str(tmp_path / "x")]) == 2
    assert "--dataset kodak: not a dataset with a manifest" in capsys.readouterr().err
    assert main(["import", str(source), "--size", "1920x1080", "--out", str(tmp_path / "y")]) == 2
    assert "--size and --fps go together" in capsys.readouterr().err


def test_published_library_ships_with_provenance() -> None:
    ids = set(catalogue())
    assert {"uvg/x264", "uvg/x265", "uvg/vtm-15", "uvg/ssf2020", "uvg/vtm-17", "hevc_b/vtm-17"} <= ids
    for curve_id in ids:
        data = load(curve_id)
        assert data["source"]["commit"] and data["source"]["licence"] and data["source"]["copyright"]
        assert data["condition"] and data["records"]
        assert all(r["imported"]["published"]["id"] == curve_id and r["rate"]["bpp"] > 0 for r in data["records"])
    # The shipped x265 curve is CompressAI's file, unchanged: the same kbps and PSNR-Y.
    shipped = sorted(load("uvg/x265")["records"], key=lambda r: r["rate"]["kbps"])
    assert [r["rate"]["kbps"] for r in shipped] == sorted(_cai("x265")["bitrate"])
    theirs = sorted(zip(_cai("x265")["bitrate"], _cai("x265")["psnr-y"], strict=True))
    assert [r["metrics"]["psnr_y"] for r in shipped] == [y for _, y in theirs]
    # DCVC's VTM-17 anchor is per sequence, filed under our names and classes.
    uvg = load("uvg/vtm-17")["records"]
    assert {r["sequence"]["name"] for r in uvg} == {"Beauty", "Bosphorus", "HoneyBee", "Jockey", "ReadySteadyGo",
                                                   "ShakeNDry", "YachtRide"}
    with pytest.raises(BenchError, match="no such published curve; these ship: "):
        load("uvg/vtm-99")


def _run_like(codec: str, shift: float, sequences: dict[str, str]) -> list[dict]:
    rows = []
    for seq, group in sequences.items():
        for i, bpp in enumerate((0.02, 0.05, 0.1, 0.2), start=1):
            rows.append({"codec": codec, "sequence": seq, "group": group, "rate_point": i, "status": "ok",
                         "bpp": bpp, "frames": 10, "psnr_y": 30 + 3 * np.log2(bpp / 0.02) + shift,
                         "dataset_average": ""})
    return rows


def test_a_dataset_average_is_compared_with_a_class_curve_only() -> None:
    run = _run_like("mine", 0.5, {"Beauty": "UVG", "Jockey": "UVG", "Cactus": "B"})
    average = [{**r, "codec": "published", "sequence": "UVG (dataset average)", "dataset_average": "uvg"}
               for r in _run_like("published", 0.0, {"x": "UVG"})]
    points = pd.DataFrame(run + average)
    per_seq = per_sequence(points, "published", BDOptions(metric="psnr_y"))
    assert set(per_seq["status"]) == {"average_only", "missing"}  # Cactus: no class B curve in the published set
    assert (per_seq.set_index("sequence").loc["Beauty", "message"]
            == "published gives class UVG as a dataset average only: compared as an averaged curve (DCVC)")
    classes = jvet_summary(per_seq).set_index("group")
    assert classes.loc["UVG", "status"] == "average_only"
    averaged = average_curve(points, "published", BDOptions(metric="psnr_y")).set_index("group")
    # The same curve shapes 0.5 dB apart: the run saves bits on UVG; class B has no published curve.
    assert averaged.loc["UVG", "status"] == "ok" and averaged.loc["UVG", "value"] < -5
    assert averaged.loc["B", "status"] == "missing"
    assert averaged.loc[CLASS_MEAN, "status"] == "incomplete" and averaged.loc[CLASS_MEAN, "classes_used"] == 1


def test_rate_point_subset() -> None:
    points = pd.DataFrame(_run_like("a", 0.0, {"S": "g"}) + _run_like("b", 0.3, {"S": "g"})
                          + [{"codec": c, "sequence": "S", "group": "g", "rate_point": 5, "status": "ok", "bpp": 0.4,
                              "frames": 10, "psnr_y": q, "dataset_average": ""} for c, q in (("a", 33.0), ("b", 36.0))])
    full = per_sequence(points, "a", BDOptions(metric="psnr_y"))["value"][0]
    subset = per_sequence(points, "a", BDOptions(metric="psnr_y", rate_exclude=("5",)))
    by_hand = per_sequence(points[points["rate_point"] != 5], "a", BDOptions(metric="psnr_y"))
    assert subset["value"][0] == by_hand["value"][0] != full
    only = per_sequence(points, "a", BDOptions(metric="psnr_y", rate_points=("1", "2", "3", "4")))
    assert only["value"][0] == by_hand["value"][0]
    with pytest.raises(BenchError, match="--rate-exclude 9: no result has that rate point; rate points: 1, 2, 3, 4, 5"):
        per_sequence(points, "a", BDOptions(metric="psnr_y", rate_exclude=("9",)))


def test_spread_and_t_interval() -> None:
    values = np.array([66.4, 0.7, -12.8, 23.4])
    first = spread(values)
    assert (first["min"], first["median"], first["max"]) == (-12.8, pytest.approx(12.05), 66.4)
    want = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)  # scipy's own t interval
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((want.low, want.high), rel=1e-12)
    assert first["ci_n"] == 4 and first["ci_method"] == "student_t"
    assert spread(np.array([3.0]))["ci_low"] is None  # one sequence has no interval
    rows = pd.DataFrame([{"codec": "t", "group": g, "sequence": s, "value": v, "status": "ok"}
                         for (g, s), v in zip((("A", "a1"), ("A", "a2"), ("B", "b1"), ("B", "b2")), values, strict=True)])
    table = jvet_summary(rows).set_index("group")
    assert table.loc[OVERALL, "value"] == pytest.approx(values.mean())
    assert table.loc[OVERALL, "median"] == pytest.approx(np.median(values))
    a = stats.ttest_1samp([0.7, 66.4], 0.0).confidence_interval(0.95)
    assert (table.loc["A", "ci_low"], table.loc["A", "ci_high"]) == pytest.approx((a.low, a.high), rel=1e-12)
    assert table.loc["A", "ci_n"] == 2 and table.loc[OVERALL, "ci_n"] == 4


def test_the_class_mean_keeps_the_low_overlap_flag() -> None:
    far = [{**r, "bpp": r["bpp"] * 3} for r in _run_like("b", 4.0, {"S": "g", "T": "h"})]
    points = pd.DataFrame(_run_like("a", 0.0, {"S": "g", "T": "h"}) + far)
    averaged = average_curve(points, "a", BDOptions(metric="psnr_y")).set_index("group")
    assert averaged.loc["g", "status"] == "low_overlap"
    assert averaged.loc[CLASS_MEAN, "status"] == "low_overlap"


def test_an_imported_csv_without_classes_takes_the_runs_classes(tmp_path: Path) -> None:
    from bench.bd.sources import UNKNOWN_GROUP

    csv = tmp_path / "mine.csv"
    csv.write_text("codec,sequence,rate_point,bpp,psnr_y\n" + "".join(f"mine,Pan,{i},{0.1 * i},{30 + i}\n"
                                                                      for i in range(1, 5)))
    [record, *_] = import_file(csv)
    assert record["sequence"]["group"] == UNKNOWN_GROUP
    run = tmp_path / "run.csv"
    run.write_text("codec,sequence,rate_point,bpp,psnr_y,group\n" + "".join(f"x265,Pan,{i},{0.1 * i},{29 + i},demo\n"
                                                                            for i in range(1, 5)))
    sources = sources_from([f"run={run}", f"mine={csv}"])
    assert {r["sequence"]["group"] for s in sources for r in s.records} == {"demo"}


def test_two_sources_of_one_label_are_refused(tmp_path: Path) -> None:
    for folder, codec in (("a", "c1"), ("b", "c2")):  # one file name in two folders: both labelled by its stem
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "p.csv").write_text(f"codec,sequence,rate_point,bpp,psnr_y\n{codec},Pan,1,0.1,30\n")
    with pytest.raises(BenchError, match="two sources are labelled 'p'; label them apart: LABEL=PATH"):
        sources_from([str(tmp_path / "a" / "p.csv"), str(tmp_path / "b" / "p.csv")])


@pytest.mark.slow
def test_report_overlays_a_published_curve(tmp_path: Path) -> None:
    from bench.report.html import build_report

    sources = sources_from([str(COMPRESSAI_UVG)], published=["uvg/vtm-15"])
    html = build_report(sources, tmp_path, "t", None).read_text()
    assert "VTM-15.0 LD (published, CompressAI)" in html and "is a published curve, not measured here" in html
    assert "4db7183" in html and "BSD 3-Clause Clear" in html
    html = build_report(sources, tmp_path, "t", "VTM-15.0 LD (published, CompressAI)").read_text()
    assert "averaged curve (DCVC)" in html
