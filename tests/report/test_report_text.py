"""What the report says in words, checked against what its numbers are: the summary's note and headings follow
the BD kind and the metric's direction, a codec without a BD value is told why, curves of estimated bits keep
their run's origin and settings, missing cells are one test, and each figure process computes only its own
figures."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from bench.bd import ranking
from bench.bd.options import BDOptions
from bench.bd.sources import Source, sources_from
from bench.bd.tables import average_curve, jvet_summary, per_sequence
from bench.report import figure_workers, plots
from bench.report import html as report_html
from bench.report.origins import origins, setting_differences
from bench.report.page_tables import summary_note
from bench.report.styles import Origin
from bench.report.tables import missing


def _points(codec: str, shift: float, sequences: dict[str, str], dataset: str = "") -> list[dict[str, Any]]:
    """Four rate points per sequence on one RD shape, SHIFT dB above it."""
    return [{"codec": codec, "sequence": seq, "group": group, "rate_point": i, "status": "ok", "bpp": bpp,
             "frames": 10, "psnr_y": 30 + 3 * np.log2(bpp / 0.02) + shift, "dataset_average": dataset}
            for seq, group in sequences.items() for i, bpp in enumerate((0.02, 0.05, 0.1, 0.2), start=1)]


def _verdicts(points: pd.DataFrame, anchor: str) -> dict[str, str]:
    opts = BDOptions(metric="psnr_y")
    tables = {"psnr_y": (jvet_summary(per_sequence(points, anchor, opts)), average_curve(points, anchor, opts))}
    return {r.codec: r.verdict for r in ranking.ranked(tables, anchor)}


def test_a_codec_without_a_bd_value_is_told_why_in_words() -> None:
    run = _points("mine", 0.5, {"Beauty": "UVG", "Jockey": "UVG"})
    # A published dataset average of the same class: nothing shared sequence by sequence, one class curve.
    average = _points("published", 0.0, {"UVG (dataset average)": "UVG"}, dataset="uvg")
    verdict = _verdicts(pd.DataFrame(run + average), "published")["mine"]
    assert verdict == ("no BD value per sequence: no sequence in common with published; compared only as "
                       "class-averaged curves (the DCVC column)")
    # Another class only: nothing in common at all.
    other = _points("elsewhere", 0.0, {"Cactus": "B"})
    assert _verdicts(pd.DataFrame(run + other), "elsewhere")["mine"] == \
        "no BD value: no sequence or class in common with elsewhere"
    # Every sequence of the codec unusable: how many, and why, in words (the key stays in the CSV).
    broken = [{**p, "psnr_y": math.nan} if p["rate_point"] == 2 else p for p in _points("b", 0.3, {"S": "g", "T": "g"})]
    points = pd.DataFrame(_points("a", 0.0, {"S": "g", "T": "g"}) + broken)
    assert _verdicts(points, "a")["b"] == \
        "no BD value: no sequence usable (2 sequences with a value that is not a finite number)"
    summary = jvet_summary(per_sequence(points, "a", BDOptions(metric="psnr_y")))
    assert set(summary["unusable"]) == {"non_finite=2"}  # both sequences, in class g and over all


def _quality_page(tmp_path: Path) -> str:
    csv = tmp_path / "two.csv"
    rows = pd.DataFrame(_points("anchor", 0.0, {"S": "g", "T": "g"}) + _points("better", 0.5, {"S": "g", "T": "g"}))
    rows[["codec", "sequence", "group", "rate_point", "bpp", "psnr_y"]].to_csv(csv, index=False)
    path = report_html.build_report(sources_from([str(csv)]), tmp_path / "report", "t", "anchor",
                                    bd=BDOptions(kind="quality", metric="psnr_y"), figures=False)
    return path.read_text()


def test_a_bd_quality_page_says_which_way_is_better_and_what_it_holds(tmp_path: Path) -> None:
    page = _quality_page(tmp_path)
    note = re.search(r'<p class="note" id="summary-note">(.*?)</p>', page, re.S)
    assert note is not None
    # The codec 0.5 dB above the anchor: a positive BD-PSNR, green, and the note says higher is better.
    assert "higher is better for PSNR-Y" in note.group(1) and "negative" not in note.group(1)
    assert "green where the codec does better than anchor (a higher value)" in note.group(1)
    row = re.search(r"<tr><td>1</td><td>better</td><td style=\"background:(#[0-9a-f]{6})\"[^>]*><strong>\+0\.50",
                    page)
    assert row is not None and row.group(1) == ranking.colour(0.5, "quality", True) != ranking.colour(-0.5, "quality")
    # Headings name what the tables hold: BD-PSNR-Y in dB, never "BD-rate".
    headings = re.findall(r"<h4>(BD[^<]*)</h4>", page)
    assert headings == ["BD-PSNR-Y [dB]: per-sequence mean (JVET)", "BD-PSNR-Y [dB]: averaged curve (DCVC)"]
    assert "BD-rate" not in page.split('id="summary"')[1].split('id="frames"')[0]


def test_the_summary_note_names_every_flag_and_why_sequences_were_left_out() -> None:
    cell = ranking.Cell(-5.0, "repaired", (-7.0, -3.0), -5.5, "3/4", 3, unusable="mixed_origins=1",
                        flags=("repaired", "incomplete"))
    plain = ranking.Cell(-2.0, "ok", (-3.0, -1.0), -2.0, "4/4", 4)
    rows = [ranking.Row("x", {"psnr_y": cell}), ranking.Row("y", {"psnr_y": plain})]
    note = summary_note(rows, ["psnr_y"], "anchor", "rate")
    assert note.startswith(ranking.sign_note(["psnr_y"], "anchor", "rate"))
    assert "\u2020 flagged: " in note and "repaired" in note and "only some of its sequences" in note
    assert "Sequences left out of a flagged mean: mixed origins" in note
    assert "\u2020" not in summary_note(rows[1:], ["psnr_y"], "anchor", "rate")  # no flag shown: none explained


def _record(name: str, own: str, estimated: bool) -> dict[str, Any]:
    r = copy.deepcopy(json.loads((REPO / "tests" / "data" / "record.json").read_text()))
    r["codec"].update(name=name, name_in_source=own)
    r["rate"]["bits_source"] = "estimated" if estimated else "bitstream"
    return r


def test_curves_of_estimated_bits_keep_their_runs_origin_and_settings() -> None:
    def run(label: str, preset: str) -> Source:
        text = f"codecs:\n  - {{name: x264, descriptor: x264, params: {{preset: {preset}}}}}\n"
        return Source(label, [_record(f"{label}:x264", "x264", est) for est in (False, True)], condition_text=text)

    sources = [run("a", "medium"), run("b", "slower")]
    where = origins(sources)
    assert where["b:x264 (estimated bits)"] == where["b:x264"] == Origin(source=1)
    assert where["a:x264 (estimated bits)"] == Origin(source=0)
    differ = setting_differences(sources)
    assert differ["b:x264 (estimated bits)"] == differ["b:x264"] == "preset: slower"
    assert differ["a:x264 (estimated bits)"] == "preset: medium"
    styles = report_html.report_styles(sources, list(where), "a:x264", differ)
    assert styles["b:x264 (estimated bits)"].label == "b:x264 (estimated bits) (preset: slower)"
    assert len({s.key() for s in styles.values()}) == len(styles)


def test_the_settings_of_the_runs_are_read_once_per_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = report_html.setting_differences
    monkeypatch.setattr(report_html, "setting_differences", lambda sources: calls.append(1) or real(sources))
    _quality_page(tmp_path)
    assert len(calls) == 1


def test_one_test_for_a_missing_cell() -> None:
    for absent in (None, math.nan, np.float32("nan"), np.float64("nan"), pd.NA, pd.NaT, ""):
        assert missing(absent), absent
    for present in (0, 0.0, "0", "x", np.float32(1.5), -1):
        assert not missing(present), present


def test_each_figure_process_computes_only_its_own_figures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bench.bd.tables

    metrics = ["psnr_y", "psnr_u", "psnr_v", "psnr_yuv_611"]
    points = pd.DataFrame(_points("a", 0.0, {"S": "g", "T": "h"}) + _points("b", 0.3, {"S": "g", "T": "h"}))
    for m in metrics[1:]:
        points[m] = points["psnr_y"] + 1
    averaged: list[str] = []
    real = bench.bd.tables.class_average_points
    monkeypatch.setattr(bench.bd.tables, "class_average_points",
                        lambda pts, metric: averaged.append(metric) or real(pts, metric))
    drawn: list[str] = []
    monkeypatch.setattr(plots, "_figure", lambda panels, metric, width, styles, stem: drawn.append(stem.name) or [])
    parts = figure_workers.EXPORT_PROCESSES
    per_part = []
    for part in range(parts):
        averaged.clear()
        before = len(drawn)
        plots.export_rd_figures(points, metrics, tmp_path, part, parts)
        per_part.append((list(averaged), drawn[before:]))
        # Only the class-averaged figures of this process's share are computed, each once.
        assert sorted(averaged) == sorted(s.removeprefix("rd_classes_") for s in drawn[before:]
                                          if s.startswith("rd_classes_"))
    assert sum(len(a) for a, _ in per_part) == len(metrics)  # over all processes: each metric once
    assert sorted(drawn) == sorted({*(f"rd_classes_{m}" for m in metrics), "rd_sequences_g_psnr_y",
                                    "rd_sequences_h_psnr_y"})


def _timed(name: str, rate_point: int, timing: dict[str, Any], complexity: dict[str, Any] | None) -> dict[str, Any]:
    r = _record(name, name, False)
    r.update(rate_point=rate_point, key=f"{name}-{rate_point}".ljust(64, "0"), complexity=complexity)
    r["timing"] = {**r["timing"], **timing}
    return r


def test_the_complexity_tex_has_no_nan_whole_thread_counts_and_says_why_a_cell_is_empty(tmp_path: Path) -> None:
    """A traditional codec with its thread count in one job only (a gap makes the column float: 1 read "1.0")
    and a model with parameters and kMAC/pixel but no thread count: every cell a number, a whole thread count
    or a dash, and a note saying why each kind of dash is there."""
    mib = 2**20
    tool = [_timed("x264", 22, {"threads": 1, "encode_fps_median": 40.0, "decode_fps_median": 200.0,
                                "peak_rss_bytes": 50 * mib}, None),
            _timed("x264", 27, {"encode_fps_median": 50.0, "decode_fps_median": 300.0, "peak_rss_bytes": 60 * mib},
                   None)]
    model = [_timed("model", q, {"encode_fps_median": 2.0, "decode_fps_median": 4.0, "peak_rss_bytes": 700 * mib},
                    {"params": 2_500_000, "encode_kmac_per_pixel": 12.5, "decode_kmac_per_pixel": 7.3}) for q in (1, 2)]
    report_html.build_report([Source("run", tool + model, run=True)], tmp_path / "rep", "t", None, figures=False)
    tex = (tmp_path / "rep" / "tables" / "complexity.tex").read_text()
    rows = {line.split(" & ")[0]: line.removesuffix(r" \\").split(" & ")[1:] for line in tex.splitlines()
            if line.startswith(("x264 & ", "model & "))}
    # fps: the median over jobs (45 = median of 40 and 50); memory: the largest job's; threads: 1, not 1.0.
    assert rows["x264"] == ["--", "--", "--", "45.0", "250.0", "60", "1", "cpu"], rows
    assert rows["model"] == ["2.50", "12.5", "7.3", "2.0", "4.0", "700", "--", "cpu"], rows
    assert "nan" not in tex.lower() and "1.0 &" not in tex
    note = tex.split(r"\end{tabular}")[1]
    assert note.count("--: not known.") == 1
    for why in ("Params: counted only", "kMAC/pixel: counted only", "Threads: the adapter sets no thread count"):
        assert note.count(why) == 1, (why, note)
    assert "Frames/s:" not in note and "Peak memory:" not in note  # no dash there: nothing to explain
