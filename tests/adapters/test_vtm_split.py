"""Split VTM random-access encodes: segments at intra-period boundaries, encoded side by side, joined with parcat,
decoded and measured as one sequence. The segment plan and command lines are checked by hand; the orchestration
runs through the runner against stand-in programs (VTM is not installable here); the real encoder, parcat and
decoder run when $LVCBENCH_VTM_ROOT points at a build."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import write_clip

from bench.adapters import adapter_class
from bench.adapters.base import CodingTask
from bench.adapters.reference import split_segments
from bench.adapters.segments import Segment, intra_period_segments
from bench.conditions.condition import load_condition
from bench.errors import AdapterError, ConditionError
from bench.run.runner import RunOptions, run_condition
from bench.store.results import ResultStore
from bench.video.formats import pixel_format


@pytest.mark.parametrize(("frames", "intra_period", "expected"), [
    (64, 32, [(0, 33), (32, 32)]),  # frame 32 is coded twice: as segment 1's closing CRA (kept) and 2's IDR
    (65, 32, [(0, 33), (32, 33)]),  # frame 64 is the second segment's closing CRA: no third segment for it
    (66, 32, [(0, 33), (32, 33), (64, 2)]),
    (12, 4, [(0, 5), (4, 5), (8, 4)]),
    (33, 32, [(0, 33)]),  # one intra period and its closing picture: nothing to split
    (20, 32, [(0, 20)]),
    (96, -1, [(0, 96)]),
])
def test_segments_run_from_one_intra_picture_to_the_next(frames: int, intra_period: int,
                                                         expected: list[tuple[int, int]]) -> None:
    segments = split_segments(frames, intra_period)
    assert [(s.first, s.count) for s in segments] == expected
    # Every frame coded, and the joined stream (each later segment's first picture dropped) has each frame once.
    kept = [f for k, s in enumerate(segments) for f in range(s.first, s.first + s.count) if not (k and f == s.first)]
    assert kept == list(range(frames))


def _cfg_root(root: Path, gop: int = 32) -> Path:
    (root / "cfg").mkdir(parents=True, exist_ok=True)
    for cfg in ("encoder_randomaccess_vtm.cfg", "encoder_lowdelay_vtm.cfg"):
        (root / "cfg" / cfg).write_text(f"GOPSize : {gop if 'random' in cfg else 8}\n")
    return root


def test_segment_command_lines(tmp_path: Path) -> None:
    vtm = adapter_class("vtm")({"root": str(_cfg_root(tmp_path)), "config": "RA", "split_at_intra_period": True})
    task = CodingTask(tmp_path / "in.yuv", pixel_format("yuv420p"), 416, 240, 30.0, 64, 32, 37, tmp_path)
    first, second = (vtm.encoder_args(task, seg) for seg in vtm.segments(task))
    assert {"--FrameSkip=0", "--FramesToBeEncoded=33", "--IntraPeriod=32"} <= set(first)
    # The last segment keeps the condition's intra period: its pictures are coded as in the whole encode.
    assert {"--FrameSkip=32", "--FramesToBeEncoded=32", "--IntraPeriod=32"} <= set(second)
    whole = adapter_class("vtm")({"root": str(_cfg_root(tmp_path)), "config": "RA"})
    assert whole.segments(task) == [Segment(0, 64)]
    assert {"--FrameSkip=0", "--FramesToBeEncoded=64", "--IntraPeriod=32"} <= set(whole.encoder_args(task))


def test_one_segment_rule_for_both_splitting_encoders() -> None:
    """VVenC (each intra period alone, streams concatenated) and VTM RA (each to the next intra picture inclusive,
    joined by parcat) split by the same rule, with and without the closing overlap."""
    assert intra_period_segments(10, 4, overlap=False) == [Segment(0, 4), Segment(4, 4), Segment(8, 2)]
    assert intra_period_segments(10, 4, overlap=True) == [Segment(0, 5), Segment(4, 5), Segment(8, 2)]
    assert intra_period_segments(8, 4, overlap=False) == [Segment(0, 4), Segment(4, 4)]
    assert intra_period_segments(5, 4, overlap=True) == [Segment(0, 5)]  # the whole: one segment
    assert intra_period_segments(12, -1, overlap=False) == [Segment(0, 12)]
    vvenc = adapter_class("vvenc")(adapter_class("vvenc").validate_params({}, "t"))
    task = CodingTask(Path("in.yuv"), None, 64, 64, 30.0, 10, 4, 32, Path("."))  # type: ignore[arg-type]
    assert vvenc.segments(task) == intra_period_segments(10, 4, overlap=False)


@pytest.mark.parametrize(("config", "intra_period", "message"), [
    ("LDB", 32, r"splits at intra-period boundaries only in config RA with a periodic intra period \(this is LDB"),
    ("RA", -1, r"only in config RA with a periodic intra period \(this is RA, intra_period -1\)"),
])
def test_split_is_refused_where_it_does_not_apply(tmp_path: Path, config: str, intra_period: int, message: str) -> None:
    vtm = adapter_class("vtm")({"root": str(_cfg_root(tmp_path)), "config": config, "split_at_intra_period": True})
    with pytest.raises(ConditionError, match=message):
        vtm.check_condition(intra_period, "c.yaml: codec vtm-RA")


# --- stand-ins: the "bitstream" is a header line and the raw frames; parcat drops each later segment's first
# frame, as the real one drops the leading IDR picture; each encoder notes when it ran.

_ENCODER = r"""
import os, sys, time
args = sys.argv
print('VVCSoftware: VTM Encoder Version 23.13 [Linux][GCC 12.2.0][64 bit] [SIMD=AVX2]')
if '--help' in args:
    sys.exit(0)
opt = {a[2:].split('=')[0]: a.split('=', 1)[1] for a in args if a.startswith('--') and '=' in a}
w, h = int(args[args.index('-wdt') + 1]), int(args[args.index('-hgt') + 1])
skip, count, period = int(opt['FrameSkip']), int(opt['FramesToBeEncoded']), int(opt['IntraPeriod'])
frame = w * h * 3 // 2
start = time.time()
# STANDIN_RENDEZVOUS=DIR:N: the first N segments of a split encode each wait (60 s at most) until all N have started, which they
# only can if they run side by side; the others start at once. Overlap is then certain, not a matter of timing.
rendezvous = os.environ.get('STANDIN_RENDEZVOUS')
segment = os.path.basename(args[args.index('-b') + 1]).startswith('segment_')  # not a whole-sequence encode
if rendezvous and segment:
    folder, n = rendezvous.rsplit(':', 1)
    open(os.path.join(folder, f'started_{skip}'), 'w').close()
    if skip // period < int(n):
        while len([f for f in os.listdir(folder) if f.startswith('started_')]) < int(n) and time.time() < start + 60:
            time.sleep(0.01)
with open(args[args.index('-i') + 1], 'rb') as f:
    f.seek(skip * frame)
    data = f.read(count * frame)
out = args[args.index('-b') + 1]
open(out, 'wb').write(f'{w} {h} {count}\n'.encode() + data)
for poc in range(count):
    kind = 'IDR_N_LP, I' if poc == 0 else ('CRA, I' if poc % period == 0 else 'TRAIL, B')
    bits = 1000 + skip + poc + (500000 if poc == 0 and skip else 0)  # a dropped IDR copy would show
    print(f'POC {poc:4d} LId:  0 TId: 0 ( {kind}-SLICE, QP 37 ) {bits:8d} bits [Y 40.0000 dB    U 41.0000 dB    '
          f'V 42.0000 dB]', flush=True)
open(out + '.ran', 'w').write(f'{skip} {start} {time.time()}')
"""

_PARCAT = r"""
import sys
parts, out = sys.argv[1:-1], sys.argv[-1]
frames, size = [], None
for k, path in enumerate(parts):
    data = open(path, 'rb').read()
    head, body = data.split(b'\n', 1)
    w, h, count = map(int, head.split())
    size = w * h * 3 // 2
    chunks = [body[i * size:(i + 1) * size] for i in range(count)]
    frames += chunks[1:] if k else chunks
open(out, 'wb').write(f'{w} {h} {len(frames)}\n'.encode() + b''.join(frames))
"""

_DECODER = r"""
import sys
args = sys.argv
data = open(args[args.index('-b') + 1], 'rb').read()
head, body = data.split(b'\n', 1)
open(args[args.index('-o') + 1], 'wb').write(body)
for poc in range(int(head.split()[2])):
    print(f'POC {poc} TId: 0 ( I-SLICE, QP 37 ) [DT 0.001] [L0] [MD5:0123,(OK)]')
"""


def _standin_build(root: Path) -> Path:
    _cfg_root(root, gop=4)
    (root / "bin").mkdir()
    for name, body in (("EncoderAppStatic", _ENCODER), ("parcatStatic", _PARCAT), ("DecoderAppStatic", _DECODER)):
        path = root / "bin" / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return root


def test_doctor_and_key_name_parcat(tmp_path: Path) -> None:
    root = _standin_build(tmp_path / "build")
    split = adapter_class("vtm")({"root": str(root), "config": "RA", "split_at_intra_period": True})
    assert split.doctor().endswith(f"; split at the intra period, joined with {root / 'bin' / 'parcatStatic'}")
    assert len(split.identity()["parcat_sha256"]) == 64
    (root / "bin" / "parcatStatic").unlink()
    with pytest.raises(AdapterError, match=r"codec vtm: no parcatStatic or parcat under .*bin; build it"):
        split.identity()
    assert "parcat_sha256" not in adapter_class("vtm")({"root": str(root), "config": "RA"}).identity()


@pytest.mark.integration
def test_split_run_through_the_runner(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _standin_build(tmp_path / "build")
    (tmp_path / "rv").mkdir()
    monkeypatch.setenv("STANDIN_RENDEZVOUS", f"{tmp_path / 'rv'}:3")  # the three segments meet
    cond = tmp_path / "c.yaml"
    cond.write_text(f"""
name: split
sequences: [{{name: Pan, file: Pan_96x64_30.yuv}}]
data_root: {clip_dir}
frames: {{first: 0, count: 12}}
intra_period: 4
metrics: {{ms_ssim: []}}
codecs:
  - {{name: vtm-RA, adapter: vtm, params: {{root: {root}, config: RA, split_at_intra_period: true, segment_workers: 3}},
     rate_points: [37]}}
  - {{name: vtm-RA-whole, adapter: vtm, params: {{root: {root}, config: RA}}, rate_points: [37]}}
""")
    outcome = run_condition(load_condition(cond), RunOptions(tmp_path / "results", progress=False))
    assert outcome.coded == 2 and not outcome.failed, [f["error"] for f in outcome.failed]
    recs = {r["codec"]["name"]: r for r in ResultStore(tmp_path / "results" / "split").run_records()}
    split, whole = recs["vtm-RA"], recs["vtm-RA-whole"]
    facts = split["codec_reported"]["split"]
    assert [s["frames"] for s in facts["segments"]] == [[0, 4], [4, 8], [8, 11]]
    assert facts["workers"] == 3 and "joined with parcat" in split["coding"]["codec_processing"]["split"]
    # Three encodes, one join, one decode; one bitstream in the store.
    assert [Path(c[0]).name for c in split["commands"]] == ["EncoderAppStatic"] * 3 + ["parcatStatic",
                                                                                        "DecoderAppStatic"]
    assert len(split["rate"]["bitstreams"]) == 1
    # Per-picture facts merged into display order, each frame from the segment whose copy the stream kept.
    assert split["per_frame"]["bits"] == [1000 + i for i in range(12)]
    assert split["per_frame"]["frame_type"] == ["I", "B", "B", "B", "I", "B", "B", "B", "I", "B", "B", "B"]
    # The stand-in is lossless, so split and whole decode to the same frames: the join put every frame in place.
    assert split["metrics"] == whole["metrics"] and split["per_frame"]["psnr_y"] == whole["per_frame"]["psnr_y"]
    assert split["key"] != whole["key"] and "split" not in whole["codec_reported"]
    assert split["timing"]["encode_s"] == pytest.approx(sum(s["encode_s"] for s in facts["segments"]))
    assert split["timing"]["encode_wall_s"] < split["timing"]["encode_s"]  # the segments ran side by side


def test_segments_run_side_by_side(tmp_path: Path, clip_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _standin_build(tmp_path / "build")
    (tmp_path / "rv").mkdir()
    monkeypatch.setenv("STANDIN_RENDEZVOUS", f"{tmp_path / 'rv'}:2")  # two workers: the first two segments meet
    work = tmp_path / "work"
    work.mkdir()
    task = CodingTask(clip_dir / "Pan_96x64_30.yuv", pixel_format("yuv420p"), 96, 64, 30.0, 12, 4, 37, work, cpus=2)
    seen: list[tuple[int, int]] = []
    task = CodingTask(**{**task.__dict__, "progress": lambda done, total: seen.append((done, total))})
    vtm = adapter_class("vtm")({"root": str(root), "config": "RA", "split_at_intra_period": True})
    result = vtm.code_sequence(task)
    ran = sorted(tuple(map(float, (work / f"segment_{k:03d}.bin.ran").read_text().split())) for k in range(3))
    assert result.codec_reported["split"]["workers"] == 2  # segment_workers 0: the job's CPU share
    assert ran[1][1] < ran[0][2]  # the second segment started before the first ended
    assert ran[2][1] >= min(ran[0][2], ran[1][2])  # the third waited for a free worker
    assert seen[-1] == (12, 12) and len(seen) == 14  # every coded picture of every segment (2 coded twice)


def test_real_vtm_split_equals_one_stream_and_is_close_to_the_whole_encode(tmp_path: Path, demo_dir: Path) -> None:
    """Opt-in (set $LVCBENCH_VTM_ROOT to a VTM build with parcat): a 40-frame RA encode at intra period 32, split
    and whole; the joined stream decodes with every picture's MD5 confirmed, to the whole encode's frames."""
    if not os.environ.get("LVCBENCH_VTM_ROOT"):
        pytest.skip("set LVCBENCH_VTM_ROOT to a build of VTM (with parcat) to run it")
    clip = write_clip(demo_dir / "HopperPan_416x240_30.yuv", tmp_path / "pan.yuv", 128, 64, 32, 144, 80)
    fmt = pixel_format("yuv420p")
    frame = fmt.frame_bytes(128, 64)
    data = np.fromfile(clip, dtype=np.uint8).reshape(32, frame)
    pingpong = tmp_path / "pp.yuv"
    np.concatenate([data, data[::-1][:8]]).tofile(pingpong)
    out = {}
    for split in (True, False):
        work = tmp_path / f"w{int(split)}"
        work.mkdir()
        task = CodingTask(pingpong, fmt, 128, 64, 30.0, 40, 32, 37, work, cpus=2)
        out[split] = adapter_class("vtm")({"config": "RA", "split_at_intra_period": split}).code_sequence(task)
    joined, whole = out[True], out[False]
    assert joined.codec_reported["hash_check"] == "MD5 OK for 40 pictures"
    assert [s["frames"] for s in joined.codec_reported["split"]["segments"]] == [[0, 32], [32, 39]]
    assert joined.frame_types[0] == joined.frame_types[32] == "I" and joined.frame_types.count("I") == 2
    assert joined.frame_types == whole.frame_types
    # The joined stream's coding order, read from the segments' logs (each restarts at POC 0): RA reordering in
    # both segments, each picture once, the same order as the whole encode's.
    order = [int(p) for p in joined.stream["settings"]["coding_order"].split()]
    assert order == [int(p) for p in whole.stream["settings"]["coding_order"].split()]
    assert sorted(order) == list(range(40)) and order[:2] == [0, 32] and joined.stream["reordering"] is True
    assert joined.codec_reported["exact_check"]["pictures"] == 40  # the log's PSNR of every picture, recomputed
    # Measured with VTM 23.13: the joined stream decodes to exactly the frames of the whole encode (the segment's
    # IDR and the whole encode's CRA of frame 32 reconstruct alike; the streams differ in a few bytes).
    assert joined.decoded_path.read_bytes() == whole.decoded_path.read_bytes()
    size = {k: v.bitstreams[0].stat().st_size for k, v in out.items()}
    assert abs(size[True] / size[False] - 1) < 0.01, size
