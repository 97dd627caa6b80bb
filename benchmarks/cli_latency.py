"""How long the everyday commands take: wall and CPU time of ``--help``, ``ls``, ``status``, ``validate``,
``bd`` on a finished run, and a rerun of a finished condition with nothing to code (a no-op rerun), each
beside ``python -c pass`` measured in the same run (the machine is shared: read the ratios).

    python benchmarks/cli_latency.py [--conditions conditions/demo.yaml] [--repeat 3]

The condition is run once first if its results are not there yet (not timed). CPU time is user + system of
the child process (``resource.getrusage(RUSAGE_CHILDREN)``), the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s) of one run of COMMAND; a failing command stops the benchmark with its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", default="conditions/demo.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py, cli = sys.executable, [sys.executable, str(ROOT / "evaluate.py")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results, reports = work / "results", work / "reports"
        run = [*cli, "run", "--conditions", str(ROOT / args.conditions), "--results", str(results), "--reports",
               str(reports), "--no-progress"]
        print(f"first run of {args.conditions} (not timed) ...", flush=True)
        timed(run, ROOT)
        name = next(p.name for p in results.iterdir() if (p / "records").is_dir())
        anchor = next(line.split(":", 1)[1].strip() for line in (ROOT / args.conditions).read_text().splitlines()
                      if line.startswith("anchor:"))
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "--help": [*cli, "--help"],
            "ls": [*cli, "ls"],
            "status": [*cli, "status", "--conditions", str(ROOT / args.conditions), "--results", str(results)],
            "validate": [*cli, "validate", "--conditions", str(ROOT / args.conditions)],
            "bd": [*cli, "bd", str(results / name), "--anchor", anchor, "--out", str(work / "bd")],
            "no-op rerun": run,
        }
        print(f"{'command':<16}{'wall s':>9}{'CPU s':>9}{'CPU / python -c pass':>23}")
        base = None
        for label, command in commands.items():
            samples = [timed(command, ROOT) for _ in range(args.repeat)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            base = base or cpu
            print(f"{label:<16}{wall:>9.2f}{cpu:>9.2f}{cpu / base:>23.1f}", flush=True)


if __name__ == "__main__":
    main()
