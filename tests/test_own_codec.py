"""Bringing your own codec: the two examples end to end on the demo set, the command and python-model adapters
under the shared contract, a plug-in adapter installed from a folder of its own, and list rate points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import dcvc_checkout

from bench.adapters import adapter_class
from bench.checks.conformance import assert_conforms
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import ConditionError
from bench.run.runner import RunOptions, plan, run_condition
from bench.store.results import ResultStore

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def _descriptor_params(path: Path) -> tuple[dict, list]:
    data = yaml.safe_load(path.read_text())
    return {**data["params"], "descriptor_dir": str(path.parent)}, data["rate_points"]


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize(("example", "codec"), [("command_codec", "webp"), ("python_model", "dct")])
def test_example_runs_end_to_end_against_x265(example: str, codec: str, tmp_path: Path, demo_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("LVCBENCH_CACHE", str(demo_dir.parent))
    cond = EXAMPLES / example / "compare.yaml"
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "16 coded" in out and f"\n{codec} " in out  # its BD-rate row against x265
    name = load_condition(cond).name
    records = ResultStore(tmp_path / "r" / name).run_records()
    ours = [r for r in records if r["codec"]["name"] == codec]
    assert len(ours) == 8 and all(r["status"] == "ok" for r in ours)
    for r in ours:  # one real file per frame, and the rate is their bytes
        files = [tmp_path / "r" / name / p for p in r["rate"]["bitstreams"]]
        assert len(files) == 8 and r["rate"]["bits"] == 8 * sum(f.stat().st_size for f in files)
        assert r["per_frame"]["bits"] == [8 * f.stat().st_size for f in files]
        assert 20 < r["metrics"]["psnr_y"] < 60
        if codec == "dct":  # a numpy model: its operations are said to be uncounted, never counted as 0 MACs
            assert "does not use torch" in r["complexity"]["not_counted"]
    by_rate = sorted(ours, key=lambda r: (r["sequence"]["name"], r["rate_point"]))
    for seq in ("HopperPan", "MovingShapes"):  # a higher quality index costs more bits and gives more PSNR
        rs = [r for r in by_rate if r["sequence"]["name"] == seq]
        assert [r["rate"]["bits"] for r in rs] == sorted(r["rate"]["bits"] for r in rs)
        assert [r["metrics"]["psnr_y"] for r in rs] == sorted(r["metrics"]["psnr_y"] for r in rs)
    # Decoding a stored bitstream again gives the frames measured at coding time (checked by hash).
    assert main(["remeasure", "--conditions", str(cond), "--metrics", "xpsnr", "--results", str(tmp_path / "r"),
                 "--reports", str(tmp_path / "p"), "--no-progress"]) == 0
    assert "16 bitstreams decoded again" in capsys.readouterr().out


@pytest.mark.parametrize(("adapter", "descriptor"), [("command", EXAMPLES / "command_codec" / "webp.yaml"),
                                                     ("python-model", EXAMPLES / "python_model" / "dct.yaml")])
def test_own_codec_adapters_keep_the_contract(adapter: str, descriptor: Path) -> None:
    params, rate_points = _descriptor_params(descriptor)
    checks = {c.name: c.status for c in assert_conforms(adapter_class(adapter), params, rate_points[1:2])}
    assert checks["codes two frames"] == "passed" and checks["identity"] == "passed"


def test_command_codec_refuses_shell_strings_and_unknown_placeholders(tmp_path: Path) -> None:
    cls = adapter_class("command")
    with pytest.raises(ConditionError, match="as a list of arguments"):
        cls.validate_params({"encode": "x264 --crf {rate_point} {input}", "decode": ["d"]}, "c")
    with pytest.raises(ConditionError, match="unknown or malformed placeholder"):
        cls.validate_params({"encode": ["enc", "{inptu}"], "decode": ["d"]}, "c")
    with pytest.raises(ConditionError, match="needs a {frame} placeholder"):
        cls.validate_params({"encode": ["e"], "decode": ["d"], "bitstream_pattern": "{work_dir}/b.bin"}, "c")
    with pytest.raises(ConditionError, match=r"c.decode: the decoder gets only the bitstream; \{input\}"):
        cls.validate_params({"encode": ["e"], "decode": ["d", "{input}"]}, "c")
    with pytest.raises(ConditionError, match="c.bitstream: '/tmp/out.bin' must lie in the job's folder"):
        cls.validate_params({"encode": ["e"], "decode": ["d"], "bitstream": "/tmp/out.bin"}, "c")


@pytest.mark.slow
@pytest.mark.integration
def test_command_codec_raw_input_own_numbers_and_changed_tool(tmp_path: Path, clip_dir: Path) -> None:
    """A raw-YUV codec (a copy 'encoder' that rounds samples to multiples of 4), its own numbers read from a
    JSON file and its log; editing the tool changes the key."""
    tool = tmp_path / "quant4.py"
    tool.write_text(textwrap.dedent("""
        import json, sys
        mode, src, dst = sys.argv[1:4]
        data = open(src, "rb").read()
        if mode == "encode":
            step = int(sys.argv[4])
            open(dst, "wb").write(bytes(min(255, (b + step // 2) // step * step) for b in data))
            json.dump({"bpp": 8.0, "note": "text is not kept"}, open(sys.argv[5], "w"))
            print("encoder says: PSNR 41.25 dB")
        else:
            open(dst, "wb").write(data)
    """))
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: raw
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 3}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - name: q4
    adapter: command
    params:
      encode: ["{{python}}", quant4.py, encode, "{{input}}", "{{bitstream}}", "{{rate_point}}", "{{work_dir}}/r.json"]
      decode: ["{{python}}", quant4.py, decode, "{{bitstream}}", "{{decoded}}"]
      report_json: "{{work_dir}}/r.json"
      report_regex: {{psnr_y: 'PSNR ([0-9.]+) dB'}}
      rate_range: [1, 64]
    rate_points: [4]
""")
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress"]) == 0
    [record] = ResultStore(tmp_path / "r" / "raw").run_records()
    assert record["status"] == "ok" and record["rate"]["bits"] == 8 * 96 * 64 * 3 // 2 * 3
    assert record["codec_reported"]["reported_metrics"] == {"bpp": 8.0, "psnr_y": 41.25}
    programs = {Path(p["path"]).name for p in record["codec"]["identity"]["programs"]}
    assert "quant4.py" in programs
    key = record["key"]
    tool.write_text(tool.read_text() + "\n# edited\n")
    [job], _ = plan(load_condition(cond))
    assert job.key != key
    # A rate point outside the descriptor's range is refused when the run is planned, before any coding.
    cond.write_text(cond.read_text().replace("rate_points: [4]", "rate_points: [99]"))
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r2"), "--no-progress"]) == 2


def _pairs_condition(tmp_path: Path, clip_dir: Path, codec: str, name: str = "c.yaml") -> Path:
    cond = tmp_path / name
    cond.write_text(f"""
name: pairs
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: -1
codecs:
  - {codec}
""")
    return cond


@pytest.mark.slow
@pytest.mark.integration
def test_list_rate_points_validate_plan_run_and_name_files(tmp_path: Path, clip_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """DCVC-FM's [intra, inter] rate points (which crashed condition loading: a set could not hold a list), run
    through the stand-in of its test script (tests/dcvc_standin.py; the real script needs their checkout)."""
    monkeypatch.setenv("LAYOUT", "fm")
    folder = dcvc_checkout(tmp_path, "dcvc-fm")
    fm = (f"{{name: fm, adapter: dcvc-fm, params: {{checkout: {folder}, python: {sys.executable}, i_frame_model: "
          "image.pth.tar, p_frame_model: video.pth.tar, cpu_sync_shim: true}, rate_points: ")
    condition = load_condition(_pairs_condition(tmp_path, clip_dir, fm + "[[0, 21], [42, 42], [63]]}"))
    assert condition.codecs[0].rate_points == ([0, 21], 42, 63)  # canonical: [q, q] and [q] are q
    jobs, _ = plan(condition)
    assert [j.rate_point for j in jobs] == [[0, 21], 42, 63] and len({j.key for j in jobs}) == 3
    outcome = run_condition(condition, RunOptions(tmp_path / "results", progress=False))
    assert outcome.coded == 3 and not outcome.failed
    names = sorted(p.name.split("_")[0] for p in (tmp_path / "results" / "pairs" / "records" / "fm" / "Pan").glob("*"))
    assert names == ["0-21", "42", "63"]
    record = next(r for r in ResultStore(tmp_path / "results" / "pairs").run_records() if r["rate_point"] == [0, 21])
    assert "--q_indexes_i" in record["commands"][0] and record["commands"][0][
        record["commands"][0].index("--q_indexes_p") + 1] == "21"
    with pytest.raises(ConditionError, match="lists a rate point twice"):
        load_condition(_pairs_condition(tmp_path, clip_dir, fm + "[[0, 21], [0, 21]]}", "twice.yaml"))
    with pytest.raises(ConditionError, match=r"codecs\[0\].*rate_points\[0\]: \[22, 27\] is not"):
        load_condition(_pairs_condition(tmp_path, clip_dir, "{descriptor: x265, rate_points: [[22, 27]]}", "x.yaml"))


@pytest.mark.integration
@pytest.mark.parametrize("input_format", ["yuv420p", "y4m", "png"])
def test_command_codec_input_formats(tmp_path: Path, clip_dir: Path, input_format: str) -> None:
    """A lossless 'codec' that copies what it is given (a file or a folder of PNGs): raw and Y4M frames come back
    exactly; PNG frames carry 8-bit RGB, so only the suite's YUV -> RGB -> YUV round trip changes them."""
    tool = tmp_path / "copy.py"
    tool.write_text("import shutil, sys\nsrc, dst = sys.argv[1:3]\n"
                    "(shutil.copytree if __import__('os').path.isdir(src) else shutil.copyfile)(src, dst, "
                    "**({'dirs_exist_ok': True} if __import__('os').path.isdir(src) else {}))\n")
    bitstream = "{work_dir}/bits" if input_format == "png" else "{work_dir}/bits.bin"
    pattern = "bitstream_pattern: '{work_dir}/bits/{frame:05d}.png'" if input_format == "png" else \
        f"bitstream: '{bitstream}'"
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: copy
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 3}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - name: copy
    adapter: command
    params:
      encode: ["{{python}}", copy.py, "{{input}}", "{bitstream}"]
      decode: ["{{python}}", copy.py, "{bitstream}", "{{decoded}}"]
      input_format: {input_format}
      {pattern}
    rate_points: [1]
""")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "r", progress=False))
    assert not outcome.failed, outcome.failed
    [record] = ResultStore(tmp_path / "r" / "copy").run_records()
    if input_format == "png":
        assert 40 < record["metrics"]["psnr_y"] < 100
    else:
        assert record["metrics"]["psnr_y"] == record["metrics"]["psnr_v"] == 100.0  # identical frames
    assert len(record["rate"]["bitstreams"]) == (3 if input_format == "png" else 1)


@pytest.mark.slow
@pytest.mark.integration
def test_adapter_by_import_path_from_the_descriptor_folder(tmp_path: Path, clip_dir: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "mine.py").write_text("from bench.adapters.ffmpeg import X264\n\nclass Mine(X264):\n"
                                      "    name = 'mine'\n")
    cond = _pairs_condition(tmp_path, clip_dir, "{name: m, adapter: 'mine:Mine', params: {preset: ultrafast}, "
                                                "rate_points: [30]}")
    [job], _ = plan(load_condition(cond))
    assert job.codec.adapter == "mine:Mine"
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--no-progress",
                 "--reports", str(tmp_path / "p")]) == 0
    bad = _pairs_condition(tmp_path, clip_dir, "{name: m, adapter: 'mine:Nope', rate_points: [30]}", "bad.yaml")
    assert main(["validate", "--conditions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "codecs[0].adapter: adapter 'mine:Nope': mine has no Nope" in err and len(err.splitlines()) == 1


_PROBE = """
import os, sys
step, src, dst = sys.argv[1:4]
for arg in sys.argv[2:]:  # every path the suite hands over is absolute, and the command runs in its {work_dir}
    assert os.path.isabs(arg), arg
assert os.getcwd() == sys.argv[4], (os.getcwd(), sys.argv[4])
data = open(src, "rb").read()
open(dst, "wb").write(data if step == "decode" else bytes(b // 2 * 2 for b in data))
"""


@pytest.mark.slow
@pytest.mark.integration
def test_command_codec_works_with_relative_folders(tmp_path: Path, clip_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's way: run from the folder the condition is in, with the default-style relative --results
    and --reports; the commands get absolute paths and run in their own step folder."""
    here = tmp_path / "project"
    here.mkdir()
    (here / "probe.py").write_text(_PROBE)
    (here / "c.yaml").write_text(f"""
name: rel
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - name: halve
    adapter: command
    params:
      encode: ["{{python}}", probe.py, encode, "{{input}}", "{{bitstream}}", "{{work_dir}}"]
      decode: ["{{python}}", probe.py, decode, "{{bitstream}}", "{{decoded}}", "{{work_dir}}"]
    rate_points: [1]
""")
    monkeypatch.chdir(here)
    assert main(["run", "--conditions", "c.yaml", "--results", "results", "--reports", "reports",
                 "--no-progress"]) == 0
    [record] = ResultStore(here / "results" / "rel").run_records()
    assert record["status"] == "ok" and record["rate"]["bits"] == 8 * 96 * 64 * 3 // 2 * 2
    encode, decode = record["commands"]
    assert Path(encode[-1]).name == "encode" and Path(decode[-1]).name == "decode"  # two separate folders
    assert Path(encode[-1]).parent == Path(decode[-1]).parent
    # even samples kept, odd ones off by 1: MSE about 0.5, so PSNR near 10 log10(255^2 / 0.5) = 51.1 dB
    assert 49 < record["metrics"]["psnr_y"] < 54


_CHEAT = """
import shutil, subprocess, sys
step = sys.argv[1]
if step == "encode":
    open(sys.argv[2], "wb").write(b"x" * int(sys.argv[3]))  # N bytes that carry nothing
elif step == "decode":
    shutil.copyfile(sys.argv[2], sys.argv[3])  # reaches for the encoder's input
else:  # a wrapper around a real program that fails: ffmpeg on a file that is not there
    import imageio_ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", "no_such_input.y4m", "out.y4m"],
                   check=True)
"""


@pytest.mark.integration
@pytest.mark.parametrize(("encode", "decode", "expected"), [
    ("[encode, '{bitstream}', '0']", "[decode, '{work_dir}/input.yuv', '{decoded}']",
     "the encoder wrote an empty bitstream (0 bytes): {work}/encode/bitstream.bin; every "
     "bitstream file must hold what the decoder rebuilds the frames from"),
    ("[encode, '{bitstream}', '1']", "[decode, '{work_dir}/input.yuv', '{decoded}']",
     "decoder failed with exit code 1: FileNotFoundError: [Errno 2] No such file or directory: "
     "'{work}/decode/input.yuv'"),
    ("[wrap]", "[decode, '{bitstream}', '{decoded}']",
     "encoder failed with exit code 1: Error opening input file no_such_input.y4m. | Error opening "
     "input files: No such file or directory (from ffmpeg"),
])
def test_command_codec_cannot_cheat_and_names_the_programs_message(
        tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture, encode: str, decode: str,
        expected: str) -> None:
    """An encoder writing an empty stream, a decoder copying the encoder's input (before: ok, 0 bpp, PSNR
    100 dB), and a Python wrapper whose check=True raised: each a failed job whose one line says why in the
    failing program's own words (ffmpeg's 'No such file or directory', not the CalledProcessError)."""
    (tmp_path / "cheat.py").write_text(_CHEAT)
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: cheat
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - name: cheat
    adapter: command
    params: {{encode: ["{{python}}", cheat.py, {encode[1:-1]}], decode: ["{{python}}", cheat.py, {decode[1:-1]}]}}
    rate_points: [1]
""")
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--no-progress"]) == 1
    [record] = ResultStore(tmp_path / "r" / "cheat").run_records()
    assert record["status"] == "failed"
    message = record["error"]["message"]
    if "{work}" in expected:  # the job's folder: <results>/cheat/work/<codec>/<key-host-pid>
        prefix, _, rest = expected.partition("{work}")
        job = message[len(prefix):].split("/encode/" if "/encode/" in rest else "/decode/")[0]
        assert Path(job).parent.parent == tmp_path / "r" / "cheat" / "work", message
        assert message == prefix + job + rest, message
    else:
        assert message.startswith(expected), message
    assert "CalledProcessError" not in message and "Traceback" not in message
    err = capsys.readouterr().err  # the run's closing list of failures, one line each
    assert f"FAILED cheat / Pan / rate point 1: {message}\n" in err


def test_command_codec_refuses_empty_commands_and_groupless_report_regex() -> None:
    cls = adapter_class("command")
    with pytest.raises(ConditionError, match=r"^c.decode: give the decode command as a list of arguments, e.g. "):
        cls.validate_params({"encode": ["e"], "decode": []}, "c")
    with pytest.raises(ConditionError, match=r"^c.report_regex.psnr: not a regular expression with a group"):
        cls.validate_params({"encode": ["e"], "decode": ["d"], "report_regex": {"psnr": "PSNR [0-9.]+"}}, "c")
