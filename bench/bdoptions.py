"""The choices a BD table is made with (metric, method, thresholds, rate-point subset, bootstrap), and their
defaults: a module of its own so that the command line can offer them without loading the BD engine
(scipy, pandas)."""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("pchip", "akima", "cubic")
REPAIRS = (None, "upper_hull")
DEFAULT_MIN_POINTS = 4
DEFAULT_MIN_OVERLAP = 0.5
DEFAULT_BOOTSTRAP = 10_000
DEFAULT_SEED = 0


def default_metric(yuv: bool) -> str:
    """The headline metric when none is asked for: PSNR-YUV (6:1:1) for YUV content, PSNR-RGB where every
    sequence (a condition's), or every result (imported ones), is RGB."""
    return "psnr_yuv_611" if yuv else "psnr_rgb"


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
    bootstrap: int = DEFAULT_BOOTSTRAP  # resamples of the confidence interval of a mean
    seed: int = DEFAULT_SEED

    def describe(self) -> str:
        what = "BD-rate [%] (rate at equal quality)" if self.kind == "rate" else f"BD-{self.metric} (at equal rate)"
        repair = f", non-monotonic curves repaired by {self.repair}" if self.repair else ""
        subset = f"; {self.subset()}" if self.subset() else ""
        return (f"{what} on {self.metric} against bpp; {self.method} interpolation, exact integration over the "
                f"overlap; at least {self.min_points} points; low overlap below {self.min_overlap:.0%}{repair}"
                f"{subset}; 95 % CI: percentile bootstrap over sequences, {self.bootstrap} resamples, seed "
                f"{self.seed}")

    def subset(self) -> str:
        """The rate-point subset in words ("" when every rate point is used)."""
        parts = ([f"rate points {', '.join(self.rate_points)} only"] if self.rate_points else []) + \
            ([f"rate points {', '.join(self.rate_exclude)} left out"] if self.rate_exclude else [])
        return "; ".join(parts)
