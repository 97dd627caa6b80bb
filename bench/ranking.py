"""The answer at a glance: one table, a row per codec ranked by the headline metric's BD-rate, a column per
metric in both conventions, the confidence interval, the flags, failures kept as rows, and a one-line verdict;
as text for the terminal, Markdown, LaTeX (best value bold, every mark explained) and the report's rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from bench.bdtable import CLASS_MEAN, OVERALL, tex_text
from bench.metrics import metric_name


@dataclass
class Cell:
    """One codec's BD value on one metric: the per-sequence mean with its CI and flag, and the averaged-curve
    value."""

    value: float | None
    status: str
    ci: tuple[float, float] | None = None
    averaged: float | None = None
    sequences: str = ""

    def texts(self, mark: str) -> list[str]:
        """The mean (MARK after a flagged one), its CI and the averaged-curve value, as tables print them."""
        return [_fmt(self.value) + ("" if self.status == "ok" else mark),
                f"[{self.ci[0]:+.1f}, {self.ci[1]:+.1f}]" if self.ci else "", _fmt(self.averaged)]


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


def ranked(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]], anchor: str, kind: str = "rate",
           failures: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> list[Row]:
    """Rows ranked by the first metric's per-sequence mean (lowest BD-rate first; codecs without one last).
    TABLES: metric -> (JVET class summary, averaged-curve table) as bench.bdtable makes them; FAILURES:
    codec -> what failed, for codecs whose jobs failed (kept as rows, never dropped); LABELS: codec -> the
    name to print (its descriptor's display label)."""
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
                f"{o['sequences_used']:.0f}/{o['sequences']:.0f}" if o is not None else "")
    for codec, why in (failures or {}).items():
        if codec != anchor:
            rows.setdefault(codec, Row(codec)).failed = why
    first = next(iter(tables), None)
    ordered = sorted(rows.values(), key=lambda r: (r.cells.get(first, Cell(None, "")).value is None,
                                                    r.cells.get(first, Cell(None, "")).value or 0.0, r.codec))
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
    if kind != "rate":
        return f"{cell.value:+.2f} on {what} at equal rate against {anchor}{failed}"
    direction = "fewer" if cell.value < 0 else "more"
    sure = ""
    if cell.ci is not None:
        crosses = cell.ci[0] < 0 < cell.ci[1]
        sure = (f" (95 % CI {cell.ci[0]:+.1f} to {cell.ci[1]:+.1f}: "
                f"{'the sign is not certain' if crosses else 'clear'})")
    flag = "" if cell.status == "ok" else f", {cell.status.replace('_', ' ')}"
    return (f"{abs(cell.value):.1f} % {direction} bits than {anchor} for the same {what}{sure}, "
            f"{cell.sequences} sequences{flag}{failed}")


def _fmt(v: float | None) -> str:
    return "--" if v is None else f"{v:+.2f}"


def as_text(rows: list[Row], metrics: list[str]) -> str:
    """The ranked table for the terminal: aligned columns, one line per codec, its verdict under it."""
    head = ["#", "codec"] + [h for m in metrics for h in (f"{metric_name(m)} JVET", "95% CI", "DCVC")]
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
    out.append("* flagged (see the per-sequence table); JVET: per-sequence mean; DCVC: averaged curve")
    return "\n".join(out)


def as_markdown(rows: list[Row], metrics: list[str], anchor: str) -> str:
    head = ["Rank", "Codec"] + [h for m in metrics for h in (f"{metric_name(m)}, per-sequence mean (JVET)",
                                                              "95 % CI", "averaged curve (DCVC)")] + ["Verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, start=1):
        cells = []
        for m in metrics:
            c = r.cells.get(m)
            cells += c.texts("†") if c else ["--", "", "--"]
        lines.append("| " + " | ".join([str(i), (r.label or r.codec).replace("|", "\\|"), *cells,
                                        r.verdict.replace("|", "\\|")]) + " |")
    lines += ["", f"BD-rate [%] against {anchor} (negative: fewer bits for the same quality). † flagged: low "
              "overlap of the curves or not every sequence usable (see the per-sequence table)."]
    return "\n".join(lines) + "\n"


def as_latex(rows: list[Row], metrics: list[str], anchor: str, caption: str, label: str = "tab:bd-summary",
             times: str | None = None) -> str:
    """Several metrics side by side, the per-sequence mean and the averaged curve of each; the best (lowest)
    value of each column in bold; a true minus; every mark explained under the table. TIMES (how they were
    taken, e.g. "shared machine"): add encode and decode time columns, relative to the anchor's."""
    cols = [(m, which) for m in metrics for which in ("jvet", "dcvc")]
    time_cols = times is not None and any(r.times for r in rows)

    def value(r: Row, m: str, which: str) -> float | None:
        c = r.cells.get(m)
        return None if c is None else (c.value if which == "jvet" else c.averaged)

    best = {col: min((v for r in rows if (v := value(r, *col)) is not None), default=None) for col in cols}
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
            v = value(r, m, which)
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
              r"\\[2pt]{\footnotesize BD-rate [\%] against " + tex_text(anchor) + r"; negative: fewer bits for the "
              r"same quality. JVET: mean of the per-sequence values; DCVC: BD-rate of the class-averaged curves, "
              r"mean of the classes. Bold: the best of each column."
              + (r" $^\dagger$: low overlap, or not every sequence usable." if flagged else "")
              + (r" Time: encoding and decoding time relative to the anchor's (geometric mean over sequences of "
                 r"the summed times; " + tex_text(times or "") + ")." if time_cols else "") + "}",
              f"\\end{{{env}}}", ""]
    return "\n".join(lines)


def colour(value: float | None, kind: str = "rate") -> str:
    """A cell's background: green for savings, red for losses, stronger with size (saturating at 30 %)."""
    if value is None:
        return "#f2f2f2"
    strength = min(abs(value) / (30.0 if kind == "rate" else 1.5), 1.0)
    good = value < 0 if kind == "rate" else value > 0
    base = (0, 158, 115) if good else (213, 94, 0)
    r, g, b = (round(255 - (255 - c) * (0.15 + 0.55 * strength)) for c in base)
    return f"#{r:02x}{g:02x}{b:02x}"
