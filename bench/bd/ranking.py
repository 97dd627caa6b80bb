"""The answer at a glance: one table, a row per codec ranked by the headline metric's BD-rate, a column per
metric in both conventions, the confidence interval, the flags, failures kept as rows, and a one-line verdict;
as text for the terminal, Markdown, LaTeX (best value bold, every mark explained) and the report's rows.

Which value is best follows the metric's ``higher_is_better``: a BD-rate is better the lower it is for every
metric (fewer bits for the same quality); a BD-quality (test - anchor in the metric's units) is better the
higher it is for a higher-is-better metric and the lower it is for a lower-is-better one (MSE, LPIPS). The
order, the bold marks and the cell colours all follow :func:`lower_is_better`. Each interval is the t interval of
:mod:`bench.bd.intervals`, printed with its n; below its minimum n there is no interval and no verdict on the sign.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.bd import intervals
from bench.bd.options import higher_is_better, sign_convention
from bench.bd.tables import CLASS_MEAN, OVERALL, flag_note, flag_words, missing, tex_text
from bench.metrics import metric_name


@dataclass
class Cell:
    """One codec's BD value on one metric: the per-sequence mean with its CI (over N sequences) and flag, and
    the averaged-curve value."""

    value: float | None
    status: str
    ci: tuple[float, float] | None = None
    averaged: float | None = None
    sequences: str = ""
    n: int = 0  # the sequences behind the mean and its interval
    unusable: str = ""  # the other sequences' statuses with counts, "missing=3; average_only=1" (bench.bd.tables)
    flags: tuple[str, ...] = ()  # the mean's flags in words, all of them: ("repaired", "low overlap")
    digits: int = 1  # decimals of its interval: 1 for BD-rate (percent), 2 for BD-quality (+0.04 dB is not +0.0)

    def interval(self) -> str:
        """The CI with its n, "n too small" below the method's minimum, "" without a mean."""
        return "" if self.value is None else intervals.cell(self.ci, self.n, self.digits)

    def texts(self, mark: str) -> list[str]:
        """The mean (MARK after a flagged one), its CI and the averaged-curve value, as tables print them."""
        return [_fmt(self.value) + ("" if self.status == "ok" else mark), self.interval(), _fmt(self.averaged)]


@dataclass
class Row:
    codec: str
    cells: dict[str, Cell] = field(default_factory=dict)
    failed: str | None = None  # why some or all of its jobs failed
    verdict: str = ""
    label: str = ""  # the name tables print (its descriptor's display label, else the codec's name)
    times: tuple[float | None, float | None] | None = None  # encode, decode time against the anchor's (ratios)


def _number(v: float | None) -> float | None:
    """A table cell as a float; None where it is missing (None, or NaN as pandas holds a missing number)."""
    return None if v is None or missing(v) else float(v)


def lower_is_better(metric: str, kind: str) -> bool:
    """Whether a lower BD value on METRIC is the better one: always for BD-rate (fewer bits), for BD-quality
    (test - anchor) only when the metric itself is lower-is-better."""
    return kind == "rate" or not higher_is_better(metric)


def _n(row: pd.Series) -> int:
    """The n of a mean's interval; tables written before ``ci_n`` existed give it as ``sequences_used``."""
    n = _number(row.get("ci_n")) if "ci_n" in row else None
    return int(n if n is not None else _number(row.get("sequences_used")) or 0)


def ranked(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], anchor: str, kind: str = "rate",
           failures: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> list[Row]:
    """Rows ranked by the first metric's per-sequence mean, best first (see :func:`lower_is_better`; codecs
    without one last). TABLES: metric -> (JVET class summary, averaged-curve table) as bench.bd.tables makes
    them; FAILURES: codec -> what failed, for codecs whose jobs failed (kept as rows, never dropped); LABELS:
    codec -> the name to print (its descriptor's display label)."""
    labels = labels or {}
    rows: dict[str, Row] = {}
    for metric, (classes, averaged) in tables.items():
        overall = classes[classes["group"] == OVERALL].set_index("codec") if not classes.empty else classes
        mean = averaged[averaged["group"] == CLASS_MEAN].set_index("codec") if not averaged.empty else averaged
        for codec in [*overall.index, *(c for c in mean.index if c not in overall.index)]:
            o = overall.loc[codec] if codec in overall.index else None
            lo, hi = (_number(o["ci_low"]), _number(o["ci_high"])) if o is not None else (None, None)
            rows.setdefault(codec, Row(codec)).cells[metric] = Cell(
                _number(o["value"]) if o is not None else None, str(o["status"]) if o is not None else "missing",
                (lo, hi) if lo is not None and hi is not None else None,
                _number(mean.loc[codec, "value"]) if codec in mean.index else None,
                f"{o['sequences_used']:.0f}/{o['sequences']:.0f}" if o is not None else "",
                _n(o) if o is not None else 0, _text(o.get("unusable")) if o is not None else "",
                tuple(flag_words(o)) if o is not None else (), 1 if kind == "rate" else 2)
    for codec, why in (failures or {}).items():
        if codec != anchor:
            rows.setdefault(codec, Row(codec)).failed = why
    first = next(iter(tables), None)
    sign = 1.0 if first is None or lower_is_better(first, kind) else -1.0  # best first, whichever way that is

    def key(r: Row) -> tuple[bool, float, str]:
        v = r.cells.get(first, Cell(None, "")).value if first is not None else None
        return v is None, sign * (v or 0.0), r.codec

    ordered = sorted(rows.values(), key=key)
    for r in ordered:
        r.label = labels.get(r.codec, r.codec)
        r.verdict = _verdict(r, first, labels.get(anchor, anchor), kind)
    return ordered


def attach_times(rows: list[Row], ratios: pd.DataFrame) -> None:
    """Each row's encode and decode time against the anchor's, from bench.bd.tables.time_ratios (geometric mean
    over sequences of the summed times)."""
    by_codec = ratios.set_index("codec") if not ratios.empty else ratios
    for r in rows:
        if r.codec in by_codec.index:
            row = by_codec.loc[r.codec]
            r.times = (_number(row.get("encode_ratio")), _number(row.get("decode_ratio")))


def _text(v: object) -> str:
    return "" if missing(v) else str(v)


# What a sequence's status says about it, in words (the keys stay in the CSV files), for the verdict of a codec
# without a BD value; a status not listed here is shown as its key in words.
UNUSABLE_WORDS = {
    "missing": "absent from the anchor's or the codec's results", "metric_missing": "without this metric",
    "average_only": "given as a dataset average only", "non_finite": "with a value that is not a finite number",
    "non_monotonic": "whose quality does not rise with rate", "duplicate_quality": "with two points of equal quality",
    "too_few_points": "with too few rate points", "no_overlap": "whose curves do not overlap",
    "non_positive_rate": "with a rate of zero or less", "rate_unknown": "without a rate in bits per pixel",
    "saturated": "where the metric saturates", "mixed_origins": "mixing points of several files or devices",
}


def no_value_reason(cell: Cell | None, anchor: str) -> str:
    """Why a codec has no per-sequence BD value, in words: no results at all, no sequence (or class) in common
    with ANCHOR, or how many sequences were unusable for which reason."""
    if cell is None:
        return "no BD value (no results)"
    counts = [(k, int(n)) for k, _, n in (part.partition("=") for part in cell.unusable.split("; ") if part)]
    if not counts:  # a table written before the counts were kept: its status in words
        return f"no BD value ({cell.status.replace('_', ' ')})"
    if {k for k, _ in counts} <= {"missing", "average_only"}:  # nothing shared sequence by sequence
        return (f"no BD value: no sequence or class in common with {anchor}" if cell.averaged is None else
                f"no BD value per sequence: no sequence in common with {anchor}; compared only as class-averaged "
                "curves (the DCVC column)")
    return "no BD value: no sequence usable (" + "; ".join(
        f"{n} {'sequence' if n == 1 else 'sequences'} {UNUSABLE_WORDS.get(k, k.replace('_', ' '))}"
        for k, n in counts) + ")"


def _verdict(row: Row, metric: str | None, anchor: str, kind: str) -> str:
    cell = row.cells.get(metric) if metric else None
    failed = f"; {row.failed}" if row.failed else ""
    if cell is None or cell.value is None:
        return f"{no_value_reason(cell, anchor)}{failed}"
    what = metric_name(metric) if metric else ""
    if cell.ci is not None:
        crosses = cell.ci[0] <= 0 <= cell.ci[1]  # an interval touching 0 (two equal codecs: [0, 0]) is no sign
        lo, hi = (f"{b:+.{cell.digits}f}" for b in cell.ci)
        sure = (f" (95 % CI {lo} to {hi}, Student t over {cell.n} sequences: "
                f"{'the sign is not certain' if crosses else 'clear'})")
    else:
        sure = f" ({intervals.too_small(cell.n)}: no verdict on the sign)" if cell.n < intervals.MIN_N else ""
    flag = "".join(f", {w}" for w in cell.flags)  # every flag: "repaired, low overlap", never only one
    if kind != "rate":
        return (f"{cell.value:+.2f} on {what} against {anchor} ({sign_convention(kind, [metric] if metric else [])})"
                f"{sure}, {cell.sequences} sequences{flag}{failed}")
    direction = "fewer" if cell.value < 0 else "more"
    return (f"{abs(cell.value):.1f} % {direction} bits than {anchor} for the same {what}{sure}, "
            f"{cell.sequences} sequences{flag}{failed}")


def _fmt(v: float | None) -> str:
    return "--" if v is None else f"{v:+.2f}"


def as_text(rows: list[Row], metrics: list[str]) -> str:
    """The ranked table for the terminal: aligned columns, one line per codec, its verdict under it."""
    head = ["#", "codec"] + [h for m in metrics for h in (f"{metric_name(m)} JVET", "95% CI (t, n)", "DCVC")]
    body = []
    for i, r in enumerate(rows, start=1):
        line = [str(i), r.label or r.codec]
        for m in metrics:
            c = r.cells.get(m)
            line += c.texts("*") if c else ["--", "", "--"]
        body.append(line)
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    for r, line in zip(rows, body, strict=True):
        out.append("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)))
        out.append("     " + r.verdict)
    out.append(f"* flagged (see the per-sequence table); JVET: per-sequence mean; DCVC: averaged curve; "
               f"{intervals.RULE}")
    return "\n".join(out)


def _value(r: Row, m: str, which: str) -> float | None:
    c = r.cells.get(m)
    return None if c is None else (c.value if which == "jvet" else c.averaged)


def best_values(rows: list[Row], metrics: list[str], kind: str) -> dict[tuple[str, str], float | None]:
    """The best value of each (metric, "jvet" | "dcvc") column: the lowest, or the highest where a higher BD
    value is the better one (:func:`lower_is_better`)."""
    out: dict[tuple[str, str], float | None] = {}
    for m in metrics:
        pick = min if lower_is_better(m, kind) else max
        for which in ("jvet", "dcvc"):
            out[(m, which)] = pick((v for r in rows if (v := _value(r, m, which)) is not None), default=None)
    return out


def sign_note(metrics: list[str], anchor: str, kind: str) -> str:
    """What the numbers are and which way is better, in words (under every summary table): the sign said once,
    by :func:`bench.bd.options.sign_convention` as every BD table says it."""
    what = "BD-rate [%]" if kind == "rate" else "BD-quality, the mean in each metric's units"
    return (f"{what} against {anchor}: {sign_convention(kind, metrics)}. Bold: the best"
            f"{' (lowest)' if kind == 'rate' else ''} of each column.")


def _flags_shown(rows: list[Row], metrics: list[str]) -> set[str]:
    """The flags of the per-sequence means that tables mark (a value beside them), for the note under them."""
    return {f for r in rows for m in metrics if (c := r.cells.get(m)) and c.value is not None for f in c.flags}


def as_markdown(rows: list[Row], metrics: list[str], anchor: str, kind: str = "rate", note: str | None = None) -> str:
    """The ranked table as Markdown, the best value of each column in bold, every mark explained under it; NOTE
    (a narrowed run's, bench.report.tables.narrowing_note) in bold above the table."""
    head = ["Rank", "Codec"] + [h for m in metrics for h in (f"{metric_name(m)}, per-sequence mean (JVET)",
                                                              "95 % CI (Student t, n)", "averaged curve (DCVC)")]
    head.append("Verdict")
    best = best_values(rows, metrics, kind)
    lines = [*([f"**{note}.**", ""] if note else []), "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, start=1):
        cells = []
        for m in metrics:
            c = r.cells.get(m)
            texts = c.texts("†") if c else ["--", "", "--"]
            for k, which in ((0, "jvet"), (2, "dcvc")):
                if (v := _value(r, m, which)) is not None and v == best[(m, which)]:
                    texts[k] = f"**{texts[k]}**"
            cells += texts
        lines.append("| " + " | ".join([str(i), (r.label or r.codec).replace("|", "\\|"), *cells,
                                        r.verdict.replace("|", "\\|")]) + " |")
    flags = _flags_shown(rows, metrics)
    lines += ["", f"{sign_note(metrics, anchor, kind)}{f' † flagged: {flag_note(flags)}.' if flags else ''} "
              f"{intervals.RULE}."]
    return "\n".join(lines) + "\n"


def as_latex(rows: list[Row], metrics: list[str], anchor: str, caption: str, label: str = "tab:bd-summary",
             times: str | None = None, kind: str = "rate") -> str:
    """Several metrics side by side, the per-sequence mean and the averaged curve of each; the best value of
    each column (:func:`best_values`) in bold; a true minus; every mark explained under the table. TIMES (how
    they were taken, e.g. "shared machine"): add encode and decode time columns, relative to the anchor's.
    Written as a plain ``table``: the caller lays it out with :func:`bench.report.latex.fit_table` (column or
    page width, column gap, font size), as for every LaTeX table of the suite."""
    cols = [(m, which) for m in metrics for which in ("jvet", "dcvc")]
    time_cols = times is not None and any(r.times for r in rows)
    best = best_values(rows, metrics, kind)
    digits = 1 if kind == "rate" else 2  # a BD-PSNR of +0.04 dB is not +0.0
    flags = _flags_shown(rows, metrics)
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{tex_text(caption)}}}",
             f"\\label{{{tex_text(label)}}}",
             r"\begin{tabular}{l" + "rr" * len(metrics) + ("rr" if time_cols else "") + "}", r"\toprule",
             "Codec & " + " & ".join(f"\\multicolumn{{2}}{{c}}{{{tex_text(metric_name(m))}}}" for m in metrics)
             + (r" & \multicolumn{2}{c}{Time}" if time_cols else "") + r" \\",
             "".join(f"\\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(len(metrics) + time_cols)),
             " & " + " & ".join("JVET & DCVC" for _ in metrics) + (" & Enc. & Dec." if time_cols else "") + r" \\",
             r"\midrule"]
    for r in rows:
        cells = []
        for m, which in cols:
            v = _value(r, m, which)
            if v is None:
                cells.append("--")
                continue
            text = f"{v:+.{digits}f}"
            text = f"$\\mathbf{{{text}}}$" if v == best[(m, which)] else f"${text}$"
            if which == "jvet" and r.cells[m].status != "ok":
                text += r"$^\dagger$"
            cells.append(text)
        if time_cols:
            cells += [f"${t:.2f}\\times$" if t is not None else "--" for t in (r.times or (None, None))]
        lines.append(tex_text(r.label or r.codec) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              r"\\[2pt]{\footnotesize " + tex_text(sign_note(metrics, anchor, kind)) + r" JVET: mean of the "
              r"per-sequence values; DCVC: BD of the class-averaged curves, mean of the classes."
              + (r" $^\dagger$: " + tex_text(flag_note(flags)) + "." if flags else "")
              + (r" Time: encoding and decoding time relative to the anchor's (geometric mean over sequences of "
                 r"the summed times; " + tex_text(times or "") + ")." if time_cols else "") + "}",
              r"\end{table}", ""]
    return "\n".join(lines)


def colour(value: float | None, kind: str = "rate", higher_is_better: bool = True) -> str:
    """A cell's background: green where the test codec is better, red where it is worse, stronger with size
    (saturating at 30 % BD-rate, or 1.5 metric units of BD-quality). Better: a negative BD-rate; a positive
    BD-quality, or a negative one when HIGHER_IS_BETTER is False (the metric's, see :func:`lower_is_better`)."""
    if value is None:
        return "#f2f2f2"
    if value == 0:
        return "#ffffff"  # no difference: neither better nor worse
    strength = min(abs(value) / (30.0 if kind == "rate" else 1.5), 1.0)
    good = value < 0 if kind == "rate" or not higher_is_better else value > 0
    base = (0, 158, 115) if good else (213, 94, 0)
    r, g, b = (round(255 - (255 - c) * (0.15 + 0.55 * strength)) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"
