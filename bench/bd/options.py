"""The choices a BD table is made with (metric, method, thresholds, rate-point subset), and their defaults: a
module of its own so that the command line can offer them without loading the BD engine (scipy, pandas).

A rate-point subset is shared (``--rate-points 22,27,32``: every codec) or per codec (``--rate-points
x265=22,27,32 mine=4,8,16``), or both: a codec's own list replaces the shared one for that codec, each option
(``--rate-points``, ``--rate-exclude``) on its own, and a codec named in neither keeps all its points.

The confidence interval of a mean is not a choice: it is the t interval of :mod:`bench.bd.intervals` (a percentile
bootstrap, the former default, covers the mean of 3 to 5 sequences about 80 % of the time at a nominal 95 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.bd.intervals import RULE as INTERVAL_RULE

METHODS = ("pchip", "akima", "cubic")
# Per-codec rate-point lists: ((codec, (label, ...)), ...), a tuple so that the options stay hashable.
ByCodec = tuple[tuple[str, tuple[str, ...]], ...]
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
    rate_points_by_codec: ByCodec = ()  # per codec, replacing rate_points for that codec
    rate_exclude_by_codec: ByCodec = ()  # per codec, replacing rate_exclude for that codec

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
        """The rate-point subset in words ("" when every rate point is used): the shared lists, then each
        codec's own ("x264: rate points 27, 32, 37 only")."""
        parts = _subset_words(self.rate_points, self.rate_exclude)
        for codec in dict([*self.rate_points_by_codec, *self.rate_exclude_by_codec]):
            parts.append(f"{codec}: {self.subset_of(codec)}")
        return "; ".join(parts)

    def subset_of(self, codec: str) -> str:
        """CODEC's rate-point subset in words ("every rate point" when it has none)."""
        return ", ".join(_subset_words(*self.rate_subset_for(codec))) or "every rate point"

    def rate_subset_for(self, codec: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The rate points CODEC keeps (empty: all) and leaves out: its own lists where it has them, else the
        shared ones, each option on its own."""
        return (dict(self.rate_points_by_codec).get(codec, self.rate_points),
                dict(self.rate_exclude_by_codec).get(codec, self.rate_exclude))


def _subset_words(only: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    return ([f"rate points {', '.join(only)} only"] if only else []) + \
        ([f"rate points {', '.join(exclude)} left out"] if exclude else [])


def parse_rate_subset(option: str, tokens: Sequence[str]) -> tuple[tuple[str, ...], ByCodec]:
    """The shared list and the per-codec lists of OPTION's TOKENS (``22,27,32`` and ``CODEC=22,27,32``, labels
    as text, as the tables show them); a ValueError in one line naming the token otherwise. Whether a codec or
    label exists is checked against the results (:func:`bench.bd.tables.select_rate_points`)."""
    shared: tuple[str, ...] | None = None
    by_codec: dict[str, tuple[str, ...]] = {}
    for token in tokens:
        codec, sep, text = token.partition("=")
        labels = tuple(p.strip() for p in (text if sep else token).split(",") if p.strip())
        if not labels:
            raise ValueError(f"{option} {token!r}: no rate point labels; give e.g. {option} 22,27,32 (every "
                             f"codec) or {option} x265=22,27,32")
        if not sep:
            if shared is not None:  # also a source path written after the option, which nargs="+" takes in
                raise ValueError(f"{option} {','.join(shared)} {token}: one shared list only (CODEC=LABELS for a "
                                 f"codec's own); put the sources before {option}")
            shared = labels
        elif not codec.strip():
            raise ValueError(f"{option} {token!r}: no codec name before '='; give e.g. {option} x265=22,27,32")
        elif codec.strip() in by_codec:
            raise ValueError(f"{option} names {codec.strip()} twice; give one list per codec")
        else:
            by_codec[codec.strip()] = labels
    return shared or (), tuple(by_codec.items())
