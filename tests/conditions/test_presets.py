"""The paper presets (conditions/dcvc_*.yaml, dhvc_*.yaml, compressai_video_*.yaml) against their producers' files.

Each preset with a public source file is loaded with load_condition and compared with that file exactly as its
repository ships it (tests/data/producers/<owner>+<repo>/<path>; tests/data/producers/README.md lists commits,
blob ids and licences, and the blob ids are checked here): the set of sequences, each one's group, frame count
and size, the intra period, and the codec settings that the README's test command sets. The producers' names
("BQTerrace_1920x1080_60.yuv", the PNG folder "Beauty_1920x1080_120fps_420_8bit_YUV") are matched to the
preset's sequences through the manifests' file names, never through a list typed here. Where a README command
overrides the json (DCVC-DC's --force_intra_period 32, README.md line 106), the override is read from the README
line the case names, with the rule of their test_video.py (a forced value counts when it is positive).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import REPO

from bench.conditions.condition import Condition, load_condition
from bench.conditions.datasets import dataset
from bench.run.inputs import geometry

PRODUCERS = REPO / "tests" / "data" / "producers"
DCVC = PRODUCERS / "microsoft+DCVC"
DHVC = PRODUCERS / "NJUVISION+DHVC"
COMMITS = {"microsoft/DCVC": "54e88645e1b4edac0694228ab2f44ed8818e345b",
           "NJUVISION/DHVC": "145b8b3ee2847303dc46e5d865c8fe60b95940a5",
           "InterDigitalInc/CompressAI": "869a9f5d4126d015b7de8f203fe60ee9e1608193"}
# DCVC's class names -> the groups of the suite's manifests (bench/conditions/datasets.py).
GROUP_OF_CLASS = {"HEVC_B": "B", "HEVC_C": "C", "HEVC_D": "D", "HEVC_E": "E", "UVG": "UVG", "MCL-JCV": "MCL-JCV"}
# DCVC's class of six native RGB sequences (DucksAndLegs ... ParkScene_RGB): no manifest in the suite, so no preset
# takes it; the header of every preset whose json lists it says so.
NO_MANIFEST = {"HEVC_RGB"}
PRESET_PREFIXES = ("dcvc_", "dhvc_", "compressai_video", "_dcvc_")


class Entry(NamedTuple):
    group: str
    frames: int
    intra: int  # -1: one intra frame (frame 0); else the period
    size: tuple[int, int]


Getter = Callable[[Mapping[str, Any]], list[Any]]


@dataclass(frozen=True)
class Case:
    preset: str  # file in conditions/
    config: str  # the producer's test configuration, a path in microsoft/DCVC
    readme: str | None = None  # the README whose test command runs it ...
    lines: tuple[int, int] = (0, 0)  # ... on these lines (1-based, inclusive)
    names_config: bool = True  # the command's --test_config is this json (else it names another)
    classes: frozenset[str] | None = None  # the json's classes the preset takes (None: all with a manifest)
    # Command option -> the values of the learned codec's parameters it sets.
    options: Mapping[str, Getter] = field(default_factory=dict)


def _one(key: str) -> Getter:
    return lambda p: [p[key]]


NEW_STYLE_MODELS: Mapping[str, Getter] = {"--model_path_i": _one("i_frame_model"), "--model_path_p": _one("p_frame_model")}
UF_OPTIONS: Mapping[str, Getter] = {**NEW_STYLE_MODELS, "--model_structure": _one("model_structure"),
                                    "--skip_thres": _one("skip_thres"), "--reset_interval": _one("reset_interval")}
TCM_OPTIONS: Mapping[str, Getter] = {  # README line 77 shows the q1 pair: the descriptor's first rate point
    "--i_frame_model_path": lambda p: [p["checkpoints"][0][0]], "--model_path": lambda p: [p["checkpoints"][0][1]]}
DCVC_2021_OPTIONS: Mapping[str, Getter] = {  # README line 70: four intra and four inter models, in rate order
    "--i_frame_model_path": lambda p: [pair[0] for pair in p["checkpoints"]],
    "--model_path": lambda p: [pair[1] for pair in p["checkpoints"]],
    "--i_frame_model_name": _one("i_frame_model_name"), "--model_type": _one("model_type")}
FAMILY = "DCVC-family"
CASES = [
    # README line 106 is the RGB command; line 108: for YUV 4:2:0 "change the model path, test configuration json
    # file and specify --yuv420 1", keeping its --force_intra_period 32 --force_frame_num 96 (over the json's gop 12
    # for HEVC B-E).
    Case("dcvc_dc_yuv420_96f_ip32.yaml", f"{FAMILY}/DCVC-DC/dataset_config_example_yuv420.json",
         f"{FAMILY}/DCVC-DC/README.md", (106, 106), names_config=False),
    Case("dcvc_dc_rgb_96f_ip32.yaml", f"{FAMILY}/DCVC-DC/dataset_config_example_rgb.json",
         f"{FAMILY}/DCVC-DC/README.md", (106, 106),
         options={"--i_frame_model_path": _one("i_frame_model"), "--p_frame_model_path": _one("p_frame_model")}),
    Case("dcvc_fm_yuv420_96f_ip-1.yaml", f"{FAMILY}/DCVC-FM/dataset_config_example_yuv420.json",
         f"{FAMILY}/DCVC-FM/README.md", (101, 101), options=NEW_STYLE_MODELS),
    # No command: README line 109 reports this one ("HEVC E (600 frames) with single intra-frame setting").
    Case("dcvc_fm_yuv420_all_ip-1.yaml", f"{FAMILY}/DCVC-FM/dataset_config_example_yuv420.json"),
    # No command names the rgb json (line 101 runs the yuv420 one); the preset follows the json.
    Case("dcvc_fm_rgb_96f_ip96.yaml", f"{FAMILY}/DCVC-FM/dataset_config_example_rgb.json"),
    Case("dcvc_rt_yuv420_all.yaml", f"{FAMILY}/DCVC-RT/dataset_config_example_yuv420.json",
         f"{FAMILY}/DCVC-RT/README.md", (98, 98),
         options={**NEW_STYLE_MODELS, "--reset_interval": _one("reset_interval"),
                  "--force_zero_thres": _one("force_zero_thres")}),
    Case("dcvc_uf_yuv420_all.yaml", "test_cfg/all_yuv420.json", "README.md", (163, 175), options=UF_OPTIONS),
    Case("dcvc_uf_rgb_all.yaml", "test_cfg/all_RGB.json", "README.md", (163, 175), names_config=False,
         options=UF_OPTIONS),
    Case("dcvc_tcm_ip12.yaml", f"{FAMILY}/DCVC-TCM/recommended_test_full_results_IP12.json",
         f"{FAMILY}/DCVC-TCM/README.md", (77, 77), options=TCM_OPTIONS),
    Case("dcvc_tcm_ip32.yaml", f"{FAMILY}/DCVC-TCM/recommended_test_full_results_IP32.json",
         f"{FAMILY}/DCVC-TCM/README.md", (77, 77), names_config=False, options=TCM_OPTIONS),
    Case("dcvc_hem_rgb_96f_ip32.yaml", f"{FAMILY}/DCVC-HEM/dataset_config_example.json",
         f"{FAMILY}/DCVC-HEM/README.md", (82, 82),
         options={"--i_frame_model_path": _one("i_frame_model"), "--model_path": _one("p_frame_model"),
                  "--rate_num": _one("rate_num")}),
    # DCVC (2021): one json, two protocols (HEVC 100 frames / gop 10; UVG, MCL-JCV 120 / 12): three presets.
    Case("dcvc_2021_hevc_crop64_100f_ip10.yaml", f"{FAMILY}/DCVC/dataset_config_example.json",
         f"{FAMILY}/DCVC/README.md", (70, 70), classes=frozenset({"HEVC_B", "HEVC_C", "HEVC_D", "HEVC_E"}),
         options=DCVC_2021_OPTIONS),
    Case("dcvc_2021_uvg_crop64_120f_ip12.yaml", f"{FAMILY}/DCVC/dataset_config_example.json",
         f"{FAMILY}/DCVC/README.md", (70, 70), classes=frozenset({"UVG"}), options=DCVC_2021_OPTIONS),
    Case("dcvc_2021_mcl_jcv_crop64_120f_ip12.yaml", f"{FAMILY}/DCVC/dataset_config_example.json",
         f"{FAMILY}/DCVC/README.md", (70, 70), classes=frozenset({"MCL-JCV"}), options=DCVC_2021_OPTIONS),
]
# Presets checked otherwise, and why.
OTHER_CHECKS = {
    "dhvc_1_0_96f_gop32.yaml": "no config file: its README's test sets and command, test_dhvc_1_0_against_its_readme",
    "compressai_video_uvg_all.yaml": "no file of CompressAI lists sequences or frame counts (eval_model codes every "
                                     "frame of every .yuv in a folder); only its header and loading are checked",
}


@pytest.fixture(autouse=True)
def _checkouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The descriptors name their checkouts through these variables; loading a condition reads no file there."""
    monkeypatch.setenv("LVCBENCH_DCVC_ROOT", str(tmp_path / "DCVC"))
    monkeypatch.setenv("LVCBENCH_DHVC_ROOT", str(tmp_path / "DHVC"))


def preset(name: str) -> Condition:
    return load_condition(REPO / "conditions" / name)


def learned_codec(cond: Condition) -> Mapping[str, Any]:
    """The parameters of the preset's learned codec: its one codec that is no reference encoder."""
    learned = [c for c in cond.codecs if c.adapter not in ("vtm", "hm")]
    assert len(learned) == 1, [c.name for c in cond.codecs]
    return learned[0].params_dict


def command_options(readme: Path, lines: tuple[int, int]) -> dict[str, list[str]]:
    """The options of the command on LINES of README (continuation backslashes joined): name -> its values."""
    text = readme.read_text(encoding="utf-8").splitlines()[lines[0] - 1:lines[1]]
    tokens = shlex.split(" ".join(line.rstrip().removesuffix("\\") for line in text))
    assert tokens[:2] in (["python", "test_video.py"], ["python", "test.py"]), (readme, lines, tokens[:3])
    out: dict[str, list[str]] = {}
    name = None
    for token in tokens[2:]:
        if token.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", token):
            name = token
            assert name not in out, f"{readme}: {name} given twice"
            out[name] = []
        else:
            assert name is not None, f"{readme}: value {token!r} before any option"
            out[name].append(token)
    return out


def one_intra(period: int, frames: int) -> int:
    """-1 for a period that codes one intra frame in FRAMES: -1 itself, or any period of at least the frame count
    (DCVC-FM/README.md line 101 forces 9999 for 96 frames)."""
    return -1 if period == -1 or period >= frames else period


def _forced(options: Mapping[str, list[str]], name: str) -> int:
    """A --force_* value their test_video.py uses: only a positive one (DCVC-DC/test_video.py lines 416-423 ...)."""
    value = int(options.get(name, ["-1"])[0])
    return value if value > 0 else 0


def _classes(config: Mapping[str, Any]) -> Mapping[str, Any]:
    # FM, RT, UF, HEM, DC: {"root_path", "test_classes": {...}}; DCVC (2021) and TCM: the classes at the top level.
    return config["test_classes"] if "test_classes" in config else config


def producer_entries(config: Mapping[str, Any], options: Mapping[str, list[str]],
                     classes: frozenset[str] | None) -> dict[str, Entry]:
    """What the producer's run codes: file stem -> group, frames, intra period, size."""
    frames_forced, period_forced = _forced(options, "--force_frame_num"), _forced(options, "--force_intra_period")
    intra_only = options.get("--force_intra", ["0"])[0] in ("1", "true", "True")
    out: dict[str, Entry] = {}
    for cls, body in _classes(config).items():
        if cls in NO_MANIFEST or (classes is not None and cls not in classes):
            continue
        for name, seq in body["sequences"].items():
            frames = frames_forced or seq["frames"]
            period = 1 if intra_only else period_forced or seq.get("intra_period", seq.get("gop"))
            stem = name.removesuffix(".yuv")
            size = (seq["width"], seq["height"]) if "width" in seq else _size_in_name(stem)
            assert stem not in out, f"{stem} is listed twice"
            out[stem] = Entry(GROUP_OF_CLASS[cls], frames, one_intra(period, frames), size)
    return out


def _size_in_name(stem: str) -> tuple[int, int]:
    m = re.search(r"_(\d+)x(\d+)(?=_|$)", stem)
    assert m, stem
    return int(m.group(1)), int(m.group(2))


def preset_entries(cond: Condition) -> dict[str, Entry]:
    """What the preset codes, keyed as the producer names it: the stem of the manifest's file name, with the
    cropped size in place of the source's where the preset crops (DCVC-family/DCVC/README.md line 27 names
    BasketballDrive_1920x1080_50.yuv cropped BasketballDrive_1920x1024_50.yuv)."""
    out: dict[str, Entry] = {}
    for seq in cond.sequences:
        assert seq.width and seq.height and seq.frames, seq
        g = geometry(cond, seq.width, seq.height)
        size = (g.measured_width, g.measured_height)
        stem = Path(seq.file).stem
        if size != (seq.width, seq.height):
            stem = stem.replace(f"_{seq.width}x{seq.height}", f"_{size[0]}x{size[1]}", 1)
        frames = cond.frames.count if cond.frames.count is not None else seq.frames - cond.frames.first
        assert stem not in out, f"{stem} is listed twice"
        out[stem] = Entry(seq.group, frames, one_intra(cond.intra_period, frames), size)
    return out


def assert_same(ours: Mapping[str, Entry], theirs: Mapping[str, Entry], where: str) -> None:
    missing = sorted(theirs.keys() - ours.keys())
    extra = sorted(ours.keys() - theirs.keys())
    differ = [f"{n}: preset {ours[n]} != producer {theirs[n]}" for n in sorted(ours.keys() & theirs.keys())
              if ours[n] != theirs[n]]
    problems = ([f"missing from the preset: {', '.join(missing)}"] if missing else []) \
        + ([f"not in the producer's file: {', '.join(extra)}"] if extra else []) + differ
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)


def _same_value(a: Any, b: Any) -> bool:
    a, b = str(a).removeprefix("./"), str(b).removeprefix("./")
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


# --- the presets against the producers' configurations --------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.preset)
def test_preset_against_its_source(case: Case) -> None:
    cond = preset(case.preset)
    config = json.loads((DCVC / case.config).read_text(encoding="utf-8"))
    options = command_options(DCVC / case.readme, case.lines) if case.readme else {}
    where = f"{case.preset} against microsoft/DCVC {case.config}" + (
        f" with {case.readme} lines {case.lines[0]}-{case.lines[1]}" if case.readme else "")
    assert_same(preset_entries(cond), producer_entries(config, options, case.classes), where)
    if case.readme:
        assert (Path(options["--test_config"][0]).name == Path(case.config).name) == case.names_config, options
    params = learned_codec(cond)
    for option, getter in case.options.items():
        want, got = options[option], getter(params)
        assert len(want) == len(got) and all(map(_same_value, want, got)), f"{where}: {option} {want} != {got}"
    src_types = {body.get("src_type") for cls, body in _classes(config).items() if cls not in NO_MANIFEST}
    assert len(src_types) == 1, src_types
    src_type = src_types.pop()
    if src_type is not None and "src_type" in params:  # the adapters that read either
        assert params["src_type"] == src_type, where
    # YUV 4:2:0 content is coded as it is; RGB content reaches VTM/HM as YUV 4:4:4 10-bit (test_conditions.md).
    assert cond.colour.coding_format == (None if src_type == "yuv420" else "yuv444p10le"), where


def test_dcvc_dc_yuv420_takes_the_yuv420_variant_of_the_command() -> None:
    lines = (DCVC / FAMILY / "DCVC-DC/README.md").read_text(encoding="utf-8").splitlines()
    assert "change the model path, test configuration json file" in lines[107] and "--yuv420 1" in lines[107]
    assert command_options(DCVC / FAMILY / "DCVC-DC/README.md", (106, 106))["--yuv420"] == ["0"]  # the RGB one
    assert learned_codec(preset("dcvc_dc_yuv420_96f_ip32.yaml"))["src_type"] == "yuv420"


def test_dcvc_fm_keeps_the_default_reset_interval() -> None:
    # README line 101 passes no --reset_interval, so FM's default applies: 32 (DCVC-family/DCVC-FM/src/utils/
    # test_helper.py line 43 at the commit, "parser.add_argument('--reset_interval', type=int, default=32, ...)").
    assert "--reset_interval" not in command_options(DCVC / FAMILY / "DCVC-FM/README.md", (101, 101))
    for name in ("dcvc_fm_yuv420_96f_ip-1.yaml", "dcvc_fm_yuv420_all_ip-1.yaml", "dcvc_fm_rgb_96f_ip96.yaml"):
        assert learned_codec(preset(name))["reset_interval"] == 32, name


def test_dcvc_2021_presets_share_out_every_class() -> None:
    config = json.loads((DCVC / FAMILY / "DCVC/dataset_config_example.json").read_text(encoding="utf-8"))
    taken = [c.classes for c in CASES if c.config.endswith("DCVC/dataset_config_example.json")]
    assert all(taken) and sorted(cls for group in taken if group for cls in group) == sorted(config)


def test_tcm_files_enable_only_hevc_d_as_shipped() -> None:
    # The presets' headers say so: their README command, run as shipped, codes only HEVC D ("test": 0 elsewhere is
    # skipped, DCVC-TCM/test_video.py line 388); the presets take every class with a manifest.
    for ip in (12, 32):
        config = json.loads((DCVC / FAMILY / f"DCVC-TCM/recommended_test_full_results_IP{ip}.json").read_text())
        assert {cls for cls, body in config.items() if body["test"]} == {"HEVC_D"}
        assert set(config) - NO_MANIFEST == set(GROUP_OF_CLASS)


def test_comparison_fails_on_a_swapped_or_missing_sequence() -> None:
    case = next(c for c in CASES if c.preset == "dcvc_fm_yuv420_all_ip-1.yaml")
    ours = preset_entries(preset(case.preset))
    theirs = producer_entries(json.loads((DCVC / case.config).read_text()), {}, None)
    assert_same(ours, theirs, "as shipped")
    with pytest.raises(AssertionError, match="missing from the preset: Johnny_1280x720_60"):
        assert_same({k: v for k, v in ours.items() if k != "Johnny_1280x720_60"}, theirs, "one left out")
    swapped = dict(ours)  # Kimono1 (240 frames) and BQTerrace (600) exchange their lengths
    swapped["Kimono1_1920x1080_24"], swapped["BQTerrace_1920x1080_60"] = (
        ours["Kimono1_1920x1080_24"]._replace(frames=600), ours["BQTerrace_1920x1080_60"]._replace(frames=240))
    with pytest.raises(AssertionError, match=r"(?s)BQTerrace_1920x1080_60: preset .*Kimono1_1920x1080_24: preset"):
        assert_same(swapped, theirs, "frames swapped")
    moved = {**ours, "BQMall_832x480_60": ours["BQMall_832x480_60"]._replace(group="D")}
    with pytest.raises(AssertionError, match="BQMall_832x480_60: preset Entry.group='D'"):
        assert_same(moved, theirs, "class swapped")
    renamed = {("RaceHorses_416x240_30" if k == "RaceHorses_832x480_30" else k): v for k, v in ours.items()
               if k != "RaceHorses_416x240_30"}
    with pytest.raises(AssertionError, match="missing from the preset: RaceHorses_832x480_30"):
        assert_same(renamed, theirs, "the two RaceHorses confused")


# --- DHVC, CompressAI -------------------------------------------------------------------------------------------

def test_dhvc_1_0_against_its_readme() -> None:
    readme = DHVC / "dhvc-1.0/README.md"
    line = readme.read_text(encoding="utf-8").splitlines()[12]
    assert line.startswith("* Test dataset: ")
    named = [name.strip() for name in line.split(":", 1)[1].split("、")]
    manifest = {"UVG": "uvg", "MCL-JCV": "mcl_jcv", "HEVC Class B": "hevc_b"}  # how the README names each set
    cond = preset("dhvc_1_0_96f_gop32.yaml")
    assert [s.name for s in cond.sequences] == [s.name for n in named for s in dataset(manifest[n])]
    options = command_options(readme, (21, 21))
    assert (cond.frames.first, cond.frames.count) == (0, int(options["-f"][0]))
    assert cond.intra_period == int(options["-g"][0])


def test_combined_manifests_are_the_sets_themselves() -> None:
    for name, parts in (("dcvc_yuv420", ("hevc", "uvg", "mcl_jcv")), ("dhvc_1_0", ("uvg", "mcl_jcv", "hevc_b"))):
        combined, pieces = dataset(name), [s for part in parts for s in dataset(part)]
        assert len(combined) == len(pieces) and all(a is b for a, b in zip(combined, pieces, strict=True)), name


# --- every preset: it loads, names its sources, and is checked ------------------------------------------------

PRESETS = sorted(p for p in (REPO / "conditions").glob("*.yaml") if p.name.startswith(PRESET_PREFIXES))


def header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines[:next(i for i, x in enumerate(lines) if not x.startswith("#"))])


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.name)
def test_preset_names_its_sources(path: Path) -> None:
    head = header(path)
    commits = set(re.findall(r"\b[0-9a-f]{40}\b", head))
    assert commits, f"{path.name}: its header names no commit"
    for commit in commits:
        repo = next((r for r, c in COMMITS.items() if c == commit), None)
        assert repo is not None and repo in head, f"{path.name}: commit {commit} is not one of {COMMITS}"
    for line in path.read_text(encoding="utf-8").splitlines():  # the settings that decide what is coded
        if re.match(r"(dataset|frames|intra_period):", line):
            assert "#" in line, f"{path.name}: {line!r} does not say where it comes from"


def test_every_preset_loads_and_is_checked() -> None:
    names = {p.name for p in PRESETS if not p.name.startswith("_")}
    assert names == {c.preset for c in CASES} | set(OTHER_CHECKS)
    for name in sorted(names):
        cond = preset(name)
        assert cond.name == Path(name).stem and cond.sequences, name


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id, not security


def test_fixtures_are_the_producers_files() -> None:
    listed: dict[Path, str] = {}
    folder = None
    for line in (PRODUCERS / "README.md").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"## (\S+)/(\S+)$", line):
            folder = PRODUCERS / f"{m.group(1)}+{m.group(2)}"
        elif m := re.match(r"\| `([^`]+)` \| `([0-9a-f]{40})` \|", line):
            assert folder is not None
            listed[folder / m.group(1)] = m.group(2)
    for path, blob in listed.items():
        assert _git_blob(path.read_bytes()) == blob, path
    kept = {p for p in PRODUCERS.rglob("*") if p.is_file() and p != PRODUCERS / "README.md"}
    assert kept == set(listed), sorted(str(p) for p in kept ^ set(listed))
