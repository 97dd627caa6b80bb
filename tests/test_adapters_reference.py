"""VTM/HM/ECM adapters: intra-period rules, log parsers, and failures, with a stand-in program where VTM itself
is not installed; the real programs run when $LVCBENCH_VTM_ROOT points at a build."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.reference import hash_check, hash_sei_bytes, parse_pictures, parse_summary, parse_version
from bench.errors import AdapterError, ConditionError
from bench.video.formats import pixel_format

DATA = Path(__file__).parent / "data" / "vtm"


@pytest.mark.parametrize(("name", "config", "intra_period", "message"), [
    ("vtm", "RA", 48, r"RA needs an intra period that is a multiple of its GOP size 32; the condition asks for 48"),
    ("vtm", "AI", 32, r"AI codes every frame intra; the condition's intra_period is 32"),
    ("vtm", "LDB", 4, r"LDB needs an intra period of at least its GOP size 8"),
    ("hm", "RA", 12, r"RA needs an intra period that is a multiple of its GOP size 8"),
    ("hm", "LDP", 2, r"LDP needs an intra period of at least its GOP size 4"),
])
def test_intra_period_rules(name: str, config: str, intra_period: int, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        adapter_class(name)({"config": config}).check_condition(intra_period, "c.yaml: codec x")


@pytest.mark.parametrize(("name", "config", "intra_period"), [
    ("vtm", "RA", 32), ("vtm", "RA", 64), ("vtm", "RA", -1), ("vtm", "LDB", 32), ("vtm", "LDP", -1), ("vtm", "AI", 1),
    ("ecm", "LDB", 8), ("hm", "RA", 32), ("hm", "LDB", 4),
])
def test_intra_period_accepted(name: str, config: str, intra_period: int) -> None:
    adapter_class(name)({"config": config}).check_condition(intra_period, "c.yaml")


def _task(tmp_path: Path, intra_period: int, frames: int = 32) -> CodingTask:
    return CodingTask(tmp_path / "in.yuv", pixel_format("yuv420p"), 416, 240, 30.0, frames, intra_period, 27, tmp_path)


def test_intra_period_mapping_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    for cfg in ("encoder_lowdelay_vtm.cfg", "encoder_randomaccess_vtm.cfg", "encoder_intra_vtm.cfg"):
        (tmp_path / "cfg" / cfg).write_text("")
    def args(config: str, ip: int) -> list[str]:
        return adapter_class("vtm")({"root": str(tmp_path), "config": config}).encoder_args(_task(tmp_path, ip))
    ldb32, ldb1, ra32, ai = args("LDB", 16), args("LDB", -1), args("RA", 32), args("AI", 1)
    assert "--IntraPeriod=16" in ldb32 and "--DecodingRefreshType=2" in ldb32  # else VTM resets it to -1
    assert "--IntraPeriod=-1" in ldb1 and not any(a.startswith("--DecodingRefreshType") for a in ldb1)
    assert "--IntraPeriod=-1" in ra32  # 32 frames at period 32: the only intra frame is frame 0
    assert "--IntraPeriod=1" in ai and "--TemporalSubsampleRatio=1" in ai
    assert "--QP=27" in ai and "--SEIDecodedPictureHash=1" in ai and "--InternalBitDepth=10" in ai
    assert "--FrameRate=30" in ai
    frac = adapter_class("vtm")({"root": str(tmp_path)}).encoder_args(
        CodingTask(tmp_path / "in.yuv", pixel_format("yuv420p"), 416, 240, 30000 / 1001, 8, -1, 27, tmp_path))
    assert "--FrameRate=30000:1001" in frac  # VTM wants num:den, not a slash


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


def test_parsers_on_real_logs() -> None:
    """Logs captured from the real programs (versions named in the files' first lines)."""
    log = (DATA / "vtm_ldb_qp32_encoder.log").read_text()
    assert parse_version(log) == "23.13"
    summary = parse_summary(log)
    assert summary is not None and summary["frames"] == 8 and set(summary) >= {"Bitrate", "Y-PSNR", "U-PSNR",
                                                                                  "V-PSNR", "YUV-PSNR"}
    pictures = parse_pictures(log)
    assert sorted(pictures) == list(range(8)) and pictures[0][0] == "I" and {p[0] for p in pictures.values()} >= {"B"}
    # The summary's Y-PSNR is the mean of the per-picture Y-PSNR lines (4 decimals printed).
    assert summary["Y-PSNR"] == pytest.approx(sum(p[2] for p in pictures.values()) / 8, abs=1e-3)
    ok, bad, missing = hash_check((DATA / "vtm_ldb_qp32_decoder.log").read_text())
    assert (ok, bad, missing) == (8, 0, 0)


def test_hash_sei_is_left_out_of_the_rate() -> None:
    """The stream of that log: without its picture-hash SEI NAL units it is exactly the bitrate VTM reports."""
    stream = (DATA / "vtm_ldb_qp32.bin").read_bytes()
    excluded = hash_sei_bytes(stream, hevc=False)
    assert excluded == 464  # 8 suffix SEI NAL units with their start codes
    summary = parse_summary((DATA / "vtm_ldb_qp32_encoder.log").read_text())
    assert (len(stream) - excluded) * 8 * 30 / 8 / 1000 == pytest.approx(summary["Bitrate"], abs=1e-9)


@pytest.mark.skipif(not os.environ.get("LVCBENCH_VTM_ROOT"), reason="set LVCBENCH_VTM_ROOT to a VTM build to run VTM")
def test_real_vtm(tmp_path: Path, clip_dir: Path) -> None:
    task = CodingTask(clip_dir / "Pan_96x64_30.yuv", pixel_format("yuv420p"), 96, 64, 30.0, 8, -1, 32, tmp_path)
    result = adapter_class("vtm")({"config": "LDB"}).code_sequence(task)
    assert result.decoded_path.stat().st_size == 8 * 96 * 64 * 3 // 2
    assert result.codec_reported["hash_check"] == "MD5 OK for 8 pictures"
    assert result.frame_types[0] == "I" and len(result.codec_reported["frame_bits"]) == 8
