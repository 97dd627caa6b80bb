"""Benchmark: what measuring later costs on disk and in time, for a 1080p, 96-frame job.

Measuring after coding needs the decoded frames back. The suite either decodes the stored bitstream again
(codecs with a decoder of their own) or keeps the decoded frames as lossless FFV1 (codecs whose decoding
happens inside their own harness; ``keep_decoded: always`` for any codec). This script makes a 1920x1080,
96-frame 8-bit 4:2:0 sequence (a demo sequence scaled up with lanczos, played forward, back and forward),
codes it with x265 (preset medium, QP 27 and 37, intra period 32) twice, once keeping the decoded frames and
once not, then adds XPSNR to the condition and remeasures. It prints, per rate point: raw decoded size, the
bitstream, the FFV1 copy, and the remeasure wall time of each way (both include the same XPSNR run).

    python benchmarks/decoded_storage.py [--frames 96] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.conditions import demo
from bench.tools import ffmpeg_exe

W, H = 1920, 1080


def make_source(folder: Path, frames: int) -> Path:
    small = demo.demo_root()
    demo.generate(small)
    src = small / "HopperPan_416x240_30.yuv"
    out = folder / f"Pan1080_{W}x{H}_30.yuv"
    # forward, reversed, forward ... until FRAMES
    graph = (f"[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1[ab];[ab]loop=loop=-1:size=64,"
             f"trim=end_frame={frames},scale={W}:{H}:flags=lanczos,format=yuv420p")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-f", "rawvideo",
                    "-pix_fmt", "yuv420p", "-s", "416x240", "-r", "30", "-i", str(src), "-filter_complex", graph,
                    "-frames:v", str(frames), "-f", "rawvideo", str(out)], check=True)
    return out


def condition(folder: Path, frames: int, xpsnr: bool) -> Path:
    path = folder / ("c2.yaml" if xpsnr else "c1.yaml")
    path.write_text(f"""
name: storage
sequences: [{{name: Pan1080, file: Pan1080_{W}x{H}_30.yuv, group: B}}]
data_root: {folder}
frames: {{first: 0, count: {frames}}}
intra_period: 32
metrics: {{ms_ssim: [], xpsnr: {str(xpsnr).lower()}}}
codecs:
  - {{descriptor: x265, rate_points: [27, 37], keep_decoded: never}}
  - {{descriptor: x265, name: x265-kept, rate_points: [27, 37], keep_decoded: always}}
""")
    return path


def evaluate(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lvcbench-storage-"))
    work.mkdir(parents=True, exist_ok=True)
    make_source(work, args.frames)
    results = work / "results"
    common = ["--results", str(results), "--reports", str(work / "reports"), "--no-progress", "--jobs", "1"]
    coded = evaluate("run", "--conditions", str(condition(work, args.frames, False)), *common)
    print(f"coded 4 jobs (1080p, {args.frames} frames) in {coded:.0f} s")
    store = results / "storage"
    records = [json.loads(p.read_text()) for p in sorted((store / "records").glob("*/*/*.json"))]
    raw = W * H * 3 // 2 * args.frames
    print(f"raw decoded frames: {raw / 1e6:.1f} MB per job")
    for r in records:
        kept = (r.get("decoded") or {}).get("kept")
        extra = f"FFV1 {kept['bytes'] / 1e6:.1f} MB ({kept['bytes'] / raw:.1%} of raw)" if kept else "nothing kept"
        print(f"  {r['codec']['name']:10s} QP {r['rate_point']}: bitstream {sum(r['rate']['bitstream_bytes']) / 1e6:.2f} MB,"
              f" {extra}")
    # Remeasure each codec alone: the time of getting its frames back plus one XPSNR run over them.
    for name in ("x265", "x265-kept"):
        one = condition(work, args.frames, True)
        one.write_text(one.read_text().replace(
            "  - {descriptor: x265, name: x265-kept" if name == "x265" else "  - {descriptor: x265, rate_points",
            "  # " + ("{descriptor: x265, name: x265-kept" if name == "x265" else "{descriptor: x265, rate_points")))
        seconds = evaluate("remeasure", "--conditions", str(one), *common)
        how = "bitstreams decoded again" if name == "x265" else "FFV1 restored"
        print(f"remeasure {name} (2 jobs, XPSNR added; {how}): {seconds:.1f} s wall, report included")
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
