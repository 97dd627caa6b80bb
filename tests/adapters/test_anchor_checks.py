"""Every anchor is what its record says: encoder option strings merged (not replaced), settings the condition
fixes protected, what was coded read back from the stream and checked, ignored options failing the job.

Per encoder, a stream with reordering or wrong intra positions must fail its job: the tampered adapters below
are the suite's own adapters with their arguments changed behind the checks' back (what a buggy adapter or an
unnoticed library default would do), and the jobs must fail with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.adapters
from bench.adapters.encoder_options import X264_OPTIONS, X265_OPTIONS, merge_args, parse
from bench.adapters.ffmpeg import X264, X265, Aom, SvtAv1, VVenC
from bench.adapters.stream_facts import from_x26x_sei
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import ConditionError
from bench.run.runner import RunOptions, run_condition
from bench.store.results import ResultStore


def _condition(tmp_path: Path, clip_dir: Path, codec: str, frames: int = 8, intra: int = 4) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"""
name: anchors
sequences: [{{name: Pan, file: Pan_96x64_30.yuv, group: A}}]
data_root: {clip_dir}
frames: {{first: 0, count: {frames}}}
intra_period: {intra}
metrics: {{ms_ssim: []}}
codecs:
  - {codec}
""")
    return path


def _run(tmp_path: Path, clip_dir: Path, codec: str, **kw: Any) -> list[dict]:
    run_condition(load_condition(_condition(tmp_path, clip_dir, codec, **kw)), RunOptions(tmp_path / "r", progress=False))
    return ResultStore(tmp_path / "r" / "anchors").run_records()


def test_option_strings_merge_key_by_key() -> None:
    ours = ["-preset", "fast", "-x265-params", "qp=32:keyint=8:bframes=0"]
    args, replaced = merge_args(ours, ["-x265-params", "ipratio=1:pbratio=1", "-x265-params", "aq-mode=0"],
                                X265_OPTIONS)
    assert args == ["-preset", "fast", "-x265-params", "qp=32:keyint=8:bframes=0:ipratio=1:pbratio=1:aq-mode=0"]
    assert replaced == []
    args, _ = merge_args(["-x264-params", "scenecut=0"], ["-x264opts", "ref=1"], X264_OPTIONS)
    assert args == ["-x264-params", "scenecut=0:ref=1"]  # x264's legacy -x264opts is the same string
    assert parse("a=1::b") == [("a", "1"), ("b", None)]


@pytest.mark.integration
def test_the_readme_flat_qp_case_merges_and_is_checked_in_the_sei(tmp_path: Path, clip_dir: Path) -> None:
    """extra_args -x265-params ipratio=1:pbratio=1 on four QPs: four distinct constant-QP streams, the flat
    offsets applied, keyint and bframes kept; the SEI says so."""
    records = _run(tmp_path, clip_dir, "{descriptor: x265, params: {preset: ultrafast, extra_args: [-x265-params, "
                                       "'ipratio=1:pbratio=1']}, rate_points: [22, 27, 32, 37]}")
    assert len(records) == 4 and all(r["status"] == "ok" for r in records)
    assert len({r["rate"]["bitstream_sha256"][0] for r in records}) == 4
    for r in records:
        stream = (tmp_path / "r" / "anchors" / r["rate"]["bitstreams"][0]).read_bytes()
        sei = from_x26x_sei(stream, x265=True)
        assert sei is not None and sei.raw["ipratio"] == "1.00"  # (pbratio is not written without B-frames)
        assert sei.rate_control == "cqp" and sei.qp == r["rate_point"] and sei.keyint == 4
        assert r["coding"]["stream"]["qp"] == r["rate_point"] and r["coding"]["stream"]["intra_frames"] == [0, 4]
        assert "constant QP, intra every 4 frames, low delay" in r["codec"]["coded_as"]


@pytest.mark.integration
@pytest.mark.parametrize(("extra", "message"), [
    ("[-x265-params, 'crf=28']", "-x265-params key 'crf' would change the rate control"),
    ("[-x265-params, 'keyint=250']", "key 'keyint' would change the intra period"),
    ("[-x265-params, 'bframes=4']", "key 'bframes' would change the low-delay structure"),
    ("[-x265-params, 'scenecut=40']", "key 'scenecut' would change scene-cut detection"),
    ("[-bf, '3']", "-bf would change the low-delay structure"),
    ("[-x264-params, 'ref=1']", "-x264-params is not an option of x265"),
])
def test_contradicting_keys_are_refused_at_planning(tmp_path: Path, clip_dir: Path, extra: str, message: str,
                                                    capsys: pytest.CaptureFixture) -> None:
    cond = _condition(tmp_path, clip_dir, f"{{descriptor: x265, params: {{extra_args: {extra}}}, rate_points: [32]}}")
    with pytest.raises(ConditionError, match=message.replace("(", r"\(")):
        load_condition(cond)
    assert main(["validate", "--conditions", str(cond)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.integration
def test_an_override_on_purpose_is_allowed_recorded_and_shown(tmp_path: Path, clip_dir: Path) -> None:
    records = _run(tmp_path, clip_dir, "{descriptor: x264, params: {preset: ultrafast, extra_args: [-x264-params, "
                                       "'keyint=2'], overrides: [keyint]}, rate_points: [30]}")
    [r] = records
    assert r["status"] == "ok" and r["coding"]["stream"]["overrides"] == ["keyint"]
    assert "overrides keyint" in r["codec"]["coded_as"]
    with pytest.raises(ConditionError, match="overrides: 'ref' is not a setting the condition fixes"):
        load_condition(_condition(tmp_path, clip_dir, "{descriptor: x264, params: {overrides: [ref]}, "
                                                      "rate_points: [30]}"))


# --- tampered adapters: the checks must catch what the arguments hide -------------------------------------------

class ReorderingX264(X264):
    name = "tampered-x264"

    def encoder_args(self, task: Any, k: int) -> list[str]:
        return [a if a != "-bf" else "-bf" for a in super().encoder_args(task, k)][:-4] + ["-bf", "2", "-x264-params",
                                                                                         "scenecut=0:bframes=2"]


class LongGopX265(X265):
    name = "tampered-x265"

    def encoder_args(self, task: Any, k: int) -> list[str]:
        return super().encoder_args(task, 2 * k)


class RandomAccessSvt(SvtAv1):
    name = "tampered-svtav1"

    def encoder_args(self, task: Any, k: int) -> list[str]:
        return [a.replace("pred-struct=1", "pred-struct=2") for a in super().encoder_args(task, k)]


class LongPeriodVVenC(VVenC):
    name = "tampered-vvenc"

    def encoder_args(self, task: Any, k: int) -> list[str]:
        return super().encoder_args(task, 2 * k)  # (its reordering needs GOP 8 and an intra period to match)


class LongGopAom(Aom):
    name = "tampered-aom"

    def encoder_args(self, task: Any, k: int) -> list[str]:
        return super().encoder_args(task, 2 * k)


TAMPERED: dict[str, tuple[type, str, str]] = {
    "x264": (ReorderingX264, "{preset: ultrafast}", "B-frames|reordering"),
    "x265": (LongGopX265, "{preset: ultrafast}", "intra period 8, not 4|intra frames at 0"),
    "svtav1": (RandomAccessSvt, "{preset: 12}", "reordering"),
    "vvenc": (LongPeriodVVenC, "{}", "intra period 8, not 4"),
    "aom": (LongGopAom, "{preset: 8}", "intra frames at 0"),
}


@pytest.mark.integration
@pytest.mark.parametrize("encoder", list(TAMPERED))
def test_a_stream_that_is_not_what_was_asked_fails_its_job(encoder: str, tmp_path: Path, clip_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cls, params, reason = TAMPERED[encoder]
    bench.adapters.adapter_names()
    monkeypatch.setitem(bench.adapters._REGISTRY, cls.name, cls)
    qp = 50 if encoder in ("svtav1", "aom") else 32
    [r] = _run(tmp_path, clip_dir, f"{{name: t, adapter: {cls.name}, params: {params}, rate_points: [{qp}]}}")
    assert r["status"] == "failed"
    assert "the stream is not what the condition asks" in r["error"]["message"]
    import re

    assert re.search(reason, r["error"]["message"]), r["error"]["message"]


UNKNOWN = {"x264": "[-x264-params, 'no-such-key=1']", "x265": "[-x265-params, 'no-such-key=1']",
           "svtav1": "[-svtav1-params, 'no-such-key=1']", "vvenc": "[-vvenc-params, 'NoSuchKey=1']",
           "aom": "[-aom-params, 'no-such-key=1']"}
FAST = {"x264": "preset: ultrafast, ", "x265": "preset: ultrafast, ", "svtav1": "preset: 12, ", "vvenc": "",
        "aom": "preset: 8, "}


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("encoder", list(UNKNOWN))
def test_an_unknown_option_fails_the_job(encoder: str, tmp_path: Path, clip_dir: Path) -> None:
    qp = 50 if encoder in ("svtav1", "aom") else 32
    [r] = _run(tmp_path, clip_dir, f"{{descriptor: {encoder}, params: {{{FAST[encoder]}extra_args: "
                                   f"{UNKNOWN[encoder]}}}, rate_points: [{qp}]}}")
    assert r["status"] == "failed", r.get("codec", {}).get("coded_as")
    message = r["error"]["message"].lower()
    assert "no-such-key" in message or "nosuchkey" in message or "failed with exit code" in message


@pytest.mark.integration
def test_logs_and_warnings_are_kept(tmp_path: Path, clip_dir: Path) -> None:
    import gzip

    [r] = _run(tmp_path, clip_dir, "{descriptor: x265, params: {preset: ultrafast}, rate_points: [32]}")
    log = gzip.decompress((tmp_path / "r" / "anchors" / r["logs"]["path"]).read_bytes()).decode()
    assert "===== encode =====" in log and "===== decode =====" in log and "x265 [info]" in log
    assert any("x265 [warning]" in w for w in r["warnings"])  # 96x64: "Source height < 720p ..."
    json.dumps(r)


@pytest.mark.integration
@pytest.mark.parametrize("frames, intra", [(1, 32), (3, 1)])
def test_svtav1_all_intra_is_not_reordering(tmp_path: Path, clip_dir: Path, frames: int, intra: int) -> None:
    # Every frame a key frame (one frame, or intra period 1): SVT-AV1's own log says "pred struct ... all intra",
    # which reorders nothing; it was once read as random access, failing every such job.
    [r] = _run(tmp_path, clip_dir, "{descriptor: svtav1, params: {preset: 12}, rate_points: [50]}", frames=frames,
               intra=intra)
    assert r["status"] == "ok", r.get("error")
    assert "all intra" in json.dumps(r)
    assert set(r["per_frame"]["frame_type"]) == {"I"}
