"""The metric registry: the one place that says which metrics exist and how each is computed and pooled.

Two kinds of entries, after Netflix vmaf's split between feature extractors and the scores built on them:

* a :class:`Measure` computes raw per-frame values from the decoded frames and the source frames (per-plane
  SSE, MS-SSIM, VMAF, XPSNR). It has a name, a version, parameters and the versions of the library it runs
  (``implementation``); together with the job key they form the key its stored result is found by. A measure
  sees batches of consecutive frames (``scope = "frame"``; on the CPU or a GPU, through the batch's backend) or
  the whole sequence (``scope = "sequence"``: VMAF's motion feature and XPSNR's temporal activity need
  neighbouring frames).
* a :class:`Metric` is what tables, BD-rates, plots and importers show: a name (``psnr_y``, ``vmaf``), a label
  and unit, the measure it reads, how it is pooled over frames, whether higher is better, how it is displayed
  (MS-SSIM in dB) and where it saturates. Several metrics read one measure (six PSNR variants from one SSE).

A new metric is one module defining its measure and metrics and calling :func:`register_measure` and
:func:`register_metric`; the module is listed in :func:`_load_builtin`. A condition's ``metrics:`` block asks
for measures through each measure's ``condition_key`` (``ms_ssim: [y, rgb]``, ``vmaf: true``, ``xpsnr: true``).
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from bench.metrics.backends import FrameBatch
    from bench.metrics.frames import MeasuredSequence

POOLINGS = ("mean_psnr", "psnr_of_mean_mse")
PSNR_PEAKS = ("bitdepth", "vtm")
MEASURING_DEVICES = "auto, cpu, cuda or cuda:N"


def device_problem(value: str) -> str | None:
    """What is wrong with a condition's ``metrics: device`` value (see bench.metrics.backends), or None."""
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return None
    return f"expected {MEASURING_DEVICES}, got {value!r}"


@dataclass(frozen=True)
class MeasureRequest:
    """One measurement a condition asks for: a measure and its parameters (``ms_ssim`` with ``space: y``)."""

    measure: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def describe(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"{self.measure}({inner})" if inner else self.measure


def request(measure: str, **params: Any) -> MeasureRequest:
    return MeasureRequest(measure, tuple(sorted(params.items())))


@dataclass(frozen=True)
class MetricSpec:
    """The ``metrics:`` block of a condition: what to measure, and how to pool and scale the PSNR family.

    Nothing here is part of a job key: changing it never recodes anything. ``requests`` decides which
    measurements are taken (each stored under its own key); ``pooling`` and ``psnr_peak`` only change how
    stored per-frame values are turned into numbers."""

    pooling: str = "mean_psnr"
    psnr_peak: str = "bitdepth"
    requests: tuple[MeasureRequest, ...] = ()
    device: str = "auto"  # where per-frame measures run: auto (the codec's GPU, else the CPU), cpu, cuda, cuda:N

    def describe(self) -> dict[str, Any]:
        return {"pooling": self.pooling, "psnr_peak": self.psnr_peak, "device": self.device,
                "measures": [{"measure": r.measure, "params": r.params_dict} for r in self.requests]}

    @classmethod
    def from_description(cls, d: Mapping[str, Any]) -> MetricSpec:
        return cls(d.get("pooling", "mean_psnr"), d.get("psnr_peak", "bitdepth"),
                   tuple(request(m["measure"], **(m.get("params") or {})) for m in d.get("measures") or []),
                   d.get("device", "auto"))


@dataclass(frozen=True)
class PoolingContext:
    """What pooling a metric needs beyond its values: the condition's pooling and PSNR peak, the bit depth."""

    pooling: str
    psnr_peak: str
    bit_depth: int

    @property
    def yuv_peak(self) -> int:
        return psnr_peak(self.bit_depth, self.psnr_peak)

    @property
    def rgb_peak(self) -> int:
        return (1 << self.bit_depth) - 1


def psnr_peak(bit_depth: int, convention: str) -> int:
    """The PSNR peak for a bit depth: ``2^b - 1``, or VTM/HM's ``255 << (b - 8)`` (1020 at 10 bit)."""
    if convention == "bitdepth":
        return (1 << bit_depth) - 1
    if convention == "vtm":
        return 255 << (bit_depth - 8)
    raise ValueError(f"unknown PSNR peak convention {convention!r}; use one of {PSNR_PEAKS}")


@dataclass
class MeasureOutput:
    """What a measure hands back: per-frame lists by name, per-sequence constants, the commands it ran."""

    values: dict[str, list[Any]]
    constants: dict[str, Any] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)


class Measure(ABC):
    """Computes raw per-frame values of one kind. Subclasses set the class attributes and implement
    :meth:`frames` (``scope = "frame"``) or :meth:`sequence` (``scope = "sequence"``).

    A frame measure's values must not depend on the device it ran on beyond float rounding (the CPU and GPU
    paths are tested against each other): the device is recorded with each measurement, not keyed."""

    name: ClassVar[str]
    version: ClassVar[int]  # bump when the values for the same frames change
    scope: ClassVar[str]  # "frame" | "sequence"
    description: ClassVar[str]
    condition_key: ClassVar[str | None] = None  # the metrics: key that asks for it (None: always measured)
    condition_default: ClassVar[Any] = None

    def requests_from_condition(self, value: Any, where: str) -> list[MeasureRequest]:
        """The requests a condition's value for ``condition_key`` stands for; ConditionError naming WHERE."""
        return [request(self.name)]

    def implementation(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Versions of the code that computes the values (a library, the ffmpeg build): part of the key."""
        return {}

    def families(self, params: Mapping[str, Any]) -> set[str]:
        """The colour families (``yuv``, ``rgb``) :meth:`frames` reads: converted ahead, on the reading thread."""
        return set()

    def frames(self, batch: FrameBatch, params: Mapping[str, Any]) -> dict[str, list[Any]]:
        """Per-frame values of each frame of BATCH, by name (one list entry per frame)."""
        raise NotImplementedError(f"measure {self.name} has no per-frame implementation")

    def constants(self, batch: FrameBatch, params: Mapping[str, Any]) -> dict[str, Any]:
        """Per-sequence values taken from the first batch (sample counts)."""
        return {}

    def sequence(self, seq: MeasuredSequence, params: Mapping[str, Any]) -> MeasureOutput:
        raise NotImplementedError(f"measure {self.name} has no sequence implementation")


PerFrameFn = Callable[[Mapping[str, Sequence[Any]], Mapping[str, Any], PoolingContext], list[Any]]
PoolFn = Callable[[Mapping[str, Sequence[Any]], Mapping[str, Any], PoolingContext], "float | None"]


@dataclass(frozen=True)
class Metric:
    """A number the suite reports. ``request`` None: known only from imported results (DCVC's
    MS-SSIM 6:1:1); such a metric is never measured here."""

    name: str
    label: str
    unit: str
    description: str
    pooling: str  # how per-frame values become one number, in words (the record and report show it)
    request: MeasureRequest | None
    per_frame: PerFrameFn | None = None
    pool: PoolFn | None = None
    higher_is_better: bool = True  # read by BD (the quality axis is negated when False), rankings, marks, colours
    display: str = "value"  # "value", or "db": shown and BD-computed as -10 log10(1 - x)
    saturates_at: float | None = None  # quality above which a metric no longer separates codecs
    headline: int | None = None  # order in the report's BD tables (None: not a headline metric)

    @property
    def axis_label(self) -> str:
        return f"{self.label} [{self.unit}]" if self.unit else self.label

    @property
    def db_label(self) -> str:
        return f"{self.label} [dB]"


_MEASURES: dict[str, Measure] = {}
_METRICS: dict[str, Metric] = {}


def register_measure(measure: Measure) -> Measure:
    if measure.name in _MEASURES:
        raise RuntimeError(f"measure {measure.name!r} registered twice")
    _MEASURES[measure.name] = measure
    return measure


def register_metric(metric: Metric) -> Metric:
    if metric.name in _METRICS:
        raise RuntimeError(f"metric {metric.name!r} registered twice")
    _METRICS[metric.name] = metric
    return metric


BUILTIN_MODULES = ("psnr", "ms_ssim", "vmaf", "xpsnr", "imported")  # registration order = table column order


def _load_builtin() -> None:
    # Importing registers (once). Listed, not discovered: two modules can never claim one name silently.
    import importlib

    for name in BUILTIN_MODULES:
        importlib.import_module(f"bench.metrics.{name}")


def measures() -> dict[str, Measure]:
    _load_builtin()
    return dict(_MEASURES)


def measure(name: str) -> Measure:
    _load_builtin()
    try:
        return _MEASURES[name]
    except KeyError:
        raise KeyError(f"unknown measure {name!r}; known: {', '.join(sorted(_MEASURES))}") from None


def metrics() -> dict[str, Metric]:
    """Every registered metric, in registration order (PSNR family first)."""
    _load_builtin()
    return dict(_METRICS)


def metric_names() -> tuple[str, ...]:
    return tuple(metrics())


def metric(name: str) -> Metric | None:
    """The metric named NAME; a ``<name>_db`` column is the dB form of a ``display: db`` metric."""
    known = metrics()
    if name in known:
        return known[name]
    if name.endswith("_db") and (base := known.get(name[:-3])) is not None and base.display == "db":
        return base
    return None


def metric_label(column: str) -> str:
    """The label a table or axis shows for a column (``ms_ssim_y_db`` -> ``MS-SSIM-Y [dB]``)."""
    m = metric(column)
    if m is None:
        return column
    return m.db_label if column.endswith("_db") and m.display == "db" else m.axis_label


def metric_name(column: str) -> str:
    """A metric as a paper names it beside BD-rates (no unit: those cells are percent): ``PSNR-Y``; a metric whose
    curves are on a transformed scale says which, since BD-rates on it differ from those on the raw values:
    ``MS-SSIM-Y (dB)`` for ``ms_ssim_y_db``."""
    name = re.sub(r"\s*\[[^\]]*\]$", "", metric_label(column))
    m = metric(column)
    return f"{name} (dB)" if m is not None and column.endswith("_db") and m.display == "db" else name


def headline_columns() -> list[str]:
    """Report columns in order: the headline metrics, ``display: db`` ones in their dB form."""
    ordered = sorted((m for m in metrics().values() if m.headline is not None), key=lambda m: m.headline or 0)
    return [f"{m.name}_db" if m.display == "db" else m.name for m in ordered]


def definitions() -> dict[str, str]:
    """Name -> one-line definition with its pooling, for records and reports."""
    return {m.name: f"{m.description}; pooled: {m.pooling}" for m in metrics().values()}


def measurement_key(job_key: str, req: MeasureRequest, implementation: Mapping[str, str],
                    version: int | None = None) -> str:
    """The key one stored measurement is found by: the job, the measure, its version (default: the registered
    one), parameters and implementation. Pooling and the PSNR peak are not in it: they act on the stored values."""
    m = measure(req.measure)
    payload = {"job": job_key, "measure": m.name, "version": m.version if version is None else version,
               "params": req.params_dict,
               "implementation": dict(implementation)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
