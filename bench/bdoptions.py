"""The choices a BD table is made with (metric, method, thresholds, rate-point subset), and their defaults: a
module of its own so that the command line can offer them without loading the BD engine (scipy, pandas).

The confidence interval of a mean is not a choice: it is the t interval of :mod:`bench.intervals` (a percentile
bootstrap, the former default, covers the mean of 3 to 5 sequences about 80 % of the time at a nominal 95 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.intervals import RULE as INTERVAL_RULE

METHODS = ("pchip", "akima", "cubic")
REPAIRS = (None, "upper_hull")
DEFAULT_MIN_POINTS = 4
DEFAULT_MIN_OVERLAP = 0.5


def default_metric(yuv: bool) -> str:
    """The headline metric when none is asked for: PSNR-YUV (6:1:1) for YUV content, PSNR-RGB where every
    sequence (a condition's), or every result (imported ones), is RGB."""
    return "psnr_yuv_611" if yuv else "psnr_rgb"


def higher_is_better(metric: str) -> bool:
    """Whether a higher value of the metric column is better (its registered ``higher_is_better``; an
    unregistered column counts as a quality, higher being better)."""
    from bench.metrics import metric as registered_metric

    m = registered_metric(metric)
    return m is None or m.higher_is_better


def sign_convention(kind: str, metrics: Sequence[str]) -> str:
    """Which way a BD value of METRICS is better, in words: the one statement of it that every table, caption
    and summary uses (lower case, no final stop). BD-quality is never re-signed: test - anchor in each metric's
    units, whichever way the metric is better."""
    from bench.metrics import metric_name

    if kind == "rate":
        return "negative: fewer bits for the same quality"
    higher = [metric_name(m) for m in metrics if higher_is_better(m)]
    lower = [metric_name(m) for m in metrics if not higher_is_better(m)]
    return "; ".join(["test - anchor at equal rate", *([f"higher is better for {', '.join(higher)}"] if higher else []),
                      *([f"lower is better for {', '.join(lower)}"] if lower else [])])


@dataclass(frozen=True)
class BDOptions:
    metric: str = "psnr_yuv_611"
    kind: str = "rate"
    method: str = "pchip"
    min_points: int = DEFAULT_MIN_POINTS
    min_overlap: float = DEFAULT_MIN_OVERLAP
    repair: str | None = None
    rate_points: tuple[str, ...] = ()  # only these rate points (labels as text); empty: all
    rate_exclude: tuple[str, ...] = ()  # leave these rate points out

    def describe(self) -> str:
        from bench.metrics import metric_name

        # The metric as readers know it (MS-SSIM-Y (dB)), not its column.
        metric = metric_name(self.metric) if self.metric else self.metric
        what = "BD-rate [%]" if self.kind == "rate" else f"BD-{metric} in the metric's units"
        what = f"{what} ({sign_convention(self.kind, [self.metric])})"
        repair = f", non-monotonic curves repaired by {self.repair}" if self.repair else ""
        subset = f"; {self.subset()}" if self.subset() else ""
        return (f"{what} on {metric} against bpp; {self.method} interpolation, exact integration over the "
                f"overlap; at least {self.min_points} points; low overlap below {self.min_overlap:.0%}{repair}"
                f"{subset}; {INTERVAL_RULE}")

    def subset(self) -> str:
        """The rate-point subset in words ("" when every rate point is used)."""
        parts = ([f"rate points {', '.join(self.rate_points)} only"] if self.rate_points else []) + \
            ([f"rate points {', '.join(self.rate_exclude)} left out"] if self.rate_exclude else [])
        return "; ".join(parts)
