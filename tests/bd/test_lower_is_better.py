"""A lower-is-better metric (MSE, LPIPS, bits), registered here as a new metric would be, is integrated, ranked,
marked and coloured the right way round.

References the code did not write: the ``bjontegaard`` package (FAU-LMS) run on (rate, -MSE), the way its
README runs PSNR curves; and curves built so that the better codec and its BD-rate are known by construction
(the anchor's MSE values reached at 0.8x the rate: -20 % with any interpolation). The BD tables come from
``bench.report.bd_files.write_bd_tables``, the path ``bd``, ``run`` and ``report`` take.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import bjontegaard
import numpy as np
import pandas as pd
import pytest

from bench.bd import ranking
from bench.bd.engine import METHODS, Status, bd_quality, bd_rate
from bench.bd.options import BDOptions
from bench.bd.tables import OVERALL
from bench.checks import selftest
from bench.metrics import registry
from bench.report import html
from bench.report.bd_files import write_bd_tables

MSE = "test_mse_y"
PEAK = 255.0


@pytest.fixture
def mse_metric(monkeypatch: pytest.MonkeyPatch) -> registry.Metric:
    """MSE-Y, lower is better, registered for this test only (the registry is restored afterwards)."""
    monkeypatch.setattr(registry, "_METRICS", dict(registry.metrics()))
    return registry.register_metric(registry.Metric(
        MSE, "MSE-Y", "", "mean squared error of luma (a test metric)", "mean of frames", None,
        higher_is_better=False))


def _mse(psnr: np.ndarray) -> np.ndarray:
    return PEAK**2 / 10 ** (np.asarray(psnr) / 10)


# The RD curves of the bjontegaard package's README (kbps, PSNR dB; bench.checks.selftest's copy), turned into MSE below.
FAU = selftest.FAU


@pytest.mark.parametrize("case", range(len(FAU)))
@pytest.mark.parametrize("method", METHODS)
def test_engine_equals_the_bjontegaard_package_on_negated_mse(case: int, method: str) -> None:
    ra, pa, rt, pt = (np.array(v) for v in FAU[case])
    ma, mt = _mse(pa), _mse(pt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_rate = bjontegaard.bd_rate(ra, -ma, rt, -mt, method=method, min_overlap=0)
        want_neg_mse = bjontegaard.bd_psnr(ra, -ma, rt, -mt, method=method, min_overlap=0)
    got = bd_rate(ra, ma, rt, mt, method=method, higher_is_better=False)
    assert got.status is Status.OK and got.value == pytest.approx(want_rate, abs=1e-9)
    # BD-quality is test - anchor in the metric's units: the package's value on -MSE, negated.
    quality = bd_quality(ra, ma, rt, mt, method=method, higher_is_better=False)
    assert quality.value == pytest.approx(-want_neg_mse, abs=1e-9)
    # Read as a higher-is-better metric, an MSE curve falls with the rate: refused, never a backwards number.
    assert bd_rate(ra, ma, rt, mt, method=method).status is Status.NON_MONOTONIC


def test_known_by_construction_and_the_sign_conventions() -> None:
    rate = np.array([0.02, 0.05, 0.1, 0.2])
    mse = np.array([60.0, 31.0, 17.0, 9.5])
    for method in METHODS:
        # The anchor's MSE at 0.8x its rate: 20 % fewer bits for the same MSE, whatever the interpolation.
        assert bd_rate(rate, mse, 0.8 * rate, mse, method=method, higher_is_better=False).value == \
            pytest.approx(-20.0, abs=1e-9)
        assert bd_rate(rate, mse, 1.25 * rate, mse, method=method, higher_is_better=False).value == \
            pytest.approx(25.0, abs=1e-9)
    # 3 less squared error at every rate: BD-MSE -3 (negative = less error = better for this metric).
    assert bd_quality(rate, mse, rate, mse - 3.0, higher_is_better=False).value == pytest.approx(-3.0, abs=1e-12)
    # Saturation is "past the level": below it for a lower-is-better metric.
    low = bd_rate(rate, mse, 0.8 * rate, mse, higher_is_better=False, saturates_at=40.0)
    assert low.status is Status.SATURATED and "below 40" in low.message
    assert bd_rate(rate, mse, 0.8 * rate, mse, higher_is_better=False, saturates_at=5.0).status is Status.OK


def _points() -> pd.DataFrame:
    """Two classes, three sequences, an anchor and two codecs: 'better' reaches each anchor point at 0.8x the
    rate (and at equal rate has less MSE), 'worse' at 1.25x."""
    rows = []
    sequences = {"S1": ("A", 31.0), "S2": ("A", 34.0), "S3": ("B", 29.0)}
    for seq, (group, base) in sequences.items():
        for i, bpp in enumerate((0.02, 0.05, 0.1, 0.2), start=1):
            psnr = base + 4.0 * np.log2(bpp / 0.02)
            for codec, factor in (("anchor", 1.0), ("better", 0.8), ("worse", 1.25)):
                rows.append({"codec": codec, "sequence": seq, "group": group, "rate_point": i, "status": "ok",
                             "bpp": bpp * factor, "frames": 10, "psnr_y": psnr, MSE: float(_mse(psnr)),
                             "dataset_average": "", "origin": "measured"})
    return pd.DataFrame(rows)


def _tables(tmp_path: Path, kind: str) -> dict[str, pd.DataFrame]:
    computed: dict[str, pd.DataFrame] = {}
    write_bd_tables(_points(), "anchor", BDOptions(metric=MSE, kind=kind), tmp_path, "t", computed)
    return computed


def test_bd_rate_tables_rankings_marks_and_colours(mse_metric: registry.Metric, tmp_path: Path) -> None:
    computed = _tables(tmp_path, "rate")
    per_seq = computed["per_sequence"].set_index(["codec", "sequence"])
    assert (per_seq["status"] == "ok").all()
    assert per_seq.loc[("better", "S1"), "value"] == pytest.approx(-20.0, abs=1e-9)
    assert per_seq.loc[("worse", "S3"), "value"] == pytest.approx(25.0, abs=1e-9)
    overall = computed["classes"].set_index(["codec", "group"])
    assert overall.loc[("better", OVERALL), "value"] == pytest.approx(-20.0, abs=1e-9)
    # The class CSV names each interval's method and n.
    csv = pd.read_csv(next(tmp_path.glob("*_classes.csv")))
    assert set(csv["ci_method"]) == {"student_t"} and (csv["ci_n"] == csv["sequences_used"]).all()
    assert csv.loc[csv["group"] == "B", "ci_low"].isna().all()  # one sequence in class B: no interval
    rows = ranking.ranked({MSE: (computed["classes"], computed["average_curve"])}, "anchor")
    assert [r.codec for r in rows] == ["better", "worse"]
    assert rows[0].verdict.startswith("20.0 % fewer bits than anchor for the same MSE-Y")
    tex = ranking.as_latex(rows, [MSE], "anchor", "t")
    assert r"better & $\mathbf{-20.0}$ & $\mathbf{-20.0}$" in tex and r"worse & $+25.0$ & $+25.0$" in tex
    md = ranking.as_markdown(rows, [MSE], "anchor")
    assert "| 1 | better | **-20.00** |" in md and "| 2 | worse | +25.00 |" in md
    assert _green(ranking.colour(rows[0].cells[MSE].value, "rate", False))
    assert not _green(ranking.colour(rows[1].cells[MSE].value, "rate", False))


def test_bd_quality_tables_rankings_marks_and_colours(mse_metric: registry.Metric, tmp_path: Path) -> None:
    computed = _tables(tmp_path, "quality")
    overall = computed["classes"].set_index(["codec", "group"])["value"]
    assert overall[("better", OVERALL)] < 0 < overall[("worse", OVERALL)]  # less MSE at equal rate = negative
    tex_caption = next(tmp_path.glob("*_classes.tex")).read_text()
    assert "Test - anchor at equal rate; lower is better for MSE-Y." in tex_caption
    tables = {MSE: (computed["classes"], computed["average_curve"])}
    rows = ranking.ranked(tables, "anchor", "quality")
    assert [r.codec for r in rows] == ["better", "worse"]  # the lower BD-MSE first
    assert " on MSE-Y against anchor (test - anchor at equal rate; lower is better for MSE-Y) (95 % CI " in rows[0].verdict
    tex = ranking.as_latex(rows, [MSE], "anchor", "t", kind="quality")
    best = f"{overall[('better', OVERALL)]:+.2f}"  # BD-quality: 2 decimals
    assert f"better & $\\mathbf{{{best}}}$" in tex and "lower is better for MSE-Y" in tex
    # The report's own summary: the same order, and the better codec's cells green.
    page = html._summary(tables, "anchor", [], "quality", tmp_path / "tables", {}, None, pd.DataFrame())
    assert [r["codec"] for r in page["rows"]] == ["better", "worse"]
    assert all(_green(c["colour"]) for c in page["rows"][0]["cells"])
    assert not any(_green(c["colour"]) for c in page["rows"][1]["cells"])
    assert f"| 1 | better | **{overall[('better', OVERALL)]:+.2f}** |" in (tmp_path / "tables" / "summary.md").read_text()
    # The same data on PSNR-Y (higher is better) ranks the same codec first: the two directions agree.
    psnr = ranking.ranked({"psnr_y": _psnr_tables(tmp_path)}, "anchor", "quality")
    assert [r.codec for r in psnr] == ["better", "worse"] and psnr[0].cells["psnr_y"].value > 0
    psnr_tex = ranking.as_latex(psnr, ["psnr_y"], "anchor", "t", kind="quality")
    assert f"better & $\\mathbf{{{psnr[0].cells['psnr_y'].value:+.2f}}}$" in psnr_tex  # the highest BD-PSNR bold
    assert _green(ranking.colour(psnr[0].cells["psnr_y"].value, "quality", True))


def _psnr_tables(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    computed: dict[str, pd.DataFrame] = {}
    write_bd_tables(_points(), "anchor", BDOptions(metric="psnr_y", kind="quality"), tmp_path / "psnr", "t", computed)
    return computed["classes"], computed["average_curve"]


def _green(hex_colour: str) -> bool:
    """The 'better' hue of ranking.colour (green from (0, 158, 115)), told apart from the 'worse' orange."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return g > r


def test_colour_follows_the_metric_direction() -> None:
    assert _green(ranking.colour(-10.0, "rate")) and _green(ranking.colour(-10.0, "rate", False))
    assert _green(ranking.colour(0.5, "quality")) and not _green(ranking.colour(0.5, "quality", False))
    assert _green(ranking.colour(-0.5, "quality", False)) and not _green(ranking.colour(-0.5, "quality"))
    # No difference (a codec against an identical coding of the anchor) is neither better nor worse.
    assert {ranking.colour(0.0, kind, hib) for kind in ("rate", "quality") for hib in (True, False)} == {"#ffffff"}
