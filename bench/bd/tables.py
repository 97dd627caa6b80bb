"""BD tables over many codecs and sequences, in both aggregation conventions, named, with their spread.

* **per-sequence mean (JVET)**: BD per sequence against the anchor, then the arithmetic mean per class, then
  the mean over all sequences (column ``all: mean of sequences``, the JVET CTC template's "Overall"). A class
  mean uses only sequences with a usable BD value and says how many that was; beside each mean stand the
  minimum, median and maximum of its sequences' values and the 95 % confidence interval of the mean, a
  Student t interval over the n sequences used, with its method and n in columns of its own (none below
  ``bench.bd.intervals.MIN_N`` sequences; see :mod:`bench.bd.intervals` for why not a bootstrap).
* **averaged curve (DCVC)**: per class, one RD curve per codec made of the frame-weighted mean bpp and
  quality of each rate point over the class's sequences, then one BD value of those curves (DCVC's
  ``compare_bd_rate.py``); column ``all: mean of classes`` is the plain mean of the class values, as the
  DCVC papers print it. A *dataset-average* curve (a published one: CompressAI gives UVG as one curve) is a
  class's averaged curve as it stands; it takes part in this convention only (status ``average_only`` in
  the other).

A rate-point subset (``rate_points`` / ``rate_exclude``: rate point labels, the QP of x265 or the q index of
a learned codec, matched as text; shared by every codec or given per codec, see :mod:`bench.bd.options`) is
applied before either convention. A curve the subset leaves without any point is ``too_few_points``, named,
like one it leaves short: never a codec silently gone from the tables.

Time ratios (encode, decode) are the geometric mean over sequences of (test time summed over rate points)
/ (anchor time summed over rate points), as in JVET tables.

Input is the tidy table of :func:`bench.report.tables.summary_frame` (our records and imported ones).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from bench.bd.engine import (
    USABLE,
    BDResult,
    Curve,
    Status,
    compare,
    prepare_curve,
    repeated_rate_points,
)
from bench.bd.intervals import cell as interval_cell
from bench.bd.intervals import mean_interval
from bench.bd.options import BDOptions, higher_is_better
from bench.errors import BenchError
from bench.metrics import metric as registered_metric
from bench.metrics import metric_name

JVET = "per-sequence mean (JVET)"
DCVC = "averaged curve (DCVC)"
OVERALL = "all: mean of sequences"  # the JVET template's "Overall"
CLASS_MEAN = "all: mean of classes"  # what DCVC's papers print as the average of their class values
SUMMARY_COLUMNS = (OVERALL, CLASS_MEAN)


def with_db_columns(points: pd.DataFrame) -> pd.DataFrame:
    """Add ``<ms-ssim metric>_db`` = -10 log10(1 - x) for every MS-SSIM column (for BD in dB)."""
    out = points.copy()
    for col in [c for c in points.columns if (m := registered_metric(c)) is not None and m.display == "db" and c == m.name]:
        values = pd.to_numeric(out[col], errors="coerce")
        out[f"{col}_db"] = -10 * np.log10(np.clip(1 - values, 1e-12, None))
    return out


def select_rate_points(points: pd.DataFrame, opts: BDOptions) -> pd.DataFrame:
    """POINTS restricted to the options' rate-point subsets (each codec's own lists, else the shared ones); a
    shared rate point no codec has, a per-codec list naming a codec no result has or a rate point that codec
    lacks, is an error naming it."""
    if not (opts.rate_points or opts.rate_exclude or opts.rate_points_by_codec or opts.rate_exclude_by_codec):
        return points
    labels, codecs = points["rate_point"].astype(str), points["codec"].astype(str)
    _check_subset(labels, codecs, opts)
    keep = pd.Series(True, index=points.index)
    for codec in set(codecs):
        only, exclude = opts.rate_subset_for(codec)
        mine = codecs == codec
        keep &= ~mine | ((labels.isin(only) if only else True) & ~labels.isin(exclude))
    return points[keep]


def _check_subset(labels: pd.Series, codecs: pd.Series, opts: BDOptions) -> None:
    """A one-line BenchError for a subset naming what no result has (see :func:`select_rate_points`)."""
    def listed(values: Iterable[str]) -> str:
        return ", ".join(sorted(set(values), key=_natural))

    known = set(labels)
    for option, wanted, by_codec in (("--rate-points", opts.rate_points, opts.rate_points_by_codec),
                                     ("--rate-exclude", opts.rate_exclude, opts.rate_exclude_by_codec)):
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise BenchError(f"{option} {','.join(unknown)}: no result has that rate point; rate points: "
                             f"{listed(known)}")
        for codec, own in by_codec:
            if not (codecs == codec).any():
                raise BenchError(f"{option} {codec}={','.join(own)}: no codec {codec} among the results; codecs: "
                                 f"{', '.join(sorted(set(codecs)))}")
            has = set(labels[codecs == codec])
            if unknown := [w for w in own if w not in has]:
                raise BenchError(f"{option} {codec}={','.join(own)}: {codec} has no rate point "
                                 f"{', '.join(unknown)}; its rate points: {listed(has)}")


def _ok_curves(points: pd.DataFrame, by: str) -> set[tuple[str, str]]:
    ok = points[points["status"] == "ok"]
    return set(zip(ok["codec"].astype(str), ok[by].astype(str), strict=True))


def _emptied(who: str, where: str, opts: BDOptions) -> BDResult:
    """The result for a curve of WHO that the rate-point subset left without any point (a short curve says
    the same through :func:`bench.bd.engine.prepare_curve`)."""
    return BDResult(None, Status.TOO_FEW_POINTS, opts.kind, opts.method,
                    message=f"{who}: no point of {where} left by the rate-point subset ({opts.subset_of(who)}), at least "
                            f"{opts.min_points} needed")


def _natural(label: str) -> tuple[float, str]:
    try:
        return float(label), label
    except ValueError:
        return math.inf, label


def _is_average(points: pd.DataFrame) -> pd.Series:
    if "dataset_average" not in points.columns:
        return pd.Series(False, index=points.index)
    return points["dataset_average"].fillna("").astype(str) != ""


def _curves(points: pd.DataFrame, metric: str) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    if metric not in points.columns:
        available = ", ".join(c for c in points.columns if registered_metric(c) is not None)
        unmeasured = "not_measured" in points.columns and points["not_measured"].notna().any()
        raise BenchError(f"metric {metric!r} is in none of the results; available: {available or 'none'}" +
                         ("; jobs were not measured (each named in a warning above): `evaluate.py remeasure` "
                          "measures them again" if unmeasured else ""))
    ok = points[points["status"] == "ok"]
    rate = pd.to_numeric(ok["bpp"], errors="coerce").to_numpy(dtype=float)
    quality = pd.to_numeric(ok[metric], errors="coerce").to_numpy(dtype=float)
    keys = list(zip(ok["codec"], ok["sequence"], strict=True))
    groups: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return {k: (rate[idx], quality[idx]) for k, idx in groups.items()}


def point_origins(points: pd.DataFrame) -> list[str]:
    """Where each point comes from, to tell one codec's curve from points of several merged: an imported point's
    origin as the importer wrote it (column ``curve_origin``, from the record's ``imported.origin``: its file,
    or its folder for formats whose producers spread one curve over files; :mod:`bench.bd.sources` gives every
    imported record one, stores written before the field included); a measured point's device type (CPU and
    GPU entropy coding can differ). A table without that column (built by hand) falls back to the file."""
    column = pd.Series(None, index=points.index, dtype=object)
    devices = points["device"] if "device" in points.columns else column
    froms = points["origin"] if "origin" in points.columns else pd.Series("measured", index=points.index)
    given = points["curve_origin"] if "curve_origin" in points.columns else column
    out = []
    for origin, curve_origin, device in zip(froms, given, devices, strict=True):
        if origin == "measured" or not isinstance(origin, str):
            out.append(f"measured on {str(device or 'cpu').split(':')[0]}")
        else:
            out.append(curve_origin if isinstance(curve_origin, str) and curve_origin else origin)
    return out


def _curve_meta(points: pd.DataFrame) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
    """(codec, sequence) -> its points' rate-point labels and origins, in the order of :func:`_curves` (nothing
    for a table without rate points: no label to name a dropped point by, none to find repeated)."""
    ok = points[points["status"] == "ok"]
    if "rate_point" not in ok.columns:
        return {}
    out: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for codec, seq, label, origin in zip(ok["codec"], ok["sequence"], ok["rate_point"].astype(str),
                                         point_origins(ok), strict=True):
        names, origins = out.setdefault((codec, seq), ([], []))
        names.append(label)
        origins.append(origin)
    return out


def _row(codec: str, group: str, sequence: str, r: BDResult, opts: BDOptions) -> dict[str, object]:
    return {"codec": codec, "group": group, "sequence": sequence, "value": r.value, "status": str(r.status),
            "overlap_quality": r.overlap_quality, "overlap_rate": r.overlap_rate, "points_anchor": r.points[0],
            "points_test": r.points[1], "kept_anchor": list(r.kept_points[0]), "kept_test": list(r.kept_points[1]),
            "dropped_anchor": list(r.dropped_points[0]), "dropped_test": list(r.dropped_points[1]),  # rate points
            "repaired": r.repaired,  # whatever the status also says (low_overlap, saturated): both are flags
            "message": r.message, "metric": opts.metric, "kind": opts.kind, "method": opts.method,
            "repair": opts.repair}


def _prepared(curve: tuple[np.ndarray, np.ndarray], who: str, opts: BDOptions,
              meta: tuple[list[str], list[str]] | None = None) -> Curve:
    """META: the points' rate-point labels and origins (see :func:`_curve_meta`), for naming what a repair
    dropped and refusing to repair points of several origins."""
    labels, origins = meta if meta is not None else (None, None)
    return prepare_curve(curve[0], curve[1], who, opts.min_points, opts.repair, opts.method,
                         higher_is_better(opts.metric), labels=labels, origins=origins)


def _bd(anchor: Curve, test: Curve, opts: BDOptions) -> BDResult:
    m = registered_metric(opts.metric)
    return compare(anchor, test, opts.kind, opts.method, opts.min_overlap, opts.repair,
                   m.saturates_at if m is not None and m.display != "db" else None)


def _unusable(pairs: list[tuple[str, tuple[np.ndarray, np.ndarray] | None]], metric: str, where: str,
              opts: BDOptions) -> BDResult | None:
    """A typed result when a curve lacks the rate or the metric altogether (not a broken curve)."""
    no_rate = [who for who, c in pairs if c is not None and np.isnan(c[0]).all()]
    if no_rate:
        return BDResult(None, Status.RATE_UNKNOWN, opts.kind, opts.method,
                        message=f"{' and '.join(no_rate)} gives kbps only for {where}, with no frame size and rate "
                                "to make it bpp: import with --dataset, or --size and --fps")
    lacking = [who for who, c in pairs if c is not None and np.isnan(c[1]).all()]
    if lacking:
        return BDResult(None, Status.METRIC_MISSING, opts.kind, opts.method,
                        message=f"{' and '.join(lacking)} has no {metric_name(metric)} values for {where}")
    return None


def non_finite_points(points: pd.DataFrame, metric: str,
                      by: str = "sequence") -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(codec, value of BY) -> its points where METRIC is not a finite number (a NaN or infinite per-frame value:
    the ``non_finite`` column of the summary) or was not measured (no usable measurement: the ``not_measured``
    column), each as (that column's name, the point named); found in one pass over POINTS, once per table. BY:
    ``sequence``, or ``group`` for the classes' averaged curves."""
    m = registered_metric(metric)
    name = m.name if m is not None else metric  # ms_ssim_y_db is not finite where ms_ssim_y is not
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for column in ("not_measured", "non_finite"):
        if column not in points.columns:
            continue
        for codec, key, seq, rp, names in zip(points["codec"], points[by], points["sequence"], points["rate_point"],
                                              points[column], strict=True):
            if isinstance(names, str) and name in names.split(", "):
                out.setdefault((codec, key), []).append((column, f"{codec} {seq} at rate point {rp}"))
    return out


def _non_finite(curves: list[tuple[str, str]], bad: dict[tuple[str, str], list[tuple[str, str]]],
                opts: BDOptions) -> BDResult | None:
    """A result naming the points of CURVES, (codec, sequence or class), that BAD (see :func:`non_finite_points`)
    lists: ``metric_missing`` where one was not measured, else ``non_finite``; None when BAD lists none."""
    named = [point for curve in curves for point in bad.get(curve, [])]
    if not named:
        return None
    unmeasured = [p for column, p in named if column == "not_measured"]
    if unmeasured:
        return BDResult(None, Status.METRIC_MISSING, opts.kind, opts.method,
                        message=f"{metric_name(opts.metric)} was not measured for {', '.join(unmeasured)} (its "
                                "measurement is missing or cannot be used; the summary's cautions say why): no BD "
                                "value; the next `evaluate.py run` or `evaluate.py remeasure` measures it")
    return BDResult(None, Status.NON_FINITE, opts.kind, opts.method,
                    message=f"{metric_name(opts.metric)} is not a finite number for {', '.join(p for _, p in named)} "
                            "(a per-frame value is NaN or infinite): no BD value")


def check_anchor(points: pd.DataFrame, anchor: str) -> None:
    codecs = sorted(set(points["codec"]))
    if anchor not in codecs:
        raise BenchError(f"anchor {anchor!r} is not among the results' codecs: {', '.join(codecs)}")


def per_sequence(points: pd.DataFrame, anchor: str, opts: BDOptions) -> pd.DataFrame:
    """One BD result per (test codec, sequence); sequences the anchor lacks get status ``missing``; a class that
    the anchor or the test gives only as a dataset average gets one ``average_only`` row."""
    check_anchor(points, anchor)
    codecs = set(points["codec"]) - {anchor}  # before the subset: a codec it empties still gets its rows
    emptied = _ok_curves(points, "sequence")
    points = select_rate_points(points, opts)
    emptied -= _ok_curves(points, "sequence")
    average = _is_average(points)
    curves = _curves(points[~average], opts.metric)
    meta = _curve_meta(points[~average])
    bad = non_finite_points(points[~average], opts.metric)
    ok = points[points["status"] == "ok"]
    group_of = {(c, s): g for c, s, g in zip(points["codec"], points["sequence"], points["group"], strict=True)}
    averaged_groups = {(c, g) for c, g in zip(ok.loc[average, "codec"], ok.loc[average, "group"], strict=True)}
    # Each anchor curve is validated once and compared with every test codec.
    anchors = {s: _prepared(c, "anchor", opts, meta.get((codec, s))) for (codec, s), c in curves.items()
               if codec == anchor}
    rows = []
    for codec in sorted(codecs):
        sequences = sorted({s for c, s in curves if c == codec} | set(anchors)
                           | {s for c, s in emptied if c in (anchor, codec)})
        for seq in sequences:
            a, t = anchors.get(seq), curves.get((codec, seq))
            # A sequence's class as the anchor's records give it (an import without classes takes the run's).
            group = group_of.get((anchor, seq), group_of.get((codec, seq)))
            if a is None or t is None:
                who = anchor if a is None else codec
                if (who, seq) in emptied:
                    r = _emptied(who, seq, opts)
                elif (who, group) in averaged_groups:
                    r = BDResult(None, Status.AVERAGE_ONLY, opts.kind, opts.method,
                                 message=f"{who} gives class {group} as a dataset average only: compared as an "
                                         f"averaged curve (DCVC)")
                else:
                    r = BDResult(None, Status.MISSING, opts.kind, opts.method, message=f"no results of {who} for {seq}")
            else:
                r = _non_finite([(anchor, seq), (codec, seq)], bad, opts) \
                    or _unusable([(anchor, curves.get((anchor, seq))), (codec, t)], opts.metric, seq, opts) \
                    or _bd(a, _prepared(t, "test", opts, meta.get((codec, seq))), opts)
            rows.append(_row(codec, str(group), seq, r, opts))
        covered = {group_of.get((anchor, s), group_of.get((codec, s))) for s in sequences}
        for group in sorted({g for c, g in averaged_groups if c in (anchor, codec)} - covered):
            r = BDResult(None, Status.AVERAGE_ONLY, opts.kind, opts.method,
                         message=f"class {group} is a dataset average: compared as an averaged curve (DCVC) only")
            rows.append(_row(codec, str(group), f"{group} (dataset average)", r, opts))
    return pd.DataFrame(rows)


def spread(values: np.ndarray) -> dict[str, object]:
    """Min, median, max of VALUES and the 95 % confidence interval of their mean with its method, level and n
    (``ci_low``/``ci_high`` None below :data:`bench.bd.intervals.MIN_N` values)."""
    interval = mean_interval(values)
    ci = {"ci_low": interval.low, "ci_high": interval.high, "ci_method": interval.method,
          "ci_level": interval.level, "ci_n": interval.n}
    if len(values) == 0:
        return {"min": None, "median": None, "max": None, **ci}
    return {"min": float(values.min()), "median": float(np.median(values)), "max": float(values.max()), **ci}


def mean_flags(statuses: list[str], repaired: list[bool], total: int) -> dict[str, object]:
    """The status of a mean of the usable values with STATUSES (REPAIRED beside each) out of TOTAL sequences or
    classes, and its flags: ``none_usable``; ``incomplete`` (not every one has a usable value); ``low_overlap``;
    ``repaired`` (a value on a repaired curve, nothing else to flag); ``ok``. The columns ``repaired`` and
    ``low_overlap`` keep each flag whatever the status names first: a mean can be incomplete, of low overlap and
    repaired at once, and every table says all of it (:func:`flag_words`)."""
    flags = {"repaired": any(repaired), "low_overlap": "low_overlap" in statuses}
    status = ("none_usable" if not statuses else "incomplete" if len(statuses) < total
              else "low_overlap" if flags["low_overlap"] else "repaired" if flags["repaired"] else "ok")
    return {"status": status, **flags}


def _mean_row(codec: str, group: str, part: pd.DataFrame) -> dict[str, object]:
    usable = part[part["status"].isin([str(s) for s in USABLE])]
    if usable.empty and part["status"].nunique() == 1:
        flags: dict[str, object] = {"status": str(part["status"].iloc[0])}  # every sequence says the same
    else:
        repaired = usable["repaired"] if "repaired" in usable else usable["status"] == "repaired"
        flags = mean_flags(usable["status"].astype(str).tolist(), [bool(r) for r in repaired], len(part))
    values = usable["value"].to_numpy(dtype=float)
    # Why the other sequences have no value, as status keys with counts ("missing=3; average_only=1"): the ranked
    # summary says it in words where a codec has no value at all (bench.bd.ranking).
    counts = part.loc[~part.index.isin(usable.index), "status"].astype(str).value_counts(sort=False)
    return {"codec": codec, "group": group, "convention": JVET, "value": float(values.mean()) if len(values) else None,
            **flags, "sequences_used": len(usable), "sequences": len(part), **spread(values),
            "unusable": "; ".join(f"{k}={n}" for k, n in sorted(counts.items()))}


def jvet_summary(per_seq: pd.DataFrame) -> pd.DataFrame:
    """Mean of per-sequence values per class, then over all sequences (``all: mean of sequences``), each with
    its spread (min, median, max) and the t confidence interval of the mean, its method and n."""
    rows = []
    for codec, part in per_seq.groupby("codec", sort=True):
        for group, gpart in part.groupby("group", sort=True):
            rows.append(_mean_row(str(codec), str(group), gpart))
        rows.append(_mean_row(str(codec), OVERALL, part))
    return pd.DataFrame(rows)


def class_average_points(points: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per codec, class and rate point: the frame-weighted mean bpp and quality over the class's sequences.

    A rate point that some of the class's sequences lack is left out (it would bias the mean). A codec whose
    class is given as a dataset average (and not by sequence) keeps that curve as it is."""
    ok = points[points["status"] == "ok"]
    average = _is_average(ok)
    by_sequence = set(zip(ok.loc[~average, "codec"], ok.loc[~average, "group"], strict=True))
    keep = ~average | pd.Series([(c, g) not in by_sequence for c, g in zip(ok["codec"], ok["group"], strict=True)],
                                index=ok.index)
    ok = ok[keep]
    w = pd.to_numeric(ok["frames"], errors="coerce").fillna(1.0)
    df = pd.DataFrame({"codec": ok["codec"], "group": ok["group"], "sequence": ok["sequence"],
                       "rate_point": ok["rate_point"].astype(str), "w": w,
                       "wb": w * pd.to_numeric(ok["bpp"], errors="coerce"),
                       "wq": w * pd.to_numeric(ok[metric], errors="coerce")}).dropna(subset=["wb", "wq"])
    per_rp = df.groupby(["codec", "group", "rate_point"], sort=True).agg(
        w=("w", "sum"), wb=("wb", "sum"), wq=("wq", "sum"), sequences=("sequence", "nunique")).reset_index()
    n_seq = df.groupby(["codec", "group"])["sequence"].nunique().rename("n_seq").reset_index()
    per_rp = per_rp.merge(n_seq, on=["codec", "group"])
    per_rp = per_rp[per_rp["sequences"] == per_rp["n_seq"]]
    out = pd.DataFrame({"codec": per_rp["codec"], "group": per_rp["group"], "rate_point": per_rp["rate_point"],
                        "sequences": per_rp["sequences"], "bpp": per_rp["wb"] / per_rp["w"],
                        metric: per_rp["wq"] / per_rp["w"]})
    return out.reset_index(drop=True)


def _merged_classes(ok: pd.DataFrame) -> dict[tuple[str, str], tuple[str, list[str], list[str]]]:
    """(codec, class) -> a sequence of it whose curve repeats a rate point, with its labels and origins: points of
    several curves merged (see :func:`bench.bd.engine.repeated_rate_points`), which the mean per rate point of the
    averaged curve would hide."""
    group_of = {(c, s): g for c, s, g in zip(ok["codec"], ok["sequence"], ok["group"], strict=True)}
    out: dict[tuple[str, str], tuple[str, list[str], list[str]]] = {}
    for (codec, seq), (labels, origins) in _curve_meta(ok).items():
        if len(set(labels)) < len(labels):
            out.setdefault((codec, group_of[(codec, seq)]), (seq, labels, origins))
    return out


def _merged(curves: list[tuple[str, str]], merged: dict[tuple[str, str], tuple[str, list[str], list[str]]],
            opts: BDOptions) -> BDResult | None:
    """A ``mixed_origins`` result for the first of CURVES (anchor, test: (codec, class)) that MERGED lists."""
    for who, curve in zip(("anchor", "test"), curves, strict=True):
        if curve in merged:
            seq, labels, origins = merged[curve]
            return BDResult(None, Status.MIXED_ORIGINS, opts.kind, opts.method,
                            message=repeated_rate_points(labels, origins, f"{who} ({seq})") or "")
    return None


def average_curve(points: pd.DataFrame, anchor: str, opts: BDOptions) -> pd.DataFrame:
    """BD of the class-averaged curves (frame-weighted mean bpp and quality per rate point), and their mean."""
    check_anchor(points, anchor)
    before = points[points["status"] == "ok"]  # a codec or class the subset empties still gets its rows
    emptied = _ok_curves(points, "group")
    points = select_rate_points(points, opts)
    emptied -= _ok_curves(points, "group")
    averaged = class_average_points(points, opts.metric)
    curves = {(str(c), str(g)): (part["bpp"].to_numpy(), part[opts.metric].to_numpy())
              for (c, g), part in averaged.groupby(["codec", "group"], sort=True)}
    ok = points[points["status"] == "ok"]
    # Each averaged point's origins: those of the records averaged into it (one file per class is one origin).
    where = ok.assign(origin=point_origins(ok), rate_point=ok["rate_point"].astype(str)).groupby(
        ["codec", "group", "rate_point"])["origin"].agg(lambda o: "; ".join(sorted(set(o))))
    meta = {(str(c), str(g)): (part["rate_point"].tolist(), [where[(c, g, rp)] for rp in part["rate_point"]])
            for (c, g), part in averaged.groupby(["codec", "group"], sort=True)}
    raw = _curves(ok.assign(sequence=ok["group"]), opts.metric) if opts.metric in ok.columns else {}
    bad = non_finite_points(ok, opts.metric, by="group")
    merged = _merged_classes(ok)
    rows = []
    for codec in sorted(set(before["codec"]) - {anchor}):
        values = []
        for group in sorted(set(before["group"])):
            a, t = curves.get((anchor, group)), curves.get((codec, group))
            if (a is None or t is None) and (who := anchor if a is None else codec, str(group)) in emptied:
                r = _emptied(who, f"class {group}", opts)
            elif a is None or t is None:
                r = _unusable([(anchor, raw.get((anchor, group))), (codec, raw.get((codec, group)))], opts.metric,
                              f"class {group}", opts) or \
                    BDResult(None, Status.MISSING, opts.kind, opts.method,
                             message=f"no results of {anchor if a is None else codec} for class {group}")
            else:  # a non-finite point would silently leave the averaged curve (a rate point some sequence lacks)
                r = _non_finite([(anchor, group), (codec, group)], bad, opts) \
                    or _merged([(anchor, group), (codec, group)], merged, opts) \
                    or _bd(_prepared(a, "anchor", opts, meta.get((anchor, group))),
                           _prepared(t, "test", opts, meta.get((codec, group))), opts)
            rows.append({**_row(codec, group, "", r, opts), "convention": DCVC})
            values.append(r)
        usable = [r for r in values if r.usable]
        usable_values = [r.value for r in usable if r.value is not None]  # all of them: a usable result has one
        rows.append({"codec": codec, "group": CLASS_MEAN, "convention": DCVC,
                     "value": float(np.mean(usable_values)) if usable else None,
                     **mean_flags([str(r.status) for r in usable], [r.repaired for r in usable], len(values)),
                     "classes_used": len(usable), "classes": len(values)})
    return pd.DataFrame(rows)


def time_ratios(points: pd.DataFrame, anchor: str) -> pd.DataFrame:
    """Geometric mean over sequences of summed test time / summed anchor time (encode and decode)."""
    check_anchor(points, anchor)
    ok = points[points["status"] == "ok"]
    cols = [c for c in ("encode_s", "decode_s") if c in ok.columns]
    sums = ok[["codec", "sequence"]].join(ok[cols].apply(pd.to_numeric, errors="coerce")) \
        .groupby(["codec", "sequence"]).sum(min_count=1)
    rows = []
    coded = set(sums.index.get_level_values(0))
    for codec in sorted(set(ok["codec"]) - {anchor}):
        out: dict[str, object] = {"codec": codec}
        for col in ("encode_s", "decode_s"):
            name = col.replace("_s", "_ratio")
            if col not in cols or codec not in coded or anchor not in coded:  # e.g. every anchor job failed
                out[name] = None
                continue
            ratio = (sums.loc[codec, col] / sums.loc[anchor, col]).dropna()
            ratio = ratio[(ratio > 0) & np.isfinite(ratio)]  # 0: no separate time (e.g. decode inside one script)
            out[name] = float(np.exp(np.log(ratio).mean())) if len(ratio) else None
            if col == "encode_s":
                out["sequences"] = len(ratio)
        rows.append(out)
    return pd.DataFrame(rows)


def missing(value: object) -> bool:
    """Whether a table value is absent: None or NaN (the one test of the BD tables and the ranking)."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _true(value: object) -> bool:
    """A flag column's value as a table holds it (a bool, or "True" in a CSV read back)."""
    return bool(value) if isinstance(value, (bool, np.bool_)) else str(value) == "True"


def flag_words(row: Mapping[str, object]) -> list[str]:
    """The flags of a BD value or mean in words, the repair first: ``["repaired", "low overlap"]``, "incomplete"
    for a mean over only some of its sequences or classes, any other status in words; [] for a plain ok value.
    Reads ``status`` and, where the table has them, ``repaired`` and ``low_overlap`` (a repaired value keeps
    ``low_overlap`` as its status, a mean keeps both as columns: see :func:`mean_flags`)."""
    status = str(row.get("status"))
    words = ["repaired"] if status == "repaired" or _true(row.get("repaired")) else []
    if status == "low_overlap" or _true(row.get("low_overlap")):
        words.append("low overlap")
    if status not in ("ok", "repaired", "low_overlap"):
        words.append(status.replace("_", " "))
    return words


_FLAG_NOTES = {"low overlap": "low overlap of the curves",
               "incomplete": "a mean over only some of its sequences or classes (the others have no usable value)",
               "repaired": "a curve repaired (points dropped; see the per-sequence table)"}


def flag_note(flags: Iterable[str]) -> str:
    """What the flags FLAGS (words of :func:`flag_words`) that a table's marked cells carry mean, in a fixed
    order, for the note under the table: only those that occur."""
    present = set(flags)
    ordered = [f for f in _FLAG_NOTES if f in present] + sorted(present - set(_FLAG_NOTES))
    return "; ".join(_FLAG_NOTES.get(f, f) for f in ordered)


def pivot_classes(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows = codecs, columns = classes then the all-classes column, cells = value with its flags in words
    (:func:`flag_words`: "repaired, low overlap"; an incomplete mean as its count, "3/4 seq")."""
    def cell(row: pd.Series) -> str:
        if missing(row["value"]):
            return f"n/a ({row['status']})"
        used = (f"{row['classes_used']:.0f}/{row['classes']:.0f} classes" if not missing(row.get("classes_used"))
                else f"{row.get('sequences_used', 0):.0f}/{row.get('sequences', 0):.0f} seq")
        parts = [used if w == "incomplete" else w for w in flag_words(row)]
        flag = f" ({', '.join(parts)})" if parts else ""
        differs = row.get("condition_differs") if "condition_differs" in row else None
        if isinstance(differs, str) and differs:
            flag += f" (condition differs: {differs})"
        return f"{row['value']:+.2f}{flag}"

    table = summary.assign(cell=summary.apply(cell, axis=1)).pivot(index="codec", columns="group", values="cell")
    return table[_ordered(table.columns)].fillna("")  # "": neither the codec nor the anchor has that class


def _ordered(columns: pd.Index) -> list[str]:
    return [c for c in columns if c not in SUMMARY_COLUMNS] + [c for c in SUMMARY_COLUMNS if c in columns]


def spread_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The JVET means with their spread, one row per codec and class (for the console and the page)."""
    rows = summary[summary["convention"] == JVET] if "convention" in summary else summary
    def fmt(v: object) -> str:
        return "" if missing(v) else f"{v:+.2f}"
    return pd.DataFrame({"codec": rows["codec"], "class": rows["group"], "mean": rows["value"].map(fmt),
                         "min": rows["min"].map(fmt), "median": rows["median"].map(fmt), "max": rows["max"].map(fmt),
                         "95% CI (Student t)": [
                             _interval_text(lo, hi, used)
                             for lo, hi, used in zip(rows["ci_low"], rows["ci_high"], rows["sequences_used"], strict=True)],
                         "sequences": [f"{u:.0f}/{n:.0f}" for u, n in zip(rows["sequences_used"], rows["sequences"],
                                                                          strict=True)]})


def _interval_text(low: float | None, high: float | None, n: float) -> str:
    """A mean's interval with its n; "n too small" below the t interval's minimum; "" without any value."""
    if missing(n) or n == 0:
        return ""
    # missing() also says NaN (a CSV read back); the None tests are what lets float() be typed.
    bounds = None if low is None or high is None or missing(low) or missing(high) else (float(low), float(high))
    return interval_cell(bounds, int(n), digits=2)


def latex_table(summary: pd.DataFrame, caption: str, label: str = "tab:bd",
                codec_labels: dict[str, str] | None = None, digits: int = 1) -> str:
    """A booktabs table of the class summary (values with DIGITS decimals: 1 for BD-rate percent, 2 for a
    BD-quality; a true minus; a dagger marks flagged cells, the flags that occur explained under the table);
    CODEC_LABELS: codec -> the name to print (its descriptor's display label)."""
    codec_labels = codec_labels or {}
    values = summary.pivot(index="codec", columns="group", values="value")
    flags = summary.assign(flags=[flag_words(r) for r in summary.to_dict("records")]).pivot(
        index="codec", columns="group", values="flags")
    cols = _ordered(values.columns)
    flagged: set[str] = set()
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{tex_text(caption)}}}", f"\\label{{{tex_text(label)}}}",
             r"\begin{tabular}{l" + "r" * len(cols) + "}", r"\toprule",
             "Codec & " + " & ".join(tex_text(str(c)) for c in cols) + r" \\", r"\midrule"]
    for codec in values.index:
        cells = []
        for c in cols:
            v, f = values.loc[codec, c], flags.loc[codec, c]
            if missing(v):
                cells.append("--")
            else:
                cells.append(f"${v:+.{digits}f}$" + (r"$^\dagger$" if f else ""))
                flagged.update(f)
        lines.append(tex_text(codec_labels.get(str(codec), str(codec))) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if flagged:  # the flags that occur, each said (a repaired value of low overlap: both)
        lines.append(r"\\[2pt]{\footnotesize $^\dagger$ flagged: " + tex_text(flag_note(flagged)) + ".}")
    lines += [r"\end{table}", ""]
    return "\n".join(lines)


_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_text(text: str) -> str:
    """TEXT as LaTeX prints it literally: every special character escaped in one pass (so an imported name like
    ``^^5cinput{/etc/passwd}`` cannot become a command), and control characters dropped."""
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text if ch >= " " or ch == "\t")
