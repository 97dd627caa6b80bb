"""The BD engine against published reference vectors, the bjontegaard package, and hand-made edge cases."""

from __future__ import annotations

import warnings

import bjontegaard
import numpy as np
import pytest

from bench.bd.engine import METHODS, Status, bd, bd_quality, bd_rate
from bench.checks import selftest

# JCTVC-E137's vectors with their published BD-rates, and the three examples of the bjontegaard package's
# README (FAU-LMS): one copy, the one ``evaluate.py selftest`` checks against.
E137, FAU = selftest.E137, selftest.FAU

# The edge-case anchor of the reference notes: 1000/2000/4000/8000 kbps at 32/35/37.5/39.5 dB.
AR, AQ = np.array([1000.0, 2000, 4000, 8000]), np.array([32.0, 35.0, 37.5, 39.5])


@pytest.mark.parametrize(("ra", "qa", "rt", "qt", "want"), E137)
def test_jctvc_e137_reference_values(ra: list, qa: list, rt: list, qt: list, want: float) -> None:
    r = bd_rate(np.array(ra), np.array(qa), np.array(rt), np.array(qt))
    assert r.status is Status.OK and r.method == "pchip"
    assert r.value == pytest.approx(want, abs=1e-8)


@pytest.mark.parametrize("case", range(3))
@pytest.mark.parametrize("method", METHODS)
def test_equals_bjontegaard_package(case: int, method: str) -> None:
    ra, qa, rt, qt = (np.array(v) for v in FAU[case])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want_rate = bjontegaard.bd_rate(ra, qa, rt, qt, method=method, min_overlap=0)
        want_psnr = bjontegaard.bd_psnr(ra, qa, rt, qt, method=method, min_overlap=0)
    assert bd_rate(ra, qa, rt, qt, method=method).value == pytest.approx(want_rate, abs=1e-9)
    assert bd_quality(ra, qa, rt, qt, method=method).value == pytest.approx(want_psnr, abs=1e-9)


def test_published_values_of_the_fau_examples() -> None:
    """The reference notes' side-by-side table (4 decimals)."""
    got = {m: [round(bd_rate(*(np.array(v) for v in c), method=m).value, 4) for c in FAU] for m in METHODS}
    assert got == {"cubic": [-4.4205, -4.6994, -0.6393], "pchip": [-4.4175, -4.4722, -2.9528],
                   "akima": [-4.4252, -4.0858, -2.5269]}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("factor", "want"), [(1.1, 10.0), (0.9, -10.0)])
def test_scaled_rates_give_exact_percentages(method: str, factor: float, want: float) -> None:
    for ra, qa, *_ in [*E137, *(c + (None,) for c in FAU)]:
        r = bd_rate(np.array(ra), np.array(qa), np.array(ra) * factor, np.array(qa), method=method)
        assert f"{r.value:+.6f}" == f"{want:+.6f}"
        assert r.overlap_quality == 1.0


def test_input_order_does_not_matter() -> None:
    rt, qt = AR * 0.9, AQ + 0.1
    ascending = bd_rate(AR, AQ, rt, qt).value
    order = np.array([2, 0, 3, 1])
    assert bd_rate(AR[::-1], AQ[::-1], rt[::-1], qt[::-1]).value == pytest.approx(ascending, abs=1e-12)
    assert bd_rate(AR[order], AQ[order], rt[order], qt[order]).value == pytest.approx(ascending, abs=1e-12)


def test_non_monotonic_curve_has_a_status_not_a_number() -> None:
    qt = np.array([32.5, 35.5, 35.0, 40.0])  # quality dips at the third point
    r = bd_rate(AR, AQ, AR * 0.95, qt)
    assert (r.status, r.value) == (Status.NON_MONOTONIC, None)
    assert "upper_hull" in r.message
    repaired = bd_rate(AR, AQ, AR * 0.95, qt, repair="upper_hull", min_points=3)
    assert repaired.status is Status.REPAIRED and repaired.repair == "upper_hull"  # never a plain "ok"
    assert repaired.dropped == ((), (2,)) and repaired.points == (4, 3)
    assert repaired.dropped_points == ((), ("2",)) and repaired.kept_points == (("0", "1", "2", "3"), ("0", "1", "3"))
    assert repaired.value == pytest.approx(bd_rate(AR, AQ, (AR * 0.95)[[0, 1, 3]], qt[[0, 1, 3]], min_points=3).value)
    # With the default of 4 points the repaired curve is too short, and says so.
    assert bd_rate(AR, AQ, AR * 0.95, qt, repair="upper_hull").status is Status.TOO_FEW_POINTS


def test_no_overlap() -> None:
    r = bd_rate(AR, AQ, AR, AQ + 10)
    assert (r.status, r.value, r.overlap_quality) == (Status.NO_OVERLAP, None, 0.0)


def test_small_overlap_is_flagged_with_both_fractions() -> None:
    r = bd_rate(AR, AQ, AR * 0.5, AQ + 6.8)  # shares 32+6.8..39.5 of 32..46.3
    assert r.status is Status.LOW_OVERLAP and r.value is not None
    assert r.overlap_quality == pytest.approx(0.7 / 14.3)
    assert 0 < r.overlap_rate < 1
    assert bd_rate(AR, AQ, AR * 0.5, AQ + 6.8, min_overlap=0.01).status is Status.OK


def test_too_few_points() -> None:
    r = bd_rate(AR[:3], AQ[:3], AR[:3] * 0.9, AQ[:3])
    assert (r.status, r.value) == (Status.TOO_FEW_POINTS, None)
    assert "3 points, at least 4 needed" in r.message
    two = bd_rate(AR[:2], AQ[:2], AR[:2] * 0.9, AQ[:2], min_points=2)
    assert two.status is Status.OK and two.value == pytest.approx(-10.0)
    assert bd_rate(AR[:3], AQ[:3], AR[:3] * 0.9, AQ[:3], min_points=3, method="cubic").status is Status.TOO_FEW_POINTS


def test_unequal_point_counts_are_fine() -> None:
    r = bd_rate(np.append(AR, 16000), np.append(AQ, 41.0), AR * 0.9, AQ)
    assert r.status is Status.OK and r.points == (5, 4)


@pytest.mark.parametrize(("rate", "quality", "status"), [
    ([1000, 0, 4000, 8000], AQ, Status.NON_POSITIVE_RATE),
    ([1000, -5, 4000, 8000], AQ, Status.NON_POSITIVE_RATE),
    (AR, [32, float("nan"), 37.5, 39.5], Status.NON_FINITE),
    ([1000, float("inf"), 4000, 8000], AQ, Status.NON_FINITE),
    (AR, [32, 35, 35, 39.5], Status.DUPLICATE_QUALITY),
    (AR[:3], AQ, Status.NON_FINITE),  # rate and quality differ in length
])
def test_invalid_inputs(rate: list, quality: list, status: Status) -> None:
    for anchor_bad in (True, False):
        args = (np.array(rate, float), np.array(quality, float), AR * 0.9, AQ)
        r = bd_rate(*args) if anchor_bad else bd_rate(args[2], args[3], args[0], args[1])
        assert (r.status, r.value) == (status, None)
        assert r.message.startswith("anchor" if anchor_bad else "test")


def test_bd_quality_of_a_constant_shift() -> None:
    for method in METHODS:
        r = bd(AR, AQ, AR, AQ + 0.25, kind="quality", method=method)
        assert r.value == pytest.approx(0.25, abs=1e-12) and r.kind == "quality"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown BD method 'spline'"):
        bd(AR, AQ, AR, AQ, method="spline")


def test_own_pchip_integral_equals_scipy() -> None:
    """We integrate PCHIP in closed form for speed (benchmarks/bd_table_speed.py): it must equal SciPy's
    PchipInterpolator, including flat and sign-changing data where the slope limiter acts."""
    from scipy.interpolate import PchipInterpolator

    from bench.bd.engine import _integral, pchip_slopes

    rng = np.random.default_rng(11)
    cases = [np.sort(rng.uniform(0, 10, n)) for n in (2, 3, 4, 6, 9)]
    for x in cases:
        for y in (rng.normal(0, 1, len(x)), np.cumsum(rng.uniform(0, 1, len(x))), np.r_[np.ones(len(x) - 1), 2.0]):
            ref = PchipInterpolator(x, y)
            np.testing.assert_allclose(pchip_slopes(x, y), ref.derivative()(x), rtol=1e-12, atol=1e-12)
            lo, hi = x[0] + 0.3 * (x[-1] - x[0]), x[-1] - 0.1 * (x[-1] - x[0])
            assert _integral(x, y, lo, hi, "pchip") == pytest.approx(float(ref.integrate(lo, hi)), rel=1e-12, abs=1e-12)


def test_saturated_quality_range_is_flagged_and_kept_out_of_means() -> None:
    rate = np.array([0.1, 0.2, 0.4, 0.8])
    # VMAF-like curves living near the ceiling: most of the shared range is above 95.
    high = bd_rate(rate, np.array([93.0, 96.5, 98.5, 99.5]), rate * 0.9, np.array([93.2, 96.8, 98.7, 99.6]),
                   saturates_at=95.0)
    assert high.status == Status.SATURATED and high.value is not None and not high.usable
    assert high.extra["saturated_fraction"] == pytest.approx((99.5 - 95.0) / (99.5 - 93.2))
    # The same curves an order of magnitude lower are an ordinary comparison.
    low = bd_rate(rate, np.array([60.0, 70.0, 80.0, 88.0]), rate * 0.9, np.array([61.0, 71.0, 81.0, 89.0]),
                  saturates_at=95.0)
    assert low.status == Status.OK and low.extra["saturated_fraction"] == 0.0
    # Without a saturation level (PSNR) nothing is flagged.
    assert bd_rate(rate, np.array([93.0, 96.5, 98.5, 99.5]), rate * 0.9,
                   np.array([93.2, 96.8, 98.7, 99.6])).status == Status.OK
