"""How long ``evaluate.py doctor`` takes and what it imports: wall and CPU time, peak memory, and whether torch
and compressai were imported, for ``doctor`` with no codec named (cold: an empty probe cache, every encoder
probed; warm: the cache filled) and, beside it, ``doctor compressai``, which imports them on purpose.

    python benchmarks/doctor_speed.py [--repeat 3]

Each command runs in a fresh interpreter through a small wrapper that calls ``bench.cli.main`` and then reads
``sys.modules``, so the import check sees exactly what the command imported. CPU time (user + system) and peak
memory (``ru_maxrss``) are the child's own, from ``os.wait4``; each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WRAPPER = ("import sys; from bench.cli import main; code = main(sys.argv[1:]); "
           "print('IMPORTED', 'torch' in sys.modules, 'compressai' in sys.modules, file=sys.stderr); sys.exit(code)")


def timed(argv: list[str], cache: Path) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak MiB, "torch ..., compressai ...") of one run of ``doctor ARGV``."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", WRAPPER, *argv], cwd=ROOT, stdout=out, stderr=out, text=True,
                                 env={**os.environ, "LVCBENCH_CACHE": str(cache)})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        text = out.read()
    imported = next((line.split()[1:] for line in text.splitlines() if line.startswith("IMPORTED ")), None)
    if imported is None:
        sys.exit(f"doctor {' '.join(argv)} failed ({child.returncode}):\n{text[-3000:]}")
    said = f"torch {'yes' if imported[0] == 'True' else 'no'}, compressai {'yes' if imported[1] == 'True' else 'no'}"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, said  # ru_maxrss: KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'command':<28}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}  imported")
    with tempfile.TemporaryDirectory() as tmp:
        cold = [timed(["doctor"], Path(tmp) / f"cold{i}") for i in range(args.repeat)]  # a new cache each time
        warm_cache = Path(tmp) / "warm"
        timed(["doctor"], warm_cache)  # fills it (not timed)
        rows = {"doctor (cold probe cache)": cold,
                "doctor": [timed(["doctor"], warm_cache) for _ in range(args.repeat)],
                "doctor compressai": [timed(["doctor", "compressai"], warm_cache) for _ in range(args.repeat)]}
        for label, samples in rows.items():
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            print(f"{label:<28}{wall:>8.2f}{cpu:>8.2f}{statistics.median(s[2] for s in samples):>10.0f}  {samples[-1][3]}",
                  flush=True)


if __name__ == "__main__":
    main()
