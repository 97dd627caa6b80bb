"""Benchmark: what running jobs side by side buys, and what the local executor costs per job.

1. The built-in demo (conditions/demo.yaml: 4 sequences x 4 encoders x 4 QPs, 64 jobs) run from scratch with
   ``--jobs 1`` and with ``--jobs 2``, each through ``evaluate.py`` in its own process and results folder;
   prints both wall-clock times and their ratio (the demo's sequences are generated once, before either run).
2. Scheduling overhead of the local executor: N jobs of an empty codec (it copies a 1-frame 16x16 input to a
   1-byte "bitstream" and hands the input back as its decoded frames) through ``run_condition``, against the
   same N jobs run one after another by calling ``run_job`` directly. Both include input preparation,
   measuring one tiny frame and writing the record; the difference per job is what planning, keying, the
   manifest, the thread pool and the progress bar add. Prints ms per job for both and the ratio.

    python benchmarks/scale_out.py [--skip-demo] [--empty-jobs 300]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bench.adapters import register
from bench.adapters.base import Adapter, CodingResult, CodingTask
from bench.conditions.condition import load_condition
from bench.run.inputs import InputCache
from bench.run.one_job import run_job
from bench.run.runner import RunOptions, plan, run_condition
from bench.store.results import ResultStore

REPO = Path(__file__).resolve().parent.parent


@register
class EmptyCodec(Adapter):
    """Does no coding: a 1-byte bitstream, the input handed back as the decoded frames."""

    name = "empty"
    PARAMS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def validate_rate_point(cls, value: Any, where: str) -> Any:
        return value

    def code_sequence(self, task: CodingTask) -> CodingResult:
        stream = task.work_dir / "stream.bin"
        stream.write_bytes(b"\0")
        return CodingResult(bitstreams=[stream], decoded_path=task.input_path)

    def doctor(self) -> str:
        return "empty: codes nothing"


def demo_ratio() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-c", "from bench.conditions.demo import demo_manifest; demo_manifest()"], check=True,
                       cwd=REPO)  # generate the sequences once, outside both timings
        walls = {}
        for jobs in (1, 2):
            out = Path(tmp) / f"jobs{jobs}"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "evaluate.py", "--conditions", "conditions/demo.yaml", "--results",
                            str(out / "results"), "--reports", str(out / "reports"), "--jobs", str(jobs),
                            "--no-progress"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
            walls[jobs] = time.perf_counter() - t0
            print(f"demo --jobs {jobs}: {walls[jobs]:.1f} s wall (64 jobs, report included)", flush=True)
        print(f"demo speed-up --jobs 2 over --jobs 1: {walls[1] / walls[2]:.2f}x on {os.cpu_count()} cores")


def empty_overhead(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        rng.integers(0, 256, 16 * 16 * 3 // 2, dtype=np.uint8).tofile(root / "Noise_16x16_30.yuv")
        cond = root / "empty.yaml"
        cond.write_text(f"""
name: empty
sequences: [{{name: Noise, file: Noise_16x16_30.yuv}}]
data_root: {root}
frames: {{first: 0, count: 1}}
intra_period: -1
metrics: {{ms_ssim: []}}
codecs: [{{name: empty, adapter: empty, rate_points: {list(range(count))}}}]
""")
        condition = load_condition(cond)
        t0 = time.perf_counter()
        outcome = run_condition(condition, RunOptions(root / "results", jobs=1, progress=True))
        through_runner = time.perf_counter() - t0
        assert outcome.coded == count and not outcome.failed, outcome.failed[:1]

        jobs, adapters = plan(condition)
        store = ResultStore(root / "direct" / condition.name)
        store.root.mkdir(parents=True)
        inputs = InputCache(store.root / "prepared")
        t0 = time.perf_counter()
        for job in jobs:
            assert run_job(job, adapters["empty"], store, inputs)["status"] == "ok"
        direct = time.perf_counter() - t0
    per_runner, per_direct = 1000 * through_runner / count, 1000 * direct / count
    print(f"empty codec, {count} jobs: {per_runner:.1f} ms a job through run_condition (local executor, --jobs 1), "
          f"{per_direct:.1f} ms a job calling run_job directly; executor overhead {per_runner - per_direct:.1f} ms "
          f"a job; ratio {per_runner / per_direct:.2f}")
    print(f"local per-job cost under 50 ms: {'yes' if per_runner < 50 else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-demo", action="store_true", help="only the empty-codec overhead")
    parser.add_argument("--empty-jobs", type=int, default=300, help="jobs of the empty codec (default 300)")
    args = parser.parse_args()
    empty_overhead(args.empty_jobs)
    if not args.skip_demo:
        demo_ratio()


if __name__ == "__main__":
    main()
