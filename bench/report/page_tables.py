"""The page's tables as a reader sees them: codecs by their labels, statuses in words, every number formatted
for its kind (BD values with a sign and two decimals, fractions as percentages, ratios with a times sign),
never a column key or a float as Python prints it. The CSV files beside the page keep the raw values."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from bench.bd import ranking
from bench.bd.options import higher_is_better
from bench.bd.tables import flag_note, flag_words, pivot_classes
from bench.report.tables import missing

# Status keys whose words are not just the key with spaces.
_WORDS = {"non_finite": "not a finite number", "none_usable": "no sequence usable"}


def words(status: Any) -> str:
    """A status key as words: ``low_overlap`` -> ``low overlap``, ``non_finite`` -> ``not a finite number``."""
    return "" if missing(status) else _WORDS.get(str(status), str(status).replace("_", " "))


def summary_note(rows: list[ranking.Row], metrics: list[str], anchor: str, kind: str) -> str:
    """The note under the page's ranked summary: what the numbers are and which way is better (the sign note
    of every summary table, :func:`bench.bd.ranking.sign_note`), what the cell colours mean, every flag that a
    marked value of ROWS carries (:func:`bench.bd.tables.flag_note`) with the reasons its left-out sequences
    have no value, and how the rows are ranked."""
    directions = {higher_is_better(m) for m in metrics}
    better = "a lower BD-rate" if kind == "rate" else (
        "a higher value" if directions == {True} else "a lower value" if directions == {False}
        else "a higher value where higher is better, a lower one where lower is")
    shown = [c for r in rows for m in metrics if (c := r.cells.get(m)) is not None and c.value is not None]
    flags = {f for c in shown for f in c.flags}
    left_out = sorted({k for c in shown if c.flags for k, _, _ in (p.partition("=") for p in c.unusable.split("; ") if p)})
    return (f"{ranking.sign_note(metrics, anchor, kind)} Colours: green where the codec does better than {anchor} "
            f"({better}), orange where it does worse, stronger the larger the difference."
            + (f" \u2020 flagged: {flag_note(flags)}." if flags else "")
            + (f" Sequences left out of a flagged mean: {', '.join(words(k) for k in left_out)} (the per-sequence "
               "table names each with its reason)." if left_out else "")
            + " Ranked by the first metric's per-sequence mean, the best first.")


def statuses_in(cell: str) -> str:
    """A table cell with its ``(status_key)`` flags in words."""
    return re.sub(r"\(([a-z]+(?:_[a-z]+)+)\)", lambda m: f"({words(m.group(1))})", cell)


def labelled(rows: list[list[str]], labels: dict[str, str]) -> list[list[str]]:
    """ROWS with the codec in their first cell shown by its label."""
    return [[labels.get(row[0], row[0]), *row[1:]] for row in rows]


def pivot_rows(summary: pd.DataFrame, labels: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """A BD class summary as header and rows: a codec a row (its label), a class a column."""
    if summary.empty:
        return [], []
    pivot = pivot_classes(summary)
    return ["codec", *pivot.columns], [[labels.get(str(idx), str(idx)), *(statuses_in(str(v)) for v in row)]
                                       for idx, row in zip(pivot.index, pivot.values.tolist(), strict=True)]


def spread_rows(spread: pd.DataFrame, labels: dict[str, str]) -> list[list[str]]:
    """The spread table's rows (already formatted where it is made) with each codec's label."""
    return [[labels.get(str(v), str(v)) if i == 0 else "" if missing(v) else str(v) for i, v in enumerate(row)]
            for row in spread.itertuples(index=False)]


def _fraction(v: Any) -> str:
    return "" if missing(v) else f"{float(v):.0%}"


def _count(v: Any) -> str:
    return "" if missing(v) else f"{float(v):.0f}"


def per_sequence_rows(per_seq: pd.DataFrame, labels: dict[str, str]) -> list[list[str]]:
    """One row per codec and sequence: label, class, sequence, BD value, status, the overlaps of the two curves
    in quality and log rate (as a share), the points of each curve, the message."""
    out = []
    for r in per_seq.to_dict("records"):
        out.append([labels.get(str(r["codec"]), str(r["codec"])), str(r["group"]), str(r["sequence"]),
                    "" if missing(r.get("value")) else f"{float(r['value']):+.2f}",
                    ", ".join(flag_words(r)) or words(r.get("status")),  # a repaired value may also be low overlap
                    _fraction(r.get("overlap_quality")), _fraction(r.get("overlap_rate")),
                    _count(r.get("points_anchor")), _count(r.get("points_test")),
                    "" if missing(r.get("message")) else str(r["message"])])
    return out


TIME_COLUMNS = ["codec", "encode time relative to the anchor's", "decode time relative to the anchor's",
                "sequences"]


def time_rows(times: pd.DataFrame, labels: dict[str, str]) -> list[list[str]]:
    """The time ratios against the anchor: codec label, encode and decode ratio (geometric mean over
    sequences), sequences."""
    def ratio(v: Any) -> str:
        return "" if missing(v) else f"{float(v):.2f}\u00d7"

    return [[labels.get(str(r["codec"]), str(r["codec"])), ratio(r.get("encode_ratio")), ratio(r.get("decode_ratio")),
             _count(r.get("sequences"))] for r in times.to_dict("records")]
