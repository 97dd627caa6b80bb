"""The answer at a glance: one table, a row per codec ranked by the headline metric's BD-rate, a column per
metric in both conventions, the confidence interval, the flags, failures kept as rows, and a one-line verdict;
as text for the terminal, Markdown, LaTeX (best value bold, every mark explained) and the report's rows.

Which value is best follows the metric's ``higher_is_better``: a BD-rate is better the lower it is for every
metric (fewer bits for the same quality); a BD-quality (test - anchor in the metric's units) is better the
higher it is for a higher-is-better metric and the lower it is for a lower-is-better one (MSE, LPIPS). The
order, the bold marks and the cell colours all follow :func:`lower_is_better`. Each interval is the t interval of
:mod:`bench.intervals`, printed with its n; below its minimum n there is no interval and no verdict on the sign.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from bench import intervals
from bench.bdtable import CLASS_MEAN, OVERALL, higher_is_better, tex_text
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

    def interval(self) -> str:
        """The CI with its n, "n too small" below the method's minimum, "" without a mean."""
        return "" if self.value is None else intervals.cell(self.ci, self.n)

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


def _number(v: object) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


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
    without one last). TABLES: metric -> (JVET class summary, averaged-curve table) as bench.bdtable makes
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
                _n(o) if o is not None else 0)
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
    """Each row's encode and decode time against the anchor's, from bench.bdtable.time_ratios (geometric mean
    over sequences of the summed times)."""
    by_codec = ratios.set_index("codec") if not ratios.empty else ratios
    for r in rows:
        if r.codec in by_codec.index:
            row = by_codec.loc[r.codec]
            r.times = (_number(row.get("encode_ratio")), _number(row.get("decode_ratio")))


def _verdict(row: Row, metric: str | None, anchor: str, kind: str) -> str:
    cell = row.cells.get(metric) if metric else None
    failed = f"; {row.failed}" if row.failed else ""
    if cell is None or cell.value is None:
        return f"no BD value ({cell.status if cell else 'no results'}){failed}"
    what = metric_name(metric) if metric else ""
    if cell.ci is not None:
        crosses = cell.ci[0] <= 0 <= cell.ci[1]  # an interval touching 0 (two equal codecs: [0, 0]) is no sign
        sure = (f" (95 % CI {cell.ci[0]:+.1f} to {cell.ci[1]:+.1f}, Student t over {cell.n} sequences: "
                f"{'the sign is not certain' if crosses else 'clear'})")
    else:
        sure = f" ({intervals.too_small(cell.n)}: no verdict on the sign)" if cell.n < intervals.MIN_N else ""
    flag = "" if cell.status == "ok" else f", {cell.status.replace('_', ' ')}"
    if kind != "rate":
        better = "higher" if metric is None or higher_is_better(metric) else "lower"
        return (f"{cell.value:+.2f} on {what} at equal rate against {anchor} (test - anchor; {better} is "
                f"better){sure}, {cell.sequences} sequences{flag}{failed}")
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
    """What the numbers are and which way is better, in words (under every summary table)."""
    if kind == "rate":
        return (f"BD-rate [%] against {anchor}; negative: fewer bits for the same quality. Bold: the best (lowest) "
                "of each column.")
    higher = [metric_name(m) for m in metrics if higher_is_better(m)]
    lower = [metric_name(m) for m in metrics if not higher_is_better(m)]
    better = "; ".join(([f"higher is better for {', '.join(higher)}"] if higher else [])
                       + ([f"lower is better for {', '.join(lower)}"] if lower else []))
    return (f"BD-quality against {anchor}: the mean of test - anchor at equal rate, in each metric's units; "
            f"{better}. Bold: the best of each column.")


def as_markdown(rows: list[Row], metrics: list[str], anchor: str, kind: str = "rate") -> str:
    """The ranked table as Markdown, the best value of each column in bold, every mark explained under it."""
    head = ["Rank", "Codec"] + [h for m in metrics for h in (f"{metric_name(m)}, per-sequence mean (JVET)",
                                                              "95 % CI (Student t, n)", "averaged curve (DCVC)")]
    head.append("Verdict")
    best = best_values(rows, metrics, kind)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
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
    lines += ["", f"{sign_note(metrics, anchor, kind)} † flagged: low overlap of the curves, not every sequence "
              f"usable, or a curve repaired (points dropped; see the per-sequence table). {intervals.RULE}."]
    return "\n".join(lines) + "\n"


def as_latex(rows: list[Row], metrics: list[str], anchor: str, caption: str, label: str = "tab:bd-summary",
             times: str | None = None, kind: str = "rate") -> str:
    """Several metrics side by side, the per-sequence mean and the averaged curve of each; the best value of
    each column (:func:`best_values`) in bold; a true minus; every mark explained under the table. TIMES (how
    they were taken, e.g. "shared machine"): add encode and decode time columns, relative to the anchor's."""
    cols = [(m, which) for m in metrics for which in ("jvet", "dcvc")]
    time_cols = times is not None and any(r.times for r in rows)
    best = best_values(rows, metrics, kind)
    flagged = False
    # More than two metrics (or two and the times) need the page width.
    env = "table*" if len(metrics) + time_cols > 2 else "table"
    # Past eight value columns the default column gap overflows a 7.16 in page at 10 pt: a narrower one.
    narrow = [r"\setlength{\tabcolsep}{4pt}"] if 2 * (len(metrics) + time_cols) > 8 else []
    lines = [f"\\begin{{{env}}}[t]", r"\centering", *narrow, f"\\caption{{{tex_text(caption)}}}",
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
            text = f"{v:+.1f}"
            text = f"$\\mathbf{{{text}}}$" if v == best[(m, which)] else f"${text}$"
            c = r.cells[m]
            if which == "jvet" and c.status != "ok":
                text += r"$^\dagger$"
                flagged = True
            cells.append(text)
        if time_cols:
            cells += [f"${t:.2f}\\times$" if t is not None else "--" for t in (r.times or (None, None))]
        lines.append(tex_text(r.label or r.codec) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}",
              r"\\[2pt]{\footnotesize " + tex_text(sign_note(metrics, anchor, kind)) + r" JVET: mean of the "
              r"per-sequence values; DCVC: BD of the class-averaged curves, mean of the classes."
              + (r" $^\dagger$: low overlap, not every sequence usable, or a curve repaired (points dropped)." if flagged
                 else "")
              + (r" Time: encoding and decoding time relative to the anchor's (geometric mean over sequences of "
                 r"the summed times; " + tex_text(times or "") + ")." if time_cols else "") + "}",
              f"\\end{{{env}}}", ""]
    return "\n".join(lines)


def colour(value: float | None, kind: str = "rate", higher_is_better: bool = True) -> str:
    """A cell's background: green where the test codec is better, red where it is worse, stronger with size
    (saturating at 30 % BD-rate, or 1.5 metric units of BD-quality). Better: a negative BD-rate; a positive
    BD-quality, or a negative one when HIGHER_IS_BETTER is False (the metric's, see :func:`lower_is_better`)."""
    if value is None:
        return "#f2f2f2"
    strength = min(abs(value) / (30.0 if kind == "rate" else 1.5), 1.0)
    good = value < 0 if kind == "rate" or not higher_is_better else value > 0
    base = (0, 158, 115) if good else (213, 94, 0)
    r, g, b = (round(255 - (255 - c) * (0.15 + 0.55 * strength)) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"
