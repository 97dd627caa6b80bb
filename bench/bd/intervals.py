"""The confidence interval of a mean over sequences: its method, the fewest values it is given for, its name.

A class of the JVET common test conditions holds 3 to 5 sequences. A percentile bootstrap of so few values is
far too narrow: with 4 values there are 35 distinct resample means, and with 3 or fewer the interval is the
range of the values; in simulation it covers the true mean about 80 % of the time at a nominal 95 % (BCa is no
better below about 25 values; ``python benchmarks/interval_coverage.py`` prints the table). So the interval of
a per-sequence mean is Student's t interval, ``mean +- t(0.975, n - 1) * s / sqrt(n)`` with ``s`` the sample
standard deviation (n - 1 in the denominator). Its coverage is exactly 95 % for normally distributed values;
measured in ``tests/bd/test_intervals.py`` it stays at or above 93 % for n = 2 to 15 for values as skewed as a
gamma distribution of skewness 1, and drops for heavier skew (about 91.5 % at n = 4 and 5 for a lognormal of
skewness 1.75, 88 % for an exponential, skewness 2), where no bootstrap variant measured does better. Below :data:`MIN_N` values there is no interval, and no
verdict is drawn from one: tables say "n too small".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METHOD = "student_t"  # the CSV's ci_method
LEVEL = 0.95
MIN_N = 2  # the t interval needs a sample standard deviation
RULE = (f"95 % CI of each per-sequence mean: Student t over its n sequences (mean +- t(0.975, n-1) s/sqrt(n)); "
        f"none below n = {MIN_N}")


def t_interval(values: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bound of the t interval of the mean of VALUES along the last axis. Vectorised, so that
    the coverage simulation runs this very function on many samples at once."""
    from scipy import stats  # here, not at the top: the command line reads RULE without loading scipy

    n = values.shape[-1]
    if n < MIN_N:
        raise ValueError(f"a t interval needs at least {MIN_N} values, got {n}")
    mean = values.mean(axis=-1)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class Interval:
    """The interval of one mean: bounds (None when n is below MIN_N), n, method and level."""

    low: float | None
    high: float | None
    n: int
    method: str = METHOD
    level: float = LEVEL


def mean_interval(values: np.ndarray) -> Interval:
    """The t interval of the mean of VALUES (a 1-d array), or an Interval without bounds below MIN_N values."""
    values = np.asarray(values, dtype=float)
    if len(values) < MIN_N:
        return Interval(None, None, len(values))
    low, high = t_interval(values)
    return Interval(float(low), float(high), len(values))


def too_small(n: int) -> str:
    """What a table prints instead of an interval from N values."""
    return f"n too small (n={n}; the t interval needs {MIN_N})"


def cell(bounds: tuple[float, float] | None, n: int, digits: int = 1) -> str:
    """An interval as a table cell, with its n: ``[-25.0, -15.0] (n=4)``; :func:`too_small` below MIN_N; ""
    when a table has no interval for enough values (made before intervals were kept)."""
    if bounds is None:
        return too_small(n) if n < MIN_N else ""
    return f"[{bounds[0]:+.{digits}f}, {bounds[1]:+.{digits}f}] (n={n})"
