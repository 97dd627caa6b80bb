"""Model complexity of the CompressAI zoo: parameters and encode/decode kMAC/pixel at 416x240.

Counts, with :func:`bench.adapters.complexity.compressai_complexity` (PyTorch's ``FlopCounterMode`` through the models'
real ``compress``/``decompress``), the image models at a mid quality and ``ssf2020``'s key frame and P frame,
all with random weights (the counts depend on the architecture, not on the weights), and prints one table and
the counting method. The autoregressive models (mbt2018, cheng2020) take about half a minute each on a CPU:
their context model runs position by position, as they really code.

    python benchmarks/model_complexity.py [--width 416] [--height 240] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from compressai.zoo import image_models, ssf2020
from compressai.zoo.image import cfgs

from bench.adapters.complexity import ModelComplexity, compressai_complexity

# The middle of each architecture's zoo range (1-8, cheng2020 1-6); the quality only matters through the
# channel counts it selects (cfgs), shown in the table.
IMAGE_MODELS = {"bmshj2018-factorized": 4, "bmshj2018-hyperprior": 4, "mbt2018-mean": 4, "mbt2018": 4,
                "cheng2020-anchor": 3, "cheng2020-attn": 3}
SSF_QUALITY = 5  # 1-9; every quality has the same architecture


def measure(width: int, height: int) -> list[tuple[str, int, str, ModelComplexity, float]]:
    rows = []
    for arch, quality in IMAGE_MODELS.items():
        torch.manual_seed(0)
        model = image_models[arch](quality=quality, pretrained=False).eval()
        t0 = time.perf_counter()
        c = compressai_complexity(model, height, width)
        # cheng2020's configurations give N only.
        channels = ",".join(f"{k}={v}" for k, v in zip("NM", cfgs[arch][quality], strict=False))
        rows.append((arch, quality, channels, c, time.perf_counter() - t0))
    torch.manual_seed(0)
    model = ssf2020(quality=SSF_QUALITY, pretrained=False).eval()
    for frame in ("intra", "inter"):
        t0 = time.perf_counter()
        c = compressai_complexity(model, height, width, frame=frame)
        rows.append(("ssf2020", SSF_QUALITY, "fixed", c, time.perf_counter() - t0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=416)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--json", type=Path, help="also write every record (with its method) here")
    args = parser.parse_args()
    rows = measure(args.width, args.height)
    print(f"CompressAI zoo model complexity at {args.width}x{args.height}, random weights, "
          f"torch {torch.__version__}")
    head = (f"{'model':<22}{'q':>3}  {'channels':<12}{'frame':<7}{'coded as':>10}{'params':>12}"
            f"{'enc kMAC/px':>13}{'dec kMAC/px':>13}{'s':>7}")
    print(head)
    print("-" * len(head))
    for arch, quality, channels, c, seconds in rows:
        print(f"{arch:<22}{quality:>3}  {channels:<12}{c.frame:<7}{f'{c.padded_width}x{c.padded_height}':>10}"
              f"{c.params:>12,}{c.encode_kmac_per_pixel:>13.1f}{c.decode_kmac_per_pixel:>13.1f}"
              f"{seconds:>7.1f}")
    print("\nmethod (image models):", rows[0][3].method)
    print("method (ssf2020 P frame):", rows[-1][3].method.split("; ")[1])
    print("notes: ssf2020's parameters are the whole model (key-frame, motion and residual networks) in both"
          "\n       rows; mbt2018 and cheng2020 count their context model position by position with the full"
          "\n       5x5 masked kernel (its zeroed half included), as compress/decompress run it.")
    if args.json:
        args.json.write_text(json.dumps([{"model": arch, "quality": quality, **c.to_dict()}
                                         for arch, quality, _, c, _ in rows], indent=1))


if __name__ == "__main__":
    main()
