"""LaTeX tables that fit the width they declare: ``table`` in one column, ``table*`` across the page.

The suite's booktabs tables (BD per class, the ranked summary, complexity) are written by their own modules;
:func:`fit_table` then lays each out for a two-column 10 pt page: it estimates every cell's printed width
(Times text, Computer Modern math, at 10 pt), wraps long names and headers onto several lines in a nested
``tabular`` (no package beyond booktabs needed), and takes the first layout that fits, in this order: one
column with the normal column gap, then 4 pt, then ``\\small``, then the page width, then ``\\footnotesize``.
The widths assumed are those of ``article`` in ``twocolumn`` (229.5 pt and 469 pt, the narrowest common
two-column layout: IEEEtran's are 252 and 516, ACM's 241 and 506), less a margin for the estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMN_PT, PAGE_PT = 229.5, 469.0
MARGIN = 1.04  # the estimate's widths are multiplied by this (and 2 pt kept free): printed widths vary a little

# Glyph widths in em (1 em = 10 pt at 10 pt): Times Roman text, as in its font metrics; what is not listed is
# taken as 0.6 em, wider than most. Bold text is 5 % wider.
_TEXT = {**dict.fromkeys("0123456789", 0.5), " ": 0.25, ".": 0.25, ",": 0.25, ":": 0.278, ";": 0.278, "!": 0.333,
         "'": 0.333, "(": 0.333, ")": 0.333, "[": 0.333, "]": 0.333, "/": 0.278, "-": 0.333, "_": 0.5, "%": 0.833,
         "&": 0.778, "#": 0.5, "*": 0.5, "+": 0.564, "=": 0.564, "<": 0.564, ">": 0.564, "@": 0.921, "|": 0.2,
         **dict(zip("abcdefghijklmnopqrstuvwxyz", (0.444, 0.5, 0.444, 0.5, 0.444, 0.333, 0.5, 0.5, 0.278, 0.278, 0.5,
                                                  0.278, 0.778, 0.5, 0.5, 0.5, 0.5, 0.333, 0.389, 0.278, 0.5, 0.5, 0.722,
                                                  0.5, 0.5, 0.444), strict=True)),
         **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (0.722, 0.667, 0.667, 0.722, 0.611, 0.556, 0.722, 0.722, 0.333, 0.389,
                                                  0.722, 0.611, 0.889, 0.722, 0.722, 0.556, 0.722, 0.667, 0.556, 0.611,
                                                  0.722, 0.722, 0.944, 0.722, 0.722, 0.611), strict=True))}
# Computer Modern math (the times package leaves math alone): digits 0.5 em (bold 0.575), binary signs 0.778.
_MATH = {**dict.fromkeys("0123456789", 0.5), ".": 0.278, ",": 0.278, "+": 0.778, "-": 0.778, "=": 0.778, "(": 0.389,
         ")": 0.389, " ": 0.0}
_COMMANDS = {"times": 0.778, "dagger": 0.52, "ddagger": 0.52, "pm": 0.778, "cdot": 0.278, "ldots": 1.0, "%": 0.833,
             "_": 0.5, "&": 0.778, "#": 0.5, "$": 0.5, "{": 0.5, "}": 0.5, ",": 0.167, " ": 0.25, "textbackslash": 0.5,
             "textasciitilde": 0.541, "textasciicircum": 0.469}
_SIZES = {"": 1.0, r"\small": 0.9, r"\footnotesize": 0.8}


def text_width(tex: str, size: float = 10.0) -> float:
    """The printed width in pt of a cell's LaTeX source TEX at SIZE pt (an estimate that errs wide)."""
    width, math, bold, script = 0.0, False, [], 1.0
    depth = 0
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "$":
            math = not math
        elif ch == "\\":
            word = _command_name(tex, i)
            i += len(word)
            if word in ("mathbf", "textbf"):
                bold.append(depth + 1)
            else:
                em, script = _command_em(word, script)
                width += em
        elif ch == "{":
            depth += 1
        elif ch == "}":
            bold = [b for b in bold if b < depth]
            depth -= 1
        elif ch == "^" and math:
            script = 0.7
            i += 1
            continue
        elif math:
            width += _scripted(_MATH.get(ch, 0.55) * (1.15 if bold and ch.isdigit() else 1.0), script)
            script = 1.0
        elif ch == "-" and tex[i:i + 2] == "--":
            width += 0.5
            i += 1
        else:
            width += _TEXT.get(ch, 0.6) * (1.05 if bold else 1.0)
        i += 1
    return width * size


def _command_name(tex: str, backslash: int) -> str:
    """The name of the command whose backslash is at index BACKSLASH of TEX: its letters, or the one character
    after the backslash (``\\%``), or nothing at the end of TEX."""
    name = re.match(r"[A-Za-z]+|.", tex[backslash + 1:])
    return name.group(0) if name else ""


def _command_em(word: str, script: float) -> tuple[float, float]:
    """The printed width in em of the command named WORD, set at the superscript scale SCRIPT, and the scale
    after it: a command that prints (one of _COMMANDS) ends the superscript; any other prints nothing here."""
    if word not in _COMMANDS:
        return 0.0, script
    return _scripted(_COMMANDS[word], script), 1.0


def _scripted(em: float, script: float) -> float:
    """The width in em of a glyph EM wide set at the superscript scale SCRIPT, with TeX's \\scriptspace after a
    superscript."""
    return em * script + (0.05 if script < 1.0 else 0.0)


def _pieces(tex: str) -> list[str]:
    """TEX cut where a line may break: after a space, a '/', an escaped underscore or a ':' not followed by a
    digit (``6:1:1`` stays whole), never inside braces or math; each piece keeps its trailing separator."""
    pieces, start, depth, math = [], 0, 0, False
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            command = re.match(r"[A-Za-z]+|.", tex[i + 1:])
            i += 1 + (len(command.group(0)) if command else 0)
            if command is not None and command.group(0) == "_" and depth == 0 and not math:
                pieces.append(tex[start:i])
                start = i
            continue
        depth += ch == "{"
        depth -= ch == "}"
        math ^= ch == "$"
        if depth == 0 and not math and (ch in " /" or ch == ":" and not tex[i + 1:i + 2].isdigit()):
            pieces.append(tex[start:i + 1])
            start = i + 1
        i += 1
    pieces.append(tex[start:])
    return [p for p in pieces if p]


def wrapped(tex: str, width: float) -> list[str]:
    """TEX as lines no wider than WIDTH pt where its break points allow (a piece wider alone stays whole)."""
    lines: list[str] = []
    for piece in _pieces(tex):
        if lines and text_width((lines[-1] + piece).rstrip()) * MARGIN <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return [line.strip() for line in lines]


@dataclass
class _Cell:
    tex: str
    col: int
    span: int = 1
    align: str = ""  # a \multicolumn's alignment
    header: bool = False
    wraps: bool = False  # text that may take several lines (names, headers)

    @property
    def natural(self) -> float:
        return text_width(self.tex) * MARGIN

    @property
    def shortest(self) -> float:
        return max(text_width(p.strip()) * MARGIN for p in _pieces(self.tex)) if self.wraps else self.natural


@dataclass
class _Table:
    lines: list[str]
    env_at: tuple[int, int]  # the lines of \begin{table} and \end{table}
    tabular_at: tuple[int, int]
    spec: str
    rows: dict[int, list[_Cell]] = field(default_factory=dict)  # line index -> its cells


_MULTI = re.compile(r"^\\multicolumn\{(\d+)\}\{([lrc])\}\{(.*)\}$", re.S)


def _split(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)&", row)]


def _parse(tex: str) -> _Table:
    lines = tex.split("\n")
    begin = next(i for i, line in enumerate(lines) if re.match(r"\\begin\{table\*?\}", line))
    end = next(i for i, line in enumerate(lines) if re.match(r"\\end\{table\*?\}", line))
    t_begin = next(i for i, line in enumerate(lines) if line.startswith(r"\begin{tabular}"))
    t_end = next(i for i, line in enumerate(lines) if line.startswith(r"\end{tabular}"))
    spec = re.match(r"\\begin\{tabular\}\{([lrc]+)\}$", lines[t_begin])
    if spec is None:
        raise ValueError(f"not a table this layout knows: {lines[t_begin]}")
    table = _Table(lines, (begin, end), (t_begin, t_end), spec.group(1))
    header = True
    for i in range(t_begin + 1, t_end):
        line = lines[i].strip()
        if line.startswith(r"\midrule"):
            header = False
        if not line.endswith(r"\\") or line.startswith("\\cmidrule") or line.startswith("\\toprule"):
            continue
        cells, col = [], 0
        for text in _split(line[:-2]):
            multi = _MULTI.match(text)
            span, align, text = (int(multi.group(1)), multi.group(2), multi.group(3)) if multi else (1, "", text)
            wraps = header or table.spec[col] == "l"
            cells.append(_Cell(text, col, span, align, header, wraps and bool(text)))
            col += span
        table.rows[i] = cells
    return table


@dataclass
class _Plan:
    env: str
    size: str
    sep: float
    widths: list[float]
    fits: bool = True


def _widths(table: _Table, room: float, sep: float, scale: float, force: bool = False) -> list[float] | None:
    """Column widths (pt at 10 pt) that fit ROOM at column gap SEP and font SCALE, or None: every column as wide
    as its widest cell, wrapping columns narrowed (down to their longest unbreakable piece) where needed."""
    n = len(table.spec)
    natural, shortest = [0.0] * n, [0.0] * n
    for cells in table.rows.values():
        for c in cells:
            if c.span == 1:
                natural[c.col] = max(natural[c.col], c.natural)
                shortest[c.col] = max(shortest[c.col], c.shortest)
    budget = (room - 2 * sep * n) / scale
    spans = [c for cells in table.rows.values() for c in cells if c.span > 1]

    def spanned(c: _Cell) -> float:
        return sum(widths[c.col:c.col + c.span]) + 2 * sep * (c.span - 1) / scale

    widths = list(shortest)
    for c in spans:  # a spanning header wider than its columns widens the last of them, first as its pieces need
        widths[c.col + c.span - 1] += max(0.0, c.shortest - spanned(c))
    free = budget - sum(widths)
    flexible = sorted((col for col in range(n) if widths[col] < natural[col]),
                      key=lambda col: natural[col] - widths[col])
    for k, col in enumerate(flexible):  # then wrapping columns toward one line each, the least wanting first
        extra = max(0.0, min(natural[col] - widths[col], free / (len(flexible) - k)))
        widths[col] += extra
        free -= extra
    for c in spans:  # then the spanning headers toward one line, with what is left
        extra = max(0.0, min(c.natural - spanned(c), free))
        widths[c.col + c.span - 1] += extra
        free -= extra
    return widths if force or sum(widths) <= budget + 1e-6 else None


def _plan(table: _Table) -> _Plan:
    tries = [(env, size, sep) for env in ("table", "table*") for size in ("", r"\small") for sep in (6.0, 4.0)]
    tries += [("table*", r"\footnotesize", 4.0), ("table*", r"\footnotesize", 2.5)]
    for env, size, sep in tries:
        room = (COLUMN_PT if env == "table" else PAGE_PT) - 2.0
        widths = _widths(table, room, sep, _SIZES[size])
        if widths is not None:
            return _Plan(env, size, sep, widths)
    # Too many columns for any page (dozens of classes): the narrowest layout, and a note in the file saying so.
    env, size, sep = tries[-1]
    return _Plan(env, size, sep, _widths(table, PAGE_PT - 2.0, sep, _SIZES[size], force=True) or [], fits=False)


def _stack(lines: list[str], align: str, top: bool) -> str:
    if len(lines) == 1:
        return lines[0]
    return f"\\begin{{tabular}}[{'t' if top else 'b'}]{{@{{}}{align}@{{}}}}" + r"\\".join(lines) + r"\end{tabular}"


def _cell_text(c: _Cell, plan: _Plan, spec: str) -> str:
    width = sum(plan.widths[c.col:c.col + c.span]) + 2 * plan.sep * (c.span - 1) / _SIZES[plan.size]
    align = c.align or spec[c.col]
    text = _stack(wrapped(c.tex, width), align, not c.header) if c.wraps and c.natural > width else c.tex
    return f"\\multicolumn{{{c.span}}}{{{c.align}}}{{{text}}}" if c.align else text


def fit_table(tex: str) -> str:
    """TEX (one booktabs ``table`` as the suite writes it) laid out to fit a column, else the page (see the
    module's description): environment, column gap, font size and line breaks in long cells. Every LaTeX writer
    (the BD tables, the ranked summary, the complexity table) returns its table unfitted, and its caller passes
    it through here once."""
    table = _parse(tex)
    plan = _plan(table)
    lines = list(table.lines)
    for i, cells in table.rows.items():
        lines[i] = " & ".join(_cell_text(c, plan, table.spec) for c in cells) + r" \\"
    begin, end = table.env_at
    lines[begin] = re.sub(r"\\begin\{table\*?\}", f"\\\\begin{{{plan.env}}}", lines[begin])
    lines[end] = re.sub(r"\\end\{table\*?\}", f"\\\\end{{{plan.env}}}", lines[end])
    setup = ([f"\\setlength{{\\tabcolsep}}{{{plan.sep:g}pt}}"] if plan.sep != 6.0 else []) + \
        ([plan.size] if plan.size else [])
    out: list[str] = [] if plan.fits else ["% lvc-bench: too wide for the page even in \\footnotesize; split its "
                                           "columns over two tables or set it in landscape"]
    for i, line in enumerate(lines):  # the writers choose no layout of their own: all of it is the plan's
        out += setup if i == table.tabular_at[0] else []
        out.append(line)
    return "\n".join(out)
