"""[intra, inter] rate points (any fixed-length list a descriptor names with ``rate_point_fields``) for the
``command`` and ``python-model`` adapters: coded for real, with each value driving its own frames, and refused
with one line when a rate point or a placeholder does not fit the descriptor.

Each coding test runs the pair both ways round ([low, high] and [high, low]) on a 2-frame clip whose frame 0 is
intra and frame 1 is not, and compares the frames' own sizes: the intra value must move frame 0 and the inter
value frame 1, in opposite directions, so a swapped or merged pair fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_own_codec import EXAMPLES, _pairs_condition

from bench.adapters import adapter_class
from bench.cli import main
from bench.conditions.condition import load_condition
from bench.errors import ConditionError
from bench.run.runner import plan
from bench.store.results import ResultStore

# Every frame its own WebP image (libwebp in the ffmpeg of imageio-ffmpeg), frame 0 at the intra quality and the
# others at the inter quality; the example's own script decodes them.
_PAIR_WEBP = """
import os, subprocess, sys
import imageio_ffmpeg
frames, bits, intra, inter = sys.argv[1:5]
for i, name in enumerate(sorted(os.listdir(frames))):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i",
                    os.path.join(frames, name), "-c:v", "libwebp", "-quality", intra if i == 0 else inter,
                    os.path.join(bits, name[:-4] + ".webp")], check=True)
"""

# The example's DCT codec (examples/python_model/dct_codec.py, unchanged) at two qualities: one instance codes
# the intra frames, the other the predicted ones, passing the reference picture between them.
_PAIR_DCT = """
from dct_codec import DctCodec


class PairDct:
    def __init__(self, intra, inter):
        self.intra, self.inter, self.reference = intra, inter, None

    def reset(self):
        self.reference = None

    def _with(self, codec, call, *args):
        codec.reference = self.reference
        out = call(*args)
        self.reference = codec.reference
        return out

    def compress(self, frame):
        codec = self.intra if self.reference is None else self.inter
        return self._with(codec, codec.compress, frame)

    def decompress(self, data, height, width):
        codec = self.intra if data[0] else self.inter  # dct_codec's first byte: the intra flag
        return self._with(codec, codec.decompress, data, height, width)


def make(rate_point, device):
    assert isinstance(rate_point, list) and len(rate_point) == 2, rate_point  # the list, as the condition gave it
    intra, inter = rate_point
    return PairDct(DctCodec(intra), DctCodec(inter))
"""


def _run_pairs(tmp_path: Path, clip_dir: Path, codec: dict) -> dict[tuple, dict]:
    cond = _pairs_condition(tmp_path, clip_dir, json.dumps(codec))
    assert main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports",
                 str(tmp_path / "p"), "--no-progress"]) == 0
    records = ResultStore(tmp_path / "r" / "pairs").run_records()
    assert all(r["status"] == "ok" for r in records) and len({r["key"] for r in records}) == 2
    names = sorted(p.name.split("_")[0] for p in (tmp_path / "r" / "pairs" / "records" / codec["name"] / "Pan").glob("*"))
    assert names == sorted("-".join(map(str, rp)) for rp in codec["rate_points"])
    return {tuple(r["rate_point"]): r for r in records}


def _assert_each_value_drives_its_frames(low_high: dict, high_low: dict) -> None:
    a, b = low_high["per_frame"], high_low["per_frame"]
    # frame 0 (intra): low quality in the first, high in the second; frame 1 (inter): the other way round
    assert a["bits"][0] * 2 < b["bits"][0] and b["bits"][1] * 2 < a["bits"][1], (a["bits"], b["bits"])
    assert a["psnr_y"][0] + 3 < b["psnr_y"][0] and b["psnr_y"][1] + 3 < a["psnr_y"][1], (a["psnr_y"], b["psnr_y"])


@pytest.mark.slow
@pytest.mark.integration
def test_command_codec_pair_placeholders_by_name_and_position(tmp_path: Path, clip_dir: Path) -> None:
    (tmp_path / "pair_webp.py").write_text(_PAIR_WEBP)
    codec = {"name": "pw", "adapter": "command", "rate_points": [[5, 95], [95, 5]], "params": {
        "encode": ["{python}", "pair_webp.py", "{input}", "{work_dir}/bits", "{rate_point.intra}", "{rate_point[1]}"],
        "decode": ["{python}", str(EXAMPLES / "command_codec" / "webp_frames.py"), "decode", "{work_dir}/bits",
                   "{decoded}"],
        "input_format": "png", "bitstream_pattern": "{work_dir}/bits/{frame:05d}.webp",
        "rate_point_fields": ["intra", "inter"], "rate_range": [0, 100]}}
    records = _run_pairs(tmp_path, clip_dir, codec)
    assert records[(5, 95)]["commands"][0][-2:] == ["5", "95"] and records[(95, 5)]["commands"][0][-2:] == ["95", "5"]
    assert records[(5, 95)]["codec"]["identity"]["params"]["rate_point_fields"] == ["intra", "inter"]
    _assert_each_value_drives_its_frames(records[(5, 95)], records[(95, 5)])


@pytest.mark.slow
@pytest.mark.integration
def test_python_model_gets_the_pair_as_a_list(tmp_path: Path, clip_dir: Path) -> None:
    (tmp_path / "pair_dct.py").write_text(_PAIR_DCT)
    codec = {"name": "pd", "adapter": "python-model", "rate_points": [[20, 95], [95, 20]], "params": {
        "model": "pair_dct:make", "kind": "video", "path": [str(tmp_path), str(EXAMPLES / "python_model")],
        "rate_point_fields": ["intra", "inter"], "rate_range": [1, 100]}}
    records = _run_pairs(tmp_path, clip_dir, codec)
    assert records[(20, 95)]["per_frame"]["frame_type"] == ["I", "P"]
    _assert_each_value_drives_its_frames(records[(20, 95)], records[(95, 20)])


_COMMAND = {"encode": ["{python}", "-c", "pass", "{rate_point[0]}"], "decode": ["{python}", "-c", "pass"],
            "rate_point_fields": ["intra", "inter"], "rate_range": [0, 51]}
_MODEL = {"model": "json:dumps", "rate_point_fields": ["intra", "inter"]}


@pytest.mark.integration
@pytest.mark.parametrize(("adapter", "params", "rate_point", "expected"), [
    ("command", _COMMAND, 22, "rate point 22 is not a list of 2 values, as its descriptor's "
                              "rate_point_fields [intra, inter] says"),
    ("command", _COMMAND, [22, 27, 32], "rate point [22, 27, 32] is not a list of 2 values, as its "
                                        "descriptor's rate_point_fields [intra, inter] says"),
    ("command", _COMMAND, [22, 60], "rate point [22, 60]'s inter value 60 is not an int in [0, 51], "
                                    "as its descriptor's rate_points/rate_range say"),
    ("command", {**_COMMAND, "rate_point_fields": None, "encode": ["{python}", "{rate_point}"]}, [22, 27],
     "rate point [22, 27] is a list, but its descriptor declares no rate_point_fields: name its "
     "values there (e.g. rate_point_fields: [intra, inter]) or give one value"),
    ("python-model", _MODEL, 3, "rate point 3 is not a list of 2 values, as its descriptor's "
                                "rate_point_fields [intra, inter] says"),
    ("python-model", {"model": "json:dumps"}, [3, 6], "rate point [3, 6] is a list, but its "
                                                      "descriptor declares no rate_point_fields"),
])
def test_a_rate_point_that_does_not_fit_the_descriptor_is_one_line(
        tmp_path: Path, clip_dir: Path, capsys: pytest.CaptureFixture, adapter: str, params: dict, rate_point: object,
        expected: str) -> None:
    codec = {"name": "c", "adapter": adapter, "params": params, "rate_points": [rate_point]}
    assert main(["validate", "--conditions", str(_pairs_condition(tmp_path, clip_dir, json.dumps(codec)))]) == 2
    err = capsys.readouterr().err
    # the condition file, the codec as it names it and the key, once each; not the adapter's name
    assert f"c.yaml: codec c: rate_points[0]: {expected}" in err and f"codec {adapter}" not in err, err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(("params", "expected"), [
    ({"encode": ["e", "{rate_point}"]}, "c.encode: '{rate_point}': the rate point is a list (rate_point_fields: "
                                        "[intra, inter]); name one value: {rate_point[0]} .. {rate_point[1]} by "
                                        "position, or {rate_point.intra}, {rate_point.inter} by name"),
    ({"decode": ["d", "--q={rate_point.qp}"]}, "c.decode: '--q={rate_point.qp}': the rate point has no value "
                                               "{rate_point.qp} (rate_point_fields: [intra, inter])"),
    ({"encode": ["e", "{rate_point[2]}"]}, "c.encode: '{rate_point[2]}': the rate point has no value "
                                           "{rate_point[2]} (rate_point_fields: [intra, inter])"),
    ({"bitstream": "{work_dir}/{rate_point}.bin"}, "c.bitstream: '{work_dir}/{rate_point}.bin': the rate point "
                                                   "is a list"),
    ({"rate_point_fields": None, "encode": ["e", "{rate_point.intra}"]},
     "c.encode: '{rate_point.intra}': {rate_point.intra} names a value of a list rate point, but the descriptor "
     "declares no rate_point_fields (e.g. rate_point_fields: [intra, inter]); use {rate_point}"),
    ({"rate_point_fields": ["q"]}, "c.rate_point_fields: expected two or more distinct names"),
    ({"rate_point_fields": ["intra", "intra"]}, "c.rate_point_fields: expected two or more distinct names"),
    ({"rate_point_fields": ["intra", "2nd"]}, "c.rate_point_fields: expected two or more distinct names"),
])
def test_command_placeholders_must_fit_the_declared_fields(params: dict, expected: str) -> None:
    raw = {"encode": ["e", "{rate_point[0]}"], "decode": ["d"], "rate_point_fields": ["intra", "inter"], **params}
    with pytest.raises(ConditionError) as e:
        adapter_class("command").validate_params(raw, "c")
    assert str(e.value).startswith(expected) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("adapter", ["command", "python-model"])
def test_list_rate_points_are_checked_canonical_and_keyed_in_order(adapter: str, tmp_path: Path,
                                                                   clip_dir: Path) -> None:
    cls = adapter_class(adapter)
    for odd in ([], [4], [4, True], [[4, 5], 6], [4, ""]):  # one value is written without brackets
        with pytest.raises(ConditionError, match=r"^w: .* a list rate point holds one number or word per name"):
            cls.validate_rate_point(odd, "w")
    params = {**_COMMAND, "encode": ["{python}", "-c", "pass", "{rate_point.a}", "{rate_point.c}"],
              "rate_point_fields": ["a", "b", "c"]} if adapter == "command" else \
        {"model": "json:dumps", "rate_point_fields": ["a", "b", "c"], "python": sys.executable}
    codec = {"name": "c", "adapter": adapter, "params": params, "rate_points": [[3, 6, 9], [9, 6, 3], [3, 9, 6]]}
    jobs, _ = plan(load_condition(_pairs_condition(tmp_path, clip_dir, json.dumps(codec))))
    assert [j.rate_point for j in jobs] == [[3, 6, 9], [9, 6, 3], [3, 9, 6]] and len({j.key for j in jobs}) == 3


def test_descriptors_without_fields_keep_their_identity() -> None:
    """rate_point_fields is left out of the identity while unset: the job keys of descriptors written before it
    existed do not change (nor do their scalar rate points)."""
    for adapter, params in (("command", {"encode": ["{python}"], "decode": ["{python}"]}),
                            ("python-model", {"model": "m:f"})):
        cls = adapter_class(adapter)
        assert "rate_point_fields" not in cls(params).result_params()
        assert cls.validate_rate_point(22, "w") == 22 and cls.validate_rate_point("3:6", "w") == "3:6"
