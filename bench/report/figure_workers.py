"""Handing figures to drawing processes and collecting what they drew; matplotlib is never imported here.

The process that runs the jobs and builds the page draws no figure: importing matplotlib alone costs it about half
a CPU-second. A :class:`FigureDrawing` starts a drawing process (``python -m bench.report.plots``, which draws with
:mod:`bench.report.plots`) and hands it jobs in order: a run's quick-look figures as soon as its records are read,
then its paper figures once the report knows its curves, so that one process pays the import for both. A report
with more than ``FIGURES_PER_PROCESS`` paper figures shares them with ``EXPORT_PROCESSES - 1`` more processes
(the first one also draws the quick-looks: it takes the smaller share).

Each job is a JSON file in a private temporary folder (mode 0700: nothing to unpickle, nothing another user can
plant, nothing left in the reports folder if this process is killed), named on the drawing process's standard
input, one line per job; the process answers one line per job, in order: the files written and the figures
skipped (and why), or the error that stopped the job. The folders are kept here, never read back from a command
line: a wrapper around the interpreter (``time``, ``nice``, a profiler) shifts its words, and a folder taken from
the wrong position was once the working folder.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from bench.errors import BenchError, environment_problem
from bench.files import private_temp_dir
from bench.report.styles import Style

QUICKLOOK_METRICS = ("psnr_yuv_611", "psnr_y", "psnr_rgb")  # the first two with data are drawn
# Paper figures one process draws before a second one is worth its start-up: a figure takes ~0.27 s (PDF with its
# fonts subset, SVG, PNG at 300 dpi), the start-up ~0.6 s of CPU, and the page is built in ~0.5 s, after which
# a second core is idle. On the demo (x265, 6 paper figures and 4 quick-looks, benchmarks/whole_run.py, loaded
# machine) one process took 4.0 s after the page and two 3.2-3.9 s: less wall for one more start-up's CPU.
FIGURES_PER_PROCESS = 3
EXPORT_PROCESSES = 2  # processes sharing the paper figures of a report with more than FIGURES_PER_PROCESS


def figure_specs(points: pd.DataFrame, metrics: list[str]) -> list[tuple[str, str]]:
    """Every paper figure as (kind, what), cheap to list: ("classes", metric) per metric, the class-averaged
    curves; ("sequences", class) per class, that class's sequences on the headline (first) metric."""
    groups = sorted(str(g) for g in points["group"].unique())
    return [("classes", m) for m in metrics] + ([("sequences", g) for g in groups] if metrics else [])


@dataclass(frozen=True)
class _Job:
    kind: str  # "quicklook" or "paper"
    out_dir: Path
    process: int  # index into FigureDrawing._procs


class FigureDrawing:
    """Figure jobs handed to drawing processes, started on demand; :meth:`finish` waits for them all and says
    what the jobs of one kind wrote and skipped; :meth:`cancel` stops them. ``draw_here`` (tests): every job is
    drawn at once in this process by that function, given ``bench.report.plots.draw_job`` (what a drawing
    process calls)."""

    draw_here: ClassVar[Callable[[Path], dict[str, Any]] | None] = None

    def __init__(self) -> None:
        self.handover = private_temp_dir("figures")  # and those of killed runs are removed
        self._procs: list[subprocess.Popen[bytes]] = []
        self._jobs: list[_Job] = []
        self._answers: list[dict[str, Any]] = []  # of the jobs drawn in this process (draw_here)
        # by kind: files written, figures skipped, errors; once every process has answered
        self._results: dict[str, tuple[list[str], list[str], list[Exception]]] | None = None

    def quicklook(self, summary: pd.DataFrame, sequences: list[str], figure_dir: Path, note: str,
                  anchor: str | None) -> None:
        """The quick-look figure of each of SEQUENCES into FIGURE_DIR (``plots.plot_sequence`` of SUMMARY). The
        columns the figures read are handed over with every value as it is (Python writes a float's shortest
        exact form), so each figure is the one this process would draw."""
        columns = {c: summary[c].tolist() for c in ("codec", "sequence", "status", "bpp", *QUICKLOOK_METRICS)
                   if c in summary}
        self._hand(0, "quicklook", figure_dir, {"columns": columns, "sequences": sequences, "note": note,
                                                 "anchor": anchor})

    def paper(self, points: pd.DataFrame, metrics: list[str], out_dir: Path, styles: dict[str, Style],
              family: str = "serif") -> None:
        """The paper figures of POINTS on METRICS into OUT_DIR, each curve in its STYLES entry, in FAMILY's font."""
        out_dir.mkdir(parents=True, exist_ok=True)
        data = self.handover / f"points{len(self._jobs)}.json"
        data.write_text(points.to_json(orient="table", index=False), encoding="utf-8")
        parts = 1 if len(figure_specs(points, metrics)) <= FIGURES_PER_PROCESS else EXPORT_PROCESSES
        for part in range(parts):  # the first process (quick-looks first) draws the last share, the smaller one
            self._hand(parts - 1 - part, "paper", out_dir, {"points": str(data), "metrics": metrics, "family": family,
                                                "styles": {c: asdict(s) for c, s in styles.items()},
                                                "part": part, "parts": parts})

    def _hand(self, process: int, kind: str, out_dir: Path, job: dict[str, Any]) -> None:
        path = self.handover / f"job{len(self._jobs)}.json"
        path.write_text(json.dumps({"kind": kind, "out_dir": str(out_dir), **job}), encoding="utf-8")
        self._jobs.append(_Job(kind, out_dir, process))
        draw_here = type(self).draw_here  # read on the class: a function set there would bind to self on an instance
        if draw_here is not None:
            self._answers.append(draw_here(path))
            return
        while len(self._procs) <= process:
            self._procs.append(subprocess.Popen([sys.executable, "-m", "bench.report.plots"],  # noqa: S603
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        stdin = self._procs[process].stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died (its last words answer this job: _collect)
            stdin.write(f"{path}\n".encode())
            stdin.flush()

    def finish(self, kind: str) -> tuple[list[str], list[str]]:
        """Wait for every job handed over so far; for the jobs of KIND ("quicklook", "paper"): the file names
        written and the figures and panels skipped (and why). A job of KIND that failed raises here, one line
        naming its folder (a failed job of the other kind is that kind's caller's to raise)."""
        if self._results is None:
            try:
                answers = self._answers if type(self).draw_here is not None else self._collect()
            finally:
                shutil.rmtree(self.handover, ignore_errors=True)
            self._results = {}
            for job, answer in zip(self._jobs, answers, strict=True):
                written, skipped, errors = self._results.get(job.kind, ([], [], []))
                if "error" in answer:
                    last = [line for line in answer["error"].strip().splitlines() if line.strip()][-1:] or ["no message"]
                    error = BenchError(f"figure export into {job.out_dir} failed: {last[0]}")
                    errors.append(environment_problem(error, f"figure export into {job.out_dir}") or error)
                else:
                    written, skipped = sorted(written + answer["written"]), sorted(skipped + answer["skipped"])
                self._results[job.kind] = (written, skipped, errors)
        written, skipped, errors = self._results.get(kind, ([], [], []))
        if errors:
            raise errors[0]
        return written, skipped

    def _collect(self) -> list[dict[str, Any]]:
        """Every job's answer, in the order handed over (each process answers its own jobs in order); the jobs a
        process left unanswered (it crashed, was killed, or printed something else) get its last words."""
        outputs = []
        for index, proc in enumerate(self._procs):
            out, err = proc.communicate()  # closes its input: it ends after its last job
            answers = []
            for line in out.decode(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    answer = json.loads(line)
                    if isinstance(answer, dict) and ("error" in answer or "written" in answer):
                        answers.append(answer)
            tail = err.decode(errors="replace")[-2000:].strip() or f"the drawing process ended with exit status " \
                                                                   f"{proc.returncode} before answering"
            answers += [{"error": tail}] * (sum(j.process == index for j in self._jobs) - len(answers))
            outputs.append(iter(answers))
        return [next(outputs[j.process]) for j in self._jobs]

    def cancel(self) -> None:
        """Stop the drawing processes (the page could not be built: no figure may land beside nothing) and remove
        the hand-over folder and the figure folders they left empty."""
        for proc in self._procs:
            proc.kill()
            proc.communicate()
        shutil.rmtree(self.handover, ignore_errors=True)
        for folder in sorted({j.out_dir for j in self._jobs}, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # a figures folder, if nothing else is in it (quicklook/ first)
                folder.rmdir()
