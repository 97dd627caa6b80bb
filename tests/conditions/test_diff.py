"""``evaluate.py diff A B``: every field in which two protocols differ, in the group of what it changes (coding,
measurement, presentation), with the documented effect; conditions, results folders and published curves alike.
A published curve's protocol is checked against its own records: where it says "all frames", each sequence's
point covers the whole sequence as the dataset's manifest counts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bd.published import catalogue, load
from bench.bd.published import protocol as published_protocol
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.conditions.datasets import dataset
from bench.conditions.diff import (
    CODING,
    ENVIRONMENT,
    MEASUREMENT,
    PRESENTATION,
    differences,
    protocol,
    with_identities,
)
from bench.errors import ConditionError

BASE = """
name: {name}
sequences:
  - {{name: Pan, file: Pan_96x64_30.yuv, group: A}}
data_root: {root}
frames: {{first: 0, count: 8}}
intra_period: {ip}
colour: {{matrix: {matrix}}}
metrics: {{pooling: {pooling}}}
anchor: x265
codecs:
  - {{descriptor: x265, params: {{preset: {preset}}}, display: {{label: {label}}}}}
  - x264
"""


def _write(tmp_path: Path, clip_dir: Path, name: str, ip: int = 4, matrix: str = "bt709",
           pooling: str = "mean_psnr", preset: str = "medium", label: str = "x265") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(BASE.format(name=name, root=clip_dir, ip=ip, matrix=matrix, pooling=pooling, preset=preset,
                                label=label))
    return path


def test_each_difference_is_in_the_group_of_what_it_changes(tmp_path: Path, clip_dir: Path) -> None:
    a = protocol(load_condition(_write(tmp_path, clip_dir, "a")))
    b = protocol(load_condition(_write(tmp_path, clip_dir, "b", ip=32, matrix="bt601", pooling="psnr_of_mean_mse",
                                       preset="slow", label="mine")))
    found = {d.field: d for d in differences(a, b)}
    assert {f: (d.group, d.a, d.b) for f, d in found.items()} == {
        "intra_period": (CODING, 4, 32),
        "colour.matrix": (CODING, "bt709", "bt601"),
        "codec[x265].params.preset": (CODING, "medium", "slow"),
        "metrics.pooling": (MEASUREMENT, "mean_psnr", "psnr_of_mean_mse"),
        "name": (PRESENTATION, "a", "b"),
        "codec[x265].display.label": (PRESENTATION, "x265", "mine"),
    }
    assert "test_conditions.md recommends 32" in found["intra_period"].note
    assert "microsoft/DCVC issue #38" in found["colour.matrix"].note
    assert "Jensen" in found["metrics.pooling"].note
    assert found["codec[x265].params.preset"].note.startswith("the codec's own settings")
    assert found["name"].note == ""
    # Groups in order: what changes bitstreams first.
    assert [d.group for d in differences(a, b)] == sorted((d.group for d in differences(a, b)),
                                                        key=(CODING, MEASUREMENT, PRESENTATION).index)


def test_the_same_protocol_has_no_difference_and_exits_0(tmp_path: Path, clip_dir: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _write(tmp_path, clip_dir, "same"), _write(tmp_path / "..", clip_dir, "same")
    assert main(["diff", str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip().endswith("no field differs")
    assert main(["diff", str(a), str(_write(tmp_path, clip_dir, "other", ip=8))]) == 1
    out = capsys.readouterr().out
    assert "  intra_period: 4 -> 8\n" in out and "presentation (1 field)\n  name: same -> other" in out
    # Only a name or a style differs: nothing that moves a number, exit 0 (a script can ask "same protocol?").
    assert main(["diff", str(a), str(_write(tmp_path, clip_dir, "renamed", label="mine"))]) == 0
    assert "presentation (2 fields)" in capsys.readouterr().out


def test_a_codec_only_one_side_codes_is_one_line(tmp_path: Path, clip_dir: Path) -> None:
    a = protocol(load_condition(_write(tmp_path, clip_dir, "a")))
    b = {f: v for f, v in a.items() if not f.startswith("codec[x264]")}
    [d] = differences(a, b)
    assert (d.field, d.group, d.a, d.b) == ("codec[x264]", CODING, "x264 at [22, 27, 32, 37]", "(absent)")


def test_against_a_published_curve(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "conditions/hevc_b_ip32.yaml", "hevc_b/vtm-17"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("A: condition conditions/hevc_b_ip32.yaml\nB: published curve hevc_b/vtm-17\n")
    assert "  frames.count: 96 -> all frames\n" in out and "  intra_period: 32 -> -1\n" in out
    # What the producer's files do not state is said to be unstated, not taken as equal.
    assert "  not stated by B: colour.chroma_upsampling (bilinear), colour.matrix (bt709), colour.range (limited)" \
        in out
    assert "  sequences:" not in out  # the class's five sequences: the condition's and the curve's are the same


@pytest.mark.parametrize("curve_id", sorted(catalogue()))
def test_published_protocols_agree_with_their_records(curve_id: str) -> None:
    """Where a curve's protocol says all frames, every sequence's points cover the sequence as our manifest of
    the dataset counts it; its dataset is one we know and its sequences are that dataset's."""
    data, stated = load(curve_id), published_protocol(curve_id)
    manifest = {s.name: s for s in dataset(stated["dataset"])}
    assert curve_id.startswith(stated["dataset"] + "/")
    for r in data["records"]:
        if "dataset_average" in r["sequence"]:
            continue
        assert r["sequence"]["name"] in manifest, r["sequence"]
        if "frames.count" in stated and stated["frames.count"] is None:
            assert r["source"]["count"] == manifest[r["sequence"]["name"]].frames, r["sequence"]


def test_a_folder_that_is_no_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path), "hevc_b/vtm-17"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: {tmp_path}: no condition.yaml in it, so not a run's results folder; give a run's folder "
                   "(results/NAME), a condition file or name, or a published curve id (evaluate.py ls)")


def test_against_a_paper_preset_whose_codecs_need_a_checkout(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A preset names its codec's checkout by ${LVCBENCH_DCVC_ROOT}: comparing protocols needs no checkout (the
    variable is kept as written), while loading it for a run still refuses the unset variable."""
    monkeypatch.delenv("LVCBENCH_DCVC_ROOT", raising=False)
    assert main(["diff", "conditions/hevc_b_ip32.yaml", "dcvc_fm_yuv420_all_ip-1"]) == 1
    out = capsys.readouterr().out
    assert "  frames.count: 96 -> all frames\n" in out and "  intra_period: 32 -> -1\n" in out
    assert "  sequences: 5 -> 53 sequences, 5 in both (order aside); only in B: BQMall, BasketballDrill," in out
    assert "  codec[dcvc-fm]: (absent) -> dcvc-fm at [0, 21, 42, 63]\n" in out
    with pytest.raises(ConditionError, match="environment variable LVCBENCH_DCVC_ROOT is not set"):
        load_condition("conditions/dcvc_fm_yuv420_all_ip-1.yaml")


def test_order_is_no_difference_and_where_a_codec_is_kept_is_environment(tmp_path: Path, clip_dir: Path) -> None:
    a = protocol(load_condition(_write(tmp_path, clip_dir, "a")))
    b = {**a, "sequences": list(reversed(a["sequences"] + ["Other"])), "metrics.measures": a["metrics.measures"][::-1],
         "codec[x265].params.threads": 8}
    found = {d.field: d for d in differences(a, b)}
    assert set(found) == {"sequences", "codec[x265].params.threads"}
    assert found["codec[x265].params.threads"].group == CODING  # x265's threads change its bitstream
    assert found["sequences"].group == CODING
    # A checkout's place is where the code is, not what it codes (the DCVC adapters declare it so).
    fm = {"codec[fm].adapter": "dcvc-fm", "codec[fm].params.checkout": "/opt/dcvc/DCVC-FM"}
    [moved] = differences(fm, {**fm, "codec[fm].params.checkout": "${LVCBENCH_DCVC_ROOT}/DCVC-FM"})
    assert moved.group == ENVIRONMENT


def test_a_results_folders_codec_identities_are_compared() -> None:
    """Two runs of one condition with two builds of a codec differ in coding, by the identity their records keep."""
    base = {"name": "c", "codec[vtm].adapter": "vtm"}
    run = [{"status": "ok", "codec": {"name": "vtm", "identity": {"adapter": "vtm", "version": "VTM 17.0"}}}]
    other = [{"status": "ok", "codec": {"name": "vtm", "identity": {"adapter": "vtm", "version": "VTM 15.0"}}}]
    [d] = differences(with_identities(base, run), with_identities(base, other))
    assert (d.field, d.group, d.a, d.b) == ("codec[vtm].identity.version", CODING, "VTM 17.0", "VTM 15.0")
    assert d.note.startswith("another codec version or binary")


def test_a_codec_each_side_has_under_another_name_is_compared_setting_by_setting(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """DCVC-DC's YUV and RGB presets name their one DCVC-DC codec differently: the same adapter on each side, so
    its checkpoints and source type are compared, not listed as two unrelated codecs."""
    monkeypatch.delenv("LVCBENCH_DCVC_ROOT", raising=False)
    assert main(["diff", "dcvc_dc_yuv420_96f_ip32", "dcvc_dc_rgb_96f_ip32"]) == 1
    out = capsys.readouterr().out
    assert "  codec[dcvc-dc | dcvc-dc-rgb].params.src_type: yuv420 -> png\n" in out
    assert "codec[dcvc-dc]: " not in out and "codec[dcvc-dc-rgb]: " not in out


def test_ls_lists_each_published_curve_with_what_its_file_states(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split(":")[0].strip(): line for line in lines[lines.index(next(
        line for line in lines if line.startswith("published curves"))) + 1:]}
    assert set(listed) == set(catalogue())
    assert listed["hevc_b/vtm-17"].endswith("; states all frames, intra period -1, yuv420p, PSNR: mean of per-frame "
                                            "values")
    assert listed["uvg/x264"].endswith("; states yuv420p, bt709, PSNR: mean of per-frame values; frames and intra "
                                       "period not stated")
