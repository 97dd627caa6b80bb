"""Running an external program for an adapter, the one way every adapter does it (:func:`run`): output kept in a
log file and streamed line by line (so a long encode can report each coded frame), an optional timeout that kills
the program (and its process group, for one that spawns workers), and one AdapterError with the output's tail
when the program cannot start, dies or runs too long. A run's Ctrl-C or SIGTERM terminates the programs in
flight (:mod:`bench.interrupts`); a program ended that way raises ``Interrupted``, never a codec failure.

Every program is reaped with ``os.wait4``, which gives its own CPU time (user + system, its waited-for
descendants included); its peak resident memory is the kernel's high-water mark (``VmHWM``) read while it
runs. The runner collects them per job (:func:`collecting_usage`), so that two jobs running side by side never
mix their figures.
"""

from __future__ import annotations

import contextvars
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import interrupts
from bench.errors import AdapterError


@dataclass(frozen=True)
class ProcessUsage:
    """One program's resource use, from the kernel when it was reaped."""

    what: str
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int | None  # None: not readable here (no /proc), or the program ended within a millisecond


_USAGE: contextvars.ContextVar[list[ProcessUsage] | None] = contextvars.ContextVar("process_usage", default=None)


@contextmanager
def collecting_usage() -> Iterator[list[ProcessUsage]]:
    """Collect the usage of every program run in this context (this thread, and threads started with a copy
    of its context) into the list yielded."""
    usage: list[ProcessUsage] = []
    token = _USAGE.set(usage)
    try:
        yield usage
    finally:
        _USAGE.reset(token)


def _peak_rss(pid: int) -> int:
    """The kernel's high-water mark of PID's resident memory since it started its program (VmHWM: reset by
    exec, unlike wait4's ru_maxrss, which keeps the size of the Python process it was forked from); 0 when it
    cannot be read (not Linux, or already gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextmanager
def _exit_wait(pid: int) -> Iterator[Callable[[float], object]]:
    """A wait of at most the given seconds that ends as soon as process PID exits: on Linux a pidfd becomes
    readable then. With a plain sleep between two readings of its memory a program's end was noticed 13 ms late
    on average (measured: a 50 ms program took 96 against 83 ms; subprocess.run 81 ms), 0.6 s over the 48
    programs of a 16-job x265 run. Elsewhere a sleep."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or no such process any more
        yield time.sleep
        return
    poller = select.poll()  # not select.select: that refuses descriptors numbered 1024 and above
    poller.register(fd, select.POLLIN)
    try:
        yield lambda seconds: poller.poll(seconds * 1000)
    finally:
        os.close(fd)


def _reap(proc: subprocess.Popen[Any], what: str, started: float, timeout: float | None) -> None:
    """Wait for PROC like ``proc.wait(timeout)``, reading its peak resident memory while it runs (every 20 ms
    at most; a peak reached in its last moments can be missed) and its CPU time from wait4 when it ends; raises
    subprocess.TimeoutExpired with the process still running (then kill it and call :func:`_reap_killed`)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    peak, delay = 0, 0.001
    with _exit_wait(proc.pid) as wait:
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _peak_rss(proc.pid))
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout or 0)
            wait(delay)
            delay = min(0.02, delay * 2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    collected = _USAGE.get()
    if collected is not None:
        collected.append(ProcessUsage(what, time.perf_counter() - started, usage.ru_utime + usage.ru_stime,
                                      peak or None))


def _reap_killed(proc: subprocess.Popen[Any]) -> None:
    _, status, _ = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)


@dataclass(frozen=True)
class Finished:
    """A program that ran to its end (whatever its exit status)."""

    returncode: int
    output: str  # what it printed (stderr only, when its stdout was kept apart): the log
    stdout: str = ""  # its standard output, when kept apart (data it writes there: ffmpeg's framecrc)


def run(argv: list[str], what: str, timeout: float | None, log: Path | None = None,
        on_line: Callable[[str], None] | None = None, cwd: Path | None = None,
        env: Mapping[str, str] | None = None, own_group: bool = False, separate_stdout: bool = False) -> Finished:
    """Run ARGV to its end; every program an adapter runs goes through here. Its output is streamed line by line
    to ON_LINE and written to LOG; SEPARATE_STDOUT keeps its standard output apart (then the output is stderr).
    WHAT names the program in errors ("codec vtm: encoder"). Past TIMEOUT seconds it is killed, with its
    process group when OWN_GROUP (a program that spawns workers: the DCVC scripts' pools; a single-process
    encoder stays in ours, so that a kill of the whole run reaches it). AdapterError when it cannot start or is
    killed; its exit status is the caller's to judge (:func:`run_program` fails on a non-zero one)."""
    started = time.perf_counter()
    interrupts.check()  # a stopping run starts no program
    proc = _start(argv, what, cwd, env, own_group, separate_stdout)
    output = _Output(proc, on_line, separate_stdout)
    try:
        with interrupts.child(proc, own_group):  # the run's Ctrl-C or SIGTERM terminates it
            _reap(proc, what, started, timeout)
    except subprocess.TimeoutExpired:
        _kill(proc, own_group)
        for r in output.readers:
            r.join(5)
        text = _kept(output.lines, log)
        raise AdapterError(f"{what}: killed after the descriptor's timeout of {timeout:.0f} s", text[-3000:]) from None
    _join_readers(output.readers)
    if interrupts.ended_by_stop(proc.returncode or 0):  # not the codec's failure: the job is not recorded
        raise interrupts.Interrupted(f"{what}: stopped by {interrupts.stopped_by()}")
    return Finished(proc.returncode or 0, _kept(output.lines, log), "".join(output.data))


class _Output:
    """A started program's output, read as it comes by daemon threads (:attr:`readers`): its lines (stderr when
    its stdout is kept apart), each passed to ON_LINE as read, and its kept-apart stdout in one piece."""

    def __init__(self, proc: subprocess.Popen[Any], on_line: Callable[[str], None] | None,
                 separate_stdout: bool) -> None:
        self.lines: list[str] = []
        self.data: list[str] = []
        self._on_line = on_line
        self.readers = [threading.Thread(target=self._pump_lines, args=(proc.stderr if separate_stdout else
                                                                        proc.stdout,), daemon=True)]
        if separate_stdout:
            self.readers.append(threading.Thread(target=self._pump_data, args=(proc.stdout,), daemon=True))
        for r in self.readers:
            r.start()

    def _pump_lines(self, stream: Any) -> None:
        with stream:  # closed once read: a pipe left to the garbage collector is a ResourceWarning
            for line in stream:
                self.lines.append(line)
                if self._on_line is not None:
                    self._on_line(line)

    def _pump_data(self, stream: Any) -> None:
        with stream:
            self.data.append(stream.read())


def _kill(proc: subprocess.Popen[Any], own_group: bool) -> None:
    """Kill PROC past its timeout, with its process group when OWN_GROUP (its workers too), and reap it."""
    if own_group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    _reap_killed(proc)


def _kept(lines: list[str], log: Path | None) -> str:
    """The program's output LINES as one text, written to LOG where there is one."""
    text = "".join(lines)
    if log is not None:
        log.write_text(text)
    return text


READERS_GRACE_S = 2.0  # once the run stops: how long the output of a program that ended is still read


def _join_readers(readers: list[threading.Thread]) -> None:
    """Wait for READERS to reach the end of the program's output. A program's own child (the encoder a wrapper
    script started) may hold the pipe open after the program ended, and only the program itself was signalled
    by the run's stop: once the run is stopping, the output is read READERS_GRACE_S more, then left (the
    readers are daemon threads; the job is not recorded anyway)."""
    deadline = None
    for r in readers:
        while r.is_alive():
            if deadline is None and interrupts.stopping():
                deadline = time.monotonic() + READERS_GRACE_S
            if deadline is not None and time.monotonic() >= deadline:
                return
            r.join(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))


def _start(argv: list[str], what: str, cwd: Path | None, env: Mapping[str, str] | None, own_group: bool,
           separate_stdout: bool) -> subprocess.Popen[str]:
    try:
        return subprocess.Popen(argv, stdout=subprocess.PIPE,  # noqa: S603
                                stderr=subprocess.PIPE if separate_stdout else subprocess.STDOUT, text=True,
                                errors="replace", cwd=cwd, env=dict(env) if env is not None else None,
                                start_new_session=own_group)
    except FileNotFoundError:
        raise AdapterError(f"{what}: program not found: {argv[0]}") from None
    except OSError as e:
        raise AdapterError(f"{what}: cannot run {argv[0]}: {e.strerror or e}") from None


def run_program(argv: list[str], what: str, timeout: float | None, log: Path,
                on_line: Callable[[str], None] | None = None, cwd: Path | None = None,
                env: Mapping[str, str] | None = None, own_group: bool = False) -> str:
    """:func:`run`, failing with the program's last line when it exits non-zero; returns its output (stdout and
    stderr together), also written to LOG."""
    done = run(argv, what, timeout, log, on_line, cwd, env, own_group)
    if done.returncode != 0:
        raise AdapterError(f"{what} failed with exit code {done.returncode}: {failure_message(done.output)}",
                           done.output[-3000:])
    return done.output


_CALLED_PROCESS = re.compile(r"^subprocess\.CalledProcessError: Command '?\[?'?([^',\]\s]*).*?exit status (-?\d+)")


def failure_message(output: str) -> str:
    """What a failed program said, for the one-line failure: its last non-empty line; but when that is a
    Python wrapper's ``subprocess.CalledProcessError`` (``subprocess.run(..., check=True)`` raised), the wrapped
    program's own last two lines before the traceback, then which program it was and its exit status: the
    exception repeats the whole command line and hides the message that says what went wrong."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return "no message"
    called = _CALLED_PROCESS.match(lines[-1])
    start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("Traceback (most recent")), None)
    if called is None or start is None:
        return lines[-1]
    own = " | ".join(lines[max(0, start - 2):start]) or "no message"
    return f"{own} (from {Path(called.group(1)).name}, exit status {called.group(2)})"


def pinned_gpu_environment(gpu: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """BASE (default: our environment) with ``CUDA_VISIBLE_DEVICES`` narrowed to GPU, numbered as this process
    sees the GPUs: a codec's own process then sees that one GPU, as ``cuda:0``, and cannot touch the others
    (torch and its extensions otherwise open a context on GPU 0 whatever device they are given)."""
    env = dict(os.environ if base is None else base)
    visible = [v.strip() for v in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if "CUDA_VISIBLE_DEVICES" in env and not 0 <= gpu < len(visible):
        raise AdapterError(f"GPU {gpu}: CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']!r} lists {len(visible)} "
                           "GPU(s); number --gpus as this process sees them (0 is its first)")
    env["CUDA_VISIBLE_DEVICES"] = visible[gpu] if visible else str(gpu)
    return env


def run_python_snippet(python: str, snippet: str, what: str, cwd: Path | None = None, timeout: float = 600) -> str:
    """Run a few lines with another environment's interpreter (a neural codec's own); return its stdout.
    WHAT names the step in errors ("codec dcvc-hem: reading the checkpoints' q-scales")."""
    done = run([python, "-c", snippet], f"{what} ({python})", timeout, cwd=cwd, separate_stdout=True)
    if done.returncode != 0:
        last = (done.output.strip().splitlines() or ["no message"])[-1]
        raise AdapterError(f"{what} failed in {python}: {last}", done.output[-3000:])
    return done.stdout
