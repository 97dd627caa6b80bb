"""BD tables as files and text: per-sequence and per-class tables in both conventions as CSV and booktabs LaTeX,
and the summary the terminal prints; or why there can be none. Used by ``bd``, a run's outputs and the report.
A table is computed once (:class:`BDTables`) and rendered from that value; a caller that renders the same table
twice (a run: its terminal ranking and its report) computes it once through a :class:`BDMemo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.bd.intervals import RULE as INTERVAL_RULE
from bench.bd.options import sign_convention
from bench.bd.tables import (
    CLASS_MEAN,
    DCVC,
    JVET,
    OVERALL,
    BDOptions,
    average_curve,
    flag_words,
    jvet_summary,
    latex_table,
    per_sequence,
    pivot_classes,
    spread_table,
    time_ratios,
    with_db_columns,
)
from bench.errors import BenchError
from bench.metrics import metric_label, metric_name
from bench.report.latex import fit_table
from bench.report.tables import narrowing_note, write_csv
from bench.store.results import atomic_write_text


def no_bd_table(points: pd.DataFrame, anchor: str) -> str | None:
    """Why there can be no BD table of POINTS against ANCHOR (None: there can)."""
    ok = points[points["status"] == "ok"] if not points.empty and "status" in points else points.iloc[0:0]
    if ok.empty:
        return "no successful results at all"
    if not (ok["codec"] == anchor).any():
        known = ", ".join(sorted(ok["codec"].unique()))
        return f"the anchor {anchor} has no successful result (codecs with results: {known})"
    if not (ok["codec"] != anchor).any():
        return f"no codec besides the anchor {anchor} has a successful result"
    return None


@dataclass(frozen=True)
class BDTables:
    """One BD computation (:func:`compute_bd_tables`): what the CSV and LaTeX files, the terminal's text, the ranked
    summary and the report's section of its metric all render."""

    per_sequence: pd.DataFrame
    classes: pd.DataFrame  # JVET: mean of the per-sequence values per class and over all sequences
    average_curve: pd.DataFrame  # DCVC: BD of each class's averaged curve, and their mean
    times: pd.DataFrame  # encode and decode time against the anchor's

    def copy(self) -> BDTables:
        return BDTables(*(t.copy() for t in (self.per_sequence, self.classes, self.average_curve, self.times)))


def compute_bd_tables(points: pd.DataFrame, anchor: str, opts: BDOptions,
                      condition_differs: dict[str, str] | None = None) -> BDTables:
    """The BD engine on POINTS against ANCHOR with OPTS: per sequence, per class in both conventions, time
    ratios; ``condition_differs`` (codec -> differing fields) flags every row of such a codec."""
    points = with_db_columns(points)
    per_seq = per_sequence(points, anchor, opts)
    classes = jvet_summary(per_seq)
    averaged = average_curve(points, anchor, opts)
    if condition_differs:  # codec -> the condition fields in which its source differs from the anchor's
        for table in (per_seq, classes, averaged):
            if not table.empty:
                table["condition_differs"] = table["codec"].map(condition_differs).fillna("")
    return BDTables(per_seq, classes, averaged, time_ratios(points, anchor))


class BDMemo:
    """BD tables computed once per inputs, for one caller that renders a table more than once (a run's outputs:
    the ranking the terminal prints and the report's section of the same metric are one computation). Tables
    asked for again with equal points (same rows, values and types), anchor, options and condition flags are
    those computed the first time, as a copy (no reader's change reaches another); other inputs are computed
    anew. ``computed`` counts the computations."""

    def __init__(self) -> None:
        self._kept: list[tuple[pd.DataFrame, str, BDOptions, dict[str, str], BDTables]] = []
        self.computed = 0

    def tables(self, points: pd.DataFrame, anchor: str, opts: BDOptions,
               condition_differs: dict[str, str] | None = None) -> BDTables:
        differs = dict(condition_differs or {})
        for kept, kept_anchor, kept_opts, kept_differs, tables in self._kept:
            if (kept_anchor, kept_opts, kept_differs) == (anchor, opts, differs) and kept.equals(points):
                return tables.copy()
        tables = compute_bd_tables(points, anchor, opts, differs)
        self.computed += 1
        self._kept.append((points.copy(), anchor, opts, differs, tables.copy()))
        return tables


def write_bd_tables(points: pd.DataFrame, anchor: str, opts: BDOptions, out_dir: Path, stem: str,
                    computed: dict[str, pd.DataFrame] | None = None,
                    condition_differs: dict[str, str] | None = None,
                    labels: dict[str, str] | None = None, memo: BDMemo | None = None) -> tuple[str, dict[str, Path]]:
    """Per-sequence and per-class BD tables (both conventions, named) as CSV and LaTeX; returns a printable
    summary. ``computed``, when given, receives the tables (per_sequence, classes, average_curve, times).
    ``condition_differs`` (codec -> differing fields) flags every row and cell of a codec whose source was coded
    under another condition than the anchor's; ``labels`` (codec -> display label) names the LaTeX rows; ``memo``
    computes tables asked for before only once. Points coded under a narrowed condition (--frames/--sequences)
    put one line saying so (:func:`bench.report.tables.narrowing_note`) first in the text, first in every caption
    and as a first column of every CSV. A BenchError saying why when there is nothing to compare (see
    :func:`no_bd_table`)."""
    why = no_bd_table(points, anchor)
    if why is not None:
        raise BenchError(f"no BD table: {why}")
    note = narrowing_note(points)
    tables = memo.tables(points, anchor, opts, condition_differs) if memo is not None else \
        compute_bd_tables(points, anchor, opts, condition_differs)
    if computed is not None:
        computed.update(per_sequence=tables.per_sequence, classes=tables.classes,
                        average_curve=tables.average_curve, times=tables.times)
    paths = write_bd_files(tables, anchor, opts, out_dir, stem, note, labels)
    return bd_text(tables, anchor, opts, note, labels), paths


def write_bd_files(tables: BDTables, anchor: str, opts: BDOptions, out_dir: Path, stem: str,
                   note: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Path]:
    """TABLES as CSV (per sequence, per class in both conventions, time ratios) and booktabs LaTeX (the class
    tables) in OUT_DIR, named by STEM and OPTS; NOTE (a narrowed run's) first in every caption and CSV."""
    tag = f"{stem}_{opts.metric}_{opts.kind}_{opts.method}"
    paths = {
        "BD per sequence": out_dir / f"bd_{tag}_per_sequence.csv",
        f"BD per class, {JVET}": out_dir / f"bd_{tag}_classes.csv",
        f"BD per class, {DCVC}": out_dir / f"bd_{tag}_average_curve.csv",
        "time ratios": out_dir / f"bd_{tag}_time_ratios.csv",
        f"LaTeX, {JVET}": out_dir / f"bd_{tag}_classes.tex",
        f"LaTeX, {DCVC}": out_dir / f"bd_{tag}_average_curve.tex",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for df, key in ((tables.per_sequence, "BD per sequence"), (tables.classes, f"BD per class, {JVET}"),
                    (tables.average_curve, f"BD per class, {DCVC}"), (tables.times, "time ratios")):
        write_csv(df, paths[key], note)
    _write_latex(tables.classes, tables.average_curve, anchor, opts, paths, labels or {}, note)
    return paths


def bd_text(tables: BDTables, anchor: str, opts: BDOptions, note: str | None = None,
            labels: dict[str, str] | None = None) -> str:
    """TABLES as the terminal prints them: how they were computed, both conventions, the spread of each mean,
    the repaired or refused curves and the time ratios; NOTE (a narrowed run's) first."""
    classes, averaged, times = tables.classes, tables.average_curve, tables.times
    text = [*([f"{note}."] if note else []),
            f"{opts.describe()}; anchor {anchor}.",  # describe() states the sign convention: said once
            f"{JVET}: BD per sequence, mean per class; '{OVERALL}' = mean over all sequences:",
            pivot_classes(classes).to_string(),
            f"Spread of the per-sequence values behind each mean; {INTERVAL_RULE}:",
            spread_table(classes).to_string(index=False),
            f"{DCVC}: BD of each class's frame-weighted mean curve; '{CLASS_MEAN}' = mean of the classes:",
            pivot_classes(averaged).to_string(), *repair_notes(tables.per_sequence, averaged)]
    if not times.empty and times[["encode_ratio", "decode_ratio"]].notna().any().any():
        text += [f"Time against {(labels or {}).get(anchor, anchor)}: each sequence's time summed over its rate "
                 "points, test / anchor, geometric mean over sequences (wall time on this machine; compare "
                 "within this run only):", time_ratio_text(times, labels or {})]
    return "\n".join(text)


def _write_latex(classes: pd.DataFrame, averaged: pd.DataFrame, anchor: str, opts: BDOptions,
                 paths: dict[str, Path], labels: dict[str, str], note: str | None = None) -> None:
    """The class tables of both conventions as booktabs LaTeX, captioned with what they hold and which way is
    better (said once, :func:`bench.bd.options.sign_convention`); NOTE (a narrowed run's) opens each caption."""
    # BD-rate cells are percent: the metric is named without its unit ("on PSNR-Y", never "on PSNR-Y [dB]").
    metric = metric_name(opts.metric) if opts.kind == "rate" else metric_label(opts.metric)
    what = "BD-rate [%]" if opts.kind == "rate" else f"BD-{metric}"
    subset_text = f" {opts.subset()[0].upper()}{opts.subset()[1:]}." if opts.subset() else ""
    sign = sign_convention(opts.kind, [opts.metric])
    for convention, table, how in (
            (JVET, classes, "BD-rate of each sequence, then the mean per class and over all sequences"),
            (DCVC, averaged, "BD-rate of each class's frame-weighted mean curve, then the mean of the classes")):
        caption = (f"{f'{note}. ' if note else ''}"
                   f"{what} on {metric} against {labels.get(anchor, anchor)}, {convention}: {how}. {opts.method.upper()} "
                   f"interpolation, exact integration. {sign[0].upper()}{sign[1:]}.{subset_text}")
        label = f"tab:bd-{opts.metric}-{'jvet' if convention == JVET else 'dcvc'}".replace("_", "-")
        # Laid out to fit a column, else the page (wrapped names, narrower gaps, smaller type: report.latex).
        atomic_write_text(paths[f"LaTeX, {convention}"],
                          fit_table(latex_table(table, caption, label, labels, 1 if opts.kind == "rate" else 2)))


def time_ratio_text(times: pd.DataFrame, labels: dict[str, str]) -> str:
    """TIMES (bench.bd.tables.time_ratios) as the terminal prints it: codec labels, ratios as ``0.78x``."""
    def ratio(v: float | None) -> str:
        return "--" if v is None or pd.isna(v) else f"{float(v):.2f}x"

    shown = pd.DataFrame({"codec": [labels.get(c, c) for c in times["codec"]],
                          "encode": [ratio(v) for v in times["encode_ratio"]],
                          "decode": [ratio(v) for v in times["decode_ratio"]],
                          "sequences": (times["sequences"] if "sequences" in times else pd.Series(0, times.index))
                          .fillna(0).astype(int)})
    return shown.to_string(index=False)


def repair_notes(per_seq: pd.DataFrame, averaged: pd.DataFrame) -> list[str]:
    """One line per value computed on a repaired curve (flagged ``repaired`` in every table, beside any other
    flag), saying which rate points each curve kept and dropped; and one per curve refused as points of several
    origins. Each line names its convention (a class of one sequence gives the same message in both) and its
    flags in words; rows without a message (the means) have nothing to add and are left out."""
    lines = []
    for table, where, convention in ((per_seq, "sequence", "per-sequence (JVET)"), (averaged, "group", DCVC)):
        if table.empty or "status" not in table or "message" not in table:
            continue
        for row in table.to_dict("records"):
            message = row.get("message")
            if not isinstance(message, str) or not message:
                continue
            words = flag_words(row)
            if "repaired" in words or row["status"] == "mixed_origins":
                lines.append(f"  {convention}: {row['codec']} / {row[where]}: {', '.join(words)}: {message}")
    return ["Repaired or refused curves (values on a repaired curve are flagged 'repaired', never ok):", *lines] \
        if lines else []
