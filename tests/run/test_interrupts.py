"""Ctrl-C and SIGTERM stop a run at once, record nothing false, leave nothing half-written; the next run finishes.

Real runs of ``evaluate.py`` in their own process group, on two 416x240 demo sequences coded by x264 with its
slowest preset (about 1 s a job here, so that a signal lands while jobs are in flight), signals sent with
os.kill / os.killpg as a terminal's Ctrl-C (the whole foreground group), ``kill PID`` and SLURM send them. What
is checked comes from the results folder itself (the records, the files beside them), not from the run's words.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, group_gone, wait_until

JOBS = 6  # 2 sequences x 3 QPs


def slow_condition(tmp_path: Path, demo_dir: Path, rate_points: str = "[22, 30, 38]") -> Path:
    """Two x264 jobs per rate point, of about 1 s each (preset placebo, one thread, 16 frames of 416x240)."""
    path = tmp_path / "slow.yaml"
    path.write_text(f"""
name: slow
sequences:
  - {{name: Pan, file: HopperPan_416x240_30.yuv, group: A}}
  - {{name: Shapes, file: MovingShapes_416x240_30.yuv, group: B}}
data_root: {demo_dir}
frames: {{first: 0, count: 16}}
intra_period: 16
metrics: {{ms_ssim: []}}
codecs:
  - {{descriptor: x264, params: {{preset: placebo, threads: 1}}, rate_points: {rate_points}}}
""")
    return path


def start_run(cond: Path, results: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``evaluate.py run`` in a process group of its own (the group a terminal would signal)."""
    cmd = [sys.executable, str(REPO / "evaluate.py"), "--conditions", str(cond), "--results", str(results),
           "--reports", str(results.parent / "reports"), "--no-progress", "--no-figures", "--jobs", "2", *extra]
    return subprocess.Popen(cmd, cwd=results.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # noqa: S603
                            start_new_session=True, env=env)


def record_files(results: Path) -> list[Path]:
    return sorted((results / "slow" / "records").glob("*/*/*.json"))


def statuses(results: Path) -> list[str]:
    return [json.loads(p.read_text())["status"] for p in record_files(results)]


def half_written(results: Path) -> list[str]:
    """Anything a stopped job could leave: scratch and prepared-input folders, temporary and partial files, and
    bitstreams, kept decodes or measurements of a job without a record."""
    root = results / "slow"
    stems = {p.stem for p in record_files(results)}
    left = [str(p) for p in root.rglob("*") if p.name.endswith((".tmp", ".partial"))]
    left += [str(p) for name in ("work", "prepared") for p in (root / name).glob("*")]
    left += [str(p) for p in (root / "bitstreams").rglob("*.*") if p.stem.split(".")[0] not in stems]
    left += [str(p) for p in (root / "measurements").glob("*/*/*") if p.name not in stems]
    return left


def stop_and_time(proc: subprocess.Popen[str], send: object) -> tuple[float, str, str]:
    t0 = time.monotonic()
    send()  # type: ignore[operator]
    out, err = proc.communicate(timeout=60)
    return time.monotonic() - t0, out, err


def rerun(cond: Path, results: Path) -> tuple[int, str]:
    proc = start_run(cond, results)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_a_signal_stops_the_run_at_once_and_the_rerun_finishes(tmp_path: Path, demo_dir: Path, how: str) -> None:
    cond, results = slow_condition(tmp_path, demo_dir), tmp_path / "results"
    proc = start_run(cond, results)
    wait_until(lambda: len(record_files(results)) >= 1, 120, "the first record")
    if how == "ctrl-c":  # a terminal's Ctrl-C: SIGINT to the whole foreground group, encoders included
        seconds, _, err = stop_and_time(proc, lambda: os.killpg(proc.pid, signal.SIGINT))
        expected, name = 130, "SIGINT"
    else:  # `kill PID`, SLURM's warning before a time limit: the run alone; it must stop its encoders itself
        seconds, _, err = stop_and_time(proc, lambda: os.kill(proc.pid, signal.SIGTERM))
        expected, name = 143, "SIGTERM"
    assert proc.returncode == expected, err
    assert seconds < 5, f"{seconds:.1f} s from the signal to the exit"  # it did not drain its queue
    wait_until(lambda: group_gone(proc.pid), 10, "the run's encoders to end")
    done = len(record_files(results))
    assert 1 <= done < JOBS
    assert set(statuses(results)) == {"ok"}, "a job stopped by the signal was recorded as failed"
    assert half_written(results) == []
    assert f"stopped by {name}" in err and f"{JOBS - done} left" in err and f"{done} done" in err, err
    in_flight = re.search(r"the (\d+) job\(s\) in flight were stopped", err)
    assert in_flight and int(in_flight[1]) >= 1, err  # --jobs 2 and jobs left: the signal found one at work

    code, text = rerun(cond, results)
    assert code == 0, text
    assert f"{JOBS - done} coded" in text and "0 failed" in text, text
    assert statuses(results) == ["ok"] * JOBS and half_written(results) == []


@pytest.mark.slow
@pytest.mark.integration
def test_a_second_ctrl_c_ends_at_once(tmp_path: Path, demo_dir: Path) -> None:
    """An encoder that ignores SIGTERM keeps the first stop waiting (it would be killed 3 s later); the second
    Ctrl-C does not wait for that."""
    from bench.tools import ffmpeg_exe

    stubborn = tmp_path / "stubborn-ffmpeg"
    stubborn.write_text(f"""#!/bin/sh
case "$*" in */work/*) trap '' TERM INT; sleep 30;; esac
exec {ffmpeg_exe()} "$@"
""")
    stubborn.chmod(0o755)
    cond, results = slow_condition(tmp_path, demo_dir, "[30]"), tmp_path / "results"
    proc = start_run(cond, results, env={**os.environ, "LVCBENCH_FFMPEG": str(stubborn)})
    try:
        wait_until(lambda: any((results / "slow" / "work").glob("*")), 60, "a job in flight")
        time.sleep(0.5)  # its encoder started (the work folder is made just before)
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None, "the first Ctrl-C did not wait for the stubborn encoder"
        seconds, _, err = stop_and_time(proc, lambda: os.kill(proc.pid, signal.SIGINT))
        assert proc.returncode == 130, err
        assert seconds < 1.5, f"{seconds:.1f} s from the second Ctrl-C to the exit"
        assert "SIGINT again: ending at once" in err
        assert record_files(results) == []  # nothing was coded, nothing recorded
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the wrappers' sleeps
    code, text = rerun(cond, results)  # the real ffmpeg again: the scratch folders of the ended run are removed
    assert code == 0 and "2 coded" in text, text
    assert statuses(results) == ["ok"] * 2 and half_written(results) == []


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "30"])  # noqa: S607


def test_the_handler_takes_no_lock_the_interrupted_thread_may_hold() -> None:
    """A Ctrl-C landing while the main thread registers a program (inside the children's lock) must not wait for
    that lock: the handler only notes the stop; the watcher thread terminates the program."""
    from bench import interrupts

    proc = _sleeper()
    try:
        with interrupts.stopping_on_signals():
            with interrupts.child(proc, own_group=False):
                done = threading.Event()
                with interrupts._guard:  # as if the signal came inside child()'s registration
                    os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, on this thread
                    time.sleep(0.1)
                    done.set()
                assert done.is_set() and interrupts.stopping() and interrupts.stopped_by() == "SIGINT"
                assert proc.wait(10) == -signal.SIGTERM  # the watcher's SIGTERM, once the lock was free
            with pytest.raises(interrupts.Interrupted):
                interrupts.check()
        interrupts.check()  # the run is over: what this process does next is not stopped
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_one_stops_late_kill_spares_the_next_run_of_the_same_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import interrupts

    monkeypatch.setattr(interrupts, "KILL_AFTER_S", 0.5)
    with interrupts.stopping_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupts.stopping()
    proc = _sleeper()
    try:
        with interrupts.stopping_on_signals():  # the next run starts before the first stop's SIGKILL is due
            assert not interrupts.stopping()
            with interrupts.child(proc, own_group=False):
                time.sleep(1.5)
                assert proc.poll() is None, "the first run's straggler kill reached the second run's program"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("status", [-signal.SIGINT, 128 + signal.SIGINT, 255])
def test_a_program_ended_by_the_terminals_ctrl_c_waits_for_the_late_stop(status: int) -> None:
    """On a loaded machine this process's handler may run a second or more after a program sharing the
    terminal's Ctrl-C died of it (ffmpeg exits 255 then, measured: test below). Its status is not a failure."""
    from bench import interrupts

    with interrupts.stopping_on_signals():
        threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        t0 = time.monotonic()
        assert interrupts.ended_by_stop(status)
        assert 1.4 < time.monotonic() - t0 < interrupts.STOP_SHOWS_S + 0.5


def test_a_real_failure_is_not_taken_for_a_stop() -> None:
    from bench import interrupts

    with interrupts.stopping_on_signals():
        t0 = time.monotonic()
        assert not interrupts.ended_by_stop(1) and not interrupts.ended_by_stop(254)  # ffmpeg: missing input
        assert time.monotonic() - t0 < 0.1  # not signal-like: no wait


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ffmpeg_stopped_by_a_signal_exits_with_a_status_taken_as_signal_like(sig: signal.Signals) -> None:
    """What ffmpeg (the one the suite runs) really returns when a signal stops it, at the log level the measuring
    filters use (which prints nothing about it)."""
    from bench.interrupts import signal_like
    from bench.tools import ffmpeg_exe

    proc = subprocess.Popen([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",  # noqa: S603
                             "-i", "testsrc2=s=416x240:d=600", "-c:v", "libx264", "-preset", "placebo", "-f", "null",
                             "-"], stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 255 and err == "", (proc.returncode, err)
    assert signal_like(proc.returncode)


@pytest.mark.slow
def test_a_stopped_wrappers_orphan_holding_the_output_pipe_does_not_hold_the_run(tmp_path: Path) -> None:
    """The run's SIGTERM reaches a wrapper script, not the program it started in the background; that program
    keeps the output pipe open, and the stopping run gives up reading it after READERS_GRACE_S."""
    from bench import interrupts
    from bench.adapters import process

    pidfile = tmp_path / "orphan.pid"
    with interrupts.stopping_on_signals():
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        t0 = time.monotonic()
        with pytest.raises(interrupts.Interrupted):
            process.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], "wrapper", timeout=60)
        seconds = time.monotonic() - t0
    orphan = int(pidfile.read_text())
    try:
        os.kill(orphan, 0)  # still there, holding the pipe: the run did not wait for it
        assert seconds < 0.5 + process.READERS_GRACE_S + 1.5, f"{seconds:.1f} s"
    finally:
        os.kill(orphan, signal.SIGKILL)
