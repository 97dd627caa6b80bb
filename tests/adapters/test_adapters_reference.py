"""VTM/HM/ECM adapters: intra-period rules and their mapping for every configuration, log parsers on real logs,
and failures, with a stand-in program where the reference software is not installed; the real programs run
when $LVCBENCH_VTM_ROOT, $LVCBENCH_HM_ROOT or $LVCBENCH_ECM_ROOT points at a build."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.codec_logs import parse_summary, parse_version
from bench.adapters.parameter_sets import read_sps
from bench.adapters.reference import (
    _Encoded,
    coding_order,
    hash_check,
    hash_kinds,
    hash_sei_bytes,
    parse_pictures,
    picture_qp,
    tool_warnings,
)
from bench.conditions.condition import load_condition
from bench.errors import AdapterError, ConditionError
from bench.run.runner import RunOptions, run_condition
from bench.video.colour import ColourSpec, convert
from bench.video.formats import pixel_format
from bench.video.io import RawVideoReader, RawVideoWriter

DATA = Path(__file__).parents[1] / "data"


# GOP sizes of the cfgs shipped with VTM 23.13 and HM 16.25 (GOPSize lines of cfg/encoder_*.cfg); the adapter
# reads them from the user's cfg, so a stand-in cfg tree with those values exercises the same rules.
SHIPPED_GOP = {
    "vtm": {"encoder_lowdelay_vtm.cfg": 8, "encoder_lowdelay_P_vtm.cfg": 8, "encoder_randomaccess_vtm.cfg": 32,
            "encoder_intra_vtm.cfg": 1},
    "hm": {"encoder_lowdelay_main10.cfg": 8, "encoder_lowdelay_P_main10.cfg": 8, "encoder_randomaccess_main10.cfg": 16,
           "encoder_intra_main10.cfg": 1, "encoder_lowdelay_main_rext.cfg": 8,
           "encoder_randomaccess_main_rext.cfg": 16, "encoder_intra_main_rext.cfg": 1},
}


def _cfg_tree(root: Path, name: str) -> Path:
    (root / "cfg").mkdir(parents=True, exist_ok=True)
    for cfg, gop in SHIPPED_GOP[name].items():
        extra = "TemporalSubsampleRatio : 8\n" if "intra" in cfg else ""
        (root / "cfg" / cfg).write_text(f"GOPSize                       : {gop}           # GOP Size\n{extra}")
    return root


def _adapter(tmp_path: Path, name: str, config: str, **params: object):
    return adapter_class(name)({"root": str(_cfg_tree(tmp_path / name, name)), "config": config, **params})


@pytest.mark.parametrize(("name", "config", "intra_period", "message"), [
    ("vtm", "RA", 48, r"RA needs an intra period that is a multiple of its GOP size 32 "
                      r"\(from encoder_randomaccess_vtm.cfg\); the condition asks for 48 \(not rounded"),
    ("vtm", "RA", 16, r"multiple of its GOP size 32"),
    ("vtm", "AI", 32, r"AI codes every frame intra; the condition's intra_period is 32"),
    ("vtm", "AI", -1, r"AI codes every frame intra; the condition's intra_period is -1"),
    ("vtm", "LDB", 4, r"LDB needs an intra period that is a multiple of its GOP size 8"),
    ("vtm", "LDB", 12, r"multiple of its GOP size 8"),
    ("vtm", "LDP", 8, r"LDP codes a periodic intra frame as IDR, which needs an intra period larger than its GOP "
                      r"size 8; the condition asks for 8 \(choose 16"),
    ("hm", "RA", 8, r"RA needs an intra period that is a multiple of its GOP size 16"),
    ("hm", "RA", 24, r"multiple of its GOP size 16"),
    ("hm", "LDB", 8, r"LDB codes a periodic intra frame as IDR"),
    ("hm", "LDP", 2, r"LDP needs an intra period that is a multiple of its GOP size 8"),
    ("hm", "AI", 8, r"AI codes every frame intra"),
])
def test_intra_period_rules(tmp_path: Path, name: str, config: str, intra_period: int, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        _adapter(tmp_path, name, config).check_condition(intra_period, "c.yaml: codec x")


@pytest.mark.parametrize(("name", "config", "intra_period"), [
    ("vtm", "RA", 32), ("vtm", "RA", 64), ("vtm", "RA", -1), ("vtm", "LDB", 32), ("vtm", "LDB", 16),
    ("vtm", "LDP", -1), ("vtm", "LDP", 96), ("vtm", "AI", 1), ("hm", "RA", 16), ("hm", "RA", 32), ("hm", "RA", -1),
    ("hm", "LDB", 16), ("hm", "LDB", -1), ("hm", "LDP", 32), ("hm", "AI", 1),
])
def test_intra_period_accepted(tmp_path: Path, name: str, config: str, intra_period: int) -> None:
    _adapter(tmp_path, name, config).check_condition(intra_period, "c.yaml")


def test_gop_size_comes_from_the_cfg_and_extra_args(tmp_path: Path) -> None:
    """An older HM (GOP 4 in its LD cfgs) or a --GOPSize override changes the rule, not a table of ours."""
    adapter = _adapter(tmp_path, "hm", "RA")
    (tmp_path / "hm" / "cfg" / "encoder_randomaccess_main10.cfg").write_text("GOPSize : 8   # HM-16.7\n")
    assert adapter.gop_size() == 8
    adapter.check_condition(24, "c.yaml")
    override = _adapter(tmp_path, "vtm", "RA", extra_args=["--GOPSize=16"])
    assert override.gop_size() == 16
    with pytest.raises(ConditionError, match=r"GOP size 16 \(from extra_args\)"):
        override.check_condition(40, "c.yaml")


def _task(tmp_path: Path, intra_period: int, frames: int = 32, fmt: str = "yuv420p") -> CodingTask:
    return CodingTask(tmp_path / "in.yuv", pixel_format(fmt), 416, 240, 30.0, frames, intra_period, 27, tmp_path)


# (config, condition intra period, frames) -> the options that carry the intra period, for both encoders.
MAPPING = [
    ("LDB", -1, 32, ["--IntraPeriod=-1"]),
    ("LDB", 16, 32, ["--IntraPeriod=16", "--DecodingRefreshType=2"]),  # without IDR, VTM resets it to -1
    ("LDB", 32, 32, ["--IntraPeriod=-1"]),  # the only intra frame is frame 0 either way
    ("LDP", -1, 96, ["--IntraPeriod=-1"]),
    ("LDP", 32, 96, ["--IntraPeriod=32", "--DecodingRefreshType=2"]),
    ("RA", -1, 96, ["--IntraPeriod=-1"]),  # replaces the cfg's -32 (a frame-rate-dependent period)
    ("RA", 32, 96, ["--IntraPeriod=32"]),  # the cfg's CRA refresh stays
    ("RA", 64, 32, ["--IntraPeriod=-1"]),
    ("AI", 1, 8, ["--IntraPeriod=1", "--TemporalSubsampleRatio=1"]),  # the cfg's CTC subsampling of 8 undone
]


@pytest.mark.parametrize("name", ["vtm", "hm"])
@pytest.mark.parametrize(("config", "intra_period", "frames", "expected"), MAPPING)
def test_intra_period_mapping_on_the_command_line(tmp_path: Path, name: str, config: str, intra_period: int,
                                                  frames: int, expected: list[str]) -> None:
    args = _adapter(tmp_path, name, config).encoder_args(_task(tmp_path, intra_period, frames))
    carried = [a for a in args if a.split("=")[0] in ("--IntraPeriod", "--DecodingRefreshType",
                                                       "--TemporalSubsampleRatio")]
    assert sorted(carried) == sorted(expected)
    assert args[args.index("-c") + 1].endswith(_adapter(tmp_path, name, config).cfg_names[config])
    assert f"--FramesToBeEncoded={frames}" in args and "--QP=27" in args and "--SEIDecodedPictureHash=1" in args
    assert "--InternalBitDepth=10" in args and "--FrameRate=30" in args and "--FrameSkip=0" in args
    assert ("--ConformanceWindowMode=1" in args) == (name == "hm")


def test_command_line_details(tmp_path: Path) -> None:
    vtm = _adapter(tmp_path, "vtm", "LDB", extra_args=["--Level=6.2"])
    frac = vtm.encoder_args(CodingTask(tmp_path / "in.yuv", pixel_format("yuv420p"), 416, 240, 30000 / 1001, 8, -1,
                                       27, tmp_path))
    assert "--FrameRate=30000:1001" in frac  # VTM wants num:den, not a slash
    assert frac[-1] == "--Level=6.2"  # the descriptor's options come last, so they win
    # RGB content coded as 10-bit 4:4:4: HM takes its RExt cfg; VTM's profile follows the input.
    hm444 = _adapter(tmp_path, "hm", "LDB").encoder_args(_task(tmp_path, -1, 8, "yuv444p10le"))
    assert hm444[hm444.index("-c") + 1].endswith("encoder_lowdelay_main_rext.cfg")
    assert {"--InputChromaFormat=444", "--ChromaFormatIDC=444", "--InputBitDepth=10", "--OutputBitDepth=10",
            "--Profile=main-RExt"} <= set(hm444)
    vtm444 = vtm.encoder_args(_task(tmp_path, -1, 8, "yuv444p10le"))
    assert vtm444[vtm444.index("-c") + 1].endswith("encoder_lowdelay_vtm.cfg") and "--ChromaFormatIDC=444" in vtm444
    assert not any(a.startswith("--Profile") for a in vtm444)
    with pytest.raises(AdapterError, match=r"codec hm: HM ships no LDP cfg for 444 input; give cfg_file:"):
        _adapter(tmp_path, "hm", "LDP").encoder_args(_task(tmp_path, -1, 8, "yuv444p10le"))
    # Without the cfg's subsampling there is nothing to undo.
    assert "--TemporalSubsampleRatio=1" not in _adapter(tmp_path, "hm", "LDB").encoder_args(_task(tmp_path, -1))


def test_unknown_config_name_is_refused() -> None:
    with pytest.raises(ConditionError, match=r"codecs/vtm.yaml.config: 'LD' is not one of LDB, LDP, RA, AI"):
        adapter_class("vtm").validate_params({"config": "LD"}, "codecs/vtm.yaml")


def test_missing_build_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LVCBENCH_VTM_ROOT", raising=False)
    with pytest.raises(AdapterError, match=r"codec vtm: no build given; set root: .* LVCBENCH_VTM_ROOT"):
        adapter_class("vtm")({}).identity()
    with pytest.raises(AdapterError, match=r"codec vtm: no EncoderAppStatic or EncoderApp under .*bin; build it"):
        adapter_class("vtm")({"root": str(tmp_path)}).identity()
    with pytest.raises(AdapterError, match=r"codec hm: encoder /nope/TAppEncoderStatic does not exist"):
        adapter_class("hm")({"encoder": "/nope/TAppEncoderStatic"}).identity()


def _fake_build(tmp_path: Path, encoder_body: str, decoder_body: str) -> Path:
    """A stand-in for a VTM build (VTM is not installable here): Python scripts named like the programs."""
    (tmp_path / "bin").mkdir(parents=True)
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "encoder_lowdelay_vtm.cfg").write_text("GOPSize : 8\n")
    for name, body in (("EncoderAppStatic", encoder_body), ("DecoderAppStatic", decoder_body)):
        path = tmp_path / "bin" / name
        path.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return tmp_path


BANNER = "print('VVCSoftware: VTM Encoder Version 23.13 [Linux][GCC 12.2.0][64 bit] [SIMD=AVX2]')"


def test_encoder_killed_by_the_timeout(tmp_path: Path) -> None:
    root = _fake_build(tmp_path / "build", BANNER + "\nif '--help' not in sys.argv: time.sleep(30)", "")
    work = tmp_path / "work"
    work.mkdir()
    adapter = adapter_class("vtm")({"root": str(root), "timeout_s": 1})
    with pytest.raises(AdapterError, match=r"codec vtm: encoder: killed after the descriptor's timeout of 1 s"):
        adapter.code_sequence(_task(work, -1, 4))


def test_decoder_hash_mismatch_fails_the_job(tmp_path: Path) -> None:
    encoder = BANNER + "\nopen([a for a in sys.argv if a.endswith('stream.bin')][0], 'wb').write(b'x')"
    decoder = ("out = sys.argv[sys.argv.index('-o') + 1]\nopen(out, 'wb').write(bytes(416 * 240 * 3 // 2 * 4))\n"
               "print('POC 0 [MD5:00,(OK)] ')\nprint('POC 1 [MD5:00,(***ERROR***)] [rxMD5:11]')\n"
               "print('POC 2 [MD5:00,(OK)] ')\nprint('POC 3 [MD5:00,(OK)] ')")
    root = _fake_build(tmp_path / "build", encoder, decoder)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(AdapterError, match=r"hash check failed: 3 of 4 pictures confirmed, 1 mismatched"):
        adapter_class("vtm")({"root": str(root)}).code_sequence(_task(work, -1, 4))


@pytest.mark.parametrize(("name", "version"), [("vtm", "23.13"), ("hm", "16.25")])
def test_parsers_on_real_logs(name: str, version: str) -> None:
    """Logs captured from the real programs (versions and settings named in the files' first lines)."""
    log = (DATA / name / f"{name}_ldb_qp32_encoder.log").read_text()
    assert parse_version(log) == version
    summary = parse_summary(log)
    assert summary is not None and summary["frames"] == 8 and set(summary) >= {"Bitrate", "Y-PSNR", "U-PSNR",
                                                                                  "V-PSNR", "YUV-PSNR"}
    pictures = parse_pictures(log)
    assert sorted(pictures) == list(range(8)) and pictures[0][0] == "I" and {p[0] for p in pictures.values()} == {"I", "B"}
    # The summary's PSNRs are the means of the per-picture lines (4 decimals printed).
    for plane, key in enumerate(("Y-PSNR", "U-PSNR", "V-PSNR"), start=2):
        assert summary[key] == pytest.approx(sum(p[plane] for p in pictures.values()) / 8, abs=1e-3)
    # ... and its bitrate is the per-picture bits at 30 fps.
    assert summary["Bitrate"] == pytest.approx(sum(p[1] for p in pictures.values()) * 30 / 8 / 1000, abs=1e-4)
    decoder_log = (DATA / name / f"{name}_ldb_qp32_decoder.log").read_text()
    assert parse_version(decoder_log) == version
    assert hash_check(decoder_log) == (8, 0, 0)


def test_hm_values_read_from_its_log() -> None:
    """Hand-read from the HM 16.25 logs: the summary line and a random-access log in coding order."""
    summary = parse_summary((DATA / "hm" / "hm_ldb_qp32_encoder.log").read_text())
    assert summary == {"frames": 8, "Bitrate": 178.59, "Y-PSNR": 34.5893, "U-PSNR": 41.5904, "V-PSNR": 40.973,
                       "YUV-PSNR": 35.8946}
    ra = (DATA / "hm" / "hm_ra_ip16_qp32_encoder.log").read_text()
    pictures = parse_pictures(ra)  # POC 0, 16, 8, 4, ... as coded; keyed by display order
    assert sorted(pictures) == list(range(17))
    assert [i for i in range(17) if pictures[i][0] == "I"] == [0, 16]  # IntraPeriod 16: a CRA picture at 16
    assert pictures[16] == ("I", 55920, 35.787, 42.5475, 41.7634)
    assert parse_summary(ra)["frames"] == 17


@pytest.mark.parametrize(("name", "excluded"), [("vtm", 464), ("hm", 456)])
def test_hash_sei_is_left_out_of_the_rate(name: str, excluded: int) -> None:
    """The stream of that log: without its picture-hash SEI NAL units it is exactly the bitrate the encoder
    reports (8 suffix SEI NAL units with their start codes; VVC and HEVC NAL headers differ)."""
    stream = (DATA / name / f"{name}_ldb_qp32.bin").read_bytes()
    assert hash_sei_bytes(stream, hevc=name == "hm") == excluded
    assert hash_sei_bytes(stream, hevc=name != "hm") == 0  # read with the other standard's header: none found
    summary = parse_summary((DATA / name / f"{name}_ldb_qp32_encoder.log").read_text())
    assert (len(stream) - excluded) * 8 * 30 / 8 / 1000 == pytest.approx(summary["Bitrate"], abs=1e-9)


REAL_BUILDS = {"vtm": "LVCBENCH_VTM_ROOT", "hm": "LVCBENCH_HM_ROOT", "ecm": "LVCBENCH_ECM_ROOT"}


@pytest.mark.parametrize("fmt_name", ["yuv420p", "yuv444p10le"])
@pytest.mark.parametrize("name", sorted(REAL_BUILDS))
def test_real_program(tmp_path: Path, clip_dir: Path, name: str, fmt_name: str) -> None:
    """The real encoder and decoder, opt-in: set $LVCBENCH_VTM_ROOT / _HM_ / _ECM_ to a build's source tree."""
    if not os.environ.get(REAL_BUILDS[name]):
        pytest.skip(f"set {REAL_BUILDS[name]} to a build of {name.upper()} to run it")
    source = clip_dir / "Pan_96x64_30.yuv"
    fmt = pixel_format(fmt_name)
    if fmt_name != "yuv420p":  # RGB content arrives as 10-bit 4:4:4; any 4:4:4 content exercises the path
        source = tmp_path / "in444.yuv"
        with RawVideoWriter(source, fmt) as writer:
            for planes in RawVideoReader(clip_dir / "Pan_96x64_30.yuv", pixel_format("yuv420p"), 96, 64).frames(0, 8):
                writer.write(convert(planes, pixel_format("yuv420p"), fmt, ColourSpec("bt709", "full", "bilinear")))
    seen: list[tuple[int, int]] = []
    task = CodingTask(source, fmt, 96, 64, 30.0, 8, -1, 32, tmp_path, progress=lambda done, total: seen.append((done, total)))
    result = adapter_class(name)({"config": "LDB"}).code_sequence(task)
    assert result.decoded_path.stat().st_size == 8 * fmt.frame_bytes(96, 64)
    assert result.codec_reported["hash_check"] == "MD5 OK for 8 pictures"
    exact = result.codec_reported["exact_check"]  # the log's own PSNR, recomputed from the stream at 10 bits
    assert exact["pictures"] == 8 and max(exact["largest_difference_db"].values()) <= 1e-4
    assert f"10-bit internal, {fmt.chroma}" in result.description
    assert result.frame_types[0] == "I" and len(result.frame_bits) == 8
    assert seen == [(k, 8) for k in range(1, 9)]  # a progress report per coded picture
    summary = result.codec_reported["summary"]
    coded_bytes = result.bitstreams[0].stat().st_size - result.excluded_bytes
    assert summary["Bitrate"] == pytest.approx(coded_bytes * 8 * 30 / 8 / 1000, abs=0.0005)  # log prints 4 decimals


@pytest.mark.integration
def test_encoder_that_dies_leaves_a_failed_record_with_its_log_tail(tmp_path: Path, clip_dir: Path) -> None:
    """Through the runner: the job is recorded as failed, with the encoder's last words, and nothing else."""
    encoder = BANNER + ("\nif '--help' not in sys.argv:\n    print('POC    0 TId: 0 ( I-SLICE, QP 32 ) 9000 bits')\n"
                        "    print('ERROR: out of memory in picture 1', flush=True)\n    sys.exit(3)")
    root = _fake_build(tmp_path / "build", encoder, "")
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: dies
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 4}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs: [{{name: vtm-LDB, adapter: vtm, params: {{root: {root}, config: LDB}}, rate_points: [32]}}]
""")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert outcome.coded == 1 and len(outcome.failed) == 1
    record = json.loads(next((tmp_path / "results" / "dies" / "records").rglob("*.json")).read_text())
    assert record["status"] == "failed"
    assert record["error"]["message"] == ("encoder failed with exit code 3: ERROR: out of memory in "
                                          "picture 1")
    assert "POC    0 TId: 0" in record["error"]["stderr_tail"]
    assert not list((tmp_path / "results" / "dies").rglob("*.bin"))  # no bitstream left to be mistaken for one


@pytest.mark.parametrize(("extra_args", "message"), [
    (["--Level", "6.2"], r"'--Level' followed by '6.2' is not of the form --Key=value; the encoder would "
                         r"read '--Key value' as Key=1 and ignore the value: write --Level=6.2$"),
    (["--IntraPeriod", "32"], r"--IntraPeriod sets IntraPeriod, which the condition's intra_period sets"),
    (["--QP=22"], r"--QP=22 sets QP, which the rate point sets; remove it"),
    (["-q", "22"], r"-q sets QP, which the rate point sets"),
    (["-dph", "0"], r"-dph sets SEIDecodedPictureHash"),
    (["-c", "encoder_randomaccess_vtm.cfg"], r"-c reads a second cfg after the suite's options, overriding the "
                                             r"condition; give your cfg as cfg_file:"),
    (["--IntraPeriod=64"], r"--IntraPeriod=64 sets IntraPeriod, which the condition's intra_period sets"),
    (["--DecodingRefreshType=1"], r"--DecodingRefreshType=1 sets DecodingRefreshType"),
    (["--SEIDecodedPictureHash=0"], r"--SEIDecodedPictureHash=0 sets SEIDecodedPictureHash, which the suite \(MD5, checked on every decoded "
                                    r"picture\) sets"),
    (["--InternalBitDepth=8"], r"--InternalBitDepth=8 sets InternalBitDepth, which the descriptor's internal_bit_depth \(set it there "
                                r"instead\) sets; remove it$"),
    (["Level=6.2"], r"'Level=6.2' is not of the form --Key=value: write --Level=6.2$"),
])
def test_extra_args_that_contradict_the_condition_are_refused_at_planning(tmp_path: Path, extra_args: list[str],
                                                                            message: str) -> None:
    # Appended last, each of these would override what the condition fixes while the record said otherwise.
    adapter = _adapter(tmp_path, "vtm", "LDB", extra_args=extra_args)
    with pytest.raises(ConditionError, match=r"^c\.yaml: codec x: extra_args: " + message):
        adapter.check_condition(32, "c.yaml: codec x")


def test_options_the_condition_leaves_open_are_accepted(tmp_path: Path) -> None:
    _adapter(tmp_path, "vtm", "LDB", extra_args=["--Level=6.2", "--GOPSize=8"]).check_condition(32, "c.yaml")


def _gop_cfg(path: Path, pocs: list[int]) -> Path:
    # A GOP table in the encoders' cfg syntax (FrameN: type, POC, then fields this check does not read).
    lines = [f"GOPSize : {len(pocs)}"] + [f"Frame{k}: B {poc} 1 0.0 0.0 0 0 1.0 0 0 0 1 1 -1 1 -1"
                                          for k, poc in enumerate(pocs, start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("config", "pocs", "message"), [
    ("LDB", [8, 4, 2, 1, 3, 6, 5, 7], r"config LDB, but .*ra.cfg codes its GOP out of display order \(random "
                                      r"access\): POC 8, 4, 2, 1, 3, 6, 5, 7; choose config: RA"),
    ("RA", [1, 2, 3, 4, 5, 6, 7, 8], r"config RA, but .*ld.cfg codes its GOP in display order \(low delay\)"),
])
def test_a_cfg_file_whose_gop_contradicts_the_config_is_refused(tmp_path: Path, config: str, pocs: list[int],
                                                                 message: str) -> None:
    cfg = _gop_cfg(tmp_path / ("ra.cfg" if pocs[0] > 1 else "ld.cfg"), pocs)
    with pytest.raises(ConditionError, match=message):
        _adapter(tmp_path, "vtm", config, cfg_file=str(cfg)).check_condition(-1, "c.yaml")
    right = "RA" if config == "LDB" else "LDB"
    _adapter(tmp_path, "vtm", right, cfg_file=str(cfg)).check_condition(-1, "c.yaml")


@pytest.mark.parametrize(("log", "kinds", "counts"), [
    ("base.dec.log", ["MD5"], (4, 0, 0)), ("crc.dec.log", ["CRC"], (4, 0, 0)),
    ("checksum.dec.log", ["Checksum"], (4, 0, 0)), ("nohash.dec.log", [], (0, 0, 4)),
])
def test_the_hash_check_names_the_hash_it_checked(log: str, kinds: list[str], counts: tuple[int, int, int]) -> None:
    # Real VTM 23.13 decoder logs of one 4-frame stream per SEIDecodedPictureHash value (1 MD5, 2 CRC, 3 checksum,
    # 0 none): "MD5 OK" must not be said of CRC-checked pictures, and a stream without hash SEI confirms nothing.
    text = (DATA / "vtm" / "hash" / log).read_text()
    assert hash_kinds(text) == kinds and hash_check(text) == counts


def test_the_tools_warnings_are_kept_once_with_their_count() -> None:
    # VTM's decoder warns before every picture of a stream without a level; its option parser warns about the
    # value of a two-word option it ignored (real VTM 23.13 logs).
    decoded = (DATA / "vtm" / "hash" / "base.dec.log").read_text()
    encoded = (DATA / "vtm" / "hash" / "twoword.enc.log").read_text()
    assert tool_warnings(encoded, decoded) == ["Unhandled argument ignored: `32'",
                                               "Warning: Level set to none, invalid or unknown value (4 times)"]


def test_coding_order_and_picture_qp_read_from_real_logs() -> None:
    # VTM 23.13 LDB and RA (8 frames, QP 32) and HM 16.25 RA (17 frames, QP 32), as the programs wrote them.
    ldb = (DATA / "vtm" / "vtm_ldb_qp32_encoder.log").read_text()
    ra = (DATA / "vtm" / "ra" / "vtm_ra_qp32_encoder.log").read_text()
    hm_ra = (DATA / "hm" / "hm_ra_ip16_qp32_encoder.log").read_text()
    assert coding_order(ldb) == list(range(8))
    assert coding_order(ra) == [0, 4, 2, 1, 3, 6, 5, 7]
    assert coding_order(hm_ra)[:3] == [0, 16, 8] and sorted(coding_order(hm_ra)) == list(range(17))
    assert sorted(picture_qp(ra)) == list(range(8)) and picture_qp(ra)[0] == 29 and picture_qp(ra)[1] == 41
    assert picture_qp(hm_ra)[8] == 35  # HM writes "nQP 35 QP 35": the QP used


def _read_back(tmp_path: Path, config: str, log_name: str, intra_period: int, frames: int = 8,
               fmt: str = "yuv420p", internal_bit_depth: int = 10):
    adapter = _adapter(tmp_path, "vtm", config, internal_bit_depth=internal_bit_depth)
    log = (DATA / "vtm" / log_name).read_text()
    pictures = parse_pictures(log)
    encoded = _Encoded([], log, 0.0, pictures, None, None, coding_order(log), picture_qp(log))
    task = CodingTask(tmp_path / "in.yuv", pixel_format(fmt), 416, 240, 30.0, frames, intra_period, 32, tmp_path)
    types = [pictures[i][0] for i in range(frames)]
    # The SPS of the real VTM 23.13 LDB stream (4:2:0, 10-bit internal, Main 10, no level given).
    sps = read_sps((DATA / "vtm" / "vtm_ldb_qp32.bin").read_bytes(), hevc=False)
    return adapter._read_back(task, encoded, tmp_path / "encoder_lowdelay_vtm.cfg", types, sps)


def test_what_the_log_says_was_coded_describes_the_job(tmp_path: Path) -> None:
    facts, description = _read_back(tmp_path, "RA", "ra/vtm_ra_qp32_encoder.log", -1)
    assert facts["reordering"] is True and facts["intra_frames"] == [0]
    assert facts["settings"]["coding_order"] == "0 4 2 1 3 6 5 7"
    assert description.startswith("VTM 23.13 RA (encoder_lowdelay_vtm.cfg): coded out of display order (random "
                                  "access), intra at POC 0, picture QP 29..41 for rate point 32, 10-bit internal, "
                                  "420, Main 10 profile, level none (checked: encoder log, SPS)")
    assert facts["settings"]["sps_bit_depth"] == "10" and facts["settings"]["sps_level"] == "none"
    facts, description = _read_back(tmp_path, "LDB", "vtm_ldb_qp32_encoder.log", -1)
    assert facts["reordering"] is False and "coded in display order (low delay)" in description


def test_a_log_that_contradicts_the_condition_fails_the_job(tmp_path: Path) -> None:
    # The real RA stream under config LDB: reordering; under intra period 4: intra only at POC 0, not at 0 and 4.
    with pytest.raises(AdapterError, match=r"pictures coded out of display order \(0, 4, 2, 1, 3, 6, 5, 7\) "
                                           r"under config LDB"):
        _read_back(tmp_path, "LDB", "ra/vtm_ra_qp32_encoder.log", -1)
    with pytest.raises(AdapterError, match=r"intra pictures at POC 0; the intra period 4 puts them at 0, 4"):
        _read_back(tmp_path, "RA", "ra/vtm_ra_qp32_encoder.log", 4)
    # The stream's SPS (4:2:0, 10 bits) against a 4:4:4 coding format and an 8-bit internal_bit_depth.
    with pytest.raises(AdapterError, match=r"SPS chroma format 420; the coding format is yuv444p \(the suite sets these "
                                           r"on the command line: look for what changes them in extra_args \(none\) "
                                           r"or the cfg .*encoder_lowdelay_vtm.cfg\)$"):
        _read_back(tmp_path, "LDB", "vtm_ldb_qp32_encoder.log", -1, fmt="yuv444p")
    with pytest.raises(AdapterError, match=r"SPS bit depth 10; the descriptor's internal_bit_depth is 8 \(the suite"):
        _read_back(tmp_path, "LDB", "vtm_ldb_qp32_encoder.log", -1, internal_bit_depth=8)
