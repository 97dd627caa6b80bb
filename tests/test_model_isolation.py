"""A python-model codec decodes in a process and a folder of its own: nothing reaches its decoder but the bytes.

Two cheating models, each written the way a bug (or a shortcut) would be, and each of which got its input
frames back on 8 bits a frame while encoder and decoder shared one driver process next to the input file
(Y-PSNR 65.5 dB on this clip: all it lost was the suite's own YUV -> RGB -> YUV round trip):

* ``cache``: compress() keeps the frame in a module global and returns one byte; decompress() hands the kept
  frame back. In a fresh decoder process the global is empty, so it can only return its fallback, a mid-grey
  frame: the job is coded, but its PSNR is that of grey against the clip (16.0 dB here), far from 65.5 dB.
* ``file``: compress() notes where the input file is (read from the driver's job description) in a file of its
  own; decompress() reads the frame back from that input file. The encoder's folder, input included, is deleted
  before the decoder starts, so it fails with the operating system's "No such file or directory" for the
  input it remembered: a failed job, named in the record and the console.

Also here: an empty (0-byte) or missing frame bitstream fails the job naming the file, and an honest model's
record keeps both driver runs (encode, then decode elsewhere) with per-frame timings from each.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_own_codec import _pairs_condition

from bench.cli import main
from bench.store import ResultStore

_MODEL = textwrap.dedent('''
    import json, os, sys
    import numpy as np

    _FRAMES = []  # the cache cheat's frames, kept between compress and decompress in one process


    def _spec():
        return json.loads(open(sys.argv[1]).read())  # the driver's job description: python model_driver.py SPEC


    class Codec:
        def __init__(self, how, note):
            self.how, self.note, self.i = how, note, 0

        def compress(self, frame):
            if self.how == "cache":
                _FRAMES.append(frame.copy())
            elif self.how == "file":
                open(self.note, "w").write(_spec()["input"])
            elif self.how == "empty" and self.i == 1:
                return b""
            elif self.how == "missing" and self.i == 1:  # takes away frame 0's file after the driver wrote it
                os.remove(os.path.join(_spec()["out"], "frame_00000.bin"))
            self.i += 1
            return frame.astype(np.float16).tobytes()[:64] if self.how in ("honest", "empty", "missing") else b"x"

        def decompress(self, data, height, width):
            if self.how == "cache":
                return _FRAMES.pop(0) if _FRAMES else np.full((3, height, width), 0.5, np.float32)
            if self.how == "file":
                size = 3 * height * width
                with open(open(self.note).read(), "rb") as f:
                    f.seek(self.i * size)
                    raw = np.frombuffer(f.read(size), np.uint8)
                self.i += 1
                return raw.reshape(3, height, width) / 255.0
            return np.full((3, height, width), data[0] / 255.0, np.float32)


    def make(rate_point, device, how, note):
        return Codec(how, note)
''')


def _run(tmp_path: Path, clip_dir: Path, how: str) -> dict:
    (tmp_path / "cheat_model.py").write_text(_MODEL)
    codec = (f"{{name: m, adapter: python-model, params: {{model: 'cheat_model:make', options: {{how: {how}, "
             f"note: '{tmp_path / 'note.txt'}'}}}}, rate_points: [1]}}")
    cond = _pairs_condition(tmp_path, clip_dir, codec)
    code = main(["run", "--conditions", str(cond), "--results", str(tmp_path / "r"), "--reports", str(tmp_path / "p"),
                 "--no-progress"])
    [record] = ResultStore(tmp_path / "r" / "pairs").run_records()
    assert code == (0 if record["status"] == "ok" else 1)
    return record


def test_a_module_global_does_not_reach_the_decoder(tmp_path: Path, clip_dir: Path) -> None:
    record = _run(tmp_path, clip_dir, "cache")
    assert record["status"] == "ok" and record["rate"]["bits"] == 2 * 8  # one byte a frame
    # Grey against the clip (the clip's spread around mid-grey as the error) measures 16.0 dB; the cheat, with its
    # frames back in one process, measured 65.5 dB. The bound sits far from both.
    assert record["metrics"]["psnr_y"] < 30, record["metrics"]


def test_the_input_file_is_gone_when_the_decoder_runs(tmp_path: Path, clip_dir: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    record = _run(tmp_path, clip_dir, "file")
    assert record["status"] == "failed"
    remembered = (tmp_path / "note.txt").read_text()  # what the encoder's side saw: <job>/encode/input.rgb
    assert Path(remembered).name == "input.rgb" and Path(remembered).parent.name == "encode"
    message = record["error"]["message"]
    assert message == f"decoder: driver failed with exit code 1: FileNotFoundError: [Errno 2] No such file or " \
                      f"directory: '{remembered}'", message
    assert f"FAILED m / Pan / rate point 1: {message}\n" in capsys.readouterr().err


@pytest.mark.parametrize(("how", "expected"), [
    ("empty", "the encoder wrote an empty bitstream (0 bytes): {job}/encode/frame_00001.bin; every bitstream "
              "file must hold what the decoder rebuilds the frames from"),
    ("missing", "the encoder wrote no bitstream at {job}/encode/frame_00000.bin"),
])
def test_an_empty_or_missing_frame_bitstream_fails_naming_the_file(tmp_path: Path, clip_dir: Path, how: str,
                                                                   expected: str) -> None:
    record = _run(tmp_path, clip_dir, how)
    assert record["status"] == "failed"
    message = record["error"]["message"]
    # The file in the job's folder <results>/pairs/work/<key-host-pid> (removed since); the codec is named by
    # the record's codec block and the FAILED line, not again (as "codec python-model:") in the message.
    job = Path(message.split("/encode/")[0].split()[-1])
    assert job.parent == tmp_path / "r" / "pairs" / "work", message
    assert message == expected.format(job=job), message


def test_an_honest_model_runs_encoder_and_decoder_apart(tmp_path: Path, clip_dir: Path) -> None:
    record = _run(tmp_path, clip_dir, "honest")
    assert record["status"] == "ok" and record["rate"]["bits"] == 2 * 64 * 8
    encode, decode = record["commands"]  # two driver processes, each given the job description of its step
    assert Path(encode[-1]).parent.name == "encode" and Path(decode[-1]).parent.name == "decode"
    assert Path(encode[-1]).parent.parent == Path(decode[-1]).parent.parent
    frames = record["per_frame"]
    assert len(frames["encode_s"]) == len(frames["decode_s"]) == 2
    assert all(t > 0 for t in frames["encode_s"] + frames["decode_s"])
