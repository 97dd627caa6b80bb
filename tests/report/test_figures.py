"""Figures and tables that pass a reviewer, checked on what the suite exports where users make it: a run of the
demo (its quick-look figures, its report), a report over two runs (one codec coded with another preset) and a
report with published curves. Every figure is checked with matplotlib's renderer as it is saved (distinct
styles, one complete legend inside the canvas and off the data, no empty panel), every LaTeX table is set by
pdflatex in a two-column 10 pt page and must fit its width. The checkers are shown to fail on bad input first."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest
from conftest import REPO
from figure_check import PDFLATEX, TEX_PACKAGES, figure_problems, latex_problems, tex_page
from matplotlib.figure import Figure

from bench.cli import main
from bench.report import plots
from bench.report.figure_workers import FigureDrawing
from bench.report.latex import fit_table, text_width
from bench.report.styles import COLOURS, KNOWN, Origin, codec_style, codec_styles, family

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PUBLISHED = ("uvg/x265", "uvg/vtm-15", "uvg/ssf2020", "uvg/ssf2020-authors")


class _Seen:
    """Every figure saved while the suite runs: where, what the checker found, its curves and their styles."""

    def __init__(self) -> None:
        self.figures: list[dict[str, Any]] = []

    def check(self, fig: Figure, path: object) -> None:
        if getattr(fig, "_lvc_checked", False):  # the same figure saved as PDF, SVG and PNG: checked once
            return
        fig._lvc_checked = True  # type: ignore[attr-defined]
        from figure_check import _style, _words

        name = re.sub(r"^\.|\.\d+\.tmp\.\w+$", "", Path(str(path)).name)
        curves = {_words(ln.get_label()): _style(ln) for ax in fig.axes for ln in ax.get_lines()
                  if not ln.get_label().startswith("_")}
        self.figures.append({"path": Path(str(path)).parent / name, "problems": figure_problems(fig),
                             "curves": curves, "width": fig.get_size_inches()[0]})

    def under(self, folder: Path) -> list[dict[str, Any]]:
        return [f for f in self.figures if folder in f["path"].parents]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo on 4 frames (x264, x265, VVenC, SVT-AV1), a second run (x264 preset slower, x265, SVT-AV1), the
    report over both and the report over both with four published curves, built by ``evaluate.py`` as a user
    does. The paper and quick-look figures are drawn in this process (not beside it) so that each figure can be checked as
    it is saved; what is printed is kept."""
    root = tmp_path_factory.mktemp("figures")
    base = f"extends: {REPO / 'conditions' / 'demo.yaml'}\nframes: {{first: 0, count: 4}}\nintra_period: 4\n"
    (root / "figs_a.yaml").write_text(base + "name: figs_a\n")
    (root / "figs_b.yaml").write_text(base + "name: figs_b\ncodecs: [{descriptor: x264, params: {preset: slower}}, "
                                             "x265, svtav1]\n")
    seen = _Seen()
    saving = Figure.savefig

    def checked_savefig(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> Any:
        seen.check(self, fname)
        return saving(self, fname, *args, **kwargs)

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.setattr(Figure, "savefig", checked_savefig)
        mp.setattr(FigureDrawing, "draw_here", plots.draw_job)  # quick-look and paper figures drawn here
        for cond in ("figs_a", "figs_b"):
            assert main(["--conditions", str(root / f"{cond}.yaml"), "--results", str(root / "results"),
                         "--reports", str(root / "reports"), "--no-progress", "--jobs", "2"]) == 0
        runs = [str(root / "results" / "figs_a"), str(root / "results" / "figs_b")]
        assert main(["report", *runs, "--anchor", "figs_a:x265", "--out", str(root / "two")]) == 0
        assert main(["report", *runs, "--anchor", "figs_a:x265", *(a for p in PUBLISHED for a in ("--with-published", p)),
                     "--out", str(root / "published")]) == 0
    yield {"root": root, "seen": seen, "printed": printed.getvalue(), "single": root / "reports" / "figs_a",
           "two": root / "two", "published": root / "published"}
    plt.close("all")


def test_the_figure_checker_finds_what_a_reviewer_refuses() -> None:
    """Each defect the issue names, drawn on purpose, is reported: two curves alike, a legend taken from the
    first panel only, a legend off the canvas, one over the data, an empty panel."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(7, 3))
    a.plot([0.1, 0.2], [30, 32], "o-", color="#0072B2", label="run1:x264")
    a.plot([0.1, 0.2], [31, 33], "o-", color="#0072B2", label="run2:x264")  # same colour, marker, line, fill
    b.plot([0.1, 0.2], [29, 31], "s-", color="#D55E00", label="published x265")
    fig.legend(*a.get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, -0.3))  # first panel only
    problems = " | ".join(figure_problems(fig))
    assert "share colour, marker, line and fill" in problems and "'published x265'" in problems
    assert "leaves the canvas" in problems
    plt.close(fig)
    fig, (a, b) = plt.subplots(1, 2, figsize=(7, 3))
    a.plot([0.1, 0.2], [30, 32], "o-", label="x")
    b.set_xlabel("bpp")
    a.legend(loc="center")
    problems = " | ".join(figure_problems(fig))
    assert "panel 1 has no data" in problems and "legend overlaps panel 0" in problems
    plt.close(fig)
    fig, (a, b) = plt.subplots(1, 2, figsize=(4, 2), gridspec_kw={"wspace": 0.0})
    for ax, label in ((a, "x"), (b, "y")):
        ax.plot([0.1, 0.2], [30, 32], label=label)
        ax.set_ylabel("PSNR-YUV (6:1:1) [dB]")
    fig.legend(loc="upper right")
    assert "panel 0 and its labels overlap panel 1's" in " | ".join(figure_problems(fig))
    plt.close(fig)


@pytest.mark.slow
@pytest.mark.integration
def test_every_exported_figure_passes(exported: dict[str, Any]) -> None:
    seen: _Seen = exported["seen"]
    for report in ("single", "two", "published"):
        figures = seen.under(exported[report])
        assert figures, report
        bad = {str(f["path"].relative_to(exported["root"])): f["problems"] for f in figures if f["problems"]}
        assert not bad, bad
        # Within one report a curve keeps one style in every figure, and no two curves share one.
        styles: dict[str, tuple] = {}
        for f in figures:
            for label, style in f["curves"].items():
                assert styles.setdefault(label, style) == style, (report, label)
        assert len(set(styles.values())) == len(styles), (report, styles)
    files = {p.stem for p in (exported["single"] / "figures").glob("*.pdf")}
    assert {f["path"].stem for f in seen.under(exported["single"] / "figures") if f["path"].suffix == ".pdf"} == files
    quicklook = seen.under(exported["single"] / "figures" / "quicklook")
    assert len(quicklook) == 4 and all(len(f["curves"]) == 4 for f in quicklook)


@pytest.mark.slow
@pytest.mark.integration
def test_two_runs_are_told_apart_and_say_how_they_differ(exported: dict[str, Any]) -> None:
    figure = next(f for f in exported["seen"].under(exported["two"]) if f["path"].name == "rd_classes_psnr_y.pdf")
    curves = figure["curves"]
    # Seven curves in one column: all drawn, all in the legend (checked above), none alike.
    assert figure["width"] == plots.COLUMN_W and len(curves) == 7
    a, b = curves["figs_a:x264 (preset: medium)"], curves["figs_b:x264 (preset: slower)"]
    assert a[0] == b[0] == COLOURS[KNOWN["x264"][0]].lower()  # the codec keeps its colour ...
    assert (a[2], a[3]) != (b[2], b[3]) and b[3] == "#ffffff"  # ... the second run: another line, open markers
    html = (exported["two"] / "index.html").read_text()
    assert re.search(r'id="codec-differences">.*<td>figs_b:x264</td><td>preset: slower</td>', html, re.S)
    # Reader-facing tables: labels, formatted numbers, no column keys.
    body = html.split('<script type="application/json"')[0]
    complexity = re.search(r'<table id="complexity-table">(.*?)</table>', body, re.S).group(1)
    assert "encode_kmac_per_pixel" not in complexity and "decode frames/s" in complexity
    cells = re.findall(r"<td>([^<]*)</td>", body)
    assert not [c for c in cells if re.fullmatch(r"[-+]?\d+\.\d{5,}", c)]  # no float as Python prints it
    assert "figs_b:x264 (preset: slower)" in re.search(r'<table class="bd" id="bd-psnr_y">(.*?)</table>',
                                                      body, re.S).group(1)


@pytest.mark.slow
@pytest.mark.integration
def test_published_curves_keep_their_codecs_colour_and_the_legend_keeps_every_curve(exported: dict[str, Any]
                                                                                    ) -> None:
    figures = {f["path"].name: f for f in exported["seen"].under(exported["published"])}
    curves = figures["rd_classes_psnr_y.pdf"]["curves"]  # a UVG panel (published) and a demo panel (the runs)
    assert {"figs_a:x265", "figs_b:x264 (preset: slower)", "x265 (published, CompressAI)",
            "VTM-15.0 LD (published, CompressAI)", "SSF2020 (published, CompressAI)"} <= set(curves)
    x265, published = curves["figs_a:x265"], curves["x265 (published, CompressAI)"]
    assert published[0] == x265[0] == COLOURS[KNOWN["x265"][0]].lower() and published[2:] != x265[2:]
    assert curves["VTM-15.0 LD (published, CompressAI)"][0] == COLOURS[KNOWN["vtm"][0]].lower()
    # No figure without data: the per-sequence UVG figure on PSNR-YUV does not exist, and the run said why.
    assert "rd_sequences_UVG_psnr_yuv_611.pdf" not in figures
    assert not (exported["published"] / "figures" / "rd_sequences_UVG_psnr_yuv_611.pdf").exists()
    assert ("figure rd_sequences_UVG_psnr_yuv_611: not drawn, no data (UVG (dataset average): no curve has "
            "PSNR-YUV (6:1:1) [dB])") in exported["printed"]
    assert "rd_sequences_UVG_psnr_yuv_611" in (exported["published"] / "index.html").read_text()


def test_styles_follow_the_documented_rules() -> None:
    assert family("VTM-15.0 LD (published, CompressAI)") == "vtm" and family("demo:x265") == "x265"
    assert family("SSF2020 authors (published)") == "ssf2020" == family("ssf2020")
    published = codec_style("x265 (published, CompressAI)", origin=Origin(published=True))
    assert (published.colour, published.line, published.filled) == (COLOURS[KNOWN["x265"][0]], "dotted", False)
    # Two published curves of one family: the second moves to the next free marker.
    two = codec_styles(["SSF2020 (published, CompressAI)", "SSF2020 authors (published)"],
                       origins=dict.fromkeys(["SSF2020 (published, CompressAI)", "SSF2020 authors (published)"],
                                             Origin(published=True)))
    assert len({s.key() for s in two.values()}) == 2 and len({s.colour for s in two.values()}) == 1
    # A hashed family landing on x264's colour and marker does not take x264's look.
    clash = next(f"codec{i}" for i in range(10_000) if (codec_style(f"codec{i}").colour,
                 codec_style(f"codec{i}").svg_marker) == (codec_style("x264").colour, "circle"))
    both = codec_styles(["x264", clash])
    assert both["x264"] == codec_style("x264") and both[clash].key() != both["x264"].key()


def _tex_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.tex"))


def test_the_latex_check_finds_an_overfull_table(tmp_path: Path) -> None:
    if PDFLATEX is None:
        pytest.skip(f"pdflatex is not installed (Debian's {TEX_PACKAGES})")
    wide = tmp_path / "wide.tex"
    wide.write_text("\\begin{table}[t]\\centering\\caption{c}\\begin{tabular}{lrrrrrrll}\\toprule\n"
                    + " & ".join(["a rather long heading"] * 9) + " \\\\\n\\bottomrule\\end{tabular}\\end{table}\n")
    problems = latex_problems(tex_page([wide], []), tmp_path)
    assert problems and "TABLE wide.tex: Overfull \\hbox" in problems[0]


@pytest.mark.slow
@pytest.mark.integration
def test_every_latex_table_and_figure_sets_in_a_two_column_page(exported: dict[str, Any], tmp_path: Path) -> None:
    if PDFLATEX is None:  # .ci/run installs Debian's TeX packages; elsewhere this check is skipped
        pytest.skip(f"pdflatex is not installed (Debian's {TEX_PACKAGES})")
    tables = _tex_files(exported["root"])
    assert {"complexity.tex", "summary.tex", "bd_report_psnr_y_rate_pchip_classes.tex"} <= {t.name for t in tables}
    assert len(tables) >= 30
    figures = [(p, float(re.search(rb"/MediaBox \[\s*0 0 ([\d.]+)", p.read_bytes()).group(1)) / 72 <= plots.COLUMN_W)
               for p in sorted((exported["published"] / "figures").glob("*.pdf"))]
    problems = latex_problems(tex_page(tables, figures), tmp_path)
    assert not problems, problems
    # The complexity table declared for a column or the page fits it; MS-SSIM is named with its scale.
    summary = (exported["two"] / "tables" / "summary.tex").read_text()
    assert "MS-SSIM-Y (dB)" in summary or "MS-SSIM-Y\\\\(dB)" in summary


def test_text_widths_agree_with_tex(tmp_path: Path) -> None:
    """The layout's width estimate against TeX's own measure (\\wd of an hbox) of cells the tables hold."""
    if PDFLATEX is None:
        pytest.skip(f"pdflatex is not installed (Debian's {TEX_PACKAGES})")
    cells = ["demo:x264 (preset: medium)", "encoder default (up to 2 cores)", r"$\mathbf{-23.2}$", r"$+5.0$$^\dagger$",
             r"demo\_slow:x264", "VTM-15.0 LD (published, CompressAI)", "all: mean of sequences", r"$1.50\times$",
             "MS-SSIM-RGB (dB)", "Peak memory (MiB)"]
    page = [r"\documentclass[10pt,twocolumn]{article}", r"\usepackage{times}", r"\begin{document}"]
    page += [f"\\setbox0\\hbox{{{c}}}\\typeout{{WIDTH{i}=\\the\\wd0}}" for i, c in enumerate(cells)]
    (tmp_path / "w.tex").write_text("\n".join([*page, r"\end{document}", ""]))
    out = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "w.tex"], cwd=tmp_path, capture_output=True,  # noqa: S603
                         text=True, timeout=120, check=False).stdout
    measured = {int(i): float(w) for i, w in re.findall(r"WIDTH(\d+)=([\d.]+)pt", out)}
    assert len(measured) == len(cells)
    for i, cell in enumerate(cells):
        assert text_width(cell) == pytest.approx(measured[i], rel=0.03), cell


def test_a_table_too_wide_for_a_column_goes_to_the_page_and_names_wrap() -> None:
    row = " & ".join(["$-12.3$"] * 10)
    tex = fit_table("\\begin{table}[t]\n\\centering\n\\caption{c}\n\\label{t}\n\\begin{tabular}{lrrrrrrrrrr}\n"
                    "\\toprule\nCodec & " + " & ".join(f"class {i}" for i in range(10)) + " \\\\\n\\midrule\n"
                    f"VTM-15.0 LD (published, CompressAI) & {row} \\\\\n\\bottomrule\n\\end{{tabular}}\n\\end{{table}}\n")
    assert tex.startswith("\\begin{table*}") and tex.rstrip().endswith("\\end{table*}")
    named = fit_table("\\begin{table}[t]\n\\centering\n\\caption{c}\n\\begin{tabular}{lrr}\n\\toprule\nCodec & A & B \\\\\n"
                      "\\midrule\nVTM-15.0 LD (published, CompressAI), reference software, low delay B, one intra "
                      "frame & $-1.0$ & $+2.0$ \\\\\n\\bottomrule\n\\end{tabular}\n\\end{table}\n")
    assert named.startswith("\\begin{table}[t]") and "\\begin{tabular}[t]{@{}l@{}}VTM-15.0 LD" in named
    small = fit_table("\\begin{table}[t]\n\\centering\n\\caption{c}\n\\begin{tabular}{lr}\n\\toprule\nCodec & all \\\\\n"
                      "\\midrule\nx264 & $-1.0$ \\\\\n\\bottomrule\n\\end{tabular}\n\\end{table}\n")
    assert small.startswith("\\begin{table}[t]") and "\\small" not in small and "tabcolsep" not in small


def _chromium(*args: str, tmp: Path) -> str:
    if not CHROMIUM:  # .ci/run installs Debian's chromium package; elsewhere the browser checks are skipped
        pytest.skip("chromium is not installed (Debian's chromium package)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120,  # noqa: S603
                          check=False).stdout


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.chromium
def test_the_per_frame_view_follows_the_selected_metric(exported: dict[str, Any], tmp_path: Path) -> None:
    page = (exported["two"] / "index.html").as_uri()
    for metric, label in (("psnr_y", "PSNR-Y [dB]"), ("ms_ssim_y_db", "MS-SSIM-Y [dB]"), ("psnr_rgb", "PSNR-RGB [dB]")):
        dom = _chromium("--dump-dom", f"{page}#metric={metric}&open=all", tmp=tmp_path)
        chart = re.search(r'<figure class="lazy" id="frames-quality-HopperPan"[^>]*>(.*?)</figure>', dom, re.S)
        assert chart and f"HopperPan: {label} per frame</text>" in chart.group(1), metric
        # The second run's open markers and dashed line are drawn in the page too.
        assert 'stroke-dasharray="5,3"' in chart.group(1) and 'fill="#fff"' in chart.group(1)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.chromium
def test_the_page_draws_no_empty_chart_and_lists_every_curve_drawn(exported: dict[str, Any], tmp_path: Path) -> None:
    """With published curves that lack a metric, the page draws no chart without data for it (it names those
    sequences instead), and every chart's legend lists exactly the curves it draws."""
    dom = _chromium("--dump-dom", (exported["published"] / "index.html").as_uri() + "#metric=ms_ssim_y_db&open=all",
                    tmp=tmp_path)
    assert 'id="seq-ms_ssim_y_db-UVG (dataset average)"' not in dom and ">no data<" not in dom
    assert "No chart: no curve of UVG (dataset average) has MS-SSIM-Y [dB]." in dom
    charts = re.findall(r'<figure class="lazy" id="(?:seq|class)-[^"]*"[^>]*>(.*?)</figure>', dom, re.S)
    assert len(charts) > 20
    for chart in charts:
        assert chart.count("<polyline") == chart.count('class="lg') > 0
