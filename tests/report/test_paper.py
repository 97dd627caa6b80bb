"""The answer at a glance and camera-ready exports: a ranked summary (text, Markdown, LaTeX), stable codec
styles, paper figures with embedded TrueType fonts at column and page width, and the first-hour commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from bench.bd import ranking
from bench.bd.tables import CLASS_MEAN, JVET, OVERALL
from bench.cli import main
from bench.report.latex import fit_table
from bench.report.styles import Origin, codec_style, codec_styles


def _tables() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    def classes(values: dict[str, tuple[float, str, float, float]]) -> pd.DataFrame:
        return pd.DataFrame([{"codec": c, "group": OVERALL, "convention": JVET, "value": v, "status": st,
                              "sequences_used": 4, "sequences": 4, "ci_low": lo, "ci_high": hi}
                             for c, (v, st, lo, hi) in values.items()])

    def averaged(values: dict[str, float]) -> pd.DataFrame:
        return pd.DataFrame([{"codec": c, "group": CLASS_MEAN, "value": v, "status": "ok"} for c, v in values.items()])

    return {"psnr_y": (classes({"b": (-20.0, "ok", -25.0, -15.0), "c": (5.0, "low_overlap", -3.0, 12.0)}),
                       averaged({"b": -22.0, "c": 4.0})),
            "ms_ssim_y_db": (classes({"b": (-10.0, "ok", -12.0, -8.0), "c": (-30.0, "ok", -35.0, -25.0)}),
                             averaged({"b": -11.0, "c": -31.0}))}


def test_ranked_summary_orders_flags_and_keeps_failures() -> None:
    rows = ranking.ranked(_tables(), "a", failures={"d": "4 of 4 jobs failed: encoder not found"})
    assert [r.codec for r in rows] == ["b", "c", "d"]  # by the first metric; the failed codec kept, last
    assert rows[0].verdict.startswith("20.0 % fewer bits than a for the same PSNR-Y (95 % CI -25.0 to -15.0, "
                                      "Student t over 4 sequences: clear)")
    assert "the sign is not certain" in rows[1].verdict and "low overlap" in rows[1].verdict
    assert rows[2].verdict == "no BD value (no results); 4 of 4 jobs failed: encoder not found"
    text = ranking.as_text(rows, list(_tables()))
    assert re.search(r"^2\s+c\s+\+5\.00\*", text, re.MULTILINE)
    md = ranking.as_markdown(rows, list(_tables()), "a")
    assert "| 1 | b | **-20.00** | [-25.0, -15.0] (n=4) | **-22.00** |" in md and "+5.00†" in md
    tex = ranking.as_latex(rows, list(_tables()), "a", "BD_rate 100%")
    # The best value of each column in bold, a true minus (math mode), the flag explained, a label.
    assert r"$\mathbf{-20.0}$" in tex and r"$\mathbf{-31.0}$" in tex and "$+5.0$$^\\dagger$" in tex
    assert r"$^\dagger$: low overlap" in tex and r"\label{tab:bd-summary}" in tex and "BD\\_rate 100\\%" in tex
    assert "PSNR-Y" in tex and "[dB]" not in tex  # cells are percent: no unit in the metric header
    assert ranking.colour(-30.0) != ranking.colour(30.0) and ranking.colour(None) == "#f2f2f2"
    # Time columns when asked: relative to the anchor's, explained under the table.
    ranking.attach_times(rows, pd.DataFrame({"codec": ["b", "c"], "encode_ratio": [1.5, 0.25],
                                             "decode_ratio": [2.0, None], "sequences": [4, 4]}))
    timed = ranking.as_latex(rows, ["psnr_y"], "a", "t", times="shared machine")
    assert r"& Enc. & Dec. \\" in timed and r"$1.50\times$ & $2.00\times$ \\" in timed and r"$0.25\times$ & --" in timed
    assert "relative to the anchor's" in timed and "shared machine" in timed and r"\begin{table}[t]" in timed
    # The writer chooses no layout (no table*, no column gap of its own): fit_table, which every caller applies
    # once, takes the page width where the columns need it (2 metrics + times), else one column.
    four = ranking.as_latex(rows, [*_tables(), "psnr_u", "psnr_v"], "a", "t", times="x")
    assert r"\begin{table}[t]" in four and "table*" not in four and "tabcolsep" not in four
    assert r"\begin{table*}" in fit_table(ranking.as_latex(rows, list(_tables()), "a", "t", times="x"))
    assert r"\begin{table}[t]" in fit_table(ranking.as_latex(rows, list(_tables()), "a", "t"))
    assert "Enc." not in ranking.as_latex(rows, ["psnr_y"], "a", "t")
    # Display labels replace the codec names in every table.
    labelled = ranking.ranked(_tables(), "a", labels={"b": "Codec B (ours)", "a": "Anchor A"})
    assert labelled[0].label == "Codec B (ours)" and "than Anchor A" in labelled[0].verdict
    assert "| 1 | Codec B (ours) |" in ranking.as_markdown(labelled, ["psnr_y"], "Anchor A")


def test_codec_styles_depend_on_the_name_only() -> None:
    assert codec_styles(["x264", "x265"])["x264"] == codec_styles(["svtav1", "x264", "zz"])["x264"]
    assert codec_style("my-new-codec") == codec_style("my-new-codec")
    assert codec_style("x265", anchor="x265").anchor and not codec_style("x264", anchor="x265").anchor
    two_runs = codec_style("demo:x265"), codec_style("demo_ip8:x265", origin=Origin(source=1))
    assert two_runs[0].colour == two_runs[1].colour == codec_style("x265").colour
    assert (two_runs[0].line, two_runs[0].filled, two_runs[1].line, two_runs[1].filled) == ("solid", True, "dashed", False)
    # A descriptor's display block overrides label, colour and marker; the rest stays by name.
    mine = codec_styles(["x264", "ours (estimated bits)"], None, {"ours": {"label": "Ours", "colour": "#123456",
                                                                            "marker": "star"}})
    assert (mine["ours (estimated bits)"].label, mine["ours (estimated bits)"].colour) == \
        ("Ours (estimated bits)", "#123456")
    assert mine["ours (estimated bits)"].svg_marker == "star" and mine["x264"] == codec_style("x264")


def test_display_block_is_checked(tmp_path: Path) -> None:
    from bench.conditions.condition import load_condition
    from bench.errors import ConditionError

    cond = tmp_path / "c.yaml"
    base = "name: c\ndataset: demo\nframes: {first: 0, count: 2}\n"
    cond.write_text(base + "codecs: [{descriptor: x265, display: {label: X, colour: '#0a0B0c'}}]\n")
    assert load_condition(cond).displays() == {"x265": {"label": "X", "colour": "#0a0B0c"}}
    for bad, says in (("colour: red", "codecs[0].display.colour: 'red' is not a colour; write it as #rrggbb"),
                      ("marker: blob", "codecs[0].display.marker"), ("size: 3", "unknown key 'size'")):
        cond.write_text(base + f"codecs: [{{adapter: x265, name: a, rate_points: [22], display: {{{bad}}}}}]\n")
        with pytest.raises(ConditionError, match=re.escape(says)):
            load_condition(cond)


@pytest.mark.slow
def test_paper_figures_embed_truetype_fonts_at_column_and_page_width(tmp_path: Path) -> None:
    from bench.report.plots import COLUMN_W, PAGE_W, export_rd_figures

    rows = [{"codec": c, "group": "A", "sequence": s, "rate_point": i, "status": "ok", "frames": 10,
             "bpp": 0.05 * i, "psnr_y": 30 + 2 * i + (0.5 if c == "b" else 0)}
            for c in ("a", "b") for s in ("s1", "s2", "s3", "s4", "s5") for i in range(1, 5)]
    names = export_rd_figures(pd.DataFrame(rows), ["psnr_y"], tmp_path, anchor="a")
    assert {"rd_classes_psnr_y.pdf", "rd_sequences_A_psnr_y.pdf"} <= set(names)
    for name, width in (("rd_classes_psnr_y.pdf", COLUMN_W), ("rd_sequences_A_psnr_y.pdf", PAGE_W)):
        pdf = (tmp_path / name).read_bytes()
        assert b"/Type3" not in pdf and b"/FontFile2" in pdf  # TrueType embedded, never Type 3
        assert b"DejaVuSerif" in pdf and b"DejaVuSans" not in pdf  # serif by default
        box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
        assert box is not None and float(box.group(1)) == pytest.approx(72 * width, abs=0.5)
    export_rd_figures(pd.DataFrame(rows), ["psnr_y"], tmp_path / "sans", anchor="a", family="sans")
    pdf = (tmp_path / "sans" / "rd_classes_psnr_y.pdf").read_bytes()
    assert b"DejaVuSans" in pdf and b"DejaVuSerif" not in pdf and b"/Type3" not in pdf


@pytest.mark.integration
def test_first_hour_commands(capsys: pytest.CaptureFixture, tmp_path: Path, clip_dir: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and re.fullmatch(r"lvc-bench \S+\n", capsys.readouterr().out)
    assert main(["validate", "--conditions", "demo"]) == 0  # a name finds conditions/demo.yaml
    assert "demo: 4 sequences" in capsys.readouterr().out
    assert main(["doctor"]) == 0  # optional tools that are missing are "n/a", not failures
    out = capsys.readouterr().out
    assert "FAIL" not in out and "  ok   x265:" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--conditions demo [--data-root DIR] [--jobs N]" in capsys.readouterr().out
    # A sequence given by its absolute path needs no data root.
    cond = tmp_path / "abs.yaml"
    cond.write_text(f"name: abs\nsequences: [{{name: Pan, file: {clip_dir / 'Pan_96x64_30.yuv'}}}]\n"
                    "frames: {first: 0, count: 2}\ncodecs: [x265]\n")
    monkeypatch.delenv("LVCBENCH_DATA_ROOT", raising=False)
    assert main(["validate", "--conditions", str(cond)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    # A codec that cannot run at all says so first and only that: not the unset ${VAR} of its descriptor, whose
    # fix would not help (tests/checks/test_doctor.py: the rule is the adapter's).
    monkeypatch.delenv("LVCBENCH_DHVC_ROOT", raising=False)
    assert main(["doctor", "dhvc-2.0"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("  FAIL dhvc-2.0: DHVC 2.0 is not available upstream") and "LVCBENCH_DHVC_ROOT" not in out


@pytest.mark.slow
@pytest.mark.integration
def test_doctor_prints_no_warning(tmp_path: Path) -> None:
    """A fresh interpreter (compressai is imported once per process) and an empty probe cache (every tool probed
    now): neither torch's FutureWarning about compressai's torch.jit.script nor any ResourceWarning of ours is
    shown among doctor's lines."""
    for named in ([], ["compressai"]):  # `doctor` alone imports no compressai: named, it is imported
        done = subprocess.run([sys.executable, "-W", "default", str(REPO / "evaluate.py"), "doctor", *named],
                              capture_output=True, text=True, check=False, cwd=REPO, timeout=300,
                              env={**os.environ, "LVCBENCH_CACHE": str(tmp_path / "cache")})
        assert done.returncode == 0 and "ok   compressai: compressai" in done.stdout, done.stdout + done.stderr
        assert "Warning" not in done.stderr, done.stderr
