"""codecs/vtm-17-dcvc.yaml against the VTM anchor command microsoft/DCVC suggests, option by option.

The reference is the command text of DCVC-family/test_conditions.md, quoted below as written there, and the
meaning VTM-17.0 gives each option (its aliases, defaults and derivation rules, read from VTM-17.0's
source/App/EncoderApp/EncAppCfg.cpp and cfg/encoder_lowdelay_vtm.cfg, tag VTM-17.0 = commit
e87b8ffa52d3cb1e0e1aef700bc72f9ec785d7f8). The suite's command is the one its runner would start for a demo
job: the condition is planned, the task built as the runner builds it, and the encoder's argv caught where
the adapter hands it to the process runner. Both are reduced to the value VTM ends up with for every option
either names; they must agree except for the per-job file names and two declared, verified differences.
"""

from __future__ import annotations

import shlex
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

import bench.adapters.reference as reference
from bench.adapters.base import CodingTask
from bench.conditions.condition import load_condition
from bench.run.inputs import geometry
from bench.run.runner import plan

DCVC_COMMIT = "54e88645e1b4edac0694228ab2f44ed8818e345b"
# microsoft/DCVC, DCVC-family/test_conditions.md at DCVC_COMMIT, "Encoding for YUV420 content" and "Encoding
# for RGB content" (RGB content converted to YUV 4:4:4 10-bit first); its tables name encoder_lowdelay_vtm.cfg
# as VTM-17.0's "encoder_configuration.cfg".
DOC_YUV420 = ("EncoderApp -c encoder_configuration.cfg -f {frame_number} -q {qp} --IntraPeriod={intra_period} "
              "--InputFile={src_yuv} --SourceWidth={width} --SourceHeight={height} --FrameRate={frame_rate} "
              "--Level=6.2 --InputBitDepth=8 --DecodingRefreshType=2 -b {output.bin} -o {enc.yuv}")
DOC_RGB = ("EncoderApp -c encoder_configuration.cfg -f {frame_number} -q {qp} --IntraPeriod={intra_period} "
           "--InputFile={src_yuv} --SourceWidth={width} --SourceHeight={height} --FrameRate={frame_rate} "
           "--Level=6.2 --InputBitDepth=10 --InputChromaFormat=444 --ChromaFormatIDC=444 --DecodingRefreshType=2 "
           "-b {output.bin} -o {enc.yuv}")

# VTM-17.0 EncAppCfg.cpp: short names (lines 760-1258) of the options either command uses.
ALIASES = {"i": "InputFile", "b": "BitstreamFile", "o": "ReconFile", "wdt": "SourceWidth", "hgt": "SourceHeight",
           "f": "FramesToBeEncoded", "q": "QP", "fr": "FrameRate", "fs": "FrameSkip", "ip": "IntraPeriod",
           "dr": "DecodingRefreshType", "cf": "ChromaFormatIDC", "dph": "SEIDecodedPictureHash"}
# VTM-17.0 EncAppCfg.cpp defaults of those options, overlaid with what cfg/encoder_lowdelay_vtm.cfg sets
# (IntraPeriod -1, DecodingRefreshType 0, QP 32, InternalBitDepth 10, SEIDecodedPictureHash 0).
DEFAULTS = {"InputChromaFormat": "420", "ChromaFormatIDC": "0", "FrameSkip": "0", "OutputBitDepth": "0",
            "InputBitDepth": "8", "Level": "none", "ReconFile": "", "SummaryOutFilename": "",
            "IntraPeriod": "-1", "DecodingRefreshType": "0", "QP": "32", "InternalBitDepth": "10",
            "SEIDecodedPictureHash": "0"}
LDB_CFG = ("GOPSize : 8\nIntraPeriod : -1\nDecodingRefreshType : 0\nQP : 32\nInternalBitDepth : 10\n"
           "SEIDecodedPictureHash : 0\n")


def options(argv: list[str]) -> dict[str, str]:
    """VTM's reading of a command line: ``--Name=v`` long options, ``-x v`` short ones, the last one winning."""
    out: dict[str, str] = {}
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith("--"):
            name, sep, value = arg[2:].partition("=")
            assert sep, f"{arg}: the commands here write every long option as --Name=value"
        else:
            assert arg.startswith("-"), f"stray argument {arg!r} in {argv}"
            name, value = arg[1:], next(args)
        name = "config" if name == "c" else ALIASES.get(name, name)
        out[name] = Path(value).name if name == "config" else value
    return out


def effective(argv: list[str]) -> dict[str, str]:
    """What VTM-17.0 ends up using for each option: defaults and cfg, the command line, then EncAppCfg's rules."""
    value = {**DEFAULTS, **options(argv)}
    if value["IntraPeriod"] == "-1":
        value["DecodingRefreshType"] = "0"  # EncAppCfg.cpp line 1802: one intra picture, no refresh type
    if value["ChromaFormatIDC"] == "0":
        value["ChromaFormatIDC"] = value["InputChromaFormat"]  # line 2252: 0 means the input's format
    if value["OutputBitDepth"] == "0":
        value["OutputBitDepth"] = value["InternalBitDepth"]  # line 2241
    return value


@pytest.fixture
def vtm_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in VTM tree (the real one is not installable here): the LDB cfg's relevant lines, program names."""
    root = tmp_path / "vtm"
    (root / "cfg").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "cfg" / "encoder_lowdelay_vtm.cfg").write_text(LDB_CFG)
    for name in ("EncoderApp", "DecoderApp"):  # planning asks the encoder for its version (--help)
        path = root / "bin" / name
        path.write_text(f"#!{sys.executable}\nprint('VVCSoftware: VTM Encoder Version 17.0 [Linux][GCC 12.2.0][64 bit]')\n")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("LVCBENCH_VTM_ROOT", str(root))
    return root


class _Caught(Exception):
    pass


def suite_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, intra_period: int,
                   colour: str) -> list[tuple[Any, list[str]]]:
    """(job, encoder argv) for every job of a demo condition with vtm-17-dcvc, as the runner would start them."""
    cond = tmp_path / "dcvc_anchor.yaml"
    cond.write_text(f"name: dcvc_anchor\ndataset: demo\nsequences: [HopperPan]\nframes: {{first: 0, count: 32}}\n"
                    f"intra_period: {intra_period}\ncolour: {colour}\ncodecs: [vtm-17-dcvc]\n")
    condition = load_condition(cond)
    jobs, adapters = plan(condition)
    caught: list[list[str]] = []

    def catch(argv: list[str], *_: Any, **__: Any) -> str:
        caught.append(list(argv))
        raise _Caught

    monkeypatch.setattr(reference, "run_program", catch)
    out = []
    for job in jobs:
        adapter = adapters[job.codec.name]
        g = geometry(job.condition, job.source.width, job.source.height)
        fmt = adapter.input_format(job.condition.colour.coding(job.source.fmt))
        task = CodingTask(tmp_path / "input.yuv", fmt, g.coded_width, g.coded_height, job.source.fps,
                          job.source_id.count, job.condition.intra_period, job.rate_point, tmp_path)
        with pytest.raises(_Caught):
            adapter.code_sequence(task)
        out.append((job, caught[-1]))
    return out


def doc_command(text: str, job: Any, width: int, height: int) -> list[str]:
    fields = {"frame_number": job.source_id.count, "qp": job.rate_point, "intra_period": job.condition.intra_period,
              "src_yuv": "SRC.yuv", "width": width, "height": height, "frame_rate": f"{job.source.fps:g}",
              "output.bin": "OUT.bin", "enc.yuv": "REC.yuv"}
    text = text.replace("encoder_configuration.cfg", "encoder_lowdelay_vtm.cfg")
    for key, value in fields.items():
        text = text.replace("{" + key + "}", str(value))
    assert "{" not in text, text
    return shlex.split(text)


@pytest.mark.slow
@pytest.mark.parametrize("intra_period", [16, -1])
@pytest.mark.parametrize(("doc", "colour", "out_depth"), [
    (DOC_YUV420, "{source_format: yuv420p, matrix: bt709, range: limited}", "8"),
    (DOC_RGB, "{source_format: yuv420p, coding_format: yuv444p10le, matrix: bt709, range: full}", "10"),
])
def test_the_suite_runs_dcvcs_vtm_anchor_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vtm_build: Path,
                                                 doc: str, colour: str, out_depth: str, intra_period: int) -> None:
    commands = suite_commands(tmp_path, monkeypatch, intra_period, colour)
    assert sorted(job.rate_point for job, _ in commands) == [22, 27, 32, 37]
    for job, argv in commands:
        ours, theirs = effective(argv), effective(doc_command(doc, job, 416, 240))
        differ = {k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)}
        # Per-job file names (the document's placeholders), and the suite's encoder summary file.
        assert differ - {"SEIDecodedPictureHash", "OutputBitDepth"} == {"InputFile", "BitstreamFile", "ReconFile",
                                                                          "SummaryOutFilename"}
        assert ours["InputFile"] == str(tmp_path / "input.yuv") and ours["ReconFile"] == ""  # no reconstruction
        # The suite's hash SEI (verification; its NAL units are left out of the rate) ...
        assert (ours["SEIDecodedPictureHash"], theirs["SEIDecodedPictureHash"]) == ("1", "0")
        # ... and the bit depth of the reconstruction file, which the suite does not write (VTM-17.0 EncApp.cpp
        # uses OutputBitDepth only to open the recon and SII files).
        assert (ours["OutputBitDepth"], theirs["OutputBitDepth"]) == (out_depth, "10")
        # What the job fixes, spelled out so a swapped or dropped value shows here and not only as "equal".
        assert (ours["SourceWidth"], ours["SourceHeight"], ours["FramesToBeEncoded"], ours["QP"]) == \
            ("416", "240", "32", str(job.rate_point))
        assert (ours["IntraPeriod"], ours["DecodingRefreshType"], ours["Level"]) == \
            (str(intra_period), "2" if intra_period > 0 else "0", "6.2")


def test_an_intra_period_as_long_as_the_sequence_is_written_as_minus_one(tmp_path: Path, vtm_build: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A declared difference: the document's ``--IntraPeriod=32 --DecodingRefreshType=2`` over 32 frames is written
    by the suite as ``--IntraPeriod=-1`` (one intra picture either way; VTM-17.0 reads IntraPeriod > 0 in a few
    places beyond the slice type, e.g. SEIEncoder's buffering-period lengths, so the streams are not proven equal)."""
    colour = "{source_format: yuv420p, matrix: bt709, range: limited}"
    for job, argv in suite_commands(tmp_path, monkeypatch, 32, colour):
        ours, theirs = effective(argv), effective(doc_command(DOC_YUV420, job, 416, 240))
        assert (ours["IntraPeriod"], ours["DecodingRefreshType"]) == ("-1", "0")
        assert (theirs["IntraPeriod"], theirs["DecodingRefreshType"]) == ("32", "2")


def test_the_quoted_commands_parse_to_what_the_document_says() -> None:
    """The parser on the document's own text: every option it names, under VTM's long names."""
    job = type("J", (), {"source_id": type("S", (), {"count": 96})(), "rate_point": 22,
                         "condition": type("C", (), {"intra_period": 32})(), "source": type("F", (), {"fps": 30.0})()})
    assert options(doc_command(DOC_RGB, job, 1920, 1080)) == {
        "config": "encoder_lowdelay_vtm.cfg", "FramesToBeEncoded": "96", "QP": "22", "IntraPeriod": "32",
        "InputFile": "SRC.yuv", "SourceWidth": "1920", "SourceHeight": "1080", "FrameRate": "30", "Level": "6.2",
        "InputBitDepth": "10", "InputChromaFormat": "444", "ChromaFormatIDC": "444", "DecodingRefreshType": "2",
        "BitstreamFile": "OUT.bin", "ReconFile": "REC.yuv"}
