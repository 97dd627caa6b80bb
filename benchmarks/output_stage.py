"""Benchmark: the output stage of a run, what ``evaluate.py run`` does once its jobs are done (summary.csv and
frames.csv, quick-look figures, the ranked BD text, the BD tables, the page, the paper figures), on a results
folder of 16, 160 and 3,600 records, with figures on and off.

The results folder is a run's: records and their measurement files written through the store as a job writes
them (``ResultStore.write``, ``ResultStore.write_measurement``; documents from
:func:`bench.metrics.measuring.document`), the condition file beside them, and
:func:`bench.report.run_outputs.write_run_outputs` handed the condition and its planned jobs as ``run`` hands them over
(it writes the run manifest itself). The condition is the demo's (``conditions/demo.yaml``: PSNR and MS-SSIM on
Y and RGB, anchor first) with its codecs and sequences renamed; the records are built from the shape of a real
one (``tests/data/record.json``, migrated as ``evaluate.py migrate`` would) with plausible RD values, so every
BD table, figure and page section has data. Sizes: 16 = 2 codecs x 2 sequences x 4 rate points, 160 = 4 x 10 x
4, 3,600 = 10 x 60 x 6 (the shape of ``report_speed.py``).

Every measurement runs in a fresh Python process (imports included, as in a run, whose job stage does not load
matplotlib, jinja2 or the BD engine) into a fresh reports folder (paper figures are skipped when their inputs
did not change: a second pass into the same folder would not draw them). ``--baseline-root DIR`` also times the
code of another checkout (``git worktree add DIR <commit>``) on the same folders, interleaved with this one.

    python benchmarks/output_stage.py [--sizes 16 160 3600] [--rounds 1] [--baseline-root DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "data" / "record.json"
SHAPES = {16: (2, 2, 4), 160: (4, 10, 4), 3600: (10, 60, 6)}  # records: (codecs, sequences, rate points)
FRAMES = 32


def synthetic_run(records: int) -> tuple[Any, list[Any], list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    """The condition, its planned jobs and (record, measurement documents) of each job, for a run of RECORDS
    records (one of SHAPES). Deterministic: the timing process builds the same jobs the folder was written
    from."""
    from bench.conditions.condition import load_condition
    from bench.metrics.measuring import document
    from bench.metrics.registry import MeasureOutput, request
    from bench.run.jobs import Job
    from bench.store.keys import coding_key
    from bench.store.migrate import migrate_v1

    codecs, sequences, rate_points = SHAPES[records]
    demo = load_condition(ROOT / "conditions" / "demo.yaml")
    specs = tuple(replace(demo.codecs[0], name=f"codec{c}") for c in range(codecs))
    seqs = tuple(replace(demo.sequences[0], name=f"Seq{s:02d}", group=f"class{s // 10}") for s in range(sequences))
    condition = replace(demo, name="outputs", codecs=specs, sequences=seqs, anchor="codec0")
    base, _ = migrate_v1(json.loads(TEMPLATE.read_text()))  # a schema-1 record made current, as migrate does
    base.pop("migrated")
    rng = _Rng(0)
    out, jobs = [], []
    for seq in seqs:
        scale = rng.uniform(0.02, 0.2)
        sha = hashlib.sha256(seq.name.encode()).hexdigest()
        for c, spec in enumerate(specs):
            identity = {**base["codec"]["identity"], "params": {**base["codec"]["identity"]["params"], "preset": f"p{c}"}}
            for k in range(rate_points):
                r = copy.deepcopy(base)
                r["codec"].update(name=spec.name, identity=identity)
                r["sequence"].update(name=seq.name, group=seq.group)
                r["source"]["sha256"] = sha
                r["rate_point"] = 22 + 5 * k
                r["key"] = key = coding_key(r["condition"]["fields"], {**r["source"], "format": r["sequence"]["format"]},
                                            identity, r["rate_point"])
                bpp = scale * (1.0 - 0.04 * c) * 2.0 ** (rate_points - 1 - k) * (1 + rng.normal(0.01))
                bits = int(bpp * 416 * 240 * FRAMES)
                r["rate"].update(bpp=bpp, bits=bits, kbps=bits * 30 / FRAMES / 1000, bitstream_bytes=[bits // 8],
                                 bitstreams=[f"bitstreams/{spec.name}/{seq.name}/{r['rate_point']}_{key[:16]}.264"])
                r["per_frame"] = {"frame_type": ["I" if i == 0 else "P" for i in range(FRAMES)],
                                  "bits": [int(bits * (6 if i == 0 else 0.85) / (FRAMES + 5)) for i in range(FRAMES)]}
                r["timing"].update(encode_s=rng.uniform(0.2, 2.0), decode_s=rng.uniform(0.02, 0.2))
                psnr = [42 - 2.6 * k + 0.05 * rng.normal() + 0.3 * math.sin(i / 3) for i in range(FRAMES)]
                docs = [document(key, request("sse"), MeasureOutput(_sse(psnr), {"samples": [99840, 24960, 24960, 299520]}),
                                 0.01, {"device": "cpu"}, FRAMES, "source format yuv420p at 416x240")]
                for space, offset in (("y", 20), ("rgb", 22)):
                    docs.append(document(key, request("ms_ssim", space=space), MeasureOutput(
                        {"ms_ssim": [1 - 10 ** (-(p - offset) / 10) for p in psnr]}), 0.01, {"device": "cpu"}, FRAMES,
                        "source format yuv420p at 416x240"))
                for d in docs:
                    d["measured_at"] = "2026-01-01T00:00:00+00:00"
                jobs.append(Job(condition, seq, None, None, spec, identity, r["rate_point"], key))  # type: ignore[arg-type]
                out.append((r, docs))
    return condition, jobs, out


def _sse(psnr: list[float]) -> dict[str, list[int]]:
    """Per-frame SSE of each plane for the per-frame PSNR-Y PSNR (U, V 3 and 3.5 dB above, RGB 2 dB below)."""
    planes = {"sse_y": (99840, 0.0), "sse_u": (24960, 3.0), "sse_v": (24960, 3.5), "sse_rgb": (299520, -2.0)}
    return {name: [round(n * 255**2 / 10 ** ((p + d) / 10)) for p in psnr] for name, (n, d) in planes.items()}


class _Rng:
    """numpy's generator, named once (the numbers only shape plausible curves)."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self._g = np.random.default_rng(seed)

    def uniform(self, low: float, high: float) -> float:
        return float(self._g.uniform(low, high))

    def normal(self, sd: float = 1.0) -> float:
        return float(self._g.normal(0, sd))


def write_results(records: int, results: Path) -> None:
    """A run's results folder of RECORDS records under RESULTS/<condition>: records, measurements, condition."""
    from bench.store.results import ResultStore, atomic_write_text

    condition, _, built = synthetic_run(records)
    store = ResultStore(results / condition.name)
    for r, docs in built:
        for d in docs:
            store.write_measurement(r, d)
        store.write(store.record_path(r["codec"]["name"], r["sequence"]["name"], r["rate_point"], r["key"]), r)
    atomic_write_text(store.root / "condition.yaml", condition.expanded_text())


def _time_once(records: int, results: Path, reports: Path, figures: bool) -> None:
    """In its own process: write_run_outputs on RESULTS into REPORTS; prints one JSON line of seconds."""
    from bench.bd.options import BDOptions

    condition, jobs, _ = synthetic_run(records)  # what a run holds when its jobs are done (not timed)
    t0 = time.perf_counter()
    from bench.report.run_outputs import (
        write_run_outputs,  # imported by `run` only now: part of the stage's cost
    )

    t1 = time.perf_counter()
    write_run_outputs(condition, jobs, results, reports, BDOptions(metric="psnr_yuv_611"), figures,
                      say=lambda text: None)
    t2 = time.perf_counter()
    import bench

    print(json.dumps({"import_s": t1 - t0, "stage_s": t2 - t0, "bench": str(Path(bench.__file__).parent)}))


def _measure(code_root: Path, records: int, results: Path, reports: Path, figures: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(records), str(results),  # noqa: S603
                          str(reports), "1" if figures else "0"], env=env, cwd=code_root, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"timing {records} records with {code_root} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if Path(result["bench"]).resolve() != (code_root / "bench").resolve():
        raise SystemExit(f"{code_root}: the timed process imported bench from {result['bench']}")
    return result


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(SHAPES), choices=sorted(SHAPES))
    parser.add_argument("--rounds", type=int, default=1, help="timings per size, code and figures setting")
    parser.add_argument("--baseline-root", type=Path, default=None, help="another checkout to time as 'before'")
    parser.add_argument("--keep", type=Path, default=None, help="build the folders here and keep them")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, results, reports, figures = args.child
        _time_once(int(n), Path(results), Path(reports), figures == "1")
        return
    codes = [("after", ROOT)] + ([("before", args.baseline_root.resolve())] if args.baseline_root else [])
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        print(f"{'code':7} {'records':>7} {'figures':>7} {'output stage s':>14} {'s/record':>9} {'of which imports s':>18}  load")
        for n in args.sizes:
            write_results(n, work / f"r{n}" / "results")
            for rnd in range(args.rounds):
                for figures in (True, False):
                    for label, code in codes if rnd % 2 == 0 else codes[::-1]:  # interleaved, alternating first
                        reports = work / f"r{n}" / f"reports-{label}-{int(figures)}-{rnd}"
                        shutil.rmtree(reports, ignore_errors=True)
                        t = _measure(code, n, work / f"r{n}" / "results", reports, figures)
                        print(f"{label:7} {n:7d} {'on' if figures else 'off':>7} {t['stage_s']:14.2f} "
                              f"{t['stage_s'] / n:9.4f} {t['import_s']:18.2f}  {_load()}", flush=True)


if __name__ == "__main__":
    main()
