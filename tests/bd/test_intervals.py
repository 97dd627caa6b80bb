"""The confidence interval of a per-sequence mean: equal to scipy's t interval, and shown by simulation to cover
the true mean of normal and moderately skewed samples at least 93 % of the time for the sample sizes of JVET
classes (n = 3 to 5) and of whole test sets (8, 15), with the method and n printed wherever it appears.

The simulation draws many samples at once and runs the suite's own ``t_interval`` on all of them (vectorised:
a few hundred thousand samples per case in well under a second). The skewed case is a gamma distribution of
shape 4, skewness 1: a spread of per-sequence BD-rates with a long tail on one side (one sequence where the
test codec gains or loses far more than on the others), asserted below from scipy's moments rather than
taken on trust. Heavier skew is the method's stated limit, asserted as such: a lognormal of skewness 1.75
is covered about 91.5 % of the time (``python benchmarks/interval_coverage.py`` prints every case, and the
bootstrap variants that do worse).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.bd import intervals, ranking
from bench.bd.tables import OVERALL, jvet_summary, spread, spread_table

TRIALS = 200_000  # standard error of a coverage near 95 %: 0.0005
SIZES = (2, 3, 4, 5, 8, 15)
GAMMA_SHAPE = 4.0  # skewness 2 / sqrt(shape) = 1
LOGNORMAL_SIGMA = 0.5  # skewness (e^s2 + 2) sqrt(e^s2 - 1) = 1.75


def _coverage(draw: object, mean: float, n: int, seed: int) -> float:
    """Share of TRIALS samples of size N from DRAW whose 95 % interval contains the true MEAN."""
    samples = draw(np.random.default_rng(seed), (TRIALS, n))  # type: ignore[operator]
    low, high = intervals.t_interval(samples)
    return float(np.mean((low <= mean) & (mean <= high)))


def test_the_skewness_of_the_simulated_distributions_is_as_stated() -> None:
    assert float(stats.gamma(GAMMA_SHAPE).stats(moments="s")) == pytest.approx(1.0)
    assert float(stats.lognorm(LOGNORMAL_SIGMA).stats(moments="s")) == pytest.approx(1.7502, abs=1e-4)


@pytest.mark.parametrize("n", SIZES)
def test_t_interval_covers_normal_and_moderately_skewed_means(n: int) -> None:
    # Normal values: BD-rates of -20 % with a spread of 8 points between sequences.
    normal = _coverage(lambda rng, size: rng.normal(-20.0, 8.0, size), -20.0, n, seed=n)
    # Gamma of skewness 1, shifted and scaled to the same mean and spread.
    scale = 8.0 / np.sqrt(GAMMA_SHAPE)
    skewed = _coverage(lambda rng, size: -20.0 + scale * (rng.gamma(GAMMA_SHAPE, 1.0, size) - GAMMA_SHAPE), -20.0, n,
                       seed=100 + n)
    assert normal == pytest.approx(0.95, abs=0.003)  # exact for normal samples: the estimate within 6 s.e.
    assert skewed >= 0.93, f"n={n}: {skewed:.4f}"


def test_heavier_skew_is_the_stated_limit() -> None:
    """A lognormal of skewness 1.75: about 91.5 % at n = 4 and 5, as the module and README say (not hidden)."""
    mean = float(np.exp(LOGNORMAL_SIGMA**2 / 2))
    got = [_coverage(lambda rng, size: rng.lognormal(0.0, LOGNORMAL_SIGMA, size), mean, n, seed=200 + n) for n in (4, 5)]
    assert all(0.905 <= c <= 0.925 for c in got), got


def test_t_interval_equals_scipy() -> None:
    """The bounds against scipy's own one-sample t test interval, sample by sample."""
    rng = np.random.default_rng(5)
    for n in (2, 3, 4, 7):
        samples = rng.normal(-10.0, 6.0, (20, n))
        low, high = intervals.t_interval(samples)
        for row, lo, hi in zip(samples, low, high, strict=True):
            want = stats.ttest_1samp(row, 0.0).confidence_interval(0.95)
            assert (lo, hi) == pytest.approx((want.low, want.high), rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 values"):
        intervals.t_interval(np.array([[1.0]]))


def test_every_interval_carries_its_method_and_n() -> None:
    values = np.array([-4.0, 2.0])
    two = spread(values)
    want = stats.ttest_1samp(values, 0.0).confidence_interval(0.95)  # -1 +- 12.706 * 4.243 / sqrt(2)
    assert (two["ci_low"], two["ci_high"]) == pytest.approx((want.low, want.high), rel=1e-12)
    assert two["ci_low"] == pytest.approx(-39.119, abs=1e-3)  # the bootstrap said [-4, 2]: the range of the values
    assert (two["ci_method"], two["ci_level"], two["ci_n"]) == ("student_t", 0.95, 2)
    one = spread(np.array([3.0]))
    assert one["ci_low"] is None and one["ci_n"] == 1
    rows = pd.DataFrame([{"codec": "t", "group": g, "sequence": s, "value": v, "status": "ok"}
                         for g, s, v in (("A", "a1", -30.0), ("A", "a2", -26.0), ("B", "b1", -28.0))])
    summary = jvet_summary(rows)
    table = spread_table(summary).set_index("class")
    assert table.loc["B", "95% CI (Student t)"] == "n too small (n=1; the t interval needs 2)"
    assert table.loc["A", "95% CI (Student t)"] == "[-53.41, -2.59] (n=2)"  # -28 +- 12.706 * 2
    assert table.loc[OVERALL, "95% CI (Student t)"].endswith("(n=3)")
    # One sequence: no interval, and the verdict says so instead of "clear".
    b_only = summary[summary["group"] == "B"].assign(group=OVERALL)
    row = ranking.ranked({"psnr_y": (b_only, pd.DataFrame())}, "anchor")[0]
    assert "n too small (n=1; the t interval needs 2): no verdict on the sign" in row.verdict
    assert "clear" not in row.verdict and "not certain" not in row.verdict
    both = ranking.ranked({"psnr_y": (summary, pd.DataFrame())}, "anchor")[0]
    assert "Student t over 3 sequences: clear)" in both.verdict
    # A codec equal to the anchor on every sequence: the interval is [0, 0], which shows no sign either.
    same = pd.DataFrame([{"codec": "t", "group": "A", "sequence": s, "value": 0.0, "status": "ok"} for s in "abc"])
    equal = ranking.ranked({"psnr_y": (jvet_summary(same), pd.DataFrame())}, "anchor")[0]
    assert "the sign is not certain" in equal.verdict and "clear" not in equal.verdict
    md = ranking.as_markdown([row], ["psnr_y"], "anchor")
    assert "n too small" in md and "95 % CI (Student t, n)" in md and "Student t over its n sequences" in md
    assert "95% CI (t, n)" in ranking.as_text([both], ["psnr_y"])


def test_bd_quality_intervals_and_verdicts_keep_two_decimals() -> None:
    """A BD-PSNR interval of [+0.04, +0.21] dB used to print as "+0.0 to +0.2: clear" (one decimal, made for
    BD-rate percents): a reader saw an interval touching 0 called clear. BD-quality keeps two decimals; BD-rate
    keeps one."""
    classes = pd.DataFrame([{"codec": "b", "group": OVERALL, "value": 0.13, "status": "ok", "sequences_used": 4,
                             "sequences": 4, "ci_low": 0.04, "ci_high": 0.21, "ci_n": 4}])
    averaged = pd.DataFrame(columns=["codec", "group", "value", "status"])
    [row] = ranking.ranked({"psnr_y": (classes, averaged)}, "a", kind="quality")
    assert "(95 % CI +0.04 to +0.21, Student t over 4 sequences: clear)" in row.verdict
    assert row.cells["psnr_y"].interval() == "[+0.04, +0.21] (n=4)"
    assert "| [+0.04, +0.21] (n=4) |" in ranking.as_markdown([row], ["psnr_y"], "a", "quality")
    assert r"$\mathbf{+0.13}$" in ranking.as_latex([row], ["psnr_y"], "a", "t", kind="quality")
    [rate] = ranking.ranked({"psnr_y": (classes.assign(value=-12.345, ci_low=-20.04, ci_high=-4.66), averaged)}, "a")
    assert "(95 % CI -20.0 to -4.7, " in rate.verdict and rate.cells["psnr_y"].interval() == "[-20.0, -4.7] (n=4)"
