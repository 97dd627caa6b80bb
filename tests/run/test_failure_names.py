"""Failure lines name the codec the user named, once: a command codec whose encoder writes nothing fails, and
the console's FAILED lines, the record and the report's failure table say so without the adapter's name
(``command``) and with the rate point in the adapter's words; the conformance check names the adapter, not a
stand-in, and says each failure once."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bench.adapters import adapter_class
from bench.checks.conformance import assert_conforms
from bench.cli import main
from bench.store.results import ResultStore

_EMPTY = "import sys\nopen(sys.argv[1], 'wb').close()  # the encoder writes a 0-byte stream\n"


def _condition(tmp_path: Path, clip_dir: Path) -> Path:
    (tmp_path / "empty.py").write_text(_EMPTY)
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: zero
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: 2}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs:
  - name: mine
    adapter: command
    params: {{encode: ["{{python}}", empty.py, "{{bitstream}}"], decode: ["{{python}}", empty.py, "{{decoded}}"]}}
    rate_points: [3]
""")
    return cond


@pytest.mark.integration
def test_each_failure_line_names_the_codec_once(tmp_path: Path, clip_dir: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    cond = _condition(tmp_path, clip_dir)
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress", "--no-figures"]) == 1
    [record] = ResultStore(tmp_path / "r" / "zero").run_records()
    message = record["error"]["message"]
    assert message.startswith("the encoder wrote an empty bitstream (0 bytes): "), message
    # The record names the codec in its codec block, not again in words (its job folder's path, work/mine/..., aside)
    words = re.sub(r"\S*/work/mine/\S*", "", message)
    assert "command" not in words and "mine" not in words, message
    captured = capsys.readouterr()
    # The line printed when the job fails (stdout) and the run's closing list (stderr): the same words.
    lines = [line.strip() for line in (captured.out + captured.err).splitlines() if "FAILED" in line]
    assert lines == [f"FAILED mine / Pan / rate point 3: {message}"] * 2, lines
    for line in lines:
        assert re.sub(r"\S*/work/mine/\S*", "", line).count("mine") == 1 and "command" not in line, line
    # The report's failure table: the same job name and message, the adapter not named.
    page = html.unescape((tmp_path / "p" / "zero" / "index.html").read_text())
    shown = re.findall(r'<p class="bad">(.*?)</p>', page.split('id="failures"')[1])
    assert shown[0].startswith("<strong>1 job(s): the encoder wrote an empty bitstream"), shown  # the group
    assert shown[1:] == [f"mine / Pan / rate point 3: {message}"], shown  # its job


def test_the_conformance_check_says_a_failure_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty.py").write_text(_EMPTY)
    params = {"encode": ["{python}", str(tmp_path / "empty.py"), "{bitstream}"],
              "decode": ["{python}", str(tmp_path / "empty.py"), "{decoded}"]}
    with pytest.raises(AssertionError) as failed:
        assert_conforms(adapter_class("command"), params, [1])
    text = str(failed.value)
    assert text.startswith("adapter CommandCodec (command) breaks the contract:\n  failed  codes two frames: the job "
                           "failed: the encoder wrote an empty bitstream (0 bytes): "), text
    assert text.count("empty bitstream") == 1 and "under-test" not in text
    out = capsys.readouterr()  # the runner's own FAILED line is not printed beside the check's
    assert "FAILED" not in out.out + out.err and "empty bitstream" not in out.out + out.err
