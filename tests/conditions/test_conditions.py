"""Conditions: the shipped files load; every kind of mistake names the file and the key path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from bench.conditions.condition import load_codec_descriptor, load_condition
from bench.errors import ConditionError

BASE = """
name: t
dataset: hevc_d
frames: {first: 0, count: 8}
intra_period: 4
codecs: [x264]
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_conditions_load() -> None:
    demo = load_condition(REPO / "conditions/demo.yaml")
    assert demo.name == "demo" and demo.frames.count == 32 and demo.intra_period == 32
    assert [c.name for c in demo.codecs] == ["x264", "x265", "vvenc", "svtav1"]
    assert demo.codec("x265").rate_points == (22, 27, 32, 37)
    hevc_b = load_condition(REPO / "conditions/hevc_b_ip32.yaml")
    assert [s.name for s in hevc_b.sequences] == ["BQTerrace", "BasketballDrive", "Cactus", "Kimono1", "ParkScene"]
    assert (hevc_b.frames.count, hevc_b.intra_period, hevc_b.colour.source_format) == (96, 32, "yuv420p")
    uvg = load_condition(REPO / "conditions/uvg_ip32_96f.yaml")
    assert len(uvg.sequences) == 7 and uvg.frames.count == 96


def test_condition_is_frozen(tmp_path: Path) -> None:
    c = load_condition(write(tmp_path, BASE))
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.intra_period = 8  # type: ignore[misc]


def test_extends_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "frames: {first: 2, count: 10}\nintra_period: 8\ncodecs: [x264, x265]\n"
                    "metrics: {pooling: psnr_of_mean_mse}\n", "base.yaml")
    c = load_condition(write(tmp_path, "extends: base.yaml\ndataset: hevc_d\nframes: {count: 5}\ncodecs: [x265]\n"))
    assert (c.frames.first, c.frames.count, c.intra_period) == (2, 5, 8)
    assert [x.name for x in c.codecs] == ["x265"]
    assert c.metrics.pooling == "psnr_of_mean_mse"


def test_env_expansion_and_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_DATA", str(tmp_path / "seqs"))
    monkeypatch.setenv("LVCBENCH_DATA_ROOT", str(tmp_path / "env"))
    c = load_condition(write(tmp_path, BASE + "data_root: ${MY_DATA}/d\n"))
    assert c.data_root == tmp_path / "seqs" / "d"
    assert load_condition(write(tmp_path, BASE), tmp_path / "cli").data_root == tmp_path / "cli"
    assert load_condition(write(tmp_path, BASE)).data_root == tmp_path / "env"


def test_frames_all_and_inline_codec(tmp_path: Path) -> None:
    c = load_condition(write(tmp_path, BASE.replace("count: 8", "count: all").replace(
        "codecs: [x264]", "codecs:\n  - {name: fast264, adapter: x264, params: {preset: veryfast}, rate_points: [30, 40]}\n"
                          "  - {descriptor: x265, name: x265-slow, params: {preset: slow}, rate_points: [30]}")))
    assert c.frames.count is None
    assert c.codec("fast264").params_dict["preset"] == "veryfast"
    slow = c.codec("x265-slow")
    assert (slow.adapter, slow.params_dict["preset"], slow.rate_points) == ("x265", "slow", (30,))


@pytest.mark.integration
@pytest.mark.parametrize(("text", "message"), [
    (BASE + "colour: {matrix: bt709, rnage: full}\n", r"c.yaml: colour: unknown key 'rnage'"),
    (BASE + "frame_rate: 30\n", r"c.yaml: \(top level\): unknown key 'frame_rate'"),
    (BASE.replace("intra_period: 4", "intra_period: 0"), r"c.yaml: intra_period: must be -1 .* got 0"),
    (BASE.replace("intra_period: 4", "intra_period: '32'"), r"c.yaml: intra_period: expected an integer, got a string"),
    (BASE.replace("count: 8", "count: 0"), r"c.yaml: frames.count: must be at least 1"),
    (BASE.replace("count: 8", "count: some"), r"c.yaml: frames.count: expected a frame count or 'all'"),
    (BASE + "colour: {coding_format: 4:2:0}\n", r"c.yaml: colour.coding_format: expected a string, got an integer "
                                                r"14520 \(YAML read it as a non-string: put it in quotes"),
    (BASE + "spatial: {mode: pad, multiple: 64, pad: no}\n", r"c.yaml: spatial.pad: expected a string, got a boolean"),
    (BASE + "spatial: {mode: pad}\n", r"spatial.multiple: mode pad needs a multiple greater than 1"),
    (BASE + "metrics: {pooling: median}\n", r"c.yaml: metrics.pooling: 'median' is not one of mean_psnr, psnr_of_mean_mse"),
    (BASE.replace("codecs: [x264]", "codecs: [x266]"), r"c.yaml: codecs\[0\]: unknown codec 'x266' \(did you mean x265 or x264\? \d+ known codecs: `evaluate.py ls`\): no x266.yaml in"),
    (BASE.replace("codecs: [x264]", "codecs:\n  - {descriptor: x264, rate_points: [22, 60]}"),
     r"c.yaml: codecs\[0\] \(descriptor x264.yaml\).rate_points\[1\]: 60 is not a valid QP for x264: "
     r"expected an integer 0..51"),
    (BASE.replace("codecs: [x264]", "codecs:\n  - {name: a, adapter: x264, rate_points: [22.5]}"),
     r"codecs\[0\].rate_points\[0\]: 22.5 is not a valid QP for x264"),
    (BASE.replace("codecs: [x264]", "codecs:\n  - {name: a, adapter: x264, params: {presett: fast}, rate_points: [22]}"),
     r"codecs\[0\].params: unknown parameter 'presett' for adapter x264"),
    (BASE.replace("codecs: [x264]", "codecs:\n  - {name: a, adapter: h264, rate_points: [22]}"),
     r"codecs\[0\].adapter: unknown adapter 'h264' \(did you mean x264\? \d+ known adapters: `evaluate.py ls`\), "
     r"or package.module:Class for one of your own; a plug-in's adapter \(lvcbench.adapters\) is found only when "
     r"installed in the Python that runs evaluate.py, "),
    (BASE.replace("codecs: [x264]", "codecs: [x264, x264]"), r"codec name 'x264' is used twice"),
    (BASE + "anchor: vtm\n", r"c.yaml: anchor: anchor 'vtm' is not one of the condition's codecs"),
    (BASE.replace("dataset: hevc_d", "dataset: hevc_z"), r"c.yaml: dataset: 'hevc_z' is not one of"),
    (BASE + "sequences: [BasketballPass, Foreman]\n", r"c.yaml: sequences\[1\]: unknown sequence 'Foreman' in dataset hevc_d"),
    (BASE + "data_root: ${SURELY_NOT_SET_VAR}\n", r"c.yaml: data_root: environment variable SURELY_NOT_SET_VAR is not set"),
    ("- a\n- b\n", r"c.yaml: the top level must be a mapping"),
    ("name: [unclosed\n", r"c.yaml: not valid YAML"),
])
def test_bad_conditions_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        load_condition(write(tmp_path, text))


def test_missing_condition_file(tmp_path: Path) -> None:
    with pytest.raises(ConditionError, match=r"nope.yaml: file not found"):
        load_condition(tmp_path / "nope.yaml")


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConditionError, match="extends itself"):
        load_condition(tmp_path / "a.yaml")


@pytest.mark.integration
def test_extends_finds_the_suites_conditions_by_name(tmp_path: Path) -> None:
    """``extends: demo`` from a condition in any folder is the suite's conditions/demo.yaml (as --conditions demo
    is); a file of that name next to the condition comes first; a name that is neither is refused naming both."""
    suite = load_condition(REPO / "conditions" / "demo.yaml")
    for parent in ("demo", "demo.yaml"):
        mine = load_condition(write(tmp_path, f"extends: {parent}\nname: quick\nframes: {{first: 0, count: 4}}\n"))
        assert mine.name == "quick" and mine.frames.count == 4 and mine.frames.count != suite.frames.count
        assert [c.name for c in mine.codecs] == [c.name for c in suite.codecs] and mine.anchor == suite.anchor
    write(tmp_path, "name: local\ndataset: demo\nsequences: [HopperPan]\ncodecs: [x264]\n", "demo.yaml")
    mine = load_condition(write(tmp_path, "extends: demo.yaml\nname: quick\n", "quick.yaml"))
    assert [s.name for s in mine.sequences] == ["HopperPan"] and [c.name for c in mine.codecs] == ["x264"]
    with pytest.raises(ConditionError, match=r"extends: 'nosuch' is not a file next to it \(not found\) nor one of "
                                             r"the suite's conditions \(evaluate.py ls lists them\)$"):
        load_condition(write(tmp_path, "extends: nosuch\nname: quick\n", "bad.yaml"))


def test_source_format_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConditionError, match=r"colour.source_format: sequence BasketballPass is yuv420p, not"):
        load_condition(write(tmp_path, BASE + "colour: {source_format: yuv420p10le}\n"))


def test_every_shipped_descriptor_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """codecs/*.yaml: valid parameters and rate points for their adapters (paths are not checked here)."""
    monkeypatch.setenv("LVCBENCH_DCVC_ROOT", str(tmp_path))
    monkeypatch.setenv("LVCBENCH_DHVC_ROOT", str(tmp_path))
    shipped = sorted((REPO / "codecs").glob("*.yaml"))
    assert {p.stem for p in shipped} >= {"x264", "x265", "vtm", "hm", "dcvc-fm", "dcvc-rt", "evc"}
    for path in shipped:
        spec = load_codec_descriptor(path)
        assert spec.adapter and spec.rate_points, path


@pytest.mark.integration
def test_the_stored_condition_is_merged_expanded_and_loads_to_the_same_jobs(tmp_path: Path, clip_dir: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """results/<name>/condition.yaml holds the condition as run: a leaf that extends a parent and takes its data
    root from ${VAR} stores every key of both, the root as found and each codec in full, and planning from the
    stored file gives the same jobs (keys) after the parent and the variable are gone."""
    from conftest import condition_file

    from bench.run.runner import RunOptions, plan, run_condition

    parent = condition_file(tmp_path, clip_dir, codecs="", name="parent", extra=(
        "codecs:\n  - {descriptor: x264, params: {preset: ultrafast}, rate_points: [30, 40], "
        "display: {label: 'x264 (ultrafast)'}}"))
    text = parent.read_text().replace(f"data_root: {clip_dir}", "data_root: ${CLIPS}")
    parent.write_text(text)
    monkeypatch.setenv("CLIPS", str(clip_dir))
    leaf = tmp_path / "leaf.yaml"
    leaf.write_text("extends: parent.yaml\nname: leaf\nframes: {first: 0, count: 2}\n")
    condition = load_condition(leaf)
    run_condition(condition, RunOptions(tmp_path / "results", progress=False))
    stored = tmp_path / "results" / "leaf" / "condition.yaml"
    doc = yaml.safe_load(stored.read_text())
    assert "extends" not in doc and doc["data_root"] == str(clip_dir) and doc["intra_period"] == 4
    assert doc["codecs"][0]["adapter"] == "x264" and doc["codecs"][0]["params"]["preset"] == "ultrafast"
    assert doc["codecs"][0]["display"] == {"label": "x264 (ultrafast)"} and doc["frames"] == {"first": 0, "count": 2}
    parent.unlink()
    monkeypatch.delenv("CLIPS")
    again = load_condition(stored)
    assert [j.key for j in plan(again)[0]] == [j.key for j in plan(condition)[0]]
    assert again.coding_fields() == condition.coding_fields() and again.displays() == condition.displays()


def test_every_shipped_descriptor_survives_being_written_out(tmp_path: Path) -> None:
    """Each descriptor that loads here (those needing an unset ${VAR} aside), written out in full and read back,
    is the same codec: adapter, parameters, rate points, description."""
    from bench.conditions.condition import REPO_ROOT, ConditionError

    checked = 0
    for descriptor in sorted((REPO_ROOT / "codecs").glob("*.yaml")):
        cond = tmp_path / f"{descriptor.stem}.yaml"
        cond.write_text(f"name: c\ndataset: demo\ncodecs: [{descriptor.stem}]\n")
        try:
            condition = load_condition(cond)
        except ConditionError:
            continue
        cond.write_text(condition.expanded_text())
        [again], [first] = load_condition(cond).codecs, condition.codecs
        assert (again.name, again.adapter, again.params, again.rate_points, again.description) == \
            (first.name, first.adapter, first.params, first.rate_points, first.description), descriptor.name
        checked += 1
    assert checked >= 10
