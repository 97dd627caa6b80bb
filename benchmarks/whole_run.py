"""Benchmark: a whole suite run against a bare shell loop doing the same encodes, decodes and measurements.

Content: the demo's four sequences (``bench/conditions/demo.py``), 32 frames, intra period 32, x265 only at the QPs and
parameters of the demo condition's x265 (``codecs/x265.yaml``: preset medium, one encoder thread, QP 22, 27,
32, 37): 16 jobs. Both sides code exactly the same streams:

* **suite**: ``evaluate.py run --conditions <file> --results <fresh> --reports <fresh> --jobs N --no-progress``
  on a condition written into the work folder (``extends: demo``, ``codecs: [x265]``), fresh folders every run:
  coding, checking the streams, measuring (SSE and MS-SSIM Y and RGB), records, tables, figures, the report.
* **bare**: a bash script, one small script per job run by ``xargs -P N``: the encode with the very command line
  the suite's x265 adapter builds (``bare_encode_argv``; ``tests/test_whole_run_benchmark.py`` holds it to the
  adapter's; after the first pair of runs the benchmark checks it against the commands the suite's records keep,
  and the two sides' 16 bitstreams byte for byte, and stops if they differ), a plain decode to raw
  (the suite's decode also runs ffmpeg's ``showinfo`` filter for the frame types, and a third ffmpeg pass lists
  the packet sizes: both count on the suite's side), and ONE ffmpeg call running the ``psnr`` and ``ssim``
  filters together against the source (ffmpeg's default threads), per-frame stats written to files.

Rounds are interleaved (suite, bare, suite, bare ...) for every ``--jobs`` value. Round 0 is the cold one: its
suite run starts with an empty numba kernel cache (``NUMBA_CACHE_DIR``, which numba looks in before the
``__pycache__`` next to the kernels' source) and an empty suite cache (``LVCBENCH_CACHE``: probes re-run; the demo
sequences are copied in beforehand, so nothing is rendered inside the timing); later rounds reuse the caches the
first cold run filled. Wall time is the process's, start to exit; CPU time is user + system of the process and
every descendant it waited for (``os.wait4``); ``os.getloadavg()`` just before each start is printed beside it.
For suite runs the console lines are time-stamped, which splits the wall time into start-up (interpreter, imports,
reading the condition: before the run's own clock starts), the jobs (the run's own "N jobs ... X s" line, planning
included), outputs up to the report, and paper figures; the records give the summed encode, decode and measuring
seconds and the slowest job's measuring (the kernels compiling, on a cold cache); and whether the run wrote into
the numba cache (on a warm one it should not: if it did, a kernel's source changed in between).

Prints every run, then the medians (suite: rounds 1..R; bare: all rounds) and suite/bare for wall and CPU at each
``--jobs``, the cold runs against the bare median, each against the issue's target of at most 1.3x (printed,
never asserted).

    python benchmarks/whole_run.py [--rounds 3] [--jobs 1,2] [--quick] [--suite-root DIR] [--python EXE]
                                   [--work DIR]

``--quick``: one round, ``--jobs 1`` only (a smoke test). ``--suite-root DIR``: run DIR's ``evaluate.py`` (another
checkout, e.g. a ``git worktree`` of the commit before a change), with this interpreter unless ``--python``.
``--work DIR``: keep every run's folders there (default: a temporary folder, removed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.conditions import demo
from bench.conditions.condition import load_condition
from bench.tools import ffmpeg_exe

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.3  # issue 35: a whole run at most 1.3x the bare loop, wall and CPU, cold cache included
CONDITION_NAME = "whole_run_x265"
CONDITION_TEXT = f"""\
# Written by benchmarks/whole_run.py: the demo condition, x265 only (its descriptor codecs/x265.yaml as it is).
extends: demo
name: {CONDITION_NAME}
description: The built-in demo, x265 only (benchmarks/whole_run.py).
codecs: [x265]
anchor: x265
"""


# --- the bare loop's command lines -----------------------------------------------------------------------------

def bare_encode_argv(ffmpeg: str, source: Path, pix_fmt: str, width: int, height: int, fps: float, frames: int,
                     preset: str, threads: int, qp: int, keyint: int, stream: Path) -> list[str]:
    """The x265 encode, written out here on its own (not taken from the adapter, so that a change on either side
    shows): the same arguments as the suite's x265 adapter for a constant-QP low-delay encode of FRAMES frames
    with an intra frame every KEYINT."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "info",
            "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", str(source),
            "-frames:v", str(frames), "-an", "-c:v", "libx265", *(["-threads", str(threads)] if threads else []),
            "-preset", preset, "-tune", "psnr",
            "-x265-params", f"qp={qp}:keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0:open-gop=0",
            "-f", "hevc", str(stream)]


def bare_decode_argv(ffmpeg: str, stream: Path, pix_fmt: str, decoded: Path) -> list[str]:
    """A plain decode to raw frames in the coding format."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "info", "-i", str(stream),
            "-f", "rawvideo", "-pix_fmt", pix_fmt, str(decoded)]


def bare_measure_argv(ffmpeg: str, decoded: Path, source: Path, pix_fmt: str, width: int, height: int, fps: float,
                      frames: int, psnr_log: Path, ssim_log: Path) -> list[str]:
    """One ffmpeg call: the ``psnr`` and ``ssim`` filters, decoded frames (main input) against the source."""
    raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-r", f"{fps:g}"]
    graph = (f"[1:v]split[ref1][ref2];[0:v][ref1]psnr=stats_file={_filter_path(psnr_log)}[main];"
             f"[main][ref2]ssim=stats_file={_filter_path(ssim_log)}")
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info", *raw, "-i", str(decoded), *raw,
            "-i", str(source), "-lavfi", graph, "-frames:v", str(frames), "-f", "null", "-"]


def _filter_path(path: Path) -> str:
    # A filter-graph option value: ':' ',' ';' '[' ']' '\' and quotes would need escaping; our paths have none.
    text = str(path)
    if re.search(r"[:,;\[\]\\'\"=]", text):
        raise SystemExit(f"work folder {path.parent}: characters ffmpeg's filter syntax would need escaped; "
                         "give another --work")
    return text


# --- the content -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Content:
    """What both sides code: sequences (name, file), the format, frames, intra period, x265's settings."""

    sequences: tuple[tuple[str, Path], ...]
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int
    keyint: int
    preset: str
    threads: int
    qps: tuple[int, ...]


def read_content(condition_file: Path, sequences: Path) -> Content:
    """The condition as this checkout reads it; its sequences copied to SEQUENCES (the bare loop's sources)."""
    cond = load_condition(condition_file)  # renders the demo sequences into the user's cache on first use
    (codec,) = cond.codecs
    params = dict(codec.params)
    if params.get("extra_args") or params.get("decode_args") or cond.frames.first != 0 or cond.spatial.mode != "none":
        raise SystemExit(f"{condition_file}: extra encoder/decoder arguments, a first frame or a spatial mode: the "
                         "bare loop does not reproduce them")
    infos = {(s.width, s.height, s.fps, s.fmt.name) for s in cond.sequences}
    if len(infos) != 1:
        raise SystemExit(f"{condition_file}: sequences of different sizes or formats; the bare loop takes one")
    (width, height, fps, pix_fmt), = infos
    frames = cond.frames.count or min(s.frames or 0 for s in cond.sequences)
    sequences.mkdir(parents=True, exist_ok=True)
    files = []
    for s in cond.sequences:
        shutil.copyfile(Path(cond.data_root or demo.demo_root()) / s.file, sequences / Path(s.file).name)
        files.append((s.name, sequences / Path(s.file).name))
    # The adapter's intra period for a whole-sequence encode: -1 = frame 0 only.
    keyint = frames if cond.intra_period == -1 else min(cond.intra_period, frames)
    return Content(tuple(files), pix_fmt, int(width), int(height), float(fps), int(frames), keyint,
                   str(params["preset"]), int(params["threads"]), tuple(int(q) for q in codec.rate_points))


def write_bare_script(folder: Path, content: Content, ffmpeg: str) -> Path:
    """FOLDER/run.sh (argument: jobs at once) and one jobNN.sh per sequence and QP; outputs under FOLDER/out."""
    folder.mkdir(parents=True)
    n = 0
    for name, source in content.sequences:
        for qp in content.qps:
            out = folder / "out" / f"{name}-{qp}"
            stream, decoded = out / "stream.265", out / "decoded.yuv"
            lines = [f"mkdir -p {shlex.quote(str(out))}",
                     shlex.join(bare_encode_argv(ffmpeg, source, content.pix_fmt, content.width, content.height,
                                                 content.fps, content.frames, content.preset, content.threads, qp,
                                                 content.keyint, stream)) + f" 2> {shlex.quote(str(out / 'encode.log'))}",
                     shlex.join(bare_decode_argv(ffmpeg, stream, content.pix_fmt, decoded))
                     + f" 2> {shlex.quote(str(out / 'decode.log'))}",
                     shlex.join(bare_measure_argv(ffmpeg, decoded, source, content.pix_fmt, content.width,
                                                  content.height, content.fps, content.frames, out / "psnr.log",
                                                  out / "ssim.log")) + f" 2> {shlex.quote(str(out / 'measure.log'))}",
                     f"rm -f {shlex.quote(str(decoded))}"]
            (folder / f"job{n:02d}.sh").write_text("set -euo pipefail\n" + "\n".join(lines) + "\n")
            n += 1
    run = folder / "run.sh"
    run.write_text("#!/usr/bin/env bash\n# The bare loop: every job script, $1 at once.\nset -euo pipefail\n"
                   f"cd {shlex.quote(str(folder))}\nprintf '%s\\n' job*.sh | xargs -P \"$1\" -n 1 bash\n")
    return run


# --- timing ----------------------------------------------------------------------------------------------------

@dataclass
class Timed:
    """One measured run."""

    wall_s: float
    user_s: float
    sys_s: float
    load: tuple[float, float, float]  # os.getloadavg() just before the start
    lines: list[tuple[float, str]] = field(default_factory=list)  # console lines, seconds after the start
    notes: str = ""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Timed:
    """Run ARGV, time-stamping its output lines; wall and CPU (its own and its waited-for descendants')."""
    load = os.getloadavg()
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    lines = [(time.perf_counter() - start, line.rstrip("\n")) for line in child.stdout]
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    if child.returncode != 0:
        tail = "\n".join(text for _, text in lines[-15:])
        raise SystemExit(f"{shlex.join(argv)} failed with exit code {child.returncode}:\n{tail}")
    return Timed(wall, usage.ru_utime, usage.ru_stime, load, lines)


def suite_env(root: Path, cache: Path, numba: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    # Unbuffered: the console lines arrive when printed, so their time stamps split the run into phases.
    return {**os.environ, "LVCBENCH_CACHE": str(cache), "NUMBA_CACHE_DIR": str(numba), "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": path}


def fresh_cache(folder: Path, sequences: Path) -> tuple[Path, Path]:
    """An empty suite cache holding only the demo sequences, and an empty numba cache folder."""
    cache, numba = folder / "lvcbench-cache", folder / "numba-cache"
    demo_dir = cache / "demo" / f"v{demo.DEMO_VERSION}"
    demo_dir.mkdir(parents=True)
    numba.mkdir()
    for f in sequences.iterdir():
        shutil.copyfile(f, demo_dir / f.name)
    return cache, numba


def suite_run(args: argparse.Namespace, folder: Path, condition: Path, jobs: int, cache: Path,
              numba: Path) -> Timed:
    argv = [args.python, str(args.suite_root / "evaluate.py"), "run", "--conditions", str(condition),
            "--results", str(folder / "results"), "--reports", str(folder / "reports"), "--jobs", str(jobs),
            "--no-progress"]
    since = time.time() - 1.0  # file modification times: a second's margin for coarse file-system clocks
    timed = run_timed(argv, args.suite_root, suite_env(args.suite_root, cache, numba))
    timed.notes = "; ".join((phases(timed), record_times(folder / "results" / CONDITION_NAME),
                             cache_writes(numba, since)))
    return timed


def phases(timed: Timed) -> str:
    """Start-up, jobs, outputs to the report and the rest, from the run's time-stamped console lines."""
    at_jobs = next(((t, float(m.group(1))) for t, line in timed.lines
                    if (m := re.search(r": \d+ jobs, .*?([\d.]+) s$", line))), None)
    at_report = next((t for t, line in timed.lines if line.startswith("report written")), None)
    if at_jobs is None:
        return "phases: n/a (no 'N jobs ... X s' line)"
    t_jobs, jobs_s = at_jobs
    text = f"start-up {t_jobs - jobs_s:.1f} s, jobs {jobs_s:.1f} s, "
    if at_report is None:
        return text + f"outputs {timed.wall_s - t_jobs:.1f} s"
    return text + f"outputs to the report {at_report - t_jobs:.1f} s, paper figures {timed.wall_s - at_report:.1f} s"


def _records(results: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted((results / "records").glob("**/*.json")):
        try:
            out.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


def record_times(results: Path) -> str:
    """The summed encode, decode and measuring seconds the records keep, and the slowest job's measuring."""
    timings = [r.get("timing") or {} for r in _records(results)]
    measure = [t["measure_s"] for t in timings if isinstance(t.get("measure_s"), int | float)]
    if not measure:
        return "records: no measuring times"
    total = {k: sum(t.get(k) or 0.0 for t in timings) for k in ("encode_s", "decode_s")}
    return (f"jobs summed: encode {total['encode_s']:.1f} s, decode {total['decode_s']:.1f} s, measure "
            f"{sum(measure):.1f} s (slowest job {max(measure):.2f} s, median {statistics.median(measure):.2f} s)")


def check_commands(results: Path, content: Content, ffmpeg: str) -> str:
    """Each record's encode command against the bare loop's for the same sequence and QP, input and output paths
    aside: the two sides must code the same streams."""
    sources = dict(content.sequences)
    checked, differ = 0, []
    for record in _records(results):
        seq = record.get("sequence")
        name = seq.get("name") if isinstance(seq, dict) else seq
        commands = record.get("commands") or []
        if name not in sources or not commands:
            continue
        bare = bare_encode_argv(ffmpeg, sources[name], content.pix_fmt, content.width, content.height, content.fps,
                                content.frames, content.preset, content.threads, int(record["rate_point"]),
                                content.keyint, Path("OUT"))
        if _without_paths(commands[0]) != _without_paths(bare):
            differ.append(f"{name} QP {record['rate_point']}: suite {shlex.join(commands[0])}")
        checked += 1
    if differ:
        raise SystemExit("the suite's encode differs from the bare loop's:\n" + "\n".join(differ[:3]))
    if checked != len(content.sequences) * len(content.qps):
        raise SystemExit(f"{results}: {checked} records with an encode command, expected "
                         f"{len(content.sequences) * len(content.qps)}")
    return f"the {checked} encode commands in the suite's records equal the bare loop's (input and output aside)"


def check_streams(results: Path, bare_out: Path) -> str:
    """Every bitstream the suite recorded against the bare loop's for the same sequence and QP: byte for byte."""
    compared, differ = 0, []
    for record in _records(results):
        seq = record.get("sequence")
        name = seq.get("name") if isinstance(seq, dict) else seq
        streams = (record.get("rate") or {}).get("bitstreams") or []
        if len(streams) != 1:
            continue
        bare = bare_out / f"{name}-{record['rate_point']}" / "stream.265"
        if not bare.is_file() or bare.read_bytes() != (results / streams[0]).read_bytes():
            differ.append(f"{results / streams[0]} and {bare}")
        compared += 1
    if differ or not compared:
        raise SystemExit("the suite and the bare loop coded different streams: " + (differ[0] if differ else
                         f"no record in {results} names its bitstream"))
    return f"the {compared} bitstreams of the suite and of the bare loop are byte-identical"


def _without_paths(argv: list[str]) -> list[str]:
    out = list(argv[:-1]) + ["<stream>"]
    i = out.index("-i")
    out[i + 1] = "<source>"
    return out


def cache_writes(numba: Path, since: float) -> str:
    """What the run wrote into the numba cache folder: on a warm cache, anything means the kernels compiled
    again (their source changed since the cache was filled, or a new type signature)."""
    written = [f for f in numba.glob("**/*.nb[ic]") if f.stat().st_mtime >= since]
    index = sum(1 for f in written if f.suffix == ".nbi")
    if not written:
        return "kernel cache only read"
    return f"{len(written)} kernel cache files written ({index} indexes: kernels compiled in this run)"


# --- the rounds ------------------------------------------------------------------------------------------------

def show(label: str, timed: Timed) -> None:
    one, five, _ = timed.load
    print(f"{label}: {timed.wall_s:6.1f} s wall, {timed.cpu_s:6.1f} CPU-s (user {timed.user_s:.1f} + sys "
          f"{timed.sys_s:.1f}), load {one:.2f}/{five:.2f} (1/5 min){'; ' + timed.notes if timed.notes else ''}",
          flush=True)


def rounds(args: argparse.Namespace, work: Path, condition: Path, content: Content, ffmpeg: str
           ) -> tuple[dict[int, Timed], dict[int, list[Timed]], dict[int, list[Timed]]]:
    """Round 0: each --jobs value's cold suite run, then its bare loop; rounds 1..R: warm suite, bare."""
    cold: dict[int, Timed] = {}
    suite: dict[int, list[Timed]] = {j: [] for j in args.jobs}
    bare: dict[int, list[Timed]] = {j: [] for j in args.jobs}
    warm: tuple[Path, Path] | None = None
    for r in range(args.rounds + 1):
        for jobs in args.jobs:
            folder = work / f"round{r}-jobs{jobs}"
            if r == 0:
                cache, numba = fresh_cache(folder, work / "sequences")
                cold[jobs] = suite_run(args, folder / "suite", condition, jobs, cache, numba)
                show(f"round 0 suite --jobs {jobs} COLD", cold[jobs])
            else:
                assert warm is not None
                suite[jobs].append(suite_run(args, folder / "suite", condition, jobs, *warm))
                show(f"round {r} suite --jobs {jobs}     ", suite[jobs][-1])
            run = write_bare_script(folder / "bare", content, ffmpeg)
            bare[jobs].append(run_timed(["bash", str(run), str(jobs)], folder, dict(os.environ)))
            show(f"round {r} bare  --jobs {jobs}     ", bare[jobs][-1])
            if warm is None:  # the first pair: both sides must have done the same work
                results = folder / "suite" / "results" / CONDITION_NAME
                print("  " + check_commands(results, content, ffmpeg))
                print("  " + check_streams(results, run.parent / "out"), flush=True)
                warm = (cache, numba)  # the later rounds reuse what the first cold run filled
    return cold, suite, bare


def verdict(wall: float, cpu: float) -> str:
    worst = max(wall, cpu)
    return f"{wall:.2f}x wall, {cpu:.2f}x CPU (target <= {TARGET}x: {'met' if worst <= TARGET else 'NOT met'})"


def summary(cold: dict[int, Timed], suite: dict[int, list[Timed]], bare: dict[int, list[Timed]]) -> None:
    def med(runs: list[Timed]) -> tuple[float, float]:
        return statistics.median(t.wall_s for t in runs), statistics.median(t.cpu_s for t in runs)

    print("\nmedians, wall s / CPU-s (suite: warm rounds 1..R; bare: every round):")
    for jobs in suite:
        bw, bc = med(bare[jobs])
        if suite[jobs]:
            sw, sc = med(suite[jobs])
            print(f"  --jobs {jobs}: suite {sw:.1f} / {sc:.1f}, bare {bw:.1f} / {bc:.1f}; suite/bare "
                  + verdict(sw / bw, sc / bc))
        c = cold[jobs]
        print(f"  --jobs {jobs} cold (first run, empty kernel and suite caches): suite {c.wall_s:.1f} / {c.cpu_s:.1f};"
              f" against the bare median " + verdict(c.wall_s / bw, c.cpu_s / bc))
    loads = [t.load[0] for runs in (*suite.values(), *bare.values()) for t in runs] + [t.load[0] for t in cold.values()]
    print(f"  1-min load average over the runs: {min(loads):.2f} .. {max(loads):.2f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="warm rounds after the cold one (default 3)")
    parser.add_argument("--jobs", default="1,2", help="--jobs values, comma-separated (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: one round, --jobs 1 only")
    parser.add_argument("--suite-root", type=Path, default=REPO, help="the checkout whose evaluate.py runs "
                        "(default: this one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the suite (default: this one)")
    parser.add_argument("--work", type=Path, help="keep every run's folders here (default: a temporary folder)")
    args = parser.parse_args()
    args.jobs = [1] if args.quick else [int(j) for j in args.jobs.split(",")]
    args.rounds = 1 if args.quick else args.rounds
    args.suite_root = args.suite_root.resolve()
    if not (args.suite_root / "evaluate.py").is_file():
        raise SystemExit(f"--suite-root {args.suite_root}: no evaluate.py there")
    if args.work is not None and args.work.exists() and any(args.work.iterdir()):
        raise SystemExit(f"--work {args.work}: not empty; give a new or empty folder")
    with tempfile.TemporaryDirectory(prefix="whole-run-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        condition = work / f"{CONDITION_NAME}.yaml"
        condition.write_text(CONDITION_TEXT)
        content = read_content(condition, work / "sequences")
        ffmpeg = ffmpeg_exe()
        imported = subprocess.run([args.python, "-c", "import bench; print(bench.__file__)"], check=True, text=True,
                                  capture_output=True, cwd=args.suite_root,
                                  env={**os.environ, "PYTHONPATH": str(args.suite_root)}).stdout.strip()
        print(f"suite: {args.suite_root / 'evaluate.py'} (bench from {Path(imported).parent}), {args.python}")
        print(f"content: {len(content.sequences)} sequences x QP {','.join(map(str, content.qps))}, "
              f"{content.frames} frames {content.width}x{content.height} {content.pix_fmt}, intra period "
              f"{content.keyint}, x265 preset {content.preset}, {content.threads} encoder thread(s); "
              f"ffmpeg {ffmpeg}; work folder {work}")
        print(f"rounds: 0 (cold) + {args.rounds}, --jobs {','.join(map(str, args.jobs))}, on {os.cpu_count()} cores",
              flush=True)
        summary(*rounds(args, work, condition, content, ffmpeg))


if __name__ == "__main__":
    main()
