"""Rate-point subsets of ``evaluate.py bd``, shared and per codec, against the bjontegaard package on the points
each codec keeps; a codec the subset empties gets ``too_few_points`` in every table (it crashed with a KeyError);
a bad list is refused in one line naming it.

The two codecs have disjoint labels (QP 22-42 against a quality index 2-31), as an x265 anchor against a learned
codec does, and curves that cross: the BD-rate over the low-rate points and over all points differ by tens of
percentage points, so a list applied to the wrong codec, or ignored, cannot pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import bjontegaard
import numpy as np
import pandas as pd
import pytest

from bench.cli import main

# (label, bpp, PSNR-Y) per codec: the anchor's QPs, then "mine" with a quality index; mine is far better at low
# rates and worse at high ones.
ANCHOR = [("22", 0.80, 40.0), ("27", 0.40, 37.0), ("32", 0.20, 34.0), ("37", 0.10, 31.0), ("42", 0.05, 28.0)]
MINE = [("2", 0.04, 30.0), ("4", 0.09, 33.0), ("8", 0.20, 35.5), ("16", 0.45, 37.4), ("31", 0.95, 39.2)]


@pytest.fixture()
def points_csv(tmp_path: Path) -> Path:
    rows = [{"codec": codec, "sequence": "S1", "rate_point": label, "bpp": bpp, "psnr_y": q}
            for codec, curve in (("anchor", ANCHOR), ("mine", MINE)) for label, bpp, q in curve]
    path = tmp_path / "points.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _bd(points_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> pd.DataFrame:
    out = tmp_path / "bd"
    rc = main(["bd", str(points_csv), "--anchor", "anchor", "--metric", "psnr_y", "--min-points", "3",
               "--out", str(out), *options])
    assert rc == 0, capsys.readouterr().err
    return pd.read_csv(next(out.glob("*_per_sequence.csv")))


def _reference(anchor: list[str], mine: list[str]) -> float:
    """The bjontegaard package's PCHIP BD-rate (called as its README does) over the points with these labels."""
    a = np.array([(bpp, q) for label, bpp, q in ANCHOR if label in anchor])
    t = np.array([(bpp, q) for label, bpp, q in MINE if label in mine])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its own low-overlap warning: the overlap is checked by our status
        return float(bjontegaard.bd_rate(a[:, 0], a[:, 1], t[:, 0], t[:, 1], method="pchip", min_overlap=0,
                                         require_matching_points=False))


ALL_ANCHOR, ALL_MINE = [p[0] for p in ANCHOR], [p[0] for p in MINE]


def test_the_curves_make_a_wrong_subset_visible() -> None:
    low, full = _reference(["32", "37", "42"], ["2", "4", "8"]), _reference(ALL_ANCHOR, ALL_MINE)
    assert abs(low - full) > 10


@pytest.mark.integration
@pytest.mark.parametrize(("options", "anchor", "mine"), [
    (["--rate-points", "anchor=32,37,42", "mine=2,4,8"], ["32", "37", "42"], ["2", "4", "8"]),
    # The shared list for the anchor, mine's own for mine.
    (["--rate-points", "27,32,37,42", "mine=2,4,8,16"], ["27", "32", "37", "42"], ["2", "4", "8", "16"]),
    # A codec not named keeps every point.
    (["--rate-points", "mine=4,8,16"], ALL_ANCHOR, ["4", "8", "16"]),
    (["--rate-exclude", "anchor=22", "mine=2,31"], ["27", "32", "37", "42"], ["4", "8", "16"]),
    (["--rate-points", "anchor=22,27,32,37", "--rate-exclude", "mine=31"], ["22", "27", "32", "37"],
     ["2", "4", "8", "16"]),
])
def test_per_codec_lists_give_the_bd_rate_of_the_points_kept(points_csv: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str], options: list[str],
                                                             anchor: list[str], mine: list[str]) -> None:
    row = _bd(points_csv, tmp_path, capsys, *options).iloc[0]
    assert row["value"] == pytest.approx(_reference(anchor, mine), abs=1e-5)  # the CSV keeps 6 decimals
    assert (row["points_anchor"], row["points_test"]) == (len(anchor), len(mine))
    # The subset is said with the table, per codec.
    head = capsys.readouterr().out.splitlines()[0]
    if "mine=4,8,16" in options:
        assert "mine: rate points 4, 8, 16 only" in head


@pytest.mark.integration
def test_a_shared_list_a_codec_lacks_gives_too_few_points_not_a_traceback(points_csv: Path, tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's crash: labels of the anchor only, so mine has no point left (KeyError: 'codec' before)."""
    row = _bd(points_csv, tmp_path, capsys, "--rate-points", "22,27,32").iloc[0]
    assert (row["codec"], row["status"], row["points_test"]) == ("mine", "too_few_points", 0)
    assert row["message"] == ("mine: no point of S1 left by the rate-point subset (rate points 22, 27, 32 only), "
                              "at least 3 needed")
    tables = {p.name.split("_pchip_")[1]: pd.read_csv(p) for p in (tmp_path / "bd").glob("*.csv")}
    assert set(tables["classes.csv"]["status"]) == {"too_few_points"}  # the class and the overall mean
    averaged = tables["average_curve.csv"].set_index("group")
    assert averaged.loc["imported", "status"] == "too_few_points"
    assert "mine" in capsys.readouterr().out.split("per-sequence mean (JVET)")[1]  # still in the printed table


@pytest.mark.integration
def test_an_anchor_left_without_points_is_named(points_csv: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    row = _bd(points_csv, tmp_path, capsys, "--rate-points", "2,4,8").iloc[0]
    assert row["status"] == "too_few_points" and row["message"].startswith("anchor: no point of S1 left")


@pytest.mark.integration
@pytest.mark.parametrize(("options", "message"), [
    (["--rate-points", "x266=22,27"], "error: --rate-points x266=22,27: no codec x266 among the results; codecs: "
                                      "anchor, mine"),
    (["--rate-points", "mine=abc"], "error: --rate-points mine=abc: mine has no rate point abc; its rate points: "
                                    "2, 4, 8, 16, 31"),
    (["--rate-exclude", "anchor=22,43"], "error: --rate-exclude anchor=22,43: anchor has no rate point 43; its rate "
                                         "points: 22, 27, 32, 37, 42"),
    # A list meant for one codec given to all: no result has it... in the shared form, the old message.
    (["--rate-points", "1,2"], "error: --rate-points 1: no result has that rate point; rate points: 2, 4, 8, 16, "
                               "22, 27, 31, 32, 37, 42"),
])
def test_a_list_naming_what_the_results_lack_is_one_line(points_csv: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str], options: list[str],
                                                         message: str) -> None:
    assert main(["bd", str(points_csv), "--anchor", "anchor", "--metric", "psnr_y", "--out", str(tmp_path / "bd"),
                 *options]) == 2
    assert capsys.readouterr().err.strip() == message


@pytest.mark.integration
@pytest.mark.parametrize(("options", "message"), [
    (["--rate-points", "mine="], "--rate-points 'mine=': no rate point labels"),
    (["--rate-points", "=4,8"], "--rate-points '=4,8': no codec name before '='"),
    (["--rate-exclude", "mine=2", "mine=4"], "--rate-exclude names mine twice"),
    # A source written after the option: caught as the option is read, not reported as a missing source.
    (["--rate-points", "22,27", "other.csv"], "--rate-points 22,27 other.csv: one shared list only"),
])
def test_a_malformed_list_is_refused_naming_it(points_csv: Path, capsys: pytest.CaptureFixture[str],
                                               options: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bd", str(points_csv), "--anchor", "anchor", *options])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
