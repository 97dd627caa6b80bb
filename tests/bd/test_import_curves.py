"""Imports keep every file's curve apart, and a repaired BD value is never a plain "ok".

Tested on producers' folders exactly as they ship them (CompressAI's ``results/image/kodak`` and
``results/video/UVG-1080p``, see tests/data/compressai-results/README.md; the VTM and HM logs of tests/data), with
every BD value checked against the ``bjontegaard`` package run on the points read straight from the single file
(``json.load``, not our importer): a curve that merged two files' points, or lost some, differs from it by far more
than the tolerance (the ms-ssim-trained and mse-trained curves of one model differ by 100 to 240 BD-rate points).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import bjontegaard
import numpy as np
import pandas as pd
import pytest

from bench.bd.engine import Status
from bench.bd.importers import ImportError_, import_file, import_sources
from bench.bd.sources import sources_from
from bench.bd.tables import BDOptions, average_curve, per_sequence
from bench.cli import main
from bench.errors import BenchError
from bench.report.tables import summary_frame
from bench.store.results import ResultStore

DATA = Path(__file__).parents[1] / "data"
KODAK = DATA / "compressai-results" / "image" / "kodak"
UVG = DATA / "compressai-results" / "video" / "UVG-1080p"
MBT = sorted(KODAK.glob("compressai-mbt2018_*.json"))  # mse / ms-ssim trained, run on cpu / cuda: one JSON name


def _results(path: Path) -> dict[str, list[float]]:
    return json.loads(path.read_text())["results"]


def _bjontegaard(anchor: Path, test: Path, rate: str = "bpp", quality: str = "psnr-rgb") -> float:
    """The bjontegaard package (FAU-LMS), PCHIP as its README calls it, on two producer files as they are."""
    a, t = _results(anchor), _results(test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its low-overlap warning: our tables flag that themselves
        return bjontegaard.bd_rate(a[rate], a[quality], t[rate], t[quality], method="pchip",
                                   require_matching_points=False, min_overlap=0)


def test_kodak_folder_as_shipped_gives_one_curve_per_file() -> None:
    imported = import_sources([(None, KODAK)])
    files = sorted(KODAK.glob("*.json"))
    curves = imported.curves()
    assert len(curves) == len(files) == 50
    assert sorted(p for paths in curves.values() for p in paths) == files  # each file exactly one curve, once
    by_file = {paths[0].name: codec for codec, paths in curves.items()}
    assert [by_file[p.name] for p in MBT] == ["mbt2018 (ms-ssim, cpu)", "mbt2018 (ms-ssim, cuda)",
                                              "mbt2018 (mse, cpu)", "mbt2018 (mse, cuda)"]
    assert by_file["paper-elic2022_ms-ssim.json"] == "elic2022 (ms-ssim)" and by_file["vtm.json"] == "VTM"
    for codec, [path] in curves.items():  # every point of a curve is its file's, in its file's order
        assert [r["rate"]["bpp"] for r in imported.records if r["codec"]["name"] == codec] == _results(path)["bpp"]
    mbt = next(r for r in imported.records if r["codec"]["name"] == "mbt2018 (mse, cuda)")
    assert mbt["imported"]["name_in_file"] == "mbt2018" and mbt["imported"]["told_apart_by"] == "its file name: mse, cuda"


@pytest.mark.integration
def test_kodak_bd_rates_against_vtm_equal_the_bjontegaard_package_on_each_single_file(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bd", str(KODAK), "--anchor", "VTM", "--metric", "psnr_rgb", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    table = pd.read_csv(next(tmp_path.glob("*_per_sequence.csv"))).set_index("codec")
    assert not set(table["status"]) & {"non_monotonic", "mixed_origins", "non_finite", "repaired"}
    checked = 0
    for codec, [path] in import_sources([(None, KODAK)]).curves().items():
        if codec == "VTM" or "psnr-rgb" not in _results(path):
            continue
        row = table.loc[codec]
        assert row["status"] in ("ok", "low_overlap"), (codec, row["message"])
        assert row["value"] == pytest.approx(_bjontegaard(KODAK / "vtm.json", path), abs=1e-6), codec
        checked += 1
    assert checked == 44  # 49 curves besides VTM's, 5 of them (ms-ssim-trained papers) without PSNR


@pytest.mark.integration
def test_uvg_video_folder_as_shipped(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Five producers' UVG dataset averages, one curve each; averaged-curve BD-rate against VTM-15 on RGB PSNR
    equal to the package on their kbps (a constant factor from kbps to bpp leaves BD-rate unchanged)."""
    curves = import_sources([(None, UVG)]).curves()
    assert {c: [p.name for p in paths] for c, paths in curves.items()} == {
        "VTM-v15.0-lowdelay": ["VTM-v15.0-lowdelay.json"], "ssf2020-from-authors": ["ssf2020-from-authors.json"],
        "ssf2020-mse-ans-vimeo": ["ssf2020-mse-ans-vimeo.json"],
        "x264-medium-tune-zerolatency": ["x264-medium-tune-zerolatency.json"],
        "x265-medium-tune-zerolatency": ["x265-medium-tune-zerolatency.json"]}
    assert main(["bd", str(UVG), "--anchor", "VTM-v15.0-lowdelay", "--metric", "psnr_rgb", "--out",
                 str(tmp_path)]) == 0
    capsys.readouterr()
    table = pd.read_csv(next(tmp_path.glob("*_average_curve.csv")))
    for codec, [path] in curves.items():
        if codec != "VTM-v15.0-lowdelay":
            row = table[(table["codec"] == codec) & (table["group"] == "UVG")].iloc[0]
            want = _bjontegaard(UVG / "VTM-v15.0-lowdelay.json", path, rate="bitrate")
            assert row["status"] == "ok" and row["value"] == pytest.approx(want, abs=1e-6), codec


@pytest.mark.integration
def test_a_name_always_wins_even_the_file_stem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """NAME=PATH with NAME equal to the file's stem used to be dropped (the file's JSON name taken instead)."""
    stem = "compressai-mbt2018_mse_cpu"
    [only] = import_sources([(stem, KODAK / f"{stem}.json")]).curves()
    assert only == stem
    assert main(["bd", f"{stem}={KODAK / f'{stem}.json'}", f"VTM={KODAK / 'vtm.json'}", "--anchor", "VTM",
                 "--metric", "psnr_rgb", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    row = pd.read_csv(next(tmp_path.glob("*_per_sequence.csv"))).set_index("codec").loc[stem]
    assert row["status"] == "ok" and row["value"] == pytest.approx(_bjontegaard(KODAK / "vtm.json", MBT[2]), abs=1e-6)


@pytest.mark.integration
def test_two_files_never_feed_one_curve(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match=r"_mse_cpu.json and .*_mse_cuda.json would both give curve 'mbt' "
                                           r"\(kodak, rate point 0\); give each its own name: NAME1="):
        import_sources([("mbt", MBT[2]), ("mbt", MBT[3])])
    with pytest.raises(ImportError_, match=r"NAME=mine on the folder .*kodak names one curve, and its files make "
                                           r"several: import the folder without a name"):
        import_sources([("mine", KODAK)])
    # The same file name in two folders of one dataset: the names do not tell them apart, so it is refused.
    for where in ("a", "b"):
        (tmp_path / where / "kodak").mkdir(parents=True)
        shutil.copy(KODAK / "vtm.json", tmp_path / where / "kodak" / "vtm.json")
    with pytest.raises(ImportError_, match=r"a/kodak/vtm.json and .*b/kodak/vtm.json would both give curve 'VTM'"):
        import_sources([(None, tmp_path / "a" / "kodak"), (None, tmp_path / "b" / "kodak")])
    assert main(["import", str(MBT[0]), f"{MBT[0].stem}={MBT[1]}", "--out", str(tmp_path / "x")]) == 0  # named apart
    # Across the sources of bd and report: one call of the importer reads them all, so a NAME equal to the name
    # another file's curve takes is refused the same way, naming both files.
    with pytest.raises(BenchError, match=r"b/kodak/vtm.json and .*a/kodak/vtm.json would both give curve 'VTM' "
                                         r"\(kodak, rate point 0\); give each its own name"):
        sources_from([f"VTM={tmp_path / 'b' / 'kodak' / 'vtm.json'}", str(tmp_path / "a" / "kodak")])


@pytest.mark.integration
def test_bd_on_files_names_their_curves_as_import_does(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`bd f_cpu.json f_cuda.json vtm.json` used to read each file alone and name its curve by its source,
    ``compressai-mbt2018_mse_cpu:mbt2018``, where `import` names the same files ``mbt2018 (cpu)`` (what their
    names differ in): one mechanism names them now (the importer, given every file at once)."""
    files = [MBT[2], MBT[3], KODAK / "vtm.json"]
    assert main(["import", *map(str, files), "--out", str(tmp_path / "imported")]) == 0
    assert main(["bd", *map(str, files), "--anchor", "VTM", "--metric", "psnr_rgb", "--out", str(tmp_path / "bd")]) == 0
    capsys.readouterr()
    saved = json.loads((tmp_path / "imported" / "import.json").read_text())["curves"]
    table = pd.read_csv(next((tmp_path / "bd").glob("*_per_sequence.csv"))).set_index("codec")
    assert sorted(table.index) == sorted(c for c in saved if c != "VTM") == ["mbt2018 (cpu)", "mbt2018 (cuda)"]
    for codec, path in (("mbt2018 (cpu)", MBT[2]), ("mbt2018 (cuda)", MBT[3])):
        assert table.loc[codec, "value"] == pytest.approx(_bjontegaard(KODAK / "vtm.json", path), abs=1e-6)
    # A results folder beside them is still named by its label; a file NAMEd like its curve is refused.
    assert {r["codec"]["name"] for s in sources_from([f"old={tmp_path / 'imported'}", str(MBT[2])])
            for r in s.records} >= {"old:VTM", "mbt2018"}
    with pytest.raises(BenchError, match=r"would both give curve 'old:VTM'; name them apart"):
        sources_from([f"old={tmp_path / 'imported'}", f"old:VTM={KODAK / 'vtm.json'}"])


@pytest.mark.integration
def test_import_summary_lists_each_curve_with_its_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "kodak"
    shutil.copytree(KODAK, folder)
    (folder / "rd-curves-kodak-psnr.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")  # the figure it ships with
    assert main(["import", str(folder), "--out", str(tmp_path / "src")]) == 0
    out = capsys.readouterr().out
    assert "424 RD points imported, 50 curves, each with the file(s) it comes from" in out
    for p in MBT:
        codec = f"mbt2018 ({', '.join(p.stem.split('_')[1:])})"
        assert f"  {codec}: 8 points, 1 sequence (kodak); metrics: ms_ssim_rgb, psnr_rgb; from {folder / p.name} " \
               "(compressai)" in out
    assert f"skipped, not results (figures, binary files, decoder logs): {folder / 'rd-curves-kodak-psnr.png'}" in out
    saved = json.loads((tmp_path / "src" / "import.json").read_text())["curves"]
    assert saved["mbt2018 (mse, cpu)"] == [str(folder / "compressai-mbt2018_mse_cpu.json")]


def test_encoder_log_folders_as_left_by_the_encoders(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """VTM 23.13 and HM 16.25 folders: encoder logs, decoder logs and bitstreams. The logs of one encoder make
    its curve (one point per file), HM's apart from VTM's; bitstreams and decoder logs are skipped and listed."""
    imported = import_sources([(None, DATA / "vtm"), (None, DATA / "hm")])
    assert {c: [p.name for p in paths] for c, paths in imported.curves().items()} == {
        "vtm": ["vtm_ldb_qp32_encoder.log"], "hm": ["hm_ldb_qp32_encoder.log", "hm_ra_ip16_qp32_encoder.log"]}
    assert sorted(p.name for p in imported.skipped) == ["hm_ldb_qp32.bin", "hm_ldb_qp32_decoder.log",
                                                         "vtm_ldb_qp32.bin", "vtm_ldb_qp32_decoder.log"]
    # The same log in two folders: one point twice, refused naming both.
    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        shutil.copy(DATA / "vtm" / "vtm_ldb_qp32_encoder.log", tmp_path / where)
    with pytest.raises(ImportError_, match=r"a/vtm_ldb_qp32_encoder.log and .*b/vtm_ldb_qp32_encoder.log would both "
                                           r"give curve 'vtm' \(vtm_ldb, rate point 32\)"):
        import_sources([(None, tmp_path / "a"), (None, tmp_path / "b")])


def test_dcvc_files_of_one_folder_stay_apart(capsys: pytest.CaptureFixture) -> None:
    """tests/data/dcvc: two JSON files in the layout of DCVC's test_video.py (written for this suite's tests)."""
    curves = import_sources([(None, DATA / "dcvc")]).curves()
    assert {c: [p.name for p in paths] for c, paths in curves.items()} == {"anchor": ["anchor.json"],
                                                                          "test": ["test.json"]}
    with pytest.raises(ImportError_, match=r"NAME=dcvc on the folder"):
        import_sources([("dcvc", DATA / "dcvc")])


# --- repairs -------------------------------------------------------------------------------------------------

def _old_merged_store(folder: Path) -> Path:
    """A source folder as `import` wrote it before curves were kept apart: the four mbt2018 files' 32 points under
    their one JSON name, and VTM's curve."""
    store = ResultStore(folder)
    for path in [*MBT, KODAK / "vtm.json"]:
        for r in import_file(path):
            store.write(store.record_path(r["codec"]["name"], r["sequence"]["name"], r["rate_point"], r["key"]), r)
    return folder


@pytest.mark.integration
@pytest.mark.parametrize("repair", [[], ["--repair", "upper_hull"]])
def test_a_curve_merged_from_several_files_is_refused_never_repaired(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                     repair: list[str]) -> None:
    source = _old_merged_store(tmp_path / "old")
    assert main(["bd", str(source), "--anchor", "VTM", "--metric", "psnr_rgb", "--out", str(tmp_path / "bd"),
                 *repair]) == 0
    out = capsys.readouterr().out
    row = pd.read_csv(next((tmp_path / "bd").glob("*_per_sequence.csv"))).set_index("codec").loc["mbt2018"]
    assert row["status"] == "mixed_origins" and pd.isna(row["value"])
    assert "points come from 4 origins" in row["message"] and "upper_hull" not in row["message"]
    assert all(p.name in row["message"] for p in MBT)
    assert "n/a (mixed_origins)" in out and "  per-sequence (JVET): mbt2018 / kodak: mixed origins: " in out


def test_mixed_devices_are_mixed_origins() -> None:
    """A measured curve coded partly on the CPU and partly on a GPU (the device is not in every adapter's job
    key) is two origins: refused when non-monotonic, not repaired."""
    recs = import_file(MBT[2]) + import_file(MBT[3]) + import_file(KODAK / "vtm.json")
    points = summary_frame(recs)
    test = points["codec"] == "mbt2018"
    points.loc[test, "origin"] = "measured"
    points.loc[test, "device"] = ["cpu"] * 8 + ["cuda:0"] * 8
    points["rate_point"] = points["rate_point"].astype(str)
    points.loc[test, "rate_point"] = [f"{rp}{'' if i < 8 else 'b'}" for i, rp in enumerate(points.loc[test, "rate_point"])]
    r = per_sequence(points, "VTM", BDOptions(metric="psnr_rgb", repair="upper_hull")).iloc[0]
    assert r["status"] == "mixed_origins" and "(measured on cpu; measured on cuda)" in r["message"]


def _lowered(tmp_path: Path) -> tuple[Path, list[int]]:
    """CompressAI's mbt2018 (mse, cpu) curve with its 7th point's PSNR set below its 6th (as a rate point that
    failed would be), in a file of its own: one origin, non-monotonic. Returns the file and the kept indexes."""
    data = json.loads(MBT[2].read_text())
    data["results"]["psnr-rgb"][6] = data["results"]["psnr-rgb"][5] - 0.5
    path = tmp_path / "kodak" / "mbt2018-lowered.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    shutil.copy(KODAK / "vtm.json", tmp_path / "kodak" / "vtm.json")
    return path, [0, 1, 2, 3, 4, 5, 7]


@pytest.mark.integration
def test_a_repaired_value_is_flagged_repaired_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path, kept = _lowered(tmp_path)
    folder = path.parent
    assert main(["bd", str(folder), "--anchor", "VTM", "--metric", "psnr_rgb", "--out", str(tmp_path / "n")]) == 0
    assert "n/a (non_monotonic)" in capsys.readouterr().out
    assert main(["bd", str(folder), "--anchor", "VTM", "--metric", "psnr_rgb", "--repair", "upper_hull",
                 "--out", str(tmp_path / "bd")]) == 0
    out = capsys.readouterr().out
    per_seq = pd.read_csv(next((tmp_path / "bd").glob("*_per_sequence.csv"))).set_index("codec").loc["mbt2018"]
    assert per_seq["status"] == "repaired"
    assert per_seq["kept_test"] == str([str(i) for i in kept]) and per_seq["dropped_test"] == "['6']"  # rate points
    assert per_seq["dropped_anchor"] == "[]"
    # The value is BD on the kept points exactly: the package on the file's points without the dropped one.
    v, t = _results(KODAK / "vtm.json"), json.loads(path.read_text())["results"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = bjontegaard.bd_rate(v["bpp"], v["psnr-rgb"], np.array(t["bpp"])[kept], np.array(t["psnr-rgb"])[kept],
                                   method="pchip", require_matching_points=False, min_overlap=0)
    assert per_seq["value"] == pytest.approx(want, abs=1e-6)
    classes = pd.read_csv(next((tmp_path / "bd").glob("*_classes.csv")))
    assert set(classes.loc[classes["codec"] == "mbt2018", "status"]) == {"repaired"}
    averaged = pd.read_csv(next((tmp_path / "bd").glob("*_average_curve.csv")))
    assert set(averaged.loc[averaged["codec"] == "mbt2018", "status"]) == {"repaired"}
    assert f"{per_seq['value']:+.2f} (repaired)" in out
    assert "mbt2018 / kodak: repaired: repaired by upper_hull: test kept 7 of 8 points (0, 1, 2, 3, 4, 5, 7), " \
           "dropped 6" in out
    tex = next((tmp_path / "bd").glob("*_classes.tex")).read_text()
    assert r"$^\dagger$" in tex and "a curve repaired (points dropped" in tex


@pytest.mark.integration
def test_a_repaired_value_is_flagged_in_the_report_and_ranked_summary(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    path, _ = _lowered(tmp_path)
    out = tmp_path / "report"
    assert main(["report", str(path.parent), "--anchor", "VTM", "--metric", "psnr_rgb", "--repair", "upper_hull",
                 "--no-figures", "--out", str(out)]) == 0
    capsys.readouterr()
    page = (out / "index.html").read_text()
    assert "repaired by upper_hull: test kept 7 of 8 points" in page and "(repaired)" in page
    summary = (out / "tables" / "summary.md").read_text()
    row = next(line for line in summary.splitlines() if line.startswith("| 1 | mbt2018"))
    assert "†" in row and ", repaired" in row and "† flagged: a curve repaired (points dropped" in summary


def test_compare_flags_only_when_points_were_dropped() -> None:
    """--repair on curves that need none changes nothing: status ok, no points listed."""
    points = summary_frame(import_file(MBT[2]) + import_file(KODAK / "vtm.json"))
    row = per_sequence(points, "VTM", BDOptions(metric="psnr_rgb", repair="upper_hull")).iloc[0]
    assert row["status"] == str(Status.OK) and row["kept_test"] == [] and row["dropped_test"] == []
    assert average_curve(points, "VTM", BDOptions(metric="psnr_rgb", repair="upper_hull")).iloc[0]["status"] == "ok"


@pytest.mark.integration
def test_repeated_rate_points_are_mixed_origins_even_on_a_monotonic_curve(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """CompressAI's mbt2018 mse files of the CPU and the GPU run, merged under their one JSON name by an import
    store written before curves were kept apart: on rate points 0-3 the 8 merged points happen to rise with the
    rate (the two runs differ by 1e-5 bpp), so only the repeated rate-point labels prove the merge. Both
    conventions refuse it, naming the rate points and both files; never a plain ok value."""
    store = ResultStore(tmp_path / "old")
    for path in (MBT[2], MBT[3], KODAK / "vtm.json"):
        for r in import_file(path):
            r["imported"].pop("origin", None)  # as such a store holds them: written before the importer kept an origin
            store.write(store.record_path(r["codec"]["name"], r["sequence"]["name"], r["rate_point"], r["key"]), r)
    assert main(["bd", str(tmp_path / "old"), "--anchor", "VTM", "--metric", "psnr_rgb", "--rate-points", "0,1,2,3",
                 "--out", str(tmp_path / "bd")]) == 0
    out = capsys.readouterr().out
    for table, where in (("per_sequence", "test"), ("average_curve", "test (kodak)")):
        row = pd.read_csv(next((tmp_path / "bd").glob(f"*_{table}.csv"))).iloc[0]
        assert row["status"] == "mixed_origins" and pd.isna(row["value"]), table
        assert row["message"].startswith(f"{where}: rate points 0, 1, 2, 3 given 2 times in one curve (its points "
                                         "come from 2 origins ("), table
        assert str(MBT[2]) in row["message"] and str(MBT[3]) in row["message"], table
    assert "n/a (mixed_origins)" in out


def test_a_monotonic_curve_of_two_devices_is_kept() -> None:
    """A run whose rate points were coded on two devices (no rate point twice) is one codec's curve when its
    quality rises with the rate: kept, with its plain value."""
    points = summary_frame(import_file(MBT[2]) + import_file(KODAK / "vtm.json"))
    test = points["codec"] == "mbt2018"
    points.loc[test, "origin"] = "measured"
    points.loc[test, "device"] = ["cpu"] * 4 + ["cuda:0"] * 4
    row = per_sequence(points, "VTM", BDOptions(metric="psnr_rgb", repair="upper_hull")).iloc[0]
    assert row["status"] == "ok" and row["value"] == pytest.approx(_bjontegaard(KODAK / "vtm.json", MBT[2]), abs=1e-6)


@pytest.mark.integration
def test_a_repaired_value_of_low_overlap_says_both_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The repair used to replace every other flag: a repaired value whose curves share little of their range was
    'repaired' in the tables, the pivot, the LaTeX note and the verdict, and 'low overlap' nowhere. Both now."""
    path, _ = _lowered(tmp_path)
    args = ["--anchor", "VTM", "--metric", "psnr_rgb", "--repair", "upper_hull", "--min-overlap", "0.99"]
    assert main(["bd", str(path.parent), *args, "--out", str(tmp_path / "bd")]) == 0
    out = capsys.readouterr().out
    per_seq = pd.read_csv(next((tmp_path / "bd").glob("*_per_sequence.csv"))).iloc[0]
    assert per_seq["status"] == "low_overlap" and per_seq["repaired"] and per_seq["dropped_test"] == "['6']"
    for table in ("classes", "average_curve"):
        means = pd.read_csv(next((tmp_path / "bd").glob(f"*_{table}.csv")))
        assert set(means["status"]) == {"low_overlap"} and means["repaired"].all() and means["low_overlap"].all()
    assert out.count(f"{per_seq['value']:+.2f} (repaired, low overlap)") == 4  # each class and mean, both conventions
    tex = next((tmp_path / "bd").glob("*_classes.tex")).read_text()
    assert "flagged: low overlap of the curves; a curve repaired (points dropped" in tex
    assert main(["report", str(path.parent), *args, "--no-figures", "--out", str(tmp_path / "report")]) == 0
    capsys.readouterr()
    summary = (tmp_path / "report" / "tables" / "summary.md").read_text()
    row = next(line for line in summary.splitlines() if line.startswith("| 1 | mbt2018"))
    assert row.endswith("1/1 sequences, repaired, low overlap |")
    assert "† flagged: low overlap of the curves; a curve repaired (points dropped" in summary


@pytest.mark.integration
def test_repair_notes_one_line_per_value_named_by_convention(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The notes under the terminal tables: no line for a mean (it has no message: it used to print 'nan'), each
    line named by its convention (a one-sequence class gives the same message in both, once printed twice with
    the same text), flags and statuses in words."""
    path, _ = _lowered(tmp_path)
    assert main(["bd", str(path.parent), "--anchor", "VTM", "--metric", "psnr_rgb", "--repair", "upper_hull",
                 "--out", str(tmp_path / "bd")]) == 0
    out = capsys.readouterr().out
    head = "Repaired or refused curves (values on a repaired curve are flagged 'repaired', never ok):"
    notes = []
    for line in out.split(head + "\n")[1].splitlines():  # up to the next section, or the list of files written
        if not line.startswith("  ") or line.startswith("  BD per sequence:"):
            break
        notes.append(line)
    said = "repaired: repaired by upper_hull: test kept 7 of 8 points (0, 1, 2, 3, 4, 5, 7), dropped 6"
    assert notes == [f"  per-sequence (JVET): mbt2018 / kodak: {said}", f"  averaged curve (DCVC): mbt2018 / kodak: {said}"]
