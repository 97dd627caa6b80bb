"""The Python API (bench.api) is the command line's engine: the README's example runs as written, its records are
the ones ``evaluate.py run`` leaves, its BD tables equal the ones ``evaluate.py bd`` writes for the same folder,
a second call codes nothing, and your own model's entry (model_codec) runs through the python-model adapter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import REPO

from bench import api
from bench.cli import main


def _readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.slow
@pytest.mark.integration
def test_the_readme_example_runs_and_is_the_clis_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # results/ as the example leaves it: relative to where it runs
    names: dict[str, Any] = {}
    exec(compile(_readme_example(), "README.md (Python API)", "exec"), names)  # noqa: S102
    run, tables = names["run"], names["tables"]
    assert run.results_dir == tmp_path / "results" / "demo.first8.seq-HopperPan" and run.failed == 0
    assert sorted(run.summary["codec"].unique()) == ["x264", "x265"] and len(run.summary) == 8
    assert list(run.frames["frame"].unique()) == list(range(8))
    # The command line's bd on the same folder writes the same class table.
    assert main(["bd", str(run.results_dir), "--anchor", "x265", "--out", str(tmp_path / "bd")]) == 0
    [written] = (tmp_path / "bd").glob("bd_cli_psnr_yuv_611_*_classes.csv")
    cli = pd.read_csv(written, comment="#")
    ours = tables.classes
    assert len(cli) == len(ours) > 0
    # The CSV keeps 6 decimals: equal to within half of the last.
    assert cli["value"].tolist() == pytest.approx(ours["value"].astype(float).tolist(), abs=5e-7)
    x264 = float(ours.loc[ours["codec"] == "x264", "value"].iloc[0])
    assert x264 > 0  # x264 spends more bits than x265 for the same quality here (a sanity check, not a target)
    # Nothing is coded again, and the records are the same.
    again = api.evaluate("demo", codecs=["x264", "x265"], sequences=["HopperPan"], frames=8)
    assert again.coded == 0 and [r["key"] for r in again.records] == [r["key"] for r in run.records]
    assert not (tmp_path / "reports").exists()  # no report unless asked
    capsys.readouterr()


def test_codecs_without_the_anchor_leave_none_unless_one_is_named(tmp_path: Path) -> None:
    assert api._overrides("x265", ["x264"], None, api.KEEP) == {"codecs": ["x264"], "anchor": None}
    assert api._overrides("x265", ["x264", {"descriptor": "x265"}], None, api.KEEP) == \
        {"codecs": ["x264", {"descriptor": "x265"}]}
    assert api._overrides("x265", None, "mine", "x264") == {"name": "mine", "anchor": "x264"}


@pytest.mark.slow
@pytest.mark.integration
def test_your_own_model_through_model_codec(tmp_path: Path) -> None:
    example = REPO / "examples" / "python_model"
    dct = api.model_codec("dct", "dct_codec:make_codec", [40, 85], kind="video", options={"block": 8},
                          path=[example])
    run = api.evaluate("demo", codecs=[dct], sequences=["HopperPan"], frames=2, name="api_dct",
                       results=tmp_path / "results")
    assert run.condition.anchor is None and run.failed == 0 and len(run.records) == 2
    rows = run.summary.sort_values("rate_point")
    assert rows["bpp"].is_monotonic_increasing and rows["psnr_yuv_611"].is_monotonic_increasing
    assert all(r["codec"]["adapter"] == "python-model" for r in run.records)
    with pytest.raises(Exception, match="no anchor"):
        run.bd()


@pytest.mark.integration
def test_an_evaluation_keeps_its_own_records_when_a_later_one_reuses_its_folder(tmp_path: Path) -> None:
    """Two 'checkpoints' (x264 presets) evaluated under one name share the anchor's records; each evaluation's BD
    table is computed from its own records, and comparing the two in one table asks for a name each."""
    def checkpoint(preset: str) -> api.Evaluation:
        return api.evaluate("demo", codecs=[{"descriptor": "x264", "params": {"preset": preset}}, "x265"],
                            name="ck", sequences=["HopperPan"], frames=2, results=tmp_path / "results")

    first, second = checkpoint("ultrafast"), checkpoint("slow")
    assert second.coded == 4  # x265's four jobs were found, x264's coded again
    bits = [sorted(e.summary.loc[e.summary["codec"] == "x264", "bpp"]) for e in (first, second)]
    assert bits[0] != bits[1]
    values = [float(e.bd("x265").classes["value"].iloc[0]) for e in (first, second)]
    assert values[0] != values[1]
    with pytest.raises(Exception, match="two evaluations of one results folder"):
        api.bd([first, second], "x265")
