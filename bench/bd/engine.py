"""Bjøntegaard-delta engine: exact, validated, with a status on every number.

BD-rate is the mean difference of log rate between two RD curves over the quality range both cover,
expressed as a percentage (negative = the test codec needs fewer bits); BD-quality (BD-PSNR, BD-MS-SSIM) is
the mean quality difference over the log-rate range both cover. Each curve is interpolated and the
interpolant integrated **exactly** over the overlap (no sampling):

* ``pchip`` (default): piecewise cubic Hermite (Fritsch-Carlson), the JCT-VC/JVET Excel practice;
  reproduces the JCTVC-E137 reference values.
* ``akima``: Akima's piecewise cubic.
* ``cubic``: the least-squares cubic polynomial of VCEG-M33 (legacy papers); needs 4 points.

Before anything is computed each curve is validated. A result always carries a :class:`Status`; only
``ok``, ``low_overlap``, ``repaired`` and ``saturated`` carry a value, every other status has ``value = None``
and a message. The overlap of both axes (intersection / union of the two ranges), the method, the point counts
and any repair travel with the number. An explicit ``repair="upper_hull"`` keeps the upper convex hull of a
non-monotonic curve in the (rate, quality) plane, rate linear: the operational RD hull, the points that no
mix of two others beats (in log10 rate an RD curve is convex, and its hull kept 2 of 8 points of every
CompressAI curve), and records which points it kept and dropped; a value computed on
a repaired curve is never ``ok``: :attr:`BDResult.repaired` says so beside its status, which is ``repaired``
when nothing else is wrong and keeps ``low_overlap`` or ``saturated`` when that is true as well (both flags reach
every table). Points of different curves merged into one are refused as ``mixed_origins`` and never repaired: a
curve whose rate-point labels repeat (exact proof of a merge, whatever its shape), and a non-monotonic curve whose
points come from several origins (files, devices).

**Lower-is-better metrics** (MSE, LPIPS: ``higher_is_better=False``): their RD curve falls as the rate rises.
Every curve is validated, repaired and integrated on the quality axis *oriented* so that higher is better
(such a metric negated), so the curve the engine sees always rises. Sign conventions, for every metric:

* BD-rate: negative = the test codec needs fewer bits for the same quality (the mean log-rate difference at
  equal quality does not depend on which way the quality axis points).
* BD-quality: the mean of (test - anchor) in the metric's own units at equal rate, never re-signed: positive
  means a higher metric value, which is better for a higher-is-better metric (BD-PSNR +0.5 dB) and worse for a
  lower-is-better one (BD-MSE -3.2 means 3.2 less squared error: better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from bench.bd.options import DEFAULT_MIN_OVERLAP, DEFAULT_MIN_POINTS, METHODS, REPAIRS

if TYPE_CHECKING:  # Python 3.10's typing has no Unpack; only the type checker reads it
    from typing_extensions import Unpack


class Status(str, Enum):
    OK = "ok"
    LOW_OVERLAP = "low_overlap"  # a value, but the curves share little of their range
    NO_OVERLAP = "no_overlap"
    NON_MONOTONIC = "non_monotonic"  # quality does not strictly rise with rate
    DUPLICATE_QUALITY = "duplicate_quality"
    TOO_FEW_POINTS = "too_few_points"
    NON_FINITE = "non_finite"
    NON_POSITIVE_RATE = "non_positive_rate"
    MISSING = "missing"  # one of the curves is absent (no records for it)
    METRIC_MISSING = "metric_missing"  # the records are there, but without this metric (an import that lacks it)
    RATE_UNKNOWN = "rate_unknown"  # the records give kbps only and no frame size/rate to make it bpp
    AVERAGE_ONLY = "average_only"  # a curve is a published dataset average: comparable as an averaged curve only
    SATURATED = "saturated"  # a value, but most of the compared quality range lies where the metric saturates
    REPAIRED = "repaired"  # a value on a curve the upper_hull repair shortened, with nothing else to flag
    MIXED_ORIGINS = "mixed_origins"  # repeated rate points, or a non-monotonic curve of several files or devices

    def __str__(self) -> str:
        return self.value


# Values averaged into class means. A saturated value is shown with its flag but kept out of the means: near a
# metric's ceiling (VMAF ~100) equal-quality rates are ill-defined, so its BD-rate is not a number to average.
# A repaired value is averaged (the user asked for the repair) and flags every mean it enters.
USABLE = (Status.OK, Status.LOW_OVERLAP, Status.REPAIRED)
SATURATED_FRACTION = 0.5  # more than this share of the compared quality range at or above the saturation level


@dataclass(frozen=True)
class BDResult:
    """One BD number with everything needed to judge it."""

    value: float | None
    status: Status
    kind: str  # "rate" (percent) or "quality" (metric units)
    method: str
    overlap_quality: float | None = None  # intersection / union of the quality ranges
    overlap_rate: float | None = None  # the same on log10 rate
    points: tuple[int, int] = (0, 0)  # anchor, test (after any repair)
    dropped: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())  # indexes removed by the repair
    repair: str | None = None
    message: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    kept_points: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # anchor, test: labels of the points a repair
    dropped_points: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # kept and dropped (empty: no repair)

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    @property
    def repaired(self) -> bool:
        """Whether the value was computed on a curve a repair shortened (whatever its status also says)."""
        return self.value is not None and any(self.dropped_points)


class _Invalid(Exception):
    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


def _upper_hull(log_rate: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Indexes (into rate-sorted arrays) of the upper convex hull, up to the highest quality (LOG_RATE: the rate
    axis the hull is taken on; :func:`_prepare` gives it the linear rate)."""
    hull: list[int] = []
    for i in range(len(log_rate)):
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = (log_rate[hull[-2]], quality[hull[-2]]), (log_rate[hull[-1]], quality[hull[-1]])
            # Drop the middle point when it lies on or below the chord from hull[-2] to i.
            if (x2 - x1) * (quality[i] - y1) - (y2 - y1) * (log_rate[i] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    best = int(np.argmax(quality[hull]))
    return np.array(hull[: best + 1])


@dataclass(frozen=True)
class Curve:
    """A validated RD curve: log10 rate and quality sorted by rate, and the input indexes a repair dropped;
    or, when invalid, the status and message saying why. ``quality`` is oriented: the metric's values, negated
    when lower is better (``higher_is_better`` False), so that it rises with the rate either way."""

    log_rate: np.ndarray
    quality: np.ndarray
    dropped: tuple[int, ...] = ()
    invalid: Status | None = None
    message: str = ""
    higher_is_better: bool = True
    labels: tuple[str, ...] = ()  # of the input points, in input order (rate-point labels): what a repair names

    @property
    def kept_labels(self) -> tuple[str, ...]:
        """The labels of the points a repair kept (all of them when nothing was dropped), in input order."""
        return tuple(self.labels[i] for i in range(len(self.labels)) if i not in self.dropped)

    @property
    def dropped_labels(self) -> tuple[str, ...]:
        """The labels of the points a repair dropped."""
        return tuple(self.labels[i] for i in self.dropped)


def prepare_curve(rate: np.ndarray, quality: np.ndarray, who: str, min_points: int = DEFAULT_MIN_POINTS,
                  repair: str | None = None, method: str = "pchip", higher_is_better: bool = True, *,
                  origins: Sequence[str] | None = None, labels: Sequence[object] | None = None) -> Curve:
    """Validate one curve once, so that it can be compared with many others. HIGHER_IS_BETTER False: QUALITY
    is a lower-is-better metric (it must fall strictly with the rate); the curve keeps it negated. ORIGINS: where
    each point comes from (its file, or the device that coded it): a non-monotonic curve of several origins is
    points of different curves merged, refused (``mixed_origins``) and never repaired. LABELS: each point's
    name (its rate point), for saying which points a repair kept and dropped; a curve whose labels repeat is
    refused as ``mixed_origins`` whatever its shape (:func:`repeated_rate_points`)."""
    names = tuple(str(x) for x in labels) if labels is not None else tuple(str(i) for i in range(len(rate)))
    try:
        if labels is not None and (merged := repeated_rate_points(names, origins, who)):
            raise _Invalid(Status.MIXED_ORIGINS, merged)
        log_rate, q, dropped = _prepare(rate, quality, who, min_points, repair, method, higher_is_better,
                                        origins=origins)
    except _Invalid as e:
        empty = np.empty(0)
        return Curve(empty, empty, (), e.status, str(e), higher_is_better, names)
    return Curve(log_rate, q, dropped, higher_is_better=higher_is_better, labels=names)


def _from_origins(origins: Sequence[str] | None) -> str:
    """The origins of a curve's points, as a refusal names them ("" when there is at most one)."""
    mixed = sorted(set(origins)) if origins is not None else []
    return f"its points come from {len(mixed)} origins ({'; '.join(mixed)})" if len(mixed) > 1 else ""


def repeated_rate_points(labels: Sequence[str], origins: Sequence[str] | None, who: str) -> str | None:
    """Why a curve that gives one rate point more than once is refused (``mixed_origins``), or None: one codec's
    curve has each rate point once, so a repeated label proves points of several curves merged into one (an
    import store written before files were kept apart holds CompressAI's cpu, cuda, mse and ms-ssim files under
    one name, every rate point 4 times), monotonic or not."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    repeated = {label: n for label, n in counts.items() if n > 1}
    if not repeated:
        return None
    times = sorted(set(repeated.values()))
    said = f"{times[0]}" if len(times) == 1 else f"{times[0]} to {times[-1]}"
    where = _from_origins(origins)
    return (f"{who}: rate point{'s' if len(repeated) > 1 else ''} {', '.join(repeated)} given {said} times in one "
            f"curve{f' ({where})' if where else ''}: points of different curves merged into one, which no repair "
            "makes right; import or name each as its own curve")


def _prepare(rate: np.ndarray, quality: np.ndarray, who: str, min_points: int, repair: str | None,
             method: str, higher_is_better: bool, origins: Sequence[str] | None = None,
             ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Validate one curve; return (log10 rate, oriented quality) sorted by rate, and the original indexes
    dropped."""
    rate = np.asarray(rate, dtype=np.float64)
    # Oriented so that higher is better: one validation, repair and integral for both kinds of metric.
    quality = np.asarray(quality, dtype=np.float64) * (1.0 if higher_is_better else -1.0)
    needed = max(min_points, 4 if method == "cubic" else 2)
    _refuse_unusable_points(rate, quality, who, needed)
    order = np.argsort(rate, kind="stable")
    log_rate, q = np.log10(rate[order]), quality[order]
    if len(np.unique(q)) != len(q):
        if repair is None:
            raise _Invalid(Status.DUPLICATE_QUALITY, f"{who}: two rate points have the same quality")
    monotonic = bool(np.all(np.diff(q) > 0) and np.all(np.diff(log_rate) > 0))
    if monotonic and len(np.unique(q)) == len(q):
        return log_rate, q, ()
    # Not one codec's curve: no hull of it is one either, so no repair is offered or made. (A monotonic curve of
    # several origins is kept: a run's rate points may be coded on different devices.)
    _refuse_unrepaired(who, repair, higher_is_better, origins)
    return _upper_hull_points(log_rate, q, order, who, needed)


def _refuse_unusable_points(rate: np.ndarray, quality: np.ndarray, who: str, needed: int) -> None:
    """Refuse a curve no integral can be taken of: rate and quality of different lengths, a value that is not
    finite, fewer than NEEDED points, or a rate that is not positive (in that order)."""
    if rate.shape != quality.shape or rate.ndim != 1:
        raise _Invalid(Status.NON_FINITE, f"{who}: rate and quality differ in length")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(quality))):
        raise _Invalid(Status.NON_FINITE, f"{who}: a rate or quality is not a finite number")
    if len(rate) < needed:
        raise _Invalid(Status.TOO_FEW_POINTS, f"{who}: {len(rate)} points, at least {needed} needed")
    if np.any(rate <= 0):
        raise _Invalid(Status.NON_POSITIVE_RATE, f"{who}: a rate is zero or negative")


def _refuse_unrepaired(who: str, repair: str | None, higher_is_better: bool,
                       origins: Sequence[str] | None) -> None:
    """Refuse a curve whose quality does not rise strictly with rate: as points of several origins merged (which
    no repair makes right), or, with no repair asked for, as not monotonic."""
    if where := _from_origins(origins):
        raise _Invalid(Status.MIXED_ORIGINS, f"{who}: quality does not rise strictly with rate, and {where}: "
                       "points of different curves merged into one, which no repair makes right; import or "
                       "name each as its own curve")
    if repair is None:
        rise = "rise" if higher_is_better else "fall (lower is better)"
        raise _Invalid(Status.NON_MONOTONIC, f"{who}: quality does not {rise} strictly with rate "
                                             "(--repair upper_hull keeps its efficient points; the value "
                                             "is then flagged repaired)")


def _upper_hull_points(log_rate: np.ndarray, q: np.ndarray, order: np.ndarray, who: str, needed: int,
                       ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The ``upper_hull`` repair: the curve's efficient points and the original indexes (ORDER maps sorted to
    original) of those dropped; refused if fewer than NEEDED are left."""
    # The hull in linear rate (time-sharing two points mixes their rates linearly), not in log10 rate.
    keep = _upper_hull(np.power(10.0, log_rate), q)
    dropped = tuple(sorted(int(order[i]) for i in set(range(len(q))) - set(keep.tolist())))
    log_rate, q = log_rate[keep], q[keep]
    if len(q) < needed:
        raise _Invalid(Status.TOO_FEW_POINTS, f"{who}: {len(q)} points left on the upper hull, at least "
                                              f"{needed} needed")
    return log_rate, q, dropped


def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Node derivatives of the Fritsch-Carlson PCHIP (the rule of MATLAB's and SciPy's ``pchip``): weighted
    harmonic mean of the neighbouring secants where they agree in sign, 0 where they do not; the
    three-point end rule, limited to keep the curve shape-preserving."""
    h = np.diff(x)
    m = np.diff(y) / h
    n = len(x)
    if n == 2:
        return np.array([m[0], m[0]])
    d = np.zeros(n)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    same_sign = (np.sign(m[:-1]) * np.sign(m[1:])) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / m[:-1] + w2 / m[1:])
    d[1:-1] = np.where(same_sign, harmonic, 0.0)
    for end, (h0, h1, m0, m1) in ((0, (h[0], h[1], m[0], m[1])), (-1, (h[-1], h[-2], m[-1], m[-2]))):
        de = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
        if np.sign(de) != np.sign(m0):
            de = 0.0
        elif np.sign(m0) != np.sign(m1) and abs(de) > abs(3 * m0):
            de = 3 * m0
        d[end] = de
    return d


def _hermite_integral(x: np.ndarray, y: np.ndarray, d: np.ndarray, lo: float, hi: float) -> float:
    """Exact integral over [lo, hi] (inside [x0, xn]) of the cubic Hermite interpolant with slopes d."""
    total = 0.0
    for k in range(len(x) - 1):
        a, b = max(lo, x[k]), min(hi, x[k + 1])
        if b <= a:
            continue
        h = x[k + 1] - x[k]
        m = (y[k + 1] - y[k]) / h
        c2 = (3 * m - 2 * d[k] - d[k + 1]) / h
        c3 = (d[k] + d[k + 1] - 2 * m) / (h * h)
        t0, t1 = a - x[k], b - x[k]
        total += (y[k] * (t1 - t0) + d[k] * (t1**2 - t0**2) / 2 + c2 * (t1**3 - t0**3) / 3
                  + c3 * (t1**4 - t0**4) / 4)
    return total


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Exact integral over [lo, hi] of the interpolant of y(x) (x strictly increasing)."""
    if method == "cubic":
        poly = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(poly, hi) - np.polyval(poly, lo))
    if method == "pchip":
        # Our own closed form rather than scipy's PchipInterpolator: identical numbers (tested), but a BD table
        # builds thousands of 4-point interpolants and scipy's set-up costs ~0.6 ms each.
        return _hermite_integral(x, y, pchip_slopes(x, y), lo, hi)
    if len(x) == 2:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return float((y[0] - slope * x[0]) * (hi - lo) + slope * (hi * hi - lo * lo) / 2)
    # Imported here: only the Akima method needs scipy, and importing scipy.interpolate costs 0.3 s, which a run
    # with PCHIP or no BD table at all (one codec) would pay for nothing.
    from scipy.interpolate import Akima1DInterpolator

    return float(Akima1DInterpolator(x, y).integrate(lo, hi))


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    union = max(a.max(), b.max()) - min(a.min(), b.min())
    return lo, hi, (max(hi - lo, 0.0) / union) if union > 0 else 0.0


def bd(anchor_rate: np.ndarray, anchor_quality: np.ndarray, test_rate: np.ndarray, test_quality: np.ndarray,
       kind: str = "rate", method: str = "pchip", min_points: int = DEFAULT_MIN_POINTS,
       min_overlap: float = DEFAULT_MIN_OVERLAP, repair: str | None = None,
       saturates_at: float | None = None, higher_is_better: bool = True) -> BDResult:
    """BD-rate (``kind="rate"``, percent) or BD-quality (``kind="quality"``, test - anchor in the metric's
    units) of test against anchor. SATURATES_AT: the quality level past which the metric saturates (VMAF); see
    :func:`compare`. HIGHER_IS_BETTER False: a lower-is-better metric (see the module's sign conventions)."""
    _check_options(method, kind, repair)
    anchor = prepare_curve(anchor_rate, anchor_quality, "anchor", min_points, repair, method, higher_is_better)
    test = prepare_curve(test_rate, test_quality, "test", min_points, repair, method, higher_is_better)
    return compare(anchor, test, kind, method, min_overlap, repair, saturates_at)


def _check_options(method: str, kind: str, repair: str | None) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}; use one of {', '.join(METHODS)}")
    if kind not in ("rate", "quality"):
        raise ValueError(f"unknown BD kind {kind!r}")
    if repair not in REPAIRS:
        raise ValueError(f"unknown repair {repair!r}; use upper_hull or none")


def compare(anchor: Curve, test: Curve, kind: str = "rate", method: str = "pchip",
            min_overlap: float = DEFAULT_MIN_OVERLAP, repair: str | None = None,
            saturates_at: float | None = None) -> BDResult:
    """The BD value of two prepared curves (see :func:`_compare`); a value computed on a curve that a repair
    shortened is never ``ok``: its status is ``repaired`` where it would have been ``ok``, and stays
    ``low_overlap`` or ``saturated`` where it is that too (:attr:`BDResult.repaired` is true either way, so that
    every table can say both); its message and ``kept_points`` / ``dropped_points`` say which points each curve
    kept and dropped."""
    result = _compare(anchor, test, kind, method, min_overlap, repair, saturates_at)
    if result.value is None or not (anchor.dropped or test.dropped):
        return result
    kept = (anchor.kept_labels, test.kept_labels)
    dropped = (anchor.dropped_labels, test.dropped_labels)
    said = "; ".join(f"{who} kept {len(k)} of {len(k) + len(d)} points ({', '.join(k)}), dropped {', '.join(d)}"
                     for who, k, d in zip(("anchor", "test"), kept, dropped, strict=True) if d)
    message = f"repaired by {repair}: {said}" + (f"; {result.message}" if result.message else "")
    status = result.status if result.status in (Status.SATURATED, Status.LOW_OVERLAP) else Status.REPAIRED
    return replace(result, status=status, message=message, kept_points=kept, dropped_points=dropped)


def _compare(anchor: Curve, test: Curve, kind: str, method: str, min_overlap: float, repair: str | None,
             saturates_at: float | None) -> BDResult:
    """The BD value of two prepared curves (see :func:`bd`). With SATURATES_AT, a value whose compared quality
    range (the shared range for BD-rate; both curves' range for BD-quality) lies more than half at or past it
    (above it; below it for a lower-is-better metric) is flagged ``saturated``."""
    if anchor.higher_is_better != test.higher_is_better:
        raise ValueError("the anchor and test curves were prepared with opposite higher_is_better")
    # Every result says how it was computed; those with a value also say on what (overlaps, points, repairs).
    base = BDResult(None, Status.OK, kind, method, repair=repair)
    for curve in (anchor, test):
        if curve.invalid is not None:
            return replace(base, status=curve.invalid, message=curve.message)
    sign = 1.0 if anchor.higher_is_better else -1.0  # the curves' quality is the metric times this
    ra, qa, rt, qt = anchor.log_rate, anchor.quality, test.log_rate, test.quality
    q_lo, q_hi, q_overlap = _overlap(qa, qt)
    r_lo, r_hi, r_overlap = _overlap(ra, rt)
    info = replace(base, overlap_quality=q_overlap, overlap_rate=r_overlap, points=(len(ra), len(rt)),
                   dropped=(anchor.dropped, test.dropped))
    overlap = q_overlap if kind == "rate" else r_overlap
    if overlap <= 0:
        axis = "quality" if kind == "rate" else "log rate"
        return replace(info, status=Status.NO_OVERLAP, message=f"the curves share no {axis} range")
    if kind == "rate":
        mean_diff = (_integral(qt, rt, q_lo, q_hi, method) - _integral(qa, ra, q_lo, q_hi, method)) / (q_hi - q_lo)
        value = (math.pow(10.0, mean_diff) - 1.0) * 100.0
    else:
        # Back to the metric's own units: test - anchor, whichever way the metric is better.
        value = sign * (_integral(rt, qt, r_lo, r_hi, method) - _integral(ra, qa, r_lo, r_hi, method)) / (r_hi - r_lo)
    if saturates_at is not None:
        lo, hi = (q_lo, q_hi) if kind == "rate" else (min(qa.min(), qt.min()), max(qa.max(), qt.max()))
        level = sign * saturates_at  # oriented like the curves: "past the level" is "above it" here
        above = max(0.0, hi - max(lo, level)) / (hi - lo) if hi > lo else float(lo >= level)
        info = replace(info, extra={"saturated_fraction": above})
        if above > SATURATED_FRACTION:
            return replace(info, value=value, status=Status.SATURATED, message=f"{above:.0%} of the compared "
                           f"quality range is at or {'above' if sign > 0 else 'below'} {saturates_at:g}, where the "
                           "metric saturates")
    if overlap < min_overlap:
        return replace(info, value=value, status=Status.LOW_OVERLAP, message=f"the curves share {overlap:.0%} of "
                       f"their {'quality' if kind == 'rate' else 'log-rate'} range (threshold {min_overlap:.0%})")
    return replace(info, value=value, status=Status.OK)


class BDKeywords(TypedDict, total=False):
    """The options of :func:`bd` besides its kind, as :func:`bd_rate` and :func:`bd_quality` pass them on."""

    method: str
    min_points: int
    min_overlap: float
    repair: str | None
    saturates_at: float | None
    higher_is_better: bool


def bd_rate(anchor_rate: np.ndarray, anchor_quality: np.ndarray, test_rate: np.ndarray, test_quality: np.ndarray,
            **options: Unpack[BDKeywords]) -> BDResult:
    return bd(anchor_rate, anchor_quality, test_rate, test_quality, kind="rate", **options)


def bd_quality(anchor_rate: np.ndarray, anchor_quality: np.ndarray, test_rate: np.ndarray, test_quality: np.ndarray,
               **options: Unpack[BDKeywords]) -> BDResult:
    return bd(anchor_rate, anchor_quality, test_rate, test_quality, kind="quality", **options)
