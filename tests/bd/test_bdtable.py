"""BD tables: both aggregation conventions, checked against DCVC's compare_bd_rate.py and by hand."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import pchip_interpolate

from bench.bd.importers import import_file
from bench.bd.tables import (
    CLASS_MEAN,
    OVERALL,
    BDOptions,
    average_curve,
    jvet_summary,
    latex_table,
    per_sequence,
    time_ratios,
)
from bench.cli import main
from bench.errors import BenchError
from bench.report.tables import summary_frame

DATA = Path(__file__).parents[1] / "data" / "dcvc"

# DCVC's compare_bd_rate.py (microsoft/DCVC 54e8864, bd-metric 0.9.0, NumPy 1.26.4) run on tests/data/dcvc with
# `--compare_frame_type all`, full-precision values read from its retrieve_data(): class mode (frame-weighted
# class-averaged curves) and sequence mode.
COMPARE_BD_RATE_CLASS = {"B": -21.703137996732192, "UVG": -21.548063520849546}
COMPARE_BD_RATE_SEQUENCE = {"BQTerrace": -23.161664138701877, "Cactus": -20.193782810714133,
                            "Beauty": -17.590307497538184, "Jockey": -21.247034347758365,
                            "ShakeNDry": -23.86149171859512}
# Our exact PCHIP integral differs from its 100-sample trapezoid by at most this many percentage points here.
TRAPEZOID_GAP = 5e-4


@pytest.fixture(scope="module")
def dcvc_points() -> pd.DataFrame:
    return summary_frame(import_file(DATA / "anchor.json", "anchor") + import_file(DATA / "test.json", "test"))


def _sampled_pchip_bd(ra: np.ndarray, qa: np.ndarray, rt: np.ndarray, qt: np.ndarray) -> float:
    """compare_bd_rate.py's integration, described independently: ln rate as PCHIP of quality, both axes sorted,
    sampled at 100 points over the overlap, trapezoid rule."""
    la, lt = np.log(np.sort(ra)), np.log(np.sort(rt))
    qa, qt = np.sort(qa), np.sort(qt)
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    x = np.linspace(lo, hi, num=100)
    ia = np.trapezoid(pchip_interpolate(qa, la, x), x) if hasattr(np, "trapezoid") else np.trapz(pchip_interpolate(qa, la, x), x)
    it = np.trapezoid(pchip_interpolate(qt, lt, x), x) if hasattr(np, "trapezoid") else np.trapz(pchip_interpolate(qt, lt, x), x)
    return (math.exp((it - ia) / (hi - lo)) - 1) * 100


def test_average_curve_convention_matches_compare_bd_rate(dcvc_points: pd.DataFrame) -> None:
    table = average_curve(dcvc_points, "anchor", BDOptions(metric="psnr_yuv_611")).set_index("group")
    for group, want in COMPARE_BD_RATE_CLASS.items():
        assert table.loc[group, "value"] == pytest.approx(want, abs=TRAPEZOID_GAP)
        assert table.loc[group, "value"] != pytest.approx(want, abs=1e-6)  # the gap is real, and stated
    assert table.loc[CLASS_MEAN, "value"] == pytest.approx(np.mean([table.loc["B", "value"], table.loc["UVG", "value"]]))


def test_class_averaging_is_identical_to_compare_bd_rate(dcvc_points: pd.DataFrame) -> None:
    """With its sampled integration on our frame-weighted class curves, compare_bd_rate.py's numbers come back
    exactly: the only difference is the integral."""
    ok = dcvc_points.assign(w=dcvc_points["frames"].astype(float))
    for group, want in COMPARE_BD_RATE_CLASS.items():
        curves = {}
        for codec in ("anchor", "test"):
            part = ok[(ok["codec"] == codec) & (ok["group"] == group)]
            rows = [(np.average(rp["bpp"], weights=rp["w"]), np.average(rp["psnr_yuv_611"], weights=rp["w"]))
                    for _, rp in part.groupby("rate_point")]
            curves[codec] = np.array(rows)
        got = _sampled_pchip_bd(curves["anchor"][:, 0], curves["anchor"][:, 1], curves["test"][:, 0], curves["test"][:, 1])
        assert got == pytest.approx(want, abs=1e-9)


def test_per_sequence_matches_compare_bd_rate(dcvc_points: pd.DataFrame) -> None:
    per_seq = per_sequence(dcvc_points, "anchor", BDOptions(metric="psnr_yuv_611")).set_index("sequence")
    for seq, want in COMPARE_BD_RATE_SEQUENCE.items():
        assert per_seq.loc[seq, "value"] == pytest.approx(want, abs=TRAPEZOID_GAP)
        assert per_seq.loc[seq, "status"] == "ok"


def test_jvet_convention_means(dcvc_points: pd.DataFrame) -> None:
    per_seq = per_sequence(dcvc_points, "anchor", BDOptions(metric="psnr_yuv_611"))
    summary = jvet_summary(per_seq).set_index("group")
    by_seq = per_seq.set_index("sequence")["value"]
    assert summary.loc["B", "value"] == pytest.approx((by_seq["BQTerrace"] + by_seq["Cactus"]) / 2)
    assert summary.loc["UVG", "value"] == pytest.approx(by_seq[["Beauty", "Jockey", "ShakeNDry"]].mean())
    assert summary.loc[OVERALL, "value"] == pytest.approx(by_seq.mean())  # over sequences, not classes
    assert summary.loc[OVERALL, "sequences_used"] == 5


def test_missing_and_failed_curves_are_counted_not_hidden(dcvc_points: pd.DataFrame) -> None:
    points = dcvc_points[~((dcvc_points["codec"] == "anchor") & (dcvc_points["sequence"] == "Jockey"))]
    per_seq = per_sequence(points, "anchor", BDOptions(metric="psnr_yuv_611")).set_index("sequence")
    assert per_seq.loc["Jockey", "status"] == "missing" and pd.isna(per_seq.loc["Jockey", "value"])
    summary = jvet_summary(per_seq.reset_index()).set_index("group")
    assert summary.loc["UVG", "status"] == "incomplete"
    assert (summary.loc["UVG", "sequences_used"], summary.loc["UVG", "sequences"]) == (2, 3)


def test_time_ratios_are_geometric_means() -> None:
    rows = []
    for seq, (ta, tt) in {"S1": (10.0, 20.0), "S2": (10.0, 80.0)}.items():
        for rp in (1, 2):
            rows.append({"codec": "a", "sequence": seq, "group": "g", "rate_point": rp, "status": "ok",
                         "encode_s": ta / 2, "decode_s": 1.0})
            rows.append({"codec": "b", "sequence": seq, "group": "g", "rate_point": rp, "status": "ok",
                         "encode_s": tt / 2, "decode_s": 0.5})
    ratios = time_ratios(pd.DataFrame(rows), "a").set_index("codec")
    assert ratios.loc["b", "encode_ratio"] == pytest.approx(4.0)  # sqrt(2 * 8)
    assert ratios.loc["b", "decode_ratio"] == pytest.approx(0.5)
    assert ratios.loc["b", "sequences"] == 2
    # Every anchor job failed: no ratios, and no crash (a real run with an anchor that cannot code RGB did).
    failed = pd.DataFrame([{**r, "status": "failed", "encode_s": None, "decode_s": None} if r["codec"] == "a" else r
                           for r in rows])
    ratios = time_ratios(failed, "a").set_index("codec")
    assert ratios.loc["b", "encode_ratio"] is None and ratios.loc["b", "decode_ratio"] is None


def test_unknown_anchor_and_metric(dcvc_points: pd.DataFrame) -> None:
    with pytest.raises(BenchError, match="anchor 'vtm' is not among the results' codecs: anchor, test"):
        per_sequence(dcvc_points, "vtm", BDOptions())
    with pytest.raises(BenchError, match="metric 'vmaf' is in none of the results"):
        per_sequence(dcvc_points, "anchor", BDOptions(metric="vmaf"))


def test_latex_is_booktabs(dcvc_points: pd.DataFrame) -> None:
    summary = jvet_summary(per_sequence(dcvc_points, "anchor", BDOptions(metric="psnr_yuv_611")))
    tex = latex_table(summary, "BD-rate_x 100%")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "Codec & B & UVG & all: mean of sequences" in tex and "test & $-21.7$ & $-20.9$ & $-21.2$" in tex
    assert "BD-rate\\_x 100\\%" in tex


@pytest.mark.integration
def test_bd_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["bd", f"anchor={DATA / 'anchor.json'}", f"test={DATA / 'test.json'}", "--anchor", "anchor",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "per-sequence mean (JVET)" in out and "averaged curve (DCVC)" in out
    assert re.search(r"test\s+-21.68\s+-20.90\s+-21.21", out) and re.search(r"test\s+-21.70\s+-21.55\s+-21.63", out)
    assert "Time ratios" not in out  # the imported files carry no times
    classes = pd.read_csv(tmp_path / "bd_cli_psnr_yuv_611_rate_pchip_classes.csv")
    assert set(classes["group"]) == {"B", "UVG", OVERALL}
    assert (tmp_path / "bd_cli_psnr_yuv_611_rate_pchip_classes.tex").exists()
    assert main(["bd", str(DATA / "anchor.json"), "--anchor", "vtm"]) == 2


@pytest.mark.integration
def test_bd_command_reads_a_folder_of_vtm_logs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from conftest import VTM_LOG

    for name, shift in (("anchor", 0.0), ("test", 0.3)):
        folder = tmp_path / name
        folder.mkdir()
        for qp, (kbps, y) in {22: (8000, 40.0), 27: (4000, 37.5), 32: (2000, 35.0), 37: (1000, 32.0)}.items():
            log = VTM_LOG.replace("3416.5964    36.7669", f"{kbps:.4f}    {y + shift:.4f}")
            (folder / f"Cactus_qp{qp}.log").write_text(log)
    assert main(["bd", f"anchor={tmp_path / 'anchor'}", f"test={tmp_path / 'test'}", "--anchor", "anchor",
                 "--metric", "psnr_y", "--out", str(tmp_path / "out")]) == 0
    per_seq = pd.read_csv(tmp_path / "out" / "bd_cli_psnr_y_rate_pchip_per_sequence.csv")
    assert list(per_seq["sequence"]) == ["Cactus"] and per_seq["status"][0] == "ok"
    assert per_seq["value"][0] < 0  # +0.3 dB at the same rates saves bits


def test_a_metric_a_codec_lacks_is_metric_missing_not_non_finite() -> None:
    import pandas as pd

    from bench.bd.tables import BDOptions, per_sequence

    rows = []
    for codec, psnr in (("A", [30.0, 32.0, 34.0, 35.0]), ("B", [None] * 4)):
        for i, q in enumerate(psnr, start=1):
            rows.append({"codec": codec, "sequence": "S", "group": "g", "status": "ok", "bpp": 0.1 * i, "psnr_y": q})
    table = per_sequence(pd.DataFrame(rows), "A", BDOptions(metric="psnr_y"))
    [row] = table.to_dict("records")
    assert row["status"] == "metric_missing" and row["message"] == "B has no PSNR-Y values for S"  # a label, not a key
