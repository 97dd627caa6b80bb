"""A new user's first hour with the README alone: each problem a trial found is named when the user makes it,
in one line that says which file, which key and what to do (a misspelt script, a rate point out of range, an
unknown codec, a DCVC checkout), and the run's own lines count and advise right."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

from bench.adapters import adapter_class
from bench.adapters.command import script_argument
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import AdapterError, ConditionError

REPO = Path(__file__).resolve().parent.parent
WEBP = REPO / "examples" / "command_codec" / "webp_frames.py"


def _descriptor(folder: Path, encode: str, decode: str = "qz_codec.py", extra: str = "",
                rate_points: str = "[40, 60, 75, 90]", name: str = "qz") -> Path:
    """The README's command codec as a user writes it: the example's WebP script copied as qz_codec.py."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qz_codec.py").write_text(WEBP.read_text())
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        adapter: command
        params:
          encode: ["{{python}}", {encode}, encode, "{{input}}", "{{work_dir}}/bits", "{{rate_point}}"]
          decode: ["{{python}}", {decode}, decode, "{{work_dir}}/bits", "{{decoded}}"]
          input_format: png
          bitstream_pattern: "{{work_dir}}/bits/{{frame:05d}}.webp"
          rate_range: [0, 100]
        {extra}
        rate_points: {rate_points}
        """))
    return path


def _condition(folder: Path, clip_dir: Path, codecs: str) -> Path:
    cond = folder / "c.yaml"
    cond.write_text(textwrap.dedent(f"""\
        name: first_hour
        sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
        data_root: {clip_dir}
        frames: {{first: 0, count: 2}}
        intra_period: -1
        codecs: {codecs}
        """))
    return cond


@pytest.mark.integration
@pytest.mark.parametrize("key", ["encode", "decode"])
def test_a_misspelt_script_is_named_by_validate_and_doctor(tmp_path: Path, clip_dir: Path, key: str,
                                                          capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: validate exited 0, doctor said ok, and only the run failed, in the interpreter's words about a
    file in a scratch folder. Now both name the descriptor, the key, the file and where it was looked for."""
    here = tmp_path / "mine"
    typo = {"encode": "qz_codek.py", "decode": "qz_codec.py"} if key == "encode" else \
        {"encode": "qz_codec.py", "decode": "qz_codek.py"}
    descriptor = _descriptor(here, **typo)
    cond = _condition(here, clip_dir, "[qz]")
    expected = (f"{descriptor}: params.{key}: 'qz_codek.py': no such file {here / 'qz_codek.py'} (the script "
                f"{{python}} runs; a relative path starts at the descriptor's folder {here})")
    assert main(["validate", "--conditions", str(cond)]) == 2
    assert capsys.readouterr().err == f"error: {expected}\n"
    monkeypatch.chdir(here)
    assert main(["doctor", "qz.yaml"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("  FAIL qz.yaml: ") and out.rstrip("\n").endswith(expected.split(": ", 1)[1]), out
    assert "ok" not in out.split()


def test_the_example_and_scripts_next_to_the_descriptor_pass_as_absolute_paths(tmp_path: Path) -> None:
    """The shipped example validates; a script or config next to the descriptor reaches the command as an
    absolute path (the commands run in their own scratch folders), also when a condition in another folder
    overrides the descriptor's parameters (before: its folder was taken for the descriptor's)."""
    load_condition(REPO / "examples" / "command_codec" / "compare.yaml")
    codecs = tmp_path / "codecs"
    _descriptor(codecs, "qz_codec.py")
    (tmp_path / "conditions").mkdir()
    cond = tmp_path / "conditions" / "c.yaml"
    cond.write_text("name: c\ndataset: demo\nsequences: [HopperPan]\ncodecs: [{descriptor: qz, params: "
                    "{timeout_s: 60}}]\n")
    [codec] = load_condition(cond).codecs
    adapter = adapter_class("command")(codec.params_dict)
    assert adapter._static_argv("encode")[:2] == [sys.executable, str(codecs / "qz_codec.py")]
    assert [str(p) for p in adapter.programs()] == [sys.executable, str(codecs / "qz_codec.py")]


@pytest.mark.parametrize(("argv", "index"), [
    (["{python}", "enc.py", "x"], 1),
    (["/usr/bin/python3.12", "-u", "-X", "dev", "-Wignore", "enc.py"], 5),
    (["python", "-m", "mycodec.enc", "in"], None),  # a module: no script file
    (["python3", "-um", "mycodec.enc"], None),
    (["{python}", "-c", "pass", "x.py"], None),  # inline code
    (["bash", "-euc", "enc {input}"], None),
    (["bash", "-o", "pipefail", "run.sh"], 3),
    (["node", "--require", "ts-node/register", "enc.js"], 3),
    (["perl", "-e", "print 1"], None),
    (["Rscript", "--vanilla", "enc.R"], 2),
    (["sh", "--", "enc.sh"], 2),
    (["my_encoder", "enc.cfg"], None),  # not an interpreter: its arguments are its own business
])
def test_which_argument_is_the_script(argv: list[str], index: int | None) -> None:
    assert script_argument(argv) == index


def test_only_an_interpreters_script_is_checked(tmp_path: Path) -> None:
    cls = adapter_class("command")
    ok = {"descriptor_dir": str(tmp_path), "decode": ["{python}", "-m", "json.tool"]}
    cls.validate_params({**ok, "encode": ["{python}", "-m", "no_such_module", "{input}"]}, "d.yaml: params")
    cls.validate_params({**ok, "encode": ["{python}", "{work_dir}/enc.py"]}, "d.yaml: params")  # filled per job
    cls.validate_params({**ok, "encode": ["my_encoder", "no_such.cfg"]}, "d.yaml: params")
    with pytest.raises(ConditionError, match=r"^d.yaml: params.encode: '\{descriptor_dir\}/enc.py': no such file "
                                             rf"{tmp_path}/enc.py \(the script bash runs"):
        cls.validate_params({**ok, "encode": ["bash", "{descriptor_dir}/enc.py"]}, "d.yaml: params")
    (tmp_path / "enc.sh").write_text("true\n")
    cls.validate_params({**ok, "encode": ["bash", "-e", "enc.sh", "{input}"]}, "d.yaml: params")


@pytest.mark.integration
def test_a_rate_point_out_of_range_names_file_codec_and_key_once(tmp_path: Path, clip_dir: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    """Before: ``error: codec command: rate point 300 is not ...``: no file, no key, and the adapter's name
    instead of the codec's."""
    here = tmp_path / "mine"
    descriptor = _descriptor(here, "qz_codec.py", rate_points="[40, 60, 75, 300]")
    assert main(["validate", "--conditions", str(_condition(here, clip_dir, "[qz]"))]) == 2
    assert capsys.readouterr().err == (f"error: {descriptor}: rate_points[3]: rate point 300 is not an int in "
                                       "[0, 100], as its descriptor's rate_points/rate_range say\n")
    # Written in the condition under another name, an [intra, inter] pair: the condition, the codec, the key.
    (here / "qz.yaml").unlink()
    codec = ('[{name: quick, adapter: command, params: {encode: ["{python}", qz_codec.py, "{rate_point[0]}"], '
             'decode: ["{python}", qz_codec.py], rate_point_fields: [intra, inter], rate_range: [1, 255]}, '
             'rate_points: [[32, 30], [32, 300]]}]')
    cond = _condition(here, clip_dir, codec)
    assert main(["validate", "--conditions", str(cond)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {cond}: codec quick: rate_points[1]: rate point [32, 300]'s inter value 300 is not an "
                   "int in [1, 255], as its descriptor's rate_points/rate_range say\n")
    # python-model the same way
    codec = "[{name: dct, adapter: python-model, params: {model: 'json:dumps', rate_range: [1, 10]}, rate_points: [3, 11]}]"
    cond = _condition(here, clip_dir, codec)
    assert main(["validate", "--conditions", str(cond)]) == 2
    assert capsys.readouterr().err == (f"error: {cond}: codec dct: rate_points[1]: rate point 11 is not an int in "
                                       "[1, 10], as its descriptor's rate_points/rate_range say\n")


@pytest.mark.integration
def test_an_unknown_codec_says_where_plug_ins_must_be_installed(tmp_path: Path) -> None:
    cond = tmp_path / "c.yaml"
    cond.write_text("name: c\ndataset: demo\nsequences: [HopperPan]\ncodecs: [zq]\n")
    with pytest.raises(ConditionError) as e:
        load_condition(cond)
    assert re.search(r"codecs\[0\]: unknown codec 'zq' \(\d+ known codecs: `evaluate.py ls`\): no zq.yaml in ",
                     str(e.value)), e.value
    assert (f"nor from a plug-in (lvcbench.codecs; found only when installed in the Python that runs evaluate.py, "
            f"{sys.executable})") in str(e.value)
    cond.write_text("name: c\ndataset: demo\nsequences: [HopperPan]\ncodecs: [x256]\n")
    with pytest.raises(ConditionError, match=r"unknown codec 'x256' \(did you mean x265 or x264\? "):
        load_condition(cond)  # a typo: the near names, not all of them


def test_dcvc_uf_checkout_is_the_clones_root(tmp_path: Path) -> None:
    """DCVC-RT-UF's script is at the clone's root: no "the . folder of your clone"."""
    cls = adapter_class("dcvc-uf")
    with pytest.raises(AdapterError) as e:
        cls(cls.validate_params({}, "w")).identity()
    assert str(e.value) == "codec dcvc-uf: no checkout given; set checkout: to your microsoft/DCVC clone (its root folder)"
    with pytest.raises(AdapterError) as e:
        cls(cls.validate_params({"checkout": str(tmp_path)}, "w")).identity()
    assert str(e.value) == (f"codec dcvc-uf: {tmp_path} has no test_video.py; point checkout: at your microsoft/DCVC "
                            "clone (its root folder)")
