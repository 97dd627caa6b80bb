"""A stand-in for a DCVC-family test_video.py (their checkout cannot be installed in CI): it reads the config and
the flags our adapter passes, "codes" each frame by quantising it to multiples of 8, and writes decoded frames,
bitstream files and the output JSON where the real generation does (LAYOUT=hem: per-frame files under
<path>/<sequence>/<rate>/, PNG; LAYOUT=fm: one <sequence>_q<q>.bin/.yuv per point under <stream>/<class>/).
Its PSNR is computed on the frames it saves, so ours must equal it. The real scripts run in the opt-in tests."""

import argparse
import itertools
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

parser = argparse.ArgumentParser()
for flag in ("--test_config", "--stream_path", "--decoded_frame_path", "--output_path", "--write_stream",
             "--force_frame_num", "--force_intra_period", "--q_indexes_i", "--i_frame_q_scales"):
    parser.add_argument(flag)
args, _ = parser.parse_known_args()
layout = os.environ["LAYOUT"]
config = json.loads(Path(args.test_config).read_text())
klass, spec = next(iter(config["test_classes"].items()))
seq, info = next(iter(spec["sequences"].items()))
root = Path(config["root_path"]) / spec["base_path"]
frames, period = int(args.force_frame_num), int(args.force_intra_period)
w, h = info["width"], info["height"]
stream = args.write_stream == "1"
print("argv", json.dumps(sys.argv[1:]))

if spec["src_type"] == "png":
    pictures = [np.asarray(Image.open(root / seq / f"im{i + 1:05d}.png").convert("RGB")) for i in range(frames)]
else:
    raw = np.fromfile(root / seq, dtype=np.uint8)
    size = w * h * 3 // 2
    pictures = [raw[i * size : (i + 1) * size] for i in range(frames)]

bits, psnrs, types = [], [], []
decoded = []
for i, x in enumerate(pictures):
    x_hat = np.clip((x.astype(np.int32) // 8) * 8 + 4, 0, 255).astype(np.uint8)
    decoded.append(x_hat)
    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return 10 * math.log10(255 * 255 / float(np.mean((a.astype(np.float64) - b) ** 2)))

    if spec["src_type"] == "png":
        psnrs.append([psnr(x, x_hat)])
    else:  # Y, U, V and their 6:1:1 average
        cuts = (0, w * h, w * h * 5 // 4, w * h * 3 // 2)
        yuv = [psnr(x[a:b], x_hat[a:b]) for a, b in itertools.pairwise(cuts)]
        psnrs.append([(6 * yuv[0] + yuv[1] + yuv[2]) / 8, *yuv])
    types.append(0 if i % period == 0 else 1)
    bits.append(8 * (400 if types[-1] == 0 else 60 + i))
    print(f"frame {i}, 0.010 seconds, bits: {bits[-1]:.3f}, PSNR: {psnrs[-1][0]:.4f}")

if layout == "hem":
    for i, x_hat in enumerate(decoded):
        if args.decoded_frame_path:
            out = Path(args.decoded_frame_path) / seq / "0"
            out.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x_hat).save(out / f"{i}.png")
        if stream:
            out = Path(args.stream_path) / seq / "0"
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{i}.bin").write_bytes(bytes(bits[i] // 8))
elif stream:  # fm: decoded frames exist only in stream mode, as in the real FM
    out = Path(args.stream_path) / klass
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{seq}_q{args.q_indexes_i}"
    stem.with_suffix(".bin").write_bytes(bytes(sum(bits) // 8))
    with open(stem.with_suffix(".yuv"), "wb") as f:
        for x_hat in decoded:
            f.write(x_hat.tobytes())

pixels = w * h
entry = {"frame_pixel_num": pixels, "i_frame_num": types.count(0), "p_frame_num": types.count(1),
         "ave_all_frame_bpp": sum(bits) / frames / pixels, "ave_all_frame_psnr": sum(p[0] for p in psnrs) / frames,
         "ave_all_frame_msssim": 0.0, "frame_bpp": [b / pixels for b in bits], "frame_type": types,
         "test_time": 0.1, "rate_idx": 0}
if spec["src_type"] == "yuv420":
    for k, plane in enumerate("yuv", start=1):
        entry[f"ave_all_frame_psnr_{plane}"] = sum(p[k] for p in psnrs) / frames
Path(args.output_path).write_text(json.dumps({klass: {seq: {"000": entry}}}))
print("Test finished")
