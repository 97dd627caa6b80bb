"""Stopping a run on Ctrl-C, SIGTERM or SIGHUP without losing anything and without recording anything false.

While a run's jobs are in flight (:func:`stopping_on_signals`), the first SIGINT (Ctrl-C), SIGTERM (what ``kill``
sends, and what SLURM sends before a time limit) or SIGHUP (the terminal went away: an ssh session to a login
node dropped) stops the run cleanly: no new job starts; the programs of the jobs in flight (encoders, decoders,
ffmpeg measuring filters) are terminated (SIGTERM, then SIGKILL 3 s later), and in-process work (measuring,
in-process codecs that report their frames) stops at its next batch or frame. A job stopped this way raises
:class:`Interrupted`, which is not a job failure: nothing is recorded for it and its scratch folder is removed,
so the next plain run codes it. The runner then says what is done and what is left, and the command exits
128 + the signal's number (130 for Ctrl-C). A second signal ends the process at once, its programs killed
first; the scratch folders that leaves (named after the process) are removed by the next run.

The signal handler only notes the signal and wakes a watcher thread (through a pipe): a handler runs on the main
thread between two bytecodes, possibly while that thread holds a lock (this module's own, a threading.Event's,
the interpreter's thread table), so it takes none. The watcher signals the programs.

A terminal's Ctrl-C reaches the programs too (they share its foreground process group), and one of them may
end before this process's handler has run (on a loaded machine, a good part of a second); :func:`ended_by_stop`
waits up to STOP_SHOWS_S for the stop in that case, so that such a program's exit status is never taken for a
codec failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Interrupted(Exception):
    """A job stopped by the run's interrupt. Deliberately not a BenchError: a BenchError is a job's failure and
    gets recorded, this must not be."""


SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
KILL_AFTER_S = 3.0  # a program that ignores SIGTERM this long is killed
# How long a program's signal-like exit status waits for the run's own stop to show: the terminal's Ctrl-C
# reaches the programs and this process together, and this process's handler runs only once its main thread is
# scheduled again (measured: over 0.5 s on a loaded 2-core machine). A real failure with such a status waits
# this long once; a stopped program is told apart from a failed one at once when the stop is already there.
STOP_SHOWS_S = 3.0

_guard = threading.Lock()  # guards _children for threads; never taken by the signal handler
_children: dict[int, tuple[subprocess.Popen[Any], bool, int]] = {}  # pid -> (process, own process group, run)
# stopping: the handler's flag (a plain store, safe in a handler); run: which run of this process (a second
# run in the same process must not be hit by the first one's late SIGKILL); wake: the watcher's pipe.
_state: dict[str, Any] = {"active": False, "stopping": False, "signal": None, "since": 0.0, "run": 0, "wake": -1}


def stopping() -> bool:
    """Whether the run is stopping (a first SIGINT, SIGTERM or SIGHUP came)."""
    return bool(_state["stopping"])


def check() -> None:
    """Raise :class:`Interrupted` if the run is stopping: called between frames and before a job's commit."""
    if _state["stopping"]:
        raise Interrupted(f"stopped by {_state['signal'] or 'an interrupt'}")


def stopped_by() -> str | None:
    """The signal that stopped the run (``SIGINT``, ``SIGTERM``, ``SIGHUP``); None if none did."""
    return _state["signal"] if _state["stopping"] else None


def seconds_since_stop() -> float:
    return time.monotonic() - _state["since"] if _state["stopping"] else 0.0


@contextlib.contextmanager
def child(proc: subprocess.Popen[Any], own_group: bool) -> Iterator[None]:
    """Within: PROC (its process group, if OWN_GROUP) is terminated when the run stops; at once if it already
    is stopping."""
    with _guard:
        _children[proc.pid] = (proc, own_group, _state["run"] if _state["active"] else 0)  # 0: of no run
    try:
        # Registered first, looked second: the handler sets the flag before the watcher copies the children,
        # so a program registered as the run stops is either in that copy or sees the flag here.
        if _state["stopping"]:
            _signal_child(proc, own_group, signal.SIGTERM)
        yield
    finally:
        with _guard:
            _children.pop(proc.pid, None)


def signal_like(returncode: int) -> bool:
    """Whether RETURNCODE is how a program a signal ended exits: negative (killed by one), the shell's 128 + n,
    or ffmpeg's 255 (its exit status when it stops on SIGINT or SIGTERM, printed only at log level info; its
    errors exit with other values: 254 for a missing input)."""
    return returncode < 0 or 128 < returncode <= 128 + 64 or returncode == 255


def ended_by_stop(returncode: int) -> bool:
    """Whether a program that just ended with RETURNCODE (not 0) was ended by the run's stop: the run is
    stopping, or its status is signal-like and the stop comes within STOP_SHOWS_S (the terminal's Ctrl-C
    reached it first)."""
    if _state["stopping"]:
        return True
    if _state["active"] and returncode != 0 and signal_like(returncode):
        # Polled, not waited for on an event: the flag is the handler's, and the handler runs on the main
        # thread, which may be this one (a sleep lets it run: PEP 475).
        deadline = time.monotonic() + STOP_SHOWS_S
        while not _state["stopping"] and time.monotonic() < deadline:
            time.sleep(0.02)
        return bool(_state["stopping"])
    return False


def run_captured(argv: list[str], timeout: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(ARGV, capture_output=True, text=True, timeout=TIMEOUT, cwd=CWD)`` that the run's stop
    terminates, raising :class:`Interrupted` (for programs run outside the adapters' runner: measuring filters,
    keeping decoded frames)."""
    check()
    with subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:  # noqa: S603
        with child(proc, own_group=False):
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
    if proc.returncode != 0 and ended_by_stop(proc.returncode):
        raise Interrupted(f"{argv[0]}: stopped by {_state['signal']}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@contextlib.contextmanager
def stopping_on_signals(also: tuple[signal.Signals, ...] = ()) -> Iterator[None]:
    """Within: the first SIGINT, SIGTERM or SIGHUP (or one of ALSO: a cluster job adds SIGUSR2, its scheduler's
    early warning of a time limit) stops the run (see the module's text), a second one ends the process at once.
    Only the main thread can take signals: elsewhere (a run started from a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    _state.update(active=True, stopping=False, signal=None, since=0.0, run=_state["run"] + 1, wake=write_end)
    threading.Thread(target=_watch, args=(read_end, _state["run"]), name="interrupt-watcher", daemon=True).start()
    previous = {s: signal.getsignal(s) for s in (*SIGNALS, *also)}
    for s in previous:
        signal.signal(s, _on_signal)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)  # None: set outside Python
        _state.update(active=False, stopping=False, wake=-1)  # what follows in this process runs its programs
        with contextlib.suppress(OSError):
            os.write(write_end, b"e")  # the run is over: a watcher still waiting ends
        os.close(write_end)


@contextlib.contextmanager
def sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """Within: SIGTERM and SIGHUP raise ``KeyboardInterrupt`` naming the signal in the main thread, as Ctrl-C raises
    KeyboardInterrupt (where no jobs are in flight, the command just ends, its files written atomically). Only
    in the main thread; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.signal(s, terminated) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _on_signal(signum: int, _frame: Any) -> None:
    # Takes no lock (see the module's text): plain stores, os.write, os.kill, os._exit.
    name = signal.Signals(signum).name
    if _state["stopping"]:  # the second: end now, programs first (they may be in their own process groups)
        _say(f"\n{name} again: ending at once; the jobs in flight are not recorded, and the next run removes "
             "their scratch files and does them\n")
        for proc, own_group, _ in _snapshot():
            _signal_child(proc, own_group, signal.SIGKILL)
        os._exit(128 + signum)
    _state.update(signal=name, since=time.monotonic(), stopping=True)
    _say(f"\n{name}: stopping; no new job starts, the jobs in flight are stopped and not recorded (the next run "
         f"does them); {name} again ends at once\n")
    with contextlib.suppress(OSError):
        os.write(_state["wake"], b"s")


def _watch(read_end: int, run: int) -> None:
    """The watcher of run RUN: woken by the handler (``s``) it terminates the run's programs, and kills those
    left KILL_AFTER_S later; woken by the run's end (``e``) it just ends."""
    try:
        woken = os.read(read_end, 1)
    finally:
        os.close(read_end)
    if woken != b"s":
        return
    _signal_all(signal.SIGTERM, run)
    time.sleep(KILL_AFTER_S)
    _signal_all(signal.SIGKILL, run)  # only this run's programs: a later run of this process is not touched


def _snapshot() -> list[tuple[subprocess.Popen[Any], bool, int]]:
    # Without the lock (the handler's copy): under the GIL, list() of a dict's values is one step in C, which
    # a thread registering a program cannot cut in two; a change during it is retried.
    for _ in range(10):
        with contextlib.suppress(RuntimeError):
            return list(_children.values())
    return []


def _signal_all(sig: signal.Signals, run: int) -> None:
    with _guard:
        children = [(proc, own_group) for proc, own_group, of in _children.values() if of == run]
    for proc, own_group in children:
        _signal_child(proc, own_group, sig)


def _signal_child(proc: subprocess.Popen[Any], own_group: bool, sig: signal.Signals) -> None:
    # os.kill, not Popen.send_signal: that polls, and a poll could reap the program under the thread that
    # waits for it with os.wait4. A program is unregistered the moment after it is reaped, so its pid is its own.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)


def _say(text: str) -> None:
    # os.write, not print: a signal handler may run while the main thread is inside a print to stderr.
    with contextlib.suppress(OSError, ValueError):
        os.write(sys.stderr.fileno(), text.encode())
